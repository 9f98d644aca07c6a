//! `berth approve` / `berth reject`: answer a deployment's approval gate, the `AwaitApproval`
//! state that waits with a task token before anything is registered or changed.
//!
//! The token is read from the execution's history: the gate's `TaskScheduled` event carries the
//! resolved parameters of its PutEvents call, whose event detail holds the token (in Step
//! Functions as in the local stand-in). A gate still waits while its state has not exited.

use aws_sdk_sfn::types::ExecutionStatus;
use aws_sdk_sfn::Client;
use berth::error::ErrorName;
use berth::model::ApprovalAnswer;
use serde::Serialize;
use serde_json::Value;

use crate::error::{sdk, CliError};
use crate::follow;
use crate::progress::Event;

/// The ASL state that waits for the answer.
pub const GATE_STATE: &str = "AwaitApproval";

/// One approval gate, as its event detail describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gate {
    /// The execution's ARN.
    pub execution: String,
    pub cluster: String,
    pub service: String,
    pub image: String,
    #[serde(skip)]
    pub task_token: String,
    pub timeout_seconds: u64,
    /// How to answer: `berth approve NAME | berth reject NAME`.
    pub answer: String,
}

impl Gate {
    /// The gate a `TaskScheduled` event schedules, if it is one (its PutEvents entry's detail has
    /// phase `AWAITING_APPROVAL` and a task token).
    pub fn of(event: &Event) -> Option<Gate> {
        if event.kind != "TaskScheduled" {
            return None;
        }
        let d = event.task_scheduled_event_details.as_ref()?;
        if !d.resource.contains("waitForTaskToken") {
            return None;
        }
        let params: Value = serde_json::from_str(d.parameters.as_deref()?).ok()?;
        let detail = params.get("Entries")?.as_array()?.first()?.get("Detail")?;
        // The integration sends Detail as a string; the parameters may show either form.
        let detail: Value = match detail {
            Value::String(s) => serde_json::from_str(s).ok()?,
            other => other.clone(),
        };
        if detail.get("phase")?.as_str()? != "AWAITING_APPROVAL" {
            return None;
        }
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let approval = detail.get("approval")?;
        let task_token = s(approval, "taskToken");
        if task_token.is_empty() {
            return None;
        }
        Some(Gate {
            execution: s(&detail, "execution"),
            cluster: s(&detail, "cluster"),
            service: s(&detail, "service"),
            image: s(&detail, "image"),
            task_token,
            timeout_seconds: approval
                .get("timeoutSeconds")
                .and_then(Value::as_u64)
                .unwrap_or_default(),
            answer: s(approval, "answer"),
        })
    }

    /// The progress line while it waits.
    pub fn waiting_line(&self) -> String {
        format!(
            "{}: waiting for approval (up to {}s): {}",
            self.service, self.timeout_seconds, self.answer
        )
    }

    fn is(&self, cluster: &str, service: &str) -> bool {
        short(&self.cluster) == short(cluster) && self.service == service
    }
}

fn short(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// The gates of an execution's history that still wait: scheduled, and their state not exited
/// for that service (a service passes its gate at most once per execution).
pub fn waiting(events: &[Event]) -> Vec<Gate> {
    let exited: Vec<(String, String)> = events
        .iter()
        .filter_map(|e| {
            let d = e.state_exited_event_details.as_ref()?;
            if d.name != GATE_STATE {
                return None;
            }
            let out: Value = serde_json::from_str(d.output.as_deref()?).ok()?;
            let s = |k: &str| out.get(k).and_then(Value::as_str).map(str::to_owned);
            s("cluster").zip(s("service"))
        })
        .collect();
    events
        .iter()
        .filter_map(Gate::of)
        .filter(|g| !exited.iter().any(|(c, s)| g.is(c, s)))
        .collect()
}

/// The gates waiting in one execution; an execution that no longer runs has none.
pub async fn waiting_in(sfn: &Client, execution_arn: &str) -> Result<Vec<Gate>, CliError> {
    let desc = sfn
        .describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .map_err(|e| sdk("DescribeExecution", e))?;
    if *desc.status() != ExecutionStatus::Running {
        return Ok(vec![]);
    }
    let mut gates = waiting(&follow::history(sfn, execution_arn).await?);
    for g in &mut gates {
        if g.execution.is_empty() {
            g.execution = execution_arn.to_owned();
        }
    }
    Ok(gates)
}

/// The gates waiting for a service: in every running execution of the state machine.
pub async fn waiting_for(
    sfn: &Client,
    state_machine: &str,
    cluster: &str,
    service: &str,
) -> Result<Vec<Gate>, CliError> {
    let mut pages = sfn
        .list_executions()
        .state_machine_arn(state_machine)
        .status_filter(ExecutionStatus::Running)
        .into_paginator()
        .send();
    let mut gates = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk("ListExecutions", e))?;
        for e in page.executions() {
            gates.extend(
                waiting_in(sfn, e.execution_arn())
                    .await?
                    .into_iter()
                    .filter(|g| g.is(cluster, service)),
            );
        }
    }
    Ok(gates)
}

