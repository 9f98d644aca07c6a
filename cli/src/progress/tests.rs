use serde_json::{json, Value};

use super::*;

const T0: f64 = 1_764_460_000.0;
const TD: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web";
const IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// A state's exit as GetExecutionHistory returns it: the output is a JSON string.
fn exited(kind: &str, name: &str, at: f64, output: Value) -> Event {
    serde_json::from_value(json!({
        "type": kind, "id": 7, "previousEventId": 6, "timestamp": at,
        "stateExitedEventDetails": {"name": name, "output": output.to_string(),
                                    "outputDetails": {"truncated": false}}
    }))
    .expect("event")
}

fn doc(extra: Value) -> Value {
    let mut d = json!({"deploymentId": "berth-cli-web-1/prod/web", "cluster": "prod", "service": "web",
                       "image": IMAGE, "repository": "web"});
    d.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    d
}

fn stability(status: &str, reason: Option<&str>, running: i32, failed: i32, detail: &str) -> Value {
    json!({"status": status, "reason": reason, "detail": detail, "ecsDeploymentId": "ecs-svc/2",
           "taskDefinitionArn": format!("{TD}:2"), "primaryTaskDefinitionArn": format!("{TD}:2"),
           "rolloutState": "IN_PROGRESS", "rolloutStateReason": null, "desiredCount": 2,
           "runningCount": running, "pendingCount": 2 - running, "failedTasks": failed, "unhealthyTasks": 0,
           "events": [], "checkedAt": "2026-11-30T00:00:10Z"})
}

#[test]
fn each_state_of_a_deployment_has_one_line_with_its_numbers() {
    let turn = exited(
        "TaskStateExited",
        "AcquireTurn",
        T0 + 1.0,
        doc(json!({"turn":
        {"decision": "GO", "detail": "no other execution deploys prod/web", "others": []}})),
    );
    assert_eq!(
        line(&turn, T0).unwrap(),
        "[   1.0s] web: turn GO: no other execution deploys prod/web"
    );
    let register = exited(
        "TaskStateExited",
        "RegisterRevision",
        T0 + 2.5,
        doc(json!({"register": {
        "taskDefinitionArn": format!("{TD}:2"), "previousTaskDefinitionArn": format!("{TD}:1"),
        "container": "app", "image": IMAGE, "previousImages": [], "reused": false}})),
    );
    assert_eq!(
        describe(&register).unwrap(),
        "web: registered web:2 running web@sha256:9f86d081884c (previous web:1)"
    );
    let update = exited(
        "TaskStateExited",
        "UpdateService",
        T0 + 3.0,
        doc(json!({"update": {
        "ecsDeploymentId": "ecs-svc/2", "taskDefinitionArn": format!("{TD}:2"),
        "startedAt": "2026-11-30T00:00:03Z", "deadline": "2026-11-30T00:30:03Z", "desiredCount": 2}})),
    );
    assert_eq!(
        describe(&update).unwrap(),
        "web: rollout of web:2 started (ecs-svc/2, 2 task(s), deadline 2026-11-30T00:30:03Z)"
    );
    let check = exited(
        "TaskStateExited",
        "WatchRollout",
        T0 + 9.0,
        doc(json!({
        "stability": stability("IN_PROGRESS", None, 1, 0, "1/2 running")})),
    );
    assert_eq!(
        describe(&check).unwrap(),
        "web: rollout IN_PROGRESS: 1/2 running, 1 pending, 0 failed, 0 unhealthy: 1/2 running"
    );
    let deployed = exited(
        "PassStateExited",
        "Deployed",
        T0 + 12.0,
        json!({"cluster": "prod", "service": "web", "outcome": "DEPLOYED", "detail": {}}),
    );
    assert_eq!(describe(&deployed).unwrap(), "web: DEPLOYED");
}

#[test]
fn a_failed_rollout_names_its_reason_and_the_rollback_its_target() {
    let check = exited(
        "TaskStateExited",
        "WatchRollout",
        T0,
        doc(json!({"stability":
        stability("FAILED", Some("DeploymentFailed"), 0, 3, "circuit breaker: 3 task(s) failed")})),
    );
    assert!(describe(&check)
        .unwrap()
        .starts_with("web: rollout FAILED (DeploymentFailed): 0/2 running, 2 pending, 3 failed"));
    let rollback = exited(
        "TaskStateExited",
        "Rollback",
        T0,
        doc(json!({"rollback": {
        "taskDefinitionArn": format!("{TD}:1"), "previousTaskDefinitionArn": format!("{TD}:1"),
        "pinnedImages": [], "alreadyRolledBack": true,
        "rollout": {"ecsDeploymentId": "ecs-svc/1", "taskDefinitionArn": format!("{TD}:1"),
                    "startedAt": "x", "deadline": "y", "desiredCount": 2},
        "detail": "ECS's circuit breaker already put web:1 back"}})),
    );
    assert_eq!(
        describe(&rollback).unwrap(),
        "web: ROLLBACK to web:1: ECS's circuit breaker already put web:1 back"
    );
    let again = exited(
        "TaskStateExited",
        "WatchRollback",
        T0,
        doc(json!({"rollbackStability":
        stability("COMPLETED", None, 2, 0, "web:1 is stable")})),
    );
    assert!(describe(&again)
        .unwrap()
        .starts_with("web: rollback COMPLETED: 2/2 running"));
}

