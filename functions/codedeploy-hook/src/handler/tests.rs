use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_codedeploy::operation::put_lifecycle_event_hook_execution_status::PutLifecycleEventHookExecutionStatusInput;
use aws_sdk_codedeploy::Client as CodeDeploy;
use aws_sdk_ssm::Client as Ssm;
use aws_smithy_mocks::{mock, MockResponse, Rule};
use berth::error::ErrorName;
use berth::testing::{aws_error, mock_client, ok_json, throttled, ScriptedChecker};
use serde_json::json;

use super::*;

const DEPLOYMENT: &str = include_str!("../../fixtures/get-deployment.json");
const GROUP: &str = include_str!("../../fixtures/get-deployment-group.json");
const TARGETS: &str = include_str!("../../fixtures/list-deployment-targets.json");
const AT_TEST_TRAFFIC: &str =
    include_str!("../../fixtures/get-deployment-target-after-allow-test-traffic.json");
const NO_HOOK: &str = include_str!("../../fixtures/get-deployment-target-no-hook-in-progress.json");
const NOW_MS: u64 = 1_795_002_020_000;
const DEADLINE_MS: u64 = NOW_MS + 60_000;

fn event() -> serde_json::Value {
    json!({"DeploymentId": "d-7G5XQ9K2B", "LifecycleEventHookExecutionId": "eyJlbmNyeXB0ZWREYXRhIjoiY3R4In0="})
}

fn config(extra: serde_json::Value) -> String {
    let mut c = json!({"hooks": {"AfterAllowTestTraffic": {"probes": [{"name": "health", "url": "http://test.internal:8080/health"}]}}});
    if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    c.to_string()
}

fn parameter(value: Option<String>) -> Rule {
    mock!(Ssm::get_parameter).then_http_response(move || match &value {
        Some(v) => ok_json(
            &json!({"Parameter": {"Name": "/berth/checks/prod/web", "Type": "String", "Value": v, "Version": 3,
                "LastModifiedDate": 1795000000.5, "ARN": "arn:aws:ssm:us-east-1:123456789012:parameter/berth/checks/prod/web",
                "DataType": "text"}})
            .to_string(),
        ),
        None => aws_error(400, "ParameterNotFound", ""),
    })
}

