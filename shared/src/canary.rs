//! Canary maths: compare what CloudWatch returned with each check's threshold, and decide whether
//! to keep baking, promote or roll back. Pure functions; `evaluate-canary` only fetches.
//!
//! Trap: no traffic or an empty metric is not a pass. Too few data points is INCONCLUSIVE, and an
//! INCONCLUSIVE bake rolls back unless the service opted into `onInconclusive: promote`.

use crate::error::{Error, Result};
use crate::metricmath::{check_expression, valid_period, valid_statistic};
use crate::model::{
    limits, CanaryConfig, CanaryDecision, CheckResult, Comparison, MetricCheck, OnInconclusive,
    Verdict,
};

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
    let values: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let breaching = values
        .iter()
        .filter(|v| breaches(**v, check.comparison, check.threshold))
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
                check.threshold,
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
                check.threshold,
                worst.map(fmt_num).unwrap_or_default()
            ),
        )
    };
    CheckResult {
        name: check.name.clone(),
        verdict,
        detail,
        values,
        threshold: Some(check.threshold),
    }
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
    Ok(())
}

fn validate_metric(config: &CanaryConfig, c: &MetricCheck) -> Result<()> {
    let name = &c.name;
    let bad = |what: String| Error::invalid_input(format!("canary check {name:?}: {what}"));
    limits::check_len("canary check name", name, limits::NAME_CHARS)?;
    if !c.threshold.is_finite() {
        return Err(bad("threshold must be a number".into()));
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
}
