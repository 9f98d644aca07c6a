use std::sync::{Arc, Mutex};

use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_sdk_ecs::Client;
use aws_smithy_mocks::{mock, Rule};
use berth::error::ErrorName;
use berth::testing::{aws_error, mock_client, ok_json, throttled};
use serde_json::json;

use super::*;

const SERVICES: &str = include_str!("../../../../shared/fixtures/describe-services.json");
const TASK_DEF: &str = include_str!("../../../../shared/fixtures/describe-task-definition.json");
const LIST_TASKS: &str = include_str!("../../fixtures/list-tasks.json");
const TASKS: &str = include_str!("../../fixtures/describe-tasks.json");

const WEB7: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7";
const WEB8: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8";
const REPO: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web";
const NEW_DIGEST: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const RUNNING_DIGEST: &str =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";

fn input(image: &str) -> serde_json::Value {
    json!({
        "deploymentId": "web-9f86d081884c",
        "cluster": "prod",
        "service": "web",
        "container": "app",
        "image": image,
        "somethingAnotherStateAdded": {"ignored": true}
    })
}

fn describe_services(body: &'static str) -> Rule {
    mock!(Client::describe_services).then_http_response(move || ok_json(body))
}

/// The web:7 task definition as a string with `replace` applied (for variants).
fn task_def_with(from: &str, to: &str) -> String {
    TASK_DEF.replace(from, to)
}

fn describe_task_definition(body: String) -> Rule {
    mock!(Client::describe_task_definition).then_http_response(move || ok_json(&body))
}

fn tasks() -> [Rule; 2] {
    [
        mock!(Client::list_tasks).then_http_response(|| ok_json(LIST_TASKS)),
        mock!(Client::describe_tasks).then_http_response(|| ok_json(TASKS)),
    ]
}

/// DescribeTaskDefinition of the bare family ("web"), which ECS answers with its newest ACTIVE
/// revision: `body`.
fn newest(body: String) -> Rule {
    mock!(Client::describe_task_definition)
        .match_requests(|r| r.task_definition() == Some("web"))
        .then_http_response(move || ok_json(&body))
}

/// The family's newest revision is web:7, the one the service runs (tagged by an older deployment).
fn no_earlier_registration() -> Rule {
    newest(TASK_DEF.to_string())
}

/// Records the RegisterTaskDefinition request and answers like ECS, with revision 8.
fn register(captured: Arc<Mutex<Option<RegisterTaskDefinitionInput>>>) -> Rule {
    mock!(Client::register_task_definition).then_compute_response(move |req| {
        *captured.lock().unwrap() = Some(req.clone());
        aws_smithy_mocks::MockResponse::Http(ok_json(&format!(
            r#"{{"taskDefinition": {{"taskDefinitionArn": "{WEB8}", "family": "web", "revision": 8, "status": "ACTIVE", "containerDefinitions": []}}, "tags": []}}"#
        )))
    })
}

