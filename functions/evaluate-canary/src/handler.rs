//! Read each check's metric (or metric math) and each alarm, judge them, decide the bake's next step;
//! first obey `berth abort` / `berth promote` (the service's `berth:control` tag).

use aws_sdk_cloudwatch::Client;
use berth::canary::{self, decide, validate};
use berth::cloudwatch::read_checks;
use berth::control::{self, Action};
use berth::ecs::describe_service;
use berth::error::Result;
use berth::model::{parse_input, CanaryDecision, CanaryInput, CanaryResult, Verdict};
use berth::time::{self, DateTime};

pub async fn run(
    cw: &Client,
    ecs: &aws_sdk_ecs::Client,
    payload: serde_json::Value,
    now: DateTime,
) -> Result<CanaryResult> {
    let input: CanaryInput = parse_input("evaluate-canary", payload)?;
    evaluate(cw, ecs, &input, now).await
}

pub async fn evaluate(
    cw: &Client,
    ecs: &aws_sdk_ecs::Client,
    input: &CanaryInput,
    now: DateTime,
) -> Result<CanaryResult> {
    validate(&input.canary)?;
    let config = &input.canary;
    let previous = input.canary_result.as_ref();
    let bake_started = match previous {
        Some(p) => time::parse("canaryResult.bakeStartedAt", &p.bake_started_at)?,
        None => now,
    };
    let bake_ends = time::plus_secs(bake_started, config.bake_seconds);
    if let Some(action) = control_for(ecs, input).await? {
        let result = by_hand(action, previous, bake_started, bake_ends, now);
        tracing::info!(decision = ?result.decision, "{}", result.detail);
        return Ok(result);
    }
    let deployed_at = match &input.update {
        Some(u) => Some(time::parse("update.startedAt", &u.started_at)?),
        None => None,
    };
    let checks = read_checks(cw, config, now, deployed_at).await?;

    let (verdict, analysis) = canary::verdict(config, &checks);
    let bake_over = now.secs() >= bake_ends.secs();
    let decision = decide(verdict, bake_over, config.on_inconclusive);
    let detail = canary::detail(&checks, analysis.as_ref());
    for c in &checks {
        tracing::info!(check = %c.name, verdict = ?c.verdict, values = ?c.values, threshold = ?c.threshold, analysis = ?c.analysis, "{}", c.detail);
    }
    if let Some(a) = &analysis {
        tracing::info!(outcome = ?a.outcome, score = ?a.score, nodata = a.nodata, "{}", a.reason);
    }
    tracing::info!(verdict = ?verdict, decision = ?decision, bake_over, bake_ends = %time::format(bake_ends), "canary evaluated");
    Ok(CanaryResult {
        verdict,
        decision,
        detail,
        checks,
        analysis,
        evaluations: previous.map(|p| p.evaluations).unwrap_or(0) + 1,
        bake_started_at: time::format(bake_started),
        bake_ends_at: time::format(bake_ends),
        evaluated_at: time::format(now),
        promoted_by_hand: false,
        aborted_by_hand: false,
    })
}

/// The service's control for this execution, when the document names both (the Map's per-service
/// document always does): one DescribeServices with its tags.
async fn control_for(ecs: &aws_sdk_ecs::Client, input: &CanaryInput) -> Result<Option<Action>> {
    let (Some(cluster), Some(service), Some(me)) =
        (&input.cluster, &input.service, &input.execution)
    else {
        return Ok(None);
    };
    let described = describe_service(ecs, cluster, service).await?;
    Ok(control::for_execution(
        &described,
        me.name(),
        "evaluate-canary",
    ))
}

/// A person decided: abort rolls back, promote ends the bake as deployed. No check is read (a
/// CloudWatch error must not turn a promote into a rollback); the last verdict is carried.
pub fn by_hand(
    action: Action,
    previous: Option<&CanaryResult>,
    bake_started: DateTime,
    bake_ends: DateTime,
    now: DateTime,
) -> CanaryResult {
    let evaluations = previous.map(|p| p.evaluations).unwrap_or(0);
    let verdict = previous.map(|p| p.verdict).unwrap_or(Verdict::Inconclusive);
    let (decision, what) = match action {
        Action::Abort => (CanaryDecision::Rollback, control::ABORTED),
        Action::Promote => (CanaryDecision::Promote, control::PROMOTED),
    };
    let last = match previous {
        Some(p) => format!(
            "after {evaluations} evaluation(s), the last {}",
            serde_json::to_value(p.verdict)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ),
        None => "before its first evaluation".to_owned(),
    };
    CanaryResult {
        verdict,
        decision,
        detail: format!(
            "{what} {}s into the {}s bake, {last}",
            now.secs().saturating_sub(bake_started.secs()),
            bake_ends.secs().saturating_sub(bake_started.secs()),
        ),
        checks: vec![],
        analysis: previous.and_then(|p| p.analysis.clone()),
        evaluations,
        bake_started_at: time::format(bake_started),
        bake_ends_at: time::format(bake_ends),
        evaluated_at: time::format(now),
        promoted_by_hand: action == Action::Promote,
        aborted_by_hand: action == Action::Abort,
    }
}

#[cfg(test)]
mod tests;
