//! Reading CloudWatch for a canary: each check's metric (or metric math) and each alarm, judged.
//! Shared by evaluate-canary (the state machine's bake) and the lifecycle-hook Lambdas.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{
    AlarmType, Dimension, Metric, MetricDataQuery, MetricStat, ScanBy, StateValue,
};
use aws_sdk_cloudwatch::Client;

use crate::canary::{judge_alarm, judge_comparison, judge_metric, RESULT_ID};
use crate::error::{Error, Result};
use crate::model::{Analysis, BaselineSource, CanaryConfig, CheckResult, MetricCheck, MetricSpec};
use crate::time::DateTime;

/// Every metric check and alarm of `config`, judged over the window ending at `now`. A metric
/// with `compare` is read twice, for the canary and for its baseline (`analysis.baseline`):
/// the old revision's dimensions over the same window, or the same query over the window before
/// `deployed_at` (the rollout's start; the canary's samples then start there too).
pub async fn read_checks(
    cw: &Client,
    config: &CanaryConfig,
    now: DateTime,
    deployed_at: Option<DateTime>,
) -> Result<Vec<CheckResult>> {
    let window_start = DateTime::from_secs(now.secs() - config.window_seconds as i64);
    let mut checks = Vec::with_capacity(config.metrics.len() + config.alarms.len());
    for check in &config.metrics {
        match (&check.compare, &config.analysis) {
            (Some(compare), Some(analysis)) => {
                let (canary, baseline) =
                    samples(cw, config, analysis, check, now, deployed_at).await?;
                checks.push(judge_comparison(
                    check,
                    compare,
                    analysis.confidence,
                    &canary,
                    &baseline,
                ));
            }
            _ => {
                let values = metric_values(cw, check, window_start, now).await?;
                checks.push(judge_metric(check, &values));
            }
        }
    }
    checks.extend(alarm_checks(cw, &config.alarms).await?);
    Ok(checks)
}

/// The canary's and the baseline's samples of one compared metric, same period, same length of
/// window.
async fn samples(
    cw: &Client,
    config: &CanaryConfig,
    analysis: &Analysis,
    check: &MetricCheck,
    now: DateTime,
    deployed_at: Option<DateTime>,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let window = config.window_seconds as i64;
    let period = i64::from(check.period.max(1));
    match analysis.baseline.source {
        BaselineSource::Dimensions => {
            let start = DateTime::from_secs(now.secs() - window);
            let canary = metric_values(cw, check, start, now).await?;
            let baseline_check = with_dimensions(check, &analysis.baseline.dimensions);
            let baseline = metric_values(cw, &baseline_check, start, now).await?;
            Ok((canary, baseline))
        }
        BaselineSource::BeforeDeploy => {
            let Some(deployed) = deployed_at else {
                return Err(Error::invalid_input(format!(
                    "canary check {:?}: baseline source \"beforeDeploy\" needs the rollout's start (update.startedAt), which this input lacks",
                    check.name
                )));
            };
            // Whole periods on each side of the deploy: no bucket mixes old and new.
            let before_end = deployed.secs().div_euclid(period) * period;
            let after_start = (deployed.secs() + period - 1).div_euclid(period) * period;
            let canary_start = (now.secs() - window).max(after_start);
            let canary = if canary_start < now.secs() {
                metric_values(cw, check, DateTime::from_secs(canary_start), now).await?
            } else {
                vec![]
            };
            let baseline = metric_values(
                cw,
                check,
                DateTime::from_secs(before_end - window),
                DateTime::from_secs(before_end),
            )
            .await?;
            Ok((canary, baseline))
        }
    }
}

/// `check` with the baseline's dimension values in place of the canary's (validation made sure
/// every metric has each of them).
fn with_dimensions(
    check: &MetricCheck,
    dimensions: &std::collections::BTreeMap<String, String>,
) -> MetricCheck {
    let swap = |spec: &MetricSpec| {
        let mut spec = spec.clone();
        for (k, v) in dimensions {
            if let Some(d) = spec.dimensions.get_mut(k) {
                d.clone_from(v);
            }
        }
        spec
    };
    let mut out = check.clone();
    out.metric = check.metric.as_ref().map(swap);
    out.metrics = check
        .metrics
        .iter()
        .map(|(id, spec)| (id.clone(), swap(spec)))
        .collect();
    out
}

