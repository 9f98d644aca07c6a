use aws_smithy_mocks::{mock, Rule};
use berth::testing::{aws_error, mock_client, ok_json};
use serde_json::json;

use super::*;

const MACHINE: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:berth-deploy";
const ECR_HOST: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
const OLD: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const NEW: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const NOW: i64 = 1_795_003_000;

fn config(pattern: Option<&str>) -> Config {
    Config::from_lookup(|k| match k {
        "BERTH_STATE_MACHINE_ARN" => Some(MACHINE.into()),
        "BERTH_CLUSTERS" => Some("prod".into()),
        "BERTH_TAG_PATTERN" => pattern.map(str::to_owned),
        _ => None,
    })
    .unwrap()
}

/// ECS: one cluster `prod` with the services `(name, repository, image)`.
fn ecs_rules(services: &'static [(&'static str, &'static str, &'static str)]) -> Vec<Rule> {
    let arns: Vec<String> = services
        .iter()
        .map(|(n, _, _)| format!("arn:aws:ecs:eu-west-1:123456789012:service/prod/{n}"))
        .collect();
    let listed = json!({ "serviceArns": arns }).to_string();
    let described = json!({
        "services": services.iter().map(|(n, repo, _)| json!({
            "serviceArn": format!("arn:aws:ecs:eu-west-1:123456789012:service/prod/{n}"),
            "serviceName": n,
            "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
            "status": "ACTIVE",
            "taskDefinition": format!("arn:aws:ecs:eu-west-1:123456789012:task-definition/{n}:3"),
            "tags": [{"key": "berth:repository", "value": repo}, {"key": "berth:container", "value": "app"}]
        })).collect::<Vec<_>>(),
        "failures": []
    })
    .to_string();
    let mut rules = vec![
        mock!(aws_sdk_ecs::Client::list_services).then_http_response(move || ok_json(&listed)),
        mock!(aws_sdk_ecs::Client::describe_services)
            .match_requests(|r| r.include().iter().any(|f| f.as_str() == "TAGS"))
            .then_http_response(move || ok_json(&described)),
    ];
    for (name, _, image) in services {
        let td = json!({"taskDefinition": {
            "taskDefinitionArn": format!("arn:aws:ecs:eu-west-1:123456789012:task-definition/{name}:3"),
            "family": name, "revision": 3, "status": "ACTIVE",
            "containerDefinitions": [{"name": "app", "image": image, "essential": true}]
        }})
        .to_string();
        rules.push(
            mock!(aws_sdk_ecs::Client::describe_task_definition)
                .match_requests(move |r| {
                    r.task_definition()
                        .is_some_and(|t| t.contains(&format!("/{name}:3")))
                })
                .then_http_response(move || ok_json(&td)),
        );
    }
    rules
}

fn image(digest: &str, tags: &[&str], pushed: i64) -> serde_json::Value {
    json!({"registryId": "123456789012", "repositoryName": "web", "imageDigest": digest,
           "imageTags": tags, "imagePushedAt": pushed})
}

/// ECR: the repository `web` listed in two pages (DescribeImages' nextToken).
fn two_pages(first: Vec<serde_json::Value>, second: Vec<serde_json::Value>) -> [Rule; 2] {
    let p1 = json!({"imageDetails": first, "nextToken": "page-2"}).to_string();
    let p2 = json!({"imageDetails": second}).to_string();
    [
        mock!(aws_sdk_ecr::Client::describe_images)
            .match_requests(|r| r.next_token().is_none() && r.repository_name() == Some("web"))
            .then_http_response(move || ok_json(&p1)),
        mock!(aws_sdk_ecr::Client::describe_images)
            .match_requests(|r| r.next_token() == Some("page-2"))
            .then_http_response(move || ok_json(&p2)),
    ]
}

fn no_execution() -> Rule {
    mock!(aws_sdk_sfn::Client::describe_execution)
        .then_http_response(|| aws_error(400, "ExecutionDoesNotExist", "Execution Does Not Exist"))
}

