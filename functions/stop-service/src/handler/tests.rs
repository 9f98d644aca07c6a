use aws_smithy_mocks::mock;
use berth::testing::{mock_client, ok_json};
use serde_json::{json, Value};

use super::*;

fn service(strategy: Option<&str>) -> String {
    let mut s = json!({"serviceName": "web", "status": "ACTIVE",
        "serviceArn": "arn:aws:ecs:eu-west-1:123456789012:service/prod/web",
        "taskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
        "desiredCount": 3, "runningCount": 3, "pendingCount": 0,
        "deploymentController": {"type": "ECS"}, "deployments": []});
    if let Some(st) = strategy {
        s["deploymentConfiguration"] = json!({"strategy": st});
    }
    json!({"services": [s], "failures": []}).to_string()
}

fn input(stopping: Option<Value>) -> Value {
    let mut v = json!({"deploymentId": "push-1/prod/web", "cluster": "prod", "service": "web",
        "stopThenStart": {"timeoutSeconds": 300}});
    if let Some(s) = stopping {
        v["stopping"] = s;
    }
    v
}

fn recorded(scaled_down: bool, deadline: &str) -> Value {
    json!({"desiredCount": 3, "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
        "deadline": deadline, "timeoutSeconds": 300, "scaledDown": scaled_down, "running": 3, "drained": false})
}

#[tokio::test]
async fn the_record_reads_the_desired_count_and_changes_nothing() {
    let describe = mock!(aws_sdk_ecs::Client::describe_services)
        .then_http_response(|| ok_json(&service(None)));
    let update = mock!(aws_sdk_ecs::Client::update_service).then_http_response(|| ok_json("{}"));
    let ecs = mock_client!(aws_sdk_ecs, &[&describe, &update]);
    let s = run(&ecs, input(None), DateTime::from_secs(1_795_000_000))
        .await
        .unwrap();
    assert_eq!(update.num_calls(), 0);
    assert_eq!(
        (s.desired_count, s.scaled_down, s.drained),
        (3, false, false)
    );
    assert!(s.task_definition_arn.ends_with("web:7"));
    assert_eq!(s.deadline, "2026-11-18T11:11:40Z");
}

#[tokio::test]
async fn a_native_strategy_is_refused_before_anything_changes() {
    let describe = mock!(aws_sdk_ecs::Client::describe_services)
        .then_http_response(|| ok_json(&service(Some("LINEAR"))));
    let ecs = mock_client!(aws_sdk_ecs, &[&describe]);
    let e = run(&ecs, input(None), DateTime::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(e.name(), "InvalidInput");
    assert!(e.message().contains("LINEAR"), "{}", e.message());
}

fn listed(arns: &'static [&'static str]) -> String {
    json!({"taskArns": arns}).to_string()
}

