use aws_smithy_mocks::mock;
use berth::testing::{mock_client, ok_json};
use serde_json::json;

use super::*;

const SERVICE: &str = r#"{"services": [{"serviceName": "web", "status": "ACTIVE",
  "serviceArn": "arn:aws:ecs:eu-west-1:123456789012:service/prod/web",
  "taskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
  "launchType": "FARGATE", "platformVersion": "1.4.0",
  "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}}}],
  "failures": []}"#;

const TASK_DEFINITION: &str = r#"{"taskDefinition": {
  "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8", "family": "web", "revision": 8,
  "containerDefinitions": [
    {"name": "app", "image": "1.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:aa", "essential": true,
     "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "web"}}},
    {"name": "xray", "image": "amazon/aws-xray-daemon", "essential": false}]}}"#;

const TASK_ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:task/prod/0123456789abcdef";

fn task(status: &str, exit: Option<i32>) -> String {
    let mut c = json!({"name": "app", "lastStatus": status});
    if let Some(code) = exit {
        c["exitCode"] = json!(code);
    }
    let mut t = json!({"taskArn": TASK_ARN, "lastStatus": status, "createdAt": 1_795_000_000.0,
        "containers": [c, {"name": "xray", "lastStatus": status, "exitCode": 143}]});
    if status == "STOPPED" {
        t["stopCode"] = json!("EssentialContainerExited");
        t["stoppedReason"] = json!("Essential container in task exited");
    }
    t.to_string()
}

fn input(task: Option<Value>) -> Value {
    let mut v = json!({"deploymentId": "push-1/prod/web", "cluster": "prod", "service": "web", "container": "app",
        "register": {"taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8"},
        "migration": {"command": ["bin/migrate", "up"], "timeoutSeconds": 600}});
    if let Some(t) = task {
        v["migrationTask"] = t;
    }
    v
}

use serde_json::Value;

