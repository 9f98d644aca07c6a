use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::operation::list_executions::ListExecutionsOutput;
use aws_sdk_sfn::types::{ExecutionListItem, ExecutionStatus};
use aws_sdk_sfn::Client;
use aws_smithy_mocks::{mock, Rule};
use berth::error::ErrorName;
use berth::testing::mock_client;
use serde_json::json;

use super::*;

const MACHINE: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:berth-deploy";
const PUSH: &str = include_str!("../../../../shared/fixtures/ecr-push.json");
const NOW: i64 = 1_795_003_000;

fn exec_arn(name: &str) -> String {
    format!("arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:{name}")
}

fn item(me: &str) -> serde_json::Value {
    json!({
        "deploymentId": format!("{me}/prod/web"), "cluster": "prod", "service": "web",
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "repository": "web", "forceNewDeployment": false, "timeoutSeconds": 600, "pollIntervalSeconds": 5,
        "rollbackTimeoutSeconds": 300,
        "execution": {"id": exec_arn(me), "name": me, "startTime": "2026-11-23T02:00:00Z"},
        "turnDeadline": berth::time::format(DateTime::from_secs(NOW + 600))
    })
}

/// ListExecutions returning (name, start seconds), and DescribeExecution returning the push event.
fn running(executions: &'static [(&'static str, i64)]) -> [Rule; 2] {
    [
        mock!(Client::list_executions)
            .match_requests(|r| {
                r.state_machine_arn() == Some(MACHINE)
                    && r.status_filter() == Some(&ExecutionStatus::Running)
            })
            .then_output(move || {
                ListExecutionsOutput::builder()
                    .set_executions(Some(
                        executions
                            .iter()
                            .map(|(name, start)| {
                                ExecutionListItem::builder()
                                    .execution_arn(exec_arn(name))
                                    .state_machine_arn(MACHINE)
                                    .name(*name)
                                    .status(ExecutionStatus::Running)
                                    .start_date(DateTime::from_secs(*start))
                                    .build()
                                    .unwrap()
                            })
                            .collect(),
                    ))
                    .build()
                    .unwrap()
            }),
        mock!(Client::describe_execution).then_compute_output(|r| {
            DescribeExecutionOutput::builder()
                .execution_arn(r.execution_arn().unwrap())
                .state_machine_arn(MACHINE)
                .status(ExecutionStatus::Running)
                .start_date(DateTime::from_secs(NOW))
                .input(PUSH)
                .build()
                .unwrap()
        }),
    ]
}

#[tokio::test]
async fn alone_it_goes() {
    let [l, d] = running(&[("b", NOW)]);
    let sfn = mock_client!(aws_sdk_sfn, &[&l, &d]);
    let turn = run(&sfn, item("b"), DateTime::from_secs(NOW))
        .await
        .unwrap();
    assert_eq!(turn.decision, TurnDecision::Go);
    assert_eq!(d.num_calls(), 0, "its own input need not be read");
}

#[tokio::test]
async fn it_waits_for_an_earlier_deploy_of_the_same_repository() {
    let [l, d] = running(&[("a", NOW - 30), ("b", NOW)]);
    let sfn = mock_client!(aws_sdk_sfn, &[&l, &d]);
    let turn = run(&sfn, item("b"), DateTime::from_secs(NOW))
        .await
        .unwrap();
    assert_eq!(turn.decision, TurnDecision::Wait);
    assert_eq!(turn.others, vec![exec_arn("a")]);
    assert!(
        turn.detail.contains("waiting for earlier execution(s) a"),
        "{}",
        turn.detail
    );
}

#[tokio::test]
async fn a_later_push_supersedes_it() {
    let [l, d] = running(&[("a", NOW - 30), ("b", NOW)]);
    let sfn = mock_client!(aws_sdk_sfn, &[&l, &d]);
    let turn = run(&sfn, item("a"), DateTime::from_secs(NOW))
        .await
        .unwrap();
    assert_eq!(turn.decision, TurnDecision::Superseded);
}

#[tokio::test]
async fn waiting_past_the_deadline_is_turn_timeout() {
    let [l, d] = running(&[("a", NOW - 30), ("b", NOW)]);
    let sfn = mock_client!(aws_sdk_sfn, &[&l, &d]);
    let err = run(&sfn, item("b"), DateTime::from_secs(NOW + 601))
        .await
        .unwrap_err();
    assert_eq!(err.name(), ErrorName::TurnTimeout);
}

#[test]
fn the_state_machine_is_read_from_the_execution_arn() {
    assert_eq!(state_machine_arn(&exec_arn("x")).unwrap(), MACHINE);
    assert_eq!(
        state_machine_arn("not-an-arn").unwrap_err().name(),
        ErrorName::InvalidInput
    );
}