#[tokio::test]
async fn it_scales_to_zero_once_and_waits_for_stopping_tasks() {
    let describe = mock!(aws_sdk_ecs::Client::describe_services)
        .then_http_response(|| ok_json(&service(None)));
    let update = mock!(aws_sdk_ecs::Client::update_service)
        .match_requests(|r| r.desired_count() == Some(0) && r.task_definition().is_none())
        .then_http_response(|| ok_json("{}"));
    let list = mock!(aws_sdk_ecs::Client::list_tasks)
        .then_http_response(|| ok_json(&listed(&["t1", "t2"])));
    // one task stopping (its container may still run), one stopped
    let tasks = mock!(aws_sdk_ecs::Client::describe_tasks).then_http_response(|| {
        ok_json(r#"{"tasks": [{"taskArn": "t1", "lastStatus": "STOPPING"}, {"taskArn": "t2", "lastStatus": "STOPPED"}], "failures": []}"#)
    });
    let ecs = mock_client!(aws_sdk_ecs, &[&describe, &update, &list, &tasks]);
    let s = run(
        &ecs,
        input(Some(recorded(false, "2030-01-01T00:00:00Z"))),
        DateTime::from_secs(1_795_000_000),
    )
    .await
    .unwrap();
    assert_eq!(update.num_calls(), 1);
    assert_eq!(
        (s.scaled_down, s.running, s.drained, s.desired_count),
        (true, 1, false, 3)
    );
    // the next look does not scale again
    let again = run(
        &ecs,
        input(Some(recorded(true, "2030-01-01T00:00:00Z"))),
        DateTime::from_secs(1_795_000_000),
    )
    .await
    .unwrap();
    assert_eq!(update.num_calls(), 1);
    assert!(!again.drained);
}

#[tokio::test]
async fn drained_when_every_task_has_stopped_and_a_timeout_past_the_deadline() {
    let describe = mock!(aws_sdk_ecs::Client::describe_services)
        .then_http_response(|| ok_json(&service(None)));
    let list =
        mock!(aws_sdk_ecs::Client::list_tasks).then_http_response(|| ok_json(&listed(&["t1"])));
    let stopped = mock!(aws_sdk_ecs::Client::describe_tasks).then_http_response(|| {
        ok_json(r#"{"tasks": [{"taskArn": "t1", "lastStatus": "DEPROVISIONING"}], "failures": []}"#)
    });
    let ecs = mock_client!(aws_sdk_ecs, &[&describe, &list, &stopped]);
    let s = run(
        &ecs,
        input(Some(recorded(true, "2030-01-01T00:00:00Z"))),
        DateTime::from_secs(1_795_000_000),
    )
    .await
    .unwrap();
    assert!(s.drained && s.running == 0);

    let running = mock!(aws_sdk_ecs::Client::describe_tasks).then_http_response(|| {
        ok_json(r#"{"tasks": [{"taskArn": "t1", "lastStatus": "RUNNING"}], "failures": []}"#)
    });
    let ecs = mock_client!(aws_sdk_ecs, &[&describe, &list, &running]);
    let e = run(
        &ecs,
        input(Some(recorded(true, "2026-11-18T11:11:40Z"))),
        DateTime::from_secs(1_795_000_300),
    )
    .await
    .unwrap_err();
    assert_eq!(e.name(), "StopTimeout");
    assert!(
        e.message().contains("still running 300 s after"),
        "{}",
        e.message()
    );
}

#[tokio::test]
async fn the_rollback_stops_the_new_tasks_even_when_aborted_and_sets_its_own_deadline() {
    // an aborted execution (berth:control on the service names it) still rolls back
    let aborted = || {
        let mut s: Value = serde_json::from_str(&service(None)).unwrap();
        // the new revision runs (StartNewTasks), failing
        s["services"][0]["taskDefinition"] =
            json!("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8");
        s["services"][0]["tags"] = json!([{"key": control::TAG, "value": control::value(control::Action::Abort, "web-1").unwrap()}]);
        s.to_string()
    };
    let describe = mock!(aws_sdk_ecs::Client::describe_services)
        .then_http_response(move || ok_json(&aborted()));
    let update = mock!(aws_sdk_ecs::Client::update_service)
        .match_requests(|r| r.desired_count() == Some(0) && r.task_definition().is_none())
        .then_http_response(|| ok_json("{}"));
    let list =
        mock!(aws_sdk_ecs::Client::list_tasks).then_http_response(|| ok_json(&listed(&["t1"])));
    let tasks = mock!(aws_sdk_ecs::Client::describe_tasks).then_http_response(|| {
        ok_json(r#"{"tasks": [{"taskArn": "t1", "lastStatus": "RUNNING"}], "failures": []}"#)
    });
    let ecs = mock_client!(aws_sdk_ecs, &[&describe, &update, &list, &tasks]);
    let mut v = input(Some(recorded(false, "")));
    v["execution"] = json!({"id": "arn:aws:states:eu-west-1:1:execution:berth-deploy:web-1", "name": "web-1", "startTime": "t"});
    // as a stop of the deploy it is refused (Aborted): nothing changes
    let e = run(&ecs, v.clone(), DateTime::from_secs(1_795_000_000))
        .await
        .unwrap_err();
    assert_eq!(e.name(), "Aborted", "{}", e.message());
    assert_eq!(update.num_calls(), 0);
    // as the rollback's stop it scales to 0, with a deadline from its own timeout
    v["rollingBack"] = json!(true);
    let s = run(&ecs, v, DateTime::from_secs(1_795_000_000))
        .await
        .unwrap();
    assert_eq!(update.num_calls(), 1);
    assert_eq!((s.scaled_down, s.running, s.drained), (true, 1, false));
    assert_eq!(s.deadline, "2026-11-18T11:11:40Z");
}

#[tokio::test]
async fn the_rollback_stops_nothing_when_ecs_already_put_the_previous_revision_back() {
    // the service runs web:7 again (the circuit breaker's rollback): the recorded revision
    let describe = mock!(aws_sdk_ecs::Client::describe_services)
        .then_http_response(|| ok_json(&service(None)));
    let update = mock!(aws_sdk_ecs::Client::update_service).then_http_response(|| ok_json("{}"));
    let ecs = mock_client!(aws_sdk_ecs, &[&describe, &update]);
    let mut v = input(Some(recorded(false, "")));
    v["rollingBack"] = json!(true);
    let s = run(&ecs, v, DateTime::from_secs(1_795_000_000))
        .await
        .unwrap();
    assert_eq!(update.num_calls(), 0);
    assert!(s.drained && !s.scaled_down, "{s:?}");
}
