use std::sync::{Arc, Mutex};

use aws_sdk_ecs::operation::update_service::UpdateServiceInput;
use aws_sdk_ecs::Client;
use aws_smithy_mocks::{mock, Rule};
use berth::error::ErrorName;
use berth::testing::{aws_error, mock_client, ok_json, throttled};
use serde_json::json;

use super::*;

const SERVICES: &str = include_str!("../../../../shared/fixtures/describe-services.json");
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

async fn run_ecs(
    ecs: &Client,
    payload: serde_json::Value,
    now: DateTime,
) -> berth::Result<Rollout> {
    let cd = mock_client!(aws_sdk_codedeploy, &[]);
    run(
        &Aws {
            ecs,
            codedeploy: &cd,
            hook_function: Some("berth-hook"),
        },
        payload,
        now,
    )
    .await
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
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    // WHEN
    let rollout = run_ecs(&ecs, input(false), DateTime::from_secs(NOW))
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
    // and the service deployment ECS started is recorded, for check-stability to read ECS's verdict
    assert_eq!(rollout.service_deployment_arn.as_deref(), Some(SD_ARN));
    assert_eq!(
        serde_json::to_value(&rollout).unwrap()["serviceDeploymentArn"],
        SD_ARN
    );
}

const SD_ARN: &str =
    "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/NCWGC2ZR-taawPAYrIaU5";

#[tokio::test]
async fn without_a_current_service_deployment_the_rollout_names_none() {
    // GIVEN an UpdateService answer from before service deployments (older regions, stand-ins)
    let old_answer: String = UPDATED
        .lines()
        .filter(|l| !l.contains("currentServiceDeployment"))
        .collect::<Vec<_>>()
        .join("\n");
    let upd = mock!(Client::update_service).then_http_response(move || ok_json(&old_answer));
    let svc = describe(SERVICES);
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    let rollout = run_ecs(&ecs, input(false), DateTime::from_secs(NOW))
        .await
        .unwrap();
    // THEN the rollout is recorded as before, and its document has no serviceDeploymentArn
    assert_eq!(rollout.ecs_deployment_id, "ecs-svc/9223370300000000008");
    assert_eq!(rollout.service_deployment_arn, None);
    assert!(serde_json::to_value(&rollout)
        .unwrap()
        .get("serviceDeploymentArn")
        .is_none());
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
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    let rollout = run_ecs(&ecs, input(true), DateTime::from_secs(NOW))
        .await
        .unwrap();
    assert_eq!(upd.num_calls(), 0);
    assert_eq!(rollout.ecs_deployment_id, "ecs-svc/9223370300000000008");
    assert_eq!(rollout.service_deployment_arn.as_deref(), Some(SD_ARN));
}

#[tokio::test]
async fn a_forced_retry_after_the_rollout_completed_starts_no_second_deployment() {
    // GIVEN update-service already ran for this deployment and ECS completed web:8 (the revision
    // register-revision registered for this deployment alone)
    let steady = SERVICES.replace("task-definition/web:7", "task-definition/web:8");
    let svc = mock!(Client::describe_services).then_http_response(move || ok_json(&steady));
    let upd = update(Arc::new(Mutex::new(None)));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    // WHEN the state is retried with forceNewDeployment
    let rollout = run_ecs(&ecs, input(true), DateTime::from_secs(NOW))
        .await
        .unwrap();
    // THEN the completed deployment is the answer and ECS is not asked for another
    assert_eq!(upd.num_calls(), 0);
    assert_eq!(rollout.ecs_deployment_id, "ecs-svc/9223370300000000007");
}

#[tokio::test]
async fn a_timeout_out_of_range_is_refused_before_any_call() {
    let svc = mock!(Client::describe_services).then_http_response(|| ok_json(SERVICES));
    let upd = update(Arc::new(Mutex::new(None)));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    let mut req = input(false);
    req["timeoutSeconds"] = json!(u64::MAX);
    let err = run_ecs(&ecs, req, DateTime::from_secs(NOW))
        .await
        .unwrap_err();
    assert_eq!(err.name(), ErrorName::InvalidInput);
    assert_eq!(svc.num_calls() + upd.num_calls(), 0);
}

