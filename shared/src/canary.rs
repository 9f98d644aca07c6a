//! Canary maths: compare what CloudWatch returned with each check's threshold, and decide whether
//! to keep baking, promote or roll back. Pure functions; `evaluate-canary` only fetches.
//!
//! Trap: no traffic or an empty metric is not a pass. Too few data points is INCONCLUSIVE, and an
//! INCONCLUSIVE bake rolls back unless the service opted into `onInconclusive: promote`.

use crate::error::{Error, Result};
use crate::metricmath::{check_expression, valid_period, valid_statistic};
use crate::model::{
    limits, Analysis, AnalysisScore, BaselineSource, CanaryConfig, CanaryDecision, CheckResult,
    Classification, Compare, Comparison, Direction, MetricAnalysis, MetricCheck, OnInconclusive,
    ScoreOutcome, Verdict,
};
use crate::stats::{hodges_lehmann, mann_whitney_u, median, Alternative};

/// The GetMetricData query id of a check's result; user ids name the inputs of an expression.
pub const RESULT_ID: &str = "berth";

pub fn breaches(value: f64, comparison: Comparison, threshold: f64) -> bool {
    match comparison {
        Comparison::GreaterThanThreshold => value > threshold,
        Comparison::GreaterThanOrEqualToThreshold => value >= threshold,
        Comparison::LessThanThreshold => value < threshold,
        Comparison::LessThanOrEqualToThreshold => value <= threshold,
    }
}

fn op(comparison: Comparison) -> &'static str {
    match comparison {
        Comparison::GreaterThanThreshold => ">",
        Comparison::GreaterThanOrEqualToThreshold => ">=",
        Comparison::LessThanThreshold => "<",
        Comparison::LessThanOrEqualToThreshold => "<=",
    }
}

/// Judge one metric check from the values CloudWatch returned for the window (NaN/inf dropped: a
/// division by zero in metric math is "no traffic", not a number).
pub fn judge_metric(check: &MetricCheck, values: &[f64]) -> CheckResult {
    // validate() refuses a check with neither threshold nor compare; NaN never breaches.
    let threshold = check.threshold.unwrap_or(f64::NAN);
    let values: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let breaching = values
        .iter()
        .filter(|v| breaches(**v, check.comparison, threshold))
        .count();
    let worst = values.iter().copied().reduce(|a, b| {
        if breaches(b, check.comparison, a) {
            b
        } else {
            a
        }
    });
    let (verdict, detail) = if breaching >= check.datapoints_to_fail.max(1) {
        (
            Verdict::Fail,
            format!(
                "{breaching} of {} data point(s) breach {} {} (worst {})",
                values.len(),
                op(check.comparison),
                threshold,
                worst.map(fmt_num).unwrap_or_default()
            ),
        )
    } else if values.len() < check.min_data_points.max(1) {
        (
            Verdict::Inconclusive,
            format!(
                "only {} data point(s), {} needed: no traffic is not a pass",
                values.len(),
                check.min_data_points.max(1)
            ),
        )
    } else {
        (
            Verdict::Pass,
            format!(
                "{} data point(s), none {} {} (worst {})",
                values.len(),
                op(check.comparison),
                threshold,
                worst.map(fmt_num).unwrap_or_default()
            ),
        )
    };
    CheckResult {
        name: check.name.clone(),
        verdict,
        detail,
        values,
        threshold: check.threshold,
        analysis: None,
    }
}

/// Judge one metric against its baseline: NODATA with fewer than `minDataPoints` finite samples
/// on either side; otherwise HIGH (or LOW) when the Mann-Whitney test in the bad direction is
/// significant at the analysis's confidence AND the Hodges-Lehmann shift exceeds the tolerance
/// (relative to the baseline's median) and `minShift`; PASS otherwise.
pub fn judge_comparison(
    check: &MetricCheck,
    compare: &Compare,
    confidence: f64,
    canary: &[f64],
    baseline: &[f64],
) -> CheckResult {
    let canary: Vec<f64> = canary.iter().copied().filter(|v| v.is_finite()).collect();
    let baseline: Vec<f64> = baseline.iter().copied().filter(|v| v.is_finite()).collect();
    let min = check.min_data_points.max(1);
    let mut evidence = MetricAnalysis {
        classification: Classification::Nodata,
        direction: compare.direction,
        canary_n: canary.len(),
        baseline_n: baseline.len(),
        canary_median: median(&canary),
        baseline_median: median(&baseline),
        u: None,
        p_value: None,
        shift: None,
        relative_shift: None,
        tolerance: compare.tolerance,
        weight: compare.weight,
        critical: compare.critical,
        must_have_data: compare.must_have_data,
        dry_run: compare.dry_run,
    };
    if canary.len() >= min && baseline.len() >= min {
        let alternative = match compare.direction {
            Direction::Increase => Alternative::Greater,
            Direction::Decrease => Alternative::Less,
            Direction::Either => Alternative::TwoSided,
        };
        // Both samples are non-empty here, so each statistic exists.
        let test = mann_whitney_u(&canary, &baseline, alternative);
        let shift = hodges_lehmann(&canary, &baseline).unwrap_or(0.0);
        let base = evidence.baseline_median.unwrap_or(0.0);
        // From a zero median any shift is infinitely large (kayenta#799: a baseline without
        // errors against a canary with errors must not pass).
        let relative = if base != 0.0 {
            shift / base.abs()
        } else if shift == 0.0 {
            0.0
        } else {
            f64::INFINITY.copysign(shift)
        };
        let p = test.map(|t| t.p_value).unwrap_or(1.0);
        let significant = p < 1.0 - confidence;
        let large = relative.abs() > compare.tolerance && shift.abs() > compare.min_shift;
        let bad_way = match compare.direction {
            Direction::Increase => shift > 0.0,
            Direction::Decrease => shift < 0.0,
            Direction::Either => shift != 0.0,
        };
        evidence.classification = match (significant && large && bad_way, shift > 0.0) {
            (false, _) => Classification::Pass,
            (true, true) => Classification::High,
            (true, false) => Classification::Low,
        };
        evidence.u = test.map(|t| t.u);
        evidence.p_value = Some(p);
        evidence.shift = Some(shift);
        evidence.relative_shift = (base != 0.0).then_some(relative);
    }
    let verdict = match evidence.classification {
        Classification::Pass => Verdict::Pass,
        Classification::High | Classification::Low => Verdict::Fail,
        Classification::Nodata => Verdict::Inconclusive,
    };
    let detail = evidence_line(&evidence, min, confidence);
    CheckResult {
        name: check.name.clone(),
        verdict,
        detail,
        values: canary,
        threshold: None,
        analysis: Some(evidence),
    }
}

fn classification_name(c: Classification) -> &'static str {
    match c {
        Classification::Pass => "PASS",
        Classification::High => "HIGH",
        Classification::Low => "LOW",
        Classification::Nodata => "NODATA",
    }
}

