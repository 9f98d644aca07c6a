//! ECS's own verdict on a rollout: the service deployment berth started, as
//! DescribeServiceDeployments reports it, laid over berth's own checks (stability.rs). Pure
//! decisions, tested without any client.
//!
//! ECS knows when it rolled a deployment back or stopped it, and its status says so, with the
//! revision it restored and why (circuit breaker, alarms). It does not know everything berth checks:
//! tasks that start and then fail ELB health checks are not counted by the circuit breaker, so ECS
//! can call a deployment SUCCESSFUL while berth's checks still fail. SUCCESSFUL therefore completes
//! only when berth's checks pass too. While ECS rolls back, berth waits for ECS's outcome (until the
//! rollout's deadline) instead of starting a rollback of its own that would race it.

use aws_sdk_ecs::types::ServiceDeployment;

use crate::error::{Error, ErrorName};
use crate::model::{FailureReason, ServiceDeploymentState, StabilityStatus};
use crate::stability::Decision;
use crate::taskdef::short_name;

/// A circuit breaker's or an alarm monitor's state during a service deployment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MonitorView {
    /// TRIGGERED, MONITORING, MONITORING_COMPLETE or DISABLED.
    pub status: String,
    /// Circuit breaker: failed tasks counted and the threshold that trips it.
    pub failure_count: i32,
    pub threshold: i32,
    /// Alarms: the ones that went into ALARM.
    pub triggered_alarms: Vec<String>,
}

/// One service deployment, as the decision reads it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceDeploymentView {
    pub arn: String,
    pub status: String,
    pub status_reason: Option<String>,
    /// The revisions that ran before (the ones a rollback restores).
    pub source_revisions: Vec<String>,
    /// `rollback.serviceRevisionArn`: the revision ECS rolls back to, once it does.
    pub rollback_revision: Option<String>,
    pub rollback_reason: Option<String>,
    pub circuit_breaker: Option<MonitorView>,
    pub alarms: Option<MonitorView>,
}

impl ServiceDeploymentView {
    pub fn from_sdk(sd: &ServiceDeployment) -> Self {
        Self {
            arn: sd.service_deployment_arn().unwrap_or_default().to_owned(),
            status: sd
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            status_reason: sd.status_reason().map(str::to_owned),
            source_revisions: sd
                .source_service_revisions()
                .iter()
                .filter_map(|r| r.arn().map(str::to_owned))
                .collect(),
            rollback_revision: sd
                .rollback()
                .and_then(|r| r.service_revision_arn())
                .map(str::to_owned),
            rollback_reason: sd.rollback().and_then(|r| r.reason()).map(str::to_owned),
            circuit_breaker: sd.deployment_circuit_breaker().map(|c| MonitorView {
                status: c
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                failure_count: c.failure_count(),
                threshold: c.threshold(),
                triggered_alarms: vec![],
            }),
            alarms: sd.alarms().map(|a| MonitorView {
                status: a
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                triggered_alarms: a.triggered_alarm_names().to_vec(),
                ..Default::default()
            }),
        }
    }

    /// The revision a rollback restores: ECS's rollback target, else the one that ran before.
    pub fn restored_revision(&self) -> Option<&str> {
        self.rollback_revision
            .as_deref()
            .or(self.source_revisions.first().map(String::as_str))
    }

    /// What the stability result shows of it.
    pub fn state(&self) -> ServiceDeploymentState {
        ServiceDeploymentState {
            arn: self.arn.clone(),
            status: self.status.clone(),
            status_reason: self.status_reason.clone(),
            restored_revision_arn: is_rollback(&self.status)
                .then(|| self.restored_revision().map(str::to_owned))
                .flatten(),
            ..Default::default()
        }
    }
}

/// ECS rolls the deployment back (or has): berth must not start a rollback of its own.
pub fn is_rollback(status: &str) -> bool {
    matches!(
        status,
        "ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS" | "ROLLBACK_SUCCESSFUL" | "ROLLBACK_FAILED"
    )
}

/// An error of DescribeServiceDeployments after which berth judges from DescribeServices alone, as
/// before ECS had service deployments: the role may not grant the call (AccessDeniedException), the
/// region or a stand-in may not know it (UnsupportedFeatureException, an unknown operation), the ARN
/// may be refused. Throttling and outages are not among them: the ASL retries those.
pub fn falls_back(err: &Error) -> bool {
    !matches!(err.name(), ErrorName::Throttled | ErrorName::AwsUnavailable)
}