/// SSM accepting the verdict record.
fn verdict_sink() -> Rule {
    mock!(Ssm::put_parameter)
        .then_http_response(|| ok_json(r#"{"Version": 1, "Tier": "Standard"}"#))
}

type Reported = Arc<Mutex<Vec<PutLifecycleEventHookExecutionStatusInput>>>;

struct World {
    rules: Vec<Rule>,
    reported: Reported,
}

/// CodeDeploy answering as during AfterAllowTestTraffic, recording every status put.
fn world(target: &'static str) -> World {
    let reported: Reported = Arc::default();
    let r = reported.clone();
    World {
        rules: vec![
            mock!(CodeDeploy::get_deployment).then_http_response(|| ok_json(DEPLOYMENT)),
            mock!(CodeDeploy::get_deployment_group).then_http_response(|| ok_json(GROUP)),
            mock!(CodeDeploy::list_deployment_targets).then_http_response(|| ok_json(TARGETS)),
            mock!(CodeDeploy::get_deployment_target).then_http_response(move || ok_json(target)),
            mock!(CodeDeploy::put_lifecycle_event_hook_execution_status).then_compute_response(
                move |req| {
                    r.lock().unwrap().push(req.clone());
                    MockResponse::Http(ok_json(
                        r#"{"lifecycleEventHookExecutionId": "eyJlbmNyeXB0ZWREYXRhIjoiY3R4In0="}"#,
                    ))
                },
            ),
        ],
        reported,
    }
}

fn settings() -> Settings {
    Settings {
        checks_prefix: "/berth/checks".into(),
        margin: Duration::from_secs(5),
        verdicts_prefix: "/berth/hook-verdicts".into(),
    }
}

async fn call(
    w: &World,
    ssm_rule: Rule,
    checker: ScriptedChecker,
    deadline_ms: u64,
) -> Result<HookReport> {
    let rules: Vec<&Rule> = w.rules.iter().collect();
    run_with(
        &rules,
        &[&ssm_rule, &verdict_sink()],
        checker,
        event(),
        deadline_ms,
    )
    .await
}

/// One invocation against CodeDeploy and SSM answered by these rules.
async fn run_with(
    cd_rules: &[&Rule],
    ssm_rules: &[&Rule],
    checker: ScriptedChecker,
    payload: serde_json::Value,
    deadline_ms: u64,
) -> Result<HookReport> {
    let cd = mock_client!(aws_sdk_codedeploy, cd_rules);
    let ssm = mock_client!(aws_sdk_ssm, ssm_rules);
    let settings = settings();
    let hook = Hook {
        codedeploy: &cd,
        ssm: &ssm,
        checker: &checker,
        settings: &settings,
    };
    run(&hook, payload, deadline_ms, NOW_MS).await
}

fn reported(w: &World) -> Vec<(String, String, String)> {
    w.reported
        .lock()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.deployment_id().unwrap_or_default().to_owned(),
                r.lifecycle_event_hook_execution_id()
                    .unwrap_or_default()
                    .to_owned(),
                r.status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

const IDS: (&str, &str) = ("d-7G5XQ9K2B", "eyJlbmNyeXB0ZWREYXRhIjoiY3R4In0=");

fn one_report(w: &World, status: &str) {
    assert_eq!(
        reported(w),
        vec![(IDS.0.to_owned(), IDS.1.to_owned(), status.to_owned())]
    );
}

#[tokio::test]
async fn a_passing_probe_reports_succeeded_for_the_hook_in_progress() {
    let w = world(AT_TEST_TRAFFIC);
    let report = call(
        &w,
        parameter(Some(config(json!({})))),
        ScriptedChecker::passing(),
        DEADLINE_MS,
    )
    .await
    .unwrap();
    one_report(&w, "Succeeded");
    assert_eq!(report.hook.as_deref(), Some("AfterAllowTestTraffic"));
    assert_eq!(
        (report.cluster.as_deref(), report.service.as_deref()),
        (Some("prod"), Some("web"))
    );
    assert_eq!(report.verdict.checks.len(), 1);
}

#[tokio::test]
async fn a_failing_probe_reports_failed_and_names_the_probe() {
    let w = world(AT_TEST_TRAFFIC);
    let report = call(
        &w,
        parameter(Some(config(json!({})))),
        ScriptedChecker::new(Verdict::Fail, Verdict::Pass),
        DEADLINE_MS,
    )
    .await
    .unwrap();
    one_report(&w, "Failed");
    assert_eq!(report.status, "Failed");
    assert!(
        report
            .verdict
            .detail
            .starts_with("AfterAllowTestTraffic: probe health Fail (request 1"),
        "{}",
        report.verdict.detail
    );
}

#[tokio::test]
async fn a_check_that_panics_still_reports_failed() {
    let w = world(AT_TEST_TRAFFIC);
    let report = call(
        &w,
        parameter(Some(config(json!({})))),
        ScriptedChecker::panicking(),
        DEADLINE_MS,
    )
    .await
    .unwrap();
    one_report(&w, "Failed");
    assert_eq!(
        report.verdict.detail,
        "AfterAllowTestTraffic: a check panicked (probe health blew up)"
    );
}

#[tokio::test]
async fn a_check_that_hangs_reports_failed_before_the_lambda_deadline() {
    let w = world(AT_TEST_TRAFFIC);
    // The Lambda has 6.5 s left and keeps a 5 s margin: the checks get 1.5 s.
    let started = Instant::now();
    let report = call(
        &w,
        parameter(Some(config(json!({})))),
        ScriptedChecker::hanging(),
        NOW_MS + 6_500,
    )
    .await
    .unwrap();
    let took = started.elapsed();
    one_report(&w, "Failed");
    assert_eq!(
        report.verdict.detail,
        "AfterAllowTestTraffic: checks still running at the 1.5 s deadline"
    );
    assert!(
        took < Duration::from_millis(4_000),
        "reported after {took:?}"
    );
}

#[tokio::test]
async fn the_configured_deadline_is_used_when_it_is_shorter() {
    let w = world(AT_TEST_TRAFFIC);
    let report = call(
        &w,
        parameter(Some(config(json!({"deadlineSeconds": 1})))),
        ScriptedChecker::hanging(),
        DEADLINE_MS,
    )
    .await
    .unwrap();
    one_report(&w, "Failed");
    assert!(
        report.verdict.detail.ends_with("at the 1.0 s deadline"),
        "{}",
        report.verdict.detail
    );
}

#[tokio::test]
async fn no_parameter_means_no_checks_and_succeeds() {
    let w = world(AT_TEST_TRAFFIC);
    let report = call(
        &w,
        parameter(None),
        ScriptedChecker::new(Verdict::Fail, Verdict::Pass),
        DEADLINE_MS,
    )
    .await
    .unwrap();
    one_report(&w, "Succeeded");
    assert_eq!(
        report.verdict.detail,
        "AfterAllowTestTraffic: no checks configured (no SSM parameter /berth/checks/prod/web)"
    );
}

#[tokio::test]
async fn a_hook_without_checks_in_the_configuration_succeeds() {
    let w = world(AT_TEST_TRAFFIC);
    let only_install =
        json!({"hooks": {"AfterInstall": {"probes": [{"name": "h", "url": "http://x/"}]}}})
            .to_string();
    let report = call(
        &w,
        parameter(Some(only_install)),
        ScriptedChecker::new(Verdict::Fail, Verdict::Pass),
        DEADLINE_MS,
    )
    .await
    .unwrap();
    one_report(&w, "Succeeded");
    assert!(
        report
            .verdict
            .detail
            .contains("no checks configured for this hook"),
        "{}",
        report.verdict.detail
    );
}

#[tokio::test]
async fn a_broken_configuration_fails_the_hook_and_names_the_parameter() {
    let w = world(AT_TEST_TRAFFIC);
    let typo = json!({"hooks": {"AfterAllowTestTrafic": {}}}).to_string();
    let report = call(
        &w,
        parameter(Some(typo)),
        ScriptedChecker::passing(),
        DEADLINE_MS,
    )
    .await
    .unwrap();
    one_report(&w, "Failed");
    assert!(
        report.verdict.detail.contains(
            "hook configuration /berth/checks/prod/web: unknown hook \"AfterAllowTestTrafic\""
        ),
        "{}",
        report.verdict.detail
    );
    let w = world(AT_TEST_TRAFFIC);
    let report = call(
        &w,
        parameter(Some("{not json".into())),
        ScriptedChecker::passing(),
        DEADLINE_MS,
    )
    .await
    .unwrap();
    one_report(&w, "Failed");
    assert!(
        report.verdict.detail.contains("not JSON"),
        "{}",
        report.verdict.detail
    );
}

#[tokio::test]
async fn a_failed_lookup_still_reports_failed() {
    let reported: Reported = Arc::default();
    let r = reported.clone();
    let gone = mock!(CodeDeploy::get_deployment).then_http_response(|| {
        aws_error(
            400,
            "DeploymentDoesNotExistException",
            "The deployment d-7G5XQ9K2B could not be found",
        )
    });
    let put = mock!(CodeDeploy::put_lifecycle_event_hook_execution_status).then_compute_response(
        move |req| {
            r.lock().unwrap().push(req.clone());
            MockResponse::Http(ok_json(r#"{"lifecycleEventHookExecutionId": "x"}"#))
        },
    );
    let w = World {
        rules: vec![gone, put],
        reported,
    };
    let report = call(&w, parameter(None), ScriptedChecker::passing(), DEADLINE_MS)
        .await
        .unwrap();
    one_report(&w, "Failed");
    assert!(report.verdict.detail.contains("could not run the checks: AwsError: GetDeployment d-7G5XQ9K2B: DeploymentDoesNotExistException"), "{}", report.verdict.detail);
}

#[tokio::test]
async fn no_hook_in_progress_fails_rather_than_guessing() {
    let w = world(NO_HOOK);
    let report = call(
        &w,
        parameter(Some(config(json!({})))),
        ScriptedChecker::passing(),
        DEADLINE_MS,
    )
    .await
    .unwrap();
    one_report(&w, "Failed");
    assert!(
        report.verdict.detail.contains("no hook lifecycle event"),
        "{}",
        report.verdict.detail
    );
}

#[tokio::test]
async fn inconclusive_fails_unless_the_canary_promotes_it() {
    let canary = |promote: bool| {
        json!({"hooks": {"AfterAllowTestTraffic": {"canary": {"alarms": ["web-5xx"], "onInconclusive": if promote {"promote"} else {"rollback"}}}}}).to_string()
    };
    let w = world(AT_TEST_TRAFFIC);
    call(
        &w,
        parameter(Some(canary(false))),
        ScriptedChecker::new(Verdict::Pass, Verdict::Inconclusive),
        DEADLINE_MS,
    )
    .await
    .unwrap();
    one_report(&w, "Failed");
    let w = world(AT_TEST_TRAFFIC);
    let report = call(
        &w,
        parameter(Some(canary(true))),
        ScriptedChecker::new(Verdict::Pass, Verdict::Inconclusive),
        DEADLINE_MS,
    )
    .await
    .unwrap();
    one_report(&w, "Succeeded");
    assert!(
        report.verdict.detail.contains("INCONCLUSIVE promoted"),
        "{}",
        report.verdict.detail
    );
}

#[tokio::test]
async fn an_event_without_ids_is_invalid_input_and_reports_nothing() {
    let w = world(AT_TEST_TRAFFIC);
    let rules: Vec<&Rule> = w.rules.iter().collect();
    let ssm_rule = parameter(None);
    for bad in [
        json!({"DeploymentId": "d-1"}),
        json!({"DeploymentId": "", "LifecycleEventHookExecutionId": "x"}),
        json!("hello"),
    ] {
        let e = run_with(
            &rules,
            &[&ssm_rule],
            ScriptedChecker::passing(),
            bad.clone(),
            DEADLINE_MS,
        )
        .await
        .unwrap_err();
        assert_eq!(e.name(), ErrorName::InvalidInput, "{bad}");
    }
    assert!(reported(&w).is_empty());
}

/// One invocation (passing checks, no SSM parameter) where `put` answers CodeDeploy's status put.
async fn with_status_put(put: &Rule) -> Result<HookReport> {
    let mut w = world(AT_TEST_TRAFFIC);
    w.rules.pop();
    let rules: Vec<&Rule> = w.rules.iter().chain(std::iter::once(put)).collect();
    let ssm_rule = parameter(None);
    run_with(
        &rules,
        &[&ssm_rule, &verdict_sink()],
        ScriptedChecker::passing(),
        event(),
        DEADLINE_MS,
    )
    .await
}

#[tokio::test]
async fn a_throttled_report_is_retried_then_named_throttled() {
    let put =
        mock!(CodeDeploy::put_lifecycle_event_hook_execution_status).then_http_response(throttled);
    let e = with_status_put(&put).await.unwrap_err();
    assert_eq!(e.name(), ErrorName::Throttled);
    assert_eq!(put.num_calls(), berth::aws::MAX_ATTEMPTS as usize);
}

#[tokio::test]
async fn an_already_completed_event_is_not_an_error() {
    let put =
        mock!(CodeDeploy::put_lifecycle_event_hook_execution_status).then_http_response(|| {
            aws_error(
                400,
                "LifecycleEventAlreadyCompletedException",
                "already completed",
            )
        });
    let report = with_status_put(&put).await.unwrap();
    assert_eq!(report.status, "Succeeded");
    assert_eq!(put.num_calls(), 1);
}

#[test]
fn settings_come_from_the_environment_with_defaults() {
    let s = Settings::from_lookup(|_| None).unwrap();
    assert_eq!(
        (s.checks_prefix.as_str(), s.margin),
        ("/berth/checks", Duration::from_secs(5))
    );
    let s = Settings::from_lookup(|k| match k {
        "BERTH_CHECKS_PREFIX" => Some("/teams/pay/checks/".into()),
        "BERTH_HOOK_MARGIN_SECONDS" => Some("8".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(
        (s.checks_prefix.as_str(), s.margin),
        ("/teams/pay/checks", Duration::from_secs(8))
    );
    for (k, v) in [
        ("BERTH_CHECKS_PREFIX", "berth/checks"),
        ("BERTH_HOOK_MARGIN_SECONDS", "soon"),
    ] {
        let e = Settings::from_lookup(|key| (key == k).then(|| v.to_owned()))
            .err()
            .unwrap();
        assert_eq!(e.name(), ErrorName::InvalidInput, "{k}");
    }
}

#[tokio::test]
async fn the_verdict_is_recorded_for_the_state_machine_before_the_status_goes_out() {
    let order: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut w = world(AT_TEST_TRAFFIC);
    w.rules.pop();
    let o = order.clone();
    let put_status = mock!(CodeDeploy::put_lifecycle_event_hook_execution_status)
        .then_compute_response(move |req| {
            o.lock()
                .unwrap()
                .push(format!("status {}", req.status().unwrap().as_str()));
            MockResponse::Http(ok_json(r#"{"lifecycleEventHookExecutionId": "x"}"#))
        });
    let o = order.clone();
    let put_parameter = mock!(Ssm::put_parameter).then_compute_response(move |req| {
        o.lock()
            .unwrap()
            .push(format!("{} {}", req.name().unwrap(), req.value().unwrap()));
        assert_eq!(req.overwrite(), Some(true));
        MockResponse::Http(ok_json(r#"{"Version": 2, "Tier": "Standard"}"#))
    });
    let rules: Vec<&Rule> = w.rules.iter().chain(std::iter::once(&put_status)).collect();
    let get = parameter(Some(config(json!({}))));
    run_with(
        &rules,
        &[&get, &put_parameter],
        ScriptedChecker::new(Verdict::Fail, Verdict::Pass),
        event(),
        DEADLINE_MS,
    )
    .await
    .unwrap();
    let order = order.lock().unwrap().clone();
    assert_eq!(order.len(), 2, "{order:?}");
    let (name, value) = order[0].split_once(' ').unwrap();
    assert_eq!(name, "/berth/hook-verdicts/prod/web");
    let record: berth::codedeploy::VerdictRecord = serde_json::from_str(value).unwrap();
    assert_eq!(
        (
            record.deployment_id.as_str(),
            record.hook.as_str(),
            record.status.as_str()
        ),
        (IDS.0, "AfterAllowTestTraffic", "Failed")
    );
    assert!(record.detail.contains("probe health"), "{}", record.detail);
    assert_eq!(order[1], "status Failed");
}
