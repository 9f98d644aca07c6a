use serde_json::json;

use super::*;

const DIGEST: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn push_input(repo: &str) -> String {
    json!({"version": "0", "id": "e", "detail-type": "ECR Image Action", "source": "aws.ecr",
           "account": "123456789012", "time": "2026-11-30T00:00:00Z", "region": "eu-west-1", "resources": [],
           "detail": {"result": "SUCCESS", "repository-name": repo, "image-digest": DIGEST,
                      "action-type": "PUSH", "image-tag": "v2"}})
    .to_string()
}

fn map_exit(results: serde_json::Value) -> Event {
    serde_json::from_value(json!({"type": "MapStateExited", "timestamp": 10.0,
        "stateExitedEventDetails": {"name": "DeployEachService", "output": json!({"results": results}).to_string()}}))
    .unwrap()
}

fn facts(input: String, status: &str) -> ExecutionFacts {
    ExecutionFacts {
        arn: "arn:aws:states:r:1:execution:berth-deploy:x".into(),
        name: "x".into(),
        status: status.into(),
        input,
        started: 100.0,
        stopped: Some(112.34),
        now: 200.0,
        ..Default::default()
    }
}

#[test]
fn the_input_tells_a_push_from_a_request_by_hand() {
    let push = read_input(&push_input("web"));
    assert_eq!(push.trigger, Trigger::Push);
    assert_eq!(push.image, format!("web:v2@{DIGEST}"));
    assert_eq!(push.target, None);
    let hand = read_input(r#"{"cluster": "prod", "service": "web", "image": "web:v3", "typo": 1}"#);
    assert_eq!(hand.trigger, Trigger::Hand);
    assert_eq!(hand.target, Some(("prod".into(), "web".into())));
    assert_eq!(read_input("not json").trigger, Trigger::Hand);
}

#[test]
fn a_push_counts_for_the_services_its_map_deployed() {
    let events = vec![map_exit(json!([
        {"cluster": "prod", "service": "web", "outcome": "ROLLED_BACK", "detail": {}},
        {"cluster": "prod", "service": "worker", "outcome": "DEPLOYED", "detail": {}}]))];
    let mut f = facts(push_input("web"), "FAILED");
    f.error = Some("DeploymentRolledBack".into());
    f.cause = Some("prod/web: rolled back".into());
    let r = row("prod", "web", &f, &events).expect("about web");
    assert_eq!(
        (r.outcome.as_str(), r.trigger, r.duration_seconds),
        ("ROLLED_BACK", Trigger::Push, 12.3)
    );
    assert_eq!(r.cause, "prod/web: rolled back");
    assert_eq!(
        row("prod", "worker", &f, &events).unwrap().outcome,
        "DEPLOYED"
    );
    assert_eq!(row("prod", "api", &f, &events), None);
    assert_eq!(row("staging", "web", &f, &events), None);
}

#[test]
fn a_refused_request_is_not_started_and_a_running_one_is_running() {
    let input = json!({"cluster": "prod", "service": "web", "image": "web@sha256:BAD"}).to_string();
    let mut f = facts(input.clone(), "FAILED");
    f.error = Some("InvalidImage".into());
    f.cause = Some("not a valid reference".into());
    let r = row("prod", "web", &f, &[]).unwrap();
    assert_eq!(
        (r.outcome.as_str(), r.trigger),
        ("NOT_STARTED", Trigger::Hand)
    );
    let mut running = facts(input, "RUNNING");
    running.stopped = None;
    let r = row("prod", "web", &running, &[]).unwrap();
    assert_eq!((r.outcome.as_str(), r.duration_seconds), ("RUNNING", 100.0));
}

#[test]
fn a_succeeded_execution_shows_its_summary_cause() {
    let mut f = facts(
        json!({"cluster": "prod", "service": "web", "image": "web:v2"}).to_string(),
        "SUCCEEDED",
    );
    f.output = Some(
        json!({"summary": {"status": "SUCCEEDED", "error": "", "cause": "prod/web: deployed web:2",
        "services": [{"cluster": "prod", "service": "web", "outcome": "DEPLOYED"}]}})
        .to_string(),
    );
    let r = row("prod", "web", &f, &[]).unwrap();
    assert_eq!(
        (r.outcome.as_str(), r.cause.as_str()),
        ("DEPLOYED", "prod/web: deployed web:2")
    );
    let table = render(&[r]);
    assert!(table.starts_with("STARTED"), "{table}");
    assert!(table.contains("hand      DEPLOYED"), "{table}");
}

fn row_named(name: &str, started_at: &str) -> Row {
    Row {
        execution_arn: format!(
            "arn:aws:states:us-east-1:123456789012:execution:berth-deploy:{name}"
        ),
        name: name.into(),
        started_at: started_at.into(),
        trigger: Trigger::Push,
        image: "web@sha256:11".into(),
        outcome: "DEPLOYED".into(),
        status: "SUCCEEDED".into(),
        error: None,
        cause: String::new(),
        duration_seconds: 12.0,
        revision: None,
        previous_revision: None,
    }
}

fn revision(name: &str, rev: u32, registered_at: &str) -> BerthRevision {
    let td = "arn:aws:ecs:us-east-1:123456789012:task-definition/web";
    BerthRevision {
        task_definition: format!("{td}:{rev}"),
        deployment_id: format!("{name}/prod/web"),
        previous: Some(format!("{td}:{}", rev - 1)),
        registered_at: Some(registered_at.into()),
        registered_secs: 0.0,
        images: vec!["app=web@sha256:22".into()],
    }
}

#[test]
fn each_row_gains_the_revision_its_deployment_registered_and_the_one_before() {
    let rows = vec![
        row_named("b", "2026-11-30T02:00:00Z"),
        row_named("a", "2026-11-30T01:00:00Z"),
    ];
    let revs = [revision("b", 5, "2026-11-30T02:00:01Z")];
    let rows = with_revisions(rows, &revs, 10);
    assert_eq!(rows.len(), 2);
    assert!(rows[0].revision.as_deref().unwrap().ends_with("web:5"));
    assert!(rows[0]
        .previous_revision
        .as_deref()
        .unwrap()
        .ends_with("web:4"));
    assert_eq!(
        rows[1].revision, None,
        "a registered nothing (refused, or a rollback by hand)"
    );
    assert!(render(&rows).contains("web:5"));
}

#[test]
fn a_revision_whose_execution_is_no_longer_listed_becomes_a_row_of_its_own() {
    let rows = vec![row_named("new", "2026-11-30T02:00:00Z")];
    let revs = [
        revision("new", 9, "2026-11-30T02:00:01Z"),
        revision("old", 4, "2026-08-01T00:00:00Z"),
    ];
    let rows = with_revisions(rows, &revs, 10);
    assert_eq!(
        rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["new", "old"]
    );
    let old = &rows[1];
    assert_eq!(
        (old.outcome.as_str(), old.trigger),
        (EXPIRED, Trigger::Unknown)
    );
    assert_eq!(old.image, "web@sha256:22");
    assert!(
        old.cause.contains("no longer listed") && old.cause.contains("replacing web:3"),
        "{}",
        old.cause
    );
    // A full history (limit reached by the executions) takes no older rows from the tags.
    let full = with_revisions(vec![row_named("new", "2026-11-30T02:00:00Z")], &revs, 1);
    assert_eq!(full.len(), 1);
    assert_eq!(full[0].name, "new");
}

#[test]
fn a_request_naming_a_revision_is_a_rollback_by_hand() {
    let input = read_input(
        r#"{"cluster": "prod", "service": "web", "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"}"#,
    );
    assert_eq!(input.trigger, Trigger::Rollback);
    assert_eq!(
        (input.trigger.label(), input.image.as_str()),
        ("rollback", "web:1")
    );
    assert_eq!(input.target, Some(("prod".into(), "web".into())));
}
