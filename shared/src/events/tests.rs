use std::sync::{Arc, Mutex};

use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_sdk_eventbridge::Client;
use aws_smithy_mocks::mock;
use serde_json::{json, Value};

use super::*;
use crate::testing::{aws_error, mock_client};

const EXECUTION: &str = "arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:web-abc";
const WEB7: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7";
const WEB8: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8";

/// The document each iteration of the Map starts from (a DeploymentItem as Plan writes it).
fn item() -> Value {
    json!({"deploymentId": "web-abc-prod-web", "cluster": "prod", "service": "web",
           "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:aa", "repository": "web",
           "forceNewDeployment": false, "timeoutSeconds": 1800, "pollIntervalSeconds": 15,
           "rollbackTimeoutSeconds": 900,
           "execution": {"id": EXECUTION, "name": "web-abc", "startTime": "2026-01-01T00:00:00Z"},
           "turnDeadline": "2026-01-01T01:00:00Z"})
}

fn rollout(td: &str) -> Value {
    json!({"ecsDeploymentId": "ecs-svc/2", "taskDefinitionArn": td, "startedAt": "2026-01-01T00:00:00Z",
           "deadline": "2026-01-01T00:30:00Z", "desiredCount": 2})
}

fn register() -> Value {
    json!({"taskDefinitionArn": WEB8, "previousTaskDefinitionArn": WEB7, "container": "app",
           "image": "repo@sha256:aa", "previousImages": [], "reused": false})
}

fn failed_stability() -> Value {
    json!({"status": "FAILED", "reason": "DeploymentFailed",
           "detail": "the circuit breaker stopped 3 failed task(s)", "ecsDeploymentId": "ecs-svc/2",
           "taskDefinitionArn": WEB8, "primaryTaskDefinitionArn": WEB7, "rolloutState": "FAILED",
           "rolloutStateReason": null, "desiredCount": 2, "runningCount": 0, "pendingCount": 0,
           "failedTasks": 3, "unhealthyTasks": 0, "events": [], "checkedAt": "2026-01-01T00:05:00Z"})
}

fn rollback_result() -> RollbackResult {
    serde_json::from_value(
        json!({"taskDefinitionArn": WEB7, "previousTaskDefinitionArn": WEB7,
        "pinnedImages": [], "alreadyRolledBack": false, "rollout": rollout(WEB7),
        "detail": "rolling web back to web:7"}),
    )
    .unwrap()
}

fn with(mut doc: Value, key: &str, value: Value) -> Value {
    doc[key] = value;
    doc
}

#[test]
fn started_names_the_service_image_deployment_and_execution() {
    // GIVEN the item acquire-turn reads WHEN its STARTED event is built
    let e = DeploymentEvent::from_document(Phase::Started, &item()).unwrap();
    // THEN the detail is camelCase, the phase SCREAMING_SNAKE_CASE, the optional fields left out
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        json!({"phase": "STARTED", "cluster": "prod", "service": "web",
               "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:aa",
               "deploymentId": "web-abc-prod-web", "execution": EXECUTION})
    );
}

#[test]
fn deploying_carries_the_revision_ecs_accepted() {
    let doc = with(item(), "register", register());
    let rollout: Rollout = serde_json::from_value(rollout(WEB8)).unwrap();
    let e = deploying(&doc, &rollout).unwrap();
    assert_eq!(e.phase, Phase::Deploying);
    assert_eq!(e.revision.as_deref(), Some(WEB8));
    assert_eq!((e.outcome, e.cause), (None, None));
}

#[test]
fn rolling_back_says_why_and_where_to() {
    // GIVEN the rollout failed: the circuit breaker tripped
    let doc = with(
        with(item(), "register", register()),
        "stability",
        failed_stability(),
    );
    // WHEN rollback puts the service back on web:7
    let e = rolling_back(&doc, &rollback_result()).unwrap();
    // THEN the event says so, with the reason the states recorded
    assert_eq!(e.phase, Phase::RollingBack);
    assert_eq!(e.revision.as_deref(), Some(WEB7));
    assert_eq!(
        e.cause.as_deref(),
        Some("rollout FAILED (DeploymentFailed): the circuit breaker stopped 3 failed task(s)")
    );
}

