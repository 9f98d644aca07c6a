//! Record the desired count, scale to 0, and wait until no task of the service may run.

use aws_sdk_ecs::types::{DesiredStatus, Service};
use aws_sdk_ecs::Client;
use berth::control::{self, Action};
use berth::ecs::{controller, describe_service, require_ecs_controller};
use berth::error::{Error, ErrorName, Result};
use berth::model::{parse_input, require, ExecutionRef};
use berth::stop_start::{still_running, StopThenStart, Stopping};
use berth::strategy;
use berth::time::{self, DateTime};
use serde::Deserialize;

/// The item's fields this state reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopInput {
    pub deployment_id: String,
    pub cluster: String,
    pub service: String,
    pub stop_then_start: StopThenStart,
    /// Set once recorded: this invocation scales down (once) and looks.
    #[serde(default)]
    pub stopping: Option<Stopping>,
    /// The execution, whose `berth:control` abort stops the stop (and the rollback restores).
    #[serde(default)]
    pub execution: Option<ExecutionRef>,
    /// StopFailedTasks: the rollback of a stop-then-start deploy stops the new revision's tasks
    /// before the previous revision starts again (`stopping` is the rollback's own stop; an empty
    /// deadline is set from its timeout at the first look). An abort does not refuse it.
    #[serde(default)]
    pub rolling_back: bool,
}

pub async fn run(ecs: &Client, payload: serde_json::Value, now: DateTime) -> Result<Stopping> {
    let input: StopInput = parse_input("stop-service", payload)?;
    require("deploymentId", &input.deployment_id)?;
    require("cluster", &input.cluster)?;
    require("service", &input.service)?;
    input.stop_then_start.check("stopThenStart")?;
    let service = describe_service(ecs, &input.cluster, &input.service).await?;
    if input.rolling_back {
        let mut stopping = input.stopping.clone().ok_or_else(|| {
            Error::invalid_input("stop-service: rollingBack without the rollback's stopping")
        })?;
        if stopping.deadline.is_empty() {
            stopping.deadline = time::format(time::plus_secs(now, stopping.timeout_seconds));
        }
        if !stopping.scaled_down
            && service.task_definition() == Some(stopping.task_definition_arn.as_str())
        {
            // ECS's circuit breaker already put the previous revision back: its tasks are the ones
            // to keep, and the rollback only restores the count
            tracing::info!(service = %input.service, "ECS already runs the previous revision again: nothing stopped");
            stopping.drained = true;
            stopping.running =
                usize::try_from(service.running_count() + service.pending_count()).unwrap_or(0);
            return Ok(stopping);
        }
        return stop_and_look(ecs, &input, stopping, now).await;
    }
    refuse_if_aborted(&service, &input)?;
    match input.stopping.clone() {
        None => record(&input, &service, now),
        Some(stopping) => stop_and_look(ecs, &input, stopping, now).await,
    }
}

/// Reads what the service runs and how many tasks it wants, before anything changes: the
/// execution keeps it, so a retried scale-down cannot record 0.
pub fn record(input: &StopInput, service: &Service, now: DateTime) -> Result<Stopping> {
    require_ecs_controller(service)?;
    if let Some(s) = strategy::of_service(service).filter(|s| *s != "ROLLING") {
        return Err(Error::invalid_input(format!(
            "stopThenStart: service {} deploys with ECS's {s} strategy, which runs both revisions by design; stop-then-start drives rolling services only",
            input.service
        )));
    }
    debug_assert_eq!(controller(service), "ECS");
    let timeout = input.stop_then_start.timeout_seconds;
    let stopping = Stopping {
        desired_count: service.desired_count(),
        task_definition_arn: service.task_definition().unwrap_or_default().to_owned(),
        deadline: time::format(time::plus_secs(now, timeout)),
        timeout_seconds: timeout,
        scaled_down: false,
        running: usize::try_from(service.running_count() + service.pending_count()).unwrap_or(0),
        drained: false,
    };
    tracing::info!(service = %input.service, desired = stopping.desired_count, task_definition = %stopping.task_definition_arn, "desired count recorded");
    Ok(stopping)
}

async fn stop_and_look(
    ecs: &Client,
    input: &StopInput,
    mut stopping: Stopping,
    now: DateTime,
) -> Result<Stopping> {
    if !stopping.scaled_down {
        ecs.update_service()
            .cluster(&input.cluster)
            .service(&input.service)
            .desired_count(0)
            .send()
            .await
            .map_err(|e| {
                Error::from_sdk(
                    &format!(
                        "UpdateService {}/{} (desiredCount 0)",
                        input.cluster, input.service
                    ),
                    e,
                )
            })?;
        stopping.scaled_down = true;
        tracing::info!(service = %input.service, recorded = stopping.desired_count, "scaled to 0");
    }
    stopping.running = running_tasks(ecs, &input.cluster, &input.service).await?;
    stopping.drained = stopping.running == 0;
    if !stopping.drained
        && now.secs() >= time::parse("stopping.deadline", &stopping.deadline)?.secs()
    {
        let not_started = if input.rolling_back {
            "the previous revision was not started again: the service is at 0 tasks, check it by hand"
        } else {
            "the new revision was not started"
        };
        return Err(Error::new(
            ErrorName::StopTimeout,
            format!(
                "{} task(s) of {} were still running {} s after berth scaled it to 0 (stopThenStart.timeoutSeconds); {not_started}",
                stopping.running, input.service, stopping.timeout_seconds
            ),
        ));
    }
    Ok(stopping)
}

/// The service's tasks that may still be running: those ECS keeps running, and those told to stop
/// whose containers have not stopped yet.
async fn running_tasks(ecs: &Client, cluster: &str, service: &str) -> Result<usize> {
    let mut arns = vec![];
    for status in [DesiredStatus::Running, DesiredStatus::Stopped] {
        let mut pages = ecs
            .list_tasks()
            .cluster(cluster)
            .service_name(service)
            .desired_status(status)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::from_sdk("ListTasks", e))?;
            arns.extend(page.task_arns().iter().cloned());
        }
    }
    // a task may change its desired status between the two lists
    arns.sort();
    arns.dedup();
    let mut statuses = vec![];
    for chunk in arns.chunks(100) {
        let out = ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| Error::from_sdk("DescribeTasks", e))?;
        statuses.extend(
            out.tasks()
                .iter()
                .map(|t| t.last_status().unwrap_or("PROVISIONING").to_owned()),
        );
    }
    Ok(still_running(statuses.iter().map(String::as_str)))
}

/// `berth abort`: before the scale-down nothing changes (`Aborted`, refused); after it the
/// execution's rollback restores the recorded count.
fn refuse_if_aborted(service: &Service, input: &StopInput) -> Result<()> {
    let Some(me) = &input.execution else {
        return Ok(());
    };
    match control::for_execution(service, me.name(), "stop-service") {
        Some(Action::Abort) => Err(Error::new(
            ErrorName::Aborted,
            format!(
                "{} while berth stopped {}/{}",
                control::ABORTED,
                input.cluster,
                input.service
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
