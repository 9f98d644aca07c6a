use aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput;
use aws_sdk_sfn::operation::list_executions::ListExecutionsOutput;
use aws_sdk_sfn::operation::send_task_success::SendTaskSuccessOutput;
use aws_sdk_sfn::primitives::DateTime as SdkTime;
use aws_sdk_sfn::types::{ExecutionListItem, HistoryEventType};
use aws_smithy_mocks::mock;
use berth::testing::{history_event as event, mock_client, ok_json, watch_scheduled as scheduled};
use serde_json::json;

use super::*;

const COMPLETED: &str = include_str!("../../../check-stability/fixtures/completed.json");
const SERVICE: &str = "arn:aws:ecs:eu-west-1:123456789012:service/prod/web";

/// "ECS Deployment State Change", as AWS documents it (Amazon ECS developer guide, "Amazon ECS
/// service deployment state change events").
fn ecs_event(name: &str) -> Value {
    json!({"version": "0", "id": "ddca6449-b258-46c0-8653-e0e3aEXAMPLE",
        "detail-type": "ECS Deployment State Change", "source": "aws.ecs",
        "account": "123456789012", "time": "2020-05-23T12:31:14Z", "region": "eu-west-1",
        "resources": [SERVICE],
        "detail": {"eventType": "INFO", "eventName": name,
            "deploymentId": "ecs-svc/123", "updatedAt": "2020-05-23T11:11:11Z",
            "reason": "ECS deployment ecs-svc/123 completed."}})
}

fn watch_payload(cluster: &str, service: &str) -> Value {
    json!({"cluster": cluster, "service": service, "taskToken": "token-1",
        "rollout": {"ecsDeploymentId": "ecs-svc/9223370300000000008",
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8",
            "startedAt": "2026-11-20T10:00:00Z", "deadline": "2030-01-01T00:00:00Z",
            "desiredCount": 2, "watch": {"seconds": 300, "judgeShift": false}}})
}

#[test]
fn the_event_names_the_service_and_the_payload_must_match_it() {
    assert_eq!(
        service_of(&ecs_event("SERVICE_DEPLOYMENT_COMPLETED")).unwrap(),
        (
            SERVICE.to_owned(),
            "SERVICE_DEPLOYMENT_COMPLETED".to_owned()
        )
    );
    assert_eq!(
        service_of(&json!({"resources": []})).unwrap_err().name(),
        "InvalidInput"
    );
    // a service's stopped task (AWS's documented "ECS Task State Change", trimmed)
    let task = json!({"version": "0", "detail-type": "ECS Task State Change", "source": "aws.ecs",
        "resources": ["arn:aws:ecs:eu-west-1:123456789012:task/prod/b99d40b3c1f64e3b8b0b5c0f2d1a9a11"],
        "detail": {"clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
            "group": "service:web", "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
            "stoppedReason": "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/1)"}});
    assert_eq!(
        service_of(&task).unwrap(),
        (SERVICE.to_owned(), "task STOPPED".to_owned())
    );
    // a one-off task (no service) wakes nothing
    let mut one_off = task.clone();
    one_off["detail"]["group"] = json!("family:migrate");
    assert_eq!(service_of(&one_off).unwrap_err().name(), "InvalidInput");
    assert!(same_service(&watch_payload("prod", "web"), SERVICE));
    assert!(same_service(
        &watch_payload("arn:aws:ecs:eu-west-1:123456789012:cluster/prod", "web"),
        SERVICE
    ));
    assert!(!same_service(&watch_payload("staging", "web"), SERVICE));
    assert!(!same_service(&watch_payload("prod", "api"), SERVICE));
}

