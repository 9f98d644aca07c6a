//! Read each check's metric (or metric math) and each alarm, judge them, decide the bake's next step.

use aws_sdk_cloudwatch::Client;
use berth::canary::{decide, overall, validate};
use berth::cloudwatch::read_checks;
use berth::error::Result;
use berth::model::{parse_input, CanaryInput, CanaryResult};
use berth::time::{self, DateTime};

pub async fn run(cw: &Client, payload: serde_json::Value, now: DateTime) -> Result<CanaryResult> {
    let input: CanaryInput = parse_input("evaluate-canary", payload)?;
    evaluate(cw, &input, now).await
}

pub async fn evaluate(cw: &Client, input: &CanaryInput, now: DateTime) -> Result<CanaryResult> {
    validate(&input.canary)?;
    let config = &input.canary;
    let previous = input.canary_result.as_ref();
    let bake_started = match previous {
        Some(p) => time::parse("canaryResult.bakeStartedAt", &p.bake_started_at)?,
        None => now,
    };
    let bake_ends = time::plus_secs(bake_started, config.bake_seconds);
    let checks = read_checks(cw, config, now).await?;

    let verdict = overall(&checks);
    let bake_over = now.secs() >= bake_ends.secs();
    let decision = decide(verdict, bake_over, config.on_inconclusive);
    let detail = checks
        .iter()
        .map(|c| format!("{}: {:?} ({})", c.name, c.verdict, c.detail))
        .collect::<Vec<_>>()
        .join("; ");
    for c in &checks {
        tracing::info!(check = %c.name, verdict = ?c.verdict, values = ?c.values, threshold = ?c.threshold, "{}", c.detail);
    }
    tracing::info!(verdict = ?verdict, decision = ?decision, bake_over, bake_ends = %time::format(bake_ends), "canary evaluated");
    Ok(CanaryResult {
        verdict,
        decision,
        detail,
        checks,
        evaluations: previous.map(|p| p.evaluations).unwrap_or(0) + 1,
        bake_started_at: time::format(bake_started),
        bake_ends_at: time::format(bake_ends),
        evaluated_at: time::format(now),
    })
}

#[cfg(test)]
mod tests;
