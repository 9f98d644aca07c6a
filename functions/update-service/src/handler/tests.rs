use std::sync::{Arc, Mutex};

use aws_sdk_ecs::operation::update_service::UpdateServiceInput;
use aws_sdk_ecs::Client;
use aws_smithy_mocks::{mock, Rule};
use berth::error::names;
use berth::testing::{aws_error, mock_ecs, ok_json, throttled};
use serde_json::json;

use super::*;

const SERVICES: &str = include_str!("../../fixtures/describe-services.json");
const UPDATED: &str = include_str!("../../fixtures/update-service.json");
const WEB8: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8";
const NOW: i64 = 1_795_001_000;

fn input(force: bool) -> serde_json::Value {
    json!({
        "deploymentId": "web-9f86d081884c",
        "cluster": "prod",
        "service": "web",
        "register": {"taskDefinitionArn": WEB8, "previousTaskDefinitionArn": "ignored here"},
        "forceNewDeployment": force,
        "timeoutSeconds": 600
    })
}

fn describe(body: &'static str) -> Rule {
    mock!(Client::describe_services).then_http_response(move || ok_json(body))
}

fn update(captured: Arc<Mutex<Option<UpdateServiceInput>>>) -> Rule {
    mock!(Client::update_service).then_compute_response(move |req| {
        *captured.lock().unwrap() = Some(req.clone());
        aws_smithy_mocks::MockResponse::Http(ok_json(UPDATED))
    })
}

#[tokio::test]
async fn starts_a_rollout_without_touching_desired_count() {
    // GIVEN web on web:7
    let captured = Arc::new(Mutex::new(None));
    let (svc, upd) = (describe(SERVICES), update(captured.clone()));
    let ecs = mock_ecs(&[&svc, &upd]);
    // WHEN
    let rollout = run(&ecs, input(false), DateTime::from_secs(NOW))
        .await
        .unwrap();
    // THEN ECS was told the revision and nothing about the task count
    let req = captured.lock().unwrap().clone().unwrap();
    assert_eq!(req.task_definition(), Some(WEB8));
    assert_eq!(
        req.desired_count(),
        None,
        "desiredCount belongs to the autoscaler"
    );
    assert_eq!(req.force_new_deployment(), Some(false));
    assert_eq!(rollout.ecs_deployment_id, "ecs-svc/9223370300000000008");
    assert_eq!(rollout.task_definition_arn, WEB8);
    assert_eq!(rollout.desired_count, 2);
    assert_eq!(
        rollout.started_at,
        berth::time::format(DateTime::from_secs(1_795_001_000))
    );
    assert_eq!(
        rollout.deadline,
        berth::time::format(DateTime::from_secs(NOW + 600))
    );
}

#[tokio::test]
async fn a_retry_while_ecs_rolls_out_our_revision_starts_nothing_new() {
    let svc = mock!(Client::describe_services).then_http_response(|| {
        ok_json(
            &UPDATED
                .replacen("\"service\":", "\"services\": [", 1)
                .replacen("\n}", "], \"failures\": []\n}", 1),
        )
    });
    let upd = update(Arc::new(Mutex::new(None)));
    let ecs = mock_ecs(&[&svc, &upd]);
    let rollout = run(&ecs, input(true), DateTime::from_secs(NOW))
        .await
        .unwrap();
    assert_eq!(upd.num_calls(), 0);
    assert_eq!(rollout.ecs_deployment_id, "ecs-svc/9223370300000000008");
}

#[tokio::test]
async fn force_new_deployment_redeploys_a_completed_revision() {
    // GIVEN the service already completed web:8 (a re-pushed mutable tag)
    let steady = SERVICES.replace("task-definition/web:7", "task-definition/web:8");
    let svc = mock!(Client::describe_services).then_http_response(move || ok_json(&steady));
    let captured = Arc::new(Mutex::new(None));
    let upd = update(captured.clone());
    let ecs = mock_ecs(&[&svc, &upd]);
    run(&ecs, input(true), DateTime::from_secs(NOW))
        .await
        .unwrap();
    assert_eq!(upd.num_calls(), 1);
    assert_eq!(
        captured
            .lock()
            .unwrap()
            .as_ref()
            .unwrap()
            .force_new_deployment(),
        Some(true)
    );
}

