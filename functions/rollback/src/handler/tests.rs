use std::sync::{Arc, Mutex};

use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_sdk_ecs::Client;
use aws_smithy_mocks::{mock, MockResponse, Rule};
use berth::error::ErrorName;
use berth::testing::{mock_client, ok_json, throttled};
use serde_json::json;

use super::*;

async fn run_ecs(
    ecs: &Client,
    payload: serde_json::Value,
    now: DateTime,
) -> berth::Result<RollbackResult> {
    let cd = mock_client!(aws_sdk_codedeploy, &[]);
    run(
        &Aws {
            ecs,
            codedeploy: &cd,
        },
        payload,
        now,
    )
    .await
}

const DEPLOYING: &str = include_str!("../../fixtures/describe-services-deploying.json");
const BREAKER_ROLLED_BACK: &str =
    include_str!("../../../../shared/fixtures/circuit-breaker-rolled-back.json");
const TASK_DEF: &str = include_str!("../../../../shared/fixtures/describe-task-definition.json");
const TO_WEB7: &str = include_str!("../../fixtures/update-service-to-web7.json");
const TO_WEB9: &str = include_str!("../../fixtures/update-service-to-web9.json");

const ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/";
const REPO: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web";
const RUNNING_DIGEST: &str =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const NOW: i64 = 1_795_001_500;

