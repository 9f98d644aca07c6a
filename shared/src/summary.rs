//! The execution's verdict from each service's outcome, with a cause a person can act on.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::Service;

use crate::error::ExecutionErrorName;
use crate::model::{ServiceOutcome, ServiceVerdict, Summary};

/// What each service runs, read by summarize as the execution's last act, keyed by
/// (cluster, service) as the outcomes name them.
pub type RunningNow = BTreeMap<(String, String), String>;

/// The services whose cause must say what runs now, read last: those berth tried to roll back.
pub fn needs_reading(o: &ServiceOutcome) -> bool {
    matches!(o.outcome.as_str(), "ROLLED_BACK" | "ROLLBACK_FAILED")
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

fn text<'a>(v: &'a serde_json::Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, k| v.get(*k))
        .and_then(|v| v.as_str())
}

/// One sentence for one service; `now` is what it runs as summarize read it, when it could.
pub fn describe(o: &ServiceOutcome, now: Option<&str>) -> String {
    let d = &o.detail;
    let what = match o.outcome.as_str() {
        "DEPLOYED" => format!(
            "deployed {}",
            text(d, &["register", "taskDefinitionArn"])
                .map(short)
                .unwrap_or("the new revision")
        ),
        "SUPERSEDED" => format!(
            "superseded: {}",
            text(d, &["turn", "detail"]).unwrap_or("a newer image is being deployed")
        ),
        "NOT_STARTED" => format!(
            "not started, nothing changed: {} {}",
            text(d, &["error", "Error"]).unwrap_or("error"),
            cause_message(d)
        ),
        "ROLLED_BACK" | "ROLLBACK_FAILED" => {
            let why = failure_reason(d);
            let recorded = text(d, &["rollback", "taskDefinitionArn"])
                .or_else(|| text(d, &["register", "previousTaskDefinitionArn"]))
                .map(short);
            if o.outcome == "ROLLED_BACK" {
                let now_running = now.or(recorded).unwrap_or("unknown");
                format!("{why}; rolled back, now running {now_running}")
            } else {
                let rollback_why = text(d, &["rollbackStability", "detail"])
                    .map(str::to_owned)
                    .unwrap_or_else(|| cause_message(d));
                let now_running = now.map(str::to_owned).unwrap_or_else(|| {
                    format!(
                        "unknown (the rollback target was {})",
                        recorded.unwrap_or("not recorded")
                    )
                });
                format!("{why}; ROLLBACK FAILED ({rollback_why}); the service now runs {now_running}: check it by hand")
            }
        }
        other => other.to_string(),
    };
    format!("{}/{}: {what}", short(&o.cluster), o.service)
}

/// What went wrong with the rollout, from the evidence the states left.
fn failure_reason(d: &serde_json::Value) -> String {
    if text(d, &["canaryResult", "decision"]) == Some("ROLLBACK") {
        return format!(
            "canary {}: {}",
            text(d, &["canaryResult", "verdict"]).unwrap_or("FAIL"),
            text(d, &["canaryResult", "detail"]).unwrap_or("")
        );
    }
    if text(d, &["stability", "status"]) == Some("FAILED") {
        return format!(
            "rollout FAILED ({}): {}",
            text(d, &["stability", "reason"]).unwrap_or("unknown"),
            text(d, &["stability", "detail"]).unwrap_or("")
        );
    }
    if d.get("error").is_some() {
        return format!(
            "{} {}",
            text(d, &["error", "Error"]).unwrap_or("error"),
            cause_message(d)
        );
    }
    "rollout failed".into()
}