fn metric_stat(spec: &MetricSpec, period: i32) -> MetricStat {
    let dimensions = spec
        .dimensions
        .iter()
        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
        .collect();
    MetricStat::builder()
        .metric(
            Metric::builder()
                .namespace(&spec.namespace)
                .metric_name(&spec.metric_name)
                .set_dimensions(Some(dimensions))
                .build(),
        )
        .period(period)
        .stat(&spec.stat)
        .build()
}

fn queries(check: &MetricCheck) -> Vec<MetricDataQuery> {
    match (&check.metric, &check.expression) {
        (Some(spec), _) => vec![MetricDataQuery::builder()
            .id(RESULT_ID)
            .metric_stat(metric_stat(spec, check.period))
            .return_data(true)
            .build()],
        (None, Some(expr)) => check
            .metrics
            .iter()
            .map(|(id, spec)| {
                MetricDataQuery::builder()
                    .id(id)
                    .metric_stat(metric_stat(spec, check.period))
                    .return_data(false)
                    .build()
            })
            .chain(std::iter::once(
                MetricDataQuery::builder()
                    .id(RESULT_ID)
                    .expression(expr)
                    .period(check.period)
                    .return_data(true)
                    .build(),
            ))
            .collect(),
        (None, None) => vec![],
    }
}

pub async fn metric_values(
    cw: &Client,
    check: &MetricCheck,
    start: DateTime,
    end: DateTime,
) -> Result<Vec<f64>> {
    let mut values = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let out = cw
            .get_metric_data()
            .set_metric_data_queries(Some(queries(check)))
            .start_time(start)
            .end_time(end)
            .scan_by(ScanBy::TimestampDescending)
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| Error::from_sdk(&format!("GetMetricData {:?}", check.name), e))?;
        for r in out.metric_data_results() {
            if r.id() == Some(RESULT_ID) {
                values.extend_from_slice(r.values());
            }
        }
        match out.next_token {
            Some(t) if !t.is_empty() => next = Some(t),
            _ => return Ok(values),
        }
    }
}

/// The named alarms CloudWatch has (metric and composite), each with its state and reason if it
/// reports one. DescribeAlarms takes at most 100 names a call.
async fn alarm_states(
    cw: &Client,
    names: &[String],
) -> Result<BTreeMap<String, Option<(StateValue, Option<String>)>>> {
    let mut found = BTreeMap::new();
    for chunk in names.chunks(100) {
        let out = cw
            .describe_alarms()
            .set_alarm_names(Some(chunk.to_vec()))
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .send()
            .await
            .map_err(|e| Error::from_sdk("DescribeAlarms", e))?;
        let metric = out
            .metric_alarms()
            .iter()
            .map(|a| (a.alarm_name(), a.state_value(), a.state_reason()));
        let composite = out
            .composite_alarms()
            .iter()
            .map(|a| (a.alarm_name(), a.state_value(), a.state_reason()));
        for (name, state, reason) in metric.chain(composite) {
            let Some(name) = name else { continue };
            let entry = found.entry(name.to_owned()).or_insert(None);
            if entry.is_none() {
                *entry = state.map(|s| (s.clone(), reason.map(str::to_owned)));
            }
        }
    }
    Ok(found)
}

/// Every named alarm exists (metric or composite): a canary that watches a missing alarm could
/// never fail, so it is refused before anything is deployed.
pub async fn require_alarms(cw: &Client, names: &[String]) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let found = alarm_states(cw, names).await?;
    let missing: Vec<&String> = names.iter().filter(|n| !found.contains_key(*n)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "canary alarm(s) {missing:?} do not exist in CloudWatch: a missing alarm could never fail the canary"
        )))
    }
}

pub async fn alarm_checks(cw: &Client, names: &[String]) -> Result<Vec<CheckResult>> {
    if names.is_empty() {
        return Ok(vec![]);
    }
    let found = alarm_states(cw, names).await?;
    Ok(names
        .iter()
        .map(|name| match found.get(name).and_then(Option::as_ref) {
            Some((state, reason)) => judge_alarm(name, Some(state.as_str()), reason.as_deref()),
            None => judge_alarm(name, None, None),
        })
        .collect())
}
