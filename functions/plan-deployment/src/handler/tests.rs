use aws_sdk_ecs::Client;
use aws_smithy_mocks::{mock, Rule};
use berth::error::ErrorName;
use berth::model::Comparison;
use berth::testing::{aws_error, mock_client, ok_json};
use serde_json::json;

use super::*;

const SERVICES: &str = include_str!("../../../../shared/fixtures/describe-services.json");
const TASK_DEF: &str = include_str!("../../../../shared/fixtures/describe-task-definition.json");
const TAGGED: &str = include_str!("../../fixtures/describe-services-tagged.json");
const CLUSTERS: &str = include_str!("../../fixtures/list-clusters.json");
const LIST_SERVICES: &str = include_str!("../../fixtures/list-services.json");
const PUSH: &str = include_str!("../../../../shared/fixtures/ecr-push.json");
const NOW: i64 = 1_795_003_000;

fn settings() -> Settings {
    Settings::from_lookup(|_| None).unwrap()
}

fn with_execution(request: serde_json::Value) -> serde_json::Value {
    json!({
        "request": request,
        "execution": {
            "id": "arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:web-9f86d081884c7d659a2feaa0",
            "name": "web-9f86d081884c7d659a2feaa0",
            "startTime": "2026-11-23T02:00:00.123Z"
        }
    })
}

fn console(overrides: serde_json::Value) -> serde_json::Value {
    let mut req = json!({
        "cluster": "prod",
        "service": "web",
        "container": "app",
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v2",
        "pollIntervalSeconds": 5
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            req.as_object_mut().unwrap().remove(k);
        } else {
            req[k] = v.clone();
        }
    }
    with_execution(req)
}

fn existing_service() -> [Rule; 2] {
    [
        mock!(Client::describe_services).then_http_response(|| ok_json(SERVICES)),
        mock!(Client::describe_task_definition).then_http_response(|| ok_json(TASK_DEF)),
    ]
}

/// CloudWatch knows these alarms (the ones the fixtures' tags name).
fn alarms_exist(names: &'static [&'static str]) -> Rule {
    use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
    use aws_sdk_cloudwatch::types::MetricAlarm;
    mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(move || {
        DescribeAlarmsOutput::builder()
            .set_metric_alarms(Some(
                names
                    .iter()
                    .map(|n| MetricAlarm::builder().alarm_name(*n).build())
                    .collect(),
            ))
            .build()
    })
}

/// ECR has every image but `web:gone` (ImageNotFoundException, as ECR answers).
fn images_exist() -> Rule {
    use aws_sdk_ecr::operation::describe_images::DescribeImagesError;
    use aws_sdk_ecr::types::error::ImageNotFoundException;
    mock!(aws_sdk_ecr::Client::describe_images)
        .match_requests(|r| r.image_ids().iter().any(|i| i.image_tag() == Some("gone")))
        .then_error(|| {
            DescribeImagesError::ImageNotFoundException(
                ImageNotFoundException::builder()
                    .message("The image with imageId {imageTag:'gone'} does not exist within the repository with name 'web'")
                    .build(),
            )
        })
}

/// ... and every other image is there.
fn any_image() -> Rule {
    use aws_sdk_ecr::operation::describe_images::DescribeImagesOutput;
    mock!(aws_sdk_ecr::Client::describe_images)
        .then_output(|| DescribeImagesOutput::builder().build())
}

async fn plan_in(
    rules: &[&Rule],
    settings: &Settings,
    payload: serde_json::Value,
) -> berth::Result<Plan> {
    let alarms = alarms_exist(&["web-5xx-high", "web-latency", "web-5xx"]);
    let (gone, images) = (images_exist(), any_image());
    // every service's task definition is the fixture's, unless a test's own rule says otherwise
    let td = mock!(Client::describe_task_definition).then_http_response(|| ok_json(TASK_DEF));
    let rules: Vec<&Rule> = rules.iter().copied().chain([&td]).collect();
    let aws = Aws {
        ecs: &mock_client!(aws_sdk_ecs, &rules),
        cloudwatch: &mock_client!(aws_sdk_cloudwatch, &[&alarms]),
        ecr: &mock_client!(aws_sdk_ecr, &[&gone, &images]),
    };
    run(&aws, settings, payload, DateTime::from_secs(NOW)).await
}

async fn plan_with(rules: &[&Rule], payload: serde_json::Value) -> berth::Result<Plan> {
    plan_in(rules, &settings(), payload).await
}

