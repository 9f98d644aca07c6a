use aws_sdk_ecs::Client;
use aws_smithy_mocks::{mock, Rule};
use berth::error::names;
use berth::model::{FailureReason, StabilityStatus};
use berth::testing::{aws_error, mock_ecs, ok_json, throttled};
use serde_json::json;

use super::*;

const IN_PROGRESS: &str = include_str!("../../fixtures/in-progress.json");
const COMPLETED: &str = include_str!("../../fixtures/completed.json");
const ROLLED_BACK: &str = include_str!("../../fixtures/circuit-breaker-rolled-back.json");
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

async fn poll(rules: &[&Rule], at: i64) -> berth::Result<Stability> {
    let ecs = mock_ecs(rules);
    run(&ecs, input(), DateTime::from_secs(at)).await
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
    let ecs = mock_ecs(&[&svc]);
    let mut req = input();
    req["rollout"]["deadline"] = json!("in ten minutes");
    let err = run(&ecs, req, DateTime::from_secs(STARTED))
        .await
        .unwrap_err();
    assert_eq!(err.name(), names::INVALID_INPUT);
    let mut req = input();
    req.as_object_mut().unwrap().remove("rollout");
    assert_eq!(
        run(&ecs, req, DateTime::from_secs(STARTED))
            .await
            .unwrap_err()
            .name(),
        names::INVALID_INPUT
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
        names::SERVICE_NOT_FOUND
    );
    let no_cluster = mock!(Client::describe_services)
        .then_http_response(|| aws_error(400, "ClusterNotFoundException", "Cluster not found."));
    assert_eq!(
        poll(&[&no_cluster], STARTED).await.unwrap_err().name(),
        names::CLUSTER_NOT_FOUND
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
        names::THROTTLED
    );
}