fn input(previous: &str, previous_image: &str, digest: Option<&str>) -> serde_json::Value {
    json!({
        "deploymentId": "web-9f86d081884c",
        "cluster": "prod",
        "service": "web",
        "rollbackTimeoutSeconds": 300,
        "register": {
            "taskDefinitionArn": format!("{ARN}web:8"),
            "previousTaskDefinitionArn": format!("{ARN}{previous}"),
            "container": "app",
            "image": format!("{REPO}@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
            "previousImages": [
                {"container": "app", "image": previous_image, "digest": digest},
                {"container": "log-router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable", "digest": null}
            ],
            "reused": false
        },
        "stability": {"status": "FAILED", "reason": "HealthChecksFailing"}
    })
}

fn describe(body: &'static str) -> Rule {
    mock!(Client::describe_services).then_http_response(move || ok_json(body))
}

/// UpdateService answering like ECS for whatever revision it was sent.
fn update(captured: Arc<Mutex<Vec<String>>>) -> Rule {
    mock!(Client::update_service).then_compute_response(move |req| {
        let td = req.task_definition().unwrap_or_default().to_owned();
        assert_eq!(
            req.desired_count(),
            None,
            "desiredCount belongs to the autoscaler"
        );
        captured.lock().unwrap().push(td.clone());
        let body = if td.ends_with(":9") {
            TO_WEB9.to_string()
        } else {
            TO_WEB7.replace(&format!("{ARN}web:7\""), &format!("{td}\""))
        };
        MockResponse::Http(ok_json(&body))
    })
}

fn no_pinned_copy_yet() -> Rule {
    mock!(Client::list_task_definitions)
        .then_http_response(|| ok_json(r#"{"taskDefinitionArns": []}"#))
}

#[tokio::test]
async fn rolls_back_to_the_exact_recorded_revision_not_revision_minus_one() {
    // GIVEN the service ran web:5 before (web:6 and web:7 were registered out of band since)
    let sent = Arc::new(Mutex::new(vec![]));
    let (svc, upd) = (describe(DEPLOYING), update(sent.clone()));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    // WHEN
    let out = run_ecs(
        &ecs,
        input(
            "web:5",
            &format!("{REPO}@{RUNNING_DIGEST}"),
            Some(RUNNING_DIGEST),
        ),
        DateTime::from_secs(NOW),
    )
    .await
    .unwrap();
    // THEN
    assert_eq!(*sent.lock().unwrap(), vec![format!("{ARN}web:5")]);
    assert_eq!(out.task_definition_arn, format!("{ARN}web:5"));
    assert!(
        out.pinned_images.is_empty(),
        "a digest-pinned revision needs no re-pinning"
    );
    assert!(!out.already_rolled_back);
    assert_eq!(out.rollout.ecs_deployment_id, "ecs-svc/9223370300000000010");
    assert_eq!(
        out.rollout.deadline,
        berth::time::format(DateTime::from_secs(NOW + 300))
    );
}

#[tokio::test]
async fn a_mutable_tag_is_re_pinned_to_the_digest_that_was_running() {
    // GIVEN web:7 named web:latest and its tasks ran digest 1111…
    let sent = Arc::new(Mutex::new(vec![]));
    let registered: Arc<Mutex<Option<RegisterTaskDefinitionInput>>> = Arc::new(Mutex::new(None));
    let reg_capture = registered.clone();
    let reg = mock!(Client::register_task_definition).then_compute_response(move |req| {
        *reg_capture.lock().unwrap() = Some(req.clone());
        MockResponse::Http(ok_json(&format!(r#"{{"taskDefinition": {{"taskDefinitionArn": "{ARN}web:9", "family": "web", "revision": 9}}}}"#)))
    });
    let td = mock!(Client::describe_task_definition).then_http_response(|| ok_json(TASK_DEF));
    let (svc, list, upd) = (
        describe(DEPLOYING),
        no_pinned_copy_yet(),
        update(sent.clone()),
    );
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &list, &td, &reg, &upd]);
    // WHEN
    let out = run_ecs(
        &ecs,
        input("web:7", &format!("{REPO}:latest"), Some(RUNNING_DIGEST)),
        DateTime::from_secs(NOW),
    )
    .await
    .unwrap();
    // THEN a copy of web:7 pinned to that digest runs, so the rollback pulls the same bytes
    let req = registered.lock().unwrap().clone().unwrap();
    assert_eq!(
        req.container_definitions()[0].image(),
        Some(format!("{REPO}@{RUNNING_DIGEST}").as_str())
    );
    assert_eq!(
        req.container_definitions()[1].image(),
        Some("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable")
    );
    let tags: Vec<_> = req
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
        .collect();
    assert!(
        tags.contains(&("berth:rollback-of".into(), "web-9f86d081884c".into())),
        "{tags:?}"
    );
    assert!(
        !tags
            .iter()
            .any(|(k, v)| k == "berth:deployment-id" && v == "an-older-deployment"),
        "stale berth tags are not copied"
    );
    assert_eq!(*sent.lock().unwrap(), vec![format!("{ARN}web:9")]);
    assert_eq!(out.previous_task_definition_arn, format!("{ARN}web:7"));
    assert_eq!(out.pinned_images.len(), 1);
    assert_eq!(
        out.pinned_images[0].image,
        format!("{REPO}@{RUNNING_DIGEST}")
    );
}

#[tokio::test]
async fn a_retried_rollback_reuses_its_pinned_copy() {
    let tagged = TASK_DEF
        .replace("task-definition/web:7", "task-definition/web:9")
        .replace(
            r#"{ "key": "berth:deployment-id", "value": "an-older-deployment" }"#,
            r#"{ "key": "berth:rollback-of", "value": "web-9f86d081884c" }"#,
        );
    let list = mock!(Client::list_task_definitions).then_http_response(|| {
        ok_json(&format!(
            r#"{{"taskDefinitionArns": ["{ARN}web:9", "{ARN}web:8"]}}"#
        ))
    });
    let td9 = mock!(Client::describe_task_definition)
        .match_requests(|r| r.task_definition().is_some_and(|t| t.ends_with(":9")))
        .then_http_response(move || ok_json(&tagged));
    let reg = mock!(Client::register_task_definition).then_http_response(|| ok_json("{}"));
    let sent = Arc::new(Mutex::new(vec![]));
    let (svc, upd) = (describe(DEPLOYING), update(sent.clone()));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &list, &td9, &reg, &upd]);
    let out = run_ecs(
        &ecs,
        input("web:7", &format!("{REPO}:latest"), Some(RUNNING_DIGEST)),
        DateTime::from_secs(NOW),
    )
    .await
    .unwrap();
    assert_eq!(reg.num_calls(), 0);
    assert_eq!(out.task_definition_arn, format!("{ARN}web:9"));
    assert_eq!(*sent.lock().unwrap(), vec![format!("{ARN}web:9")]);
}

#[tokio::test]
async fn after_the_breaker_rolled_back_nothing_is_redeployed() {
    // GIVEN ECS's circuit breaker already runs web:7 again
    let sent = Arc::new(Mutex::new(vec![]));
    let (svc, upd) = (describe(BREAKER_ROLLED_BACK), update(sent.clone()));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    let out = run_ecs(
        &ecs,
        input(
            "web:7",
            &format!("{REPO}@{RUNNING_DIGEST}"),
            Some(RUNNING_DIGEST),
        ),
        DateTime::from_secs(NOW),
    )
    .await
    .unwrap();
    assert!(sent.lock().unwrap().is_empty());
    assert!(out.already_rolled_back);
    assert_eq!(out.rollout.ecs_deployment_id, "ecs-svc/9223370300000000009");
    assert!(out.detail.contains("already runs web:7"), "{}", out.detail);
}

/// A service answer (`services[]` of DescribeServices or `service` of UpdateService) naming the
/// service deployment ECS runs.
fn with_service_deployment(body: &str, arn: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(body).unwrap();
    match v.get_mut("services") {
        Some(services) => services[0]["currentServiceDeployment"] = arn.into(),
        None => v["service"]["currentServiceDeployment"] = arn.into(),
    }
    v.to_string()
}

const SD_OURS: &str =
    "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/OURS0000000000000001";
const SD_ROLLBACK: &str =
    "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/BERTHROLLBACK0000001";

#[tokio::test]
async fn berths_own_rollback_deployment_is_watched_through_its_service_deployment_ecs_own_is_not() {
    // GIVEN berth redeploys web:5 and ECS names the service deployment it started for that
    let svc = mock!(Client::describe_services)
        .then_http_response(|| ok_json(&with_service_deployment(DEPLOYING, SD_OURS)));
    let upd = mock!(Client::update_service).then_http_response(|| {
        let body = TO_WEB7.replace(&format!("{ARN}web:7\""), &format!("{ARN}web:5\""));
        ok_json(&with_service_deployment(&body, SD_ROLLBACK))
    });
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    let out = run_ecs(
        &ecs,
        input(
            "web:5",
            &format!("{REPO}@{RUNNING_DIGEST}"),
            Some(RUNNING_DIGEST),
        ),
        DateTime::from_secs(NOW),
    )
    .await
    .unwrap();
    // THEN WatchRollback reads ECS's verdict on berth's rollback
    assert_eq!(upd.num_calls(), 1);
    assert_eq!(
        out.rollout.service_deployment_arn.as_deref(),
        Some(SD_ROLLBACK)
    );

    // GIVEN instead ECS rolled back on its own: the service is on web:7 again and its current
    // service deployment is ours, ROLLBACK_SUCCESSFUL
    let svc = mock!(Client::describe_services)
        .then_http_response(|| ok_json(&with_service_deployment(BREAKER_ROLLED_BACK, SD_OURS)));
    let upd = update(Arc::new(Mutex::new(vec![])));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    let out = run_ecs(
        &ecs,
        input(
            "web:7",
            &format!("{REPO}@{RUNNING_DIGEST}"),
            Some(RUNNING_DIGEST),
        ),
        DateTime::from_secs(NOW),
    )
    .await
    .unwrap();
    // THEN berth does not fight ECS's rollback, and watches the restored revision from
    // DescribeServices (ECS's verdict on that service deployment is the failure being undone)
    assert_eq!(upd.num_calls(), 0);
    assert!(out.already_rolled_back);
    assert_eq!(out.rollout.service_deployment_arn, None);
}

#[tokio::test]
async fn without_a_recorded_revision_rollback_refuses_and_changes_nothing() {
    let sent = Arc::new(Mutex::new(vec![]));
    let (svc, upd) = (describe(DEPLOYING), update(sent.clone()));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    let mut req = input("web:7", "x", None);
    req.as_object_mut().unwrap().remove("register");
    let err = run_ecs(&ecs, req, DateTime::from_secs(NOW))
        .await
        .unwrap_err();
    assert_eq!(err.name(), ErrorName::RollbackTargetMissing);
    let mut req = input("web:7", "x", None);
    req["register"]["previousTaskDefinitionArn"] = json!("");
    assert_eq!(
        run_ecs(&ecs, req, DateTime::from_secs(NOW))
            .await
            .unwrap_err()
            .name(),
        ErrorName::RollbackTargetMissing
    );
    assert_eq!(svc.num_calls() + upd.num_calls(), 0);
}

#[tokio::test]
async fn a_throttled_rollback_is_retried() {
    let upd = mock!(Client::update_service)
        .sequence()
        .http_response(throttled)
        .times(3)
        .http_response(|| ok_json(TO_WEB7))
        .build();
    let svc = describe(DEPLOYING);
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    let out = run_ecs(
        &ecs,
        input("web:7", &format!("{REPO}@{RUNNING_DIGEST}"), None),
        DateTime::from_secs(NOW),
    )
    .await
    .unwrap();
    assert_eq!(upd.num_calls(), 4);
    assert_eq!(out.task_definition_arn, format!("{ARN}web:7"));
}

#[tokio::test]
async fn an_unknown_digest_leaves_the_tag_as_it_was() {
    // No task was running before (service scaled to zero): there is no digest to restore.
    let sent = Arc::new(Mutex::new(vec![]));
    let (svc, upd) = (describe(DEPLOYING), update(sent.clone()));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    let out = run_ecs(
        &ecs,
        input("web:7", &format!("{REPO}:latest"), None),
        DateTime::from_secs(NOW),
    )
    .await
    .unwrap();
    assert_eq!(*sent.lock().unwrap(), vec![format!("{ARN}web:7")]);
    assert!(out.pinned_images.is_empty());
}

// ---------------------------------------------------------------- CODE_DEPLOY services

const CD_ID: &str = "d-7G5XQ9K2B";

fn code_deploy_service() -> Rule {
    let body: &'static str = Box::leak(
        DEPLOYING
            .replace("\"type\": \"ECS\"", "\"type\": \"CODE_DEPLOY\"")
            .into_boxed_str(),
    );
    assert!(body.contains("CODE_DEPLOY"));
    describe(body)
}

fn cd_input() -> serde_json::Value {
    let mut v = input(
        "web:7",
        &format!("{REPO}@{RUNNING_DIGEST}"),
        Some(RUNNING_DIGEST),
    );
    v["update"] = json!({
        "ecsDeploymentId": CD_ID, "taskDefinitionArn": format!("{ARN}web:8"),
        "startedAt": "2026-11-23T08:00:00Z", "deadline": "2026-11-23T08:30:00Z", "desiredCount": 2,
        "codeDeploy": {"application": "AppECS-prod-web", "deploymentGroup": "DgpECS-prod-web", "deploymentId": CD_ID}
    });
    v
}

fn cd_status(status: &'static str) -> Rule {
    mock!(aws_sdk_codedeploy::Client::get_deployment).then_http_response(move || {
        ok_json(&json!({"deploymentInfo": {"deploymentId": CD_ID, "status": status, "computePlatform": "ECS"}}).to_string())
    })
}

#[tokio::test]
async fn an_active_blue_green_deployment_is_stopped_with_auto_rollback() {
    let (svc, never) = (code_deploy_service(), update(Arc::new(Mutex::new(vec![]))));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &never]);
    let stopped = Arc::new(Mutex::new(None));
    let s = stopped.clone();
    let stop =
        mock!(aws_sdk_codedeploy::Client::stop_deployment).then_compute_response(move |req| {
            *s.lock().unwrap() = Some((
                req.deployment_id().unwrap().to_owned(),
                req.auto_rollback_enabled(),
            ));
            MockResponse::Http(ok_json(
                r#"{"status": "Pending", "statusMessage": "Stopping deployment and rolling back"}"#,
            ))
        });
    let get = cd_status("InProgress");
    let cd = mock_client!(aws_sdk_codedeploy, &[&get, &stop]);
    let out = run(
        &Aws {
            ecs: &ecs,
            codedeploy: &cd,
        },
        cd_input(),
        DateTime::from_secs(NOW),
    )
    .await
    .unwrap();
    assert_eq!(
        *stopped.lock().unwrap(),
        Some((CD_ID.to_owned(), Some(true)))
    );
    assert_eq!(
        never.num_calls(),
        0,
        "no UpdateService on a CODE_DEPLOY service"
    );
    let c = out.rollout.code_deploy.unwrap();
    assert_eq!((c.deployment_id.as_str(), c.rollback), (CD_ID, true));
    assert_eq!(out.task_definition_arn, format!("{ARN}web:7"));
    assert!(!out.already_rolled_back);
    assert!(out.detail.contains("auto-rollback"), "{}", out.detail);
}

