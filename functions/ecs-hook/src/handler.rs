//! Answer one invocation of an ECS built-in strategy's lifecycle hook: recognise a rollback from
//! the traffic weights, run the stage's checks from `hookDetails`, and answer SUCCEEDED, FAILED,
//! or IN_PROGRESS with a `callBackDelay` while a canary still bakes.

use std::collections::BTreeMap;
use std::time::Duration;

use berth::canary::decide;
use berth::error::Result;
use berth::hooks::{
    check_budget, guarded, run_checks, Checker, HookConfig, HookVerdict, ECS_STAGES,
};
use berth::model::{parse_input, require, CanaryDecision, Verdict};
use berth::time::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The key under `hookDetails` where berth keeps its own state between IN_PROGRESS calls.
pub const STATE_KEY: &str = "berthState";

pub fn margin_from_env() -> Result<Duration> {
    berth::hooks::margin_from_lookup(&|k: &str| std::env::var(k).ok())
}

/// The payload ECS sends (Lambda hooks for ECS service deployments).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EcsHookEvent {
    pub execution_id: String,
    pub lifecycle_stage: String,
    pub execution_details: ExecutionDetails,
    #[serde(default)]
    pub hook_details: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDetails {
    pub target_service_revision_arn: String,
    /// Service-revision ARN → percentage of test traffic.
    #[serde(default)]
    pub test_traffic_weights: BTreeMap<String, f64>,
    /// Service-revision ARN → percentage of production traffic.
    #[serde(default)]
    pub production_traffic_weights: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HookStatus {
    Succeeded,
    Failed,
    InProgress,
}

/// The answer ECS reads: `hookStatus`, and for IN_PROGRESS a delay and the details to send back.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EcsHookResponse {
    pub hook_status: HookStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_back_delay: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook_details: Option<Value>,
}

/// berth's memory across the calls of one stage, carried in `hookDetails` by ECS itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HookState {
    pub execution_id: String,
    pub stage: String,
    /// When the first call of this stage arrived (epoch seconds): the canary's bake starts there.
    pub first_called_at: i64,
    pub evaluations: u32,
}

/// The answer plus why, for the log and the tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub response: EcsHookResponse,
    pub detail: String,
    pub verdict: Option<HookVerdict>,
    pub rollback: bool,
}

pub async fn run(
    checker: &dyn Checker,
    payload: Value,
    lambda_deadline_ms: u64,
    now_ms: u64,
    margin: Duration,
) -> Result<EcsHookResponse> {
    let service = payload
        .pointer("/executionDetails/serviceArn")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let answer = answer(checker, payload, lambda_deadline_ms, now_ms, margin).await?;
    tracing::info!(
        service = ?service,
        hook_status = ?answer.response.hook_status,
        call_back_delay = ?answer.response.call_back_delay,
        rollback = answer.rollback,
        verdict = ?answer.verdict.as_ref().map(|v| v.verdict),
        "{}",
        answer.detail
    );
    Ok(answer.response)
}

