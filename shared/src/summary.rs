//! The execution's verdict from each service's outcome, with a cause a person can act on.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::Service;

use crate::error::{ErrorName, ExecutionErrorName};
use crate::model::{
    CanaryDecision, ExecutionStatus, Outcome, RollbackTo, ServiceDocument, ServiceOutcome,
    ServiceReport, ServiceVerdict, StabilityStatus, Summary,
};

/// Step Functions' limit on a Fail state's cause (characters); the summary's cause stays under it.
pub const CAUSE_LIMIT: usize = 32_768;
/// What one service's sentence may take of the parent's Map result (a longer one is cut, whole in
/// the service's own execution).
pub const REPORT_CAUSE_LIMIT: usize = 400;

/// What each service runs, read by summarize as the execution's last act, keyed by
/// (cluster, service) as the outcomes name them.
pub type RunningNow = BTreeMap<(String, String), String>;

/// The services whose cause must say what runs now, read last: those berth tried to roll back.
pub fn needs_reading(o: &ServiceOutcome) -> bool {
    o.outcome.tried_rollback()
}

/// What a service runs, in one phrase: each deployment's revision, status and task counts.
pub fn running_now(service: &Service) -> String {
    let deployments: Vec<String> = service
        .deployments()
        .iter()
        .map(|d| {
            let state = d
                .rollout_state()
                .map(|s| format!(" {}", s.as_str()))
                .unwrap_or_default();
            format!(
                "{} ({}{state}, {}/{} running)",
                short(d.task_definition().unwrap_or("?")),
                d.status().unwrap_or("?"),
                d.running_count(),
                d.desired_count()
            )
        })
        .collect();
    if deployments.is_empty() {
        short(service.task_definition().unwrap_or("an unknown revision")).to_owned()
    } else {
        deployments.join(" and ")
    }
}

/// A document enum's name as the state documents spell it (`FAIL`, `DeploymentFailed`).
fn wire<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "?".into(),
    }
}

/// One sentence for one service; `now` is what it runs as summarize read it, when it could.
pub fn describe(o: &ServiceOutcome, now: Option<&str>) -> String {
    let d = &o.detail;
    let recorded = || {
        d.rollback
            .as_ref()
            .map(|r| r.task_definition_arn.as_str())
            .or_else(|| {
                d.register
                    .as_ref()
                    .map(|r| r.previous_task_definition_arn.as_str())
            })
            .map(short)
    };
    let what = match o.outcome {
        Outcome::Deployed => {
            format!(
                "deployed {}{}",
                d.register
                    .as_ref()
                    .map(|r| short(&r.task_definition_arn))
                    .unwrap_or("the new revision"),
                match &d.canary_result {
                    Some(c) if c.promoted_by_hand => format!(", {}", c.detail),
                    _ => String::new(),
                }
            ) + &overridden(d)
        }
        Outcome::Superseded => format!(
            "superseded: {}",
            d.turn
                .as_ref()
                .map(|t| t.detail.as_str())
                .unwrap_or("a newer image is being deployed")
        ),
        Outcome::NotStarted => format!(
            "not started, nothing changed: {} {}",
            d.error
                .as_ref()
                .map(|e| e.error.as_str())
                .unwrap_or("error"),
            cause_message(d)
        ),
        Outcome::RolledBack => {
            let now_running = now.or_else(recorded).unwrap_or("unknown");
            // A native BLUE_GREEN / LINEAR / CANARY deployment is rolled back by ECS.
            let by = d
                .rollback
                .as_ref()
                .and_then(|r| r.rollout.rolled_back_by.as_deref())
                .map(|by| format!(" by {by}"))
                .unwrap_or_default();
            format!(
                "{}; rolled back{by}, now running {now_running}",
                failure_reason(d)
            )
        }
        Outcome::RollbackFailed => {
            let rollback_why = d
                .rollback_stability
                .as_ref()
                .map(|s| s.detail.clone())
                .unwrap_or_else(|| cause_message(d));
            let now_running = now.map(str::to_owned).unwrap_or_else(|| {
                format!(
                    "unknown (the rollback target was {})",
                    recorded().unwrap_or("not recorded")
                )
            });
            format!(
                "{}; ROLLBACK FAILED ({rollback_why}); the service now runs {now_running}: check it by hand",
                failure_reason(d)
            )
        }
    };
    format!("{}/{}: {what}", short(&o.cluster), o.service)
}

