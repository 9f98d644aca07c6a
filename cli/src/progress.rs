//! One line per state a person wants to follow, from an execution's history events: a pure
//! function over the events as GetExecutionHistory returns them (its JSON shape).

use aws_sdk_sfn::types::HistoryEvent;
use berth::model::{
    ApprovalAnswer, CanaryResult, Plan, Registration, RollbackResult, Rollout, Stability, Summary,
    Turn,
};
use serde::Deserialize;
use serde_json::Value;

/// A history event, as GetExecutionHistory's JSON spells it (only what the lines need).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    /// Seconds since the epoch.
    pub timestamp: f64,
    #[serde(default)]
    pub state_exited_event_details: Option<StateExited>,
    #[serde(default)]
    pub task_failed_event_details: Option<Failure>,
    #[serde(default)]
    pub lambda_function_failed_event_details: Option<Failure>,
    #[serde(default)]
    pub execution_failed_event_details: Option<Failure>,
    /// A task's resolved parameters: the approval gate's carry its task token.
    #[serde(default)]
    pub task_scheduled_event_details: Option<Scheduled>,
    /// What a started task answered: DeployService's names the service execution it started.
    #[serde(default)]
    pub task_submitted_event_details: Option<Submitted>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Submitted {
    #[serde(default)]
    pub resource: String,
    #[serde(default)]
    pub output: Option<String>,
}

