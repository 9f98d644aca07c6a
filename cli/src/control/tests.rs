use serde_json::json;

use super::*;
use crate::progress::StateExited;

fn plan_exited(deployments: serde_json::Value) -> Event {
    Event {
        kind: "TaskStateExited".into(),
        timestamp: 1.0,
        state_exited_event_details: Some(StateExited {
            name: "Plan".into(),
            output: Some(
                json!({"plan": {"source": "console", "deployments": deployments}}).to_string(),
            ),
        }),
        ..Default::default()
    }
}

fn item(service: &str, canary: bool) -> serde_json::Value {
    let mut v = json!({
        "deploymentId": format!("x/prod/{service}"), "cluster": "prod", "service": service,
        "image": "web@sha256:aa", "repository": "web", "forceNewDeployment": false,
        "timeoutSeconds": 600, "pollIntervalSeconds": 5, "rollbackTimeoutSeconds": 300,
        "execution": {"id": "arn:aws:states:r:1:execution:m:x", "name": "x", "startTime": "t"},
        "turnDeadline": "2026-01-01T00:00:00Z"
    });
    if canary {
        v["canary"] = json!({"bakeSeconds": 600, "intervalSeconds": 2, "alarms": ["a"]});
    }
    v
}

#[test]
fn the_services_come_from_plans_output_once_plan_has_run() {
    assert_eq!(planned(&[]), None);
    let events = [plan_exited(json!([item("web", true), item("api", false)]))];
    assert_eq!(
        planned(&events).unwrap(),
        vec![
            Planned {
                cluster: "prod".into(),
                service: "web".into(),
                canary_interval_seconds: Some(2)
            },
            Planned {
                cluster: "prod".into(),
                service: "api".into(),
                canary_interval_seconds: None
            },
        ]
    );
    assert_eq!(planned(&[plan_exited(json!([]))]), Some(vec![]));
}

fn plan() -> Vec<Planned> {
    planned(&[plan_exited(json!([item("web", true), item("api", false)]))]).unwrap()
}

#[test]
fn abort_takes_every_service_of_the_execution_or_the_one_named() {
    let all = choose(Action::Abort, "x", &plan(), None).unwrap();
    assert_eq!(all.len(), 2);
    let one = choose(Action::Abort, "x", &plan(), Some(("prod", "api"))).unwrap();
    assert_eq!(one[0].service, "api");
    let none = choose(Action::Abort, "x", &plan(), Some(("prod", "db"))).unwrap_err();
    assert_eq!(none.exit, Exit::Failed);
    assert_eq!(
        none.message,
        "nothing to abort: execution x deploys no service prod/db"
    );
}

#[test]
fn promote_is_for_baking_services_only_and_says_when_there_is_nothing_to_promote() {
    let baking = choose(Action::Promote, "x", &plan(), None).unwrap();
    assert_eq!(baking.len(), 1);
    assert_eq!(baking[0].service, "web");
    let e = choose(Action::Promote, "x", &plan(), Some(("prod", "api"))).unwrap_err();
    assert_eq!(e.exit, Exit::Failed);
    assert_eq!(
        e.message,
        "nothing to promote: execution x deploys prod/api without a canary bake"
    );
    let e = choose(Action::Promote, "x", &[], None).unwrap_err();
    assert_eq!(
        e.message,
        "nothing to promote: execution x deploys no service"
    );
}