fn started() -> Rule {
    mock!(aws_sdk_sfn::Client::start_execution)
        .match_requests(|r| {
            let input: serde_json::Value = serde_json::from_str(r.input().unwrap_or("{}")).unwrap();
            r.state_machine_arn() == Some(MACHINE)
                && r.name() == Some("web-2222222222222222222222222222222222222222")
                && input["detail"]["image-digest"] == NEW
                && input["detail"]["image-tag"] == "v2"
                && input["detail"]["berth-found-by"] == "reconcile"
        })
        .then_http_response(|| {
            ok_json(r#"{"executionArn": "arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:web-2222222222222222222222222222222222222222", "startDate": 1795003000}"#)
        })
}

async fn sweep(
    ecs: &[&Rule],
    ecr: &[&Rule],
    sfn: &[&Rule],
    pattern: Option<&str>,
) -> Result<Sweep> {
    let ecs = mock_client!(aws_sdk_ecs, ecs);
    let ecr = mock_client!(aws_sdk_ecr, ecr);
    let sfn = mock_client!(aws_sdk_sfn, sfn);
    let aws = Aws {
        ecs: &ecs,
        ecr: &ecr,
        sfn: &sfn,
    };
    run(&aws, &config(pattern), json!({}), DateTime::from_secs(NOW)).await
}

fn refs(rules: &[Rule]) -> Vec<&Rule> {
    rules.iter().collect()
}

#[tokio::test]
async fn a_missed_push_on_a_later_page_starts_the_execution_its_event_would_have() {
    // GIVEN web runs OLD (pinned) and NEW was pushed later, listed on DescribeImages' second page
    let ecs = ecs_rules(&[("web", "web", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v1@sha256:1111111111111111111111111111111111111111111111111111111111111111")]);
    let ecr = two_pages(
        vec![image(OLD, &["v1"], 1_795_000_000)],
        vec![image(NEW, &["v2"], 1_795_001_000)],
    );
    let (describe, start) = (no_execution(), started());
    // WHEN the sweep runs
    let out = sweep(&refs(&ecs), &refs(&ecr), &[&describe, &start], None)
        .await
        .unwrap();
    // THEN it started the push's execution, with the push's event as input, and reads so
    assert_eq!(start.num_calls(), 1);
    assert_eq!(ecr[1].num_calls(), 1, "the second page was read");
    let web = &out.services[0];
    assert_eq!(web.outcome, Outcome::Started);
    assert_eq!(
        web.execution_name.as_deref(),
        Some("web-2222222222222222222222222222222222222222")
    );
    assert!(
        web.detail
            .starts_with(&format!("deploying {ECR_HOST}/web:v2@{NEW}")),
        "{}",
        web.detail
    );
    assert!(
        out.summary
            .starts_with("reconcile (tag pattern \"*\"): 1 service(s) deployed on push: 1 started\nprod/web (web): started web-2222"),
        "{}",
        out.summary
    );
}

#[tokio::test]
async fn a_service_on_the_newest_image_starts_nothing() {
    let ecs = ecs_rules(&[("web", "web", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:2222222222222222222222222222222222222222222222222222222222222222")]);
    let ecr = two_pages(
        vec![image(OLD, &["v1"], 1_795_000_000)],
        vec![image(NEW, &["v2"], 1_795_001_000)],
    );
    let start = started();
    let out = sweep(&refs(&ecs), &refs(&ecr), &[&start], None)
        .await
        .unwrap();
    assert_eq!(start.num_calls(), 0);
    assert_eq!(out.services[0].outcome, Outcome::UpToDate);
}

#[tokio::test]
async fn an_execution_that_exists_is_reported_not_restarted() {
    // GIVEN the push's execution exists (its event came, or an earlier sweep started it, and the
    // deployment failed and rolled back)
    let ecs = ecs_rules(&[("web", "web", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:1111111111111111111111111111111111111111111111111111111111111111")]);
    let ecr = two_pages(
        vec![image(OLD, &["v1"], 1_795_000_000)],
        vec![image(NEW, &["v2"], 1_795_001_000)],
    );
    let exists = mock!(aws_sdk_sfn::Client::describe_execution).then_http_response(|| {
        ok_json(r#"{"executionArn": "x", "stateMachineArn": "y", "status": "FAILED", "startDate": 1795001000}"#)
    });
    let start = started();
    // WHEN the sweep runs THEN it starts nothing and says so
    let out = sweep(&refs(&ecs), &refs(&ecr), &[&exists, &start], None)
        .await
        .unwrap();
    assert_eq!(start.num_calls(), 0);
    assert_eq!(out.services[0].outcome, Outcome::AlreadyStarted);
    assert!(
        out.services[0].detail.contains("FAILED"),
        "{}",
        out.services[0].detail
    );
}

#[tokio::test]
async fn one_failing_repository_does_not_stop_the_others_but_fails_the_sweep() {
    // GIVEN two services: `web` (fine) and `api`, whose repository does not exist
    let ecs = ecs_rules(&[
        ("web", "web", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:2222222222222222222222222222222222222222222222222222222222222222"),
        ("api", "api", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api@sha256:1111111111111111111111111111111111111111111111111111111111111111"),
    ]);
    let [web_first, web_second] = two_pages(
        vec![image(OLD, &["v1"], 1_795_000_000)],
        vec![image(NEW, &["v2"], 1_795_001_000)],
    );
    let missing = mock!(aws_sdk_ecr::Client::describe_images)
        .match_requests(|r| r.repository_name() == Some("api"))
        .then_http_response(|| {
            aws_error(
                400,
                "RepositoryNotFoundException",
                "The repository with name 'api' does not exist",
            )
        });
    // WHEN the sweep runs
    let err = sweep(&refs(&ecs), &[&web_first, &web_second, &missing], &[], None)
        .await
        .unwrap_err();
    // THEN it fails with AWS's error, and its message still tells what happened to web
    assert_eq!(err.name(), "AwsError");
    assert!(
        err.message().contains("1 service(s) could not be checked"),
        "{}",
        err.message()
    );
    assert!(
        err.message().contains("prod/web (web): up to date"),
        "{}",
        err.message()
    );
    assert!(
        err.message().contains(
            "prod/api (api): error: AwsError: DescribeImages api: RepositoryNotFoundException"
        ),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn a_tag_reference_is_read_from_the_running_tasks() {
    // GIVEN web's task definition names web:latest, and its tasks run OLD
    let ecs = ecs_rules(&[(
        "web",
        "web",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:latest",
    )]);
    let tasks = [
        mock!(aws_sdk_ecs::Client::list_tasks).then_http_response(|| {
            ok_json(r#"{"taskArns": ["arn:aws:ecs:eu-west-1:123456789012:task/prod/a"]}"#)
        }),
        mock!(aws_sdk_ecs::Client::describe_tasks).then_http_response(|| {
            ok_json(
                &json!({"tasks": [{
                "taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/prod/a",
                "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3",
                "lastStatus": "RUNNING",
                "containers": [{"name": "app", "imageDigest": OLD}]
            }], "failures": []})
                .to_string(),
            )
        }),
    ];
    // AND `latest` has moved to NEW, pushed with no event
    let ecr = two_pages(
        vec![image(OLD, &[], 1_795_000_000)],
        vec![image(NEW, &["latest"], 1_795_001_000)],
    );
    let (describe, start) = (no_execution(), mock!(aws_sdk_sfn::Client::start_execution).then_http_response(|| {
        ok_json(r#"{"executionArn": "arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:web-2222", "startDate": 1795003000}"#)
    }));
    let mut all = refs(&ecs);
    all.extend(tasks.iter());
    // WHEN the sweep runs THEN NEW is deployed, not reported as running
    let out = sweep(&all, &refs(&ecr), &[&describe, &start], None)
        .await
        .unwrap();
    assert_eq!(out.services[0].outcome, Outcome::Started, "{}", out.summary);
    assert_eq!(start.num_calls(), 1);
}

#[test]
fn bad_settings_fail_the_cold_start_with_the_variable_named() {
    let lookup = |pattern: &'static str, arn: &'static str| {
        move |k: &str| match k {
            "BERTH_STATE_MACHINE_ARN" => Some(arn.to_owned()),
            "BERTH_TAG_PATTERN" => Some(pattern.to_owned()),
            _ => None,
        }
    };
    let e = Config::from_lookup(lookup("release-**", MACHINE)).unwrap_err();
    assert_eq!(e.name(), "InvalidInput");
    assert!(
        e.message().contains("BERTH_TAG_PATTERN=\"release-**\""),
        "{}",
        e.message()
    );
    let e = Config::from_lookup(lookup("*", "berth-deploy")).unwrap_err();
    assert!(
        e.message().contains("BERTH_STATE_MACHINE_ARN"),
        "{}",
        e.message()
    );
    let ok = Config::from_lookup(lookup("release-*", MACHINE)).unwrap();
    assert_eq!(
        (ok.account.as_str(), ok.region.as_str()),
        ("123456789012", "eu-west-1")
    );
    assert_eq!(ok.pattern.as_str(), "release-*");
}
