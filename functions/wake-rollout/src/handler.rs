//! Which execution waits for the service an ECS event names, and its check.

use aws_sdk_sfn::types::ExecutionStatus;
use berth::children;
use berth::error::{Error, Result};
use berth::time::DateTime;
use berth::watch::{waiting_payload, HISTORY_LOOKBACK};
use serde::Serialize;
use serde_json::Value;

/// The variable naming the service state machine whose executions wait for rollouts.
pub const MACHINE_VARIABLE: &str = "BERTH_SERVICE_STATE_MACHINE_ARN";

/// What one event did: the service it named and, per execution waiting for it, the check's
/// status.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Woken {
    pub service: String,
    pub event: String,
    pub checked: Vec<Checked>,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Checked {
    pub execution: String,
    pub status: String,
}

/// The service (ARN) and what happened, from the two events the template routes here: "ECS
/// Deployment State Change" (the service in `resources`, `detail.eventName`) and "ECS Task State
/// Change" for a service's stopped task (`detail.group` = `service:<name>` in `detail.clusterArn`:
/// tasks failing ELB health checks stop without any deployment state change).
pub fn service_of(event: &Value) -> Result<(String, String)> {
    let refused = || {
        Error::invalid_input(
            "wake-rollout: the event names no ECS service (resources, or a task's detail.group and detail.clusterArn)",
        )
    };
    if event["detail-type"] == "ECS Task State Change" {
        let d = &event["detail"];
        let name = d["group"]
            .as_str()
            .and_then(|g| g.strip_prefix("service:"))
            .ok_or_else(refused)?;
        let cluster = d["clusterArn"]
            .as_str()
            .filter(|c| c.contains(":cluster/"))
            .ok_or_else(refused)?;
        let service = format!("{}/{name}", cluster.replacen(":cluster/", ":service/", 1));
        let what = format!("task {}", d["lastStatus"].as_str().unwrap_or("?"));
        return Ok((service, what));
    }
    let service = event["resources"]
        .as_array()
        .and_then(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .find(|r| r.contains(":service/"))
        })
        .ok_or_else(refused)?;
    let name = event["detail"]["eventName"].as_str().unwrap_or("?");
    Ok((service.to_owned(), name.to_owned()))
}

/// Whether a watch payload is for the service the event names (`arn:…:service/<cluster>/<name>`):
/// the child's name matched by a digest only.
pub fn same_service(payload: &Value, service_arn: &str) -> bool {
    let last = |s: &str| s.rsplit('/').next().unwrap_or(s).to_owned();
    let mut parts = service_arn.rsplit('/');
    let (name, cluster) = (parts.next(), parts.next());
    let matches = |field: &str, want: Option<&str>| match (payload[field].as_str(), want) {
        (Some(have), Some(want)) => last(have) == want,
        // an old-format service ARN names no cluster
        (Some(_), None) => field == "cluster",
        _ => false,
    };
    matches("service", name) && matches("cluster", cluster.filter(|c| !c.contains(':')))
}

pub async fn run(
    aws: &check_stability::Aws<'_>,
    sfn: &aws_sdk_sfn::Client,
    machine: &str,
    payload: Value,
    now: DateTime,
) -> Result<Woken> {
    let (service, event) = service_of(&payload)?;
    if machine.is_empty() {
        return Err(Error::invalid_input(format!(
            "{MACHINE_VARIABLE} is not set: wake-rollout cannot find the executions to wake"
        )));
    }
    let mut checked = vec![];
    for execution in waiting_children(sfn, machine, &service).await? {
        let history = sfn
            .get_execution_history()
            .execution_arn(&execution)
            .reverse_order(true)
            .max_results(HISTORY_LOOKBACK)
            .send()
            .await
            .map_err(|e| Error::from_sdk("GetExecutionHistory", e))?;
        let Some(watch) = waiting_payload(history.events()) else {
            continue;
        };
        if !same_service(&watch, &service) {
            continue;
        }
        let result = check_stability::watch(aws, sfn, watch, now).await?;
        let status = serde_json::to_value(result.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        checked.push(Checked { execution, status });
    }
    tracing::info!(%service, %event, checked = checked.len(), "woken");
    Ok(Woken {
        service,
        event,
        checked,
    })
}

/// The running child executions whose name says they deploy `service`.
async fn waiting_children(
    sfn: &aws_sdk_sfn::Client,
    machine: &str,
    service: &str,
) -> Result<Vec<String>> {
    let mut found = vec![];
    let mut pages = sfn
        .list_executions()
        .state_machine_arn(machine)
        .status_filter(ExecutionStatus::Running)
        .max_results(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::from_sdk("ListExecutions", e))?;
        found.extend(
            page.executions()
                .iter()
                .filter(|e| children::deploys(e.name(), service))
                .map(|e| e.execution_arn().to_owned()),
        );
    }
    Ok(found)
}

#[cfg(test)]
mod tests;
