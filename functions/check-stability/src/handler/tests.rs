use aws_sdk_ecs::Client;
use aws_smithy_mocks::{mock, Rule};
use berth::error::ErrorName;
use berth::model::{FailureReason, StabilityStatus};
use berth::testing::{aws_error, mock_client, ok_json, throttled};
use serde_json::json;

use super::*;

const IN_PROGRESS: &str = include_str!("../../fixtures/in-progress.json");
const COMPLETED: &str = include_str!("../../fixtures/completed.json");
const ROLLED_BACK: &str =
    include_str!("../../../../shared/fixtures/circuit-breaker-rolled-back.json");
const STOPPED_LIST: &str = include_str!("../../fixtures/list-tasks-stopped.json");
const STOPPED_UNHEALTHY: &str = include_str!("../../fixtures/describe-tasks-unhealthy.json");

const STARTED: i64 = 1_795_001_000;
const DEADLINE: i64 = STARTED + 1800;

fn input() -> serde_json::Value {
    json!({
        "cluster": "prod",
        "service": "web",
        "rollout": {
            "ecsDeploymentId": "ecs-svc/9223370300000000008",
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8",
            "startedAt": berth::time::format(DateTime::from_secs(STARTED)),
            "deadline": berth::time::format(DateTime::from_secs(DEADLINE)),
            "desiredCount": 2
        }
    })
}

fn service(body: &'static str) -> Rule {
    mock!(Client::describe_services).then_http_response(move || ok_json(body))
}

