//! A poll of a native deployment: its stage and weights, the canary route, a PAUSE hook's approval;
//! and the rollback by StopServiceDeployment, judged by ECS's status.

use aws_sdk_ecs::Client;
use aws_smithy_mocks::{mock, Rule};
use berth::model::StabilityStatus;
use berth::testing::{mock_client, ok_json};
use berth::time::DateTime;
use serde_json::json;

use super::super::{run, Aws};

const IN_PROGRESS: &str = include_str!("../../../fixtures/in-progress.json");
const LINEAR: &str =
    include_str!("../../../../../shared/fixtures/describe-service-deployments-linear.json");
const PAUSED: &str =
    include_str!("../../../../../shared/fixtures/describe-service-deployments-paused.json");
const SD: &str =
    "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/Jx3gHK0LuZSSIN3ZqAnYn";
const NOW: i64 = 1_795_001_100;

fn input(rolled_back_by: Option<&str>) -> serde_json::Value {
    let mut v = json!({
        "cluster": "prod", "service": "web",
        "rollout": {
            "ecsDeploymentId": "ecs-svc/9223370300000000008",
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8",
            "startedAt": berth::time::format(DateTime::from_secs(NOW - 100)),
            "deadline": berth::time::format(DateTime::from_secs(NOW + 1700)),
            "desiredCount": 2, "serviceDeploymentArn": SD
        },
        "execution": {"id": "arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:web-abc", "name": "web-abc"}
    });
    if let Some(by) = rolled_back_by {
        v["rollout"]["rolledBackBy"] = json!(by);
        v["rollout"]["taskDefinitionArn"] =
            json!("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7");
        v.as_object_mut().unwrap().remove("execution");
    }
    v
}

fn deployment(fixture: &'static str, status: &'static str) -> Rule {
    mock!(Client::describe_service_deployments).then_http_response(move || {
        let mut body: serde_json::Value = serde_json::from_str(fixture).unwrap();
        body["serviceDeployments"][0]["status"] = json!(status);
        ok_json(&body.to_string())
    })
}

async fn poll(ecs: &Client, payload: serde_json::Value) -> berth::model::Stability {
    let cd = mock_client!(aws_sdk_codedeploy, &[]);
    let ssm = mock_client!(aws_sdk_ssm, &[]);
    let aws = Aws {
        ecs,
        codedeploy: &cd,
        ssm: &ssm,
        verdicts_prefix: "/berth/hook-verdicts",
    };
    run(&aws, payload, DateTime::from_secs(NOW)).await.unwrap()
}

fn service() -> Rule {
    mock!(Client::describe_services).then_http_response(|| ok_json(IN_PROGRESS))
}

fn no_stopped_tasks() -> Rule {
    mock!(Client::list_tasks).then_http_response(|| ok_json(r#"{"taskArns": []}"#))
}

#[tokio::test]
async fn a_linear_step_is_shown_and_routes_to_the_canary() {
    let (describe, sd, tasks) = (
        service(),
        deployment(LINEAR, "IN_PROGRESS"),
        no_stopped_tasks(),
    );
    let ecs = mock_client!(aws_sdk_ecs, [&describe, &sd, &tasks]);
    let out = poll(&ecs, input(None)).await;
    assert_eq!(out.status, StabilityStatus::InProgress);
    assert_eq!(out.green_traffic_weight, Some(25.0));
    let state = out.service_deployment.expect("ECS's view");
    assert_eq!(
        state.lifecycle_stage.as_deref(),
        Some("PRODUCTION_TRAFFIC_SHIFT")
    );
    assert_eq!(
        (state.production_traffic_weight, state.test_traffic_weight),
        (Some(25.0), Some(100.0))
    );
    assert!(
        out.detail.starts_with("ECS LINEAR at PRODUCTION_TRAFFIC_SHIFT, new revision on 25% of production and 100% of test traffic; "),
        "{}",
        out.detail
    );
}

#[tokio::test]
async fn a_pause_hook_is_shown_as_the_approval_to_give() {
    let (describe, sd, tasks) = (
        service(),
        deployment(PAUSED, "IN_PROGRESS"),
        no_stopped_tasks(),
    );
    let ecs = mock_client!(aws_sdk_ecs, [&describe, &sd, &tasks]);
    let out = poll(&ecs, input(None)).await;
    assert_eq!(out.status, StabilityStatus::InProgress);
    assert_eq!(out.green_traffic_weight, None, "no production traffic yet");
    assert!(
        out.detail.starts_with(
            "waiting for approval at POST_TEST_TRAFFIC_SHIFT: berth approve web-abc | berth reject web-abc (ECS PAUSE hook hook-3f2a9c1d"
        ),
        "{}",
        out.detail
    );
}

#[tokio::test]
async fn the_rollback_by_stop_service_deployment_completes_on_rollback_successful() {
    for (status, want) in [
        ("ROLLBACK_REQUESTED", StabilityStatus::InProgress),
        ("ROLLBACK_IN_PROGRESS", StabilityStatus::InProgress),
        ("ROLLBACK_SUCCESSFUL", StabilityStatus::Completed),
        ("ROLLBACK_FAILED", StabilityStatus::Failed),
    ] {
        let (describe, sd) = (service(), deployment(LINEAR, status));
        let ecs = mock_client!(aws_sdk_ecs, [&describe, &sd]);
        let out = poll(&ecs, input(Some("StopServiceDeployment"))).await;
        assert_eq!(out.status, want, "{status}: {}", out.detail);
        assert_eq!(sd.num_calls(), 1);
        assert_eq!(
            out.service_deployment.map(|s| s.status).as_deref(),
            Some(status)
        );
        if status == "ROLLBACK_SUCCESSFUL" {
            assert!(
                out.detail.starts_with("service deployment Jx3gHK0LuZSSIN3ZqAnYn rolled back by StopServiceDeployment to service revision 4980306466373577095"),
                "{}",
                out.detail
            );
        }
    }
}