#[tokio::test]
async fn a_console_request_becomes_one_deployment() {
    let [svc, td] = existing_service();
    let plan = plan_with(&[&svc, &td], console(json!({}))).await.unwrap();
    assert_eq!(plan.source, "console");
    let item = &plan.deployments[0];
    assert_eq!(item.deployment_id, "web-9f86d081884c7d659a2feaa0/prod/web");
    assert_eq!(item.repository, "web");
    assert_eq!(item.poll_interval_seconds, 5);
    assert_eq!(item.timeout_seconds, 1800);
    assert_eq!(
        item.turn_deadline,
        berth::time::format(DateTime::from_secs(NOW + 1800))
    );
    assert!(item.canary.is_none());
}

#[tokio::test]
async fn an_unnamed_execution_takes_its_name_from_the_arn() {
    let [svc, td] = existing_service();
    let mut payload = console(json!({}));
    payload["execution"]["name"] = json!(null);
    let plan = plan_with(&[&svc, &td], payload).await.unwrap();
    assert_eq!(
        plan.deployments[0].deployment_id,
        "web-9f86d081884c7d659a2feaa0/prod/web"
    );
}

#[tokio::test]
async fn bad_console_input_is_named_and_reaches_no_service() {
    let cases = [
        (json!({"service": null}), ErrorName::InvalidInput),
        (json!({"image": "web::1"}), ErrorName::InvalidImage),
        (json!({"imgae": "typo"}), ErrorName::InvalidInput),
        (json!({"timeoutSeconds": 0}), ErrorName::InvalidInput),
        (json!({"canary": {"metrics": []}}), ErrorName::InvalidInput),
        // typos at every level are refused, never dropped (or, for comparision, inverted)
        (
            json!({"canary": {"bakeSecond": 60, "alarms": ["web-5xx"]}}),
            ErrorName::InvalidInput,
        ),
        (
            json!({"canary": {"onInconclusve": "promote", "alarms": ["web-5xx"]}}),
            ErrorName::InvalidInput,
        ),
        (
            json!({"canary": {"metrics": [metric(json!({"comparision": "LessThanThreshold"}))]}}),
            ErrorName::InvalidInput,
        ),
        (
            json!({"canary": {"metrics": [metric(json!({"metric": {"namespace": "AWS/ApplicationELB", "metricName": "RequestCount", "dimension": {"LoadBalancer": "x"}}}))]}}),
            ErrorName::InvalidInput,
        ),
        // what CloudWatch would refuse, found before any change
        (
            json!({"canary": {"metrics": [expression("100 * errors / reqests")]}}),
            ErrorName::InvalidInput,
        ),
        (
            json!({"canary": {"metrics": [expression("100 * (errors / requests")]}}),
            ErrorName::InvalidInput,
        ),
        (
            json!({"canary": {"metrics": [metric(json!({"metric": {"namespace": "AWS/ApplicationELB", "metricName": "TargetResponseTime", "stat": "p999x"}}))]}}),
            ErrorName::InvalidInput,
        ),
        (
            json!({"canary": {"metrics": [metric(json!({"period": 7}))]}}),
            ErrorName::InvalidInput,
        ),
        (
            json!({"canary": {"intervalSeconds": 0, "alarms": ["web-5xx"]}}),
            ErrorName::InvalidInput,
        ),
        // numbers out of their documented ranges
        (json!({"timeoutSeconds": u64::MAX}), ErrorName::InvalidInput),
        (
            json!({"pollIntervalSeconds": 1_000_000_000u64}),
            ErrorName::InvalidInput,
        ),
        (
            json!({"canary": {"bakeSeconds": 1u64 << 63, "alarms": ["web-5xx"]}}),
            ErrorName::InvalidInput,
        ),
        (json!({"timeoutSeconds": -5}), ErrorName::InvalidInput),
        (json!({"timeoutSeconds": 2.5}), ErrorName::InvalidInput),
        // lowercase hex digests only (OCI)
        (
            json!({"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"}),
            ErrorName::InvalidImage,
        ),
        (json!({"cluster": "c".repeat(300)}), ErrorName::InvalidInput),
    ];
    for (overrides, name) in cases {
        let [svc, td] = existing_service();
        let err = plan_with(&[&svc, &td], console(overrides.clone()))
            .await
            .unwrap_err();
        assert_eq!(err.name(), name, "{overrides}");
        assert_eq!(svc.num_calls(), 0, "{overrides} reached ECS");
    }
}

fn metric(overrides: serde_json::Value) -> serde_json::Value {
    let mut m = json!({"name": "p99", "threshold": 1.0,
        "metric": {"namespace": "AWS/ApplicationELB", "metricName": "TargetResponseTime", "stat": "p99"}});
    for (k, v) in overrides.as_object().unwrap() {
        m[k] = v.clone();
    }
    m
}

