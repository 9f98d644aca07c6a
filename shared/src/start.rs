//! Start the deployment of one pushed image: the execution is named from repository + digest, so a
//! second start for the same image (a re-delivered push event, or the reconciliation sweep finding
//! a push whose event never came) finds it taken and starts nothing.
//!
//! StartExecution is idempotent by name: the same name and input while running returns the
//! running execution, and a name is refused (ExecutionAlreadyExists) for 90 days after. Either
//! way a second start for the same image starts nothing.

use aws_sdk_sfn::Client;
use serde::Serialize;

use crate::ecr::Push;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    pub started: bool,
    /// True when an execution with this name already exists: a re-delivered event.
    pub duplicate: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    pub detail: String,
}

impl Started {
    /// Nothing to start, and why (an event that is no push).
    pub fn nothing(reason: String) -> Self {
        Self {
            started: false,
            duplicate: false,
            execution_name: None,
            execution_arn: None,
            detail: reason,
        }
    }
}

/// 1-80 characters of letters, digits, `-` and `_`: the repository (shortened) and 40 hex digits
/// of the digest, which identify the image.
pub fn execution_name(push: &Push) -> String {
    let hex = push
        .digest
        .split_once(':')
        .map(|(_, h)| h)
        .unwrap_or(&push.digest);
    let hex: String = hex.chars().take(40).collect();
    let repo: String = push
        .repository
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(80 - 1 - hex.len())
        .collect();
    format!("{repo}-{hex}")
}

/// `…:stateMachine:M` + name -> `…:execution:M:name`.
pub fn execution_arn(state_machine: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        state_machine.replacen(":stateMachine:", ":execution:", 1)
    )
}

/// Start `state_machine` for `push` with `input` (the push event), unless the execution of that
/// name exists: then report it as a duplicate with its status.
pub async fn start_push(
    sfn: &Client,
    state_machine: &str,
    push: &Push,
    input: &serde_json::Value,
) -> Result<Started> {
    let name = execution_name(push);
    // Ask first, so that a re-delivered event is reported as a duplicate even while the first
    // execution runs (StartExecution would then return that execution as if it were new).
    let arn = execution_arn(state_machine, &name);
    match sfn.describe_execution().execution_arn(&arn).send().await {
        Ok(existing) => {
            tracing::info!(execution = %name, status = %existing.status(), "duplicate push: execution exists");
            return Ok(Started {
                started: false,
                duplicate: true,
                detail: format!(
                    "{} was already deployed or is deploying (execution {name}, {})",
                    push.image(),
                    existing.status()
                ),
                execution_arn: Some(arn),
                execution_name: Some(name),
            });
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_execution_does_not_exist()) => {}
        Err(e) => {
            tracing::warn!(error = %Error::from_sdk("DescribeExecution", e), "could not check for a duplicate; starting (StartExecution is idempotent by name)")
        }
    }
    let input = serde_json::to_string(input).map_err(|e| Error::invalid_input(e.to_string()))?;
    match sfn
        .start_execution()
        .state_machine_arn(state_machine)
        .name(&name)
        .input(input)
        .send()
        .await
    {
        Ok(out) => {
            tracing::info!(execution = %name, repository = %push.repository, digest = %push.digest, "deployment started");
            Ok(Started {
                started: true,
                duplicate: false,
                execution_arn: Some(out.execution_arn().to_owned()),
                detail: format!("deploying {}", push.image()),
                execution_name: Some(name),
            })
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_execution_already_exists()) =>
        {
            tracing::info!(execution = %name, "duplicate push: execution already exists");
            Ok(Started {
                started: false,
                duplicate: true,
                execution_arn: None,
                detail: format!(
                    "{} was already deployed or is deploying (execution {name})",
                    push.image()
                ),
                execution_name: Some(name),
            })
        }
        Err(e) => Err(Error::from_sdk("StartExecution", e)),
    }
}