/// "HIGH: canary median 0.33 vs baseline 0.25 (n 10/10), shift +0.078 (+31.2%, tolerance 10%),
/// U=93, p=0.0004 < 0.01".
fn evidence_line(e: &MetricAnalysis, min: usize, confidence: f64) -> String {
    let flags = [
        (e.critical, "critical"),
        (e.must_have_data, "must have data"),
        (e.dry_run, "dry run"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, f)| *f)
    .collect::<Vec<_>>();
    let flags = if flags.is_empty() {
        String::new()
    } else {
        format!(" [{}]", flags.join(", "))
    };
    let class = classification_name(e.classification);
    if e.classification == Classification::Nodata {
        return format!(
            "{class}{flags}: {} canary and {} baseline sample(s), {min} needed on each side: no data is not a pass",
            e.canary_n, e.baseline_n
        );
    }
    let med = |m: Option<f64>| m.map(fmt_num).unwrap_or_else(|| "-".into());
    let relative = match (e.relative_shift, e.shift) {
        (Some(r), _) => format!("{:+.1}%", r * 100.0),
        (None, Some(s)) if s != 0.0 => "from a zero median".into(),
        _ => "+0%".into(),
    };
    format!(
        "{class}{flags}: canary median {} vs baseline {} (n {}/{}), shift {}{} ({relative}, tolerance {}%), U={}, p={} {} {}",
        med(e.canary_median),
        med(e.baseline_median),
        e.canary_n,
        e.baseline_n,
        if e.shift.unwrap_or(0.0) >= 0.0 { "+" } else { "" },
        med(e.shift),
        fmt_num(e.tolerance * 100.0),
        med(e.u),
        e.p_value.map(fmt_p).unwrap_or_else(|| "-".into()),
        if e.p_value.unwrap_or(1.0) < 1.0 - confidence { "<" } else { ">=" },
        fmt_num(1.0 - confidence),
    )
}

fn fmt_p(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        fmt_num(p)
    }
}

