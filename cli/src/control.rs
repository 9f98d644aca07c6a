//! `berth abort` and `berth promote`: put the `berth:control` tag on the service a running execution
//! deploys (the states that poll it obey it: `shared/src/control.rs`), follow the execution to its
//! end as `watch` does, then take the tag off again.
//!
//! An abort rolls back what the execution changed (or ends it NOT_STARTED when it changed nothing
//! yet; an approval gate it waits at is rejected); a promote ends the canary bake at its next
//! evaluation.

use std::time::Duration;

use aws_sdk_ecs::types::{Service, ServiceField, Tag};
use aws_sdk_sfn::types::ExecutionStatus;
use berth::control::{self, Action};
use berth::model::{DeploymentItem, Outcome, Plan};
use clap::Args;
use serde::Serialize;
use serde_json::Value;

use crate::cli::{Clients, Console, Format, WaitArgs};
use crate::error::{sdk, CliError};
use crate::exit::Exit;
use crate::follow::{self, Verdict, Waiting};
use crate::history::{self, ExecutionFacts};
use crate::locate;
use crate::progress::Event;

#[derive(Debug, Args)]
pub struct ControlArgs {
    /// The execution's ARN or its name under the state machine; with `--cluster`, a service (the
    /// running berth deployment of it).
    #[arg(value_name = "EXECUTION|SERVICE")]
    pub target: String,
    /// SERVICE is a service of this cluster.
    #[arg(long)]
    pub cluster: Option<String>,
    #[command(flatten)]
    pub waiting: WaitArgs,
}

/// How long to wait for Plan to list an execution's services (it runs first, in seconds).
const PLAN_WAIT: Duration = Duration::from_secs(60);

/// One service of the execution as Plan listed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Planned {
    pub cluster: String,
    pub service: String,
    /// Seconds between canary evaluations, when the deployment bakes.
    pub canary_interval_seconds: Option<u64>,
}

/// Plan's services, once Plan has exited (`None` before).
pub fn planned(events: &[Event]) -> Option<Vec<Planned>> {
    events.iter().find_map(|e| {
        let d = e.state_exited_event_details.as_ref()?;
        if d.name != "Plan" {
            return None;
        }
        let out: Value = serde_json::from_str(d.output.as_deref()?).ok()?;
        let plan: Plan = serde_json::from_value(out.get("plan")?.clone()).ok()?;
        Some(plan.deployments.iter().map(planned_of).collect())
    })
}

fn planned_of(d: &DeploymentItem) -> Planned {
    Planned {
        cluster: d.cluster.clone(),
        service: d.service.clone(),
        canary_interval_seconds: d.canary.as_ref().map(|c| c.interval_seconds),
    }
}

/// The execution a control is for, and the services it puts the tag on.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub execution_arn: String,
    pub name: String,
    pub services: Vec<Planned>,
    /// Later running executions of the same service (named by SERVICE): they wait for this one.
    pub later: Vec<String>,
}

/// Which services of the plan `action` is for: `only` (a service named on the command line), or
/// all of them; for a promote, only those that bake. An empty list is an error saying why.
pub fn choose(
    action: Action,
    name: &str,
    plan: &[Planned],
    only: Option<(&str, &str)>,
) -> Result<Vec<Planned>, CliError> {
    let mine: Vec<Planned> = plan
        .iter()
        .filter(|p| only.is_none_or(|(c, s)| p.cluster == c && p.service == s))
        .cloned()
        .collect();
    if mine.is_empty() {
        return Err(CliError::failed(format!(
            "nothing to {}: execution {name} deploys no service{}",
            action.as_str(),
            only.map(|(c, s)| format!(" {c}/{s}")).unwrap_or_default()
        )));
    }
    if action == Action::Promote {
        let baking: Vec<Planned> = mine
            .iter()
            .filter(|p| p.canary_interval_seconds.is_some())
            .cloned()
            .collect();
        if baking.is_empty() {
            return Err(CliError::failed(format!(
                "nothing to promote: execution {name} deploys {} without a canary bake",
                list(&mine)
            )));
        }
        return Ok(baking);
    }
    Ok(mine)
}

fn list(services: &[Planned]) -> String {
    services
        .iter()
        .map(|p| format!("{}/{}", p.cluster, p.service))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What `abort` / `promote` print (`--output json`) besides the progress lines.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub action: &'static str,
    pub execution_arn: String,
    /// `cluster/service` of every service tagged.
    pub tagged: Vec<String>,
    /// Approval gates rejected because the execution was aborted while it waited at one.
    pub rejected_gates: usize,
    /// False when the CLI stopped waiting: the tag stays until the execution ends.
    pub tag_removed: bool,
    pub verdict: Verdict,
}

