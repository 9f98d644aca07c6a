use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::operation::get_metric_data::{GetMetricDataInput, GetMetricDataOutput};
use aws_sdk_cloudwatch::types::{MetricAlarm, MetricDataResult, StatusCode};
use aws_sdk_cloudwatch::Client;
use aws_smithy_mocks::{mock, Rule};
use berth::error::ErrorName;
use berth::model::{CanaryDecision, Verdict};
use berth::testing::mock_client;
use serde_json::json;

use super::*;

const NOW: i64 = 1_795_002_000;
const TG: &str = "targetgroup/web/0123456789abcdef";
const LB: &str = "app/prod-public/50dc6c495c0c9188";

/// The canary section a service would carry: 5xx rate as metric math, p99 latency, an alarm.
fn config() -> serde_json::Value {
    json!({
        "bakeSeconds": 600,
        "windowSeconds": 300,
        "metrics": [
            {
                "name": "5xx rate",
                "expression": "100 * errors / requests",
                "metrics": {
                    "errors": {"namespace": "AWS/ApplicationELB", "metricName": "HTTPCode_Target_5XX_Count", "dimensions": {"TargetGroup": TG, "LoadBalancer": LB}, "stat": "Sum"},
                    "requests": {"namespace": "AWS/ApplicationELB", "metricName": "RequestCount", "dimensions": {"TargetGroup": TG, "LoadBalancer": LB}, "stat": "Sum"}
                },
                "threshold": 1.0
            },
            {
                "name": "p99 latency",
                "metric": {"namespace": "AWS/ApplicationELB", "metricName": "TargetResponseTime", "dimensions": {"TargetGroup": TG, "LoadBalancer": LB}, "stat": "p99"},
                "threshold": 0.5
            }
        ],
        "alarms": ["web-5xx-high"]
    })
}

fn input(previous: Option<serde_json::Value>) -> serde_json::Value {
    let mut v = json!({"cluster": "prod", "service": "web", "canary": config()});
    if let Some(p) = previous {
        v["canaryResult"] = p;
    }
    v
}

/// GetMetricData answering with `values` for the result query of the check that asks for it.
fn metric_rule(is_this_check: fn(&GetMetricDataInput) -> bool, values: Vec<f64>) -> Rule {
    mock!(Client::get_metric_data)
        .match_requests(is_this_check)
        .then_output(move || {
            GetMetricDataOutput::builder()
                .metric_data_results(
                    MetricDataResult::builder()
                        .id("berth")
                        .label("berth")
                        .set_timestamps(Some(
                            (0..values.len())
                                .map(|i| DateTime::from_secs(NOW - 60 * i as i64))
                                .collect(),
                        ))
                        .set_values(Some(values.clone()))
                        .status_code(StatusCode::Complete)
                        .build(),
                )
                .build()
        })
}

fn is_rate(r: &GetMetricDataInput) -> bool {
    r.metric_data_queries()
        .iter()
        .any(|q| q.expression() == Some("100 * errors / requests"))
}

fn is_latency(r: &GetMetricDataInput) -> bool {
    r.metric_data_queries()
        .iter()
        .any(|q| q.metric_stat().and_then(|s| s.stat()) == Some("p99"))
}

fn alarm(state: &'static str) -> Rule {
    mock!(Client::describe_alarms).then_output(move || {
        DescribeAlarmsOutput::builder()
            .metric_alarms(
                MetricAlarm::builder()
                    .alarm_name("web-5xx-high")
                    .state_value(state.into())
                    .state_reason("Threshold Crossed: 1 datapoint [12.0 (23/11/26 03:00:00)] was greater than the threshold (5.0).")
                    .build(),
            )
            .build()
    })
}

async fn evaluate_with(
    rules: &[&Rule],
    previous: Option<serde_json::Value>,
    at: i64,
) -> berth::Result<CanaryResult> {
    run(
        &mock_client!(aws_sdk_cloudwatch, rules),
        &mock_client!(aws_sdk_ecs, &[]),
        input(previous),
        DateTime::from_secs(at),
    )
    .await
}