#[tokio::test]
async fn registers_a_digest_pinned_copy_and_records_the_previous_revision() {
    // GIVEN web running web:7 (app on :latest, digest 1111…) and a push of a new digest
    let captured = Arc::new(Mutex::new(None));
    let [lt, dt] = tasks();
    let (svc, td, list, reg) = (
        describe_services(SERVICES),
        describe_task_definition(TASK_DEF.to_string()),
        no_earlier_registration(),
        register(captured.clone()),
    );
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &td, &lt, &dt, &list, &reg]);

    // WHEN
    let out = run(&ecs, input(&format!("{REPO}:v2@{NEW_DIGEST}")))
        .await
        .unwrap();

    // THEN the new revision is registered once, pinned by digest, and web:7 is the rollback target
    assert_eq!(reg.num_calls(), 1);
    assert_eq!(out.task_definition_arn, WEB8);
    assert_eq!(out.previous_task_definition_arn, WEB7);
    assert_eq!(out.image, format!("{REPO}@{NEW_DIGEST}"));
    assert!(!out.reused);
    let app = out
        .previous_images
        .iter()
        .find(|i| i.container == "app")
        .unwrap();
    assert_eq!(app.image, format!("{REPO}:latest"));
    assert_eq!(app.digest.as_deref(), Some(RUNNING_DIGEST));

    // AND the request is a faithful copy with only the app image changed
    let req = captured.lock().unwrap().clone().unwrap();
    assert_eq!(req.family(), Some("web"));
    assert_eq!(req.cpu(), Some("512"));
    assert_eq!(req.memory(), Some("1024"));
    assert_eq!(
        req.task_role_arn(),
        Some("arn:aws:iam::123456789012:role/web-task")
    );
    assert_eq!(
        req.execution_role_arn(),
        Some("arn:aws:iam::123456789012:role/ecsTaskExecutionRole")
    );
    assert_eq!(
        req.runtime_platform()
            .and_then(|p| p.cpu_architecture())
            .map(|a| a.as_str()),
        Some("ARM64")
    );
    let containers = req.container_definitions();
    assert_eq!(containers.len(), 2);
    assert_eq!(
        containers[0].image(),
        Some(format!("{REPO}@{NEW_DIGEST}").as_str())
    );
    assert_eq!(containers[0].secrets().len(), 1);
    assert_eq!(
        containers[0].health_check().map(|h| h.retries()),
        Some(Some(3))
    );
    assert_eq!(
        containers[1].image(),
        Some("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable")
    );
    let tags: Vec<(&str, &str)> = req
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!(
        tags,
        vec![
            ("team", "payments"),
            ("berth:deployment-id", "web-9f86d081884c"),
            ("berth:previous-task-definition", WEB7)
        ]
    );
}

#[tokio::test]
async fn a_retry_finds_its_earlier_registration_and_registers_nothing() {
    // GIVEN an earlier attempt registered web:8 tagged with this deployment but crashed before answering
    let captured = Arc::new(Mutex::new(None));
    let [lt, dt] = tasks();
    let web8 = task_def_with("task-definition/web:7", "task-definition/web:8")
        .replace("an-older-deployment", "web-9f86d081884c");
    let svc = describe_services(SERVICES);
    let td7 = mock!(Client::describe_task_definition)
        .match_requests(|r| r.task_definition() == Some(WEB7))
        .then_http_response(|| ok_json(TASK_DEF));
    let newest8 = newest(web8);
    let reg = register(captured);
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &td7, &newest8, &lt, &dt, &reg]);

    // WHEN
    let out = run(&ecs, input(&format!("{REPO}@{NEW_DIGEST}")))
        .await
        .unwrap();

    // THEN
    assert_eq!(
        reg.num_calls(),
        0,
        "a retry must not register a second revision"
    );
    assert!(out.reused);
    assert_eq!(out.task_definition_arn, WEB8);
    assert_eq!(out.previous_task_definition_arn, WEB7);
}

#[tokio::test]
async fn a_retry_after_the_service_moved_reads_the_previous_revision_from_the_tags() {
    // GIVEN the service already runs web:8, registered by this deployment, naming web:7 as previous
    let services = SERVICES.replace(
        "task-definition/web:7\",\n      \"deploymentConfiguration",
        "task-definition/web:8\",\n      \"deploymentConfiguration",
    );
    let services: &'static str = Box::leak(services.into_boxed_str());
    let web8 = task_def_with("task-definition/web:7", "task-definition/web:8")
        .replace(r#"{ "key": "berth:deployment-id", "value": "an-older-deployment" }"#, &format!(
            r#"{{ "key": "berth:deployment-id", "value": "web-9f86d081884c" }}, {{ "key": "berth:previous-task-definition", "value": "{WEB7}" }}"#
        ));
    let svc = describe_services(services);
    let newest8 = newest(web8);
    let td7 = mock!(Client::describe_task_definition)
        .match_requests(|r| r.task_definition() == Some(WEB7))
        .then_http_response(|| ok_json(TASK_DEF));
    let reg = register(Arc::new(Mutex::new(None)));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &newest8, &td7, &reg]);

    let out = run(&ecs, input(&format!("{REPO}@{NEW_DIGEST}")))
        .await
        .unwrap();

    assert_eq!(reg.num_calls(), 0);
    assert!(out.reused);
    assert_eq!(out.task_definition_arn, WEB8);
    assert_eq!(out.previous_task_definition_arn, WEB7);
}

