//! The execution's verdict and cause. For every service berth tried to roll back, what it runs is
//! read from ECS as the execution's last act, so the cause states what runs now, even when the
//! rollback could not finish.

use aws_sdk_ecs::Client;
use berth::ecs::describe_service;
use berth::error::{Error, Result};
use berth::events::{self, DeploymentEvent, Publisher};
use berth::model::{parse_input, Outcome, ServiceOutcome, ServiceReport, Summary};
use berth::summary::{combine, describe, needs_reading, report, running_now, RunningNow};

#[derive(serde::Deserialize)]
struct Input {
    results: Vec<ServiceOutcome>,
}

#[derive(serde::Deserialize)]
struct Reports {
    reports: Vec<ServiceReport>,
}

/// The two documents summarize answers: `{"service": outcome}` from the end of one service's
/// execution (its report), `{"reports": [...]}` from the deployment's, once every service's
/// execution ended (the summary).
pub async fn serve(
    ecs: &Client,
    publisher: &Publisher,
    payload: serde_json::Value,
) -> Result<serde_json::Value> {
    let value = |v: std::result::Result<serde_json::Value, serde_json::Error>| {
        v.map_err(|e| Error::invalid_input(format!("summarize: {e}")))
    };
    if let Some(one) = payload.get("service") {
        let results = serde_json::json!({"results": [one]});
        let mut reports = run(ecs, publisher, results).await?.1;
        return value(serde_json::to_value(reports.remove(0)));
    }
    if payload.get("reports").is_some() {
        let input: Reports = parse_input("summarize", payload)?;
        let summary = combine(input.reports);
        tracing::info!(status = ?summary.status, error = %summary.error, "{}", summary.cause);
        return value(serde_json::to_value(summary));
    }
    Err(Error::invalid_input(
        "summarize takes {\"service\": <a service's document>} (the end of its execution) or {\"reports\": [...]} (the deployment's)",
    ))
}

/// The summary of `{"results": [...]}` and each service's report, after each service's FINISHED
/// event is published (best effort: a failure to publish is logged and changes nothing).
pub async fn run(
    ecs: &Client,
    publisher: &Publisher,
    payload: serde_json::Value,
) -> Result<(Summary, Vec<ServiceReport>)> {
    // Each result's raw document: the fields an event names sit beside the states' results.
    let details: Vec<serde_json::Value> = payload
        .get("results")
        .and_then(|r| r.as_array())
        .map(|r| r.iter().map(|o| o["detail"].clone()).collect())
        .unwrap_or_default();
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
    let finished = finished_events(&details, &input.results, &now);
    events::announce(publisher, &finished).await;
    let reports: Vec<ServiceReport> = input
        .results
        .iter()
        .map(|o| {
            let key = (o.cluster.clone(), o.service.clone());
            report(o, now.get(&key).map(String::as_str))
        })
        .collect();
    let summary = combine(reports.clone());
    tracing::info!(status = ?summary.status, error = %summary.error, "{}", summary.cause);
    Ok((summary, reports))
}