#[tokio::test]
async fn healthy_metrics_keep_baking_then_promote() {
    let rate = metric_rule(is_rate, vec![0.0, 0.2, 0.1, 0.0, 0.3]);
    let latency = metric_rule(is_latency, vec![0.08, 0.11, 0.09]);
    let ok = alarm("OK");
    // first evaluation: the bake starts now and is not over
    let first = evaluate_with(&[&rate, &latency, &ok], None, NOW)
        .await
        .unwrap();
    assert_eq!(first.verdict, Verdict::Pass);
    assert_eq!(first.decision, CanaryDecision::Continue);
    assert_eq!(first.evaluations, 1);
    assert_eq!(
        first.bake_ends_at,
        berth::time::format(DateTime::from_secs(NOW + 600))
    );
    // ten minutes later, carried over by the ASL: the bake is over and the canary is promoted
    let carried = serde_json::to_value(&first).unwrap();
    let last = evaluate_with(&[&rate, &latency, &ok], Some(carried), NOW + 600)
        .await
        .unwrap();
    assert_eq!(last.decision, CanaryDecision::Promote);
    assert_eq!(last.evaluations, 2);
    assert_eq!(last.bake_started_at, first.bake_started_at);
}

#[tokio::test]
async fn a_5xx_spike_rolls_back_at_once_with_the_numbers() {
    let rate = metric_rule(is_rate, vec![31.5, 28.0, 0.4]);
    let latency = metric_rule(is_latency, vec![0.08, 0.11, 0.09]);
    let ok = alarm("OK");
    let out = evaluate_with(&[&rate, &latency, &ok], None, NOW)
        .await
        .unwrap();
    assert_eq!(out.verdict, Verdict::Fail);
    assert_eq!(out.decision, CanaryDecision::Rollback);
    let check = out.checks.iter().find(|c| c.name == "5xx rate").unwrap();
    assert_eq!(check.values, vec![31.5, 28.0, 0.4]);
    assert!(out.detail.contains("worst 31.5"), "{}", out.detail);
}

#[tokio::test]
async fn slow_p99_fails() {
    let rate = metric_rule(is_rate, vec![0.0, 0.0, 0.0]);
    let latency = metric_rule(is_latency, vec![1.4, 1.6, 1.5]);
    let ok = alarm("OK");
    let out = evaluate_with(&[&rate, &latency, &ok], None, NOW)
        .await
        .unwrap();
    assert_eq!(
        out.checks
            .iter()
            .find(|c| c.name == "p99 latency")
            .unwrap()
            .verdict,
        Verdict::Fail
    );
    assert_eq!(out.decision, CanaryDecision::Rollback);
}

#[tokio::test]
async fn an_alarm_in_alarm_fails_the_canary() {
    let rate = metric_rule(is_rate, vec![0.0, 0.0, 0.0]);
    let latency = metric_rule(is_latency, vec![0.1, 0.1, 0.1]);
    let alarming = alarm("ALARM");
    let out = evaluate_with(&[&rate, &latency, &alarming], None, NOW)
        .await
        .unwrap();
    assert_eq!(out.verdict, Verdict::Fail);
    assert!(out.detail.contains("Threshold Crossed"), "{}", out.detail);
}

#[tokio::test]
async fn no_traffic_is_inconclusive_and_rolls_back_when_the_bake_ends() {
    // GIVEN no requests at all: CloudWatch returns no data points
    let rate = metric_rule(is_rate, vec![]);
    let latency = metric_rule(is_latency, vec![]);
    let ok = alarm("OK");
    let first = evaluate_with(&[&rate, &latency, &ok], None, NOW)
        .await
        .unwrap();
    assert_eq!(first.verdict, Verdict::Inconclusive);
    assert_eq!(first.decision, CanaryDecision::Continue);
    let last = evaluate_with(
        &[&rate, &latency, &ok],
        Some(serde_json::to_value(&first).unwrap()),
        NOW + 601,
    )
    .await
    .unwrap();
    assert_eq!(
        last.verdict,
        Verdict::Inconclusive,
        "empty metrics are never a pass"
    );
    assert_eq!(last.decision, CanaryDecision::Rollback);
}

#[tokio::test]
async fn a_missing_alarm_is_inconclusive_not_pass() {
    let rate = metric_rule(is_rate, vec![0.0, 0.0, 0.0]);
    let latency = metric_rule(is_latency, vec![0.1, 0.1, 0.1]);
    let none =
        mock!(Client::describe_alarms).then_output(|| DescribeAlarmsOutput::builder().build());
    let out = evaluate_with(&[&rate, &latency, &none], None, NOW)
        .await
        .unwrap();
    assert_eq!(out.verdict, Verdict::Inconclusive);
}

