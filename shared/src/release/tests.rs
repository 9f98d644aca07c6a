use serde_json::json;

use super::*;
use crate::model::RollbackTo;

fn item(service: &str, release: Option<(&str, u32)>) -> DeploymentItem {
    let mut v = json!({"deploymentId": format!("push-1/prod/{service}"),
        "cluster": "prod", "service": service, "container": "app",
        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop@sha256:aa",
        "repository": "shop", "forceNewDeployment": false, "timeoutSeconds": 1800,
        "pollIntervalSeconds": 15, "rollbackTimeoutSeconds": 900,
        "execution": {"id": "arn:aws:states:us-east-1:123456789012:execution:berth-deploy:push-1", "name": "push-1"},
        "turnDeadline": "2026-11-30T06:07:12Z",
        "executionName": crate::children::execution_name(&format!("push-1/prod/{service}"), service),
        "fallbackPollSeconds": 300});
    if let Some((name, wave)) = release {
        v["release"] = json!({"name": name, "wave": wave});
    }
    serde_json::from_value(v).unwrap()
}

fn plan(items: Vec<DeploymentItem>) -> Plan {
    Plan {
        source: "ecr-push".into(),
        deployments: items,
        skipped: None,
        releases: Some(vec!["shop".into()]),
    }
}

fn report(service: &str, outcome: Outcome) -> ServiceReport {
    ServiceReport {
        cluster: "prod".into(),
        service: service.into(),
        outcome,
        cause: format!("{service} {outcome:?}"),
        error: None,
        rollback_to: Some(RollbackTo {
            task_definition: format!(
                "arn:aws:ecs:us-east-1:123456789012:task-definition/{service}:7"
            ),
            image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop@sha256:old".into(),
        }),
    }
}

#[test]
fn waves_run_in_order_and_a_service_outside_any_release_ships_in_the_first() {
    let p = plan(vec![
        item("worker", Some(("shop", 2))),
        item("api", Some(("shop", 1))),
        item("cron", None),
    ]);
    let s = next(&p, ReleaseState::default());
    assert_eq!((s.wave, s.items.clone()), (1, vec![1, 2]));
    let s = next(
        &p,
        ReleaseState {
            wave_results: Some(vec![
                report("api", Outcome::Deployed),
                report("cron", Outcome::Deployed),
            ]),
            ..s
        },
    );
    assert_eq!((s.wave, s.items.clone()), (2, vec![0]));
    let s = next(
        &p,
        ReleaseState {
            wave_results: Some(vec![report("worker", Outcome::Deployed)]),
            ..s
        },
    );
    // done: nothing to deploy, nothing to roll back, the reports in the plan's order
    assert!(s.items.is_empty() && s.rollback.is_empty());
    let order: Vec<&str> = s.results.iter().map(|r| r.service.as_str()).collect();
    assert_eq!(order, ["worker", "api", "cron"]);
}

#[test]
fn a_failed_wave_stops_the_release_and_deploys_back_what_it_deployed() {
    // GIVEN the API (wave 1), the worker (wave 2) and the scheduler (wave 3) of release shop
    let p = plan(vec![
        item("api", Some(("shop", 1))),
        item("worker", Some(("shop", 2))),
        item("scheduler", Some(("shop", 3))),
        item("cron", None),
    ]);
    let s = next(&p, ReleaseState::default());
    let s = next(
        &p,
        ReleaseState {
            wave_results: Some(vec![
                report("api", Outcome::Deployed),
                report("cron", Outcome::Deployed),
            ]),
            ..s
        },
    );
    assert_eq!(s.items, vec![1]);
    // WHEN the worker rolls back
    let s = next(
        &p,
        ReleaseState {
            wave_results: Some(vec![report("worker", Outcome::RolledBack)]),
            ..s
        },
    );
    // THEN the scheduler is not started and only the API is deployed back, to what it ran
    assert!(s.items.is_empty());
    let scheduler = s.results.iter().find(|r| r.service == "scheduler").unwrap();
    assert_eq!(scheduler.outcome, Outcome::NotStarted);
    assert!(
        scheduler.cause.contains("release shop"),
        "{}",
        scheduler.cause
    );
    assert_eq!(s.rollback.len(), 1);
    let back = &s.rollback[0];
    assert_eq!(back.service, "api");
    assert_eq!(
        back.task_definition.as_deref(),
        Some("arn:aws:ecs:us-east-1:123456789012:task-definition/api:7")
    );
    assert!(back.image.ends_with("@sha256:old"));
    assert_eq!(back.release, None);
    assert_ne!(back.execution_name, p.deployments[0].execution_name);
    // AND once deployed back, the API reports ROLLED_BACK with why; cron (no release) stays DEPLOYED
    let s = next(
        &p,
        ReleaseState {
            rollback_results: Some(vec![report("api", Outcome::Deployed)]),
            ..s
        },
    );
    assert!(s.items.is_empty() && s.rollback.is_empty());
    let api = s.results.iter().find(|r| r.service == "api").unwrap();
    assert_eq!(api.outcome, Outcome::RolledBack);
    assert!(
        api.cause
            .contains("release shop failed (worker ROLLED_BACK)")
            && api.cause.contains("api:7"),
        "{}",
        api.cause
    );
    assert_eq!(
        s.results
            .iter()
            .find(|r| r.service == "cron")
            .unwrap()
            .outcome,
        Outcome::Deployed
    );
}

