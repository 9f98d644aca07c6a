//! ECS's native deployment strategies, BLUE_GREEN, LINEAR and CANARY
//! (`deploymentConfiguration.strategy`): ECS starts the new revision at full size beside the old
//! one and walks lifecycle stages (SCALE_UP, TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME,
//! CLEAN_UP, …), shifting production traffic by weights it reports on the service deployment's
//! revisions. What berth reads of it and decides from it, as pure functions:
//! - the stage and the new revision's production/test weights, shown in each poll;
//! - while the new revision takes production traffic, berth's canary evaluation runs, as it does
//!   while CodeDeploy shifts traffic (the ASL's EvaluateShift route, through `greenTrafficWeight`);
//! - a PAUSE lifecycle hook waiting for ContinueServiceDeployment is shown as an approval to give
//!   (`berth approve` / `berth reject`);
//! - berth's rollback of such a deployment is ECS's: StopServiceDeployment(ROLLBACK), then ECS's
//!   rollback is judged by the service deployment's status alone ([`judge_rollback`]).

use aws_sdk_ecs::types::{Service, ServiceDeployment};

use crate::model::{FailureReason, ServiceDeploymentState, StabilityStatus};
use crate::service_deployment::{id_of, ServiceDeploymentView};
use crate::stability::Decision;
use crate::taskdef::short_name;

/// The strategies ECS runs in lifecycle stages.
pub const NATIVE: [&str; 3] = ["BLUE_GREEN", "LINEAR", "CANARY"];

/// How a rollout that is ECS's rollback was asked for (`Rollout.rolledBackBy`): berth's own
/// StopServiceDeployment(ROLLBACK).
pub const BY_STOP: &str = "StopServiceDeployment";
/// ECS rolled back on its own (a lifecycle hook failed or timed out, a PAUSE hook was answered
/// ROLLBACK) before berth's rollback state ran.
pub const BY_ECS: &str = "ECS";

/// Stages during which the new revision takes production traffic while the deployment can still
/// be rolled back: berth's canary evaluation runs then.
const PRODUCTION_STAGES: [&str; 3] = [
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
];

/// The service's native strategy, when ECS runs its deployments as one.
pub fn of_service(service: &Service) -> Option<&str> {
    service
        .deployment_configuration()
        .and_then(|c| c.strategy())
        .map(|s| s.as_str())
        .filter(|s| NATIVE.contains(s))
}

/// One lifecycle hook of the current stage (`lifecycleHookDetails`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HookView {
    pub hook_id: String,
    /// AWS_LAMBDA or PAUSE.
    pub target_type: String,
    /// IN_PROGRESS, AWAITING_ACTION, SUCCEEDED, FAILED or TIMED_OUT.
    pub status: String,
    pub expires_at: Option<String>,
    /// What ECS does when the hook times out (ROLLBACK by default for PAUSE hooks).
    pub timeout_action: Option<String>,
}

/// A service deployment's place in a native strategy.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StageView {
    /// BLUE_GREEN, LINEAR or CANARY (None: rolling, or ECS did not say).
    pub strategy: Option<String>,
    pub stage: Option<String>,
    /// The new (target) revision's share of production and test traffic, %.
    pub production_weight: Option<f64>,
    pub test_weight: Option<f64>,
    pub hooks: Vec<HookView>,
}

impl StageView {
    pub fn from_sdk(sd: &ServiceDeployment) -> Self {
        let target = sd.target_service_revision();
        Self {
            strategy: sd
                .deployment_configuration()
                .and_then(|c| c.strategy())
                .map(|s| s.as_str().to_owned())
                .filter(|s| NATIVE.contains(&s.as_str())),
            stage: sd.lifecycle_stage().map(|s| s.as_str().to_owned()),
            production_weight: target.and_then(|t| t.requested_production_traffic_weight()),
            test_weight: target.and_then(|t| t.requested_test_traffic_weight()),
            hooks: sd
                .lifecycle_hook_details()
                .iter()
                .map(|h| HookView {
                    hook_id: h.hook_id().unwrap_or_default().to_owned(),
                    target_type: h
                        .target_type()
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default(),
                    status: h
                        .status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    expires_at: h.expires_at().map(|t| crate::time::format(*t)),
                    timeout_action: h.timeout_action().map(|a| a.as_str().to_owned()),
                })
                .collect(),
        }
    }

    /// The PAUSE hook that waits for ContinueServiceDeployment, if one does.
    pub fn awaiting_action(&self) -> Option<&HookView> {
        self.hooks
            .iter()
            .find(|h| h.target_type == "PAUSE" && h.status == "AWAITING_ACTION")
    }

    /// The stage and weights onto what a poll reports of the service deployment.
    pub fn fill(&self, state: &mut ServiceDeploymentState) {
        state.strategy = self.strategy.clone();
        state.lifecycle_stage = self.stage.clone();
        state.production_traffic_weight = self.production_weight;
        state.test_traffic_weight = self.test_weight;
        state.awaiting_hook_id = self.awaiting_action().map(|h| h.hook_id.clone());
        state.hook_expires_at = self.awaiting_action().and_then(|h| h.expires_at.clone());
    }
}

/// [`StageView::fill`] on ECS's answer, for a native strategy only (a rolling deployment's state is
/// left as it is).
pub fn with_stage(
    mut state: ServiceDeploymentState,
    sd: &ServiceDeployment,
) -> ServiceDeploymentState {
    let view = StageView::from_sdk(sd);
    if view.strategy.is_some() {
        view.fill(&mut state);
    }
    state
}

fn unfinished(status: &str) -> bool {
    matches!(status, "PENDING" | "IN_PROGRESS")
}