/// One FINISHED event per service: its outcome, and but for DEPLOYED what summarize says of it.
fn finished_events(
    details: &[serde_json::Value],
    results: &[ServiceOutcome],
    now: &RunningNow,
) -> Vec<DeploymentEvent> {
    results
        .iter()
        .zip(details)
        .filter_map(|(o, detail)| {
            let key = (o.cluster.clone(), o.service.clone());
            let cause = (o.outcome != Outcome::Deployed)
                .then(|| describe(o, now.get(&key).map(String::as_str)));
            events::finished(detail, o, cause)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use aws_smithy_mocks::{mock, Rule};
    use berth::testing::{aws_error, mock_client, ok_json, recording_bus, SentEvents};
    use serde_json::json;

    use super::*;

    /// A publisher whose bus takes every event, and what it was sent.
    fn bus() -> (Publisher, Rule, SentEvents) {
        let sent = SentEvents::default();
        let put = recording_bus(&sent);
        let publisher = Publisher::new(mock_client!(aws_sdk_eventbridge, &[&put]), None);
        (publisher, put, sent)
    }

    fn quiet() -> Publisher {
        bus().0
    }

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
        let s = run(
            &mock_client!(aws_sdk_ecs, &[&describe]),
            &quiet(),
            failed_rollback(),
        )
        .await
        .unwrap()
        .0;
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
        let s = run(
            &mock_client!(aws_sdk_ecs, &[&describe]),
            &quiet(),
            failed_rollback(),
        )
        .await
        .unwrap()
        .0;
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
        let e = run(&mock_client!(aws_sdk_ecs, &[]), &quiet(), doc)
            .await
            .unwrap_err();
        assert_eq!(e.name(), "InvalidInput");
        assert!(e.message().contains("taskDefinitionArn"), "{}", e.message());
        // and an outcome no Pass state writes
        let mut doc = failed_rollback();
        doc["results"][1]["outcome"] = json!("DEPLOYED_MAYBE");
        let e = run(&mock_client!(aws_sdk_ecs, &[]), &quiet(), doc)
            .await
            .unwrap_err();
        assert_eq!(e.name(), "InvalidInput");
    }

    /// A per-service result as the Map writes it: the item's fields beside the states' results.
    fn result(service: &str, outcome: &str, extra: serde_json::Value) -> serde_json::Value {
        let mut detail = json!({"deploymentId": format!("d-{service}"), "cluster": "prod",
            "service": service, "image": format!("repo/{service}@sha256:aa"), "repository": service,
            "execution": {"id": "arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:x"},
            "register": {"taskDefinitionArn": format!("arn:aws:ecs:eu-west-1:123456789012:task-definition/{service}:8"),
                "previousTaskDefinitionArn": format!("arn:aws:ecs:eu-west-1:123456789012:task-definition/{service}:7"),
                "container": "app", "image": "repo@sha256:aa", "previousImages": [], "reused": false}});
        for (k, v) in extra.as_object().unwrap() {
            detail[k] = v.clone();
        }
        json!({"cluster": "prod", "service": service, "outcome": outcome, "detail": detail})
    }

    #[tokio::test]
    async fn each_service_is_announced_finished_with_its_outcome() {
        // GIVEN api deployed and web rolled back after a failed canary
        let web = result(
            "web",
            "ROLLED_BACK",
            json!({
            "canaryResult": {"verdict": "FAIL", "decision": "ROLLBACK", "detail": "5xx at 9%",
                "checks": [], "evaluations": 2, "bakeStartedAt": "t", "bakeEndsAt": "t", "evaluatedAt": "t"},
            "rollback": {"taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
                "previousTaskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
                "pinnedImages": [], "alreadyRolledBack": false, "detail": "rolling back",
                "rollout": {"ecsDeploymentId": "ecs-svc/3", "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
                    "startedAt": "t", "deadline": "t", "desiredCount": 2}}}),
        );
        let doc = json!({"results": [result("api", "DEPLOYED", json!({})), web]});
        let describe = mock!(Client::describe_services)
            .then_http_response(|| aws_error(400, "AccessDeniedException", "not allowed"));
        let (publisher, put, sent) = bus();
        // WHEN summarize runs
        let s = run(&mock_client!(aws_sdk_ecs, &[&describe]), &publisher, doc)
            .await
            .unwrap()
            .0;
        // THEN one call carried a FINISHED event per service, in order
        assert_eq!(s.error, "DeploymentRolledBack");
        assert_eq!(put.num_calls(), 1);
        let sent = sent.lock().unwrap();
        assert_eq!(sent.len(), 2);
        assert_eq!(
            (&sent[0]["phase"], &sent[0]["service"], &sent[0]["outcome"]),
            (&json!("FINISHED"), &json!("api"), &json!("DEPLOYED"))
        );
        assert_eq!(sent[0].get("cause"), None, "nothing to explain");
        assert_eq!(
            sent[0]["revision"],
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/api:8"
        );
        assert_eq!(sent[1]["outcome"], "ROLLED_BACK");
        assert_eq!(
            sent[1]["revision"],
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7"
        );
        let cause = sent[1]["cause"].as_str().unwrap();
        assert!(
            cause.starts_with("prod/web: canary FAIL: 5xx at 9%; rolled back, now running"),
            "{cause}"
        );
    }

    #[tokio::test]
    async fn a_service_execution_gets_its_report_and_the_deployment_its_summary() {
        // GIVEN web's execution ends ROLLBACK_FAILED and ECS cannot be read
        let describe = mock!(Client::describe_services)
            .then_http_response(|| aws_error(400, "AccessDeniedException", "not allowed"));
        let ecs = mock_client!(aws_sdk_ecs, &[&describe]);
        let one = failed_rollback()["results"][0].clone();
        // WHEN its Report state asks summarize
        let r = serve(&ecs, &quiet(), json!({"service": one}))
            .await
            .unwrap();
        // THEN the report is small: outcome, one sentence, the caught error name
        assert_eq!(r["outcome"], "ROLLBACK_FAILED");
        assert_eq!(r["error"], "Lambda.ServiceException");
        let cause = r["cause"].as_str().unwrap();
        assert!(cause.starts_with("prod/web: "), "{cause}");
        assert!(cause.contains("ROLLBACK FAILED"), "{cause}");
        // AND the deployment's summary combines reports, worst outcome first
        let api = json!({"cluster": "prod", "service": "api", "outcome": "DEPLOYED", "cause": "prod/api: deployed api:8"});
        let s = serve(&ecs, &quiet(), json!({"reports": [api, r]}))
            .await
            .unwrap();
        assert_eq!(s["status"], "FAILED");
        assert_eq!(s["error"], "RollbackFailed");
        assert_eq!(s["services"].as_array().unwrap().len(), 2);
        // AND anything else is refused by name
        let e = serve(&ecs, &quiet(), json!({"results": []}))
            .await
            .unwrap_err();
        assert_eq!(e.name(), "InvalidInput");
    }
}