#[tokio::test]
async fn without_force_a_completed_revision_is_left_alone() {
    let steady = SERVICES.replace("task-definition/web:7", "task-definition/web:8");
    let svc = mock!(Client::describe_services).then_http_response(move || ok_json(&steady));
    let upd = update(Arc::new(Mutex::new(None)));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    let rollout = run_ecs(&ecs, input(false), DateTime::from_secs(NOW))
        .await
        .unwrap();
    assert_eq!(upd.num_calls(), 0);
    assert_eq!(rollout.ecs_deployment_id, "ecs-svc/9223370300000000007");
}

async fn expect_error(rules: &[&Rule], request: serde_json::Value) -> berth::Error {
    let upd = update(Arc::new(Mutex::new(None)));
    let mut all = rules.to_vec();
    all.push(&upd);
    let ecs = mock_client!(aws_sdk_ecs, &all);
    let err = run_ecs(&ecs, request, DateTime::from_secs(NOW))
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
            ErrorName::InvalidInput,
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
        ErrorName::ClusterNotFound
    );
    let missing = describe(
        r#"{"services": [], "failures": [{"arn": "arn:aws:ecs:eu-west-1:123456789012:service/prod/web", "reason": "MISSING"}]}"#,
    );
    assert_eq!(
        expect_error(&[&missing], input(false)).await.name(),
        ErrorName::ServiceNotFound
    );
}

fn with_controller(kind: &str) -> &'static str {
    Box::leak(
        SERVICES
            .replace("\"type\": \"ECS\"", &format!("\"type\": \"{kind}\""))
            .into_boxed_str(),
    )
}

#[tokio::test]
async fn an_external_controller_service_is_refused() {
    let svc = describe(with_controller("EXTERNAL"));
    assert_eq!(
        expect_error(&[&svc], input(false)).await.name(),
        ErrorName::UnsupportedDeploymentController
    );
}

