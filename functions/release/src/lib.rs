//! release: the next step of a deployment whose services ship in releases (`berth:release`,
//! `berth:release-wave`): the next wave to deploy, or the deployments back for the releases that
//! failed, or done. No AWS call: the decision is `berth::release::next` over the plan and the
//! reports so far.

use berth::model::{parse_input, Plan};
use berth::release::{next, ReleaseState};
use serde::Deserialize;

#[derive(Deserialize)]
struct ReleaseInput {
    plan: Plan,
    #[serde(default)]
    release: ReleaseState,
}

/// One step: what `NextWave` writes under `release`.
pub fn step(payload: serde_json::Value) -> berth::error::Result<ReleaseState> {
    let input: ReleaseInput = parse_input("release", payload)?;
    let state = next(&input.plan, input.release);
    tracing::info!(
        wave = state.wave,
        items = state.items.len(),
        rollback = state.rollback.len(),
        reports = state.results.len(),
        "release step"
    );
    Ok(state)
}

/// Serves this state's invocations until the Runtime API goes away (`berth-lambda` calls it).
pub async fn serve(_config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
    berth::lambda::serve("release", |payload, _| async move { step(payload) }).await
}
