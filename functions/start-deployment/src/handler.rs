//! Name the execution from repository + digest and start it; a duplicate event finds it taken.
//!
//! The naming and the start live in `berth::start`, shared with the reconciliation sweep
//! (`functions/reconcile`), so a push the sweep deploys and its late event start one execution.

use aws_sdk_sfn::Client;
use berth::ecr;
use berth::error::Result;
use berth::start::Started;

pub async fn run(sfn: &Client, state_machine: &str, event: serde_json::Value) -> Result<Started> {
    match ecr::classify(&event)? {
        Ok(push) => berth::start::start_push(sfn, state_machine, &push, &event).await,
        Err(reason) => {
            tracing::info!("not starting: {reason}");
            Ok(Started::nothing(reason))
        }
    }
}

#[cfg(test)]
mod tests;