pub async fn run(
    action: Action,
    args: &ControlArgs,
    state_machine: &str,
    aws: &Clients,
    output: Format,
    out: &mut dyn Console,
) -> Result<Exit, CliError> {
    let waiting = Waiting {
        poll: Duration::from_secs_f64(args.waiting.refresh_seconds.clamp(0.1, 60.0)),
        max_wait: args.waiting.max_wait_seconds.map(Duration::from_secs),
    };
    let target = find(action, args, state_machine, aws, waiting.poll).await?;
    if !target.later.is_empty() {
        out.progress(&format!(
            "{} also wait(s) to deploy {}; this {} is for {} only (give an execution by name for another)",
            target.later.join(", "),
            list(&target.services),
            action.as_str(),
            target.name
        ));
    }
    let mut tagged = Vec::new();
    for p in &target.services {
        let value = control::value(action, &target.name).map_err(CliError::failed)?;
        let service = describe(&aws.ecs, &p.cluster, &p.service).await?;
        let arn = service.service_arn().unwrap_or_default();
        aws.ecs
            .tag_resource()
            .resource_arn(arn)
            .tags(Tag::builder().key(control::TAG).value(&value).build())
            .send()
            .await
            .map_err(|e| sdk(&format!("TagResource {}/{}", p.cluster, p.service), e))?;
        out.progress(&match (action, p.canary_interval_seconds) {
            (Action::Abort, _) => format!(
                "{}/{}: tagged {}={value}: at its next poll it rolls back what it changed (NOT_STARTED if it changed nothing yet)",
                p.cluster, p.service, control::TAG
            ),
            (Action::Promote, interval) => format!(
                "{}/{}: tagged {}={value}: the canary bake ends at its next evaluation (every {}s)",
                p.cluster,
                p.service,
                control::TAG,
                interval.unwrap_or_default()
            ),
        });
        tagged.push((p.clone(), value));
    }
    let mut rejected_gates = 0;
    if action == Action::Abort {
        let rejected = crate::approval::reject_waiting(
            &aws.sfn,
            &target.execution_arn,
            &crate::approval::who(),
            Some(control::ABORTED),
        )
        .await?;
        for r in &rejected {
            out.progress(&format!(
                "{}/{}: its approval gate was rejected ({})",
                r.gate.cluster,
                r.gate.service,
                control::ABORTED
            ));
        }
        rejected_gates = rejected.len();
        for service in
            crate::wake::wake_waiting(&aws.sfn, &target.execution_arn, "berth abort").await?
        {
            out.progress(&format!(
                "{service}: its rollout watch was woken: it checks the abort now"
            ));
        }
    }
    out.progress(&format!("following {}", target.execution_arn));
    let verdict = follow::follow(&aws.sfn, &target.execution_arn, waiting, |l| {
        out.progress(l)
    })
    .await?;
    let over = verdict.status != ExecutionStatus::Running.as_str();
    if over {
        for (p, value) in &tagged {
            remove(&aws.ecs, p, value).await?;
        }
        if action == Action::Abort
            && verdict
                .services
                .iter()
                .any(|s| s.outcome == Outcome::Deployed)
        {
            out.progress("the abort came too late: the deployment had already ended DEPLOYED");
        }
    } else {
        out.progress(&format!(
            "stopped waiting; the execution goes on and the {} tag stays until it ends (no other execution obeys it): berth watch {}",
            control::TAG,
            target.execution_arn
        ));
    }
    let exit = verdict.exit;
    let report = Report {
        action: action.as_str(),
        execution_arn: target.execution_arn.clone(),
        tagged: tagged
            .iter()
            .map(|(p, _)| format!("{}/{}", p.cluster, p.service))
            .collect(),
        rejected_gates,
        tag_removed: over,
        verdict,
    };
    out.result(&match output {
        Format::Text => follow::render(&report.verdict),
        Format::Json => {
            serde_json::to_string_pretty(&report)
                .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
                + "\n"
        }
    });
    Ok(exit)
}