#[test]
fn canary_verdicts_show_each_check() {
    let canary = exited(
        "TaskStateExited",
        "EvaluateCanary",
        T0,
        doc(json!({"canaryResult": {
        "verdict": "FAIL", "decision": "ROLLBACK", "detail": "target 5xx rate % breached 5",
        "checks": [{"name": "target 5xx rate %", "verdict": "FAIL", "detail": "12.5 > 5", "values": [12.5]},
                   {"name": "p99", "verdict": "PASS", "detail": "ok"}],
        "evaluations": 2, "bakeStartedAt": "a", "bakeEndsAt": "2026-11-30T00:05:00Z", "evaluatedAt": "b"}})),
    );
    assert_eq!(
        describe(&canary).unwrap(),
        "web: canary FAIL -> ROLLBACK (evaluation 2, bake ends 2026-11-30T00:05:00Z) \
         [target 5xx rate % FAIL, p99 PASS]: target 5xx rate % breached 5"
    );
}

#[test]
fn canary_analysis_shows_each_metrics_classification_p_and_shift() {
    let canary = exited(
        "TaskStateExited",
        "EvaluateCanary",
        T0,
        doc(json!({"canaryResult": {
        "verdict": "FAIL", "decision": "ROLLBACK", "detail": "analysis FAIL: critical metric(s) failed: 5xx HIGH",
        "checks": [{"name": "5xx", "verdict": "FAIL", "detail": "HIGH",
                    "analysis": {"classification": "HIGH", "direction": "increase", "canaryN": 4, "baselineN": 10,
                                 "u": 40, "pValue": 0.0029, "shift": 1.8, "tolerance": 0.1, "weight": 1, "critical": true}},
                   {"name": "p99", "verdict": "PASS", "detail": "PASS",
                    "analysis": {"classification": "PASS", "direction": "increase", "canaryN": 4, "baselineN": 10,
                                 "pValue": 0.5, "shift": 0.01, "relativeShift": 0.024, "tolerance": 0.2, "weight": 1, "dryRun": true}}],
        "analysis": {"outcome": "FAIL", "score": 50.0, "passScore": 90, "marginalScore": 75, "confidence": 0.99,
                     "metrics": 2, "nodata": 0, "reason": "critical metric(s) failed: 5xx HIGH"},
        "evaluations": 3, "bakeStartedAt": "a", "bakeEndsAt": "2026-11-30T00:05:00Z", "evaluatedAt": "b"}})),
    );
    assert_eq!(
        describe(&canary).unwrap(),
        "web: canary FAIL -> ROLLBACK (evaluation 3, bake ends 2026-11-30T00:05:00Z, analysis FAIL score 50/90) \
         [5xx HIGH p=0.0029 +1.8, p99 PASS (dry run) p=0.5000 +2.4%]: analysis FAIL: critical metric(s) failed: 5xx HIGH"
    );
}

#[test]
fn plan_summary_and_the_execution_end_have_lines() {
    let plan = exited(
        "TaskStateExited",
        "Plan",
        T0,
        json!({"plan": {"source": "console", "deployments": [
        {"deploymentId": "d", "cluster": "prod", "service": "web", "image": IMAGE, "repository": "web",
         "forceNewDeployment": false, "timeoutSeconds": 1800, "pollIntervalSeconds": 15,
         "rollbackTimeoutSeconds": 900, "execution": {"id": "arn:x", "name": "n", "startTime": "t"},
         "turnDeadline": "t"}]}}),
    );
    assert_eq!(
        describe(&plan).unwrap(),
        "plan (console): prod/web <- web@sha256:9f86d081884c"
    );
    let skipped = exited(
        "TaskStateExited",
        "Plan",
        T0,
        json!({"plan": {"source": "ecr-push",
        "deployments": [], "skipped": "no service runs repository api"}}),
    );
    assert_eq!(
        describe(&skipped).unwrap(),
        "plan: nothing to deploy: no service runs repository api"
    );
    let summary = exited(
        "TaskStateExited",
        "Summarize",
        T0,
        json!({"summary": {"status": "FAILED",
        "error": "DeploymentRolledBack", "cause": "prod/web: rolled back, now running web:1",
        "services": [{"cluster": "prod", "service": "web", "outcome": "ROLLED_BACK"}]}}),
    );
    assert_eq!(
        describe(&summary).unwrap(),
        "summary FAILED: prod/web: rolled back, now running web:1"
    );
    let failed: Event = serde_json::from_value(json!({"type": "ExecutionFailed", "timestamp": T0,
        "executionFailedEventDetails": {"error": "DeploymentRolledBack", "cause": "prod/web: rolled back"}}))
    .unwrap();
    assert_eq!(
        describe(&failed).unwrap(),
        "execution FAILED DeploymentRolledBack"
    );
}