impl Event {
    /// The service execution a DeployService state started (`startExecution`'s `ExecutionArn`).
    pub fn started_execution(&self) -> Option<String> {
        let d = self.task_submitted_event_details.as_ref()?;
        if !d.resource.starts_with("startExecution") {
            return None;
        }
        let out: serde_json::Value = serde_json::from_str(d.output.as_deref()?).ok()?;
        out.get("ExecutionArn")?.as_str().map(str::to_owned)
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Scheduled {
    #[serde(default)]
    pub resource: String,
    #[serde(default)]
    pub parameters: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct StateExited {
    pub name: String,
    #[serde(default)]
    pub output: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Failure {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
}

/// The state that ends each service's iteration, with the Map's results.
pub const MAP_STATE: &str = "DeployEachService";

impl From<&HistoryEvent> for Event {
    fn from(e: &HistoryEvent) -> Self {
        let failure = |error: Option<&str>, cause: Option<&str>| {
            Some(Failure {
                error: error.map(str::to_owned),
                cause: cause.map(str::to_owned),
            })
        };
        Event {
            kind: e.r#type().as_str().to_owned(),
            timestamp: seconds(e.timestamp()),
            state_exited_event_details: e.state_exited_event_details().map(|d| StateExited {
                name: d.name().to_owned(),
                output: d.output().map(str::to_owned),
            }),
            task_failed_event_details: e
                .task_failed_event_details()
                .and_then(|d| failure(d.error(), d.cause())),
            lambda_function_failed_event_details: e
                .lambda_function_failed_event_details()
                .and_then(|d| failure(d.error(), d.cause())),
            execution_failed_event_details: e
                .execution_failed_event_details()
                .and_then(|d| failure(d.error(), d.cause())),
            task_scheduled_event_details: e.task_scheduled_event_details().map(|d| Scheduled {
                resource: d.resource().to_owned(),
                parameters: Some(d.parameters().to_owned()),
            }),
            task_submitted_event_details: e.task_submitted_event_details().map(|d| Submitted {
                resource: d.resource().to_owned(),
                output: d.output().map(str::to_owned),
            }),
        }
    }
}

/// Seconds since the epoch, with the fraction.
pub fn seconds(t: &aws_smithy_types::DateTime) -> f64 {
    t.secs() as f64 + f64::from(t.subsec_nanos()) / 1e9
}

/// The line for one event, prefixed with the time since the execution started; `None` for the
/// events nobody needs to follow (entered states, waits, scheduled and started tasks).
pub fn line(event: &Event, started: f64) -> Option<String> {
    describe(event).map(|text| format!("[{:>6.1}s] {text}", (event.timestamp - started).max(0.0)))
}

/// What one event says, in one line.
pub fn describe(event: &Event) -> Option<String> {
    match event.kind.as_str() {
        "ExecutionSucceeded" => Some("execution SUCCEEDED".into()),
        "ExecutionAborted" => Some("execution ABORTED".into()),
        "ExecutionTimedOut" => Some("execution TIMED_OUT".into()),
        "ExecutionFailed" => {
            // The cause is the summary's (its own line) or the failed task's (the line before);
            // the result on stdout prints it in full.
            let d = event.execution_failed_event_details.as_ref();
            let error = d.and_then(|d| d.error.as_deref()).unwrap_or_default();
            Some(format!("execution FAILED {error}"))
        }
        "TaskFailed" | "LambdaFunctionFailed" => {
            let d = event
                .task_failed_event_details
                .as_ref()
                .or(event.lambda_function_failed_event_details.as_ref())?;
            Some(format!(
                "  ! {}: {}",
                d.error.as_deref().unwrap_or("?"),
                cut(&lambda_message(d.cause.as_deref().unwrap_or_default()), 300)
            ))
        }
        "TaskScheduled" => crate::approval::Gate::of(event).map(|g| g.waiting_line()),
        kind if kind.ends_with("StateExited") => {
            let d = event.state_exited_event_details.as_ref()?;
            let out: Value = serde_json::from_str(d.output.as_deref()?).ok()?;
            state(&d.name, &out)
        }
        _ => None,
    }
}

/// The message of a Lambda error's cause (`{"errorType", "errorMessage"}`), or the cause itself.
pub fn lambda_message(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|v| {
            v.get("errorMessage")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| cause.to_owned())
}

fn field<T: serde::de::DeserializeOwned>(out: &Value, key: &str) -> Option<T> {
    serde_json::from_value(out.get(key)?.clone()).ok()
}

/// The line for a state's output, by the state's name in the ASL.
fn state(name: &str, out: &Value) -> Option<String> {
    let svc = out.get("service").and_then(Value::as_str).unwrap_or("?");
    Some(match name {
        "Plan" => {
            let plan: Plan = field(out, "plan")?;
            match (&plan.skipped, plan.deployments.as_slice()) {
                (Some(why), _) => format!("plan: nothing to deploy: {why}"),
                (None, ds) => format!(
                    "plan ({}): {}",
                    plan.source,
                    ds.iter()
                        .map(|d| format!(
                            "{}/{} <- {}",
                            d.cluster,
                            d.service,
                            short_image(&d.image)
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        "CheckFreeze" => {
            let f: berth::gates::FreezeCheck = field(out, "freezeCheck")?;
            format!("{svc}: freeze {}: {}", wire(&f.decision), f.detail)
        }
        "CheckScan" => {
            let r: &Value = out.get("scanResult")?;
            let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("?").to_owned();
            match r.get("verdict")?.as_str()? {
                "wait" => format!(
                    "{svc}: image scan {}: looking again in {}s (waiting until {})",
                    text("status"),
                    r.get("retryAfterSeconds")
                        .and_then(Value::as_u64)
                        .unwrap_or(0),
                    text("until")
                ),
                verdict => format!("{svc}: image scan {verdict}: {}", text("reason")),
            }
        }
        "AcquireTurn" => {
            let t: Turn = field(out, "turn")?;
            format!("{svc}: turn {}: {}", wire(&t.decision), t.detail)
        }
        "AwaitApproval" => {
            let a: ApprovalAnswer = field(out, "approved")?;
            let why = a.reason.map(|r| format!(": {r}")).unwrap_or_default();
            format!("{svc}: approved by {}{why}", a.by)
        }
        "ApprovalTimedOut" => {
            let cause = out.get("error")?.get("Cause")?.as_str()?;
            format!("{svc}: not approved: {cause}")
        }
        "RegisterRevision" => {
            let r: Registration = field(out, "register")?;
            format!(
                "{svc}: {} {} running {} (previous {})",
                if r.existing {
                    "rollback by hand to"
                } else if r.reused {
                    "found"
                } else {
                    "registered"
                },
                short(&r.task_definition_arn),
                short_image(&r.image),
                short(&r.previous_task_definition_arn)
            )
        }
        "UpdateService" | "StartNewTasks" => {
            let u: Rollout = field(out, "update")?;
            format!(
                "{svc}: rollout of {} started ({}, {} task(s), deadline {})",
                short(&u.task_definition_arn),
                u.ecs_deployment_id,
                u.desired_count,
                u.deadline
            )
        }
        "JudgeMigration" => {
            let m: berth::migration::MigrationTask = field(out, "migrationTask")?;
            format!(
                "{svc}: migration task {} passed (exit 0){}",
                m.task_arn
                    .as_deref()
                    .map(|a| a.rsplit('/').next().unwrap_or(a))
                    .unwrap_or("?"),
                m.logs
                    .map(|l| format!("; its output: {l}"))
                    .unwrap_or_default()
            )
        }
        "RecordDesiredCount" => {
            let st: berth::stop_start::Stopping = field(out, "stopping")?;
            format!(
                "{svc}: stop-then-start: {} task(s) of {} recorded; scaling to 0",
                st.desired_count,
                short(&st.task_definition_arn)
            )
        }
        "StopOldTasks" | "StopFailedTasks" => {
            let (st, what): (berth::stop_start::Stopping, &str) = if name == "StopOldTasks" {
                (field(out, "stopping")?, "the old revision's")
            } else {
                (field(out, "rollbackStop")?, "the new revision's")
            };
            if st.drained {
                format!(
                    "{svc}: stop-then-start: no task of the service runs ({what} tasks stopped)"
                )
            } else {
                format!(
                    "{svc}: stop-then-start: {} of {what} task(s) may still run; waiting until {}",
                    st.running, st.deadline
                )
            }
        }
        "RolloutUnanswered" | "RollbackUnanswered" => {
            let u: berth::model::Unanswered = field(out, "unanswered")?;
            let (what, rollout) = if name == "RolloutUnanswered" {
                ("rollout", out.get("update")?)
            } else {
                ("rollback", out.get("rollback")?.get("rollout")?)
            };
            format!(
                "{svc}: the {what}'s check could not be made ({}: {}); looking again until its deadline {}",
                u.error.error,
                cut(&lambda_message(&u.error.cause), 300),
                rollout.get("deadline")?.as_str()?
            )
        }
        "WatchRollout" => stability(svc, "rollout", &field(out, "stability")?),
        "WatchRollback" => stability(svc, "rollback", &field(out, "rollbackStability")?),
        "EvaluateCanary" | "EvaluateShift" => {
            let c: CanaryResult = field(out, "canaryResult")?;
            // A metric compared with the baseline shows its classification, p-value and shift.
            let checks: Vec<String> = c
                .checks
                .iter()
                .map(|k| match &k.analysis {
                    Some(a) => format!(
                        "{} {}{}{}{}",
                        k.name,
                        wire(&a.classification),
                        if a.dry_run { " (dry run)" } else { "" },
                        a.p_value.map(|p| format!(" p={p:.4}")).unwrap_or_default(),
                        match (a.relative_shift, a.shift) {
                            (Some(r), _) => format!(" {:+.1}%", r * 100.0),
                            (None, Some(d)) => format!(" {d:+}"),
                            _ => String::new(),
                        }
                    ),
                    None => format!("{} {}", k.name, wire(&k.verdict)),
                })
                .collect();
            let score = c
                .analysis
                .as_ref()
                .map(|a| {
                    format!(
                        ", analysis {}{}",
                        wire(&a.outcome),
                        a.score
                            .map(|s| format!(" score {s:.0}/{:.0}", a.pass_score))
                            .unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            format!(
                "{svc}: canary {} -> {} (evaluation {}, bake ends {}{score}){}: {}",
                wire(&c.verdict),
                wire(&c.decision),
                c.evaluations,
                c.bake_ends_at,
                if checks.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", checks.join(", "))
                },
                cut(&c.detail, 200)
            )
        }
        "Rollback" => {
            let r: RollbackResult = field(out, "rollback")?;
            format!(
                "{svc}: ROLLBACK to {}: {}",
                short(&r.task_definition_arn),
                r.detail
            )
        }
        "Deployed" | "Superseded" | "NotStarted" | "RolledBack" | "RollbackFailed" => {
            format!("{svc}: {}", out.get("outcome").and_then(Value::as_str)?)
        }
        "Summarize" => {
            let s: Summary = field(out, "summary")?;
            format!("summary {}: {}", wire(&s.status), s.cause)
        }
        _ => return None,
    })
}

fn stability(svc: &str, what: &str, s: &Stability) -> String {
    let reason = s
        .reason
        .map(|r| format!(" ({})", wire(&r)))
        .unwrap_or_default();
    format!(
        "{svc}: {what} {}{reason}: {}/{} running, {} pending, {} failed, {} unhealthy: {}",
        wire(&s.status),
        s.running_count,
        s.desired_count,
        s.pending_count,
        s.failed_tasks,
        s.unhealthy_tasks,
        cut(&s.detail, 300)
    )
}

/// A document enum as the documents spell it (`IN_PROGRESS`, `HealthChecksFailing`).
pub fn wire<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => "?".into(),
    }
}

/// `web:7` from a task-definition ARN; anything else as it is.
pub fn short(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// An image reference without its registry, its digest cut to 12 hex digits.
pub fn short_image(image: &str) -> String {
    let name = image.split_once('/').map(|(host, rest)| {
        if host.contains('.') || host.contains(':') {
            rest
        } else {
            image
        }
    });
    let name = name.unwrap_or(image);
    match name.split_once("@sha256:") {
        Some((repo, hex)) => format!("{repo}@sha256:{}", &hex[..hex.len().min(12)]),
        None => name.to_owned(),
    }
}

/// At most `max` characters, with an ellipsis when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests;