#[test]
fn a_failed_rollback_of_the_release_is_reported_as_such() {
    let p = plan(vec![
        item("api", Some(("shop", 1))),
        item("worker", Some(("shop", 1))),
    ]);
    let s = next(&p, ReleaseState::default());
    assert_eq!(s.items, vec![0, 1]);
    let s = next(
        &p,
        ReleaseState {
            wave_results: Some(vec![
                report("api", Outcome::Deployed),
                report("worker", Outcome::NotStarted),
            ]),
            ..s
        },
    );
    assert_eq!(s.rollback.len(), 1);
    let s = next(
        &p,
        ReleaseState {
            rollback_results: Some(vec![report("api", Outcome::RolledBack)]),
            ..s
        },
    );
    assert_eq!(s.results[0].outcome, Outcome::RollbackFailed);
}

#[test]
fn release_tags_are_read_and_typos_refused() {
    assert_eq!(ReleaseRef::from_tags("api", None, None).unwrap(), None);
    assert_eq!(
        ReleaseRef::from_tags("api", Some("shop"), None).unwrap(),
        Some(ReleaseRef {
            name: "shop".into(),
            wave: 1
        })
    );
    assert_eq!(
        ReleaseRef::from_tags("w", Some("shop"), Some("2"))
            .unwrap()
            .unwrap()
            .wave,
        2
    );
    for bad in ["0", "11", "two", ""] {
        assert_eq!(
            ReleaseRef::from_tags("w", Some("shop"), Some(bad))
                .unwrap_err()
                .name(),
            "InvalidInput",
            "{bad}"
        );
    }
    assert_eq!(
        ReleaseRef::from_tags("w", None, Some("2"))
            .unwrap_err()
            .name(),
        "InvalidInput"
    );
}

#[test]
fn a_release_goes_back_past_the_gates_and_keeps_stop_then_start() {
    // GIVEN an API held by a freeze calendar and the scan gate, deployed stop-then-start
    let mut api = item("api", Some(("shop", 1)));
    let gated: DeploymentItem = serde_json::from_value({
        let mut v = serde_json::to_value(&api).unwrap();
        v["scan"] = json!({"threshold": "CRITICAL", "onNoScan": "refuse", "maxWaitSeconds": 600});
        v["freeze"] = json!([{"source": "service api tag berth:freeze", "timeZone": "UTC",
            "windows": ["daily 00:00 - 23:59"], "onFreeze": "wait"}]);
        v["stopThenStart"] = json!({"timeoutSeconds": 300});
        v
    })
    .unwrap();
    api = gated;
    assert!(api.scan.is_some() && !api.freeze.is_empty());
    let p = plan(vec![api, item("worker", Some(("shop", 2)))]);
    let s = next(&p, ReleaseState::default());
    let s = next(
        &p,
        ReleaseState {
            wave_results: Some(vec![report("api", Outcome::Deployed)]),
            ..s
        },
    );
    // WHEN the worker fails
    let s = next(
        &p,
        ReleaseState {
            wave_results: Some(vec![report("worker", Outcome::RolledBack)]),
            ..s
        },
    );
    // THEN the API's way back waits for no window and no scan, and still stops first
    let back = &s.rollback[0];
    assert_eq!(back.service, "api");
    assert!(back.scan.is_none() && back.freeze.is_empty() && back.override_freeze.is_none());
    assert!(back.stop_then_start.is_some());
}
