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
  "networkMode": "awsvpc",
  "containerDefinitions": [
    {"name": "app", "image": "1.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:aa", "essential": true,
     "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "web"}}},
    {"name": "xray", "image": "amazon/aws-xray-daemon", "essential": false}]}}"#;

const TASK_ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:task/prod/0123456789abcdef";

/// The task as Step Functions' `ecs:runTask.sync` describes it (PascalCase).
fn described(exit: Option<i32>) -> Value {
    let mut c = json!({"Name": "app", "LastStatus": "STOPPED"});
    if let Some(code) = exit {
        c["ExitCode"] = json!(code);
    }
    json!({"TaskArn": TASK_ARN, "LastStatus": "STOPPED", "Group": migration::group("push-1/prod/web"),
        "StopCode": "EssentialContainerExited", "StoppedReason": "Essential container in task exited",
        "Containers": [c, {"Name": "xray", "LastStatus": "STOPPED", "ExitCode": 143}]})
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
async fn prepare_names_the_new_revision_the_command_and_the_service_network_and_runs_nothing() {
    let describe =
        mock!(aws_sdk_ecs::Client::describe_services).then_http_response(|| ok_json(SERVICE));
    let td = mock!(aws_sdk_ecs::Client::describe_task_definition)
        .then_http_response(|| ok_json(TASK_DEFINITION));
    let ecs = mock_client!(aws_sdk_ecs, &[&describe, &td]);
    let prepared = run(&ecs, input(None)).await.unwrap();
    let params = serde_json::to_value(&prepared.run_task).unwrap();
    assert_eq!(
        params,
        json!({"Cluster": "prod", "TaskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8",
            "LaunchType": "FARGATE", "Group": migration::group("push-1/prod/web"),
            "Overrides": {"ContainerOverrides": [{"Name": "app", "Command": ["bin/migrate", "up"]}]},
            "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"], "SecurityGroups": ["sg-1"],
                "AssignPublicIp": "DISABLED"}}})
    );
    assert_eq!(prepared.essential, vec!["app".to_string()]);
    assert_eq!(prepared.timeout_seconds, 600);
    assert_eq!(
        prepared.log_config.as_ref().map(|l| l.driver.as_str()),
        Some("awslogs")
    );
    assert!(!prepared.done && prepared.task_arn.is_none());
}

#[tokio::test]
async fn a_bridge_service_on_ec2_capacity_gets_no_network_and_the_ec2_launch_type() {
    let service = r#"{"services": [{"serviceName": "web", "status": "ACTIVE",
      "taskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
      "capacityProviderStrategy": [{"capacityProvider": "asg-spot", "weight": 1}]}], "failures": []}"#;
    let describe =
        mock!(aws_sdk_ecs::Client::describe_services).then_http_response(move || ok_json(service));
    let td = mock!(aws_sdk_ecs::Client::describe_task_definition)
        .then_http_response(|| ok_json(TASK_DEFINITION));
    let ecs = mock_client!(aws_sdk_ecs, &[&describe, &td]);
    let prepared = run(&ecs, input(None)).await.unwrap();
    assert_eq!(prepared.run_task.launch_type, "EC2");
    assert!(prepared.run_task.network_configuration.is_none());
}