#[tokio::test]
async fn the_queries_sent_are_what_cloudwatch_expects() {
    let rate = mock!(Client::get_metric_data)
        .match_requests(is_rate)
        .then_output(|| GetMetricDataOutput::builder().build());
    let latency = metric_rule(is_latency, vec![0.1, 0.1, 0.1]);
    let ok = alarm("OK");
    evaluate_with(&[&rate, &latency, &ok], None, NOW)
        .await
        .unwrap();
    // Asserted inside the matcher: a rule that matched proves the shape.
    let shape = mock!(Client::get_metric_data)
        .match_requests(|r| {
            let qs = r.metric_data_queries();
            let ids: Vec<_> = qs
                .iter()
                .map(|q| (q.id().unwrap(), q.return_data()))
                .collect();
            ids == vec![
                ("errors", Some(false)),
                ("requests", Some(false)),
                ("berth", Some(true)),
            ] && r.end_time().map(|t| t.secs()) == Some(NOW)
                && r.start_time().map(|t| t.secs()) == Some(NOW - 300)
                && qs[0]
                    .metric_stat()
                    .and_then(|s| s.metric())
                    .map(|m| m.dimensions().len())
                    == Some(2)
        })
        .then_output(|| GetMetricDataOutput::builder().build());
    evaluate_with(&[&shape, &latency, &ok], None, NOW)
        .await
        .unwrap();
    assert_eq!(shape.num_calls(), 1);
}

#[tokio::test]
async fn a_config_that_cannot_be_evaluated_is_invalid_input_without_calls() {
    let bad_configs = [
        json!({"metrics": [], "alarms": []}),
        json!({"metrics": [{"name": "x", "threshold": 1}]}),
        json!({"metrics": [{"name": "x", "expression": "a/b", "threshold": 1}]}),
        json!({"metrics": [{"name": "x", "expression": "A/b", "metrics": {"A": {"namespace": "n", "metricName": "m"}}, "threshold": 1}]}),
        json!({"metrics": [{"name": "x", "metric": {"namespace": "n", "metricName": "m"}, "threshold": "high"}]}),
        json!({"metrics": [{"name": "x", "metric": {"namespace": "n", "metricName": "m"}, "threshold": 1, "period": 0}]}),
    ];
    for canary in bad_configs {
        let any =
            mock!(Client::get_metric_data).then_output(|| GetMetricDataOutput::builder().build());
        let cw = mock_client!(aws_sdk_cloudwatch, &[&any]);
        let err = run(
            &cw,
            &mock_client!(aws_sdk_ecs, &[]),
            json!({"canary": canary.clone()}),
            DateTime::from_secs(NOW),
        )
        .await
        .unwrap_err();
        assert_eq!(err.name(), ErrorName::InvalidInput, "{canary}");
        assert_eq!(any.num_calls(), 0);
    }
}

#[tokio::test]
async fn cloudwatch_5xx_is_retried_then_named_unavailable() {
    let flaky = mock!(Client::get_metric_data)
        .sequence()
        .http_status(503, None)
        .times(2)
        .output(|| GetMetricDataOutput::builder().build())
        .repeatedly()
        .build();
    let ok = alarm("OK");
    let out = evaluate_with(&[&flaky, &ok], None, NOW).await.unwrap();
    assert_eq!(out.verdict, Verdict::Inconclusive);
    assert_eq!(
        flaky.num_calls(),
        4,
        "two 503s retried, then one call per check"
    );

    let down = mock!(Client::get_metric_data)
        .sequence()
        .http_status(503, None)
        .repeatedly()
        .build();
    let err = evaluate_with(&[&down, &ok], None, NOW).await.unwrap_err();
    assert_eq!(err.name(), ErrorName::AwsUnavailable);
    assert_eq!(down.num_calls(), berth::aws::MAX_ATTEMPTS as usize);
}

// ---------------------------------------------------------------- berth abort / berth promote

const ME: &str = "berth-cli-web-1795996927581-2309";
const SERVICE: &str = include_str!("../../../../shared/fixtures/describe-services.json");

/// The per-service document as the Map passes it: cluster, service, execution, canary.
fn document(previous: Option<serde_json::Value>) -> serde_json::Value {
    let mut v = input(previous);
    v["execution"] = json!({
        "id": format!("arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:{ME}"),
        "name": ME, "startTime": "2026-11-18T08:16:40Z"
    });
    v
}

fn tagged(control: &str) -> Rule {
    let body = berth::testing::with_control(SERVICE, control);
    mock!(aws_sdk_ecs::Client::describe_services)
        .match_requests(|r| {
            r.cluster() == Some("prod")
                && r.services() == ["web"]
                && r.include().iter().any(|f| f.as_str() == "TAGS")
        })
        .then_http_response(move || berth::testing::ok_json(&body))
}