/// Approve (`SendTaskSuccess`) or reject (`SendTaskFailure` with `NotApproved`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approved,
    Rejected,
}

/// One gate answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Answered {
    pub decision: Decision,
    #[serde(flatten)]
    pub gate: Gate,
    pub by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The cause a rejection gives the execution: who, and why.
pub fn rejection_cause(by: &str, reason: Option<&str>) -> String {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => format!("rejected by {by}: {r}"),
        None => format!("rejected by {by}"),
    }
}

/// Who answers: the operating-system user running the CLI (CloudTrail records the AWS identity).
pub fn who() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// Send the answer to one gate.
pub async fn answer(
    sfn: &Client,
    gate: &Gate,
    decision: Decision,
    by: &str,
    reason: Option<&str>,
) -> Result<Answered, CliError> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let what = format!("{}/{}", short(&gate.cluster), gate.service);
    let sent = match decision {
        Decision::Approved => {
            let output = ApprovalAnswer {
                by: by.to_owned(),
                reason: reason.map(str::to_owned),
                at: berth::time::format(berth::time::now()),
            };
            sfn.send_task_success()
                .task_token(&gate.task_token)
                .output(serde_json::to_string(&output).unwrap_or_else(|_| "{}".into()))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| gone(sdk("SendTaskSuccess", e), &what))
        }
        Decision::Rejected => sfn
            .send_task_failure()
            .task_token(&gate.task_token)
            .error(ErrorName::NotApproved.as_str())
            .cause(rejection_cause(by, reason))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| gone(sdk("SendTaskFailure", e), &what)),
    };
    sent?;
    Ok(Answered {
        decision,
        gate: gate.clone(),
        by: by.to_owned(),
        reason: reason.map(str::to_owned),
    })
}

/// A token Step Functions no longer knows: the gate was answered or timed out meanwhile.
fn gone(mut e: CliError, what: &str) -> CliError {
    if ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"]
        .iter()
        .any(|code| e.message.contains(&format!(": {code}:")))
    {
        e.message = format!(
            "{what}: the approval gate no longer waits (answered or timed out meanwhile): {}",
            e.message
        );
    }
    e
}

/// Reject every gate still waiting in one execution (for `berth abort`): the gates rejected, none
/// when nothing waited.
pub async fn reject_waiting(
    sfn: &Client,
    execution_arn: &str,
    by: &str,
    reason: Option<&str>,
) -> Result<Vec<Answered>, CliError> {
    let mut out = Vec::new();
    for gate in waiting_in(sfn, execution_arn).await? {
        out.push(answer(sfn, &gate, Decision::Rejected, by, reason).await?);
    }
    Ok(out)
}

/// The text `approve` and `reject` print, one line per gate.
pub fn render(answered: &[Answered]) -> String {
    answered
        .iter()
        .map(|a| {
            let name = short_execution(&a.gate.execution);
            let what = format!("{}/{}", short(&a.gate.cluster), a.gate.service);
            let why = a
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            match a.decision {
                Decision::Approved => format!(
                    "approved {what} <- {} by {}{why}; the deployment goes on: berth watch {name}\n",
                    a.gate.image, a.by
                ),
                Decision::Rejected => format!(
                    "rejected {what} <- {} by {}{why}; it ends NotApproved, nothing changed: berth watch {name}\n",
                    a.gate.image, a.by
                ),
            }
        })
        .collect()
}

fn short_execution(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

#[cfg(test)]
mod tests;