/// `, freeze overridden by WHO: WHY` when the deployment went on inside a freeze window.
fn overridden(d: &ServiceDocument) -> String {
    match &d.freeze_check {
        Some(c) if c.decision == crate::gates::FreezeDecision::Overridden => {
            let (by, why) = c
                .overridden_by
                .as_ref()
                .map(|o| (o.by.as_str(), o.reason.as_str()))
                .unwrap_or_default();
            let by = if by.is_empty() { "unknown" } else { by };
            format!(
                ", freeze overridden by {by}: {why} ({})",
                c.window.as_deref().unwrap_or("a freeze window")
            )
        }
        _ => String::new(),
    }
}

/// What went wrong with the rollout, from the evidence the states left.
pub fn failure_reason(d: &ServiceDocument) -> String {
    if let Some(c) = d
        .canary_result
        .as_ref()
        .filter(|c| c.decision == CanaryDecision::Rollback)
    {
        if c.aborted_by_hand {
            return c.detail.clone();
        }
        return format!("canary {}: {}", wire(&c.verdict), c.detail);
    }
    if let Some(s) = d
        .stability
        .as_ref()
        .filter(|s| s.status == StabilityStatus::Failed)
    {
        let reason = s.reason.as_ref().map(wire);
        return format!(
            "rollout FAILED ({}): {}",
            reason.as_deref().unwrap_or("unknown"),
            s.detail
        );
    }
    if let Some(e) = &d.error {
        return format!("{} {}", e.error, cause_message(d));
    }
    "rollout failed".into()
}