/// EventBridge accepting every PutEvents; each call's details are kept.
fn put_events(sent: &berth::testing::SentEvents) -> Rule {
    berth::testing::recording_bus(sent)
}

#[tokio::test]
async fn go_is_announced_as_started_and_a_wait_announces_nothing() {
    let sent = Default::default();
    let put = put_events(&sent);
    let publisher = Publisher::new(mock_client!(aws_sdk_eventbridge, &[&put]), None);
    // GIVEN an earlier execution still deploys the service: b waits, and says nothing
    let [l, d] = running(&[("a", NOW - 30), ("b", NOW)]);
    let sfn = mock_client!(aws_sdk_sfn, &[&l, &d]);
    let turn = run_and_announce(&sfn, &publisher, item("b"), DateTime::from_secs(NOW))
        .await
        .unwrap();
    assert_eq!(turn.decision, TurnDecision::Wait);
    assert_eq!(put.num_calls(), 0);
    // WHEN a is gone and b asks again THEN b goes, and STARTED is published once
    let [l, d] = running(&[("b", NOW)]);
    let sfn = mock_client!(aws_sdk_sfn, &[&l, &d]);
    let turn = run_and_announce(&sfn, &publisher, item("b"), DateTime::from_secs(NOW))
        .await
        .unwrap();
    assert_eq!(turn.decision, TurnDecision::Go);
    assert_eq!(put.num_calls(), 1);
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["phase"], "STARTED");
    assert_eq!(sent[0]["deploymentId"], "b/prod/web");
    assert_eq!(sent[0]["execution"], exec_arn("b"));
}

#[tokio::test]
async fn a_bus_that_refuses_the_event_does_not_hold_the_deployment() {
    let put = mock!(aws_sdk_eventbridge::Client::put_events).then_http_response(|| {
        berth::testing::aws_error(400, "ResourceNotFoundException", "no bus")
    });
    let publisher = Publisher::new(mock_client!(aws_sdk_eventbridge, &[&put]), Some("gone"));
    let [l, d] = running(&[("b", NOW)]);
    let sfn = mock_client!(aws_sdk_sfn, &[&l, &d]);
    let turn = run_and_announce(&sfn, &publisher, item("b"), DateTime::from_secs(NOW))
        .await
        .unwrap();
    assert_eq!(turn.decision, TurnDecision::Go);
    assert_eq!(put.num_calls(), 1);
}

// ---------------------------------------------------------------- berth abort (berth:control)

const SERVICE: &str = include_str!("../../../../shared/fixtures/describe-services.json");

fn tagged(control: &str) -> Rule {
    let body = berth::testing::with_control(SERVICE, control);
    mock!(aws_sdk_ecs::Client::describe_services)
        .match_requests(|r| r.include().iter().any(|f| f.as_str() == "TAGS"))
        .then_http_response(move || berth::testing::ok_json(&body))
}

#[tokio::test]
async fn an_abort_before_the_turn_refuses_with_aborted_and_asks_for_no_turn() {
    // GIVEN `berth abort` tagged the service for execution b, which waits for a
    let svc = tagged("abort:b");
    let ecs = mock_client!(aws_sdk_ecs, [&svc]);
    let [l, d] = running(&[("a", NOW - 30), ("b", NOW)]);
    let sfn = mock_client!(aws_sdk_sfn, &[&l, &d]);
    let publisher = Publisher::new(mock_client!(aws_sdk_eventbridge, &[]), None);
    // WHEN b asks for its turn
    let err = run_controlled(&sfn, &ecs, &publisher, item("b"), DateTime::from_secs(NOW))
        .await
        .unwrap_err();
    // THEN Aborted, a refused name (the ASL ends the service NOT_STARTED), and no turn was read
    assert_eq!(err.name(), ErrorName::Aborted);
    assert_eq!(err.name().group(), berth::error::Group::Refused);
    assert_eq!(
        err.message(),
        "aborted by hand (berth abort) before its turn to deploy prod/web: the service was not changed"
    );
    assert_eq!(l.num_calls(), 0);
}

#[tokio::test]
async fn a_control_for_another_execution_or_a_promote_does_not_stop_the_turn() {
    for control in ["abort:a", "promote:b", "abort"] {
        let svc = tagged(control);
        let ecs = mock_client!(aws_sdk_ecs, [&svc]);
        let [l, d] = running(&[("b", NOW)]);
        let sfn = mock_client!(aws_sdk_sfn, &[&l, &d]);
        let put = put_events(&Default::default());
        let publisher = Publisher::new(mock_client!(aws_sdk_eventbridge, &[&put]), None);
        let turn =
            run_controlled(&sfn, &ecs, &publisher, item("b"), DateTime::from_secs(NOW)).await;
        assert!(turn.is_ok(), "{control}: {turn:?}");
        assert_eq!(svc.num_calls(), 1);
    }
}