#[tokio::test]
async fn a_tag_only_image_is_registered_as_written() {
    let captured = Arc::new(Mutex::new(None));
    let [lt, dt] = tasks();
    let (svc, td, list, reg) = (
        describe_services(SERVICES),
        describe_task_definition(TASK_DEF.into()),
        no_earlier_registration(),
        register(captured.clone()),
    );
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &td, &lt, &dt, &list, &reg]);
    let out = run(&ecs, input(&format!("{REPO}:v2"))).await.unwrap();
    assert_eq!(out.image, format!("{REPO}:v2"));
    let req = captured.lock().unwrap().clone().unwrap();
    assert_eq!(
        req.container_definitions()[0].image(),
        Some(format!("{REPO}:v2").as_str())
    );
}

#[tokio::test]
async fn the_only_container_is_picked_when_none_is_named() {
    let single = TASK_DEF
        .split(",\n      {\n        \"name\": \"log-router\"")
        .next()
        .unwrap()
        .to_string()
        + "\n    ],\n    \"family\": \"web\"\n  },\n  \"tags\": []\n}";
    let captured = Arc::new(Mutex::new(None));
    let [lt, dt] = tasks();
    let (svc, td, list, reg) = (
        describe_services(SERVICES),
        describe_task_definition(single),
        no_earlier_registration(),
        register(captured),
    );
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &td, &lt, &dt, &list, &reg]);
    let mut req = input(&format!("{REPO}@{NEW_DIGEST}"));
    req.as_object_mut().unwrap().remove("container");
    let out = run(&ecs, req).await.unwrap();
    assert_eq!(out.container, "app");
}

/// Runs a request that must fail, and checks that nothing was registered.
async fn expect_error(ecs_rules: Vec<Rule>, request: serde_json::Value) -> berth::Error {
    let reg = register(Arc::new(Mutex::new(None)));
    let mut rules: Vec<&Rule> = ecs_rules.iter().collect();
    rules.push(&reg);
    let ecs = mock_client!(aws_sdk_ecs, &rules);
    let err = run(&ecs, request).await.unwrap_err();
    assert_eq!(reg.num_calls(), 0, "nothing may be registered on {err}");
    err
}

#[tokio::test]
async fn several_containers_and_none_named_is_ambiguous() {
    let mut req = input(&format!("{REPO}@{NEW_DIGEST}"));
    req.as_object_mut().unwrap().remove("container");
    let err = expect_error(
        vec![
            describe_services(SERVICES),
            describe_task_definition(TASK_DEF.into()),
        ],
        req,
    )
    .await;
    assert_eq!(err.name(), ErrorName::AmbiguousContainer);
    assert!(err.message().contains("app, log-router"), "{err}");
}

#[tokio::test]
async fn an_unknown_container_is_container_not_found() {
    let mut req = input(&format!("{REPO}@{NEW_DIGEST}"));
    req["container"] = json!("worker");
    let err = expect_error(
        vec![
            describe_services(SERVICES),
            describe_task_definition(TASK_DEF.into()),
        ],
        req,
    )
    .await;
    assert_eq!(err.name(), ErrorName::ContainerNotFound);
    assert!(err.message().contains("\"worker\""), "{err}");
}

#[tokio::test]
async fn an_unknown_cluster_is_cluster_not_found() {
    let svc = mock!(Client::describe_services)
        .then_http_response(|| aws_error(400, "ClusterNotFoundException", "Cluster not found."));
    let err = expect_error(vec![svc], input(&format!("{REPO}@{NEW_DIGEST}"))).await;
    assert_eq!(err.name(), ErrorName::ClusterNotFound);
}