/// Step Functions puts a Lambda error's message inside a JSON Cause string.
fn cause_message(d: &serde_json::Value) -> String {
    let cause = text(d, &["error", "Cause"]).unwrap_or("");
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

/// Worst outcome wins: a failed rollback, then a rollback, then a deploy that never started.
pub fn summarize(services: Vec<ServiceOutcome>, now: &RunningNow) -> Summary {
    let has = |o: &str| services.iter().any(|s| s.outcome == o);
    let error = if has("ROLLBACK_FAILED") {
        ExecutionErrorName::RollbackFailed.as_str()
    } else if has("ROLLED_BACK") {
        ExecutionErrorName::DeploymentRolledBack.as_str()
    } else if has("NOT_STARTED") {
        ExecutionErrorName::DeploymentNotStarted.as_str()
    } else {
        ""
    };
    let cause = if services.is_empty() {
        "no service to deploy".to_string()
    } else {
        services
            .iter()
            .map(|o| {
                let key = (o.cluster.clone(), o.service.clone());
                describe(o, now.get(&key).map(String::as_str))
            })
            .collect::<Vec<_>>()
            .join(" | ")
    };
    Summary {
        status: if error.is_empty() {
            "SUCCEEDED"
        } else {
            "FAILED"
        }
        .into(),
        error: error.into(),
        cause,
        services: services
            .into_iter()
            .map(|o| ServiceVerdict {
                cluster: o.cluster,
                service: o.service,
                outcome: o.outcome,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Summarize with nothing read from ECS (the read failed or was not needed).
    fn recorded(services: Vec<ServiceOutcome>) -> Summary {
        summarize(services, &RunningNow::new())
    }

    fn outcome(o: &str, detail: serde_json::Value) -> ServiceOutcome {
        ServiceOutcome {
            cluster: "prod".into(),
            service: "web".into(),
            outcome: o.into(),
            detail,
        }
    }

    #[test]
    fn all_deployed_succeeds() {
        let s = recorded(vec![outcome(
            "DEPLOYED",
            json!({"register": {"taskDefinitionArn": "arn:aws:ecs:r:1:task-definition/web:8"}}),
        )]);
        assert_eq!(s.status, "SUCCEEDED");
        assert_eq!(s.cause, "prod/web: deployed web:8");
    }

    #[test]
    fn a_rollback_fails_the_execution_and_says_why_and_what_runs() {
        let d = json!({
            "register": {"previousTaskDefinitionArn": "arn:aws:ecs:r:1:task-definition/web:7"},
            "stability": {"status": "FAILED", "reason": "DeploymentFailed", "detail": "ECS marked deployment ecs-svc/1 FAILED: circuit breaker"},
            "rollback": {"taskDefinitionArn": "arn:aws:ecs:r:1:task-definition/web:7"}
        });
        let s = recorded(vec![
            outcome("ROLLED_BACK", d),
            outcome("DEPLOYED", json!({})),
        ]);
        assert_eq!(s.status, "FAILED");
        assert_eq!(s.error, "DeploymentRolledBack");
        assert!(s.cause.contains("rollout FAILED (DeploymentFailed): ECS marked deployment ecs-svc/1 FAILED: circuit breaker; rolled back, now running web:7"), "{}", s.cause);
    }

    #[test]
    fn a_canary_failure_is_named() {
        let d = json!({"canaryResult": {"decision": "ROLLBACK", "verdict": "FAIL", "detail": "5xx rate: Fail (3 of 3 data point(s) breach > 1)"}, "rollback": {"taskDefinitionArn": "x/web:7"}});
        let s = recorded(vec![outcome("ROLLED_BACK", d)]);
        assert!(s.cause.contains("canary FAIL: 5xx rate"), "{}", s.cause);
    }

    #[test]
    fn a_failed_rollback_outranks_everything() {
        let s = recorded(vec![
            outcome("ROLLED_BACK", json!({})),
            outcome(
                "ROLLBACK_FAILED",
                json!({"rollbackStability": {"detail": "deadline passed"}}),
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
            "register": {"previousTaskDefinitionArn": "arn:aws:ecs:r:1:task-definition/web:7"},
            "stability": {"status": "FAILED", "reason": "TasksFailing", "detail": "3 tasks failed"},
            "error": {"Error": "Lambda.ServiceException", "Cause": "runtime unreachable"}
        });
        let mut now = RunningNow::new();
        now.insert(
            ("prod".into(), "web".into()),
            "web:8 (PRIMARY IN_PROGRESS, 1/2 running) and web:7 (ACTIVE, 1/2 running)".into(),
        );
        let s = summarize(vec![outcome("ROLLBACK_FAILED", d.clone())], &now);
        assert_eq!(s.error, "RollbackFailed");
        assert!(s.cause.contains("the service now runs web:8 (PRIMARY IN_PROGRESS, 1/2 running) and web:7 (ACTIVE, 1/2 running): check it by hand"), "{}", s.cause);
        // without a reading, the cause says it does not know, and names the target it had
        let s = recorded(vec![outcome("ROLLBACK_FAILED", d)]);
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
        let s = recorded(vec![outcome("NOT_STARTED", d)]);
        assert_eq!(s.error, "DeploymentNotStarted");
        assert_eq!(s.cause, "prod/web: not started, nothing changed: ContainerNotFound task definition web has no container \"api\"");
    }

    #[test]
    fn superseded_is_not_a_failure() {
        let s = recorded(vec![outcome(
            "SUPERSEDED",
            json!({"turn": {"detail": "execution c deploys a newer image"}}),
        )]);
        assert_eq!(s.status, "SUCCEEDED");
    }
}