async fn evaluate_controlled(
    control: &str,
    previous: Option<serde_json::Value>,
    at: i64,
) -> (CanaryResult, usize) {
    let rate = metric_rule(is_rate, vec![0.0, 0.2, 0.1]);
    let latency = metric_rule(is_latency, vec![0.08, 0.11, 0.09]);
    let ok = alarm("OK");
    let svc = tagged(control);
    let out = run(
        &mock_client!(aws_sdk_cloudwatch, [&rate, &latency, &ok]),
        &mock_client!(aws_sdk_ecs, [&svc]),
        document(previous),
        DateTime::from_secs(at),
    )
    .await
    .unwrap();
    (out, rate.num_calls() + latency.num_calls() + ok.num_calls())
}

#[tokio::test]
async fn promote_by_hand_ends_the_bake_early_and_says_so() {
    // GIVEN a bake of 600 s, one evaluation in (PASS), and `berth promote` for this execution
    let (first, _) = evaluate_controlled("promote:someone-else", None, NOW).await;
    assert_eq!(first.decision, CanaryDecision::Continue);
    assert!(!first.promoted_by_hand);
    let carried = serde_json::to_value(&first).unwrap();
    let (out, cloudwatch_calls) =
        evaluate_controlled(&format!("promote:{ME}"), Some(carried), NOW + 60).await;
    // THEN PROMOTE now, recorded as by hand, without reading CloudWatch
    assert_eq!(out.decision, CanaryDecision::Promote);
    assert!(out.promoted_by_hand && !out.aborted_by_hand);
    assert_eq!(cloudwatch_calls, 0);
    assert_eq!(out.verdict, Verdict::Pass);
    assert_eq!(
        out.detail,
        "promoted by hand (berth promote) 60s into the 600s bake, after 1 evaluation(s), the last PASS"
    );
    let v = serde_json::to_value(&out).unwrap();
    assert_eq!(v["promotedByHand"], true);
    assert!(v.get("abortedByHand").is_none());
}

#[tokio::test]
async fn abort_by_hand_rolls_the_bake_back() {
    let (out, cloudwatch_calls) = evaluate_controlled(&format!("abort:{ME}"), None, NOW).await;
    assert_eq!(out.decision, CanaryDecision::Rollback);
    assert!(out.aborted_by_hand && !out.promoted_by_hand);
    assert_eq!(cloudwatch_calls, 0);
    assert_eq!(out.verdict, Verdict::Inconclusive);
    assert!(
        out.detail.starts_with(
            "aborted by hand (berth abort) 0s into the 600s bake, before its first evaluation"
        ),
        "{}",
        out.detail
    );
}

#[tokio::test]
async fn a_stale_or_malformed_control_leaves_the_bake_to_its_checks() {
    for control in [
        "abort:web-0123",
        "promote",
        "promote:",
        "halt:berth-cli-web-1795996927581-2309",
    ] {
        let (out, cloudwatch_calls) = evaluate_controlled(control, None, NOW).await;
        assert_eq!(out.decision, CanaryDecision::Continue, "{control}");
        assert!(!out.promoted_by_hand && !out.aborted_by_hand, "{control}");
        assert!(cloudwatch_calls > 0, "{control}");
    }
}

// ---- the statistical analysis: the baseline's samples and the evidence ----

const GREEN: &str = "targetgroup/web-green/0123456789abcdef";
const BLUE: &str = "targetgroup/web-blue/0123456789abcdef";

fn analysis_input(baseline: serde_json::Value) -> serde_json::Value {
    json!({"cluster": "prod", "service": "web",
           "update": {"ecsDeploymentId": "ecs-svc/1", "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8",
                      "startedAt": berth::time::format(DateTime::from_secs(NOW - 600)),
                      "deadline": berth::time::format(DateTime::from_secs(NOW + 1200)), "desiredCount": 2},
           "canary": {"bakeSeconds": 600, "windowSeconds": 300, "analysis": {"baseline": baseline},
                      "metrics": [{"name": "p99 latency", "compare": {"direction": "increase", "critical": true},
                                   "metric": {"namespace": "AWS/ApplicationELB", "metricName": "TargetResponseTime", "stat": "p99",
                                              "dimensions": {"TargetGroup": GREEN, "LoadBalancer": LB}}}]}})
}

fn target_group_of(r: &GetMetricDataInput) -> Option<String> {
    r.metric_data_queries().iter().find_map(|q| {
        q.metric_stat()?
            .metric()?
            .dimensions()
            .iter()
            .find_map(|d| {
                (d.name() == Some("TargetGroup")).then(|| d.value().unwrap_or_default().to_owned())
            })
    })
}