#[tokio::test]
async fn an_unknown_service_is_service_not_found() {
    let missing = r#"{"services": [], "failures": [{"arn": "arn:aws:ecs:eu-west-1:123456789012:service/prod/nope", "reason": "MISSING"}]}"#;
    let err = expect_error(
        vec![describe_services(missing)],
        input(&format!("{REPO}@{NEW_DIGEST}")),
    )
    .await;
    assert_eq!(err.name(), ErrorName::ServiceNotFound);
    assert!(err.message().contains("MISSING"), "{err}");
}

#[tokio::test]
async fn a_draining_service_is_service_not_found() {
    let draining: &'static str = Box::leak(
        SERVICES
            .replacen("\"status\": \"ACTIVE\"", "\"status\": \"DRAINING\"", 1)
            .into_boxed_str(),
    );
    let err = expect_error(
        vec![describe_services(draining)],
        input(&format!("{REPO}@{NEW_DIGEST}")),
    )
    .await;
    assert_eq!(err.name(), ErrorName::ServiceNotFound);
    assert!(err.message().contains("DRAINING"));
}

#[tokio::test]
async fn an_external_controller_service_is_refused() {
    let external: &'static str = Box::leak(
        SERVICES
            .replace(
                "\"deploymentController\": { \"type\": \"ECS\" }",
                "\"deploymentController\": { \"type\": \"EXTERNAL\" }",
            )
            .into_boxed_str(),
    );
    let err = expect_error(
        vec![describe_services(external)],
        input(&format!("{REPO}@{NEW_DIGEST}")),
    )
    .await;
    assert_eq!(err.name(), ErrorName::UnsupportedDeploymentController);
}

#[tokio::test]
async fn malformed_images_fail_before_any_aws_call() {
    for bad in ["", "web:", "Web:1", "web@sha256:short", "a b"] {
        let svc = describe_services(SERVICES);
        let err = expect_error(vec![svc.clone()], input(bad)).await;
        assert_eq!(err.name(), ErrorName::InvalidImage, "{bad:?}");
        assert_eq!(svc.num_calls(), 0, "{bad:?} reached AWS");
    }
}

#[tokio::test]
async fn missing_or_empty_fields_are_invalid_input() {
    for (field, value) in [
        ("cluster", json!(null)),
        ("service", json!("")),
        ("deploymentId", json!("  ")),
        ("image", json!(7)),
    ] {
        let mut req = input(&format!("{REPO}@{NEW_DIGEST}"));
        if value.is_null() {
            req.as_object_mut().unwrap().remove(field);
        } else {
            req[field] = value;
        }
        let svc = describe_services(SERVICES);
        let err = expect_error(vec![svc.clone()], req).await;
        assert_eq!(err.name(), ErrorName::InvalidInput, "{field}");
        assert_eq!(svc.num_calls(), 0);
    }
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk() {
    // GIVEN DescribeServices throttled twice, then answering
    let svc = mock!(Client::describe_services)
        .sequence()
        .http_response(throttled)
        .times(2)
        .http_response(|| ok_json(SERVICES))
        .build();
    let captured = Arc::new(Mutex::new(None));
    let [lt, dt] = tasks();
    let (td, list, reg) = (
        describe_task_definition(TASK_DEF.into()),
        no_earlier_registration(),
        register(captured),
    );
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &td, &lt, &dt, &list, &reg]);
    // WHEN / THEN
    run(&ecs, input(&format!("{REPO}@{NEW_DIGEST}")))
        .await
        .unwrap();
    assert_eq!(svc.num_calls(), 3);
    assert_eq!(reg.num_calls(), 1);
}

#[tokio::test]
async fn throttling_that_outlasts_the_retries_is_throttled() {
    let svc = mock!(Client::describe_services).then_http_response(throttled);
    let err = expect_error(vec![svc.clone()], input(&format!("{REPO}@{NEW_DIGEST}"))).await;
    assert_eq!(err.name(), ErrorName::Throttled);
    assert_eq!(svc.num_calls(), berth::aws::MAX_ATTEMPTS as usize);
}

