//! A service's berth deployments, newest first: from the state machine's executions, their input
//! (an ECR push or a request by hand) and the Map's results in their history.

use aws_sdk_sfn::Client;
use berth::ecr;
use serde::Serialize;
use serde_json::Value;

use crate::error::{sdk, CliError};
use crate::follow::{self, outcomes, rfc3339, round1};
use crate::progress::{self, Event};
use crate::revisions::BerthRevision;

/// How an execution was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// An ECR push event (start-deployment, or the event replayed by hand).
    Push,
    /// A console request (the console, the CLI, `aws stepfunctions start-execution`).
    Hand,
    /// A console request naming an existing revision (`taskDefinition`, as `berth rollback`
    /// sends it): a rollback by hand.
    Rollback,
    /// Known only from the revision berth registered: the execution is no longer listed.
    Unknown,
}

impl Trigger {
    pub fn label(self) -> &'static str {
        match self {
            Trigger::Push => "push",
            Trigger::Hand => "hand",
            Trigger::Rollback => "rollback",
            Trigger::Unknown => "?",
        }
    }
}

/// What an execution's input asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub trigger: Trigger,
    pub image: String,
    /// The service a request names; a push names none (Plan finds them).
    pub target: Option<(String, String)>,
    /// The revision a rollback by hand deploys as it is.
    pub revision: Option<String>,
}

/// Read an execution's input: an ECR Image Action event or a console request (even an invalid
/// one: a refused request is part of the history too).
pub fn read_input(input: &str) -> Input {
    let v: Value = serde_json::from_str(input).unwrap_or(Value::Null);
    if ecr::is_event(&v) {
        let d = v.get("detail");
        let get = |k: &str| {
            d.and_then(|d| d.get(k))
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        let tag = get("image-tag");
        let image = format!(
            "{}{}@{}",
            get("repository-name"),
            if tag.is_empty() {
                String::new()
            } else {
                format!(":{tag}")
            },
            get("image-digest")
        );
        return Input {
            trigger: Trigger::Push,
            image,
            target: None,
            revision: None,
        };
    }
    let get = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    // A rollback by hand names a revision, not an image: the row shows the revision.
    let (trigger, image) = match (get("image"), get("taskDefinition")) {
        (None, Some(td)) => (Trigger::Rollback, progress::short(&td).to_owned()),
        (image, _) => (Trigger::Hand, image.unwrap_or_default()),
    };
    Input {
        trigger,
        image,
        target: get("cluster").zip(get("service")),
        revision: get("taskDefinition"),
    }
}

/// The (cluster, service) pairs Plan listed.
pub fn plan_targets(events: &[Event]) -> Vec<(String, String)> {
    events
        .iter()
        .find_map(|e| {
            let d = e.state_exited_event_details.as_ref()?;
            if d.name != "Plan" {
                return None;
            }
            let out: Value = serde_json::from_str(d.output.as_deref()?).ok()?;
            let list = out.get("plan")?.get("deployments")?.as_array()?.clone();
            Some(
                list.iter()
                    .filter_map(|d| {
                        let s = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_owned);
                        s("cluster").zip(s("service"))
                    })
                    .collect(),
            )
        })
        .unwrap_or_default()
}

/// One deployment of the service.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub execution_arn: String,
    pub name: String,
    pub started_at: String,
    pub trigger: Trigger,
    pub image: String,
    /// The service's outcome (`DEPLOYED`, `ROLLED_BACK`, ...), or the execution's status when it
    /// has none (`RUNNING`, `ABORTED`, or `NOT_STARTED` when Plan refused the request).
    pub outcome: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub cause: String,
    pub duration_seconds: f64,
    /// The revision berth registered for this deployment (its `berth:deployment-id` tag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The revision the service ran before it (its `berth:previous-task-definition` tag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_revision: Option<String>,
}

/// Outcome of a deployment known only from its revision's tags.
pub const EXPIRED: &str = "EXPIRED";

/// Join the rows (from the executions) with the revisions berth registered (from their tags):
/// each row gains its revision and the one it replaced; when the executions did not fill the
/// history, revisions whose execution is no longer listed (Step Functions lists closed
/// executions for 90 days) become rows of their own. Newest first, at most `limit`.
pub fn with_revisions(mut rows: Vec<Row>, revisions: &[BerthRevision], limit: usize) -> Vec<Row> {
    let full = rows.len() >= limit;
    for rev in revisions {
        match rows.iter_mut().find(|r| r.name == rev.execution_name()) {
            Some(row) => {
                row.revision = Some(rev.task_definition.clone());
                row.previous_revision = rev.previous.clone();
            }
            None if !full => rows.push(Row {
                execution_arn: String::new(),
                name: rev.execution_name().to_owned(),
                started_at: rev.registered_at.clone().unwrap_or_default(),
                trigger: Trigger::Unknown,
                image: rev
                    .images
                    .first()
                    .and_then(|i| i.split_once('='))
                    .map(|(_, image)| image.to_owned())
                    .unwrap_or_default(),
                outcome: EXPIRED.into(),
                status: EXPIRED.into(),
                error: None,
                cause: format!(
                    "execution {} no longer listed; berth registered {} for it{}",
                    rev.execution_name(),
                    progress::short(&rev.task_definition),
                    rev.previous
                        .as_deref()
                        .map(|p| format!(", replacing {}", progress::short(p)))
                        .unwrap_or_default()
                ),
                duration_seconds: 0.0,
                revision: Some(rev.task_definition.clone()),
                previous_revision: rev.previous.clone(),
            }),
            None => {}
        }
    }
    // RFC 3339 in one format sorts as time does.
    rows.sort_by(|a, b| b.started_at.cmp(&a.started_at));
    rows.truncate(limit);
    rows
}