/// Step Functions puts a Lambda error's message inside a JSON Cause string.
fn cause_message(d: &ServiceDocument) -> String {
    let cause = d.error.as_ref().map(|e| e.cause.as_str()).unwrap_or("");
    serde_json::from_str::<serde_json::Value>(cause)
        .ok()
        .and_then(|c| {
            c.get("errorMessage")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| cause.to_owned())
}

fn short(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// One service's report, as its own execution ends: its outcome, its sentence (cut to
/// [`REPORT_CAUSE_LIMIT`]) and the error a Catch recorded.
pub fn report(o: &ServiceOutcome, now: Option<&str>) -> ServiceReport {
    ServiceReport {
        cluster: o.cluster.clone(),
        service: o.service.clone(),
        outcome: o.outcome,
        cause: cut(&describe(o, now), REPORT_CAUSE_LIMIT),
        error: o.detail.error.as_ref().map(|e| e.error.clone()),
        rollback_to: o.detail.release.as_ref().and(rollback_to(&o.detail)),
    }
}

/// What a service in a release ran before: its previous revision and the image its container
/// ran (pinned by the digest its tasks reported, when known).
fn rollback_to(d: &ServiceDocument) -> Option<RollbackTo> {
    let r = d.register.as_ref()?;
    let before = r
        .previous_images
        .iter()
        .find(|i| i.container == r.container)?;
    let image = match (&before.digest, crate::image::ImageRef::parse(&before.image)) {
        (Some(digest), Ok(i)) => i.with_digest(digest).pinned(),
        _ => before.image.clone(),
    };
    Some(RollbackTo {
        task_definition: r.previous_task_definition_arn.clone(),
        image,
    })
}

/// `text` if it has at most `limit` characters, else its first ones and an ellipsis (`limit` in
/// all).
fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(limit.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Summarize outcomes read in one place (each service's report made here): see [`combine`].
pub fn summarize(services: Vec<ServiceOutcome>, now: &RunningNow) -> Summary {
    let reports = services
        .iter()
        .map(|o| {
            let key = (o.cluster.clone(), o.service.clone());
            report(o, now.get(&key).map(String::as_str))
        })
        .collect();
    combine(reports)
}

/// The gates whose name a failed execution reports itself when every service that did not start
/// was stopped by that gate (a clearer verdict than `DeploymentNotStarted`).
pub const GATES: [ErrorName; 3] = [
    ErrorName::NotApproved,
    ErrorName::ImageScanFailed,
    ErrorName::Frozen,
];

/// The execution's verdict from every service's report. Worst outcome wins: a failed rollback,
/// then a rollback, then a deploy that never started (the gate's name, [`GATES`], when every one
/// that did not start was stopped by the same gate). The cause joins each service's sentence, those that
/// did not deploy first when they do not all fit in [`CAUSE_LIMIT`].
pub fn combine(reports: Vec<ServiceReport>) -> Summary {
    let has = |o: Outcome| reports.iter().any(|s| s.outcome == o);
    let error = if has(Outcome::RollbackFailed) {
        ExecutionErrorName::RollbackFailed.as_str()
    } else if has(Outcome::RolledBack) {
        ExecutionErrorName::DeploymentRolledBack.as_str()
    } else if has(Outcome::NotStarted) {
        // A gate that stopped every service that did not start names the execution's error.
        let first = reports
            .iter()
            .find(|s| s.outcome == Outcome::NotStarted)
            .and_then(|s| s.error.as_deref());
        let same = reports
            .iter()
            .filter(|s| s.outcome == Outcome::NotStarted)
            .all(|s| s.error.as_deref() == first);
        match first.and_then(|f| GATES.iter().find(|g| g.as_str() == f)) {
            Some(gate) if same => gate.as_str(),
            _ => ExecutionErrorName::DeploymentNotStarted.as_str(),
        }
    } else {
        ""
    };
    Summary {
        status: if error.is_empty() {
            ExecutionStatus::Succeeded
        } else {
            ExecutionStatus::Failed
        },
        error: error.into(),
        cause: cause_of(&reports, CAUSE_LIMIT),
        services: reports
            .into_iter()
            .map(|o| ServiceVerdict {
                cluster: o.cluster,
                service: o.service,
                outcome: o.outcome,
            })
            .collect(),
    }
}

/// Every service's sentence joined by ` | `, at most `limit` characters: when they do not fit,
/// those that did not deploy come first, and the end says how many were left out and where to
/// read them.
fn cause_of(reports: &[ServiceReport], limit: usize) -> String {
    if reports.is_empty() {
        return "no service to deploy".into();
    }
    let all = reports
        .iter()
        .map(|r| r.cause.as_str())
        .collect::<Vec<_>>()
        .join(" | ");
    if all.chars().count() <= limit {
        return all;
    }
    let mut ordered: Vec<&ServiceReport> = reports.iter().collect();
    ordered.sort_by_key(|r| r.outcome == Outcome::Deployed);
    let deployed = reports
        .iter()
        .filter(|r| r.outcome == Outcome::Deployed)
        .count();
    let head = format!("{} services, {deployed} deployed: ", reports.len());
    // Room for the tail, whose number has at most as many digits as the count of services.
    let tail_room = format!(
        " | … and {} more (each service's execution has its own)",
        reports.len()
    )
    .chars()
    .count();
    let mut out = head;
    let mut used = 0;
    for r in &ordered {
        let sep = if used == 0 { "" } else { " | " };
        if out.chars().count() + sep.len() + r.cause.chars().count() + tail_room > limit {
            break;
        }
        out.push_str(sep);
        out.push_str(&r.cause);
        used += 1;
    }
    if used < ordered.len() {
        out.push_str(&format!(
            " | … and {} more (each service's execution has its own)",
            ordered.len() - used
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// Summarize with nothing read from ECS (the read failed or was not needed).
    fn recorded(services: Vec<ServiceOutcome>) -> Summary {
        summarize(services, &RunningNow::new())
    }

    /// A per-service document as the states write it (whole results, through their own types).
    fn outcome(o: Outcome, detail: Value) -> ServiceOutcome {
        ServiceOutcome {
            cluster: "prod".into(),
            service: "web".into(),
            outcome: o,
            detail: serde_json::from_value(detail).expect("a per-service document"),
        }
    }

    const WEB7: &str = "arn:aws:ecs:r:1:task-definition/web:7";
    const WEB8: &str = "arn:aws:ecs:r:1:task-definition/web:8";

    fn register() -> Value {
        json!({"taskDefinitionArn": WEB8, "previousTaskDefinitionArn": WEB7, "container": "app",
               "image": "repo@sha256:aa", "previousImages": [], "reused": false})
    }

    fn rollout(td: &str) -> Value {
        json!({"ecsDeploymentId": "ecs-svc/2", "taskDefinitionArn": td, "startedAt": "2026-01-01T00:00:00Z",
               "deadline": "2026-01-01T00:30:00Z", "desiredCount": 2})
    }

    fn stability(status: &str, reason: Option<&str>, detail: &str) -> Value {
        let mut s = json!({"status": status, "detail": detail, "ecsDeploymentId": "ecs-svc/1",
            "taskDefinitionArn": WEB8, "primaryTaskDefinitionArn": WEB8, "rolloutState": null,
            "rolloutStateReason": null, "desiredCount": 2, "runningCount": 0, "pendingCount": 0,
            "failedTasks": 0, "unhealthyTasks": 0, "events": [], "checkedAt": "2026-01-01T00:05:00Z"});
        if let Some(r) = reason {
            s["reason"] = json!(r);
        }
        s
    }

    fn rollback(td: &str) -> Value {
        json!({"taskDefinitionArn": td, "previousTaskDefinitionArn": WEB7, "pinnedImages": [],
               "alreadyRolledBack": false, "rollout": rollout(td), "detail": "rolled back"})
    }

    #[test]
    fn all_deployed_succeeds() {
        let s = recorded(vec![outcome(
            Outcome::Deployed,
            json!({"register": register()}),
        )]);
        assert_eq!(s.status, ExecutionStatus::Succeeded);
        assert_eq!(s.cause, "prod/web: deployed web:8");
    }

    #[test]
    fn a_rollback_fails_the_execution_and_says_why_and_what_runs() {
        let d = json!({
            "register": register(),
            "stability": stability("FAILED", Some("DeploymentFailed"), "ECS marked deployment ecs-svc/1 FAILED: circuit breaker"),
            "rollback": rollback(WEB7)
        });
        let s = recorded(vec![
            outcome(Outcome::RolledBack, d),
            outcome(Outcome::Deployed, json!({})),
        ]);
        assert_eq!(s.status, ExecutionStatus::Failed);
        assert_eq!(s.error, "DeploymentRolledBack");
        assert!(s.cause.contains("rollout FAILED (DeploymentFailed): ECS marked deployment ecs-svc/1 FAILED: circuit breaker; rolled back, now running web:7"), "{}", s.cause);
    }

    #[test]
    fn a_canary_failure_is_named() {
        let d = json!({"canaryResult": {"decision": "ROLLBACK", "verdict": "FAIL",
            "detail": "5xx rate: Fail (3 of 3 data point(s) breach > 1)", "checks": [], "evaluations": 3,
            "bakeStartedAt": "2026-01-01T00:00:00Z", "bakeEndsAt": "2026-01-01T00:05:00Z",
            "evaluatedAt": "2026-01-01T00:03:00Z"}, "rollback": rollback(WEB7)});
        let s = recorded(vec![outcome(Outcome::RolledBack, d)]);
        assert!(s.cause.contains("canary FAIL: 5xx rate"), "{}", s.cause);
    }

    #[test]
    fn a_native_strategy_rollback_says_ecs_rolled_back_by_stop_service_deployment() {
        let mut rb = rollback(WEB7);
        rb["rollout"]["serviceDeploymentArn"] =
            json!("arn:aws:ecs:r:1:service-deployment/prod/web/Jx3gHK0LuZSSIN3ZqAnYn");
        rb["rollout"]["rolledBackBy"] = json!("StopServiceDeployment");
        let d = json!({"canaryResult": {"decision": "ROLLBACK", "verdict": "FAIL",
            "detail": "5xx rate: Fail", "checks": [], "evaluations": 2,
            "bakeStartedAt": "2026-01-01T00:00:00Z", "bakeEndsAt": "2026-01-01T00:05:00Z",
            "evaluatedAt": "2026-01-01T00:01:00Z"}, "rollback": rb});
        let s = recorded(vec![outcome(Outcome::RolledBack, d)]);
        assert!(
            s.cause.contains("canary FAIL: 5xx rate: Fail; rolled back by StopServiceDeployment, now running web:7"),
            "{}",
            s.cause
        );
    }

    #[test]
    fn an_abort_and_a_promote_by_hand_are_in_the_cause() {
        let canary = |decision: &str, flag: &str, detail: &str| {
            let mut c = json!({"decision": decision, "verdict": "PASS", "detail": detail,
                "checks": [], "evaluations": 2, "bakeStartedAt": "2026-01-01T00:00:00Z",
                "bakeEndsAt": "2026-01-01T00:10:00Z", "evaluatedAt": "2026-01-01T00:01:00Z"});
            c[flag] = json!(true);
            c
        };
        let promoted = recorded(vec![outcome(
            Outcome::Deployed,
            json!({"register": register(), "canaryResult": canary("PROMOTE", "promotedByHand",
                "promoted by hand (berth promote) 60s into the 600s bake, after 2 evaluation(s), the last PASS")}),
        )]);
        assert_eq!(
            promoted.cause,
            "prod/web: deployed web:8, promoted by hand (berth promote) 60s into the 600s bake, after 2 evaluation(s), the last PASS"
        );
        let in_bake = recorded(vec![outcome(
            Outcome::RolledBack,
            json!({"canaryResult": canary("ROLLBACK", "abortedByHand",
                "aborted by hand (berth abort) 60s into the 600s bake, after 2 evaluation(s), the last PASS"),
                "rollback": rollback(WEB7)}),
        )]);
        assert_eq!(
            in_bake.cause,
            "prod/web: aborted by hand (berth abort) 60s into the 600s bake, after 2 evaluation(s), the last PASS; rolled back, now running web:7"
        );
        let in_rollout = recorded(vec![outcome(
            Outcome::RolledBack,
            json!({"stability": stability("FAILED", Some("Aborted"),
                "aborted by hand (berth abort) during the rollout of web:8 (it was in progress)"),
                "rollback": rollback(WEB7)}),
        )]);
        assert_eq!(in_rollout.error, "DeploymentRolledBack");
        assert!(
            in_rollout.cause.starts_with("prod/web: rollout FAILED (Aborted): aborted by hand (berth abort) during the rollout of web:8"),
            "{}",
            in_rollout.cause
        );
    }

    #[test]
    fn a_failed_rollback_outranks_everything() {
        let s = recorded(vec![
            outcome(Outcome::RolledBack, json!({})),
            outcome(
                Outcome::RollbackFailed,
                json!({"rollbackStability": stability("FAILED", Some("Timeout"), "deadline passed")}),
            ),
        ]);
        assert_eq!(s.error, "RollbackFailed");
        assert!(
            s.cause.contains("ROLLBACK FAILED (deadline passed)"),
            "{}",
            s.cause
        );
    }

    #[test]
    fn a_failed_rollback_says_what_the_service_runs_as_read_last() {
        let d = json!({
            "register": register(),
            "stability": stability("FAILED", Some("TasksFailing"), "3 tasks failed"),
            "error": {"Error": "Lambda.ServiceException", "Cause": "runtime unreachable"}
        });
        let mut now = RunningNow::new();
        now.insert(
            ("prod".into(), "web".into()),
            "web:8 (PRIMARY IN_PROGRESS, 1/2 running) and web:7 (ACTIVE, 1/2 running)".into(),
        );
        let s = summarize(vec![outcome(Outcome::RollbackFailed, d.clone())], &now);
        assert_eq!(s.error, "RollbackFailed");
        assert!(s.cause.contains("the service now runs web:8 (PRIMARY IN_PROGRESS, 1/2 running) and web:7 (ACTIVE, 1/2 running): check it by hand"), "{}", s.cause);
        // without a reading, the cause says it does not know, and names the target it had
        let s = recorded(vec![outcome(Outcome::RollbackFailed, d)]);
        assert!(
            s.cause
                .contains("now runs unknown (the rollback target was web:7)"),
            "{}",
            s.cause
        );
    }

    #[test]
    fn what_runs_is_read_from_every_deployment() {
        let svc: Service = aws_sdk_ecs::types::Service::builder()
            .task_definition("arn:aws:ecs:r:1:task-definition/web:8")
            .deployments(
                aws_sdk_ecs::types::Deployment::builder()
                    .status("PRIMARY")
                    .task_definition("arn:aws:ecs:r:1:task-definition/web:8")
                    .rollout_state(aws_sdk_ecs::types::DeploymentRolloutState::InProgress)
                    .running_count(1)
                    .desired_count(2)
                    .build(),
            )
            .deployments(
                aws_sdk_ecs::types::Deployment::builder()
                    .status("ACTIVE")
                    .task_definition("arn:aws:ecs:r:1:task-definition/web:7")
                    .running_count(2)
                    .desired_count(2)
                    .build(),
            )
            .build();
        assert_eq!(
            running_now(&svc),
            "web:8 (PRIMARY IN_PROGRESS, 1/2 running) and web:7 (ACTIVE, 2/2 running)"
        );
    }

    #[test]
    fn not_started_reads_the_lambda_error_out_of_the_cause() {
        let d = json!({"error": {"Error": "ContainerNotFound", "Cause": "{\"errorType\":\"ContainerNotFound\",\"errorMessage\":\"task definition web has no container \\\"api\\\"\"}"}});
        let s = recorded(vec![outcome(Outcome::NotStarted, d)]);
        assert_eq!(s.error, "DeploymentNotStarted");
        assert_eq!(s.cause, "prod/web: not started, nothing changed: ContainerNotFound task definition web has no container \"api\"");
    }

    #[test]
    fn superseded_is_not_a_failure() {
        let s = recorded(vec![outcome(
            Outcome::Superseded,
            json!({"turn": {"decision": "SUPERSEDED", "detail": "execution c deploys a newer image", "others": ["c"]}}),
        )]);
        assert_eq!(s.status, ExecutionStatus::Succeeded);
        assert_eq!(
            s.cause,
            "prod/web: superseded: execution c deploys a newer image"
        );
    }

    #[test]
    fn a_gate_that_was_not_approved_names_the_execution_not_approved() {
        // GIVEN a service stopped by its approval gate (rejected) and one deployed
        let rejected = outcome(
            Outcome::NotStarted,
            json!({"error": {"Error": "NotApproved", "Cause": "rejected by alice: not today"}}),
        );
        let deployed = outcome(Outcome::Deployed, json!({"register": register()}));
        // WHEN summarized THEN the execution fails NotApproved, the cause saying who and why
        let s = recorded(vec![rejected.clone(), deployed]);
        assert_eq!(
            (s.status, s.error.as_str()),
            (ExecutionStatus::Failed, "NotApproved")
        );
        assert_eq!(
            s.cause,
            "prod/web: not started, nothing changed: NotApproved rejected by alice: not today | prod/web: deployed web:8"
        );
        // AND beside another refusal it is the general DeploymentNotStarted
        let refused = outcome(
            Outcome::NotStarted,
            json!({"error": {"Error": "ServiceNotFound", "Cause": "gone"}}),
        );
        assert_eq!(
            recorded(vec![rejected, refused]).error,
            "DeploymentNotStarted"
        );
    }

    #[test]
    fn a_scan_or_freeze_gate_names_the_execution_and_two_gates_do_not() {
        let by = |name: &str| {
            outcome(
                Outcome::NotStarted,
                json!({"error": {"Error": name, "Cause": format!("{{\"errorType\":\"{name}\",\"errorMessage\":\"why\"}}")}}),
            )
        };
        let s = recorded(vec![by("ImageScanFailed")]);
        assert_eq!(
            (s.status, s.error.as_str()),
            (ExecutionStatus::Failed, "ImageScanFailed")
        );
        assert_eq!(
            s.cause,
            "prod/web: not started, nothing changed: ImageScanFailed why"
        );
        assert_eq!(recorded(vec![by("Frozen"), by("Frozen")]).error, "Frozen");
        assert_eq!(
            recorded(vec![by("Frozen"), by("ImageScanFailed")]).error,
            "DeploymentNotStarted"
        );
    }

    #[test]
    fn a_deploy_that_overrode_a_freeze_says_who_and_why() {
        let d = json!({"register": register(), "freezeCheck": {
            "decision": "OVERRIDDEN", "detail": "…", "until": "2026-12-07T05:00:00Z",
            "window": "Fri 18:00 - Mon 06:00", "source": "service web tag berth:freeze",
            "override": {"reason": "hotfix INC-42", "by": "alice"}, "checkedAt": "2026-12-04T20:00:00Z"}});
        let s = recorded(vec![outcome(Outcome::Deployed, d)]);
        assert_eq!(
            s.cause,
            "prod/web: deployed web:8, freeze overridden by alice: hotfix INC-42 (Fri 18:00 - Mon 06:00)"
        );
    }

    /// The per-service document's keys are exactly the keys the Map's states write (`ResultPath`),
    /// and its outcomes exactly the Map's closing Pass states': renaming either side fails here.
    #[test]
    fn the_document_is_what_the_state_machine_writes() {
        let asl: Value =
            serde_json::from_str(include_str!("../../statemachine/deploy.asl.json")).unwrap();
        let service: Value =
            serde_json::from_str(include_str!("../../statemachine/service.asl.json")).unwrap();
        let states = service["States"]
            .as_object()
            .expect("the service machine's states");
        let mut written = std::collections::BTreeSet::new();
        // `$.a.b`: a field of a key the document holds (RunMigration's result and caught error)
        let mut nested = Vec::new();
        let mut outcomes = Vec::new();
        // Report and Unreported take the outcome (`{cluster, service, outcome, detail}`), not the
        // document: what they write is the report's.
        let on_document = states
            .iter()
            .filter(|(name, _)| !["Report", "Unreported"].contains(&name.as_str()));
        for (_, state) in on_document {
            let catches = state["Catch"].as_array().into_iter().flatten();
            for path in
                std::iter::once(&state["ResultPath"]).chain(catches.map(|c| &c["ResultPath"]))
            {
                if let Some(p) = path.as_str() {
                    let p = p.strip_prefix("$.").expect("a path in the document");
                    match p.split_once('.') {
                        Some((key, field)) => {
                            written.insert(key.to_owned());
                            nested.push((key.to_owned(), field.to_owned()));
                        }
                        None => {
                            written.insert(p.to_owned());
                        }
                    }
                }
            }
            if let Some(o) = state["Parameters"]["outcome"].as_str() {
                outcomes
                    .push(serde_json::from_value::<Outcome>(json!(o)).expect("a known outcome"));
            }
        }
        let every_key = json!({"turn": {"decision": "GO", "detail": "", "others": []},
            "freezeCheck": {"decision": "OPEN", "detail": "", "checkedAt": "2026-01-01T00:00:00Z"},
            "scanResult": {"verdict": "allow"},
            "approved": {"by": "alice", "at": "2026-01-01T00:00:00Z"},
            "register": register(),
            "migrationTask": {"runTask": {"Cluster": "prod", "TaskDefinition": "web:8", "LaunchType": "FARGATE",
                    "Group": "berth-migration/0", "Overrides": {"ContainerOverrides": []}},
                "taskArn": "t", "taskDefinitionArn": "web:8", "container": "app", "essential": ["app"],
                "timeoutSeconds": 900, "status": "STOPPED", "done": true,
                "stopped": {"TaskArn": "t"}, "error": {"Error": "States.Timeout", "Cause": ""}},
            "release": {"name": "shop", "wave": 1},
            "stopping": {"desiredCount": 2, "taskDefinitionArn": WEB7, "deadline": "", "timeoutSeconds": 900,
                "scaledDown": true, "running": 0, "drained": true},
            "rollbackStop": {"desiredCount": 2, "taskDefinitionArn": WEB7, "deadline": "", "timeoutSeconds": 900,
                "scaledDown": true, "running": 0, "drained": true},
            "update": rollout(WEB8), "stability": stability("COMPLETED", None, ""),
            "canaryResult": {"decision": "PROMOTE", "verdict": "PASS", "detail": "", "checks": [],
                "evaluations": 1, "bakeStartedAt": "", "bakeEndsAt": "", "evaluatedAt": ""},
            "rollback": rollback(WEB7), "rollbackStability": stability("COMPLETED", None, ""),
            "unanswered": {"at": "2026-01-01T00:00:00.000Z", "error": {"Error": "Sandbox.Timedout", "Cause": ""}},
            "error": {"Error": "AwsError", "Cause": ""}});
        // read from the item (Plan wrote it), not written by a state: a service in a release
        // reports what it ran before
        written.insert("release".to_owned());
        let doc: ServiceDocument = serde_json::from_value(every_key).unwrap();
        let doc = serde_json::to_value(&doc).unwrap();
        assert!(!nested.is_empty());
        for (key, field) in &nested {
            assert!(
                doc[key].get(field).is_some(),
                "{key}.{field} is not in the document"
            );
        }
        let keys: std::collections::BTreeSet<String> =
            doc.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, written);
        for o in [
            Outcome::Deployed,
            Outcome::Superseded,
            Outcome::NotStarted,
            Outcome::RolledBack,
            Outcome::RollbackFailed,
        ] {
            assert!(outcomes.contains(&o), "no Pass state ends with {o:?}");
        }
        // summarize's verdict is what the ASL's Choice compares
        let choice = asl["States"]["AllDeployed"].to_string();
        assert!(
            choice.contains(&format!("\"{}\"", wire(&ExecutionStatus::Succeeded))),
            "{choice}"
        );
    }

    fn report_of(service: &str, outcome: Outcome, cause: &str) -> ServiceReport {
        ServiceReport {
            cluster: "prod".into(),
            service: service.into(),
            outcome,
            cause: cause.into(),
            error: None,
            rollback_to: None,
        }
    }

    #[test]
    fn five_hundred_services_give_a_cause_a_fail_state_takes_failures_first() {
        // GIVEN 500 services, the last one rolled back, each with a long sentence
        let mut reports: Vec<ServiceReport> = (0..499)
            .map(|i| {
                report_of(
                    &format!("s{i}"),
                    Outcome::Deployed,
                    &format!("prod/s{i}: deployed {}", "x".repeat(300)),
                )
            })
            .collect();
        reports.push(report_of(
            "bad",
            Outcome::RolledBack,
            "prod/bad: canary FAIL; rolled back",
        ));
        // WHEN combined
        let s = combine(reports);
        // THEN the cause fits Step Functions' limit, names the failure first and what it left out
        assert_eq!(s.error, "DeploymentRolledBack");
        assert!(s.cause.chars().count() <= CAUSE_LIMIT, "{}", s.cause.len());
        assert!(
            s.cause
                .starts_with("500 services, 499 deployed: prod/bad: canary FAIL"),
            "{}",
            &s.cause[..80]
        );
        assert!(
            s.cause
                .ends_with("more (each service's execution has its own)"),
            "{}",
            &s.cause[s.cause.len() - 80..]
        );
        assert_eq!(s.services.len(), 500);
    }

    #[test]
    fn a_few_services_are_joined_whole_in_their_order() {
        let s = combine(vec![
            report_of("a", Outcome::Deployed, "prod/a: deployed a:2"),
            report_of("b", Outcome::Superseded, "prod/b: superseded: x"),
        ]);
        assert_eq!(s.cause, "prod/a: deployed a:2 | prod/b: superseded: x");
        assert_eq!(s.status, ExecutionStatus::Succeeded);
    }

    #[test]
    fn a_report_cuts_its_sentence_for_the_parents_map() {
        let long = outcome(
            Outcome::NotStarted,
            json!({"error": {"Error": "ServiceNotFound", "Cause": "y".repeat(2000)}}),
        );
        let r = report(&long, None);
        assert_eq!(r.cause.chars().count(), REPORT_CAUSE_LIMIT);
        assert!(r.cause.ends_with('…'));
        assert_eq!(r.error.as_deref(), Some("ServiceNotFound"));
    }
}
