//! One stability poll: read the service and its stopped tasks, decide, report the evidence.

use aws_sdk_ecs::types::{DesiredStatus, Service};
use aws_sdk_ecs::Client;
use berth::ecs::{describe_service, service_tasks};
use berth::error::Result;
use berth::model::{parse_input, require, Stability, StabilityInput};
use berth::stability::{decide, DeploymentView, EventView, Expected, Observation, StoppedTaskView};
use berth::time::{self, DateTime};

/// How many service events the result carries (newest first).
const EVENTS_SHOWN: usize = 5;

pub async fn run(ecs: &Client, payload: serde_json::Value, now: DateTime) -> Result<Stability> {
    let input: StabilityInput = parse_input("check-stability", payload)?;
    check(ecs, &input, now).await
}

pub async fn check(ecs: &Client, input: &StabilityInput, now: DateTime) -> Result<Stability> {
    require("cluster", &input.cluster)?;
    require("service", &input.service)?;
    require("rollout.ecsDeploymentId", &input.rollout.ecs_deployment_id)?;
    require(
        "rollout.taskDefinitionArn",
        &input.rollout.task_definition_arn,
    )?;
    let started = time::parse("rollout.startedAt", &input.rollout.started_at)?;
    let deadline = time::parse("rollout.deadline", &input.rollout.deadline)?;

    let service = describe_service(ecs, &input.cluster, &input.service).await?;
    let stopped =
        service_tasks(ecs, &input.cluster, &input.service, DesiredStatus::Stopped).await?;
    let obs = observe(&service, &stopped);
    let expected = Expected {
        deployment_id: &input.rollout.ecs_deployment_id,
        task_definition: &input.rollout.task_definition_arn,
        started_at_secs: started.secs(),
        deadline_secs: deadline.secs(),
    };
    let decision = decide(&obs, &expected, now.secs());

    let ours = obs
        .deployments
        .iter()
        .find(|d| d.id == input.rollout.ecs_deployment_id);
    let primary = obs.deployments.iter().find(|d| d.status == "PRIMARY");
    let result = Stability {
        status: decision.status,
        reason: decision.reason,
        detail: decision.detail,
        ecs_deployment_id: input.rollout.ecs_deployment_id.clone(),
        task_definition_arn: input.rollout.task_definition_arn.clone(),
        primary_task_definition_arn: primary.map(|p| p.task_definition.clone()),
        rollout_state: ours.and_then(|d| d.rollout_state.clone()),
        rollout_state_reason: ours.and_then(|d| d.rollout_state_reason.clone()),
        desired_count: ours.map(|d| d.desired_count).unwrap_or(0),
        running_count: ours.map(|d| d.running_count).unwrap_or(0),
        pending_count: ours.map(|d| d.pending_count).unwrap_or(0),
        failed_tasks: ours.map(|d| d.failed_tasks).unwrap_or(0),
        unhealthy_tasks: decision.unhealthy_tasks,
        events: obs
            .events
            .iter()
            .filter(|e| e.at_secs >= started.secs())
            .take(EVENTS_SHOWN)
            .map(|e| e.message.clone())
            .collect(),
        checked_at: time::format(now),
    };
    tracing::info!(
        service = %input.service,
        deployment = %result.ecs_deployment_id,
        status = ?result.status,
        reason = ?result.reason,
        running = result.running_count,
        desired = result.desired_count,
        pending = result.pending_count,
        failed = result.failed_tasks,
        unhealthy = result.unhealthy_tasks,
        rollout_state = result.rollout_state.as_deref().unwrap_or("-"),
        "{}",
        result.detail
    );
    Ok(result)
}

/// Turn SDK shapes into the plain data the decision reads.
fn observe(service: &Service, stopped: &[aws_sdk_ecs::types::Task]) -> Observation {
    Observation {
        deployments: service
            .deployments()
            .iter()
            .map(|d| DeploymentView {
                id: d.id().unwrap_or_default().to_owned(),
                status: d.status().unwrap_or_default().to_owned(),
                task_definition: d.task_definition().unwrap_or_default().to_owned(),
                rollout_state: d.rollout_state().map(|s| s.as_str().to_owned()),
                rollout_state_reason: d.rollout_state_reason().map(str::to_owned),
                desired_count: d.desired_count(),
                running_count: d.running_count(),
                pending_count: d.pending_count(),
                failed_tasks: d.failed_tasks(),
            })
            .collect(),
        events: service
            .events()
            .iter()
            .map(|e| EventView {
                at_secs: e.created_at().map(|t| t.secs()).unwrap_or(0),
                message: e.message().unwrap_or_default().to_owned(),
            })
            .collect(),
        stopped_tasks: stopped
            .iter()
            .map(|t| StoppedTaskView {
                task_id: t
                    .task_arn()
                    .and_then(|a| a.rsplit('/').next())
                    .unwrap_or_default()
                    .to_owned(),
                task_definition: t.task_definition_arn().unwrap_or_default().to_owned(),
                stopped_reason: t.stopped_reason().unwrap_or_default().to_owned(),
                stopped_at_secs: t
                    .stopped_at()
                    .or(t.created_at())
                    .map(|t| t.secs())
                    .unwrap_or(0),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests;
