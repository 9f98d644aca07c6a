//! The rollback of a native BLUE_GREEN / LINEAR / CANARY deployment is ECS's own rollback of the
//! service deployment (berth's StopServiceDeployment, or ECS's after a hook failed): one poll reads
//! the service deployment and the service, and judges by ECS's status (berth::strategy).

use aws_sdk_ecs::Client;
use berth::ecs::{describe_service, describe_service_deployment};
use berth::error::{Error, ErrorName, Result};
use berth::model::{require, Stability, StabilityInput};
use berth::service_deployment::ServiceDeploymentView;
use berth::strategy;
use berth::time::{self, DateTime};

pub async fn check_rollback(
    ecs: &Client,
    input: &StabilityInput,
    by: &str,
    now: DateTime,
) -> Result<Stability> {
    require("cluster", &input.cluster)?;
    require("service", &input.service)?;
    let arn = input
        .rollout
        .service_deployment_arn
        .as_deref()
        .ok_or_else(|| {
            Error::new(
                ErrorName::InvalidInput,
                "rollout.rolledBackBy without rollout.serviceDeploymentArn",
            )
        })?;
    let deadline = time::parse("rollout.deadline", &input.rollout.deadline)?;
    let sd = describe_service_deployment(ecs, arn)
        .await?
        .ok_or_else(|| {
            Error::new(
                ErrorName::AwsError,
                format!("ECS does not know service deployment {arn}"),
            )
        })?;
    let view = ServiceDeploymentView::from_sdk(&sd);
    let service = describe_service(ecs, &input.cluster, &input.service).await?;
    let primary = service
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"));
    let primary_td = primary.and_then(|p| p.task_definition());
    let decision = strategy::judge_rollback(&view, by, primary_td, now.secs() >= deadline.secs());
    let result = Stability {
        status: decision.status,
        reason: decision.reason,
        detail: decision.detail,
        ecs_deployment_id: primary
            .and_then(|p| p.id())
            .unwrap_or(&input.rollout.ecs_deployment_id)
            .to_owned(),
        task_definition_arn: input.rollout.task_definition_arn.clone(),
        primary_task_definition_arn: primary_td.map(str::to_owned),
        rollout_state: primary
            .and_then(|p| p.rollout_state())
            .map(|s| s.as_str().to_owned()),
        rollout_state_reason: primary
            .and_then(|p| p.rollout_state_reason())
            .map(str::to_owned),
        desired_count: primary.map(|p| p.desired_count()).unwrap_or_default(),
        running_count: primary.map(|p| p.running_count()).unwrap_or_default(),
        pending_count: primary.map(|p| p.pending_count()).unwrap_or_default(),
        failed_tasks: primary.map(|p| p.failed_tasks()).unwrap_or_default(),
        unhealthy_tasks: 0,
        events: service
            .events()
            .iter()
            .take(super::EVENTS_SHOWN)
            .filter_map(|e| e.message().map(str::to_owned))
            .collect(),
        checked_at: time::format(now),
        green_traffic_weight: None,
        service_deployment: Some(strategy::with_stage(view.state(), &sd)),
    };
    tracing::info!(
        service = %input.service,
        service_deployment = %arn,
        rolled_back_by = %by,
        status = ?result.status,
        reason = ?result.reason,
        service_deployment_status = %view.status,
        "{}",
        result.detail
    );
    Ok(result)
}

#[cfg(test)]
mod tests;