#[tokio::test]
async fn an_unknown_task_definition_is_task_definition_not_found() {
    let td = mock!(Client::describe_task_definition).then_http_response(|| {
        aws_error(
            400,
            "ClientException",
            "Unable to describe task definition.",
        )
    });
    let err = expect_error(
        vec![describe_services(SERVICES), td],
        input(&format!("{REPO}@{NEW_DIGEST}")),
    )
    .await;
    assert_eq!(err.name(), ErrorName::TaskDefinitionNotFound);
}

#[tokio::test]
async fn the_previous_digest_is_the_majority_of_running_tasks() {
    // One of the two running tasks pulled another digest (a re-pushed tag mid-scale-out):
    // ties go to the smaller digest, so the answer is stable.
    let mixed = TASKS.replacen(
        RUNNING_DIGEST,
        "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        1,
    );
    let lt = mock!(Client::list_tasks).then_http_response(|| ok_json(LIST_TASKS));
    let dt = mock!(Client::describe_tasks).then_http_response(move || ok_json(&mixed));
    let (svc, td, list, reg) = (
        describe_services(SERVICES),
        describe_task_definition(TASK_DEF.into()),
        no_earlier_registration(),
        register(Arc::new(Mutex::new(None))),
    );
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &td, &lt, &dt, &list, &reg]);
    let out = run(&ecs, input(&format!("{REPO}@{NEW_DIGEST}")))
        .await
        .unwrap();
    let app = out
        .previous_images
        .iter()
        .find(|i| i.container == "app")
        .unwrap();
    assert_eq!(
        app.digest.as_deref(),
        Some("sha256:0000000000000000000000000000000000000000000000000000000000000000")
    );
}

#[tokio::test]
async fn a_named_revision_is_deployed_as_it_is_with_what_runs_now_as_the_previous_one() {
    // GIVEN web running web:7 (digest 1111… on :latest) and a rollback by hand to web:5
    let web5 = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:5";
    let pinned = format!("{REPO}@{NEW_DIGEST}");
    let target = task_def_with(WEB7, web5).replace(&format!("{REPO}:latest"), &pinned);
    let [lt, dt] = tasks();
    let svc = describe_services(SERVICES);
    let current = mock!(Client::describe_task_definition)
        .match_requests(|r| r.task_definition() == Some(WEB7))
        .then_http_response(|| ok_json(TASK_DEF));
    let wanted = mock!(Client::describe_task_definition)
        .match_requests(|r| r.task_definition() == Some("web:5"))
        .then_http_response(move || ok_json(&target));
    let list = no_earlier_registration();
    let reg = register(Arc::new(Mutex::new(None)));
    let ecs = mock_client!(
        aws_sdk_ecs,
        &[&svc, &current, &wanted, &lt, &dt, &list, &reg]
    );
    let mut payload = input(&pinned);
    payload["taskDefinition"] = json!("web:5");

    // WHEN
    let out = run(&ecs, payload).await.unwrap();

    // THEN nothing is registered: the registration names web:5 and its image
    assert_eq!((reg.num_calls(), list.num_calls()), (0, 0));
    assert_eq!(out.task_definition_arn, web5);
    assert_eq!(out.image, pinned);
    assert!(out.existing && !out.reused);
    // AND what runs now (web:7, with its tasks' digest) is the previous revision, so a failed
    // rollback by hand goes back to it exactly
    assert_eq!(out.previous_task_definition_arn, WEB7);
    let app = out
        .previous_images
        .iter()
        .find(|i| i.container == "app")
        .unwrap();
    assert_eq!(app.digest.as_deref(), Some(RUNNING_DIGEST));
}

#[tokio::test]
async fn a_named_revision_that_is_gone_is_task_definition_not_found() {
    let svc = describe_services(SERVICES);
    let current = mock!(Client::describe_task_definition)
        .match_requests(|r| r.task_definition() == Some(WEB7))
        .then_http_response(|| ok_json(TASK_DEF));
    let gone = mock!(Client::describe_task_definition)
        .match_requests(|r| r.task_definition() == Some("web:5"))
        .then_http_response(|| {
            aws_error(
                400,
                "ClientException",
                "Unable to describe task definition.",
            )
        });
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &current, &gone]);
    let mut payload = input("unused");
    payload["taskDefinition"] = json!("web:5");
    let e = run(&ecs, payload).await.unwrap_err();
    assert_eq!(e.name(), ErrorName::TaskDefinitionNotFound);
}

