//! What a service runs: its PRIMARY revision and since when, the images and digests its running
//! tasks report, and its current or last berth deployment.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{DesiredStatus, Service};
use serde::Serialize;

use crate::error::{sdk, CliError};
use crate::follow::rfc3339;
use crate::history::Row;
use crate::progress::{self, short};

/// One container image as the running tasks report it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct Running {
    pub task_definition: String,
    pub container: String,
    pub image: String,
    pub digest: Option<String>,
    pub tasks: usize,
}

/// One ECS deployment of the service.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub task_definition: String,
    pub status: String,
    pub rollout_state: Option<String>,
    pub running: i32,
    pub desired: i32,
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub cluster: String,
    pub service: String,
    /// The PRIMARY deployment's task definition (the service's when it has none).
    pub task_definition: String,
    /// When the PRIMARY deployment was created.
    pub since: Option<String>,
    pub deployments: Vec<Deployment>,
    pub running: Vec<Running>,
    /// The service's current or last berth deployment.
    pub last_deployment: Option<Row>,
}

/// The ECS side of the status (no berth deployment yet).
pub fn from_service(
    cluster: &str,
    service: &Service,
    tasks: &[aws_sdk_ecs::types::Task],
) -> Status {
    let deployments: Vec<Deployment> = service
        .deployments()
        .iter()
        .map(|d| Deployment {
            task_definition: d.task_definition().unwrap_or_default().to_owned(),
            status: d.status().unwrap_or_default().to_owned(),
            rollout_state: d.rollout_state().map(|s| s.as_str().to_owned()),
            running: d.running_count(),
            desired: d.desired_count(),
            created_at: d.created_at().map(|t| rfc3339(progress::seconds(t))),
        })
        .collect();
    let primary = deployments.iter().find(|d| d.status == "PRIMARY");
    let mut running: BTreeMap<(String, String, String, Option<String>), usize> = BTreeMap::new();
    for t in tasks {
        for c in t.containers() {
            let key = (
                t.task_definition_arn().unwrap_or_default().to_owned(),
                c.name().unwrap_or_default().to_owned(),
                c.image().unwrap_or_default().to_owned(),
                c.image_digest().map(str::to_owned),
            );
            *running.entry(key).or_default() += 1;
        }
    }
    Status {
        cluster: cluster.to_owned(),
        service: service.service_name().unwrap_or_default().to_owned(),
        task_definition: primary
            .map(|d| d.task_definition.clone())
            .or_else(|| service.task_definition().map(str::to_owned))
            .unwrap_or_default(),
        since: primary.and_then(|d| d.created_at.clone()),
        deployments,
        running: running
            .into_iter()
            .map(
                |((task_definition, container, image, digest), tasks)| Running {
                    task_definition,
                    container,
                    image,
                    digest,
                    tasks,
                },
            )
            .collect(),
        last_deployment: None,
    }
}

/// Read the service and its running tasks.
pub async fn read(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> Result<Status, CliError> {
    let svc = berth::ecs::describe_service(ecs, cluster, service)
        .await
        .map_err(|e| {
            CliError::new(
                if e.name().group() == berth::error::Group::Refused {
                    crate::exit::Exit::Refused
                } else {
                    crate::exit::Exit::Failed
                },
                format!("{}: {}", e.name(), e.message()),
            )
        })?;
    let arns = ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(service)
        .desired_status(DesiredStatus::Running)
        .send()
        .await
        .map_err(|e| sdk("ListTasks", e))?
        .task_arns()
        .to_vec();
    let mut tasks = Vec::new();
    // DescribeTasks takes at most 100 tasks a call.
    for chunk in arns.chunks(100) {
        let out = ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| sdk("DescribeTasks", e))?;
        tasks.extend(
            out.tasks()
                .iter()
                .filter(|t| t.last_status() == Some("RUNNING"))
                .cloned(),
        );
    }
    Ok(from_service(cluster, &svc, &tasks))
}

/// The names of the cluster's services, sorted.
pub async fn cluster_services(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
) -> Result<Vec<String>, CliError> {
    let mut names = Vec::new();
    let mut pages = ecs
        .list_services()
        .cluster(cluster)
        .max_results(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk("ListServices", e))?;
        names.extend(page.service_arns().iter().map(|a| short(a).to_owned()));
    }
    names.sort();
    Ok(names)
}

pub fn render(s: &Status) -> String {
    let mut out = format!(
        "{}/{} runs {} since {}\n",
        s.cluster,
        s.service,
        short(&s.task_definition),
        s.since.as_deref().unwrap_or("?")
    );
    for d in &s.deployments {
        out.push_str(&format!(
            "  deployment {} {}{} {}/{} running\n",
            short(&d.task_definition),
            d.status,
            d.rollout_state
                .as_deref()
                .map(|r| format!(" {r}"))
                .unwrap_or_default(),
            d.running,
            d.desired
        ));
    }
    for r in &s.running {
        // An image pinned by digest already names it.
        let digest = match r.digest.as_deref() {
            Some(d) if r.image.ends_with(&format!("@{d}")) => String::new(),
            Some(d) => format!(" digest {d}"),
            None => " digest unknown".into(),
        };
        out.push_str(&format!(
            "  {} container {}: {}{digest} ({} task(s))\n",
            short(&r.task_definition),
            r.container,
            r.image,
            r.tasks
        ));
    }
    match &s.last_deployment {
        Some(r) => out.push_str(&format!(
            "last berth deployment: {} {} ({} by {}, {:.1}s)\n  execution {}\n{}",
            r.outcome,
            progress::short_image(&r.image),
            r.started_at,
            r.trigger.label(),
            r.duration_seconds,
            r.execution_arn,
            if r.cause.is_empty() {
                String::new()
            } else {
                format!("  {}\n", r.cause)
            }
        )),
        None => out.push_str("no berth deployment of this service yet\n"),
    }
    out
}

#[cfg(test)]
mod tests;