/// The new revision's production weight while berth's canary evaluation should run: an unfinished
/// native deployment whose new revision takes production traffic (a shift, its bake, BAKE_TIME).
/// The ASL routes to EvaluateShift on it (`greenTrafficWeight`), as for CodeDeploy.
pub fn canary_weight(state: &ServiceDeploymentState) -> Option<f64> {
    state.strategy.as_ref()?;
    let stage = state.lifecycle_stage.as_deref()?;
    let weight = state.production_traffic_weight?;
    (unfinished(&state.status) && PRODUCTION_STAGES.contains(&stage) && weight > 0.0)
        .then_some(weight)
}

fn percent(w: f64) -> String {
    if w.fract() == 0.0 {
        format!("{w:.0}%")
    } else {
        format!("{w}%")
    }
}

/// "LINEAR at PRODUCTION_TRAFFIC_SHIFT, new revision on 25% of production and 100% of test traffic"
pub fn describe(state: &ServiceDeploymentState) -> Option<String> {
    let strategy = state.strategy.as_deref()?;
    let stage = state.lifecycle_stage.as_deref().unwrap_or("no stage yet");
    let weights = match (state.production_traffic_weight, state.test_traffic_weight) {
        (Some(p), Some(t)) => format!(
            ", new revision on {} of production and {} of test traffic",
            percent(p),
            percent(t)
        ),
        (Some(p), None) => format!(", new revision on {} of production traffic", percent(p)),
        _ => String::new(),
    };
    Some(format!("ECS {strategy} at {stage}{weights}"))
}

/// How a person answers a PAUSE hook: the commands, naming the execution when known.
pub fn approval_answer(execution: Option<&str>, cluster: &str, service: &str) -> String {
    match execution {
        Some(name) => format!("berth approve {name} | berth reject {name}"),
        None => format!(
            "berth approve {service} --cluster {cluster} | berth reject {service} --cluster {cluster}"
        ),
    }
}

/// An in-progress poll of a native deployment names its stage and weights, or the approval it
/// waits for; a decision that completed or failed is left as it is.
pub fn annotate(
    decision: Decision,
    state: Option<&ServiceDeploymentState>,
    answer: &str,
) -> Decision {
    let Some(state) = state else {
        return decision;
    };
    let Some(what) = describe(state) else {
        return decision;
    };
    if decision.status != StabilityStatus::InProgress {
        return decision;
    }
    let detail = match (&state.awaiting_hook_id, state.lifecycle_stage.as_deref()) {
        (Some(hook), stage) => format!(
            "waiting for approval at {}: {answer} (ECS PAUSE hook {hook}{}; {what}); {}",
            stage.unwrap_or("?"),
            state
                .hook_expires_at
                .as_deref()
                .map(|t| format!(", times out {t}"))
                .unwrap_or_default(),
            decision.detail
        ),
        (None, _) => format!("{what}; {}", decision.detail),
    };
    Decision { detail, ..decision }
}

/// ECS's rollback of a native deployment (after berth's StopServiceDeployment, or ECS's own),
/// judged by the service deployment's status: ROLLBACK_SUCCESSFUL completes the rollback.
/// `restored_task_definition` is what the service's PRIMARY deployment runs now.
pub fn judge_rollback(
    sd: &ServiceDeploymentView,
    by: &str,
    restored_task_definition: Option<&str>,
    past_deadline: bool,
) -> Decision {
    let id = id_of(&sd.arn);
    let status = sd.status.as_str();
    let how = if by == BY_STOP {
        "rolled back by StopServiceDeployment".to_owned()
    } else {
        "rolled back by ECS".to_owned()
    };
    let to = match (sd.restored_revision(), restored_task_definition) {
        (Some(rev), Some(td)) => {
            format!(" to service revision {} ({})", id_of(rev), short_name(td))
        }
        (Some(rev), None) => format!(" to service revision {}", id_of(rev)),
        (None, Some(td)) => format!(" to {}", short_name(td)),
        (None, None) => String::new(),
    };
    let reason = sd
        .status_reason
        .as_deref()
        .or(sd.rollback_reason.as_deref())
        .filter(|r| !r.trim().is_empty())
        .map(|r| format!(": {}", r.trim_end_matches('.')))
        .unwrap_or_default();
    let decision = |status, reason, detail| Decision {
        status,
        reason,
        detail,
        unhealthy_tasks: 0,
    };
    match status {
        "ROLLBACK_SUCCESSFUL" => decision(
            StabilityStatus::Completed,
            None,
            format!("service deployment {id} {how}{to} (ROLLBACK_SUCCESSFUL{reason})"),
        ),
        "ROLLBACK_FAILED" => decision(
            StabilityStatus::Failed,
            Some(FailureReason::DeploymentFailed),
            format!("ECS could not roll back service deployment {id} (ROLLBACK_FAILED{reason})"),
        ),
        "PENDING" | "IN_PROGRESS" | "ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS" => {
            if past_deadline {
                decision(
                    StabilityStatus::Failed,
                    Some(FailureReason::Timeout),
                    format!(
                        "deadline passed with service deployment {id} still {status} while being {how}"
                    ),
                )
            } else {
                decision(
                    StabilityStatus::InProgress,
                    None,
                    format!("service deployment {id} is being {how}{to} ({status})"),
                )
            }
        }
        other => decision(
            StabilityStatus::Failed,
            Some(FailureReason::DeploymentFailed),
            format!(
                "service deployment {id} ended {} instead of being {how}{reason}",
                if other.is_empty() {
                    "without status"
                } else {
                    other
                }
            ),
        ),
    }
}

#[cfg(test)]
mod tests;
