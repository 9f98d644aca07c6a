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

/// The service machine's running executions as this Lambda instance last listed them, kept
/// between the invocations it serves. ECS sends several events per rollout (and one per stopped
/// task), and Step Functions refills only a few ListExecutions tokens a second per account: one
/// listing per event falls behind at a few hundred services. An event is answered from the
/// listing when it names a waiting execution; it lists again only when none waits and the listing
/// is older than the event, at most once a second.
#[derive(Default)]
pub struct Running {
    listing: std::sync::Mutex<Option<Listing>>,
}

#[derive(Clone)]
struct Listing {
    at: DateTime,
    /// (name, ARN)
    executions: Vec<(String, String)>,
}

/// How often one instance may list the running executions.
pub const RELIST_SECONDS: u64 = 1;

impl Running {
    fn current(&self) -> Option<Listing> {
        self.listing.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn store(&self, listing: Listing) {
        if let Ok(mut l) = self.listing.lock() {
            *l = Some(listing);
        }
    }
}

/// Whether a listing taken at `listed_at` can miss the execution an event at `event_at` is about:
/// an execution waits for its service's events only after it has started, so a listing taken
/// after the event holds it. Events carry whole seconds, so "after" means a second later.
pub fn stale_for(listed_at: Option<DateTime>, event_at: DateTime) -> bool {
    listed_at.is_none_or(|at| at.secs() < event_at.secs().saturating_add(1))
}

/// How long to wait before listing again, so that one instance lists at most once a second.
pub fn relist_after(listed_at: Option<DateTime>, now: DateTime) -> std::time::Duration {
    let wait = listed_at.map_or(0.0, |at| {
        at.as_secs_f64() + RELIST_SECONDS as f64 - now.as_secs_f64()
    });
    std::time::Duration::from_secs_f64(wait.clamp(0.0, RELIST_SECONDS as f64))
}

pub async fn run(
    aws: &check_stability::Aws<'_>,
    sfn: &aws_sdk_sfn::Client,
    machine: &str,
    running: &Running,
    payload: Value,
    now: DateTime,
) -> Result<Woken> {
    let (service, event) = service_of(&payload)?;
    if machine.is_empty() {
        return Err(Error::invalid_input(format!(
            "{MACHINE_VARIABLE} is not set: wake-rollout cannot find the executions to wake"
        )));
    }
    // EventBridge stamps every event; one without a time is taken as happening now.
    let event_at = payload["time"]
        .as_str()
        .and_then(|t| berth::time::parse("time", t).ok())
        .unwrap_or(now);
    let mut checked = vec![];
    let mut tried = vec![];
    let known = running.current();
    for execution in children_of(known.as_ref(), &service) {
        tried.push(execution.clone());
        if let Some(c) = wake(aws, sfn, &execution, &service, now).await? {
            checked.push(c);
        }
    }
    let listed = known.as_ref().map(|l| l.at);
    if checked.is_empty() && stale_for(listed, event_at) {
        tokio::time::sleep(relist_after(listed, berth::time::now())).await;
        let fresh = list_running(sfn, machine).await?;
        running.store(fresh.clone());
        for execution in children_of(Some(&fresh), &service) {
            if tried.contains(&execution) {
                continue;
            }
            if let Some(c) = wake(aws, sfn, &execution, &service, now).await? {
                checked.push(c);
            }
        }
    }
    tracing::info!(%service, %event, checked = checked.len(), "woken");
    Ok(Woken {
        service,
        event,
        checked,
    })
}

/// Checks `execution` if it waits in a watch state for `service`.
async fn wake(
    aws: &check_stability::Aws<'_>,
    sfn: &aws_sdk_sfn::Client,
    execution: &str,
    service: &str,
    now: DateTime,
) -> Result<Option<Checked>> {
    let history = sfn
        .get_execution_history()
        .execution_arn(execution)
        .reverse_order(true)
        .max_results(HISTORY_LOOKBACK)
        .send()
        .await
        .map_err(|e| Error::from_sdk("GetExecutionHistory", e))?;
    let Some(watch) = waiting_payload(history.events()) else {
        return Ok(None);
    };
    if !same_service(&watch, service) {
        return Ok(None);
    }
    let result = check_stability::watch(aws, sfn, watch, now).await?;
    let status = serde_json::to_value(result.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    Ok(Some(Checked {
        execution: execution.to_owned(),
        status,
    }))
}

/// The listed executions whose name says they deploy `service`.
fn children_of(listing: Option<&Listing>, service: &str) -> Vec<String> {
    listing
        .map(|l| {
            l.executions
                .iter()
                .filter(|(name, _)| children::deploys(name, service))
                .map(|(_, arn)| arn.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The service machine's running executions (every page).
async fn list_running(sfn: &aws_sdk_sfn::Client, machine: &str) -> Result<Listing> {
    let at = berth::time::now();
    let mut executions = vec![];
    let mut pages = sfn
        .list_executions()
        .state_machine_arn(machine)
        .status_filter(ExecutionStatus::Running)
        .max_results(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::from_sdk("ListExecutions", e))?;
        executions.extend(
            page.executions()
                .iter()
                .map(|e| (e.name().to_owned(), e.execution_arn().to_owned())),
        );
    }
    Ok(Listing { at, executions })
}

#[cfg(test)]
mod tests;