fn expression(expr: &str) -> serde_json::Value {
    let spec =
        |name: &str| json!({"namespace": "AWS/ApplicationELB", "metricName": name, "stat": "Sum"});
    json!({"name": "5xx rate", "threshold": 1.0, "expression": expr,
        "metrics": {"errors": spec("HTTPCode_Target_5XX_Count"), "requests": spec("RequestCount")}})
}

#[tokio::test]
async fn a_typo_names_the_field_it_was_found_at() {
    let [svc, td] = existing_service();
    let err = plan_with(
        &[&svc, &td],
        console(
            json!({"canary": {"metrics": [metric(json!({"comparision": "LessThanThreshold"}))]}}),
        ),
    )
    .await
    .unwrap_err();
    assert!(
        err.message().contains("canary.metrics[0]"),
        "{}",
        err.message()
    );
    assert!(err.message().contains("comparision"), "{}", err.message());
}

#[tokio::test]
async fn a_canary_watching_a_missing_alarm_is_refused_before_any_change() {
    let [svc, td] = existing_service();
    let err = plan_with(
        &[&svc, &td],
        console(json!({"canary": {"alarms": ["web-5xx", "no-such-alarm"]}})),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), ErrorName::InvalidInput);
    assert!(err.message().contains("no-such-alarm"), "{}", err.message());
    assert!(!err.message().contains("\"web-5xx\""), "{}", err.message());
    let [svc, td] = existing_service();
    plan_with(
        &[&svc, &td],
        console(json!({"canary": {"alarms": ["web-5xx"]}})),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn unknown_service_cluster_or_container_are_named() {
    let missing = mock!(Client::describe_services)
        .then_http_response(|| ok_json(r#"{"services": [], "failures": [{"arn": "arn:aws:ecs:eu-west-1:123456789012:service/prod/nope", "reason": "MISSING"}]}"#));
    assert_eq!(
        plan_with(&[&missing], console(json!({"service": "nope"})))
            .await
            .unwrap_err()
            .name(),
        ErrorName::ServiceNotFound
    );
    let no_cluster = mock!(Client::describe_services)
        .then_http_response(|| aws_error(400, "ClusterNotFoundException", "Cluster not found."));
    assert_eq!(
        plan_with(&[&no_cluster], console(json!({})))
            .await
            .unwrap_err()
            .name(),
        ErrorName::ClusterNotFound
    );
    let [svc, td] = existing_service();
    let err = plan_with(&[&svc, &td], console(json!({"container": "api"})))
        .await
        .unwrap_err();
    assert_eq!(err.name(), ErrorName::ContainerNotFound);
}

fn push(detail: serde_json::Value) -> serde_json::Value {
    let mut e: serde_json::Value = serde_json::from_str(PUSH).unwrap();
    for (k, v) in detail.as_object().unwrap() {
        e["detail"][k] = v.clone();
    }
    with_execution(e)
}

fn discovery() -> [Rule; 3] {
    [
        mock!(Client::list_clusters).then_http_response(|| ok_json(CLUSTERS)),
        mock!(Client::list_services).then_http_response(|| ok_json(LIST_SERVICES)),
        mock!(Client::describe_services)
            .match_requests(|r| {
                r.include().iter().any(|f| f.as_str() == "TAGS") && r.services().len() <= 10
            })
            .then_http_response(|| ok_json(TAGGED)),
    ]
}

#[tokio::test]
async fn a_push_deploys_every_active_service_tagged_with_the_repository() {
    let [lc, ls, ds] = discovery();
    let plan = plan_with(&[&lc, &ls, &ds], push(json!({}))).await.unwrap();
    assert_eq!(plan.source, "ecr-push");
    let names: Vec<_> = plan
        .deployments
        .iter()
        .map(|d| d.service.as_str())
        .collect();
    assert_eq!(
        names,
        vec!["web", "web-worker"],
        "billing is another repository, web-old is DRAINING"
    );
    let web = &plan.deployments[0];
    assert_eq!(web.cluster, "prod");
    assert_eq!(web.container.as_deref(), Some("app"));
    assert_eq!(web.image, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v2@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    assert_ne!(
        plan.deployments[0].deployment_id,
        plan.deployments[1].deployment_id
    );
}

#[tokio::test]
async fn service_tags_configure_the_canary() {
    let [lc, ls, ds] = discovery();
    let plan = plan_with(&[&lc, &ls, &ds], push(json!({}))).await.unwrap();
    let canary = plan.deployments[0]
        .canary
        .as_ref()
        .expect("web sets berth:bake-seconds");
    assert_eq!(canary.bake_seconds, 300);
    assert_eq!(canary.alarms, vec!["web-5xx-high", "web-latency"]);
    assert_eq!(canary.metrics.len(), 2);
    let rate = &canary.metrics[0];
    assert_eq!(rate.threshold, Some(2.5));
    assert_eq!(rate.comparison, Comparison::GreaterThanThreshold);
    assert_eq!(
        rate.metrics["errors"].dimensions["TargetGroup"],
        "targetgroup/web/0123456789abcdef"
    );
    assert_eq!(
        rate.metrics["errors"].dimensions["LoadBalancer"],
        "app/prod-public/50dc6c495c0c9188"
    );
    assert_eq!(canary.metrics[1].metric.as_ref().unwrap().stat, "p99");
    assert!(plan.deployments[1].canary.is_none());
}

#[tokio::test]
async fn a_push_to_a_service_with_a_blank_or_misspelt_berth_tag_is_refused() {
    // GIVEN web tagged as the fixture has it, but one berth:* tag blank or misspelt
    for (key, value, says) in [
        (
            "berth:bake-seconds",
            "  ",
            "berth:bake-seconds=\"  \" is empty",
        ),
        (
            "berth:bake-second",
            "300",
            "did you mean berth:bake-seconds?",
        ),
    ] {
        let mut tagged: serde_json::Value = serde_json::from_str(TAGGED).unwrap();
        let tags = tagged["services"][0]["tags"].as_array_mut().unwrap();
        tags.retain(|t| t["key"] != "berth:bake-seconds");
        tags.push(json!({"key": key, "value": value}));
        let body = tagged.to_string();
        let [lc, ls, _] = discovery();
        let ds = mock!(Client::describe_services).then_http_response(move || ok_json(&body));
        // WHEN a push plans it, THEN the whole push is refused, naming the tag
        let e = plan_with(&[&lc, &ls, &ds], push(json!({})))
            .await
            .unwrap_err();
        assert_eq!(e.name(), ErrorName::InvalidInput);
        assert!(e.message().contains(says), "{}", e.message());
    }
}

#[tokio::test]
async fn deletes_failures_and_unmapped_repositories_end_without_touching_ecs() {
    for detail in [
        json!({"action-type": "DELETE"}),
        json!({"result": "FAILURE"}),
    ] {
        let [lc, ls, ds] = discovery();
        let plan = plan_with(&[&lc, &ls, &ds], push(detail.clone()))
            .await
            .unwrap();
        assert!(plan.deployments.is_empty(), "{detail}");
        assert!(plan.skipped.is_some());
        assert_eq!(lc.num_calls() + ls.num_calls() + ds.num_calls(), 0);
    }
    let [lc, ls, ds] = discovery();
    let plan = plan_with(
        &[&lc, &ls, &ds],
        push(json!({"repository-name": "nobody-uses-this"})),
    )
    .await
    .unwrap();
    assert!(plan.deployments.is_empty());
    assert!(plan
        .skipped
        .unwrap()
        .contains("berth:repository=nobody-uses-this"));
}

#[tokio::test]
async fn configured_clusters_are_searched_without_listing_all() {
    let [lc, ls, ds] = discovery();
    let s = Settings::from_lookup(|k| (k == "BERTH_CLUSTERS").then(|| "prod".into())).unwrap();
    let plan = plan_in(&[&lc, &ls, &ds], &s, push(json!({})))
        .await
        .unwrap();
    assert_eq!(plan.deployments.len(), 2);
    assert_eq!(lc.num_calls(), 0);
}

#[tokio::test]
async fn a_malformed_push_is_invalid() {
    let err = plan_with(&[], push(json!({"image-digest": "sha256:nothex"})))
        .await
        .unwrap_err();
    assert_eq!(err.name(), ErrorName::InvalidImage);
}

fn tagged(value: &str) -> aws_sdk_ecs::types::Service {
    aws_sdk_ecs::types::Service::builder()
        .service_name("web")
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key("berth:approval")
                .value(value)
                .build(),
        )
        .build()
}

#[test]
fn the_approval_tag_asks_for_a_gate_and_refuses_a_typo() {
    // GIVEN `required`, a number of seconds, or no tag
    let timeout = |v: &str| {
        approval_from_tag(&tagged(v))
            .unwrap()
            .map(|a| a.timeout_seconds)
    };
    assert_eq!(timeout("required"), Some(3600));
    assert_eq!(timeout(" 600 "), Some(600));
    let untagged = aws_sdk_ecs::types::Service::builder()
        .service_name("web")
        .build();
    assert_eq!(approval_from_tag(&untagged).unwrap(), None);
    // WHEN the value is anything else THEN InvalidInput names the tag and what it may be
    for bad in ["reqired", "yes", "", "0", "604801", "-5", "1h"] {
        let e = approval_from_tag(&tagged(bad)).unwrap_err();
        assert_eq!(e.name(), ErrorName::InvalidInput, "{bad}");
        assert!(
            e.message().contains("service web tag berth:approval"),
            "{bad}: {}",
            e.message()
        );
    }
    let e = approval_from_tag(&tagged("reqired")).unwrap_err();
    assert_eq!(
        e.message(),
        "service web tag berth:approval=\"reqired\" is neither \"required\" nor a number of seconds (1 to 604800)"
    );
}

#[tokio::test]
async fn a_console_request_carries_its_approval_gate() {
    let [svc, td] = existing_service();
    let plan = plan_with(
        &[&svc, &td],
        console(json!({"approval": {"timeoutSeconds": 120}})),
    )
    .await
    .unwrap();
    assert_eq!(
        plan.deployments[0].approval.map(|a| a.timeout_seconds),
        Some(120)
    );
    let plan = plan_with(&[&svc, &td], console(json!({}))).await.unwrap();
    assert!(plan.deployments[0].approval.is_none());
}

/// The service runs web:7 (TASK_DEF); `revision` answers DescribeTaskDefinition for `name`.
fn running_and(name: &'static str, revision: Option<serde_json::Value>) -> [Rule; 3] {
    let [svc, _] = existing_service();
    let current = mock!(Client::describe_task_definition)
        .match_requests(move |r| r.task_definition() != Some(name))
        .then_http_response(|| ok_json(TASK_DEF));
    let target = mock!(Client::describe_task_definition)
        .match_requests(move |r| r.task_definition() == Some(name))
        .then_http_response(move || match &revision {
            Some(v) => ok_json(&v.to_string()),
            None => aws_error(
                400,
                "ClientException",
                "Unable to describe task definition.",
            ),
        });
    [svc, current, target]
}

fn revision_5(family: &str, status: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(TASK_DEF).unwrap();
    let td = &mut v["taskDefinition"];
    td["family"] = json!(family);
    td["revision"] = json!(5);
    td["status"] = json!(status);
    td["taskDefinitionArn"] = json!(format!(
        "arn:aws:ecs:eu-west-1:123456789012:task-definition/{family}:5"
    ));
    td["containerDefinitions"][0]["image"] =
        json!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    v
}

#[tokio::test]
async fn a_request_naming_a_revision_deploys_it_as_a_rollback_by_hand() {
    let [svc, current, target] = running_and("web:5", Some(revision_5("web", "ACTIVE")));
    let request = console(json!({"image": null, "taskDefinition": "web:5"}));
    let plan = plan_with(&[&svc, &current, &target], request)
        .await
        .unwrap();
    assert_eq!(plan.source, "rollback");
    let item = &plan.deployments[0];
    assert_eq!(
        item.task_definition.as_deref(),
        Some("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:5")
    );
    // the container's image in that revision, for the summary and the one-deployment rule
    assert!(item
        .image
        .ends_with("/web@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"));
    assert_eq!(item.repository, "web");
    assert_eq!(target.num_calls(), 1);
}

#[tokio::test]
async fn a_revision_of_another_family_missing_or_inactive_is_refused_by_name() {
    let cases = [
        (
            Some(revision_5("api", "ACTIVE")),
            ErrorName::InvalidInput,
            "taskDefinition web:5 is a revision of api, but service web runs web",
        ),
        (
            Some(revision_5("web", "INACTIVE")),
            ErrorName::TaskDefinitionNotFound,
            "taskDefinition web:5 is INACTIVE",
        ),
        (
            None,
            ErrorName::TaskDefinitionNotFound,
            "taskDefinition web:5: ",
        ),
    ];
    for (answer, name, message) in cases {
        let [svc, current, target] = running_and("web:5", answer);
        let request = console(json!({"image": null, "taskDefinition": "web:5"}));
        let e = plan_with(&[&svc, &current, &target], request)
            .await
            .unwrap_err();
        assert_eq!(e.name(), name, "{}", e.message());
        assert!(e.message().contains(message), "{}", e.message());
    }
}

#[tokio::test]
async fn both_an_image_and_a_revision_are_refused_before_any_call() {
    let [svc, current, target] = running_and("web:5", Some(revision_5("web", "ACTIVE")));
    let request = console(json!({"taskDefinition": "web:5"}));
    let e = plan_with(&[&svc, &current, &target], request)
        .await
        .unwrap_err();
    assert_eq!(e.name(), ErrorName::InvalidInput);
    assert!(e.message().contains("not both"), "{}", e.message());
    assert_eq!(svc.num_calls(), 0);
}

fn canary_tagged(extra: &[(&str, &str)]) -> aws_sdk_ecs::types::Service {
    let mut b = aws_sdk_ecs::types::Service::builder()
        .service_name("web")
        .load_balancers(
            aws_sdk_ecs::types::LoadBalancer::builder()
                .target_group_arn("arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef")
                .build(),
        );
    for (k, v) in [
        ("berth:bake-seconds", "600"),
        ("berth:load-balancer", "app/prod/1"),
    ]
    .iter()
    .chain(extra)
    {
        b = b.tags(aws_sdk_ecs::types::Tag::builder().key(*k).value(*v).build());
    }
    b.build()
}

#[test]
fn the_statistical_tag_compares_the_target_group_with_its_window_before_the_deploy() {
    let c = canary_from_tags(
        &canary_tagged(&[("berth:canary-analysis", "statistical")]),
        60,
    )
    .unwrap()
    .unwrap();
    let a = c.analysis.as_ref().expect("an analysis");
    assert_eq!(
        a.baseline.source,
        berth::model::BaselineSource::BeforeDeploy
    );
    assert_eq!(c.window_seconds, 600);
    assert!(c.metrics.iter().all(|m| m.threshold.is_none()));
    let rate = c.metrics[0].compare.as_ref().unwrap();
    assert!(rate.critical && rate.min_shift == 0.5);
    assert_eq!(c.metrics[1].compare.as_ref().unwrap().tolerance, 0.2);
    // "thresholds" (or no tag) is today's canary
    let t = canary_from_tags(
        &canary_tagged(&[("berth:canary-analysis", "thresholds")]),
        60,
    )
    .unwrap()
    .unwrap();
    assert!(t.analysis.is_none() && t.metrics[0].threshold == Some(1.0));
}

#[test]
fn a_typo_in_the_analysis_tags_is_refused_not_ignored() {
    for (tags, says) in [
        (
            vec![("berth:canary-analysis", "statistics")],
            "is neither \"statistical\" nor \"thresholds\"",
        ),
        (
            vec![
                ("berth:canary-analysis", "statistical"),
                ("berth:max-p99-seconds", "2"),
            ],
            "sets berth:max-p99-seconds, a threshold",
        ),
    ] {
        let err = canary_from_tags(&canary_tagged(&tags), 60).unwrap_err();
        assert_eq!(err.name(), ErrorName::InvalidInput);
        assert!(err.message().contains(says), "{}", err.message());
    }
    let no_lb = aws_sdk_ecs::types::Service::builder()
        .service_name("web")
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key("berth:bake-seconds")
                .value("60")
                .build(),
        )
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key("berth:canary-analysis")
                .value("statistical")
                .build(),
        )
        .build();
    let err = canary_from_tags(&no_lb, 60).unwrap_err();
    assert!(
        err.message().contains("no berth:load-balancer"),
        "{}",
        err.message()
    );
}

fn gate_tagged(tags: &[(&str, &str)]) -> aws_sdk_ecs::types::Service {
    let mut b = aws_sdk_ecs::types::Service::builder().service_name("web");
    for (k, v) in tags {
        b = b.tags(aws_sdk_ecs::types::Tag::builder().key(*k).value(*v).build());
    }
    b.build()
}

#[test]
fn gate_tags_and_the_installation_freeze_are_read_and_checked() {
    // GIVEN a service with a scan threshold and a weekend freeze, and an installation freeze
    let svc = gate_tagged(&[
        ("berth:scan", "HIGH"),
        ("berth:freeze", "Fri 18:00 - Mon 06:00"),
        ("berth:freeze-time-zone", "Europe/Berlin"),
    ]);
    let installation = Settings::from_lookup(|k| match k {
        "BERTH_FREEZE_WINDOWS" => Some("2026-12-24T00:00 - 2027-01-02T00:00".into()),
        "BERTH_FREEZE_TIME_ZONE" => Some("Europe/Berlin".into()),
        "BERTH_FREEZE_ACTION" => Some("refuse".into()),
        _ => None,
    })
    .unwrap();
    // WHEN Plan reads them
    let (scan, freeze) = gates_of(&installation, &svc).unwrap();
    // THEN the item carries both calendars, the service's first
    assert_eq!(scan.unwrap().threshold, berth::scan::Severity::High);
    assert_eq!(freeze.len(), 2);
    assert_eq!(freeze[0].source, "service web tag berth:freeze");
    assert_eq!(freeze[1].on_freeze, berth::gates::OnFreeze::Refuse);
    // AND an untagged service in an installation without a freeze has no gate
    assert_eq!(
        gates_of(&settings(), &gate_tagged(&[])).unwrap(),
        (None, vec![])
    );
}

#[test]
fn a_typo_in_a_gate_tag_or_the_installation_freeze_is_invalid_input() {
    for tags in [
        &[("berth:scan", "SEVERE")][..],
        &[("berth:scan", "")][..],
        &[
            ("berth:freeze", "Fri 18:00 - Mon 06:00"),
            ("berth:freeze-time-zone", "Berlin"),
        ][..],
        &[
            ("berth:freeze", "Fri 18:00 to Mon 06:00"),
            ("berth:freeze-time-zone", "UTC"),
        ][..],
        &[("berth:freeze", ""), ("berth:freeze-time-zone", "UTC")][..],
        &[("berth:freeze-action", "refuse")][..],
    ] {
        let e = gates_of(&settings(), &gate_tagged(tags)).unwrap_err();
        assert_eq!(e.name(), ErrorName::InvalidInput, "{tags:?}");
    }
    let bad = Settings::from_lookup(|k| {
        (k == "BERTH_FREEZE_WINDOWS").then(|| "Sat 00:00 - Sun 24:00".into())
    })
    .unwrap();
    let e = gates_of(&bad, &gate_tagged(&[])).unwrap_err();
    assert_eq!(e.name(), ErrorName::InvalidInput);
    assert!(
        e.message().contains("installation freeze"),
        "{}",
        e.message()
    );
}

#[tokio::test]
async fn a_console_request_carries_its_scan_gate_and_freeze_override() {
    let [ds, dt] = existing_service();
    let plan = plan_with(
        &[&ds, &dt],
        console(json!({"scan": {"threshold": "MEDIUM", "onNoScan": "allow"},
                       "overrideFreeze": {"reason": "hotfix INC-42", "by": "alice"}})),
    )
    .await
    .unwrap();
    let d = &plan.deployments[0];
    assert_eq!(
        d.scan.as_ref().unwrap().on_no_scan,
        berth::scan::NoScan::Allow
    );
    assert_eq!(d.override_freeze.as_ref().unwrap().reason, "hotfix INC-42");
    // AND a typo in them is refused before any call
    let e = plan_with(&[], console(json!({"scan": {"threshold": "SEVERE"}})))
        .await
        .unwrap_err();
    assert_eq!(e.name(), ErrorName::InvalidInput);
}

#[tokio::test]
async fn a_migration_s_container_and_command_size_are_checked_before_anything_is_registered() {
    let [ds, td] = existing_service();
    // GIVEN a service whose task definition has the container app
    let ok = console(json!({"migration": {"command": ["bin/migrate"]}}));
    let plan = plan_with(&[&ds, &td], ok).await.unwrap();
    assert!(plan.deployments[0].migration.is_some());
    // WHEN the migration names a container it does not have, THEN Plan refuses it
    let bad = console(json!({"migration": {"command": ["bin/migrate"], "container": "db"}}));
    let e = plan_with(&[&ds, &td], bad).await.unwrap_err();
    assert_eq!(e.name(), ErrorName::ContainerNotFound, "{e:?}");
    assert!(e.message().starts_with("migration: "), "{}", e.message());
    // AND a command past RunTask's 8192 characters of overrides
    let long = "x".repeat(9000);
    let e = plan_with(
        &[&ds, &td],
        console(json!({"migration": {"command": [long]}})),
    )
    .await
    .unwrap_err();
    assert_eq!(e.name(), ErrorName::InvalidInput, "{e:?}");
    assert!(e.message().contains("at most 8192"), "{}", e.message());
}

#[tokio::test]
async fn an_arn_of_another_account_or_region_is_refused_before_it_reaches_a_namesake() {
    for (field, value) in [
        (
            "taskDefinition",
            "arn:aws:ecs:eu-west-1:210987654321:task-definition/web:5",
        ),
        (
            "taskDefinition",
            "arn:aws:ecs:us-west-2:123456789012:task-definition/web:5",
        ),
        ("cluster", "arn:aws:ecs:eu-west-1:210987654321:cluster/prod"),
    ] {
        // GIVEN this account's web:5 exists and is ACTIVE (what the ARN's namesake would be)
        let [svc, current, target] = running_and(
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:5",
            Some(revision_5("web", "ACTIVE")),
        );
        let mut request = json!({"image": null, "taskDefinition": "web:5"});
        request[field] = json!(value);
        // WHEN a request names another account's or region's ARN, THEN Plan refuses it
        let e = plan_with(&[&svc, &current, &target], console(request))
            .await
            .unwrap_err();
        assert_eq!(e.name(), ErrorName::InvalidInput, "{}", e.message());
        assert!(
            e.message()
                .starts_with(&format!("{field} {value} is in account")),
            "{}",
            e.message()
        );
        assert_eq!(target.num_calls(), 0, "the namesake is never read");
    }
}

#[tokio::test]
async fn a_release_naming_one_service_by_cluster_name_and_by_arn_is_refused() {
    let [ds, td] = existing_service();
    let entry = |cluster: &str| {
        json!({"cluster": cluster, "service": "web", "container": "app",
               "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v2"})
    };
    let request = with_execution(json!({"release": {"name": "r1", "services": [
        entry("prod"),
        entry("arn:aws:ecs:eu-west-1:123456789012:cluster/prod"),
    ]}}));
    let e = plan_with(&[&ds, &td], request).await.unwrap_err();
    assert_eq!(e.name(), ErrorName::InvalidInput, "{}", e.message());
    assert!(e.message().contains("is listed twice"), "{}", e.message());
}

#[tokio::test]
async fn an_image_missing_from_this_account_s_ecr_is_refused_before_any_change() {
    let [ds, td] = existing_service();
    // GIVEN ECR (eu-west-1, 123456789012: the service's) has no web:gone
    let gone = console(json!({"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:gone"}));
    let e = plan_with(&[&ds, &td], gone).await.unwrap_err();
    assert_eq!(e.name(), ErrorName::InvalidImage, "{}", e.message());
    assert!(e.message().contains("is not in ECR"), "{}", e.message());
    // an image of another registry or region is not this role's to read: left to ECS
    for elsewhere in [
        "123456789012.dkr.ecr.us-west-2.amazonaws.com/web:gone",
        "public.ecr.aws/nginx/nginx:gone",
    ] {
        plan_with(&[&ds, &td], console(json!({"image": elsewhere})))
            .await
            .unwrap_or_else(|e| panic!("{elsewhere}: {e:?}"));
    }
}

#[tokio::test]
async fn empty_and_blank_values_the_schema_refuses_are_refused() {
    // what request.schema.json refuses as empty, blank or missing (minLength, `\S`, minItems,
    // required), which tests/e2e/test_malformed.py skipped while the schema accepted it
    let metric = |over: serde_json::Value| {
        let mut m = json!({"name": "5xx", "metric": {"namespace": "AWS/ApplicationELB", "metricName": "HTTPCode_Target_5XX_Count",
            "stat": "Sum", "dimensions": {"TargetGroup": "targetgroup/web/0123456789abcdef"}}, "threshold": 1.0});
        for (k, v) in over.as_object().unwrap() {
            if k == "stat" || k == "dimensions" {
                m["metric"][k] = v.clone();
            } else {
                m[k] = v.clone();
            }
        }
        json!({"bakeSeconds": 60, "metrics": [m]})
    };
    let cases = [
        json!({"image": "   "}),
        json!({"canary": metric(json!({"name": ""}))}),
        json!({"canary": metric(json!({"name": "   "}))}),
        json!({"canary": metric(json!({"stat": ""}))}),
        json!({"canary": metric(json!({"stat": "   "}))}),
        json!({"canary": metric(json!({"dimensions": {"TargetGroup": ""}}))}),
        json!({"canary": metric(json!({"dimensions": {"TargetGroup": "   "}}))}),
        json!({"canary": metric(json!({"dimensions": {"": "targetgroup/web/0123456789abcdef"}}))}),
        json!({"migration": {}}),
        json!({"migration": {"container": "app"}}),
        json!({"migration": {"command": []}}),
        json!({"migration": {"command": [""]}}),
        json!({"migration": {"command": ["   "]}}),
        json!({"migration": {"taskDefinition": ""}}),
        json!({"migration": {"taskDefinition": "   "}}),
        json!({"migration": {"command": ["m"], "container": ""}}),
        json!({"migration": {"command": ["m"], "container": "   "}}),
        json!({"overrideFreeze": {"by": "", "reason": "hotfix"}}),
        json!({"overrideFreeze": {"by": "   ", "reason": "hotfix"}}),
        json!({"overrideFreeze": {"reason": "hotfix"}}),
    ];
    let mut accepted = vec![];
    for case in cases {
        let [ds, td] = existing_service();
        if plan_with(&[&ds, &td], console(case.clone())).await.is_ok() {
            accepted.push(case);
        }
    }
    assert!(accepted.is_empty(), "accepted: {accepted:#?}");
}