/// The running execution and the services the control goes on.
async fn find(
    action: Action,
    args: &ControlArgs,
    state_machine: &str,
    aws: &Clients,
    poll: Duration,
) -> Result<Target, CliError> {
    match &args.cluster {
        None => {
            let arn = locate::execution_arn(state_machine, &args.target);
            let facts = history::describe(&aws.sfn, &arn).await?;
            let plan = plan_of(&aws.sfn, &facts, action, poll).await?;
            let services = choose(action, &facts.name, &plan, None)?;
            Ok(Target {
                execution_arn: arn,
                name: facts.name,
                services,
                later: vec![],
            })
        }
        Some(cluster) => {
            let service = args.target.as_str();
            let mut found: Vec<(ExecutionFacts, Vec<Planned>)> = Vec::new();
            for facts in running(&aws.sfn, state_machine).await? {
                if let Some((c, s)) = history::read_input(&facts.input).target {
                    if c != *cluster || s != service {
                        continue;
                    }
                }
                let plan = plan_of(&aws.sfn, &facts, action, poll).await?;
                if plan
                    .iter()
                    .any(|p| p.cluster == *cluster && p.service == service)
                {
                    found.push((facts, plan));
                }
            }
            // The earliest running execution is the one that has (or is next to get) the turn.
            found.sort_by(|a, b| a.0.started.total_cmp(&b.0.started));
            let mut found = found.into_iter();
            let Some((facts, plan)) = found.next() else {
                return Err(CliError::failed(format!(
                    "nothing to {}: no running berth deployment of {cluster}/{service}",
                    action.as_str()
                )));
            };
            let services = choose(action, &facts.name, &plan, Some((cluster, service)))?;
            Ok(Target {
                execution_arn: facts.arn.clone(),
                name: facts.name,
                services,
                later: found.map(|(f, _)| f.name).collect(),
            })
        }
    }
}

/// The state machine's RUNNING executions.
async fn running(
    sfn: &aws_sdk_sfn::Client,
    state_machine: &str,
) -> Result<Vec<ExecutionFacts>, CliError> {
    let mut arns = Vec::new();
    let mut pages = sfn
        .list_executions()
        .state_machine_arn(state_machine)
        .status_filter(ExecutionStatus::Running)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk("ListExecutions", e))?;
        arns.extend(
            page.executions()
                .iter()
                .map(|e| e.execution_arn().to_owned()),
        );
    }
    let mut out = Vec::new();
    for arn in arns {
        out.push(history::describe(sfn, &arn).await?);
    }
    Ok(out)
}

/// The services a running execution deploys, from Plan's output (waiting for Plan if it has not
/// exited yet). An execution that is not running has nothing to abort or promote.
async fn plan_of(
    sfn: &aws_sdk_sfn::Client,
    facts: &ExecutionFacts,
    action: Action,
    poll: Duration,
) -> Result<Vec<Planned>, CliError> {
    let begun = std::time::Instant::now();
    let mut status = facts.status.clone();
    loop {
        if status != ExecutionStatus::Running.as_str() {
            return Err(CliError::failed(format!(
                "nothing to {}: execution {} is {status}, not running",
                action.as_str(),
                facts.name
            )));
        }
        if let Some(plan) = planned(&follow::history(sfn, &facts.arn).await?) {
            return Ok(plan);
        }
        if begun.elapsed() >= PLAN_WAIT {
            return Err(CliError::failed(format!(
                "execution {} has not listed its services after {}s (Plan has not run)",
                facts.name,
                PLAN_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(poll).await;
        status = history::describe(sfn, &facts.arn).await?.status;
    }
}

/// DescribeServices with the service's tags.
async fn describe(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> Result<Service, CliError> {
    let out = ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .include(ServiceField::Tags)
        .send()
        .await
        .map_err(|e| sdk(&format!("DescribeServices {cluster}/{service}"), e))?;
    out.services()
        .iter()
        .find(|s| s.service_name() == Some(service))
        .cloned()
        .ok_or_else(|| CliError::failed(format!("service {cluster}/{service} not found")))
}

/// Take the control off the service once the execution has ended, unless someone has written
/// another one since.
async fn remove(ecs: &aws_sdk_ecs::Client, p: &Planned, value: &str) -> Result<(), CliError> {
    let service = describe(ecs, &p.cluster, &p.service).await?;
    if control::tag_of(&service) != Some(value) {
        return Ok(());
    }
    ecs.untag_resource()
        .resource_arn(service.service_arn().unwrap_or_default())
        .tag_keys(control::TAG)
        .send()
        .await
        .map_err(|e| sdk(&format!("UntagResource {}/{}", p.cluster, p.service), e))?;
    Ok(())
}

#[cfg(test)]
mod tests;