/// ECS calls made through `rules` (each rule answers one kind of call).
fn calls(rules: &[&Rule]) -> usize {
    rules.iter().map(|r| r.num_calls()).sum()
}

/// web:9, registered after web:7 by another deployment (another service of the family).
fn web9_of_another_deployment() -> String {
    task_def_with("task-definition/web:7", "task-definition/web:9")
        .replace("an-older-deployment", "another-deployment")
}

#[tokio::test]
async fn a_newer_revision_of_another_deployment_is_not_reused() {
    // GIVEN web runs web:7 and the family's newest revision is web:9, tagged by another deployment
    let captured = Arc::new(Mutex::new(None));
    let [lt, dt] = tasks();
    let svc = describe_services(SERVICES);
    let newest9 = newest(web9_of_another_deployment());
    let td7 = mock!(Client::describe_task_definition)
        .match_requests(|r| r.task_definition() == Some(WEB7))
        .then_http_response(|| ok_json(TASK_DEF));
    let reg = register(captured.clone());
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &newest9, &td7, &lt, &dt, &reg]);

    // WHEN
    let out = run(&ecs, input(&format!("{REPO}@{NEW_DIGEST}")))
        .await
        .unwrap();

    // THEN a copy of web:7 (what runs), not of web:9, is registered once, and web:7 is the previous
    assert_eq!((reg.num_calls(), td7.num_calls()), (1, 1));
    assert!(!out.reused);
    assert_eq!(out.previous_task_definition_arn, WEB7);
    let req = captured.lock().unwrap().clone().unwrap();
    let previous = req
        .tags()
        .iter()
        .find(|t| t.key() == Some("berth:previous-task-definition"))
        .and_then(|t| t.value());
    assert_eq!(previous, Some(WEB7));
}

#[tokio::test]
async fn a_family_without_an_active_revision_still_registers_from_what_runs() {
    // GIVEN every revision of the family is deregistered (the service still runs INACTIVE web:7)
    let [lt, dt] = tasks();
    let svc = describe_services(SERVICES);
    let none = mock!(Client::describe_task_definition)
        .match_requests(|r| r.task_definition() == Some("web"))
        .then_http_response(|| {
            aws_error(
                400,
                "ClientException",
                "Unable to describe task definition.",
            )
        });
    let td7 = mock!(Client::describe_task_definition)
        .match_requests(|r| r.task_definition() == Some(WEB7))
        .then_http_response(|| ok_json(TASK_DEF));
    let reg = register(Arc::new(Mutex::new(None)));
    let ecs = mock_client!(aws_sdk_ecs, &[&svc, &none, &td7, &lt, &dt, &reg]);

    // WHEN
    let out = run(&ecs, input(&format!("{REPO}@{NEW_DIGEST}")))
        .await
        .unwrap();

    // THEN
    assert_eq!(reg.num_calls(), 1);
    assert_eq!(out.previous_task_definition_arn, WEB7);
}

