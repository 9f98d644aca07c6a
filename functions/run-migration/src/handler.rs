//! Prepare the migration task (what Step Functions' `ecs:runTask.sync` runs: the service's network
//! settings and capacity), and judge how it ended.

use aws_sdk_ecs::types::{
    DesiredStatus, LaunchType, NetworkConfiguration, NetworkMode, Service, TaskDefinition,
};
use aws_sdk_ecs::Client;
use berth::ecs::{describe_service, describe_task_definition};
use berth::error::{Error, Result};
use berth::migration::{self, LogSettings, MigrationConfig, MigrationTask, Ran, RunTaskParameters};
use berth::model::{parse_input, require, RegistrationRef};
use berth::taskdef::short_name;
use serde::Deserialize;

/// The item's fields this state reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationInput {
    pub deployment_id: String,
    pub cluster: String,
    pub service: String,
    #[serde(default)]
    pub container: Option<String>,
    pub register: RegistrationRef,
    pub migration: MigrationConfig,
    /// Set once prepared: RunMigration's result or error is in it, and this invocation judges it.
    #[serde(default)]
    pub migration_task: Option<MigrationTask>,
}

pub async fn run(ecs: &Client, payload: serde_json::Value) -> Result<MigrationTask> {
    let input: MigrationInput = parse_input("run-migration", payload)?;
    require("deploymentId", &input.deployment_id)?;
    require("cluster", &input.cluster)?;
    require("service", &input.service)?;
    input.migration.check("migration")?;
    match input.migration_task.clone() {
        None => prepare(ecs, &input).await,
        Some(task) => judge_run(ecs, &input, task).await,
    }
}

/// What RunMigration runs: the new revision (or the migration's task definition) with the command,
/// in the service's network and on its capacity. Reads only; the task runs in Step Functions'
/// `ecs:runTask.sync`, which a retry of this state cannot start twice.
pub async fn prepare(ecs: &Client, input: &MigrationInput) -> Result<MigrationTask> {
    let config = &input.migration;
    let service = describe_service(ecs, &input.cluster, &input.service).await?;
    let task_definition = config
        .task_definition
        .clone()
        .unwrap_or_else(|| input.register.task_definition_arn.clone());
    require("register.taskDefinitionArn", &task_definition)?;
    let (td, _) = describe_task_definition(ecs, &task_definition).await?;
    let td_arn = td
        .task_definition_arn()
        .unwrap_or(&task_definition)
        .to_owned();
    let container = config
        .container_in(&td, input.container.as_deref())?
        .name()
        .unwrap_or_default()
        .to_owned();
    let log_config = td
        .container_definitions()
        .iter()
        .find(|c| c.name() == Some(container.as_str()))
        .and_then(|c| c.log_configuration())
        .map(|l| LogSettings {
            driver: l.log_driver().as_str().to_owned(),
            options: l
                .options()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect(),
        });
    let overrides = config.overrides(&container)?;
    let run_task = RunTaskParameters {
        cluster: input.cluster.clone(),
        task_definition: td_arn.clone(),
        launch_type: launch_type(&service).to_owned(),
        group: migration::group(&input.deployment_id),
        overrides,
        // the service's network, for a task definition that takes one (its own may not)
        network_configuration: service
            .network_configuration()
            .filter(|_| td.network_mode() == Some(&NetworkMode::Awsvpc))
            .map(network),
    };
    tracing::info!(task_definition = %short_name(&td_arn), %container, "migration task prepared");
    Ok(MigrationTask {
        run_task,
        task_definition_arn: td_arn,
        container,
        essential: essential_containers(&td),
        timeout_seconds: config.timeout_seconds,
        log_config,
        task_arn: None,
        logs: None,
        status: "PENDING".to_owned(),
        done: false,
        stopped: None,
        error: None,
    })
}

/// The service's launch type; for a capacity provider strategy, the launch type its providers
/// provide (Step Functions' ECS integration takes no capacity provider strategy).
fn launch_type(service: &Service) -> &'static str {
    let fargate = match service.launch_type() {
        Some(LaunchType::Ec2) => false,
        Some(_) => true,
        None => {
            service.capacity_provider_strategy().is_empty()
                || service
                    .capacity_provider_strategy()
                    .iter()
                    .any(|p| p.capacity_provider().starts_with("FARGATE"))
        }
    };
    if fargate {
        "FARGATE"
    } else {
        "EC2"
    }
}

