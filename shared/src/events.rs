//! berth's deployment events: one EventBridge event per phase of each service's deployment
//! (source `berth`, detail-type `berth Deployment State Change`), so one rule routes failures, or
//! anything else, to SNS, Slack or a queue (README, "Deployment events").
//!
//! The Lambdas publish them as they act (STARTED from acquire-turn on GO, DEPLOYING from
//! update-service, ROLLING_BACK from rollback, FINISHED from summarize); AWAITING_APPROVAL is put by
//! the state machine itself. Publishing is best effort: a deployment never fails, waits or rolls
//! back because an event could not be put, and a retried state may publish its event twice.

use std::time::Duration;

use aws_sdk_eventbridge::config::retry::RetryConfig;
use aws_sdk_eventbridge::config::timeout::TimeoutConfig;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorName, Result};
use crate::model::{
    ExecutionRef, Outcome, RollbackResult, Rollout, ServiceDocument, ServiceOutcome,
};

/// The events' `source`.
pub const SOURCE: &str = "berth";
/// The events' `detail-type`.
pub const DETAIL_TYPE: &str = "berth Deployment State Change";
/// The environment variable naming the bus the Lambdas publish to (template.yaml sets it).
pub const BUS_VARIABLE: &str = "EVENT_BUS_NAME";
/// The bus when [`BUS_VARIABLE`] is unset or empty: the account's default bus.
pub const DEFAULT_BUS: &str = "default";
/// A longer `cause` is cut here: a message person reads in a chat needs no more, and an event
/// entry may hold at most 256 KiB.
pub const CAUSE_CHARS: usize = 4096;
/// PutEvents takes at most this many entries per call.
const ENTRIES_PER_CALL: usize = 10;

/// Where a deployment of one service is.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Phase {
    /// The execution has its turn: nothing else deploys the service, berth starts.
    Started,
    /// The deployment waits for a person to approve or reject it.
    AwaitingApproval,
    /// ECS (or CodeDeploy) accepted the new revision and rolls it out.
    Deploying,
    /// The deployment failed; berth puts the service back on the revision that ran before.
    RollingBack,
    /// The service's deployment ended; `outcome` says how.
    Finished,
}

/// What an AWAITING_APPROVAL event carries: how to answer the waiting execution.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    /// The Step Functions task token the answer (SendTaskSuccess / SendTaskFailure) names.
    pub task_token: String,
    /// How long the deployment waits for an answer, in seconds.
    pub timeout_seconds: u64,
    /// How to answer: the `berth approve` / `berth reject` command lines.
    pub answer: String,
}

/// The `detail` of a berth deployment event: one service's deployment in one execution.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeploymentEvent {
    pub phase: Phase,
    /// The ECS cluster's name.
    pub cluster: String,
    /// The ECS service's name.
    pub service: String,
    /// The image being deployed, as requested or pushed.
    pub image: String,
    /// berth's id for this deployment of this service.
    pub deployment_id: String,
    /// The Step Functions execution's ARN.
    pub execution: String,
    /// The task definition this phase puts the service on: the new revision (DEPLOYING, FINISHED
    /// DEPLOYED) or the one it goes back to (ROLLING_BACK, FINISHED ROLLED_BACK).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// How the service's deployment ended (FINISHED only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Why it rolls back, failed, was refused or superseded, in one sentence a person can act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// AWAITING_APPROVAL only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
}

/// The fields every event names, as each per-service document of the ASL's Map carries them: the
/// [`DeploymentItem`](crate::model::DeploymentItem) an iteration starts from stays beside the
/// states' results.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Subject {
    deployment_id: String,
    cluster: String,
    service: String,
    image: String,
    execution: ExecutionRef,
}

impl DeploymentEvent {
    fn of(phase: Phase, s: Subject) -> Self {
        DeploymentEvent {
            phase,
            cluster: s.cluster,
            service: s.service,
            image: s.image,
            deployment_id: s.deployment_id,
            execution: s.execution.id,
            revision: None,
            outcome: None,
            cause: None,
            approval: None,
        }
    }

    /// An event of `phase` about the deployment a per-service document belongs to; None when the
    /// document lacks what names it (a hand-made input, not one the ASL passes).
    pub fn from_document(phase: Phase, document: &serde_json::Value) -> Option<Self> {
        Subject::deserialize(document)
            .ok()
            .map(|s| Self::of(phase, s))
    }

    fn with_revision(mut self, revision: &str) -> Self {
        self.revision = (!revision.is_empty()).then(|| revision.to_owned());
        self
    }

    fn with_cause(mut self, cause: Option<String>) -> Self {
        self.cause = cause.filter(|c| !c.trim().is_empty()).map(|c| cut(&c));
        self
    }
}

/// DEPLOYING: update-service's rollout of the new revision.
pub fn deploying(document: &serde_json::Value, rollout: &Rollout) -> Option<DeploymentEvent> {
    DeploymentEvent::from_document(Phase::Deploying, document)
        .map(|e| e.with_revision(&rollout.task_definition_arn))
}