#[tokio::test]
async fn without_force_a_completed_revision_is_left_alone() {
    let steady = SERVICES.replace("task-definition/web:7", "task-definition/web:8");
    let svc = mock!(Client::describe_services).then_http_response(move || ok_json(&steady));
    let upd = update(Arc::new(Mutex::new(None)));
    let ecs = mock_ecs(&[&svc, &upd]);
    let rollout = run(&ecs, input(false), DateTime::from_secs(NOW))
        .await
        .unwrap();
    assert_eq!(upd.num_calls(), 0);
    assert_eq!(rollout.ecs_deployment_id, "ecs-svc/9223370300000000007");
}

async fn expect_error(rules: &[&Rule], request: serde_json::Value) -> berth::Error {
    let upd = update(Arc::new(Mutex::new(None)));
    let mut all = rules.to_vec();
    all.push(&upd);
    let ecs = mock_ecs(&all);
    let err = run(&ecs, request, DateTime::from_secs(NOW))
        .await
        .unwrap_err();
    assert_eq!(
        upd.num_calls(),
        0,
        "the service must not be changed on {err}"
    );
    err
}

#[tokio::test]
async fn missing_fields_are_invalid_input_and_change_nothing() {
    for field in ["cluster", "service", "register", "deploymentId"] {
        let mut req = input(false);
        req.as_object_mut().unwrap().remove(field);
        let svc = describe(SERVICES);
        assert_eq!(
            expect_error(&[&svc], req).await.name(),
            names::INVALID_INPUT,
            "{field}"
        );
        assert_eq!(svc.num_calls(), 0);
    }
}

#[tokio::test]
async fn unknown_cluster_and_service_are_named() {
    let svc = mock!(Client::describe_services)
        .then_http_response(|| aws_error(400, "ClusterNotFoundException", "Cluster not found."));
    assert_eq!(
        expect_error(&[&svc], input(false)).await.name(),
        names::CLUSTER_NOT_FOUND
    );
    let missing = describe(
        r#"{"services": [], "failures": [{"arn": "arn:aws:ecs:eu-west-1:123456789012:service/prod/web", "reason": "MISSING"}]}"#,
    );
    assert_eq!(
        expect_error(&[&missing], input(false)).await.name(),
        names::SERVICE_NOT_FOUND
    );
}

#[tokio::test]
async fn a_code_deploy_service_is_refused() {
    let cd: &'static str = Box::leak(
        SERVICES
            .replace("\"type\": \"ECS\"", "\"type\": \"CODE_DEPLOY\"")
            .into_boxed_str(),
    );
    let svc = describe(cd);
    assert_eq!(
        expect_error(&[&svc], input(false)).await.name(),
        names::UNSUPPORTED_DEPLOYMENT_CONTROLLER
    );
}

#[tokio::test]
async fn update_service_throttling_is_retried_then_named() {
    let svc = describe(SERVICES);
    let upd = mock!(Client::update_service)
        .sequence()
        .http_response(throttled)
        .times(2)
        .http_response(|| ok_json(UPDATED))
        .build();
    let ecs = mock_ecs(&[&svc, &upd]);
    run(&ecs, input(false), DateTime::from_secs(NOW))
        .await
        .unwrap();
    assert_eq!(upd.num_calls(), 3);

    let upd = mock!(Client::update_service).then_http_response(throttled);
    let ecs = mock_ecs(&[&svc, &upd]);
    let err = run(&ecs, input(false), DateTime::from_secs(NOW))
        .await
        .unwrap_err();
    assert_eq!(err.name(), names::THROTTLED);
}

#[tokio::test]
async fn an_update_service_rejection_is_an_aws_error_with_ecs_text() {
    let svc = describe(SERVICES);
    let upd = mock!(Client::update_service).then_http_response(|| {
        aws_error(
            400,
            "InvalidParameterException",
            "TaskDefinition is inactive",
        )
    });
    let ecs = mock_ecs(&[&svc, &upd]);
    let err = run(&ecs, input(false), DateTime::from_secs(NOW))
        .await
        .unwrap_err();
    assert_eq!(err.name(), names::AWS_ERROR);
    assert!(
        err.message().contains("TaskDefinition is inactive"),
        "{err}"
    );
}
