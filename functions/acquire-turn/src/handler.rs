//! Decide from the state machine's RUNNING executions whether this one may deploy its service.

use aws_sdk_sfn::types::ExecutionStatus;
use aws_sdk_sfn::Client;
use berth::control::{self, Action};
use berth::ecs::describe_service;
use berth::error::{Error, ErrorName, Result};
use berth::events::{self, DeploymentEvent, Phase, Publisher};
use berth::model::{parse_input, require, DeploymentItem, Turn, TurnDecision};
use berth::time::{self, DateTime};
use berth::turn::{decide, RunningExecution};

pub async fn run(sfn: &Client, payload: serde_json::Value, now: DateTime) -> Result<Turn> {
    let item: DeploymentItem = parse_input("acquire-turn", payload)?;
    acquire(sfn, &item, now).await
}

/// [`run`], and on GO the deployment's STARTED event (once: WAIT polls announce nothing). A
/// failure to publish is logged and changes nothing.
pub async fn run_and_announce(
    sfn: &Client,
    publisher: &Publisher,
    payload: serde_json::Value,
    now: DateTime,
) -> Result<Turn> {
    let document = payload.clone();
    let turn = run(sfn, payload, now).await?;
    if turn.decision == TurnDecision::Go {
        let started = DeploymentEvent::from_document(Phase::Started, &document);
        events::announce(publisher, started.as_slice()).await;
    }
    Ok(turn)
}

/// The state's entry: first `berth abort` (the service's `berth:control`), which ends the
/// deployment NOT_STARTED before its turn, then [`run_and_announce`].
pub async fn run_controlled(
    sfn: &Client,
    ecs: &aws_sdk_ecs::Client,
    publisher: &Publisher,
    payload: serde_json::Value,
    now: DateTime,
) -> Result<Turn> {
    let item: DeploymentItem = parse_input("acquire-turn", payload.clone())?;
    refuse_if_aborted(ecs, &item).await?;
    run_and_announce(sfn, publisher, payload, now).await
}

/// `berth abort` of this execution before it changed anything (waiting for its turn, or not yet
/// asked): `Aborted`, a refused name, so the service ends NOT_STARTED, untouched.
pub async fn refuse_if_aborted(ecs: &aws_sdk_ecs::Client, item: &DeploymentItem) -> Result<()> {
    require("cluster", &item.cluster)?;
    require("service", &item.service)?;
    let service = describe_service(ecs, &item.cluster, &item.service).await?;
    match control::for_execution(&service, item.execution.name(), "acquire-turn") {
        Some(Action::Abort) => Err(Error::new(
            ErrorName::Aborted,
            format!(
                "{} before its turn to deploy {}/{}: the service was not changed",
                control::ABORTED,
                item.cluster,
                item.service
            ),
        )),
        _ => Ok(()),
    }
}

/// `arn:aws:states:R:A:execution:MACHINE:NAME` -> `arn:aws:states:R:A:stateMachine:MACHINE`.
pub fn state_machine_arn(execution_arn: &str) -> Result<String> {
    let parts: Vec<&str> = execution_arn.split(':').collect();
    match parts.as_slice() {
        [arn, partition, states, region, account, "execution", machine, _name, ..] => Ok(format!(
            "{arn}:{partition}:{states}:{region}:{account}:stateMachine:{machine}"
        )),
        _ => Err(Error::invalid_input(format!(
            "execution.id {execution_arn:?} is not a Step Functions execution ARN"
        ))),
    }
}

pub async fn acquire(sfn: &Client, item: &DeploymentItem, now: DateTime) -> Result<Turn> {
    require("execution.id", &item.execution.id)?;
    let machine = state_machine_arn(&item.execution.id)?;
    let deadline = time::parse("turnDeadline", &item.turn_deadline)?;

    let mut running = vec![];
    let mut pages = sfn
        .list_executions()
        .state_machine_arn(&machine)
        .status_filter(ExecutionStatus::Running)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::from_sdk("ListExecutions", e))?;
        for e in page.executions() {
            let input = if e.execution_arn() == item.execution.id {
                serde_json::Value::Null
            } else {
                let described = sfn
                    .describe_execution()
                    .execution_arn(e.execution_arn())
                    .send()
                    .await
                    .map_err(|err| {
                        Error::from_sdk(&format!("DescribeExecution {}", e.name()), err)
                    })?;
                described
                    .input()
                    .and_then(|i| serde_json::from_str(i).ok())
                    .unwrap_or(serde_json::Value::Null)
            };
            running.push(RunningExecution {
                arn: e.execution_arn().to_owned(),
                start_millis: e.start_date().to_millis().unwrap_or(i64::MAX),
                input,
            });
        }
    }

    let (decision, others) = decide(&item.execution.id, &running, item);
    let short = |arn: &String| arn.rsplit(':').next().unwrap_or(arn).to_owned();
    let names_of = others.iter().map(short).collect::<Vec<_>>().join(", ");
    let detail = match decision {
        TurnDecision::Go => format!(
            "no other running execution deploys {}/{}",
            item.cluster, item.service
        ),
        TurnDecision::Wait => format!(
            "waiting for earlier execution(s) {names_of} deploying {}/{}",
            item.cluster, item.service
        ),
        TurnDecision::Superseded => format!(
            "later execution(s) {names_of} will deploy a newer image to {}/{}",
            item.cluster, item.service
        ),
    };
    if decision == TurnDecision::Wait && now.secs() >= deadline.secs() {
        return Err(Error::new(
            ErrorName::TurnTimeout,
            format!(
                "{detail}, past the deadline {}; nothing was changed",
                item.turn_deadline
            ),
        ));
    }
    tracing::info!(service = %item.service, decision = ?decision, others = %names_of, "{detail}");
    Ok(Turn {
        decision,
        detail,
        others,
    })
}

#[cfg(test)]
mod tests;