#[tokio::test]
async fn a_failed_blue_green_deployment_is_left_to_codedeploys_own_rollback() {
    let svc = code_deploy_service();
    let ecs = mock_client!(aws_sdk_ecs, &[&svc]);
    let get = cd_status("Failed");
    let stop =
        mock!(aws_sdk_codedeploy::Client::stop_deployment).then_http_response(|| ok_json("{}"));
    let cd = mock_client!(aws_sdk_codedeploy, &[&get, &stop]);
    let out = run(
        &Aws {
            ecs: &ecs,
            codedeploy: &cd,
        },
        cd_input(),
        DateTime::from_secs(NOW),
    )
    .await
    .unwrap();
    assert_eq!(stop.num_calls(), 0);
    assert!(out.already_rolled_back);
    assert!(out.rollout.code_deploy.unwrap().rollback);
}

#[tokio::test]
async fn a_succeeded_blue_green_deployment_is_undone_by_redeploying_the_previous_revision() {
    let svc = code_deploy_service();
    let ecs = mock_client!(aws_sdk_ecs, &[&svc]);
    let get = cd_status("Succeeded");
    let sent = Arc::new(Mutex::new(None));
    let s = sent.clone();
    let create =
        mock!(aws_sdk_codedeploy::Client::create_deployment).then_compute_response(move |req| {
            *s.lock().unwrap() = Some(
                req.revision()
                    .unwrap()
                    .app_spec_content()
                    .unwrap()
                    .content()
                    .unwrap()
                    .to_owned(),
            );
            MockResponse::Http(ok_json(r#"{"deploymentId": "d-REDEPLOY1"}"#))
        });
    let cd = mock_client!(aws_sdk_codedeploy, &[&get, &create]);
    let out = run(
        &Aws {
            ecs: &ecs,
            codedeploy: &cd,
        },
        cd_input(),
        DateTime::from_secs(NOW),
    )
    .await
    .unwrap();
    let spec: serde_json::Value =
        serde_json::from_str(&sent.lock().unwrap().clone().unwrap()).unwrap();
    assert_eq!(
        spec["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"],
        format!("{ARN}web:7")
    );
    assert!(spec.get("Hooks").is_none());
    let c = out.rollout.code_deploy.unwrap();
    assert_eq!(
        (c.deployment_id.as_str(), c.rollback),
        ("d-REDEPLOY1", false)
    );
}

#[tokio::test]
async fn nothing_started_means_nothing_to_stop() {
    let svc = code_deploy_service();
    let tags =
        mock!(Client::list_tags_for_resource).then_http_response(|| ok_json(r#"{"tags": []}"#));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &tags]);
    let list = mock!(aws_sdk_codedeploy::Client::list_deployments)
        .then_http_response(|| ok_json(r#"{"deployments": []}"#));
    let cd = mock_client!(aws_sdk_codedeploy, &[&list]);
    let mut req = cd_input();
    req.as_object_mut().unwrap().remove("update");
    let out = run(
        &Aws {
            ecs: &ecs,
            codedeploy: &cd,
        },
        req,
        DateTime::from_secs(NOW),
    )
    .await
    .unwrap();
    assert!(out.already_rolled_back);
    assert_eq!(out.rollout.code_deploy.unwrap().deployment_id, "");
    assert_eq!(list.num_calls(), 1);
}

#[tokio::test]
async fn the_rollback_is_announced_with_its_target_and_its_cause() {
    // GIVEN a rollout whose tasks failed health checks, as check-stability recorded it
    let mut doc = input(
        "web:5",
        &format!("{REPO}@{RUNNING_DIGEST}"),
        Some(RUNNING_DIGEST),
    );
    doc["image"] = json!(format!("{REPO}@sha256:aa"));
    doc["execution"] = json!({"id": "arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:x",
                              "name": "x", "startTime": "2026-11-23T02:00:00Z"});
    doc["stability"] = json!({"status": "FAILED", "reason": "HealthChecksFailing",
        "detail": "3 task(s) failed ELB health checks", "ecsDeploymentId": "ecs-svc/2",
        "taskDefinitionArn": format!("{ARN}web:8"), "primaryTaskDefinitionArn": null,
        "rolloutState": null, "rolloutStateReason": null, "desiredCount": 2, "runningCount": 0,
        "pendingCount": 0, "failedTasks": 0, "unhealthyTasks": 3, "events": [],
        "checkedAt": "2026-11-23T02:05:00Z"});
    let (svc, upd) = (describe(DEPLOYING), update(Arc::default()));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &upd]);
    let cd = mock_client!(aws_sdk_codedeploy, &[]);
    let sent = berth::testing::SentEvents::default();
    let put = berth::testing::recording_bus(&sent);
    let publisher = Publisher::new(mock_client!(aws_sdk_eventbridge, &[&put]), None);
    // WHEN rollback runs
    run_and_announce(
        &Aws {
            ecs: &ecs,
            codedeploy: &cd,
        },
        &publisher,
        doc,
        DateTime::from_secs(NOW),
    )
    .await
    .unwrap();
    // THEN ROLLING_BACK names where the service goes back to and why
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["phase"], "ROLLING_BACK");
    assert_eq!(sent[0]["revision"], format!("{ARN}web:5"));
    assert_eq!(
        sent[0]["cause"],
        "rollout FAILED (HealthChecksFailing): 3 task(s) failed ELB health checks"
    );
}
