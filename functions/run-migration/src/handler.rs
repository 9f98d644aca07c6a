//! Start the migration task with the service's network settings, and judge it until it stops.

use aws_sdk_ecs::types::{
    ContainerOverride, DesiredStatus, LaunchType, Service, Task, TaskDefinition, TaskOverride,
};
use aws_sdk_ecs::Client;
use berth::ecs::{describe_service, describe_task_definition};
use berth::error::{Error, ErrorName, Result};
use berth::migration::{
    self, judge, ContainerView, Judgement, MigrationConfig, MigrationTask, TaskView,
};
use berth::model::{parse_input, require, RegistrationRef};
use berth::taskdef::{pick_container, short_name};
use berth::time::{self, DateTime};
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
    /// Set once started: this invocation looks at the task.
    #[serde(default)]
    pub migration_task: Option<MigrationTask>,
}

pub async fn run(ecs: &Client, payload: serde_json::Value, now: DateTime) -> Result<MigrationTask> {
    let input: MigrationInput = parse_input("run-migration", payload)?;
    require("deploymentId", &input.deployment_id)?;
    require("cluster", &input.cluster)?;
    require("service", &input.service)?;
    input.migration.check("migration")?;
    match &input.migration_task {
        None => start(ecs, &input, now).await,
        Some(task) => check(ecs, &input, task.clone(), now).await,
    }
}

/// Runs the task, or finds the one this deployment already started (a retried state must not run
/// the migration twice).
pub async fn start(ecs: &Client, input: &MigrationInput, now: DateTime) -> Result<MigrationTask> {
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
    // The container whose command is replaced: the migration's own, else (in the new revision)
    // the one berth deploys.
    let wanted = config
        .container
        .as_deref()
        .or(if config.task_definition.is_none() {
            input.container.as_deref()
        } else {
            None
        });
    let container = pick_container(&td, wanted)?
        .name()
        .unwrap_or_default()
        .to_owned();
    let essential = essential_containers(&td);
    let logs = td
        .container_definitions()
        .iter()
        .find(|c| c.name() == Some(container.as_str()))
        .and_then(|c| c.log_configuration())
        .map(|l| {
            (
                l.log_driver().as_str().to_owned(),
                l.options().cloned().unwrap_or_default(),
            )
        });
    let marker = migration::started_by(&input.deployment_id);

    let task = match already_started(ecs, &input.cluster, &marker).await? {
        Some(task) => {
            tracing::info!(
                task = task.task_arn().unwrap_or("?"),
                "the migration task this deployment started"
            );
            task
        }
        None => run_task(ecs, input, &service, &td_arn, &container, &marker).await?,
    };
    let task_arn = task.task_arn().unwrap_or_default().to_owned();
    let logs = logs.and_then(|(driver, options)| {
        migration::log_location(Some(&driver), &options, &container, &task_arn)
    });
    let started_at = task
        .created_at()
        .map(|t| DateTime::from_secs(t.secs()))
        .unwrap_or(now);
    tracing::info!(task = %task_arn, task_definition = %short_name(&td_arn), %container, "migration task started");
    Ok(MigrationTask {
        task_arn,
        task_definition_arn: td_arn,
        essential,
        started_at: time::format(started_at),
        deadline: time::format(time::plus_secs(started_at, config.timeout_seconds)),
        timeout_seconds: config.timeout_seconds,
        logs,
        status: task.last_status().unwrap_or("PROVISIONING").to_owned(),
        done: false,
    })
}

fn essential_containers(td: &TaskDefinition) -> Vec<String> {
    td.container_definitions()
        .iter()
        // ECS's default: a container is essential unless it says otherwise
        .filter(|c| c.essential().unwrap_or(true))
        .filter_map(|c| c.name().map(str::to_owned))
        .collect()
}

/// The task a previous attempt of this state started, running or stopped.
async fn already_started(ecs: &Client, cluster: &str, marker: &str) -> Result<Option<Task>> {
    for status in [DesiredStatus::Running, DesiredStatus::Stopped] {
        let out = ecs
            .list_tasks()
            .cluster(cluster)
            .started_by(marker)
            .desired_status(status)
            .send()
            .await
            .map_err(|e| Error::from_sdk("ListTasks", e))?;
        if let Some(arn) = out.task_arns().first() {
            return describe(ecs, cluster, arn).await.map(Some);
        }
    }
    Ok(None)
}

