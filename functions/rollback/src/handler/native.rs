//! The rollback of a native BLUE_GREEN / LINEAR / CANARY deployment: ECS's own, asked with
//! StopServiceDeployment(ROLLBACK) on the service deployment update-service recorded. ECS shifts
//! traffic back to the old revision (still at full size beside the new one) and restores it with
//! the digests it ran: no UpdateService, no pinned copy. When ECS rolls back already (a hook failed
//! or a PAUSE hook was answered ROLLBACK), berth waits for that rollback instead. A deployment that
//! already finished (SUCCESSFUL, STOPPED, ROLLBACK_FAILED) is left to the UpdateService path.

use aws_sdk_ecs::types::{Service, StopServiceDeploymentStopType};
use aws_sdk_ecs::Client;
use berth::ecs::describe_service_deployment;
use berth::error::{Error, Result};
use berth::model::{RollbackInput, RollbackResult, Rollout};
use berth::service_deployment::{id_of, is_rollback};
use berth::strategy::{self, BY_ECS, BY_STOP};
use berth::taskdef::short_name;
use berth::time::{self, DateTime};

/// `None`: nothing for ECS to roll back (no service deployment recorded, or it finished): the
/// caller rolls back with UpdateService.
pub async fn rollback(
    ecs: &Client,
    input: &RollbackInput,
    service: &Service,
    previous: &str,
    deadline: DateTime,
    now: DateTime,
) -> Result<Option<RollbackResult>> {
    let Some(strategy) = strategy::of_service(service) else {
        return Ok(None);
    };
    let Some(update) = input.update.as_ref() else {
        return Ok(None);
    };
    let Some(arn) = update.service_deployment_arn.as_deref() else {
        return Ok(None);
    };
    let Some(sd) = describe_service_deployment(ecs, arn).await? else {
        return Ok(None);
    };
    let id = id_of(arn);
    let status = sd
        .status()
        .map(|s| s.as_str())
        .unwrap_or_default()
        .to_owned();
    let stage = sd
        .lifecycle_stage()
        .map(|s| format!(" at {}", s.as_str()))
        .unwrap_or_default();
    let result = |by: &str, already: bool, detail: String| {
        tracing::info!(service = %input.service, service_deployment = %arn, rolled_back_by = by, already_rolled_back = already, "{detail}");
        RollbackResult {
            task_definition_arn: previous.to_owned(),
            previous_task_definition_arn: previous.to_owned(),
            pinned_images: vec![],
            already_rolled_back: already,
            rollout: Rollout {
                ecs_deployment_id: update.ecs_deployment_id.clone(),
                task_definition_arn: previous.to_owned(),
                started_at: time::format(now),
                deadline: time::format(deadline),
                code_deploy: None,
                desired_count: service.desired_count(),
                service_deployment_arn: Some(arn.to_owned()),
                rolled_back_by: Some(by.to_owned()),
                watch: None,
            },
            detail,
        }
    };
    let already = |status: &str, reason: Option<&str>| {
        // A retry of this state finds berth's own stop under way.
        let by = if reason.is_some_and(|r| r.contains(BY_STOP)) {
            BY_STOP
        } else {
            BY_ECS
        };
        result(
            by,
            true,
            format!(
                "ECS {strategy} service deployment {id} is {status} ({}); waiting for ECS's rollback to {}",
                reason.unwrap_or("no reason given").trim_end_matches('.'),
                short_name(previous)
            ),
        )
    };
    if is_rollback(&status) && status != "ROLLBACK_FAILED" {
        return Ok(Some(already(&status, sd.status_reason())));
    }
    if !matches!(status.as_str(), "PENDING" | "IN_PROGRESS") {
        tracing::info!(service = %input.service, service_deployment = %arn, status = %status, "the service deployment finished: rolling back with UpdateService");
        return Ok(None);
    }
    let stopped = ecs
        .stop_service_deployment()
        .service_deployment_arn(arn)
        .stop_type(StopServiceDeploymentStopType::Rollback)
        .send()
        .await
        .map_err(|e| Error::from_sdk(&format!("StopServiceDeployment {arn}"), e));
    match stopped {
        Ok(_) => Ok(Some(result(
            BY_STOP,
            false,
            format!(
                "rolled back by StopServiceDeployment: ECS {strategy} service deployment {id} ({status}{stage}) goes back to {}",
                short_name(previous)
            ),
        ))),
        Err(e) => {
            // It may have finished or started rolling back between the two calls.
            let now_sd = describe_service_deployment(ecs, arn).await?;
            let now_status = now_sd
                .as_ref()
                .and_then(|s| s.status())
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default();
            if is_rollback(&now_status) && now_status != "ROLLBACK_FAILED" {
                Ok(Some(already(
                    &now_status,
                    now_sd.as_ref().and_then(|s| s.status_reason()),
                )))
            } else if matches!(now_status.as_str(), "PENDING" | "IN_PROGRESS") {
                Err(e)
            } else {
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests;