/// The analysis's score over the metrics judged against the baseline (dry-run ones left out):
/// a critical metric classified bad, or a `mustHaveData` one without data, FAILs at once; half
/// the metrics or more without data is INCONCLUSIVE (kayenta#326: a NODATA metric left out of the
/// score must not make a PASS); otherwise the weighted share of passing metrics among those with
/// data against `passScore` and `marginalScore`. `None` when the canary has no such metric.
pub fn score(analysis: &Analysis, checks: &[CheckResult]) -> Option<AnalysisScore> {
    let judged: Vec<(&CheckResult, &MetricAnalysis)> = checks
        .iter()
        .filter_map(|c| c.analysis.as_ref().map(|a| (c, a)))
        .collect();
    if judged.is_empty() {
        return None;
    }
    let counted: Vec<&(&CheckResult, &MetricAnalysis)> =
        judged.iter().filter(|(_, a)| !a.dry_run).collect();
    let bad =
        |a: &MetricAnalysis| matches!(a.classification, Classification::High | Classification::Low);
    let nodata = counted
        .iter()
        .filter(|(_, a)| a.classification == Classification::Nodata)
        .count();
    let with_data: Vec<_> = counted
        .iter()
        .filter(|(_, a)| a.classification != Classification::Nodata)
        .collect();
    // fold from +0.0: an empty f64 sum is -0.0, which would print as a score of "-0"
    let total: f64 = with_data.iter().fold(0.0, |t, (_, a)| t + a.weight);
    let passing: f64 = with_data
        .iter()
        .filter(|(_, a)| a.classification == Classification::Pass)
        .fold(0.0, |t, (_, a)| t + a.weight);
    let score = (total > 0.0).then(|| 100.0 * passing / total);
    let names = |pick: &dyn Fn(&MetricAnalysis) -> bool| {
        counted
            .iter()
            .filter(|(_, a)| pick(a))
            .map(|(c, a)| format!("{} {}", c.name, classification_name(a.classification)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let critical = names(&|a| a.critical && bad(a));
    let missing = names(&|a| a.must_have_data && a.classification == Classification::Nodata);
    let score_text = score
        .map(|s| format!("score {}", fmt_num(s)))
        .unwrap_or_else(|| "no score".into());
    let (outcome, reason) = if counted.is_empty() {
        (
            ScoreOutcome::Inconclusive,
            "every compared metric is a dry run: nothing counts".to_string(),
        )
    } else if !critical.is_empty() {
        (
            ScoreOutcome::Fail,
            format!("critical metric(s) failed: {critical}"),
        )
    } else if !missing.is_empty() {
        (
            ScoreOutcome::Fail,
            format!("metric(s) that must have data have none: {missing}"),
        )
    } else if nodata * 2 >= counted.len() {
        (
            ScoreOutcome::Inconclusive,
            format!(
                "{nodata} of {} metric(s) have no data: not enough to judge",
                counted.len()
            ),
        )
    } else {
        let s = score.unwrap_or(0.0);
        let failing = names(&|a| bad(a));
        let failing = if failing.is_empty() {
            String::new()
        } else {
            format!("; failing: {failing}")
        };
        let outcome = if s >= analysis.pass_score {
            ScoreOutcome::Pass
        } else if s >= analysis.marginal_score {
            ScoreOutcome::Marginal
        } else {
            ScoreOutcome::Fail
        };
        let what = match outcome {
            ScoreOutcome::Pass => format!(">= pass {}", fmt_num(analysis.pass_score)),
            ScoreOutcome::Marginal => format!(
                "marginal (>= {} and < pass {})",
                fmt_num(analysis.marginal_score),
                fmt_num(analysis.pass_score)
            ),
            _ => format!("< marginal {}", fmt_num(analysis.marginal_score)),
        };
        (outcome, format!("{score_text} {what}{failing}"))
    };
    Some(AnalysisScore {
        outcome,
        score,
        pass_score: analysis.pass_score,
        marginal_score: analysis.marginal_score,
        confidence: analysis.confidence,
        metrics: counted.len(),
        nodata,
        reason,
    })
}

/// The canary's verdict over every check: threshold metrics and alarms as [`overall`], the
/// compared metrics through their score (MARGINAL and INCONCLUSIVE are INCONCLUSIVE: keep baking,
/// then `onInconclusive`). Nothing judged at all is INCONCLUSIVE.
pub fn verdict(config: &CanaryConfig, checks: &[CheckResult]) -> (Verdict, Option<AnalysisScore>) {
    let plain: Vec<CheckResult> = checks
        .iter()
        .filter(|c| c.analysis.is_none())
        .cloned()
        .collect();
    let scored = config.analysis.as_ref().and_then(|a| score(a, checks));
    let mut verdicts: Vec<Verdict> = plain.iter().map(|c| c.verdict).collect();
    if let Some(s) = &scored {
        verdicts.push(match s.outcome {
            ScoreOutcome::Pass => Verdict::Pass,
            ScoreOutcome::Fail => Verdict::Fail,
            ScoreOutcome::Marginal | ScoreOutcome::Inconclusive => Verdict::Inconclusive,
        });
    }
    let v = if verdicts.contains(&Verdict::Fail) {
        Verdict::Fail
    } else if verdicts.is_empty() || verdicts.contains(&Verdict::Inconclusive) {
        Verdict::Inconclusive
    } else {
        Verdict::Pass
    };
    (v, scored)
}

/// The result's one-line detail: the score first, then each check (failing ones first, so a
/// cause cut short still names them).
pub fn detail(checks: &[CheckResult], scored: Option<&AnalysisScore>) -> String {
    let mut parts: Vec<String> = vec![];
    if let Some(s) = scored {
        let outcome = match s.outcome {
            ScoreOutcome::Pass => "PASS",
            ScoreOutcome::Marginal => "MARGINAL",
            ScoreOutcome::Fail => "FAIL",
            ScoreOutcome::Inconclusive => "INCONCLUSIVE",
        };
        parts.push(format!("analysis {outcome}: {}", s.reason));
    }
    let failing_first = checks
        .iter()
        .filter(|c| c.verdict == Verdict::Fail && !c.analysis.as_ref().is_some_and(|a| a.dry_run))
        .chain(checks.iter().filter(|c| {
            c.verdict != Verdict::Fail || c.analysis.as_ref().is_some_and(|a| a.dry_run)
        }));
    for c in failing_first {
        match &c.analysis {
            Some(_) => parts.push(format!("{} {}", c.name, c.detail)),
            None => parts.push(format!("{}: {:?} ({})", c.name, c.verdict, c.detail)),
        }
    }
    parts.join("; ")
}

/// Judge a CloudWatch alarm by its state; `None` means the alarm does not exist.
pub fn judge_alarm(name: &str, state: Option<&str>, reason: Option<&str>) -> CheckResult {
    let (verdict, detail) = match state {
        Some("OK") => (Verdict::Pass, "alarm is OK".to_string()),
        Some("ALARM") => (
            Verdict::Fail,
            format!("alarm is in ALARM: {}", reason.unwrap_or("")),
        ),
        Some(other) => (
            Verdict::Inconclusive,
            format!("alarm state {other}: {}", reason.unwrap_or("")),
        ),
        None => (Verdict::Inconclusive, "alarm does not exist".to_string()),
    };
    CheckResult {
        name: format!("alarm {name}"),
        verdict,
        detail,
        values: vec![],
        threshold: None,
        analysis: None,
    }
}

/// Any FAIL fails; otherwise any INCONCLUSIVE is inconclusive; no checks at all is inconclusive.
pub fn overall(checks: &[CheckResult]) -> Verdict {
    if checks.iter().any(|c| c.verdict == Verdict::Fail) {
        Verdict::Fail
    } else if checks.is_empty() || checks.iter().any(|c| c.verdict == Verdict::Inconclusive) {
        Verdict::Inconclusive
    } else {
        Verdict::Pass
    }
}

/// A failure rolls back at once; otherwise bake until the end, then promote a pass.
pub fn decide(
    verdict: Verdict,
    bake_over: bool,
    on_inconclusive: OnInconclusive,
) -> CanaryDecision {
    match (verdict, bake_over) {
        (Verdict::Fail, _) => CanaryDecision::Rollback,
        (_, false) => CanaryDecision::Continue,
        (Verdict::Pass, true) => CanaryDecision::Promote,
        (Verdict::Inconclusive, true) => match on_inconclusive {
            OnInconclusive::Rollback => CanaryDecision::Rollback,
            OnInconclusive::Promote => CanaryDecision::Promote,
        },
    }
}

fn fmt_num(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Reject a configuration CloudWatch would reject, one that could never fail, or a number out of
/// its documented range, before anything is deployed.
pub fn validate(config: &CanaryConfig) -> Result<()> {
    if config.metrics.is_empty() && config.alarms.is_empty() {
        return Err(Error::invalid_input(
            "canary: give at least one entry in \"metrics\" or \"alarms\"",
        ));
    }
    let dry = |m: &MetricCheck| m.compare.as_ref().is_some_and(|c| c.dry_run);
    if config.alarms.is_empty() && config.metrics.iter().all(dry) {
        return Err(Error::invalid_input(
            "canary: every metric is a dry run (compare.dryRun) and there is no alarm: it could judge nothing; make one metric count or add an alarm",
        ));
    }
    limits::check(
        "canary.bakeSeconds",
        config.bake_seconds,
        &limits::BAKE_SECONDS,
    )?;
    limits::check(
        "canary.intervalSeconds",
        config.interval_seconds,
        &limits::INTERVAL_SECONDS,
    )?;
    limits::check(
        "canary.windowSeconds",
        config.window_seconds,
        &limits::WINDOW_SECONDS,
    )?;
    if config.metrics.len() > limits::METRICS || config.alarms.len() > limits::ALARMS {
        return Err(Error::invalid_input(format!(
            "canary: at most {} metrics and {} alarms",
            limits::METRICS,
            limits::ALARMS
        )));
    }
    for a in &config.alarms {
        if a.trim().is_empty() {
            return Err(Error::invalid_input(
                "canary.alarms: an alarm name is empty",
            ));
        }
        limits::check_len("canary alarm name", a, limits::NAME_CHARS)?;
    }
    for c in &config.metrics {
        validate_metric(config, c)?;
    }
    validate_analysis(config)
}

/// The analysis block and the compared metrics agree: a typo must not drop or invert a check.
fn validate_analysis(config: &CanaryConfig) -> Result<()> {
    let compared: Vec<&MetricCheck> = config
        .metrics
        .iter()
        .filter(|c| c.compare.is_some())
        .collect();
    let Some(a) = &config.analysis else {
        if let Some(c) = compared.first() {
            return Err(Error::invalid_input(format!(
                "canary check {:?} has \"compare\" but the canary has no \"analysis\" (its baseline): add canary.analysis",
                c.name
            )));
        }
        return Ok(());
    };
    let bad = |what: String| Error::invalid_input(format!("canary.analysis: {what}"));
    if compared.is_empty() {
        return Err(bad(
            "no metric has \"compare\": the analysis would judge nothing (give metrics a \"compare\" or remove \"analysis\")".into(),
        ));
    }
    if !(0.5..=0.9999).contains(&a.confidence) {
        return Err(bad(format!(
            "confidence {} must be between 0.5 and 0.9999 (e.g. 0.99)",
            a.confidence
        )));
    }
    for (field, v) in [
        ("passScore", a.pass_score),
        ("marginalScore", a.marginal_score),
    ] {
        if !(0.0..=100.0).contains(&v) {
            return Err(bad(format!("{field} {v} must be between 0 and 100")));
        }
    }
    if a.marginal_score > a.pass_score {
        return Err(bad(format!(
            "marginalScore {} is above passScore {}",
            a.marginal_score, a.pass_score
        )));
    }
    match a.baseline.source {
        BaselineSource::Dimensions => {
            if a.baseline.dimensions.is_empty() {
                return Err(bad(
                    "baseline source \"dimensions\" needs \"dimensions\" naming the old revision (e.g. its TargetGroup)".into(),
                ));
            }
            for (k, v) in &a.baseline.dimensions {
                limits::check_len("baseline dimension name", k, limits::NAME_CHARS)?;
                limits::check_len("baseline dimension value", v, limits::DIMENSION_VALUE_CHARS)?;
                if k.trim().is_empty() || v.trim().is_empty() {
                    return Err(bad(format!("baseline dimension {k:?} is empty")));
                }
            }
            // Each replaced dimension must exist in every compared metric, else the baseline
            // would silently read the canary's own data.
            for c in &compared {
                let specs: Vec<&crate::model::MetricSpec> =
                    c.metric.iter().chain(c.metrics.values()).collect();
                for k in a.baseline.dimensions.keys() {
                    if let Some(spec) = specs.iter().find(|s| !s.dimensions.contains_key(k)) {
                        return Err(bad(format!(
                            "baseline dimension {k:?} is not a dimension of check {:?} (metric {}): its baseline would be the canary itself",
                            c.name, spec.metric_name
                        )));
                    }
                }
                if specs.iter().all(|s| {
                    a.baseline
                        .dimensions
                        .iter()
                        .all(|(k, v)| s.dimensions.get(k) == Some(v))
                }) {
                    return Err(bad(format!(
                        "the baseline dimensions of check {:?} are its own: the canary would be compared with itself",
                        c.name
                    )));
                }
            }
        }
        BaselineSource::BeforeDeploy => {
            if !a.baseline.dimensions.is_empty() {
                return Err(bad(
                    "baseline source \"beforeDeploy\" takes no \"dimensions\" (use source \"dimensions\" for the old revision's target group)".into(),
                ));
            }
        }
    }
    Ok(())
}

fn validate_metric(config: &CanaryConfig, c: &MetricCheck) -> Result<()> {
    let name = &c.name;
    let bad = |what: String| Error::invalid_input(format!("canary check {name:?}: {what}"));
    limits::check_len("canary check name", name, limits::NAME_CHARS)?;
    if name.trim().is_empty() {
        // the name is how the verdict, the cause and the evidence tell the checks apart
        return Err(Error::invalid_input(
            "canary check name is empty: name each metric",
        ));
    }
    match (c.threshold, &c.compare) {
        (Some(t), None) if !t.is_finite() => {
            return Err(bad("threshold must be a number".into()));
        }
        (Some(_), None) => {}
        (None, Some(cmp)) => {
            // The Hodges-Lehmann shift takes every canary-baseline pair: bound the samples so one
            // evaluation stays within a Lambda's memory and time (1,440 x 1,440 pairs, ~16 MB).
            let samples = config.window_seconds / (c.period.max(1) as u64);
            if samples > limits::COMPARED_SAMPLES {
                return Err(bad(format!(
                    "windowSeconds {} / period {} is {samples} samples a side; a compared metric takes at most {} (a longer period or a shorter window)",
                    config.window_seconds,
                    c.period,
                    limits::COMPARED_SAMPLES
                )));
            }
            if !(cmp.tolerance.is_finite() && (0.0..=1000.0).contains(&cmp.tolerance)) {
                return Err(bad(format!(
                    "compare.tolerance {} must be between 0 and 1000 (a fraction: 0.1 = 10 %)",
                    cmp.tolerance
                )));
            }
            if !(cmp.min_shift.is_finite() && cmp.min_shift >= 0.0) {
                return Err(bad(format!(
                    "compare.minShift {} must be 0 or more",
                    cmp.min_shift
                )));
            }
            if !(cmp.weight.is_finite() && (0.001..=1000.0).contains(&cmp.weight)) {
                return Err(bad(format!(
                    "compare.weight {} must be between 0.001 and 1000",
                    cmp.weight
                )));
            }
        }
        (Some(_), Some(_)) => {
            return Err(bad(
                "give either \"threshold\" or \"compare\", not both".into()
            ))
        }
        (None, None) => {
            return Err(bad(
                "give \"threshold\" (a fixed limit) or \"compare\" (against the baseline)".into(),
            ))
        }
    }
    if !valid_period(c.period) {
        return Err(bad(format!(
            "period {} is not one CloudWatch accepts (1, 5, 10, 30 or a multiple of 60)",
            c.period
        )));
    }
    if (c.period as u64) > config.window_seconds {
        return Err(bad(format!(
            "period {} is longer than windowSeconds {}: no data point could ever arrive",
            c.period, config.window_seconds
        )));
    }
    for (field, v) in [
        ("minDataPoints", c.min_data_points),
        ("datapointsToFail", c.datapoints_to_fail),
    ] {
        limits::check(field, v, &limits::DATA_POINTS).map_err(|e| bad(e.message().into()))?;
    }
    let spec_ok = |id: &str, spec: &crate::model::MetricSpec| -> Result<()> {
        if spec.namespace.trim().is_empty() || spec.metric_name.trim().is_empty() {
            return Err(bad(format!(
                "{id}: namespace and metricName must not be empty"
            )));
        }
        limits::check_len("namespace", &spec.namespace, limits::NAME_CHARS)?;
        limits::check_len("metricName", &spec.metric_name, limits::NAME_CHARS)?;
        if spec.dimensions.len() > limits::DIMENSIONS {
            return Err(bad(format!(
                "{id}: at most {} dimensions",
                limits::DIMENSIONS
            )));
        }
        for (k, v) in &spec.dimensions {
            limits::check_len("dimension name", k, limits::NAME_CHARS)?;
            limits::check_len("dimension value", v, limits::DIMENSION_VALUE_CHARS)?;
            // CloudWatch refuses an empty one and a blank one names no metric anyone publishes:
            // either would only show at the first evaluation, after the rollout started
            if k.trim().is_empty() || v.trim().is_empty() {
                return Err(bad(format!(
                    "{id}: dimension {k:?}: {v:?}: a dimension's name and value must not be empty"
                )));
            }
        }
        if !valid_statistic(&spec.stat) {
            return Err(bad(format!(
                "{id}: stat {:?} is not a CloudWatch statistic (Sum, Average, Minimum, Maximum, SampleCount, p99, p99.9, tm90, …)",
                spec.stat
            )));
        }
        Ok(())
    };
    match (&c.metric, &c.expression) {
        (Some(spec), None) if c.metrics.is_empty() => spec_ok("metric", spec)?,
        (None, Some(expr)) if !c.metrics.is_empty() => {
            for (id, spec) in &c.metrics {
                let valid = id.starts_with(|ch: char| ch.is_ascii_lowercase())
                    && id.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
                    && id != RESULT_ID;
                if !valid {
                    return Err(bad(format!(
                        "metric id {id:?} must start with a lower-case letter and hold only letters, digits and _ (and not be {RESULT_ID:?})"
                    )));
                }
                spec_ok(id, spec)?;
            }
            let ids = c.metrics.keys().cloned().collect();
            check_expression(expr, &ids).map_err(|e| bad(format!("expression {expr:?}: {e}")))?;
        }
        _ => {
            return Err(bad(
                "give either \"metric\", or \"expression\" with the \"metrics\" it uses".into(),
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(threshold: f64, comparison: Comparison, min: usize, to_fail: usize) -> MetricCheck {
        serde_json::from_value(serde_json::json!({
            "name": "5xx rate",
            "expression": "100 * errors / requests",
            "threshold": threshold,
            "comparison": comparison,
            "minDataPoints": min,
            "datapointsToFail": to_fail,
        }))
        .unwrap()
    }

    #[test]
    fn healthy_values_pass() {
        let r = judge_metric(
            &check(1.0, Comparison::GreaterThanThreshold, 3, 1),
            &[0.0, 0.2, 0.5],
        );
        assert_eq!(r.verdict, Verdict::Pass);
        assert!(r.detail.contains("worst 0.5"), "{}", r.detail);
    }

    #[test]
    fn one_breaching_point_fails_by_default() {
        let r = judge_metric(
            &check(1.0, Comparison::GreaterThanThreshold, 3, 1),
            &[0.0, 7.5, 0.1],
        );
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(r.detail.contains("1 of 3"), "{}", r.detail);
        assert!(r.detail.contains("worst 7.5"), "{}", r.detail);
    }

    #[test]
    fn datapoints_to_fail_tolerates_a_blip() {
        let c = check(1.0, Comparison::GreaterThanThreshold, 3, 2);
        assert_eq!(judge_metric(&c, &[0.0, 7.5, 0.1]).verdict, Verdict::Pass);
        assert_eq!(judge_metric(&c, &[3.0, 7.5, 0.1]).verdict, Verdict::Fail);
    }

    #[test]
    fn no_data_is_inconclusive_never_pass() {
        let c = check(1.0, Comparison::GreaterThanThreshold, 3, 1);
        assert_eq!(judge_metric(&c, &[]).verdict, Verdict::Inconclusive);
        assert_eq!(judge_metric(&c, &[0.0, 0.0]).verdict, Verdict::Inconclusive);
    }

    #[test]
    fn nan_from_division_by_zero_is_no_data() {
        let c = check(1.0, Comparison::GreaterThanThreshold, 1, 1);
        let r = judge_metric(&c, &[f64::NAN, f64::INFINITY]);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert!(r.values.is_empty());
    }

    #[test]
    fn a_failure_is_reported_even_with_too_few_points() {
        let c = check(1.0, Comparison::GreaterThanThreshold, 3, 1);
        assert_eq!(judge_metric(&c, &[50.0]).verdict, Verdict::Fail);
    }

    #[test]
    fn lower_bound_checks_fail_below_the_threshold() {
        // e.g. a success-rate metric that must stay at 99 % or more
        let c = check(99.0, Comparison::LessThanThreshold, 1, 1);
        let r = judge_metric(&c, &[99.5, 98.0]);
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(r.detail.contains("worst 98"), "{}", r.detail);
        assert_eq!(judge_metric(&c, &[99.0]).verdict, Verdict::Pass);
    }

    #[test]
    fn comparisons_are_cloudwatchs() {
        assert!(breaches(
            2.0,
            Comparison::GreaterThanOrEqualToThreshold,
            2.0
        ));
        assert!(!breaches(2.0, Comparison::GreaterThanThreshold, 2.0));
        assert!(breaches(2.0, Comparison::LessThanOrEqualToThreshold, 2.0));
        assert!(!breaches(2.0, Comparison::LessThanThreshold, 2.0));
    }

    #[test]
    fn alarms_map_by_state() {
        assert_eq!(judge_alarm("a", Some("OK"), None).verdict, Verdict::Pass);
        assert_eq!(
            judge_alarm("a", Some("ALARM"), Some("Threshold Crossed")).verdict,
            Verdict::Fail
        );
        assert_eq!(
            judge_alarm("a", Some("INSUFFICIENT_DATA"), None).verdict,
            Verdict::Inconclusive
        );
        assert_eq!(judge_alarm("a", None, None).verdict, Verdict::Inconclusive);
    }

    #[test]
    fn overall_verdict_is_the_worst() {
        let pass = judge_alarm("a", Some("OK"), None);
        let inc = judge_alarm("b", None, None);
        let fail = judge_alarm("c", Some("ALARM"), None);
        assert_eq!(overall(std::slice::from_ref(&pass)), Verdict::Pass);
        assert_eq!(overall(&[pass.clone(), inc.clone()]), Verdict::Inconclusive);
        assert_eq!(overall(&[pass, inc, fail]), Verdict::Fail);
        assert_eq!(overall(&[]), Verdict::Inconclusive);
    }

    #[test]
    fn decisions_cover_every_case() {
        use CanaryDecision::*;
        use OnInconclusive as O;
        let table = [
            (Verdict::Fail, false, O::Rollback, Rollback),
            (Verdict::Fail, true, O::Promote, Rollback),
            (Verdict::Pass, false, O::Rollback, Continue),
            (Verdict::Inconclusive, false, O::Rollback, Continue),
            (Verdict::Pass, true, O::Rollback, Promote),
            (Verdict::Inconclusive, true, O::Rollback, Rollback),
            (Verdict::Inconclusive, true, O::Promote, Promote),
        ];
        for (v, over, o, want) in table {
            assert_eq!(decide(v, over, o), want, "{v:?} over={over} {o:?}");
        }
    }

    // ---- the statistical analysis (metrics with `compare`) ----

    fn compared(name: &str, compare: serde_json::Value) -> MetricCheck {
        serde_json::from_value(serde_json::json!({
            "name": name,
            "metric": {"namespace": "AWS/ApplicationELB", "metricName": "TargetResponseTime", "stat": "p99",
                       "dimensions": {"TargetGroup": "targetgroup/green/1", "LoadBalancer": "app/web/1"}},
            "compare": compare,
        }))
        .unwrap()
    }

    fn analysis_config(metrics: serde_json::Value) -> CanaryConfig {
        serde_json::from_value(serde_json::json!({
            "analysis": {"baseline": {"source": "dimensions", "dimensions": {"TargetGroup": "targetgroup/blue/1"}}},
            "metrics": metrics,
        }))
        .unwrap()
    }

    fn metric_json(name: &str, compare: serde_json::Value) -> serde_json::Value {
        serde_json::to_value(compared(name, compare)).unwrap()
    }

    const BASE: [f64; 10] = [0.25, 0.26, 0.24, 0.25, 0.27, 0.23, 0.25, 0.26, 0.24, 0.25];

    fn scaled(k: f64) -> Vec<f64> {
        BASE.iter().map(|v| v * k).collect()
    }

    fn judge(compare: serde_json::Value, canary: &[f64], baseline: &[f64]) -> CheckResult {
        let c = compared("p99", compare);
        judge_comparison(&c, c.compare.as_ref().unwrap(), 0.99, canary, baseline)
    }

    fn class(r: &CheckResult) -> Classification {
        r.analysis.as_ref().unwrap().classification
    }

    #[test]
    fn a_slower_canary_is_high_with_its_evidence() {
        // GIVEN p99 30 % above the baseline's, every sample
        let r = judge(
            serde_json::json!({"direction": "increase"}),
            &scaled(1.3),
            &BASE,
        );
        // THEN HIGH, and the evidence has n, medians, U, p and the shift
        assert_eq!(class(&r), Classification::High, "{}", r.detail);
        assert_eq!(r.verdict, Verdict::Fail);
        let a = r.analysis.unwrap();
        assert_eq!((a.canary_n, a.baseline_n), (10, 10));
        assert_eq!(a.baseline_median, Some(0.25));
        assert!(a.p_value.unwrap() < 0.01 && a.u.unwrap() > 90.0, "{a:?}");
        assert!((a.relative_shift.unwrap() - 0.3).abs() < 0.05, "{a:?}");
        assert!(r.detail.starts_with("HIGH: canary median 0.325 vs baseline 0.25 (n 10/10), shift +0.075 (+30.0%, tolerance 10%), U=100, p="), "{}", r.detail);
    }

    #[test]
    fn only_the_bad_direction_counts() {
        // a faster canary is no latency problem; a throughput drop is
        let faster = judge(
            serde_json::json!({"direction": "increase"}),
            &scaled(0.5),
            &BASE,
        );
        assert_eq!(class(&faster), Classification::Pass, "{}", faster.detail);
        let fewer = judge(
            serde_json::json!({"direction": "decrease"}),
            &scaled(0.5),
            &BASE,
        );
        assert_eq!(class(&fewer), Classification::Low, "{}", fewer.detail);
        let more = judge(
            serde_json::json!({"direction": "decrease"}),
            &scaled(2.0),
            &BASE,
        );
        assert_eq!(class(&more), Classification::Pass);
        // kayenta#744: "either" catches both
        assert_eq!(
            class(&judge(
                serde_json::json!({"direction": "either"}),
                &scaled(2.0),
                &BASE
            )),
            Classification::High
        );
        assert_eq!(
            class(&judge(
                serde_json::json!({"direction": "either"}),
                &scaled(0.5),
                &BASE
            )),
            Classification::Low
        );
    }

    #[test]
    fn a_significant_shift_inside_the_tolerance_passes() {
        // 5 % slower on every sample: significant, but under the 10 % tolerance
        let r = judge(
            serde_json::json!({"direction": "increase"}),
            &scaled(1.05),
            &BASE,
        );
        assert!(r.analysis.as_ref().unwrap().p_value.unwrap() < 0.01);
        assert_eq!(class(&r), Classification::Pass, "{}", r.detail);
        // with a 2 % tolerance it counts
        let r = judge(
            serde_json::json!({"direction": "increase", "tolerance": 0.02}),
            &scaled(1.05),
            &BASE,
        );
        assert_eq!(class(&r), Classification::High, "{}", r.detail);
        // minShift in the metric's unit gates it too
        let r = judge(
            serde_json::json!({"direction": "increase", "tolerance": 0.02, "minShift": 0.1}),
            &scaled(1.05),
            &BASE,
        );
        assert_eq!(class(&r), Classification::Pass, "{}", r.detail);
    }

    #[test]
    fn a_large_shift_that_is_not_significant_passes() {
        // two samples each side: no test can be sure at 99 %
        let c: MetricCheck = serde_json::from_value(serde_json::json!({
            "name": "p99", "metric": {"namespace": "N", "metricName": "M"},
            "compare": {"direction": "increase"}, "minDataPoints": 2
        }))
        .unwrap();
        let r = judge_comparison(
            &c,
            c.compare.as_ref().unwrap(),
            0.99,
            &[0.5, 0.6],
            &[0.25, 0.26],
        );
        assert_eq!(class(&r), Classification::Pass, "{}", r.detail);
    }

    #[test]
    fn errors_against_an_error_free_baseline_are_high() {
        // kayenta#799 / #377: the baseline had no errors at all, the canary has some
        let r = judge(
            serde_json::json!({"direction": "increase"}),
            &[1.0, 4.0, 2.0, 3.0, 1.0, 2.0, 3.0, 2.0],
            &[0.0; 8],
        );
        assert_eq!(class(&r), Classification::High, "{}", r.detail);
        assert!(r.detail.contains("from a zero median"), "{}", r.detail);
        assert_eq!(r.analysis.unwrap().relative_shift, None);
        // both flat at zero: no difference, no p-value below 1
        let r = judge(
            serde_json::json!({"direction": "increase"}),
            &[0.0; 8],
            &[0.0; 8],
        );
        assert_eq!(class(&r), Classification::Pass);
        assert_eq!(r.analysis.unwrap().p_value, Some(1.0));
    }

    #[test]
    fn too_few_samples_on_either_side_is_nodata() {
        // kayenta#700: both sides empty must not pass
        let r = judge(serde_json::json!({"direction": "increase"}), &[], &[]);
        assert_eq!(class(&r), Classification::Nodata);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        // NaN from a division by zero (no requests) is no sample
        let r = judge(
            serde_json::json!({"direction": "increase"}),
            &[f64::NAN; 10],
            &BASE,
        );
        assert_eq!(class(&r), Classification::Nodata, "{}", r.detail);
        assert!(
            r.detail
                .contains("0 canary and 10 baseline sample(s), 3 needed"),
            "{}",
            r.detail
        );
        let r = judge(
            serde_json::json!({"direction": "increase"}),
            &BASE,
            &[0.2, 0.3],
        );
        assert_eq!(class(&r), Classification::Nodata);
    }

    fn result(
        name: &str,
        compare: serde_json::Value,
        canary: &[f64],
        baseline: &[f64],
    ) -> CheckResult {
        let c = compared(name, compare);
        judge_comparison(&c, c.compare.as_ref().unwrap(), 0.99, canary, baseline)
    }

    fn config_of(checks: &[CheckResult]) -> CanaryConfig {
        analysis_config(serde_json::Value::Array(
            checks
                .iter()
                .map(|c| {
                    let a = c.analysis.as_ref().unwrap();
                    metric_json(
                        &c.name,
                        serde_json::json!({"direction": "increase", "critical": a.critical,
                        "mustHaveData": a.must_have_data, "dryRun": a.dry_run, "weight": a.weight}),
                    )
                })
                .collect(),
        ))
    }

    fn outcome(checks: &[CheckResult]) -> (Verdict, AnalysisScore) {
        let (v, s) = verdict(&config_of(checks), checks);
        (v, s.unwrap())
    }

    const INC: fn() -> serde_json::Value = || serde_json::json!({"direction": "increase"});

    #[test]
    fn every_metric_passing_scores_100_and_passes() {
        let checks = [
            result("a", INC(), &BASE, &BASE),
            result("b", INC(), &scaled(0.9), &BASE),
        ];
        let (v, s) = outcome(&checks);
        assert_eq!(
            (v, s.outcome, s.score),
            (Verdict::Pass, ScoreOutcome::Pass, Some(100.0))
        );
    }

    #[test]
    fn the_score_is_the_weighted_share_of_passing_metrics() {
        let pass = |n: &str, w: f64| {
            result(
                n,
                serde_json::json!({"direction": "increase", "weight": w}),
                &BASE,
                &BASE,
            )
        };
        let high = |n: &str, w: f64| {
            result(
                n,
                serde_json::json!({"direction": "increase", "weight": w}),
                &scaled(2.0),
                &BASE,
            )
        };
        // 9 of 10 by weight: 90 = pass
        let (v, s) = outcome(&[pass("a", 9.0), high("b", 1.0)]);
        assert_eq!(
            (v, s.outcome),
            (Verdict::Pass, ScoreOutcome::Pass),
            "{}",
            s.reason
        );
        // 8 of 10: marginal = keep baking (INCONCLUSIVE), naming the failing metric
        let (v, s) = outcome(&[pass("a", 8.0), high("b", 2.0)]);
        assert_eq!(
            (v, s.outcome, s.score),
            (Verdict::Inconclusive, ScoreOutcome::Marginal, Some(80.0))
        );
        assert!(s.reason.contains("failing: b HIGH"), "{}", s.reason);
        // 1 of 2: below marginal = FAIL at once
        let (v, s) = outcome(&[pass("a", 1.0), high("b", 1.0)]);
        assert_eq!((v, s.outcome), (Verdict::Fail, ScoreOutcome::Fail));
        assert_eq!(s.reason, "score 50 < marginal 75; failing: b HIGH");
        // none passing: a score of 0, not -0
        let (_, s) = outcome(&[high("b", 1.0), high("c", 1.0)]);
        assert!(
            s.score == Some(0.0) && s.score.unwrap().is_sign_positive(),
            "{s:?}"
        );
        assert_eq!(s.reason, "score 0 < marginal 75; failing: b HIGH, c HIGH");
    }

    #[test]
    fn a_critical_metric_fails_the_canary_at_once() {
        let mut checks: Vec<CheckResult> = (0..9)
            .map(|i| result(&format!("m{i}"), INC(), &BASE, &BASE))
            .collect();
        checks.push(result(
            "5xx",
            serde_json::json!({"direction": "increase", "critical": true}),
            &scaled(2.0),
            &BASE,
        ));
        let (v, s) = outcome(&checks);
        assert_eq!(
            (v, s.outcome, s.score),
            (Verdict::Fail, ScoreOutcome::Fail, Some(90.0))
        );
        assert_eq!(s.reason, "critical metric(s) failed: 5xx HIGH");
    }

    #[test]
    fn a_dry_run_metric_is_reported_and_changes_nothing() {
        let dry = result(
            "new",
            serde_json::json!({"direction": "increase", "dryRun": true, "critical": true}),
            &scaled(2.0),
            &BASE,
        );
        assert_eq!(class(&dry), Classification::High, "evaluated");
        let checks = [result("a", INC(), &BASE, &BASE), dry];
        let (v, s) = outcome(&checks);
        assert_eq!(
            (v, s.outcome, s.metrics),
            (Verdict::Pass, ScoreOutcome::Pass, 1)
        );
        let d = detail(&checks, Some(&s));
        assert!(d.contains("new HIGH [critical, dry run]"), "{d}");
        // dry-run metrics alone judge nothing: never a pass
        let only = [result(
            "new",
            serde_json::json!({"direction": "increase", "dryRun": true}),
            &BASE,
            &BASE,
        )];
        let (v, s) = outcome(&only);
        assert_eq!(
            (v, s.outcome),
            (Verdict::Inconclusive, ScoreOutcome::Inconclusive)
        );
    }

    #[test]
    fn a_canary_whose_every_metric_is_a_dry_run_is_refused_unless_an_alarm_counts() {
        let metric = |dry: bool| {
            serde_json::json!({"name": format!("m{dry}"), "metric": {"namespace": "N", "metricName": "M", "stat": "Sum"},
                "compare": {"direction": "increase", "dryRun": dry}})
        };
        let config = |metrics: serde_json::Value, alarms: serde_json::Value| -> CanaryConfig {
            serde_json::from_value(serde_json::json!({"bakeSeconds": 60, "windowSeconds": 600,
                "analysis": {"baseline": {"source": "beforeDeploy"}}, "metrics": metrics, "alarms": alarms}))
            .unwrap()
        };
        let e = validate(&config(
            serde_json::json!([metric(true)]),
            serde_json::json!([]),
        ))
        .unwrap_err();
        assert!(
            e.message().contains("every metric is a dry run"),
            "{}",
            e.message()
        );
        validate(&config(
            serde_json::json!([metric(true), metric(false)]),
            serde_json::json!([]),
        ))
        .unwrap();
        validate(&config(
            serde_json::json!([metric(true)]),
            serde_json::json!(["web-5xx"]),
        ))
        .unwrap();
    }

    #[test]
    fn half_the_metrics_without_data_is_inconclusive_never_pass() {
        // kayenta#326 / argo-rollouts#4479: the metrics left (passing) would score 100
        let (v, s) = outcome(&[
            result("a", INC(), &BASE, &BASE),
            result("b", INC(), &[], &BASE),
        ]);
        assert_eq!(
            (v, s.outcome, s.nodata),
            (Verdict::Inconclusive, ScoreOutcome::Inconclusive, 1)
        );
        assert_eq!(
            s.reason,
            "1 of 2 metric(s) have no data: not enough to judge"
        );
        // every metric empty
        let (v, s) = outcome(&[result("a", INC(), &[], &[]), result("b", INC(), &[], &[])]);
        assert_eq!(
            (v, s.outcome, s.score),
            (Verdict::Inconclusive, ScoreOutcome::Inconclusive, None)
        );
        // one of three: left out of the score, which still passes
        let (v, s) = outcome(&[
            result("a", INC(), &BASE, &BASE),
            result("b", INC(), &BASE, &BASE),
            result("c", INC(), &[], &BASE),
        ]);
        assert_eq!(
            (v, s.outcome, s.score),
            (Verdict::Pass, ScoreOutcome::Pass, Some(100.0))
        );
    }

    #[test]
    fn a_must_have_data_metric_without_data_fails() {
        let checks = [
            result("a", INC(), &BASE, &BASE),
            result("b", INC(), &BASE, &BASE),
            result(
                "requests",
                serde_json::json!({"direction": "decrease", "mustHaveData": true}),
                &[],
                &BASE,
            ),
        ];
        let (v, s) = outcome(&checks);
        assert_eq!((v, s.outcome), (Verdict::Fail, ScoreOutcome::Fail));
        assert_eq!(
            s.reason,
            "metric(s) that must have data have none: requests NODATA"
        );
    }

    #[test]
    fn verdicts_map_to_todays_decisions() {
        use CanaryDecision::*;
        let high = [
            result("a", INC(), &BASE, &BASE),
            result("b", INC(), &scaled(2.0), &BASE),
        ];
        let marginal = {
            let mut c: Vec<CheckResult> = (0..4)
                .map(|i| result(&format!("m{i}"), INC(), &BASE, &BASE))
                .collect();
            c.push(result("x", INC(), &scaled(2.0), &BASE));
            c
        };
        let nodata = [result("a", INC(), &[], &[])];
        let pass = [result("a", INC(), &BASE, &BASE)];
        for (checks, over, on, want) in [
            (&high[..], false, OnInconclusive::Promote, Rollback),
            (&marginal[..], false, OnInconclusive::Rollback, Continue),
            (&marginal[..], true, OnInconclusive::Rollback, Rollback),
            (&marginal[..], true, OnInconclusive::Promote, Promote),
            (&nodata[..], true, OnInconclusive::Rollback, Rollback),
            (&nodata[..], false, OnInconclusive::Rollback, Continue),
            (&pass[..], false, OnInconclusive::Rollback, Continue),
            (&pass[..], true, OnInconclusive::Rollback, Promote),
        ] {
            let (v, _) = outcome(checks);
            assert_eq!(decide(v, over, on), want, "{v:?} over={over} {on:?}");
        }
    }

    #[test]
    fn thresholds_and_the_analysis_combine_worst_first() {
        let mut config = analysis_config(serde_json::json!([metric_json("a", INC())]));
        config.alarms = vec!["x".into()];
        let pass = result("a", INC(), &BASE, &BASE);
        let alarm = judge_alarm("x", Some("ALARM"), None);
        assert_eq!(verdict(&config, &[pass.clone(), alarm]).0, Verdict::Fail);
        let ok = judge_alarm("x", Some("OK"), None);
        assert_eq!(
            verdict(&config, &[pass.clone(), ok.clone()]).0,
            Verdict::Pass
        );
        let high = result("a", INC(), &scaled(2.0), &BASE);
        assert_eq!(verdict(&config, &[high, ok]).0, Verdict::Fail);
    }

    fn invalid(config: serde_json::Value) -> String {
        let config: CanaryConfig = match serde_json::from_value(config) {
            Ok(c) => c,
            Err(e) => return format!("serde: {e}"),
        };
        let e = validate(&config).unwrap_err();
        assert_eq!(e.name(), crate::error::ErrorName::InvalidInput);
        e.message().to_string()
    }

    #[test]
    fn typos_in_the_analysis_fail_loudly() {
        let base = || serde_json::json!({"source": "dimensions", "dimensions": {"TargetGroup": "targetgroup/blue/1"}});
        let with = |analysis: serde_json::Value, compare: serde_json::Value| serde_json::json!({"analysis": analysis, "metrics": [metric_json_raw(compare)]});
        fn metric_json_raw(compare: serde_json::Value) -> serde_json::Value {
            serde_json::json!({"name": "p99", "metric": {"namespace": "AWS/ApplicationELB", "metricName": "TargetResponseTime",
                "dimensions": {"TargetGroup": "targetgroup/green/1"}}, "compare": compare})
        }
        // GIVEN a valid analysis, THEN it validates
        validate(
            &serde_json::from_value(with(serde_json::json!({"baseline": base()}), INC())).unwrap(),
        )
        .unwrap();
        // a misspelt key, direction, or source
        assert!(invalid(with(
            serde_json::json!({"baseline": base()}),
            serde_json::json!({"direction": "increase", "critcal": true})
        ))
        .contains("unknown field `critcal`"));
        assert!(invalid(with(
            serde_json::json!({"baseline": base()}),
            serde_json::json!({"direction": "up"})
        ))
        .contains("unknown variant `up`"));
        assert!(invalid(with(
            serde_json::json!({"baseline": base()}),
            serde_json::json!({"critical": true})
        ))
        .contains("missing field `direction`"));
        assert!(invalid(with(
            serde_json::json!({"baseline": {"source": "before"}}),
            INC()
        ))
        .contains("unknown variant `before`"));
        assert!(invalid(with(
            serde_json::json!({"baseline": base(), "confidance": 0.9}),
            INC()
        ))
        .contains("unknown field `confidance`"));
        // a baseline that would be the canary itself
        let m = invalid(with(
            serde_json::json!({"baseline": {"source": "dimensions", "dimensions": {"TargetGrup": "targetgroup/blue/1"}}}),
            INC(),
        ));
        assert!(
            m.contains("\"TargetGrup\" is not a dimension of check \"p99\""),
            "{m}"
        );
        let m = invalid(with(
            serde_json::json!({"baseline": {"source": "dimensions", "dimensions": {"TargetGroup": "targetgroup/green/1"}}}),
            INC(),
        ));
        assert!(m.contains("compared with itself"), "{m}");
        assert!(invalid(with(
            serde_json::json!({"baseline": {"source": "dimensions"}}),
            INC()
        ))
        .contains("needs \"dimensions\""));
        assert!(invalid(with(serde_json::json!({"baseline": {"source": "beforeDeploy", "dimensions": {"TargetGroup": "x"}}}), INC())).contains("takes no \"dimensions\""));
        // numbers out of range
        assert!(invalid(with(
            serde_json::json!({"baseline": base(), "confidence": 95}),
            INC()
        ))
        .contains("confidence 95"));
        assert!(invalid(with(
            serde_json::json!({"baseline": base(), "passScore": 50, "marginalScore": 60}),
            INC()
        ))
        .contains("above passScore"));
        assert!(invalid(with(
            serde_json::json!({"baseline": base()}),
            serde_json::json!({"direction": "increase", "tolerance": -1})
        ))
        .contains("tolerance -1"));
        assert!(invalid(with(
            serde_json::json!({"baseline": base()}),
            serde_json::json!({"direction": "increase", "weight": 0})
        ))
        .contains("weight 0"));
        // a window of more samples than the pairwise shift can afford
        let mut long = with(serde_json::json!({"baseline": base()}), INC());
        long["windowSeconds"] = serde_json::json!(86_400);
        long["metrics"][0]["period"] = serde_json::json!(30);
        let m = invalid(long);
        assert!(
            m.contains("is 2880 samples a side; a compared metric takes at most 1440"),
            "{m}"
        );
        // compare without an analysis, an analysis without compare, threshold and compare both
        let m = invalid(serde_json::json!({"metrics": [metric_json_raw(INC())]}));
        assert!(
            m.contains("has \"compare\" but the canary has no \"analysis\""),
            "{m}"
        );
        let m = invalid(
            serde_json::json!({"analysis": {"baseline": base()}, "metrics": [{"name": "p99", "metric": {"namespace": "N", "metricName": "M"}, "threshold": 1}]}),
        );
        assert!(m.contains("no metric has \"compare\""), "{m}");
        let mut both = metric_json_raw(INC());
        both["threshold"] = serde_json::json!(1.0);
        assert!(
            invalid(serde_json::json!({"analysis": {"baseline": base()}, "metrics": [both]}))
                .contains("not both")
        );
        let mut neither = metric_json_raw(INC());
        neither.as_object_mut().unwrap().remove("compare");
        assert!(invalid(serde_json::json!({"metrics": [neither]})).contains("give \"threshold\""));
    }

    #[test]
    fn an_empty_or_blank_dimension_is_refused_before_cloudwatch_sees_it() {
        // GIVEN a metric (alone, or one an expression reads) and a baseline, each with one
        // dimension whose name or value is empty or blank
        let metric = |k: &str, v: &str| {
            serde_json::json!({"namespace": "AWS/ApplicationELB", "metricName": "RequestCount",
                "stat": "Sum", "dimensions": {k: v}})
        };
        for (k, v) in [
            ("TargetGroup", ""),
            ("TargetGroup", "   "),
            ("", "x"),
            (" ", "x"),
        ] {
            let alone = serde_json::json!({"metrics": [{"name": "n", "metric": metric(k, v), "threshold": 1}]});
            let read = serde_json::json!({"metrics": [{"name": "n", "expression": "2 * r",
                "metrics": {"r": metric(k, v)}, "threshold": 1}]});
            let baseline = serde_json::json!({"analysis": {"baseline": {"source": "dimensions", "dimensions": {k: v}}},
                "metrics": [{"name": "p99", "metric": {"namespace": "N", "metricName": "M",
                    "dimensions": {"TargetGroup": "targetgroup/green/1"}}, "compare": INC()}]});
            // WHEN each is validated THEN it is refused (InvalidInput), naming the dimension
            for config in [alone, read, baseline] {
                let m = invalid(config.clone());
                assert!(m.contains(&format!("dimension {k:?}")), "{config}: {m}");
            }
        }
        // and a dimension with a name and a value passes
        validate(
            &serde_json::from_value(serde_json::json!({"metrics": [{"name": "n",
                "metric": metric("TargetGroup", "targetgroup/web/1"), "threshold": 1}]}))
            .unwrap(),
        )
        .unwrap();
    }
}