/// The last segment of a service deployment or revision ARN (`…/prod/web/<id>`).
pub fn id_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Lay ECS's status over berth's own decision.
///
/// `restored_task_definition` is what the service's PRIMARY deployment runs when that is not the
/// rollout's revision (after a rollback: the restored revision's task definition);
/// `past_deadline` is the rollout's deadline passing.
pub fn judge(
    sd: &ServiceDeploymentView,
    own: Decision,
    restored_task_definition: Option<&str>,
    past_deadline: bool,
) -> Decision {
    let id = id_of(&sd.arn);
    let status = sd.status.as_str();
    match status {
        "SUCCESSFUL" => match own.status {
            StabilityStatus::Completed => Decision {
                detail: format!("{}; ECS service deployment {id} SUCCESSFUL", own.detail),
                ..own
            },
            StabilityStatus::InProgress => Decision {
                detail: format!(
                    "ECS marked service deployment {id} SUCCESSFUL, berth's checks not yet: {}",
                    own.detail
                ),
                ..own
            },
            // ECS's SUCCESSFUL does not outweigh berth's checks (ELB health-check stops, above all).
            StabilityStatus::Failed => Decision {
                detail: format!(
                    "{} (though ECS marked service deployment {id} SUCCESSFUL)",
                    own.detail
                ),
                ..own
            },
        },
        "PENDING" | "IN_PROGRESS" => match own.status {
            StabilityStatus::Completed if past_deadline => Decision {
                status: StabilityStatus::Failed,
                reason: Some(FailureReason::Timeout),
                detail: format!(
                    "deadline passed with ECS's service deployment {id} still {status}, though berth's checks pass ({})",
                    own.detail
                ),
                ..own
            },
            // ECS may still roll back (alarms are watched until it ends): wait for its verdict.
            StabilityStatus::Completed => Decision {
                status: StabilityStatus::InProgress,
                reason: None,
                detail: format!(
                    "berth's checks pass ({}); ECS's service deployment {id} is still {status}",
                    own.detail
                ),
                ..own
            },
            // berth's early-failure checks and the deadline stand.
            _ => own,
        },
        // ECS rolls back on its own: berth waits for the outcome rather than start a rollback that
        // would race ECS's (its own Rollback state then finds the service back on the old revision).
        "ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS" => {
            let verb = if status == "ROLLBACK_REQUESTED" {
                "was asked to roll back"
            } else {
                "is rolling back"
            };
            let what = format!(
                "ECS {verb} service deployment {id} ({status}){}{}",
                why(sd),
                restored(sd, restored_task_definition)
            );
            if past_deadline {
                Decision {
                    status: StabilityStatus::Failed,
                    reason: Some(FailureReason::RolledBack),
                    detail: format!("{what}; the deadline passed before its rollback finished"),
                    unhealthy_tasks: own.unhealthy_tasks,
                }
            } else {
                Decision {
                    status: StabilityStatus::InProgress,
                    reason: None,
                    detail: format!("{what}; waiting for ECS's rollback to finish"),
                    unhealthy_tasks: own.unhealthy_tasks,
                }
            }
        }
        "ROLLBACK_SUCCESSFUL" => Decision {
            status: StabilityStatus::Failed,
            reason: Some(FailureReason::RolledBack),
            detail: format!(
                "ECS rolled back service deployment {id} (ROLLBACK_SUCCESSFUL){}{}",
                why(sd),
                restored(sd, restored_task_definition)
            ),
            unhealthy_tasks: own.unhealthy_tasks,
        },
        "ROLLBACK_FAILED" => Decision {
            status: StabilityStatus::Failed,
            reason: Some(FailureReason::DeploymentFailed),
            detail: format!(
                "ECS could not roll back service deployment {id} (ROLLBACK_FAILED){}{}",
                why(sd),
                restored(sd, None)
            ),
            unhealthy_tasks: own.unhealthy_tasks,
        },
        "STOP_REQUESTED" | "STOPPED" => match (own.status, own.reason) {
            // A later deployment of the same revision stops ours; berth's checks see it running.
            (StabilityStatus::Completed, _) => Decision {
                detail: format!("{}; ECS service deployment {id} is {status}", own.detail),
                ..own
            },
            (StabilityStatus::Failed, Some(FailureReason::Superseded)) => Decision {
                detail: format!("{}; ECS stopped service deployment {id}", own.detail),
                ..own
            },
            _ => Decision {
                status: StabilityStatus::Failed,
                reason: Some(FailureReason::Stopped),
                detail: format!("ECS stopped service deployment {id} ({status}){}", why(sd)),
                unhealthy_tasks: own.unhealthy_tasks,
            },
        },
        other => Decision {
            detail: format!(
                "{} (ECS service deployment {id} is {})",
                own.detail,
                if other.is_empty() { "without status" } else { other }
            ),
            ..own
        },
    }
}

/// ": <status reason>; circuit breaker TRIGGERED (3 failed tasks, threshold 3); alarms in ALARM: x"
fn why(sd: &ServiceDeploymentView) -> String {
    let mut parts = vec![];
    if let Some(reason) = sd
        .status_reason
        .as_deref()
        .or(sd.rollback_reason.as_deref())
        .filter(|r| !r.trim().is_empty())
    {
        parts.push(reason.trim_end_matches('.').to_owned());
    }
    if let Some(cb) = sd
        .circuit_breaker
        .as_ref()
        .filter(|c| c.status == "TRIGGERED")
    {
        parts.push(format!(
            "circuit breaker TRIGGERED ({} failed task(s), threshold {})",
            cb.failure_count, cb.threshold
        ));
    }
    if let Some(a) = sd.alarms.as_ref().filter(|a| a.status == "TRIGGERED") {
        if a.triggered_alarms.is_empty() {
            parts.push("alarms TRIGGERED".into());
        } else {
            parts.push(format!(
                "alarms TRIGGERED: {}",
                a.triggered_alarms.join(", ")
            ));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join("; "))
    }
}

/// "; restored service revision 4980306466373577095 (web:7)", in the tense of the rollback.
fn restored(sd: &ServiceDeploymentView, task_definition: Option<&str>) -> String {
    let verb = match sd.status.as_str() {
        "ROLLBACK_SUCCESSFUL" => "restored",
        "ROLLBACK_FAILED" => "it was restoring",
        _ => "restoring",
    };
    let td = task_definition.map(short_name);
    match (sd.restored_revision(), td) {
        (Some(rev), Some(td)) => format!("; {verb} service revision {} ({td})", id_of(rev)),
        (Some(rev), None) => format!("; {verb} service revision {}", id_of(rev)),
        (None, Some(td)) => format!("; {verb} {td}"),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests;
