//! The rollback of a native BLUE_GREEN / LINEAR / CANARY deployment: StopServiceDeployment(ROLLBACK)
//! on the recorded service deployment, never UpdateService.

use aws_sdk_ecs::Client;
use aws_smithy_mocks::{mock, Rule};
use berth::testing::{aws_error, mock_client, ok_json};
use serde_json::json;

use super::super::{run, Aws};
use berth::model::RollbackResult;
use berth::time::DateTime;

const DEPLOYING: &str = include_str!("../../../fixtures/describe-services-deploying.json");
const LINEAR: &str =
    include_str!("../../../../../shared/fixtures/describe-service-deployments-linear.json");
const SD: &str =
    "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/Jx3gHK0LuZSSIN3ZqAnYn";
const TD: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/";
const NOW: i64 = 1_795_001_500;

fn input(service_deployment: Option<&str>) -> serde_json::Value {
    let mut update = json!({"ecsDeploymentId": "ecs-svc/9223370300000000008",
        "taskDefinitionArn": format!("{TD}web:8"), "startedAt": "2026-11-18T09:00:00Z",
        "deadline": "2026-11-18T09:30:00Z", "desiredCount": 2});
    if let Some(arn) = service_deployment {
        update["serviceDeploymentArn"] = json!(arn);
    }
    json!({
        "deploymentId": "web-9f86d081884c", "cluster": "prod", "service": "web",
        "register": {"taskDefinitionArn": format!("{TD}web:8"), "previousTaskDefinitionArn": format!("{TD}web:7"),
            "container": "app", "image": "repo@sha256:aa",
            "previousImages": [{"container": "app", "image": "repo:stable", "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111"}],
            "reused": false},
        "update": update,
        "canaryResult": {"decision": "ROLLBACK"}
    })
}