/// ROLLING_BACK: rollback's result, with why the deployment failed as the states recorded it.
pub fn rolling_back(
    document: &serde_json::Value,
    result: &RollbackResult,
) -> Option<DeploymentEvent> {
    let cause = ServiceDocument::deserialize(document)
        .ok()
        .map(|d| crate::summary::failure_reason(&d));
    DeploymentEvent::from_document(Phase::RollingBack, document).map(|e| {
        e.with_revision(&result.task_definition_arn)
            .with_cause(cause)
    })
}

/// FINISHED: one service's outcome as summarize read it. `detail` is the raw per-service document
/// (`results[].detail`), `cause` what summarize says of the service (None for DEPLOYED).
pub fn finished(
    detail: &serde_json::Value,
    outcome: &ServiceOutcome,
    cause: Option<String>,
) -> Option<DeploymentEvent> {
    let d = &outcome.detail;
    let revision = match outcome.outcome {
        Outcome::Deployed => d.register.as_ref().map(|r| r.task_definition_arn.as_str()),
        Outcome::RolledBack => d.rollback.as_ref().map(|r| r.task_definition_arn.as_str()),
        _ => None,
    };
    DeploymentEvent::from_document(Phase::Finished, detail).map(|mut e| {
        e.outcome = Some(outcome.outcome);
        e.with_revision(revision.unwrap_or_default())
            .with_cause(cause)
    })
}

/// At most [`CAUSE_CHARS`] characters.
fn cut(s: &str) -> String {
    match s.char_indices().nth(CAUSE_CHARS) {
        None => s.to_owned(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

/// The PutEvents entry of one event.
pub fn entry(bus: &str, event: &DeploymentEvent) -> Result<PutEventsRequestEntry> {
    let detail = serde_json::to_string(event)
        .map_err(|e| Error::new(ErrorName::AwsError, format!("event detail: {e}")))?;
    let mut resources = vec![event.execution.clone()];
    resources.extend(event.revision.clone());
    Ok(PutEventsRequestEntry::builder()
        .source(SOURCE)
        .detail_type(DETAIL_TYPE)
        .detail(detail)
        .event_bus_name(bus)
        .set_resources(Some(resources))
        .build())
}

/// Where a Lambda publishes: the EventBridge client and the bus, built once at init.
pub struct Publisher {
    pub client: Client,
    pub bus: String,
}

impl Publisher {
    /// The client from the shared config, the bus from [`BUS_VARIABLE`] (default [`DEFAULT_BUS`]).
    pub fn from_env(config: &aws_config::SdkConfig) -> Self {
        Self::new(
            Client::new(config),
            std::env::var(BUS_VARIABLE).ok().as_deref(),
        )
    }

    pub fn new(client: Client, bus: Option<&str>) -> Self {
        let bus = bus
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .unwrap_or(DEFAULT_BUS);
        Publisher {
            client,
            bus: bus.to_owned(),
        }
    }
}

/// A publish gives up sooner than berth's other calls: an event is not worth a state's budget.
fn publish_config() -> aws_sdk_eventbridge::config::Builder {
    aws_sdk_eventbridge::config::Builder::default()
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(100))
                .with_max_backoff(Duration::from_secs(1)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
}

/// Put `events` on `bus`, in order (ten a call). An entry EventBridge refuses is an error.
pub async fn publish(client: &Client, bus: &str, events: &[DeploymentEvent]) -> Result<()> {
    for chunk in events.chunks(ENTRIES_PER_CALL) {
        let entries = chunk
            .iter()
            .map(|e| entry(bus, e))
            .collect::<Result<Vec<_>>>()?;
        let out = client
            .put_events()
            .set_entries(Some(entries))
            .customize()
            .config_override(publish_config())
            .send()
            .await
            .map_err(|e| Error::from_sdk(&format!("PutEvents to {bus}"), e))?;
        if out.failed_entry_count() > 0 {
            let why: Vec<String> = out
                .entries()
                .iter()
                .filter_map(|e| {
                    e.error_code()
                        .map(|c| format!("{c}: {}", e.error_message().unwrap_or("")))
                })
                .collect();
            return Err(Error::new(
                ErrorName::AwsError,
                format!(
                    "PutEvents to {bus}: {} of {} entries refused ({})",
                    out.failed_entry_count(),
                    chunk.len(),
                    why.join("; ")
                ),
            ));
        }
    }
    Ok(())
}

/// Publish and go on: a failure is logged (a warning naming the events) and returned as text,
/// never as an error, so no deployment fails or rolls back for it.
pub async fn announce(publisher: &Publisher, events: &[DeploymentEvent]) -> Option<String> {
    if events.is_empty() {
        return None;
    }
    let phases = events
        .iter()
        .map(|e| format!("{:?} {}/{}", e.phase, e.cluster, e.service))
        .collect::<Vec<_>>()
        .join(", ");
    match publish(&publisher.client, &publisher.bus, events).await {
        Ok(()) => {
            tracing::info!(bus = %publisher.bus, events = %phases, "deployment events published");
            None
        }
        Err(e) => {
            tracing::warn!(bus = %publisher.bus, events = %phases, error = %e, "deployment events not published; the deployment goes on");
            Some(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests;