async fn run_task(
    ecs: &Client,
    input: &MigrationInput,
    service: &Service,
    task_definition: &str,
    container: &str,
    marker: &str,
) -> Result<Task> {
    let mut call = ecs
        .run_task()
        .cluster(&input.cluster)
        .task_definition(task_definition)
        .count(1)
        .started_by(marker)
        .set_network_configuration(service.network_configuration().cloned())
        .set_platform_version(service.platform_version().map(str::to_owned));
    // The service's capacity: its provider strategy, else its launch type.
    if service.capacity_provider_strategy().is_empty() {
        call = call.set_launch_type(service.launch_type().cloned().or(Some(LaunchType::Fargate)));
    } else {
        call = call
            .set_capacity_provider_strategy(Some(service.capacity_provider_strategy().to_vec()));
    }
    if let Some(command) = &input.migration.command {
        call = call.overrides(
            TaskOverride::builder()
                .container_overrides(
                    ContainerOverride::builder()
                        .name(container)
                        .set_command(Some(command.clone()))
                        .build(),
                )
                .build(),
        );
    }
    let out = call
        .send()
        .await
        .map_err(|e| Error::from_sdk(&format!("RunTask {}", short_name(task_definition)), e))?;
    if let Some(task) = out.tasks().first() {
        return Ok(task.clone());
    }
    let why = out
        .failures()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f.reason().unwrap_or("?"),
                f.detail().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(migration::failed(
        &input.service,
        &format!(
            "ECS did not start the migration task ({}): {why}",
            short_name(task_definition)
        ),
        None,
    ))
}

async fn describe(ecs: &Client, cluster: &str, arn: &str) -> Result<Task> {
    let out = ecs
        .describe_tasks()
        .cluster(cluster)
        .tasks(arn)
        .send()
        .await
        .map_err(|e| Error::from_sdk("DescribeTasks", e))?;
    out.tasks().first().cloned().ok_or_else(|| {
        Error::new(
            ErrorName::MigrationFailed,
            format!("the migration task {arn} is gone (ECS no longer describes it)"),
        )
    })
}

fn view(task: &Task) -> TaskView {
    TaskView {
        last_status: task.last_status().unwrap_or("PROVISIONING").to_owned(),
        stop_code: task.stop_code().map(|c| c.as_str().to_owned()),
        stopped_reason: task.stopped_reason().map(str::to_owned),
        containers: task
            .containers()
            .iter()
            .map(|c| ContainerView {
                name: c.name().unwrap_or_default().to_owned(),
                exit_code: c.exit_code(),
                reason: c.reason().map(str::to_owned),
            })
            .collect(),
    }
}

/// One look at the task: still running, passed, or refused (stopped first if past its deadline).
pub async fn check(
    ecs: &Client,
    input: &MigrationInput,
    mut state: MigrationTask,
    now: DateTime,
) -> Result<MigrationTask> {
    let task = describe(ecs, &input.cluster, &state.task_arn).await?;
    let deadline = time::parse("migrationTask.deadline", &state.deadline)?;
    let seen = view(&task);
    state.status = seen.last_status.clone();
    match judge(
        &seen,
        &state.essential,
        now.secs() >= deadline.secs(),
        state.timeout_seconds,
    ) {
        Judgement::Running => Ok(state),
        Judgement::Passed => {
            tracing::info!(task = %state.task_arn, "migration passed");
            state.done = true;
            Ok(state)
        }
        Judgement::TimedOut(why) => {
            ecs.stop_task()
                .cluster(&input.cluster)
                .task(&state.task_arn)
                .reason(format!(
                    "berth: migration timed out after {} s",
                    state.timeout_seconds
                ))
                .send()
                .await
                .map_err(|e| Error::from_sdk("StopTask", e))?;
            Err(migration::failed(
                &input.service,
                &why,
                state.logs.as_deref(),
            ))
        }
        Judgement::Failed(why) => Err(migration::failed(
            &input.service,
            &why,
            state.logs.as_deref(),
        )),
    }
}

#[cfg(test)]
mod tests;