#[tokio::test]
async fn the_old_revisions_target_group_is_the_baseline_and_the_evidence_is_kept() {
    // GIVEN green (the canary) 40 % slower than blue over the same window
    let green = metric_rule(
        |r| target_group_of(r).as_deref() == Some(GREEN),
        vec![0.35, 0.36, 0.34, 0.35, 0.37],
    );
    let blue = metric_rule(
        |r| target_group_of(r).as_deref() == Some(BLUE),
        vec![0.25, 0.26, 0.24, 0.25, 0.27],
    );
    let out = run(
        &mock_client!(aws_sdk_cloudwatch, [&green, &blue]),
        &mock_client!(aws_sdk_ecs, &[]),
        analysis_input(json!({"source": "dimensions", "dimensions": {"TargetGroup": BLUE}})),
        DateTime::from_secs(NOW),
    )
    .await
    .unwrap();
    // THEN each target group was read once, and the critical metric rolls back at once
    assert_eq!((green.num_calls(), blue.num_calls()), (1, 1));
    assert_eq!(
        (out.verdict, out.decision),
        (Verdict::Fail, CanaryDecision::Rollback)
    );
    let a = out.checks[0].analysis.as_ref().unwrap();
    assert_eq!(
        (a.canary_n, a.baseline_n, a.canary_median, a.baseline_median),
        (5, 5, Some(0.35), Some(0.25))
    );
    assert_eq!(a.u, Some(25.0));
    let score = out.analysis.as_ref().unwrap();
    assert_eq!(score.reason, "critical metric(s) failed: p99 latency HIGH");
    assert!(out.detail.starts_with("analysis FAIL: critical metric(s) failed: p99 latency HIGH; p99 latency HIGH [critical]: canary median 0.35 vs baseline 0.25 (n 5/5), shift +0.1 (+40.0%"), "{}", out.detail);
    // and the evidence survives the ASL's round trip
    let carried: CanaryResult =
        serde_json::from_value(serde_json::to_value(&out).unwrap()).unwrap();
    assert_eq!(carried, out);
}

#[tokio::test]
async fn a_rolling_deploy_is_compared_with_the_window_before_it_started() {
    // GIVEN the same query before the deploy (ends at startedAt) and after it (starts there)
    let deployed = NOW - 600;
    let before = mock!(Client::get_metric_data)
        .match_requests(move |r| {
            r.end_time().map(|t| t.secs()) == Some(deployed)
                && r.start_time().map(|t| t.secs()) == Some(deployed - 300)
        })
        .then_output(|| {
            GetMetricDataOutput::builder()
                .metric_data_results(
                    MetricDataResult::builder()
                        .id("berth")
                        .set_values(Some(vec![0.25, 0.26, 0.24, 0.25, 0.27]))
                        .build(),
                )
                .build()
        });
    let after = mock!(Client::get_metric_data)
        .match_requests(move |r| {
            r.start_time().map(|t| t.secs()) == Some(NOW - 300)
                && r.end_time().map(|t| t.secs()) == Some(NOW)
        })
        .then_output(|| {
            GetMetricDataOutput::builder()
                .metric_data_results(
                    MetricDataResult::builder()
                        .id("berth")
                        .set_values(Some(vec![0.25, 0.24, 0.26, 0.25, 0.25]))
                        .build(),
                )
                .build()
        });
    let out = run(
        &mock_client!(aws_sdk_cloudwatch, [&before, &after]),
        &mock_client!(aws_sdk_ecs, &[]),
        analysis_input(json!({"source": "beforeDeploy"})),
        DateTime::from_secs(NOW),
    )
    .await
    .unwrap();
    assert_eq!((before.num_calls(), after.num_calls()), (1, 1));
    assert_eq!(
        (out.verdict, out.decision),
        (Verdict::Pass, CanaryDecision::Continue),
        "{}",
        out.detail
    );
    assert_eq!(out.analysis.unwrap().score, Some(100.0));
}

#[tokio::test]
async fn a_before_deploy_baseline_without_the_rollouts_start_is_invalid_input() {
    let mut input = analysis_input(json!({"source": "beforeDeploy"}));
    input.as_object_mut().unwrap().remove("update");
    let err = run(
        &mock_client!(aws_sdk_cloudwatch, &[]),
        &mock_client!(aws_sdk_ecs, &[]),
        input,
        DateTime::from_secs(NOW),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), ErrorName::InvalidInput);
    assert!(
        err.message().contains("needs the rollout's start"),
        "{}",
        err.message()
    );
}