/// The deploying service, with a native strategy.
fn service(strategy: &str) -> Rule {
    let mut body: serde_json::Value = serde_json::from_str(DEPLOYING).unwrap();
    body["services"][0]["deploymentConfiguration"] = json!({
        "maximumPercent": 200, "minimumHealthyPercent": 100, "strategy": strategy,
        "bakeTimeInMinutes": 5, "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 2}});
    let body = body.to_string();
    mock!(Client::describe_services).then_http_response(move || ok_json(&body))
}

fn deployment(statuses: &'static [&'static str], reason: Option<&'static str>) -> Rule {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    mock!(Client::describe_service_deployments)
        .match_requests(|r| r.service_deployment_arns() == [SD.to_owned()])
        .then_http_response(move || {
            let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut body: serde_json::Value = serde_json::from_str(LINEAR).unwrap();
            body["serviceDeployments"][0]["status"] = json!(statuses[n.min(statuses.len() - 1)]);
            if let Some(r) = reason {
                body["serviceDeployments"][0]["statusReason"] = json!(r);
            }
            ok_json(&body.to_string())
        })
}

async fn rollback(ecs: &Client, payload: serde_json::Value) -> berth::Result<RollbackResult> {
    let cd = mock_client!(aws_sdk_codedeploy, &[]);
    run(
        &Aws {
            ecs,
            codedeploy: &cd,
        },
        payload,
        DateTime::from_secs(NOW),
    )
    .await
}

#[tokio::test]
async fn a_native_deployment_in_flight_is_rolled_back_by_stop_service_deployment() {
    let describe = service("LINEAR");
    let sd = deployment(&["IN_PROGRESS"], None);
    let stop = mock!(Client::stop_service_deployment)
        .match_requests(|r| {
            r.service_deployment_arn() == Some(SD)
                && r.stop_type().map(|t| t.as_str()) == Some("ROLLBACK")
        })
        .then_http_response(|| ok_json(&json!({"serviceDeploymentArn": SD}).to_string()));
    let update = mock!(Client::update_service).then_http_response(|| ok_json("{}"));
    let ecs = mock_client!(aws_sdk_ecs, [&describe, &sd, &stop, &update]);

    let out = rollback(&ecs, input(Some(SD))).await.unwrap();

    assert_eq!(stop.num_calls(), 1);
    assert_eq!(update.num_calls(), 0, "ECS rolls back: no UpdateService");
    assert!(!out.already_rolled_back);
    assert_eq!(out.task_definition_arn, format!("{TD}web:7"));
    assert!(
        out.pinned_images.is_empty(),
        "ECS restores the revision it ran, digests included"
    );
    assert_eq!(out.rollout.service_deployment_arn.as_deref(), Some(SD));
    assert_eq!(
        out.rollout.rolled_back_by.as_deref(),
        Some("StopServiceDeployment")
    );
    assert_eq!(
        out.detail,
        "rolled back by StopServiceDeployment: ECS LINEAR service deployment Jx3gHK0LuZSSIN3ZqAnYn (IN_PROGRESS at PRODUCTION_TRAFFIC_SHIFT) goes back to web:7"
    );
}

#[tokio::test]
async fn a_deployment_ecs_rolls_back_already_is_waited_for_not_stopped() {
    let describe = service("BLUE_GREEN");
    let sd = deployment(
        &["ROLLBACK_IN_PROGRESS"],
        Some("Lifecycle hook h-1 at POST_TEST_TRAFFIC_SHIFT: rolled back by ContinueServiceDeployment."),
    );
    let stop = mock!(Client::stop_service_deployment).then_http_response(|| ok_json("{}"));
    let ecs = mock_client!(aws_sdk_ecs, [&describe, &sd, &stop]);

    let out = rollback(&ecs, input(Some(SD))).await.unwrap();

    assert_eq!(stop.num_calls(), 0);
    assert!(out.already_rolled_back);
    assert_eq!(out.rollout.rolled_back_by.as_deref(), Some("ECS"));
    assert!(out.detail.contains("is ROLLBACK_IN_PROGRESS (Lifecycle hook h-1 at POST_TEST_TRAFFIC_SHIFT: rolled back by ContinueServiceDeployment)"), "{}", out.detail);
}

#[tokio::test]
async fn a_stop_that_races_ecs_finishing_its_rollback_is_not_an_error() {
    let describe = service("CANARY");
    let sd = deployment(
        &["IN_PROGRESS", "ROLLBACK_REQUESTED"],
        Some("Service deployment rolled back by StopServiceDeployment."),
    );
    let stop = mock!(Client::stop_service_deployment).then_http_response(|| {
        aws_error(
            400,
            "ConflictException",
            "only a deployment that has not finished can be stopped",
        )
    });
    let ecs = mock_client!(aws_sdk_ecs, [&describe, &sd, &stop]);

    let out = rollback(&ecs, input(Some(SD))).await.unwrap();

    assert_eq!(stop.num_calls(), 1);
    assert_eq!(sd.num_calls(), 2);
    assert!(out.already_rolled_back);
    assert_eq!(
        out.rollout.rolled_back_by.as_deref(),
        Some("StopServiceDeployment")
    );
}

#[tokio::test]
async fn a_stop_refused_while_the_deployment_still_runs_is_an_error() {
    let describe = service("LINEAR");
    let sd = deployment(&["IN_PROGRESS"], None);
    let stop = mock!(Client::stop_service_deployment)
        .then_http_response(|| aws_error(400, "AccessDeniedException", "not authorized"));
    let ecs = mock_client!(aws_sdk_ecs, [&describe, &sd, &stop]);

    let err = rollback(&ecs, input(Some(SD))).await.unwrap_err();
    assert!(err.message().contains("StopServiceDeployment"), "{err}");
}

#[tokio::test]
async fn a_rolling_service_or_an_unrecorded_deployment_is_rolled_back_with_update_service() {
    let mut payload = input(None);
    payload["register"]["previousImages"][0]["digest"] = json!(null);
    let stop = mock!(Client::stop_service_deployment).then_http_response(|| ok_json("{}"));
    // (UpdateService answers nothing usable: this test ends there)
    let update = mock!(Client::update_service).then_http_response(|| ok_json("{}"));

    // no service deployment recorded
    let describe = service("LINEAR");
    let ecs = mock_client!(aws_sdk_ecs, [&describe, &stop, &update]);
    let _ = rollback(&ecs, payload.clone()).await;
    assert_eq!((stop.num_calls(), update.num_calls()), (0, 1));

    // a rolling service
    payload["update"]["serviceDeploymentArn"] = json!(SD);
    let describe = service("ROLLING");
    let sd = deployment(&["IN_PROGRESS"], None);
    let ecs = mock_client!(aws_sdk_ecs, [&describe, &sd, &stop, &update]);
    let _ = rollback(&ecs, payload.clone()).await;
    assert_eq!(
        (stop.num_calls(), update.num_calls(), sd.num_calls()),
        (0, 2, 0)
    );

    // a native deployment that finished
    let describe = service("LINEAR");
    let sd = deployment(&["SUCCESSFUL"], None);
    let ecs = mock_client!(aws_sdk_ecs, [&describe, &sd, &stop, &update]);
    let _ = rollback(&ecs, payload).await;
    assert_eq!(
        (stop.num_calls(), update.num_calls(), sd.num_calls()),
        (0, 3, 1)
    );
}