#[test]
fn rolling_back_after_a_caught_error_names_the_error() {
    let doc = with(
        with(item(), "register", register()),
        "error",
        json!({"Error": "AwsUnavailable", "Cause": "{\"errorType\":\"AwsUnavailable\",\"errorMessage\":\"DescribeServices: HTTP 503\"}"}),
    );
    let e = rolling_back(&doc, &rollback_result()).unwrap();
    assert_eq!(
        e.cause.as_deref(),
        Some("AwsUnavailable DescribeServices: HTTP 503")
    );
}

fn outcome(o: Outcome, detail: &Value) -> ServiceOutcome {
    ServiceOutcome {
        cluster: "prod".into(),
        service: "web".into(),
        outcome: o,
        detail: serde_json::from_value(detail.clone()).unwrap(),
    }
}

#[test]
fn finished_deployed_names_the_new_revision_and_no_cause() {
    let detail = with(item(), "register", register());
    let e = finished(&detail, &outcome(Outcome::Deployed, &detail), None).unwrap();
    assert_eq!(e.phase, Phase::Finished);
    assert_eq!(e.outcome, Some(Outcome::Deployed));
    assert_eq!(e.revision.as_deref(), Some(WEB8));
    assert_eq!(e.cause, None);
    assert_eq!(serde_json::to_value(&e).unwrap()["outcome"], "DEPLOYED");
}

#[test]
fn finished_rolled_back_names_what_runs_and_why() {
    let detail = with(
        with(
            with(item(), "register", register()),
            "stability",
            failed_stability(),
        ),
        "rollback",
        serde_json::to_value(rollback_result()).unwrap(),
    );
    let cause = "prod/web: rollout FAILED (DeploymentFailed): …; rolled back, now running web:7";
    let e = finished(
        &detail,
        &outcome(Outcome::RolledBack, &detail),
        Some(cause.into()),
    )
    .unwrap();
    assert_eq!(e.outcome, Some(Outcome::RolledBack));
    assert_eq!(e.revision.as_deref(), Some(WEB7));
    assert_eq!(e.cause.as_deref(), Some(cause));
    assert_eq!(serde_json::to_value(&e).unwrap()["outcome"], "ROLLED_BACK");
}

#[test]
fn finished_not_started_has_no_revision() {
    let detail = with(
        item(),
        "error",
        json!({"Error": "ContainerNotFound", "Cause": "no container app"}),
    );
    let e = finished(
        &detail,
        &outcome(Outcome::NotStarted, &detail),
        Some("prod/web: not started".into()),
    )
    .unwrap();
    assert_eq!(e.revision, None);
    assert_eq!(e.outcome, Some(Outcome::NotStarted));
}

#[test]
fn a_document_that_names_no_deployment_gives_no_event() {
    let doc = json!({"cluster": "prod", "service": "web"});
    assert_eq!(DeploymentEvent::from_document(Phase::Deploying, &doc), None);
}

#[test]
fn a_long_cause_is_cut() {
    let long = "é".repeat(CAUSE_CHARS + 10);
    let e = DeploymentEvent::from_document(Phase::Finished, &item())
        .unwrap()
        .with_cause(Some(long));
    let cause = e.cause.unwrap();
    assert_eq!(cause.chars().count(), CAUSE_CHARS + 1);
    assert!(cause.ends_with('…'));
    // and a blank one is none
    let e = DeploymentEvent::from_document(Phase::Finished, &item())
        .unwrap()
        .with_cause(Some("  ".into()));
    assert_eq!(e.cause, None);
}