#[tokio::test]
async fn start_runs_the_new_revision_with_the_command_and_the_service_network() {
    let describe =
        mock!(aws_sdk_ecs::Client::describe_services).then_http_response(|| ok_json(SERVICE));
    let td = mock!(aws_sdk_ecs::Client::describe_task_definition)
        .then_http_response(|| ok_json(TASK_DEFINITION));
    let none = mock!(aws_sdk_ecs::Client::list_tasks)
        .then_http_response(|| ok_json(r#"{"taskArns": []}"#));
    let run_task = mock!(aws_sdk_ecs::Client::run_task)
        .match_requests(|r| {
            r.started_by() == Some(migration::started_by("push-1/prod/web").as_str())
                && r.launch_type() == Some(&LaunchType::Fargate)
                && r.network_configuration()
                    .and_then(|n| n.awsvpc_configuration())
                    .is_some_and(|a| a.subnets() == ["subnet-1"])
                && r.overrides().is_some_and(|o| {
                    o.container_overrides()[0].name() == Some("app")
                        && o.container_overrides()[0].command() == ["bin/migrate", "up"]
                })
        })
        .then_http_response(|| {
            ok_json(&format!(
                r#"{{"tasks": [{}], "failures": []}}"#,
                task("PROVISIONING", None)
            ))
        });
    let ecs = mock_client!(aws_sdk_ecs, &[&describe, &td, &none, &run_task]);
    let started = run(&ecs, input(None), DateTime::from_secs(1_795_000_000))
        .await
        .unwrap();
    assert_eq!(run_task.num_calls(), 1);
    assert_eq!(started.task_arn, TASK_ARN);
    assert_eq!(started.essential, vec!["app".to_string()]);
    // createdAt (1,795,000,000) + 600 s
    assert_eq!(started.deadline, "2026-11-18T11:16:40Z");
    assert_eq!(
        started.logs.as_deref(),
        Some("CloudWatch Logs group /ecs/web, stream web/app/0123456789abcdef")
    );
    assert!(!started.done);
}

#[tokio::test]
async fn a_retried_start_finds_the_task_it_started_and_runs_nothing() {
    let describe =
        mock!(aws_sdk_ecs::Client::describe_services).then_http_response(|| ok_json(SERVICE));
    let td = mock!(aws_sdk_ecs::Client::describe_task_definition)
        .then_http_response(|| ok_json(TASK_DEFINITION));
    let found = mock!(aws_sdk_ecs::Client::list_tasks)
        .then_http_response(|| ok_json(&format!(r#"{{"taskArns": ["{TASK_ARN}"]}}"#)));
    let tasks = mock!(aws_sdk_ecs::Client::describe_tasks).then_http_response(|| {
        ok_json(&format!(
            r#"{{"tasks": [{}], "failures": []}}"#,
            task("RUNNING", None)
        ))
    });
    let run_task = mock!(aws_sdk_ecs::Client::run_task).then_http_response(|| ok_json("{}"));
    let ecs = mock_client!(aws_sdk_ecs, &[&describe, &td, &found, &tasks, &run_task]);
    let started = run(&ecs, input(None), DateTime::from_secs(1_795_000_000))
        .await
        .unwrap();
    assert_eq!(run_task.num_calls(), 0);
    assert_eq!(
        (started.task_arn.as_str(), started.status.as_str()),
        (TASK_ARN, "RUNNING")
    );
}

fn started(deadline: &str) -> Value {
    json!({"taskArn": TASK_ARN, "taskDefinitionArn": "web:8", "essential": ["app"],
        "startedAt": "2026-11-18T11:06:40Z", "deadline": deadline, "timeoutSeconds": 600,
        "logs": "CloudWatch Logs group /ecs/web, stream web/app/0123456789abcdef",
        "status": "RUNNING", "done": false})
}

#[tokio::test]
async fn a_non_zero_exit_is_migration_failed_with_the_code_and_the_logs() {
    let tasks = mock!(aws_sdk_ecs::Client::describe_tasks).then_http_response(|| {
        ok_json(&format!(
            r#"{{"tasks": [{}], "failures": []}}"#,
            task("STOPPED", Some(2))
        ))
    });
    let ecs = mock_client!(aws_sdk_ecs, &[&tasks]);
    let e = run(
        &ecs,
        input(Some(started("2030-01-01T00:00:00Z"))),
        DateTime::from_secs(1_795_000_100),
    )
    .await
    .unwrap_err();
    assert_eq!(e.name(), "MigrationFailed");
    assert!(e.message().contains("app exited 2"), "{}", e.message());
    // the non-essential sidecar's 143 is not the migration's failure
    assert!(!e.message().contains("xray"), "{}", e.message());
    assert!(
        e.message().contains("stream web/app/0123456789abcdef"),
        "{}",
        e.message()
    );
    assert!(
        e.message().contains("web was not changed"),
        "{}",
        e.message()
    );
}

#[tokio::test]
async fn exit_zero_is_done_and_running_waits() {
    let tasks = mock!(aws_sdk_ecs::Client::describe_tasks).then_http_response(|| {
        ok_json(&format!(
            r#"{{"tasks": [{}], "failures": []}}"#,
            task("STOPPED", Some(0))
        ))
    });
    let ecs = mock_client!(aws_sdk_ecs, &[&tasks]);
    let done = run(
        &ecs,
        input(Some(started("2030-01-01T00:00:00Z"))),
        DateTime::from_secs(1_795_000_100),
    )
    .await
    .unwrap();
    assert!(done.done && done.status == "STOPPED");
    let tasks = mock!(aws_sdk_ecs::Client::describe_tasks).then_http_response(|| {
        ok_json(&format!(
            r#"{{"tasks": [{}], "failures": []}}"#,
            task("RUNNING", None)
        ))
    });
    let ecs = mock_client!(aws_sdk_ecs, &[&tasks]);
    let running = run(
        &ecs,
        input(Some(started("2030-01-01T00:00:00Z"))),
        DateTime::from_secs(1_795_000_100),
    )
    .await
    .unwrap();
    assert!(!running.done && running.status == "RUNNING");
}

#[tokio::test]
async fn past_its_deadline_the_task_is_stopped_and_the_deploy_refused() {
    let tasks = mock!(aws_sdk_ecs::Client::describe_tasks).then_http_response(|| {
        ok_json(&format!(
            r#"{{"tasks": [{}], "failures": []}}"#,
            task("RUNNING", None)
        ))
    });
    let stop = mock!(aws_sdk_ecs::Client::stop_task)
        .match_requests(|r| {
            r.task() == Some(TASK_ARN)
                && r.reason() == Some("berth: migration timed out after 600 s")
        })
        .then_http_response(|| ok_json(&format!(r#"{{"task": {}}}"#, task("STOPPING", None))));
    let ecs = mock_client!(aws_sdk_ecs, &[&tasks, &stop]);
    let e = run(
        &ecs,
        input(Some(started("2026-11-18T11:16:40Z"))),
        DateTime::from_secs(1_795_000_601),
    )
    .await
    .unwrap_err();
    assert_eq!(stop.num_calls(), 1);
    assert_eq!(e.name(), "MigrationFailed");
    assert!(e.message().contains("after 600 s"), "{}", e.message());
}

#[tokio::test]
async fn a_migration_that_says_nothing_to_run_is_refused_before_any_call() {
    let ecs = mock_client!(aws_sdk_ecs, &[]);
    let mut v = input(None);
    v["migration"] = json!({"timeoutSeconds": 600});
    let e = run(&ecs, v, DateTime::from_secs(1)).await.unwrap_err();
    assert_eq!(e.name(), "InvalidInput");
}