/// The row of one execution for `cluster`/`service`, or `None` when it is not about that service.
pub fn row(cluster: &str, service: &str, exec: &ExecutionFacts, events: &[Event]) -> Option<Row> {
    let input = read_input(&exec.input);
    let results = outcomes(events, exec.output.as_deref());
    let mine = |c: &str, s: &str| c == cluster && s == service;
    let result = results.iter().find(|r| mine(&r.cluster, &r.service));
    let about = match &input.target {
        Some((c, s)) => mine(c, s),
        None => result.is_some() || plan_targets(events).iter().any(|(c, s)| mine(c, s)),
    };
    if !about {
        return None;
    }
    let outcome = match result {
        Some(r) => progress::wire(&r.outcome),
        None if exec.status == "FAILED" => "NOT_STARTED".into(),
        None => exec.status.clone(),
    };
    let cause = exec
        .cause
        .clone()
        .unwrap_or_else(|| summary_cause(exec.output.as_deref()));
    let end = exec.stopped.unwrap_or(exec.now);
    Some(Row {
        execution_arn: exec.arn.clone(),
        name: exec.name.clone(),
        started_at: rfc3339(exec.started),
        trigger: input.trigger,
        image: input.image,
        outcome,
        status: exec.status.clone(),
        error: exec.error.clone(),
        cause,
        duration_seconds: round1(end - exec.started),
        // A rollback by hand registers nothing: its revision is the one it names.
        revision: input.revision,
        previous_revision: None,
    })
}

fn summary_cause(output: Option<&str>) -> String {
    output
        .and_then(|o| serde_json::from_str::<Value>(o).ok())
        .and_then(|v| v.get("summary")?.get("cause")?.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// What DescribeExecution says of an execution, in plain values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionFacts {
    pub arn: String,
    pub name: String,
    pub status: String,
    pub input: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub started: f64,
    pub stopped: Option<f64>,
    /// When it was read (the duration of a running execution).
    pub now: f64,
}

pub async fn describe(sfn: &Client, arn: &str) -> Result<ExecutionFacts, CliError> {
    let d = sfn
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| sdk("DescribeExecution", e))?;
    Ok(ExecutionFacts {
        arn: arn.to_owned(),
        name: d.name().unwrap_or_default().to_owned(),
        status: d.status().as_str().to_owned(),
        input: d.input().unwrap_or("null").to_owned(),
        output: d.output().map(str::to_owned),
        error: d.error().map(str::to_owned),
        cause: d.cause().map(str::to_owned),
        started: progress::seconds(d.start_date()),
        stopped: d.stop_date().map(progress::seconds),
        now: progress::seconds(&berth::time::now()),
    })
}

/// Executions of the state machine scanned at most, newest first.
pub const SCAN: usize = 1000;

/// The service's deployments, newest first, at most `limit`.
pub async fn history(
    sfn: &Client,
    state_machine: &str,
    cluster: &str,
    service: &str,
    limit: usize,
) -> Result<Vec<Row>, CliError> {
    let mut listed: Vec<(f64, String)> = Vec::new();
    let mut pages = sfn
        .list_executions()
        .state_machine_arn(state_machine)
        .max_results(1000)
        .into_paginator()
        .send();
    while listed.len() < SCAN {
        let Some(page) = pages.next().await else {
            break;
        };
        let page = page.map_err(|e| sdk("ListExecutions", e))?;
        listed.extend(page.executions().iter().map(|e| {
            (
                progress::seconds(e.start_date()),
                e.execution_arn().to_owned(),
            )
        }));
    }
    // Newest first, whatever order the listing came in; ties by ARN, so the order is stable.
    listed.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    let mut rows = Vec::new();
    for (_, arn) in listed.into_iter().take(SCAN) {
        if rows.len() >= limit {
            break;
        }
        let facts = describe(sfn, &arn).await?;
        // A request by hand names its service: no need to read the history of another's.
        if let Some((c, s)) = read_input(&facts.input).target {
            if c != cluster || s != service {
                continue;
            }
        }
        let events = follow::history(sfn, &arn).await?;
        if let Some(r) = row(cluster, service, &facts, &events) {
            rows.push(r);
        }
    }
    Ok(rows)
}

/// The rows as a table for a person.
pub fn render(rows: &[Row]) -> String {
    if rows.is_empty() {
        return "no berth deployments of this service\n".into();
    }
    let mut out = format!(
        "{:<20}  {:<8}  {:<13}  {:>8}  {:<12}  {:<40}  {}\n",
        "STARTED", "BY", "OUTCOME", "DURATION", "REVISION", "IMAGE", "CAUSE"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<20}  {:<8}  {:<13}  {:>7.1}s  {:<12}  {:<40}  {}\n",
            r.started_at,
            r.trigger.label(),
            r.outcome,
            r.duration_seconds,
            r.revision.as_deref().map(progress::short).unwrap_or("-"),
            progress::cut(&progress::short_image(&r.image), 40),
            progress::cut(&r.cause, 160)
        ));
    }
    out
}

#[cfg(test)]
mod tests;
