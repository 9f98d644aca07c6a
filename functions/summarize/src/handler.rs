//! The execution's verdict and cause. For every service berth tried to roll back, what it runs is
//! read from ECS as the execution's last act, so the cause states what runs now, even when the
//! rollback could not finish.

use aws_sdk_ecs::Client;
use berth::ecs::describe_service;
use berth::error::Result;
use berth::model::{parse_input, ServiceOutcome, Summary};
use berth::summary::{needs_reading, running_now, summarize, RunningNow};

#[derive(serde::Deserialize)]
struct Input {
    results: Vec<ServiceOutcome>,
}

pub async fn run(ecs: &Client, payload: serde_json::Value) -> Result<Summary> {
    let input: Input = parse_input("summarize", payload)?;
    let mut now = RunningNow::new();
    for o in input.results.iter().filter(|o| needs_reading(o)) {
        // A read that fails is said in the cause; the summary itself must still be made.
        let reading = match describe_service(ecs, &o.cluster, &o.service).await {
            Ok(service) => running_now(&service),
            Err(e) => format!("unknown (reading the service failed: {e})"),
        };
        now.insert((o.cluster.clone(), o.service.clone()), reading);
    }
    let summary = summarize(input.results, &now);
    tracing::info!(status = ?summary.status, error = %summary.error, "{}", summary.cause);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use aws_smithy_mocks::mock;
    use berth::testing::{aws_error, mock_client, ok_json};
    use serde_json::json;

    use super::*;

    fn failed_rollback() -> serde_json::Value {
        json!({"results": [{"cluster": "prod", "service": "web", "outcome": "ROLLBACK_FAILED", "detail": {
            "register": {"taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8",
                "previousTaskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
                "container": "app", "image": "repo@sha256:aa", "previousImages": [], "reused": false},
            "error": {"Error": "Lambda.ServiceException", "Cause": "unreachable"}}},
            {"cluster": "prod", "service": "api", "outcome": "DEPLOYED", "detail": {}}]})
    }

    #[tokio::test]
    async fn a_failed_rollback_is_summarised_with_what_runs_now() {
        // GIVEN ECS says web runs web:8 half rolled out next to web:7
        let body = json!({"services": [{"serviceName": "web", "status": "ACTIVE",
            "taskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8",
            "deployments": [
                {"status": "PRIMARY", "taskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8",
                 "rolloutState": "IN_PROGRESS", "runningCount": 1, "desiredCount": 2},
                {"status": "ACTIVE", "taskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
                 "runningCount": 1, "desiredCount": 2}]}], "failures": []})
        .to_string();
        let describe = mock!(Client::describe_services).then_http_response(move || ok_json(&body));
        // WHEN summarize runs
        let s = run(&mock_client!(aws_sdk_ecs, &[&describe]), failed_rollback())
            .await
            .unwrap();
        // THEN only the rolled-back service is read, and the cause says what it runs
        assert_eq!(describe.num_calls(), 1);
        assert_eq!(s.error, "RollbackFailed");
        assert!(
            s.cause.contains(
                "now runs web:8 (PRIMARY IN_PROGRESS, 1/2 running) and web:7 (ACTIVE, 1/2 running)"
            ),
            "{}",
            s.cause
        );
    }

    #[tokio::test]
    async fn a_service_that_cannot_be_read_still_gets_a_summary() {
        let describe = mock!(Client::describe_services)
            .then_http_response(|| aws_error(400, "AccessDeniedException", "not allowed"));
        let s = run(&mock_client!(aws_sdk_ecs, &[&describe]), failed_rollback())
            .await
            .unwrap();
        assert_eq!(s.error, "RollbackFailed");
        assert!(
            s.cause
                .contains("now runs unknown (reading the service failed: AccessDenied"),
            "{}",
            s.cause
        );
    }

    #[tokio::test]
    async fn a_document_that_is_not_what_the_states_write_is_refused_not_guessed() {
        // a state's result with a renamed field: the cause would otherwise say "unknown"
        let mut doc = failed_rollback();
        doc["results"][0]["detail"]["register"] = json!({"taskDefinitionARN": "x"});
        let e = run(&mock_client!(aws_sdk_ecs, &[]), doc).await.unwrap_err();
        assert_eq!(e.name(), "InvalidInput");
        assert!(e.message().contains("taskDefinitionArn"), "{}", e.message());
        // and an outcome no Pass state writes
        let mut doc = failed_rollback();
        doc["results"][1]["outcome"] = json!("DEPLOYED_MAYBE");
        let e = run(&mock_client!(aws_sdk_ecs, &[]), doc).await.unwrap_err();
        assert_eq!(e.name(), "InvalidInput");
    }
}
