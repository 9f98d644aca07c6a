//! Reading CloudWatch for a canary: each check's metric (or metric math) and each alarm, judged.
//! Shared by evaluate-canary (the state machine's bake) and the lifecycle-hook Lambdas.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{
    AlarmType, Dimension, Metric, MetricDataQuery, MetricStat, ScanBy, StateValue,
};
use aws_sdk_cloudwatch::Client;

use crate::canary::{judge_alarm, judge_metric, RESULT_ID};
use crate::error::{Error, Result};
use crate::model::{CanaryConfig, CheckResult, MetricCheck, MetricSpec};
use crate::time::DateTime;

/// Every metric check and alarm of `config`, judged over the window ending at `now`.
pub async fn read_checks(
    cw: &Client,
    config: &CanaryConfig,
    now: DateTime,
) -> Result<Vec<CheckResult>> {
    let window_start = DateTime::from_secs(now.secs() - config.window_seconds as i64);
    let mut checks = Vec::with_capacity(config.metrics.len() + config.alarms.len());
    for check in &config.metrics {
        let values = metric_values(cw, check, window_start, now).await?;
        checks.push(judge_metric(check, &values));
    }
    checks.extend(alarm_checks(cw, &config.alarms).await?);
    Ok(checks)
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