/// The service's awsvpc configuration in the integration's PascalCase.
fn network(n: &NetworkConfiguration) -> serde_json::Value {
    let mut awsvpc = serde_json::Map::new();
    if let Some(a) = n.awsvpc_configuration() {
        awsvpc.insert("Subnets".into(), serde_json::json!(a.subnets()));
        if !a.security_groups().is_empty() {
            awsvpc.insert(
                "SecurityGroups".into(),
                serde_json::json!(a.security_groups()),
            );
        }
        if let Some(ip) = a.assign_public_ip() {
            awsvpc.insert("AssignPublicIp".into(), ip.as_str().into());
        }
    }
    serde_json::json!({ "AwsvpcConfiguration": awsvpc })
}

fn essential_containers(td: &TaskDefinition) -> Vec<String> {
    td.container_definitions()
        .iter()
        // ECS's default: a container is essential unless it says otherwise
        .filter(|c| c.essential().unwrap_or(true))
        .filter_map(|c| c.name().map(str::to_owned))
        .collect()
}

/// Judges what RunMigration left: passed (the rollout may start), or `MigrationFailed` with the
/// stop reason and where the output went. A task that ran past its timeout is stopped first.
pub async fn judge_run(
    ecs: &Client,
    input: &MigrationInput,
    mut state: MigrationTask,
) -> Result<MigrationTask> {
    let logs = |task_arn: Option<&str>| {
        let (settings, arn) = (state.log_config.as_ref()?, task_arn?);
        migration::log_location(
            Some(&settings.driver),
            &settings.options.clone().into_iter().collect(),
            &state.container,
            arn,
        )
    };
    match migration::ran(&state)? {
        Ran::Passed { task_arn } => {
            tracing::info!(
                task = task_arn.as_deref().unwrap_or("?"),
                "migration passed"
            );
            state.logs = logs(task_arn.as_deref());
            state.task_arn = task_arn;
            state.status = "STOPPED".to_owned();
            state.done = true;
            // the described task has served; the document keeps what the cause and CLI read
            state.stopped = None;
            state.error = None;
            Ok(state)
        }
        Ran::Failed { why, task_arn } => Err(migration::failed(
            &input.service,
            &why,
            logs(task_arn.as_deref()).as_deref(),
        )),
        Ran::TimedOut(why) => {
            let stopped = stop_by_group(ecs, &input.cluster, &state).await?;
            Err(migration::failed(
                &input.service,
                &why,
                logs(stopped.as_deref()).as_deref(),
            ))
        }
    }
}

/// Stops the task RunMigration started (found by its group among its family's running tasks);
/// its ARN, or None when it had already stopped.
async fn stop_by_group(
    ecs: &Client,
    cluster: &str,
    state: &MigrationTask,
) -> Result<Option<String>> {
    let family = short_name(&state.task_definition_arn)
        .split(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut pages = ecs
        .list_tasks()
        .cluster(cluster)
        .family(&family)
        .desired_status(DesiredStatus::Running)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::from_sdk("ListTasks", e))?;
        for arns in page.task_arns().chunks(100) {
            let out = ecs
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(arns.to_vec()))
                .send()
                .await
                .map_err(|e| Error::from_sdk("DescribeTasks", e))?;
            let Some(task) = out
                .tasks()
                .iter()
                .find(|t| t.group() == Some(state.run_task.group.as_str()))
            else {
                continue;
            };
            let arn = task.task_arn().unwrap_or_default().to_owned();
            ecs.stop_task()
                .cluster(cluster)
                .task(&arn)
                .reason(format!(
                    "berth: migration timed out after {} s",
                    state.timeout_seconds
                ))
                .send()
                .await
                .map_err(|e| Error::from_sdk("StopTask", e))?;
            tracing::info!(task = %arn, "stopped the migration task past its timeout");
            return Ok(Some(arn));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