fn no_tags() -> Rule {
    mock!(Client::list_tags_for_resource).then_http_response(|| ok_json(r#"{"tags": []}"#))
}

fn no_active_deployments() -> Rule {
    mock!(aws_sdk_codedeploy::Client::list_deployments)
        .then_http_response(|| ok_json(r#"{"deployments": []}"#))
}

#[tokio::test]
async fn a_code_deploy_service_gets_a_blue_green_deployment_with_every_hook() {
    let (svc, tags) = (describe(with_controller("CODE_DEPLOY")), no_tags());
    let never = mock!(Client::update_service)
        .then_http_response(|| aws_error(400, "InvalidParameterException", "CODE_DEPLOY"));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &tags, &never]);
    let captured = Arc::new(Mutex::new(None));
    let c = captured.clone();
    let create =
        mock!(aws_sdk_codedeploy::Client::create_deployment).then_compute_response(move |req| {
            *c.lock().unwrap() = Some(req.clone());
            aws_smithy_mocks::MockResponse::Http(ok_json(r#"{"deploymentId": "d-7G5XQ9K2B"}"#))
        });
    let list = no_active_deployments();
    let cd = mock_client!(aws_sdk_codedeploy, &[&list, &create]);
    let aws = Aws {
        ecs: &ecs,
        codedeploy: &cd,
        hook_function: Some("berth-CodeDeployHook"),
    };
    let rollout = run(&aws, input(false), DateTime::from_secs(NOW))
        .await
        .unwrap();

    assert_eq!(
        never.num_calls(),
        0,
        "ECS refuses UpdateService(taskDefinition) on CODE_DEPLOY services"
    );
    let req = captured.lock().unwrap().clone().unwrap();
    assert_eq!(req.application_name(), Some("AppECS-prod-web"));
    assert_eq!(req.deployment_group_name(), Some("DgpECS-prod-web"));
    assert_eq!(req.description(), Some("berth:web-9f86d081884c web:8"));
    let content = req
        .revision()
        .unwrap()
        .app_spec_content()
        .unwrap()
        .content()
        .unwrap();
    let spec: serde_json::Value = serde_json::from_str(content).unwrap();
    assert_eq!(
        spec["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"],
        WEB8
    );
    assert_eq!(
        spec["Resources"][0]["TargetService"]["Properties"]["LoadBalancerInfo"],
        json!({"ContainerName": "app", "ContainerPort": 8080})
    );
    assert_eq!(spec["Hooks"].as_array().unwrap().len(), 5);
    assert_eq!(
        spec["Hooks"][2],
        json!({"AfterAllowTestTraffic": "berth-CodeDeployHook"})
    );
    let cdr = rollout.code_deploy.unwrap();
    assert_eq!(
        (cdr.deployment_id.as_str(), cdr.rollback),
        ("d-7G5XQ9K2B", false)
    );
    assert_eq!(rollout.ecs_deployment_id, "d-7G5XQ9K2B");
    assert_eq!(
        rollout.deadline,
        berth::time::format(DateTime::from_secs(NOW + 600))
    );
}

#[tokio::test]
async fn a_retry_finds_the_blue_green_deployment_it_started() {
    let (svc, tags) = (describe(with_controller("CODE_DEPLOY")), no_tags());
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &tags]);
    let list = mock!(aws_sdk_codedeploy::Client::list_deployments)
        .then_http_response(|| ok_json(r#"{"deployments": ["d-OTHER0001", "d-7G5XQ9K2B"]}"#));
    let get = mock!(aws_sdk_codedeploy::Client::get_deployment).then_compute_response(|req| {
        let id = req.deployment_id().unwrap().to_owned();
        let description = if id == "d-7G5XQ9K2B" { "berth:web-9f86d081884c web:8" } else { "by hand" };
        aws_smithy_mocks::MockResponse::Http(ok_json(&json!({"deploymentInfo": {"deploymentId": id, "status": "InProgress", "description": description, "computePlatform": "ECS"}}).to_string()))
    });
    let create = mock!(aws_sdk_codedeploy::Client::create_deployment)
        .then_http_response(|| ok_json(r#"{"deploymentId": "d-NEW000001"}"#));
    let cd = mock_client!(aws_sdk_codedeploy, &[&list, &get, &create]);
    let aws = Aws {
        ecs: &ecs,
        codedeploy: &cd,
        hook_function: None,
    };
    let rollout = run(&aws, input(false), DateTime::from_secs(NOW))
        .await
        .unwrap();
    assert_eq!(rollout.ecs_deployment_id, "d-7G5XQ9K2B");
    assert_eq!(create.num_calls(), 0);
}

#[tokio::test]
async fn a_missing_deployment_group_is_invalid_input_naming_the_tags() {
    let tagged = mock!(Client::list_tags_for_resource).then_http_response(|| {
        ok_json(r#"{"tags": [{"key": "berth:codedeploy-application", "value": "shop"}]}"#)
    });
    let svc = describe(with_controller("CODE_DEPLOY"));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &tagged]);
    let list = mock!(aws_sdk_codedeploy::Client::list_deployments).then_http_response(|| {
        aws_error(
            400,
            "DeploymentGroupDoesNotExistException",
            "No Deployment Group found for name: DgpECS-prod-web",
        )
    });
    let cd = mock_client!(aws_sdk_codedeploy, &[&list]);
    let aws = Aws {
        ecs: &ecs,
        codedeploy: &cd,
        hook_function: None,
    };
    let e = run(&aws, input(false), DateTime::from_secs(NOW))
        .await
        .unwrap_err();
    assert_eq!(e.name(), ErrorName::InvalidInput, "{e}");
    assert!(
        e.message().contains("berth:codedeploy-deployment-group"),
        "{e}"
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
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    run_ecs(&ecs, input(false), DateTime::from_secs(NOW))
        .await
        .unwrap();
    assert_eq!(upd.num_calls(), 3);

    let upd = mock!(Client::update_service).then_http_response(throttled);
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    let err = run_ecs(&ecs, input(false), DateTime::from_secs(NOW))
        .await
        .unwrap_err();
    assert_eq!(err.name(), ErrorName::Throttled);
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
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    let err = run_ecs(&ecs, input(false), DateTime::from_secs(NOW))
        .await
        .unwrap_err();
    assert_eq!(err.name(), ErrorName::AwsError);
    assert!(
        err.message().contains("TaskDefinition is inactive"),
        "{err}"
    );
}

/// EventBridge accepting every PutEvents; the details it was sent are kept.
fn put_events(sent: berth::testing::SentEvents) -> Rule {
    berth::testing::recording_bus(&sent)
}

/// The per-service document the ASL passes: the item's fields beside `register`.
fn document() -> serde_json::Value {
    let mut doc = input(false);
    doc["image"] = json!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:aa");
    doc["execution"] = json!({"id": "arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:x",
                              "name": "x", "startTime": "2026-11-23T02:00:00Z"});
    doc
}

#[tokio::test]
async fn an_accepted_update_is_announced_as_deploying_its_revision() {
    // GIVEN ECS accepts the update
    let (svc, upd) = (describe(SERVICES), update(Arc::default()));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    let cd = mock_client!(aws_sdk_codedeploy, &[]);
    let sent: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let put = put_events(sent.clone());
    let publisher = Publisher::new(mock_client!(aws_sdk_eventbridge, &[&put]), None);
    let aws = Aws {
        ecs: &ecs,
        codedeploy: &cd,
        hook_function: None,
    };
    // WHEN update-service runs
    run_and_announce(&aws, &publisher, document(), DateTime::from_secs(NOW))
        .await
        .unwrap();
    // THEN one DEPLOYING event names the new revision
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["phase"], "DEPLOYING");
    assert_eq!(sent[0]["revision"], WEB8);
    assert_eq!(sent[0]["service"], "web");
}

#[tokio::test]
async fn a_refused_update_announces_nothing() {
    let svc = describe(SERVICES);
    let upd = mock!(Client::update_service)
        .then_http_response(|| aws_error(400, "AccessDeniedException", "not allowed"));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    let cd = mock_client!(aws_sdk_codedeploy, &[]);
    let put = put_events(Arc::default());
    let publisher = Publisher::new(mock_client!(aws_sdk_eventbridge, &[&put]), None);
    let aws = Aws {
        ecs: &ecs,
        codedeploy: &cd,
        hook_function: None,
    };
    run_and_announce(&aws, &publisher, document(), DateTime::from_secs(NOW))
        .await
        .unwrap_err();
    assert_eq!(put.num_calls(), 0);
}

// ---------------------------------------------------------------- berth abort (berth:control)

const ME: &str = "berth-cli-web-1795996927581-2309";

fn input_of_execution() -> serde_json::Value {
    let mut v = input(false);
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

#[tokio::test]
async fn an_abort_before_the_update_refuses_with_aborted_and_changes_nothing() {
    // GIVEN web on web:7 and `berth abort` for this execution
    let (svc, upd) = (
        tagged(SERVICES, &format!("abort:{ME}")),
        update(Arc::new(Mutex::new(None))),
    );
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    let err = run_ecs(&ecs, input_of_execution(), DateTime::from_secs(NOW))
        .await
        .unwrap_err();
    // THEN Aborted (refused: the ASL ends the service NOT_STARTED) and no UpdateService
    assert_eq!(err.name(), ErrorName::Aborted);
    assert_eq!(
        err.message(),
        "aborted by hand (berth abort) before berth updated prod/web: the service was not changed"
    );
    assert_eq!(upd.num_calls(), 0);
    // A control for another execution is stale: the update goes ahead.
    let (svc, upd) = (
        tagged(SERVICES, "abort:web-0123"),
        update(Arc::new(Mutex::new(None))),
    );
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    run_ecs(&ecs, input_of_execution(), DateTime::from_secs(NOW))
        .await
        .unwrap();
    assert_eq!(upd.num_calls(), 1);
}

#[tokio::test]
async fn an_abort_after_the_update_was_made_is_left_to_the_rollback() {
    // GIVEN a retry: ECS already runs our web:8, and the service is tagged for abort
    let steady = SERVICES.replace("task-definition/web:7", "task-definition/web:8");
    let svc = tagged(&steady, &format!("abort:{ME}"));
    let upd = update(Arc::new(Mutex::new(None)));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    // THEN the rollout is reported (check-stability fails it and the ASL rolls back), not Aborted
    let rollout = run_ecs(&ecs, input_of_execution(), DateTime::from_secs(NOW))
        .await
        .unwrap();
    assert_eq!(rollout.ecs_deployment_id, "ecs-svc/9223370300000000007");
    assert_eq!(upd.num_calls(), 0);
}