pub async fn answer(
    checker: &dyn Checker,
    payload: Value,
    lambda_deadline_ms: u64,
    now_ms: u64,
    margin: Duration,
) -> Result<Answer> {
    let event: EcsHookEvent = parse_input("ecs-hook", payload)?;
    require("executionId", &event.execution_id)?;
    require("lifecycleStage", &event.lifecycle_stage)?;
    let stage = event.lifecycle_stage.as_str();
    let done = |status: HookStatus, detail: String, verdict: Option<HookVerdict>| Answer {
        response: EcsHookResponse {
            hook_status: status,
            call_back_delay: None,
            hook_details: None,
        },
        detail,
        verdict,
        rollback: false,
    };

    if let Some(detail) = rollback_in_progress(stage, &event.execution_details) {
        // Never hold up a rollback: the checks judged the revision being rolled away from.
        return Ok(Answer {
            rollback: true,
            ..done(HookStatus::Succeeded, detail, None)
        });
    }

    let mut details = event.hook_details.clone().unwrap_or(Value::Null);
    let previous: Option<HookState> = details
        .as_object_mut()
        .and_then(|d| d.remove(STATE_KEY))
        .and_then(|s| serde_json::from_value(s).ok());
    let config_doc = if details.is_null() {
        Value::Object(Default::default())
    } else {
        details.clone()
    };
    let config = match HookConfig::parse("hookDetails", config_doc, &ECS_STAGES) {
        Ok(c) => c,
        Err(e) => {
            return Ok(done(
                HookStatus::Failed,
                format!("{stage}: {}", e.message()),
                None,
            ))
        }
    };
    let Some(set) = config.checks_for(stage) else {
        return Ok(done(
            HookStatus::Succeeded,
            format!("{stage}: no checks configured for this stage"),
            None,
        ));
    };

    let now_s = (now_ms / 1000) as i64;
    let state = match previous {
        Some(p) if p.execution_id == event.execution_id && p.stage == stage => HookState {
            evaluations: p.evaluations + 1,
            ..p
        },
        _ => HookState {
            execution_id: event.execution_id.clone(),
            stage: stage.to_owned(),
            first_called_at: now_s,
            evaluations: 1,
        },
    };
    let budget = check_budget(config.deadline_seconds, lambda_deadline_ms, now_ms, margin);
    let verdict = match guarded(
        stage,
        budget,
        run_checks(checker, stage, set, DateTime::from_secs(now_s)),
    )
    .await
    {
        Ok(v) => v,
        Err(why) => HookVerdict::failed(why),
    };
    let (bake, interval, on_inconclusive) = match &set.canary {
        Some(c) => (c.bake_seconds, c.interval_seconds, c.on_inconclusive),
        None => (0, 0, Default::default()),
    };
    let baked = (now_s - state.first_called_at).max(0) as u64;
    let decision = decide(verdict.verdict, baked >= bake, on_inconclusive);
    let detail = format!(
        "{} (call {}, baked {baked}/{bake} s)",
        verdict.detail, state.evaluations
    );
    Ok(match decision {
        CanaryDecision::Promote => done(HookStatus::Succeeded, detail, Some(verdict)),
        CanaryDecision::Rollback => done(HookStatus::Failed, detail, Some(verdict)),
        CanaryDecision::Continue => {
            let mut back = details;
            if !back.is_object() {
                back = Value::Object(Default::default());
            }
            back[STATE_KEY] = serde_json::to_value(&state).expect("state serialises");
            let delay = interval.clamp(1, bake.saturating_sub(baked).max(1));
            Answer {
                response: EcsHookResponse {
                    hook_status: HookStatus::InProgress,
                    call_back_delay: Some(delay),
                    hook_details: Some(back),
                },
                detail: format!(
                    "{detail}: {} — checking again in {delay} s",
                    match verdict.verdict {
                        Verdict::Inconclusive => "not enough data yet",
                        _ => "still baking",
                    }
                ),
                verdict: Some(verdict),
                rollback: false,
            }
        }
    })
}

/// On rollback ECS re-runs the traffic-shift stages with the target (green) revision still named
/// but its weight back at 0 while another revision holds the traffic. Forward shifts always give
/// the target a positive weight at these stages.
pub fn rollback_in_progress(stage: &str, details: &ExecutionDetails) -> Option<String> {
    let (weights, kind) = match stage {
        "PRODUCTION_TRAFFIC_SHIFT" => (&details.production_traffic_weights, "production"),
        "TEST_TRAFFIC_SHIFT" => (&details.test_traffic_weights, "test"),
        _ => return None,
    };
    let target = details.target_service_revision_arn.as_str();
    let target_weight = weights.get(target).copied().unwrap_or(0.0);
    if target_weight > 0.0 {
        return None;
    }
    let (other, weight) = weights
        .iter()
        .find(|(rev, w)| rev.as_str() != target && **w > 0.0)?;
    Some(format!(
        "{stage}: rollback recognised: {kind} traffic back on {other} ({weight}%), target {target} at {target_weight}%; answering SUCCEEDED without checks"
    ))
}

#[cfg(test)]
mod tests;