#[test]
fn approval_reads_what_the_state_machine_puts() {
    let e: DeploymentEvent = serde_json::from_value(json!({"phase": "AWAITING_APPROVAL",
        "cluster": "prod", "service": "web", "image": "web@sha256:aa", "deploymentId": "d",
        "execution": EXECUTION,
        "approval": {"taskToken": "tok", "timeoutSeconds": 3600, "answer": "berth approve web-abc"}}))
    .unwrap();
    assert_eq!(e.phase, Phase::AwaitingApproval);
    assert_eq!(e.approval.unwrap().timeout_seconds, 3600);
}

#[test]
fn the_bus_defaults_to_the_accounts_default_bus() {
    let client = mock_client!(aws_sdk_eventbridge, &[]);
    assert_eq!(Publisher::new(client.clone(), None).bus, "default");
    assert_eq!(Publisher::new(client.clone(), Some(" ")).bus, "default");
    assert_eq!(Publisher::new(client, Some("deploys")).bus, "deploys");
}

fn events(n: usize) -> Vec<DeploymentEvent> {
    (0..n)
        .map(|i| {
            let mut e = DeploymentEvent::from_document(Phase::Finished, &item()).unwrap();
            e.service = format!("web{i}");
            e
        })
        .collect()
}

#[tokio::test]
async fn publish_puts_each_event_on_the_bus_in_order_ten_a_call() {
    // GIVEN EventBridge accepts every entry, and we keep what it was sent
    let sent: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = sent.clone();
    let put = mock!(Client::put_events)
        .match_requests(move |r| {
            for e in r.entries() {
                assert_eq!(e.source(), Some(SOURCE));
                assert_eq!(e.detail_type(), Some(DETAIL_TYPE));
                assert_eq!(e.event_bus_name(), Some("deploys"));
                assert_eq!(e.resources(), [EXECUTION.to_string()]);
                seen.lock()
                    .unwrap()
                    .push(serde_json::from_str(e.detail().unwrap()).unwrap());
            }
            true
        })
        .then_output(|| PutEventsOutput::builder().failed_entry_count(0).build());
    let client = mock_client!(aws_sdk_eventbridge, &[&put]);
    // WHEN twelve events are published
    publish(&client, "deploys", &events(12)).await.unwrap();
    // THEN two calls carried them all, in order
    assert_eq!(put.num_calls(), 2);
    let services: Vec<String> = sent
        .lock()
        .unwrap()
        .iter()
        .map(|d| d["service"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        services,
        (0..12).map(|i| format!("web{i}")).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_refused_entry_is_an_error_that_announce_only_logs() {
    let put = mock!(Client::put_events).then_output(|| {
        PutEventsOutput::builder()
            .failed_entry_count(1)
            .entries(
                PutEventsResultEntry::builder()
                    .error_code("InternalFailure")
                    .error_message("try again")
                    .build(),
            )
            .build()
    });
    let publisher = Publisher::new(mock_client!(aws_sdk_eventbridge, &[&put]), None);
    let e = publish(&publisher.client, "default", &events(1))
        .await
        .unwrap_err();
    assert!(
        e.message()
            .contains("1 of 1 entries refused (InternalFailure: try again)"),
        "{e}"
    );
    let said = announce(&publisher, &events(1)).await.unwrap();
    assert!(said.contains("InternalFailure"), "{said}");
}

#[tokio::test]
async fn an_unreachable_event_bus_does_not_stop_the_caller() {
    // GIVEN EventBridge denies every call
    let put = mock!(Client::put_events)
        .then_http_response(|| aws_error(400, "AccessDeniedException", "not allowed"));
    let publisher = Publisher::new(mock_client!(aws_sdk_eventbridge, &[&put]), Some("b"));
    // WHEN a Lambda announces its event THEN it hears why, and nothing panics or errors
    let said = announce(&publisher, &events(1)).await.unwrap();
    assert!(said.contains("AccessDenied"), "{said}");
    // and nothing at all is sent for no events
    assert_eq!(announce(&publisher, &[]).await, None);
}