#[tokio::test]
async fn an_ecs_event_answers_the_execution_waiting_for_that_service() {
    // GIVEN two running children: one deploying prod/web (waiting in its watch state), one api
    let web = children::execution_name("push-1/prod/web", "web");
    let api = children::execution_name("push-1/prod/api", "api");
    let listed = web.clone();
    let list = mock!(aws_sdk_sfn::Client::list_executions).then_output(move || {
        let item = |name: &str| {
            ExecutionListItem::builder()
                .execution_arn(format!(
                    "arn:aws:states:eu-west-1:123456789012:execution:berth-service:{name}"
                ))
                .state_machine_arn(
                    "arn:aws:states:eu-west-1:123456789012:stateMachine:berth-service",
                )
                .name(name)
                .status(ExecutionStatus::Running)
                .start_date(SdkTime::from_secs(1))
                .build()
                .unwrap()
        };
        ListExecutionsOutput::builder()
            .executions(item(&api))
            .executions(item(&listed))
            .build()
            .unwrap()
    });
    let history = mock!(aws_sdk_sfn::Client::get_execution_history)
        .match_requests(|r| {
            r.execution_arn().is_some_and(|a| a.contains(":web-"))
                && r.reverse_order() == Some(true)
        })
        .then_output(|| {
            GetExecutionHistoryOutput::builder()
                .events(event(9, HistoryEventType::TaskSubmitted))
                .events(scheduled(7, &watch_payload("prod", "web")))
                .build()
                .unwrap()
        });
    let send = mock!(aws_sdk_sfn::Client::send_task_success)
        .match_requests(|r| r.task_token() == Some("token-1"))
        .then_output(|| SendTaskSuccessOutput::builder().build());
    let describe =
        mock!(aws_sdk_ecs::Client::describe_services).then_http_response(|| ok_json(COMPLETED));
    let tasks = mock!(aws_sdk_ecs::Client::list_tasks)
        .then_http_response(|| ok_json(r#"{"taskArns": []}"#));
    let ecs = mock_client!(aws_sdk_ecs, &[&describe, &tasks]);
    let cd = mock_client!(aws_sdk_codedeploy, &[]);
    let ssm = mock_client!(aws_sdk_ssm, &[]);
    let sfn = mock_client!(aws_sdk_sfn, &[&list, &history, &send]);
    let aws = check_stability::Aws {
        ecs: &ecs,
        codedeploy: &cd,
        ssm: &ssm,
        verdicts_prefix: "/berth/hook-verdicts",
    };
    // WHEN ECS says web's deployment completed
    let woken = run(
        &aws,
        &sfn,
        "arn:aws:states:eu-west-1:123456789012:stateMachine:berth-service",
        &Running::default(),
        ecs_event("SERVICE_DEPLOYMENT_COMPLETED"),
        DateTime::from_secs(1_795_001_300),
    )
    .await
    .unwrap();
    // THEN only web's execution is read and answered, with the check's result
    assert_eq!(history.num_calls(), 1);
    assert_eq!(send.num_calls(), 1);
    assert_eq!(woken.checked.len(), 1);
    assert_eq!(woken.checked[0].status, "COMPLETED");
    assert!(woken.checked[0].execution.contains(&web));
}

#[tokio::test]
async fn without_the_machine_configured_it_says_so() {
    let sfn = mock_client!(aws_sdk_sfn, &[]);
    let ecs = mock_client!(aws_sdk_ecs, &[]);
    let cd = mock_client!(aws_sdk_codedeploy, &[]);
    let ssm = mock_client!(aws_sdk_ssm, &[]);
    let aws = check_stability::Aws {
        ecs: &ecs,
        codedeploy: &cd,
        ssm: &ssm,
        verdicts_prefix: "/x",
    };
    let e = run(
        &aws,
        &sfn,
        "",
        &Running::default(),
        ecs_event("SERVICE_DEPLOYMENT_COMPLETED"),
        DateTime::from_secs(1),
    )
    .await
    .unwrap_err();
    assert_eq!(e.name(), "InvalidInput");
    assert!(e.message().contains(MACHINE_VARIABLE));
}

#[test]
fn a_listing_serves_the_events_that_happened_before_it() {
    let at = DateTime::from_secs(1_000);
    // no listing yet, or one taken before the event (or in its second): list
    assert!(stale_for(None, at));
    assert!(stale_for(Some(DateTime::from_secs(999)), at));
    assert!(stale_for(Some(DateTime::from_secs(1_000)), at));
    // taken a second after the event: it holds every execution the event can be about
    assert!(!stale_for(Some(DateTime::from_secs(1_001)), at));
    // at most one listing a second
    let ms = |m: i64| DateTime::from_millis(m);
    assert_eq!(relist_after(None, at), std::time::Duration::ZERO);
    assert_eq!(
        relist_after(Some(ms(1_000_000)), ms(1_000_250)),
        std::time::Duration::from_millis(750)
    );
    assert_eq!(
        relist_after(Some(ms(1_000_000)), ms(1_002_000)),
        std::time::Duration::ZERO
    );
    // a clock that went back waits a second, not longer
    assert_eq!(
        relist_after(Some(ms(1_000_000)), ms(990_000)),
        std::time::Duration::from_secs(1)
    );
}

const MACHINE: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:berth-service";

fn listed(names: &[String]) -> ListExecutionsOutput {
    let mut out = ListExecutionsOutput::builder();
    for name in names {
        out = out.executions(
            ExecutionListItem::builder()
                .execution_arn(format!(
                    "arn:aws:states:eu-west-1:123456789012:execution:berth-service:{name}"
                ))
                .state_machine_arn(MACHINE)
                .name(name)
                .status(ExecutionStatus::Running)
                .start_date(SdkTime::from_secs(1))
                .build()
                .unwrap(),
        );
    }
    out.build().unwrap()
}

#[tokio::test]
async fn one_listing_serves_many_events_and_a_new_execution_is_listed_again() {
    // GIVEN web's execution waiting in its watch state, listed once
    let web = children::execution_name("push-1/prod/web", "web");
    let first = vec![web.clone()];
    let list = mock!(aws_sdk_sfn::Client::list_executions).then_output(move || listed(&first));
    let history = mock!(aws_sdk_sfn::Client::get_execution_history).then_output(|| {
        GetExecutionHistoryOutput::builder()
            .events(event(9, HistoryEventType::TaskSubmitted))
            .events(scheduled(7, &watch_payload("prod", "web")))
            .build()
            .unwrap()
    });
    let send = mock!(aws_sdk_sfn::Client::send_task_success)
        .then_output(|| SendTaskSuccessOutput::builder().build());
    let describe =
        mock!(aws_sdk_ecs::Client::describe_services).then_http_response(|| ok_json(COMPLETED));
    let tasks = mock!(aws_sdk_ecs::Client::list_tasks)
        .then_http_response(|| ok_json(r#"{"taskArns": []}"#));
    let ecs = mock_client!(aws_sdk_ecs, &[&describe, &tasks]);
    let cd = mock_client!(aws_sdk_codedeploy, &[]);
    let ssm = mock_client!(aws_sdk_ssm, &[]);
    let sfn = mock_client!(aws_sdk_sfn, &[&list, &history, &send]);
    let aws = check_stability::Aws {
        ecs: &ecs,
        codedeploy: &cd,
        ssm: &ssm,
        verdicts_prefix: "/berth/hook-verdicts",
    };
    let running = Running::default();
    let now = berth::time::now();
    // WHEN three of web's events arrive (a task stopped, the deployment completed, ...)
    for _ in 0..3 {
        let woken = run(
            &aws,
            &sfn,
            MACHINE,
            &running,
            ecs_event("SERVICE_DEPLOYMENT_COMPLETED"),
            now,
        )
        .await
        .unwrap();
        assert_eq!(woken.checked.len(), 1, "{woken:?}");
    }
    // THEN the executions were listed once, and each event checked web's watch
    assert_eq!(list.num_calls(), 1);
    assert_eq!(history.num_calls(), 3);
    // AND an event for a service the listing does not hold, newer than the listing, lists again
    let mut api = ecs_event("SERVICE_DEPLOYMENT_COMPLETED");
    api["resources"] = json!(["arn:aws:ecs:eu-west-1:123456789012:service/prod/api"]);
    api["time"] = json!(berth::time::format(berth::time::plus_secs(
        berth::time::now(),
        5
    )));
    let woken = run(&aws, &sfn, MACHINE, &running, api.clone(), now)
        .await
        .unwrap();
    assert!(woken.checked.is_empty());
    assert_eq!(list.num_calls(), 2);
    // AND an event older than the listing, for a service with no execution, reads nothing
    api["time"] = json!("2020-05-23T12:31:14Z");
    run(&aws, &sfn, MACHINE, &running, api, now).await.unwrap();
    assert_eq!(list.num_calls(), 2);
    assert_eq!(history.num_calls(), 3);
}