#[test]
fn a_lambda_error_shows_its_message_and_quiet_events_show_nothing() {
    let failed: Event = serde_json::from_value(json!({"type": "TaskFailed", "timestamp": T0,
        "taskFailedEventDetails": {"resourceType": "lambda", "resource": "invoke", "error": "ServiceNotFound",
        "cause": "{\"errorType\":\"ServiceNotFound\",\"errorMessage\":\"service web is not ACTIVE in prod\"}"}}))
    .unwrap();
    assert_eq!(
        describe(&failed).unwrap(),
        "  ! ServiceNotFound: service web is not ACTIVE in prod"
    );
    for kind in [
        "TaskStateEntered",
        "WaitStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "MapIterationStarted",
    ] {
        let e: Event = serde_json::from_value(json!({"type": kind, "timestamp": T0})).unwrap();
        assert_eq!(describe(&e), None, "{kind}");
    }
    // A wait between checks exits with the document: not a line of its own.
    let wait = exited("WaitStateExited", "WaitForShift", T0, doc(json!({})));
    assert_eq!(describe(&wait), None);
    // An output that is not the expected shape is skipped, never a panic.
    let odd = exited(
        "TaskStateExited",
        "WatchRollout",
        T0,
        json!({"stability": {"status": 3}}),
    );
    assert_eq!(describe(&odd), None);
}

#[test]
fn images_and_revisions_are_shortened_for_the_line() {
    assert_eq!(short("arn:aws:ecs:r:1:task-definition/web:7"), "web:7");
    assert_eq!(short_image("nginx:1.27"), "nginx:1.27");
    assert_eq!(short_image("library/nginx:1.27"), "library/nginx:1.27");
    assert_eq!(short_image("localhost:5000/web:v1"), "web:v1");
    assert_eq!(cut("abcdef", 3), "abc…");
}

/// Each service deploys in its own execution: DeployService's TaskSubmitted names it (the answer
/// of `states:startExecution`, as Step Functions records it), and only that task's does.
#[test]
fn a_submitted_start_execution_names_the_service_execution() {
    let submitted = |resource: &str, output: Value| -> Event {
        serde_json::from_value(json!({
            "type": "TaskSubmitted", "id": 9, "previousEventId": 8, "timestamp": T0,
            "taskSubmittedEventDetails": {"resourceType": "states", "resource": resource,
                "output": output.to_string(), "outputDetails": {"truncated": false}}
        }))
        .expect("event")
    };
    let child = "arn:aws:states:eu-west-1:123456789012:execution:berth-service:web-0123456789abcdef-4b5e57f6";
    let e = submitted(
        "startExecution.sync:2",
        json!({"ExecutionArn": child, "StartDate": T0}),
    );
    assert_eq!(e.started_execution().as_deref(), Some(child));
    // a watch state's submission (lambda:invoke.waitForTaskToken) names no execution
    let watch = submitted("invoke.waitForTaskToken", json!({"StatusCode": 200}));
    assert_eq!(watch.started_execution(), None);
}

#[test]
fn the_release_gates_have_their_lines() {
    let frozen = exited(
        "TaskStateExited",
        "CheckFreeze",
        T0 + 1.0,
        doc(
            json!({"freezeCheck": {"decision": "WAIT", "until": "2026-12-07T05:00:00Z",
            "detail": "prod/web: frozen by service web tag berth:freeze window \"Fri 18:00 - Mon 06:00\" (Europe/Berlin) until 2026-12-07T05:00:00Z; waiting for it to end",
            "checkedAt": "2026-12-04T20:00:00Z"}}),
        ),
    );
    assert_eq!(
        describe(&frozen).unwrap(),
        "web: freeze WAIT: prod/web: frozen by service web tag berth:freeze window \"Fri 18:00 - Mon 06:00\" (Europe/Berlin) until 2026-12-07T05:00:00Z; waiting for it to end"
    );
    let waiting = exited(
        "TaskStateExited",
        "CheckScan",
        T0 + 2.0,
        doc(
            json!({"scanResult": {"verdict": "wait", "status": "IN_PROGRESS", "until": "2026-12-04T20:10:00Z",
            "retryAfterSeconds": 15, "image": IMAGE, "waitingSince": "t", "checkedAt": "t"}}),
        ),
    );
    assert_eq!(
        describe(&waiting).unwrap(),
        "web: image scan IN_PROGRESS: looking again in 15s (waiting until 2026-12-04T20:10:00Z)"
    );
    let allowed = exited(
        "TaskStateExited",
        "CheckScan",
        T0 + 3.0,
        doc(
            json!({"scanResult": {"verdict": "allow", "reason": "web@sha256:9f86: no finding at or above HIGH (MEDIUM 1)",
            "counts": {"MEDIUM": 1}, "worst": [], "image": IMAGE, "waitingSince": "t", "checkedAt": "t"}}),
        ),
    );
    assert_eq!(
        describe(&allowed).unwrap(),
        "web: image scan allow: web@sha256:9f86: no finding at or above HIGH (MEDIUM 1)"
    );
}

