//! Start the ECS rolling deployment of the registered revision.

use aws_sdk_ecs::types::Service;
use aws_sdk_ecs::Client;
use berth::ecs::{describe_service, primary_rollout, require_ecs_controller};
use berth::error::{names, Error, Result};
use berth::model::{parse_input, require, Rollout, UpdateInput, DEFAULT_TIMEOUT_SECONDS};
use berth::taskdef::short_name;
use berth::time;
use berth::time::DateTime;

pub async fn run(ecs: &Client, payload: serde_json::Value, now: DateTime) -> Result<Rollout> {
    let input: UpdateInput = parse_input("update-service", payload)?;
    update(ecs, &input, now).await
}

pub async fn update(ecs: &Client, input: &UpdateInput, now: DateTime) -> Result<Rollout> {
    require("deploymentId", &input.deployment_id)?;
    require("cluster", &input.cluster)?;
    require("service", &input.service)?;
    require(
        "register.taskDefinitionArn",
        &input.register.task_definition_arn,
    )?;
    let target = input.register.task_definition_arn.as_str();
    let deadline = time::plus_secs(
        now,
        input.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS),
    );

    let service = describe_service(ecs, &input.cluster, &input.service).await?;
    require_ecs_controller(&service)?;
    // A retry of this state: ECS already rolls out our revision, so starting another deployment
    // would only restart the rollout.
    if let Some(rollout) = primary_rollout(&service, target, deadline) {
        if rollout_in_progress(&service) || !input.force_new_deployment {
            tracing::info!(deployment = %rollout.ecs_deployment_id, task_definition = %short_name(target), "service already deploys this revision");
            return Ok(rollout);
        }
    }

    // desiredCount is never sent: the autoscaler owns it.
    let out = ecs
        .update_service()
        .cluster(&input.cluster)
        .service(&input.service)
        .task_definition(target)
        .force_new_deployment(input.force_new_deployment)
        .send()
        .await
        .map_err(|e| {
            Error::from_sdk(
                &format!("UpdateService {}/{}", input.cluster, input.service),
                e,
            )
        })?;
    let service = out
        .service
        .ok_or_else(|| Error::new(names::AWS_ERROR, "UpdateService returned no service"))?;
    let rollout = primary_rollout(&service, target, deadline).ok_or_else(|| {
        Error::new(
            names::AWS_ERROR,
            format!(
                "UpdateService {} returned no PRIMARY deployment of {}",
                input.service,
                short_name(target)
            ),
        )
    })?;
    tracing::info!(
        service = %input.service,
        deployment = %rollout.ecs_deployment_id,
        task_definition = %short_name(target),
        desired = rollout.desired_count,
        deadline = %rollout.deadline,
        force = input.force_new_deployment,
        "rollout started"
    );
    Ok(rollout)
}

fn rollout_in_progress(service: &Service) -> bool {
    service.deployments().iter().any(|d| {
        d.status() == Some("PRIMARY")
            && d.rollout_state().map(|s| s.as_str()) == Some("IN_PROGRESS")
    })
}

#[cfg(test)]
mod tests;