fn ran(stopped: Option<Value>, error: Option<Value>) -> Value {
    let mut t = json!({"runTask": {"Cluster": "prod", "TaskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8",
            "LaunchType": "FARGATE", "Group": migration::group("push-1/prod/web"), "Overrides": {"ContainerOverrides": []}},
        "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8", "container": "app",
        "essential": ["app"], "timeoutSeconds": 600,
        "logConfig": {"driver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "web"}},
        "status": "PENDING", "done": false});
    if let Some(s) = stopped {
        t["stopped"] = s;
    }
    if let Some(e) = error {
        t["error"] = e;
    }
    t
}

#[tokio::test]
async fn a_non_zero_exit_is_migration_failed_with_the_code_and_the_logs() {
    let ecs = mock_client!(aws_sdk_ecs, &[]);
    let cause = described(Some(2)).to_string();
    let e = run(
        &ecs,
        input(Some(ran(
            None,
            Some(json!({"Error": "States.TaskFailed", "Cause": cause})),
        ))),
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
async fn exit_zero_is_done_and_keeps_no_task_description() {
    let ecs = mock_client!(aws_sdk_ecs, &[]);
    let done = run(&ecs, input(Some(ran(Some(described(Some(0))), None))))
        .await
        .unwrap();
    assert!(done.done && done.status == "STOPPED");
    assert_eq!(done.task_arn.as_deref(), Some(TASK_ARN));
    assert_eq!(
        done.logs.as_deref(),
        Some("CloudWatch Logs group /ecs/web, stream web/app/0123456789abcdef")
    );
    assert!(done.stopped.is_none() && done.error.is_none());
    // the integration's success output with a failed essential container is still a failure
    let e = run(&ecs, input(Some(ran(Some(described(Some(1))), None))))
        .await
        .unwrap_err();
    assert_eq!(e.name(), "MigrationFailed");
}

#[tokio::test]
async fn past_its_timeout_the_task_is_found_by_its_group_and_stopped() {
    let listed = mock!(aws_sdk_ecs::Client::list_tasks)
        .match_requests(|r| r.family() == Some("web") && r.desired_status() == Some(&DesiredStatus::Running))
        .then_http_response(|| {
            ok_json(&format!(r#"{{"taskArns": ["arn:aws:ecs:eu-west-1:123456789012:task/prod/service-task", "{TASK_ARN}"]}}"#))
        });
    let tasks = mock!(aws_sdk_ecs::Client::describe_tasks).then_http_response(|| {
        ok_json(&format!(
            r#"{{"tasks": [{{"taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/prod/service-task", "group": "service:web"}},
                {{"taskArn": "{TASK_ARN}", "group": "{}", "lastStatus": "RUNNING"}}], "failures": []}}"#,
            migration::group("push-1/prod/web")
        ))
    });
    let stop = mock!(aws_sdk_ecs::Client::stop_task)
        .match_requests(|r| {
            r.task() == Some(TASK_ARN)
                && r.reason() == Some("berth: migration timed out after 600 s")
        })
        .then_http_response(|| ok_json(&format!(r#"{{"task": {{"taskArn": "{TASK_ARN}"}}}}"#)));
    let ecs = mock_client!(aws_sdk_ecs, &[&listed, &tasks, &stop]);
    let e = run(
        &ecs,
        input(Some(ran(
            None,
            Some(json!({"Error": "States.Timeout", "Cause": ""})),
        ))),
    )
    .await
    .unwrap_err();
    assert_eq!(stop.num_calls(), 1);
    assert_eq!(e.name(), "MigrationFailed");
    assert!(
        e.message().contains("after 600 s") && e.message().contains("berth stopped it"),
        "{}",
        e.message()
    );
    assert!(
        e.message().contains("stream web/app/0123456789abcdef"),
        "{}",
        e.message()
    );
}

#[tokio::test]
async fn a_migration_that_says_nothing_to_run_is_refused_before_any_call() {
    let ecs = mock_client!(aws_sdk_ecs, &[]);
    let mut v = input(None);
    v["migration"] = json!({"timeoutSeconds": 600});
    let e = run(&ecs, v).await.unwrap_err();
    assert_eq!(e.name(), "InvalidInput");
}

#[tokio::test]
async fn a_task_definition_of_its_own_without_awsvpc_gets_no_network() {
    let describe =
        mock!(aws_sdk_ecs::Client::describe_services).then_http_response(|| ok_json(SERVICE));
    let td = mock!(aws_sdk_ecs::Client::describe_task_definition).then_http_response(|| {
        ok_json(r#"{"taskDefinition": {"taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/migrate:3",
            "family": "migrate", "revision": 3, "networkMode": "bridge",
            "containerDefinitions": [{"name": "migrate", "image": "r/migrate:1"}]}}"#)
    });
    let ecs = mock_client!(aws_sdk_ecs, &[&describe, &td]);
    let mut v = input(None);
    v["migration"] = json!({"taskDefinition": "migrate:3"});
    let prepared = run(&ecs, v).await.unwrap();
    assert!(prepared.run_task.network_configuration.is_none());
    assert!(prepared.run_task.overrides.container_overrides.is_empty());
    assert_eq!(prepared.essential, vec!["migrate".to_string()]);
}