#[test]
fn a_check_that_could_not_be_made_says_so_and_names_the_deadline() {
    let unanswered = json!({"at": "2026-11-30T12:01:00.123Z", "error": {"Error": "Sandbox.Timedout",
        "Cause": "{\"errorType\":\"Sandbox.Timedout\",\"errorMessage\":\"Task timed out after 60.00 seconds\"}"}});
    let rollout = json!({"ecsDeploymentId": "ecs-svc/2", "taskDefinitionArn": format!("{TD}:2"),
        "startedAt": "2026-11-30T12:00:00Z", "deadline": "2026-11-30T12:30:00Z", "desiredCount": 2});
    let watch = exited(
        "PassStateExited",
        "RolloutUnanswered",
        T0 + 70.0,
        doc(json!({"update": rollout, "unanswered": unanswered})),
    );
    assert_eq!(
        describe(&watch).unwrap(),
        "web: the rollout's check could not be made (Sandbox.Timedout: Task timed out after 60.00 seconds); looking again until its deadline 2026-11-30T12:30:00Z"
    );
    let back = exited(
        "PassStateExited",
        "RollbackUnanswered",
        T0 + 90.0,
        doc(json!({"rollback": {"taskDefinitionArn": format!("{TD}:1"),
            "rollout": {"ecsDeploymentId": "ecs-svc/3", "taskDefinitionArn": format!("{TD}:1"),
                "startedAt": "2026-11-30T12:02:00Z", "deadline": "2026-11-30T12:17:00Z", "desiredCount": 2},
            "detail": "back"}, "unanswered": unanswered})),
    );
    assert!(
        describe(&back)
            .unwrap()
            .starts_with("web: the rollback's check could not be made (Sandbox.Timedout: "),
        "{:?}",
        describe(&back)
    );
    assert!(describe(&back)
        .unwrap()
        .ends_with("until its deadline 2026-11-30T12:17:00Z"));
}

#[test]
fn the_migration_and_stop_then_start_show_what_they_did() {
    let judged = exited(
        "TaskStateExited",
        "JudgeMigration",
        T0,
        doc(json!({"migrationTask": {
        "runTask": {"Cluster": "prod", "TaskDefinition": format!("{TD}:2"), "LaunchType": "FARGATE",
                    "Group": "berth-migration/ab", "Overrides": {"ContainerOverrides": []}},
        "taskDefinitionArn": format!("{TD}:2"), "container": "app", "essential": ["app"], "timeoutSeconds": 900,
        "taskArn": "arn:aws:ecs:eu-west-1:1:task/prod/abc123", "logs": "CloudWatch Logs group /ecs/web, stream web/app/abc123",
        "status": "STOPPED", "done": true}})),
    );
    assert_eq!(
        describe(&judged).unwrap(),
        "web: migration task abc123 passed (exit 0); its output: CloudWatch Logs group /ecs/web, stream web/app/abc123"
    );
    let stopping = |state: &str, key: &str, drained: bool| {
        exited(
            "TaskStateExited",
            state,
            T0,
            doc(
                json!({key: {"desiredCount": 3, "taskDefinitionArn": format!("{TD}:1"),
                "deadline": "2026-11-30T12:15:00Z", "timeoutSeconds": 900, "scaledDown": true,
                "running": if drained { 0 } else { 2 }, "drained": drained}}),
            ),
        )
    };
    assert_eq!(
        describe(&stopping("RecordDesiredCount", "stopping", false)).unwrap(),
        "web: stop-then-start: 3 task(s) of web:1 recorded; scaling to 0"
    );
    assert_eq!(
        describe(&stopping("StopOldTasks", "stopping", false)).unwrap(),
        "web: stop-then-start: 2 of the old revision's task(s) may still run; waiting until 2026-11-30T12:15:00Z"
    );
    assert_eq!(
        describe(&stopping("StopFailedTasks", "rollbackStop", true)).unwrap(),
        "web: stop-then-start: no task of the service runs (the new revision's tasks stopped)"
    );
}
