use aws_sdk_sfn::operation::describe_execution::{DescribeExecutionError, DescribeExecutionOutput};
use aws_sdk_sfn::operation::start_execution::{StartExecutionError, StartExecutionOutput};
use aws_sdk_sfn::types::error::{ExecutionAlreadyExists, ExecutionDoesNotExist};
use aws_sdk_sfn::types::ExecutionStatus;
use aws_sdk_sfn::Client;
use aws_smithy_mocks::mock;
use aws_smithy_mocks::Rule;
use berth::error::ErrorName;
use berth::testing::mock_client;
use berth::time::DateTime;
use serde_json::json;

use super::*;
use berth::start::execution_name;

const MACHINE: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:berth-deploy";
const PUSH: &str = include_str!("../../../../shared/fixtures/ecr-push.json");
const NAME: &str = "web-9f86d081884c7d659a2feaa0c55ad015a3bf4f1b";

fn no_such_execution() -> Rule {
    mock!(Client::describe_execution).then_error(|| {
        DescribeExecutionError::ExecutionDoesNotExist(
            ExecutionDoesNotExist::builder()
                .message("Execution Does Not Exist")
                .build(),
        )
    })
}

fn event() -> serde_json::Value {
    serde_json::from_str(PUSH).unwrap()
}

#[tokio::test]
async fn a_push_starts_an_execution_named_after_repository_and_digest() {
    let start = mock!(Client::start_execution)
        .match_requests(|r| {
            r.name() == Some(NAME)
                && r.state_machine_arn() == Some(MACHINE)
                && r.input().is_some_and(|i| i.contains("ECR Image Action"))
        })
        .then_output(|| {
            StartExecutionOutput::builder()
                .execution_arn(format!(
                    "arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:{NAME}"
                ))
                .start_date(DateTime::from_secs(1_795_000_000))
                .build()
                .unwrap()
        });
    let sfn = mock_client!(aws_sdk_sfn, &[&no_such_execution(), &start]);
    let out = run(&sfn, MACHINE, event()).await.unwrap();
    assert!(out.started);
    assert_eq!(out.execution_name.as_deref(), Some(NAME));
    assert_eq!(start.num_calls(), 1);
}

#[tokio::test]
async fn a_redelivered_event_while_the_first_runs_is_a_duplicate() {
    let exists = mock!(Client::describe_execution)
        .match_requests(|r| {
            r.execution_arn()
                == Some(&format!(
                    "arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:{NAME}"
                ))
        })
        .then_output(|| {
            DescribeExecutionOutput::builder()
                .execution_arn("x")
                .state_machine_arn(MACHINE)
                .status(ExecutionStatus::Running)
                .start_date(DateTime::from_secs(1_795_000_000))
                .build()
                .unwrap()
        });
    let start = mock!(Client::start_execution)
        .then_output(|| StartExecutionOutput::builder().build().unwrap());
    let sfn = mock_client!(aws_sdk_sfn, &[&exists, &start]);
    let out = run(&sfn, MACHINE, event()).await.unwrap();
    assert!(out.duplicate && !out.started);
    assert!(out.detail.contains("RUNNING"), "{}", out.detail);
    assert_eq!(start.num_calls(), 0);
}

#[tokio::test]
async fn a_redelivered_event_racing_the_first_is_a_duplicate_not_an_error() {
    let start = mock!(Client::start_execution).then_error(|| {
        StartExecutionError::ExecutionAlreadyExists(
            ExecutionAlreadyExists::builder()
                .message("Execution Already Exists")
                .build(),
        )
    });
    let sfn = mock_client!(aws_sdk_sfn, &[&no_such_execution(), &start]);
    let out = run(&sfn, MACHINE, event()).await.unwrap();
    assert!(!out.started);
    assert!(out.duplicate);
}

#[tokio::test]
async fn deletes_start_nothing() {
    let start = mock!(Client::start_execution)
        .then_output(|| StartExecutionOutput::builder().build().unwrap());
    let mut e = event();
    e["detail"]["action-type"] = json!("DELETE");
    let sfn = mock_client!(aws_sdk_sfn, &[&start]);
    let out = run(&sfn, MACHINE, e).await.unwrap();
    assert!(!out.started && !out.duplicate);
    assert_eq!(start.num_calls(), 0);
}

#[tokio::test]
async fn a_malformed_event_is_invalid_input() {
    let start = mock!(Client::start_execution)
        .then_output(|| StartExecutionOutput::builder().build().unwrap());
    let mut e = event();
    e["detail"].as_object_mut().unwrap().remove("result");
    assert_eq!(
        run(&mock_client!(aws_sdk_sfn, &[&start]), MACHINE, e)
            .await
            .unwrap_err()
            .name(),
        ErrorName::InvalidInput
    );
}

#[test]
fn names_fit_step_functions_rules() {
    let push = berth::ecr::Push {
        account: "1".into(),
        region: "r".into(),
        repository:
            "team/a.very.long.repository-name_that/goes/on/and/on/for/ever/and/ever/and/ever".into(),
        digest: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        tag: None,
    };
    let n = execution_name(&push);
    assert!(n.len() <= 80, "{n}");
    assert!(
        n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "{n}"
    );
    assert!(n.ends_with("-9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"));
}