fn no_stopped_tasks() -> Rule {
    mock!(Client::list_tasks).then_http_response(|| ok_json(r#"{"taskArns": []}"#))
}

async fn run_ecs(
    ecs: &Client,
    payload: serde_json::Value,
    now: DateTime,
) -> berth::Result<Stability> {
    let cd = mock_client!(aws_sdk_codedeploy, &[]);
    let ssm = mock_client!(aws_sdk_ssm, &[]);
    let aws = Aws {
        ecs,
        codedeploy: &cd,
        ssm: &ssm,
        verdicts_prefix: "/berth/hook-verdicts",
    };
    run(&aws, payload, now).await
}

async fn poll(rules: &[&Rule], at: i64) -> berth::Result<Stability> {
    let ecs = mock_client!(aws_sdk_ecs, rules);
    run_ecs(&ecs, input(), DateTime::from_secs(at)).await
}

#[tokio::test]
async fn a_rollout_under_way_is_in_progress_with_its_counts_and_events() {
    let out = poll(&[&service(IN_PROGRESS), &no_stopped_tasks()], STARTED + 60)
        .await
        .unwrap();
    assert_eq!(out.status, StabilityStatus::InProgress);
    assert_eq!(
        (out.running_count, out.pending_count, out.desired_count),
        (1, 1, 2)
    );
    assert_eq!(out.rollout_state.as_deref(), Some("IN_PROGRESS"));
    // only events since the rollout started
    assert_eq!(out.events.len(), 1);
    assert!(out.events[0].starts_with("(service web) has started 2 tasks"));
}

#[tokio::test]
async fn a_finished_rollout_is_completed() {
    let out = poll(&[&service(COMPLETED), &no_stopped_tasks()], STARTED + 300)
        .await
        .unwrap();
    assert_eq!(out.status, StabilityStatus::Completed);
    assert_eq!(
        out.primary_task_definition_arn.as_deref(),
        Some("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8")
    );
    assert_eq!(out.events[0], "(service web) has reached a steady state.");
}

#[tokio::test]
async fn stable_on_the_old_revision_after_the_breaker_is_failed() {
    // GIVEN the service is steady — on web:7, after the circuit breaker rolled back our web:8
    let out = poll(&[&service(ROLLED_BACK), &no_stopped_tasks()], STARTED + 400)
        .await
        .unwrap();
    // THEN berth does not call that a success
    assert_eq!(out.status, StabilityStatus::Failed);
    assert_eq!(out.reason, Some(FailureReason::DeploymentFailed));
    assert_eq!(out.failed_tasks, 3);
    assert_eq!(
        out.rollout_state_reason.as_deref(),
        Some("ECS deployment circuit breaker: tasks failed to start.")
    );
    assert_eq!(
        out.primary_task_definition_arn.as_deref(),
        Some("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7")
    );
    assert!(
        out.events.iter().any(|e| e.contains("rolling back")),
        "{:?}",
        out.events
    );
}

#[tokio::test]
async fn tasks_failing_elb_health_checks_fail_the_rollout() {
    // GIVEN failedTasks is 0 (the breaker does not see them) but three tasks of web:8 were stopped by the ELB
    let list = mock!(Client::list_tasks)
        .match_requests(|r| r.desired_status().map(|s| s.as_str()) == Some("STOPPED"))
        .then_http_response(|| ok_json(STOPPED_LIST));
    let describe = mock!(Client::describe_tasks).then_http_response(|| ok_json(STOPPED_UNHEALTHY));
    let out = poll(&[&service(IN_PROGRESS), &list, &describe], STARTED + 200)
        .await
        .unwrap();
    assert_eq!(out.status, StabilityStatus::Failed);
    assert_eq!(out.reason, Some(FailureReason::HealthChecksFailing));
    assert_eq!(out.failed_tasks, 0);
    assert_eq!(out.unhealthy_tasks, 3);
}

#[tokio::test]
async fn past_the_deadline_is_failed_timeout() {
    let out = poll(&[&service(IN_PROGRESS), &no_stopped_tasks()], DEADLINE + 1)
        .await
        .unwrap();
    assert_eq!(out.status, StabilityStatus::Failed);
    assert_eq!(out.reason, Some(FailureReason::Timeout));
    assert!(out.detail.contains("1/2 running"), "{}", out.detail);
}

#[tokio::test]
async fn the_failure_reason_serialises_as_the_asl_reads_it() {
    let out = poll(&[&service(IN_PROGRESS), &no_stopped_tasks()], DEADLINE + 1)
        .await
        .unwrap();
    let v = serde_json::to_value(&out).unwrap();
    assert_eq!(v["status"], "FAILED");
    assert_eq!(v["reason"], "Timeout");
    assert_eq!(v["ecsDeploymentId"], "ecs-svc/9223370300000000008");
}

#[tokio::test]
async fn bad_timestamps_are_invalid_input_without_aws_calls() {
    let svc = service(IN_PROGRESS);
    let ecs = mock_client!(aws_sdk_ecs, &[&svc]);
    let mut req = input();
    req["rollout"]["deadline"] = json!("in ten minutes");
    let err = run_ecs(&ecs, req, DateTime::from_secs(STARTED))
        .await
        .unwrap_err();
    assert_eq!(err.name(), ErrorName::InvalidInput);
    let mut req = input();
    req.as_object_mut().unwrap().remove("rollout");
    assert_eq!(
        run_ecs(&ecs, req, DateTime::from_secs(STARTED))
            .await
            .unwrap_err()
            .name(),
        ErrorName::InvalidInput
    );
    assert_eq!(svc.num_calls(), 0);
}

#[tokio::test]
async fn a_deleted_service_is_service_not_found() {
    let gone = service(
        r#"{"services": [], "failures": [{"arn": "arn:aws:ecs:eu-west-1:123456789012:service/prod/web", "reason": "MISSING"}]}"#,
    );
    assert_eq!(
        poll(&[&gone], STARTED).await.unwrap_err().name(),
        ErrorName::ServiceNotFound
    );
    let no_cluster = mock!(Client::describe_services)
        .then_http_response(|| aws_error(400, "ClusterNotFoundException", "Cluster not found."));
    assert_eq!(
        poll(&[&no_cluster], STARTED).await.unwrap_err().name(),
        ErrorName::ClusterNotFound
    );
}

#[tokio::test]
async fn throttled_polls_retry_and_then_name_the_throttle() {
    let flaky = mock!(Client::describe_services)
        .sequence()
        .http_response(throttled)
        .http_response(|| ok_json(COMPLETED))
        .build();
    let out = poll(&[&flaky, &no_stopped_tasks()], STARTED + 300)
        .await
        .unwrap();
    assert_eq!(out.status, StabilityStatus::Completed);
    assert_eq!(flaky.num_calls(), 2);
    let always = mock!(Client::describe_services).then_http_response(throttled);
    assert_eq!(
        poll(&[&always], STARTED).await.unwrap_err().name(),
        ErrorName::Throttled
    );
}

// ---------------------------------------------------------------- ECS's service deployment

const SD_ARN: &str =
    "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/NCWGC2ZR-taawPAYrIaU5";
const SD_SUCCESSFUL: &str =
    include_str!("../../../../shared/fixtures/describe-service-deployments-successful.json");
const SD_ROLLED_BACK: &str =
    include_str!("../../../../shared/fixtures/describe-service-deployments-rolled-back.json");

/// The rollout as update-service records it where ECS names the service deployment it started.
fn sd_input() -> serde_json::Value {
    let mut v = input();
    v["rollout"]["serviceDeploymentArn"] = json!(SD_ARN);
    v
}

fn service_deployment(body: impl Into<String>) -> Rule {
    let body = body.into();
    mock!(Client::describe_service_deployments)
        .match_requests(|r| r.service_deployment_arns() == [SD_ARN.to_owned()])
        .then_http_response(move || ok_json(&body))
}

async fn sd_poll(rules: &[&Rule], at: i64) -> berth::Result<Stability> {
    let ecs = mock_client!(aws_sdk_ecs, rules);
    run_ecs(&ecs, sd_input(), DateTime::from_secs(at)).await
}

#[tokio::test]
async fn a_rollback_by_ecs_is_reported_from_the_service_deployment_with_the_restored_revision() {
    // GIVEN the circuit breaker tripped and ECS's service deployment says ROLLBACK_SUCCESSFUL
    let sd = service_deployment(SD_ROLLED_BACK);
    let out = sd_poll(
        &[&service(ROLLED_BACK), &no_stopped_tasks(), &sd],
        STARTED + 400,
    )
    .await
    .unwrap();
    // THEN the rollout FAILED because ECS rolled back, naming what it restored
    assert_eq!(out.status, StabilityStatus::Failed);
    assert_eq!(out.reason, Some(FailureReason::RolledBack));
    assert!(
        out.detail.starts_with(
            "ECS rolled back service deployment NCWGC2ZR-taawPAYrIaU5 (ROLLBACK_SUCCESSFUL): "
        ),
        "{}",
        out.detail
    );
    assert!(
        out.detail
            .ends_with("restored service revision 4980306466373577095 (web:7)"),
        "{}",
        out.detail
    );
    let state = out.service_deployment.as_ref().unwrap();
    assert_eq!(
        (state.arn.as_str(), state.status.as_str()),
        (SD_ARN, "ROLLBACK_SUCCESSFUL")
    );
    let v = serde_json::to_value(&out).unwrap();
    assert_eq!(v["serviceDeployment"]["status"], "ROLLBACK_SUCCESSFUL");
    assert_eq!(v["reason"], "RolledBack");
    // the evidence from DescribeServices is kept, and ECS was asked once
    assert_eq!(out.failed_tasks, 3);
    assert_eq!(sd.num_calls(), 1);
}

#[tokio::test]
async fn while_ecs_rolls_back_berth_waits_instead_of_racing_it() {
    // GIVEN the breaker tripped and ECS's rollback is under way
    let sd = service_deployment(SD_ROLLED_BACK.replace(
        "\"status\": \"ROLLBACK_SUCCESSFUL\"",
        "\"status\": \"ROLLBACK_IN_PROGRESS\"",
    ));
    let out = sd_poll(
        &[&service(ROLLED_BACK), &no_stopped_tasks(), &sd],
        STARTED + 200,
    )
    .await
    .unwrap();
    // THEN the rollout stays IN_PROGRESS (no Rollback state yet), saying what ECS does
    assert_eq!(out.status, StabilityStatus::InProgress, "{}", out.detail);
    assert!(
        out.detail.starts_with(
            "ECS is rolling back service deployment NCWGC2ZR-taawPAYrIaU5 (ROLLBACK_IN_PROGRESS)"
        ),
        "{}",
        out.detail
    );
    assert_eq!(
        out.service_deployment.unwrap().status,
        "ROLLBACK_IN_PROGRESS"
    );
    // and past the deadline it is a failure: ECS rolled it back
    let late = sd_poll(
        &[&service(ROLLED_BACK), &no_stopped_tasks(), &sd],
        DEADLINE + 1,
    )
    .await
    .unwrap();
    assert_eq!(late.reason, Some(FailureReason::RolledBack));
}

#[tokio::test]
async fn a_successful_service_deployment_completes_with_berths_checks() {
    let sd = service_deployment(SD_SUCCESSFUL);
    let out = sd_poll(
        &[&service(COMPLETED), &no_stopped_tasks(), &sd],
        STARTED + 300,
    )
    .await
    .unwrap();
    assert_eq!(out.status, StabilityStatus::Completed, "{}", out.detail);
    assert_eq!(out.service_deployment.unwrap().status, "SUCCESSFUL");
    // ECS's SUCCESSFUL with tasks of web:8 stopped by the ELB is still a failure
    let list = mock!(Client::list_tasks).then_http_response(|| ok_json(STOPPED_LIST));
    let describe = mock!(Client::describe_tasks).then_http_response(|| ok_json(STOPPED_UNHEALTHY));
    let out = sd_poll(
        &[&service(IN_PROGRESS), &list, &describe, &sd],
        STARTED + 200,
    )
    .await
    .unwrap();
    assert_eq!(out.reason, Some(FailureReason::HealthChecksFailing));
}

#[tokio::test]
async fn without_the_call_granted_berth_judges_from_describe_services_as_before() {
    let denied = mock!(Client::describe_service_deployments).then_http_response(|| {
        aws_error(
            400,
            "AccessDeniedException",
            "User is not authorized to perform: ecs:DescribeServiceDeployments",
        )
    });
    let out = sd_poll(
        &[&service(ROLLED_BACK), &no_stopped_tasks(), &denied],
        STARTED + 400,
    )
    .await
    .unwrap();
    assert_eq!(out.reason, Some(FailureReason::DeploymentFailed));
    assert_eq!(out.service_deployment, None);
    assert_eq!(denied.num_calls(), 1);
    let out = sd_poll(
        &[&service(COMPLETED), &no_stopped_tasks(), &denied],
        STARTED + 300,
    )
    .await
    .unwrap();
    assert_eq!(out.status, StabilityStatus::Completed);
}

#[tokio::test]
async fn a_throttled_describe_service_deployments_is_left_to_the_asl_retry() {
    let throttle = mock!(Client::describe_service_deployments).then_http_response(throttled);
    let err = sd_poll(
        &[&service(COMPLETED), &no_stopped_tasks(), &throttle],
        STARTED + 300,
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), ErrorName::Throttled);
}

#[tokio::test]
async fn a_rollout_without_a_service_deployment_never_asks_for_one() {
    let sd = service_deployment(SD_SUCCESSFUL);
    let out = poll(
        &[&service(COMPLETED), &no_stopped_tasks(), &sd],
        STARTED + 300,
    )
    .await
    .unwrap();
    assert_eq!(out.status, StabilityStatus::Completed);
    assert_eq!(out.service_deployment, None);
    assert_eq!(sd.num_calls(), 0);
}

// ---------------------------------------------------------------- berth abort (berth:control)

const ME: &str = "berth-cli-web-1795996927581-2309";

/// WatchRollout's input: it names the execution (WatchRollback's does not).
fn rollout_input() -> serde_json::Value {
    let mut v = input();
    v["execution"] = json!({
        "id": format!("arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:{ME}"),
        "name": ME, "startTime": "2026-11-18T08:16:40Z"
    });
    v
}

fn tagged(body: &str, control: &str) -> Rule {
    let body = berth::testing::with_control(body, control);
    mock!(Client::describe_services)
        .match_requests(|r| r.include().iter().any(|f| f.as_str() == "TAGS"))
        .then_http_response(move || ok_json(&body))
}

async fn poll_with(rules: &[&Rule], payload: serde_json::Value) -> Stability {
    let ecs = mock_client!(aws_sdk_ecs, rules);
    run_ecs(&ecs, payload, DateTime::from_secs(STARTED + 60))
        .await
        .unwrap()
}

#[tokio::test]
async fn an_abort_for_this_execution_fails_the_rollout_so_the_asl_rolls_it_back() {
    // GIVEN a rollout under way and `berth abort` tagged the service for this execution
    let svc = tagged(IN_PROGRESS, &format!("abort:{ME}"));
    let out = poll_with(&[&svc, &no_stopped_tasks()], rollout_input()).await;
    // THEN the rollout is FAILED, reason Aborted, and the detail says it was by hand
    assert_eq!(out.status, StabilityStatus::Failed);
    assert_eq!(out.reason, Some(FailureReason::Aborted));
    assert_eq!(
        out.detail,
        "aborted by hand (berth abort) during the rollout of web:8 (it was in progress)"
    );
    assert_eq!(
        (out.running_count, out.pending_count),
        (1, 1),
        "the evidence is kept"
    );
    assert_eq!(serde_json::to_value(&out).unwrap()["reason"], "Aborted");
    // A completed rollout is aborted too: the bake or Deployed has not been reached yet.
    let done = tagged(COMPLETED, &format!("abort:{ME}"));
    let out = poll_with(&[&done, &no_stopped_tasks()], rollout_input()).await;
    assert_eq!(out.reason, Some(FailureReason::Aborted));
}

#[tokio::test]
async fn a_control_for_another_execution_a_promote_or_a_malformed_one_changes_nothing() {
    for control in [
        "abort:web-0123456789abcdef0123456789abcdef01234567".to_owned(),
        format!("promote:{ME}"),
        format!("abort {ME}"),
        "abort:".to_owned(),
    ] {
        let svc = tagged(IN_PROGRESS, &control);
        let out = poll_with(&[&svc, &no_stopped_tasks()], rollout_input()).await;
        assert_eq!(out.status, StabilityStatus::InProgress, "{control}");
        assert_eq!(out.reason, None, "{control}");
    }
}

#[tokio::test]
async fn a_rollback_is_never_stopped_by_an_abort() {
    // GIVEN WatchRollback's input (no execution) on a service tagged for this very execution
    let svc = tagged(IN_PROGRESS, &format!("abort:{ME}"));
    let out = poll_with(&[&svc, &no_stopped_tasks()], input()).await;
    assert_eq!(out.status, StabilityStatus::InProgress);
}

#[tokio::test]
async fn a_rollout_that_failed_on_its_own_keeps_its_reason_when_aborted() {
    let svc = tagged(ROLLED_BACK, &format!("abort:{ME}"));
    let out = poll_with(&[&svc, &no_stopped_tasks()], rollout_input()).await;
    assert_eq!(out.reason, Some(FailureReason::DeploymentFailed));
}

// ---------------------------------------------------------------- CODE_DEPLOY rollouts

const CD_ID: &str = "d-7G5XQ9K2B";

fn cd_input(rollback: bool) -> serde_json::Value {
    let mut v = input();
    v["rollout"]["ecsDeploymentId"] = json!(CD_ID);
    v["rollout"]["codeDeploy"] = json!({
        "application": "AppECS-prod-web", "deploymentGroup": "DgpECS-prod-web",
        "deploymentId": CD_ID, "rollback": rollback
    });
    v
}

fn deployment(id: &str, status: &str, extra: serde_json::Value) -> String {
    let mut info = json!({
        "applicationName": "AppECS-prod-web", "deploymentGroupName": "DgpECS-prod-web",
        "deploymentConfigName": "CodeDeployDefault.ECSCanary10Percent5Minutes",
        "deploymentId": id, "status": status, "createTime": 1795002000.123, "computePlatform": "ECS",
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
    });
    for (k, v) in extra.as_object().unwrap() {
        info[k] = v.clone();
    }
    json!({ "deploymentInfo": info }).to_string()
}

fn target(events: &[(&str, &str)], green_weight: f64) -> String {
    json!({"deploymentTarget": {"deploymentTargetType": "ECSTarget", "ecsTarget": {
        "deploymentId": CD_ID, "targetId": "prod:web", "status": "InProgress",
        "lifecycleEvents": events.iter().map(|(n, s)| json!({"lifecycleEventName": n, "status": s})).collect::<Vec<_>>(),
        "taskSetsInfo": [
            {"identifer": "ecs-svc/1", "desiredCount": 2, "pendingCount": 0, "runningCount": 2, "status": "PRIMARY",
             "trafficWeight": 100.0 - green_weight, "targetGroup": {"name": "web-blue"}, "taskSetLabel": "Blue"},
            {"identifer": "ecs-svc/2", "desiredCount": 2, "pendingCount": 1, "runningCount": 1, "status": "ACTIVE",
             "trafficWeight": green_weight, "targetGroup": {"name": "web-green"}, "taskSetLabel": "Green"}
        ]}}}).to_string()
}

async fn cd_poll(
    cd_rules: &[&Rule],
    ssm_rules: &[&Rule],
    payload: serde_json::Value,
    at: i64,
) -> berth::Result<Stability> {
    let ecs = mock_client!(aws_sdk_ecs, &[]);
    let cd = mock_client!(aws_sdk_codedeploy, cd_rules);
    let ssm = mock_client!(aws_sdk_ssm, ssm_rules);
    let aws = Aws {
        ecs: &ecs,
        codedeploy: &cd,
        ssm: &ssm,
        verdicts_prefix: "/berth/hook-verdicts",
    };
    run(&aws, payload, DateTime::from_secs(at)).await
}

fn targets() -> Rule {
    mock!(aws_sdk_codedeploy::Client::list_deployment_targets)
        .then_http_response(|| ok_json(r#"{"targetIds": ["prod:web"]}"#))
}

#[tokio::test]
async fn a_codedeploy_shift_under_way_reports_the_green_weight() {
    let get = mock!(aws_sdk_codedeploy::Client::get_deployment)
        .then_http_response(|| ok_json(&deployment(CD_ID, "InProgress", json!({}))));
    let t = mock!(aws_sdk_codedeploy::Client::get_deployment_target).then_http_response(|| {
        ok_json(&target(
            &[
                ("AfterAllowTestTraffic", "Succeeded"),
                ("AllowTraffic", "InProgress"),
            ],
            10.0,
        ))
    });
    let out = cd_poll(&[&get, &targets(), &t], &[], cd_input(false), STARTED + 60)
        .await
        .unwrap();
    assert_eq!(out.status, StabilityStatus::InProgress);
    assert_eq!(out.green_traffic_weight, Some(10.0));
    assert_eq!(
        (out.desired_count, out.running_count, out.pending_count),
        (2, 1, 1)
    );
    assert_eq!(out.rollout_state.as_deref(), Some("InProgress"));
    assert_eq!(out.ecs_deployment_id, CD_ID);
    let late = cd_poll(&[&get, &targets(), &t], &[], cd_input(false), DEADLINE + 1)
        .await
        .unwrap();
    assert_eq!(late.reason, Some(FailureReason::Timeout));
}

#[tokio::test]
async fn a_failed_hook_names_the_check_from_the_recorded_verdict() {
    let get = mock!(aws_sdk_codedeploy::Client::get_deployment)
        .match_requests(|r| r.deployment_id() == Some(CD_ID))
        .then_http_response(|| ok_json(&deployment(CD_ID, "Failed", json!({
            "errorInformation": {"code": "HOOK_EXECUTION_FAILURE", "message": "The deployment failed because a lifecycle event hook failed"},
            "rollbackInfo": {"rollbackDeploymentId": "d-RB0000001", "rollbackMessage": "Automatic rollback"}
        }))));
    let rb = mock!(aws_sdk_codedeploy::Client::get_deployment)
        .match_requests(|r| r.deployment_id() == Some("d-RB0000001"))
        .then_http_response(|| ok_json(&deployment("d-RB0000001", "Succeeded", json!({}))));
    let t = mock!(aws_sdk_codedeploy::Client::get_deployment_target).then_http_response(|| {
        ok_json(&target(
            &[
                ("BeforeInstall", "Succeeded"),
                ("AfterAllowTestTraffic", "Failed"),
                ("AllowTraffic", "Skipped"),
            ],
            0.0,
        ))
    });
    let verdict = mock!(aws_sdk_ssm::Client::get_parameter)
        .match_requests(|r| r.name() == Some("/berth/hook-verdicts/prod/web"))
        .then_http_response(|| ok_json(&json!({"Parameter": {"Name": "/berth/hook-verdicts/prod/web", "Type": "String", "Version": 4,
            "Value": json!({"deploymentId": CD_ID, "hook": "AfterAllowTestTraffic", "status": "Failed",
                "detail": "AfterAllowTestTraffic: probe health: HTTP 503 from http://test-listener/health, expected 200"}).to_string()}}).to_string()));
    let out = cd_poll(
        &[&get, &rb, &targets(), &t],
        &[&verdict],
        cd_input(false),
        STARTED + 60,
    )
    .await
    .unwrap();
    assert_eq!(
        (out.status, out.reason),
        (StabilityStatus::Failed, Some(FailureReason::HookFailed))
    );
    assert!(out.detail.starts_with("CodeDeploy deployment d-7G5XQ9K2B Failed at AfterAllowTestTraffic: AfterAllowTestTraffic: probe health: HTTP 503"), "{}", out.detail);
    assert!(
        out.detail
            .contains("rolled back to blue (deployment d-RB0000001)"),
        "{}",
        out.detail
    );
    assert_eq!(verdict.num_calls(), 1);
}

#[tokio::test]
async fn the_rollback_of_a_codedeploy_rollout_completes_with_codedeploys_rollback() {
    let get = mock!(aws_sdk_codedeploy::Client::get_deployment)
        .match_requests(|r| r.deployment_id() == Some(CD_ID))
        .then_http_response(|| {
            ok_json(&deployment(
                CD_ID,
                "Stopped",
                json!({
                    "rollbackInfo": {"rollbackDeploymentId": "d-RB0000001"}
                }),
            ))
        });
    let rb = mock!(aws_sdk_codedeploy::Client::get_deployment)
        .match_requests(|r| r.deployment_id() == Some("d-RB0000001"))
        .sequence()
        .http_response(|| ok_json(&deployment("d-RB0000001", "InProgress", json!({}))))
        .http_response(|| ok_json(&deployment("d-RB0000001", "Succeeded", json!({}))))
        .build();
    let t = mock!(aws_sdk_codedeploy::Client::get_deployment_target)
        .then_http_response(|| ok_json(&target(&[], 0.0)));
    let rules: [&Rule; 4] = [&get, &rb, &targets(), &t];
    let first = cd_poll(&rules, &[], cd_input(true), STARTED + 60)
        .await
        .unwrap();
    assert_eq!(first.status, StabilityStatus::InProgress);
    let second = cd_poll(&rules, &[], cd_input(true), STARTED + 70)
        .await
        .unwrap();
    assert_eq!(
        second.status,
        StabilityStatus::Completed,
        "{}",
        second.detail
    );
}

#[tokio::test]
async fn an_abort_stops_a_codedeploy_shift_but_not_its_rollback() {
    let get = mock!(aws_sdk_codedeploy::Client::get_deployment)
        .then_http_response(|| ok_json(&deployment(CD_ID, "InProgress", json!({}))));
    let t = mock!(aws_sdk_codedeploy::Client::get_deployment_target)
        .then_http_response(|| ok_json(&target(&[("AllowTraffic", "InProgress")], 10.0)));
    let svc = tagged(COMPLETED, &format!("abort:{ME}"));
    let ecs = mock_client!(aws_sdk_ecs, [&svc]);
    let cd = mock_client!(aws_sdk_codedeploy, [&get, &targets(), &t]);
    let ssm = mock_client!(aws_sdk_ssm, &[]);
    let aws = Aws {
        ecs: &ecs,
        codedeploy: &cd,
        ssm: &ssm,
        verdicts_prefix: "/berth/hook-verdicts",
    };
    let mut payload = cd_input(false);
    payload["execution"] = rollout_input()["execution"].clone();
    let out = run(&aws, payload, DateTime::from_secs(STARTED + 60))
        .await
        .unwrap();
    assert_eq!(out.reason, Some(FailureReason::Aborted), "{}", out.detail);
    assert_eq!(svc.num_calls(), 1);
    // Without the execution (as WatchRollback calls it), the service is not read.
    let out = cd_poll(&[&get, &targets(), &t], &[], cd_input(false), STARTED + 60)
        .await
        .unwrap();
    assert_eq!(out.status, StabilityStatus::InProgress);
    assert_eq!(svc.num_calls(), 1);
}

/// A watch state's check: the waiting state is answered only with a result to decide on, and a
/// token someone else already answered is no error.
async fn watch_with(rules: &[&Rule], sfn_rules: &[&Rule], at: i64) -> berth::Result<Stability> {
    let ecs = mock_client!(aws_sdk_ecs, rules);
    let cd = mock_client!(aws_sdk_codedeploy, &[]);
    let ssm = mock_client!(aws_sdk_ssm, &[]);
    let sfn = mock_client!(aws_sdk_sfn, sfn_rules);
    let aws = Aws {
        ecs: &ecs,
        codedeploy: &cd,
        ssm: &ssm,
        verdicts_prefix: "/berth/hook-verdicts",
    };
    let mut payload = input();
    payload["taskToken"] = json!("token-1");
    payload["rollout"]["watch"] = json!({"seconds": 300, "judgeShift": false});
    watch(&aws, &sfn, payload, DateTime::from_secs(at)).await
}

#[tokio::test]
async fn a_watch_answers_its_state_when_the_rollout_ends_and_only_then() {
    use aws_sdk_sfn::operation::send_task_success::SendTaskSuccessOutput;
    // GIVEN a rollout still under way: the state keeps waiting, nothing is sent
    let send = mock!(aws_sdk_sfn::Client::send_task_success)
        .then_output(|| SendTaskSuccessOutput::builder().build());
    let out = watch_with(
        &[&service(IN_PROGRESS), &no_stopped_tasks()],
        &[&send],
        STARTED + 60,
    )
    .await
    .unwrap();
    assert_eq!(out.status, StabilityStatus::InProgress);
    assert_eq!(send.num_calls(), 0);
    // WHEN it has completed THEN the state is answered with the result
    let send = mock!(aws_sdk_sfn::Client::send_task_success)
        .match_requests(|r| {
            r.task_token() == Some("token-1")
                && r.output()
                    .is_some_and(|o| o.contains("\"status\":\"COMPLETED\""))
        })
        .then_output(|| SendTaskSuccessOutput::builder().build());
    let out = watch_with(
        &[&service(COMPLETED), &no_stopped_tasks()],
        &[&send],
        STARTED + 300,
    )
    .await
    .unwrap();
    assert_eq!(out.status, StabilityStatus::Completed);
    assert_eq!(send.num_calls(), 1);
    // AND a token already answered (wake-rollout was first) is not an error
    let late = mock!(aws_sdk_sfn::Client::send_task_success)
        .then_http_response(|| aws_error(400, "TaskTimedOut", "Task Timed Out"));
    let out = watch_with(
        &[&service(COMPLETED), &no_stopped_tasks()],
        &[&late],
        STARTED + 300,
    )
    .await;
    assert_eq!(out.unwrap().status, StabilityStatus::Completed);
    // AND any other refusal is the state's error, retried by the ASL
    let denied = mock!(aws_sdk_sfn::Client::send_task_success)
        .then_http_response(|| aws_error(400, "AccessDeniedException", "no"));
    let e = watch_with(
        &[&service(COMPLETED), &no_stopped_tasks()],
        &[&denied],
        STARTED + 300,
    )
    .await
    .unwrap_err();
    assert_eq!(e.name(), ErrorName::AccessDenied.as_str());
}