#[tokio::test]
async fn every_path_makes_at_most_six_ecs_calls() {
    // ECS's API buckets are shared account-wide and one push may deploy hundreds of services:
    // each invoke makes at most 6 calls (the retry lookback it replaces made up to 16).
    let image = format!("{REPO}@{NEW_DIGEST}");
    let td7 = || {
        mock!(Client::describe_task_definition)
            .match_requests(|r| r.task_definition() == Some(WEB7))
            .then_http_response(|| ok_json(TASK_DEF))
    };
    let ours8 = || {
        task_def_with("task-definition/web:7", "task-definition/web:8")
            .replace("an-older-deployment", "web-9f86d081884c")
    };
    let mut made = vec![];

    // first attempt, the service runs the family's newest revision: DescribeServices,
    // DescribeTaskDefinition (family = current), ListTasks, DescribeTasks, RegisterTaskDefinition
    {
        let [lt, dt] = tasks();
        let (svc, fam, reg) = (
            describe_services(SERVICES),
            no_earlier_registration(),
            register(Arc::new(Mutex::new(None))),
        );
        let rules = [&svc, &fam, &lt, &dt, &reg];
        let ecs = mock_client!(aws_sdk_ecs, &rules);
        let out = run(&ecs, input(&image)).await.unwrap();
        assert!(!out.reused);
        made.push(("first attempt", calls(&rules), 5));
    }
    // first attempt, a newer revision of another deployment exists: + DescribeTaskDefinition (current)
    {
        let [lt, dt] = tasks();
        let (svc, fam, cur, reg) = (
            describe_services(SERVICES),
            newest(web9_of_another_deployment()),
            td7(),
            register(Arc::new(Mutex::new(None))),
        );
        let rules = [&svc, &fam, &cur, &lt, &dt, &reg];
        let ecs = mock_client!(aws_sdk_ecs, &rules);
        run(&ecs, input(&image)).await.unwrap();
        made.push((
            "first attempt, newer revision of the family",
            calls(&rules),
            6,
        ));
    }
    // a retry that finds its earlier registration: nothing registered
    {
        let [lt, dt] = tasks();
        let (svc, fam, cur, reg) = (
            describe_services(SERVICES),
            newest(ours8()),
            td7(),
            register(Arc::new(Mutex::new(None))),
        );
        let rules = [&svc, &fam, &cur, &lt, &dt, &reg];
        let ecs = mock_client!(aws_sdk_ecs, &rules);
        let out = run(&ecs, input(&image)).await.unwrap();
        assert!(out.reused && reg.num_calls() == 0);
        made.push(("retry, earlier registration found", calls(&rules), 5));
    }
    // a retry after update-service: the service runs ours; its tag names the previous revision
    {
        let services = SERVICES.replace(
            "task-definition/web:7\",\n      \"deploymentConfiguration",
            "task-definition/web:8\",\n      \"deploymentConfiguration",
        );
        let services: &'static str = Box::leak(services.into_boxed_str());
        let running8 = ours8().replace(
            r#"{ "key": "berth:deployment-id", "value": "web-9f86d081884c" }"#,
            &format!(
                r#"{{ "key": "berth:deployment-id", "value": "web-9f86d081884c" }}, {{ "key": "berth:previous-task-definition", "value": "{WEB7}" }}"#
            ),
        );
        let [lt, dt] = tasks();
        let (svc, fam, prev, reg) = (
            describe_services(services),
            newest(running8),
            td7(),
            register(Arc::new(Mutex::new(None))),
        );
        let rules = [&svc, &fam, &prev, &lt, &dt, &reg];
        let ecs = mock_client!(aws_sdk_ecs, &rules);
        let out = run(&ecs, input(&image)).await.unwrap();
        assert!(out.reused && out.previous_task_definition_arn == WEB7);
        made.push(("retry, the service runs ours", calls(&rules), 3));
    }
    // a rollback by hand (a named revision): DescribeServices, current, target, ListTasks, DescribeTasks
    {
        let [lt, dt] = tasks();
        let target = mock!(Client::describe_task_definition)
            .match_requests(|r| r.task_definition() == Some("web:5"))
            .then_http_response(|| {
                ok_json(&task_def_with(
                    WEB7,
                    "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:5",
                ))
            });
        let (svc, fam, cur, reg) = (
            describe_services(SERVICES),
            no_earlier_registration(),
            td7(),
            register(Arc::new(Mutex::new(None))),
        );
        let rules = [&svc, &fam, &cur, &target, &lt, &dt, &reg];
        let ecs = mock_client!(aws_sdk_ecs, &rules);
        let mut payload = input(&image);
        payload["taskDefinition"] = json!("web:5");
        let out = run(&ecs, payload).await.unwrap();
        assert!(out.existing);
        made.push(("rollback by hand", calls(&rules), 5));
    }

    for (path, n, expected) in &made {
        assert!(*n <= 6, "{path}: {n} ECS calls, more than 6");
        assert_eq!(n, expected, "{path}");
    }
}
