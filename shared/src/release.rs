//! Release groups: services that ship together (the API and its worker), in waves, all or nothing.
//! The deployment's execution runs one wave of services at a time (`NextWave`, `DeployWave`);
//! when a service of a release fails, the release's later waves are not started and every
//! service of it already deployed is deployed back to the revision it ran before
//! (`RollBackRelease`), so the release ends as it began.
//!
//! [`next`] decides, from the plan and the reports so far, what runs next; it is pure.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{DeploymentItem, Outcome, Plan, ServiceReport};

/// The service's tags that put it in a release on push.
pub mod tags {
    /// The release's name: services of one push with the same name ship together.
    pub const NAME: &str = "berth:release";
    /// Its wave (1 to [`super::MAX_WAVE`], default 1): wave 2 starts once every service of wave 1
    /// is deployed.
    pub const WAVE: &str = "berth:release-wave";
}

pub const MAX_WAVE: u32 = 10;

/// A service's place in a release (the item's `release`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRef {
    pub name: String,
    pub wave: u32,
}

impl ReleaseRef {
    /// From the service's tags (`None`: not in a release); a wave without a name, or a wave that
    /// is not 1 to 10, is refused: a typo must not ship the worker before the API.
    pub fn from_tags(
        service: &str,
        name: Option<&str>,
        wave: Option<&str>,
    ) -> Result<Option<Self>> {
        let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
            if let Some(w) = wave {
                return Err(Error::invalid_input(format!(
                    "service {service} has {}={w:?} but no {}: which release is it a wave of?",
                    tags::WAVE,
                    tags::NAME
                )));
            }
            return Ok(None);
        };
        let wave = match wave.map(str::trim) {
            None => 1,
            Some(w) => match w.parse::<u32>() {
                Ok(n) if (1..=MAX_WAVE).contains(&n) => n,
                _ => {
                    return Err(Error::invalid_input(format!(
                        "service {service} tag {}={w:?} is not a wave from 1 to {MAX_WAVE}",
                        tags::WAVE
                    )))
                }
            },
        };
        Ok(Some(ReleaseRef {
            name: name.to_owned(),
            wave,
        }))
    }
}

/// What the release has done so far, as the state machine carries it (`$.release`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseState {
    /// The wave last started (0 before the first).
    #[serde(default)]
    pub wave: u32,
    /// Each service's report so far (in plan order once done).
    #[serde(default)]
    pub results: Vec<ServiceReport>,
    /// The indices (into the plan's deployments) of the wave to deploy now.
    #[serde(default)]
    pub items: Vec<usize>,
    /// The deployments back to the revisions that ran before, for the releases that failed.
    #[serde(default)]
    pub rollback: Vec<DeploymentItem>,
    /// Set once the rollbacks were started: their reports arrive in `rollbackResults`.
    #[serde(default)]
    pub rolled_back: bool,
    /// The reports of the wave (or of the rollbacks) just run, merged by the next [`next`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave_results: Option<Vec<ServiceReport>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_results: Option<Vec<ServiceReport>>,
}

fn key(r: &ServiceReport) -> (String, String) {
    (r.cluster.clone(), r.service.clone())
}

fn item_key(d: &DeploymentItem) -> (String, String) {
    (d.cluster.clone(), d.service.clone())
}

/// The releases (by name) in which some service did not deploy.
fn failed_releases(plan: &Plan, results: &[ServiceReport]) -> Vec<String> {
    let mut failed: Vec<String> = plan
        .deployments
        .iter()
        .filter_map(|d| {
            let r = d.release.as_ref()?;
            let report = results.iter().find(|x| key(x) == item_key(d))?;
            (report.outcome != Outcome::Deployed).then(|| r.name.clone())
        })
        .collect();
    failed.sort();
    failed.dedup();
    failed
}

/// The next step: merge what just ran, then either the next wave's items, or the rollbacks of the
/// releases that failed, or nothing (done: `results` holds every service's report).
pub fn next(plan: &Plan, mut state: ReleaseState) -> ReleaseState {
    if let Some(wave) = state.wave_results.take() {
        state.results.extend(wave);
    }
    if let Some(rolled) = state.rollback_results.take() {
        settle_rollbacks(plan, &mut state.results, &rolled);
        state.rollback.clear();
        state.items.clear();
        return state;
    }
    state.items.clear();
    let failed = failed_releases(plan, &state.results);
    // The next wave with something to deploy: services of releases that failed are not started.
    let done: Vec<(String, String)> = state.results.iter().map(key).collect();
    let waiting: Vec<(usize, &DeploymentItem)> = plan
        .deployments
        .iter()
        .enumerate()
        .filter(|(_, d)| !done.contains(&item_key(d)))
        .collect();
    for (_, d) in &waiting {
        if let Some(r) = d.release.as_ref().filter(|r| failed.contains(&r.name)) {
            state.results.push(ServiceReport {
                cluster: d.cluster.clone(),
                service: d.service.clone(),
                outcome: Outcome::NotStarted,
                cause: format!(
                    "{}/{}: not started, nothing changed: release {} (wave {}), an earlier wave did not deploy",
                    short(&d.cluster),
                    d.service,
                    r.name,
                    r.wave
                ),
                error: None,
                rollback_to: None,
            });
        }
    }
    let wave_of = |d: &DeploymentItem| d.release.as_ref().map_or(1, |r| r.wave);
    let next_wave = waiting
        .iter()
        .filter(|(_, d)| d.release.as_ref().is_none_or(|r| !failed.contains(&r.name)))
        .map(|(_, d)| wave_of(d))
        .min();
    if let Some(w) = next_wave {
        state.wave = w;
        state.items = waiting
            .iter()
            .filter(|(_, d)| {
                wave_of(d) == w && d.release.as_ref().is_none_or(|r| !failed.contains(&r.name))
            })
            .map(|(i, _)| *i)
            .collect();
        return state;
    }
    // Every wave ran: deploy back what the failed releases deployed.
    if !state.rolled_back && !failed.is_empty() {
        state.rollback = rollbacks(plan, &state.results, &failed);
        state.rolled_back = true;
    }
    order(plan, &mut state.results);
    state
}

/// One deployment per deployed service of the failed releases: back to the revision (and image)
/// it ran before, as a rollback by hand does (`taskDefinition`).
fn rollbacks(plan: &Plan, results: &[ServiceReport], failed: &[String]) -> Vec<DeploymentItem> {
    plan.deployments
        .iter()
        .filter(|d| d.release.as_ref().is_some_and(|r| failed.contains(&r.name)))
        .filter_map(|d| {
            let report = results.iter().find(|x| key(x) == item_key(d))?;
            let to = report
                .rollback_to
                .as_ref()
                .filter(|_| report.outcome == Outcome::Deployed)?;
            let mut item = d.clone();
            item.deployment_id = format!("{}/release-rollback", d.deployment_id);
            item.execution_name = crate::children::execution_name(&item.deployment_id, &d.service);
            item.task_definition = Some(to.task_definition.clone());
            item.image = to.image.clone();
            item.force_new_deployment = false;
            item.canary = None;
            item.approval = None;
            item.migration = None;
            item.release = None;
            // not held by the release gates, as a rollback by hand is not: a freeze window or a
            // scan of the old image must not leave half a release deployed
            item.scan = None;
            item.freeze = vec![];
            item.override_freeze = None;
            // stop_then_start is kept: its service goes back without both revisions running
            Some(item)
        })
        .collect()
}

/// The deployed services of a failed release end ROLLED_BACK (or ROLLBACK_FAILED), their cause
/// saying why and what the rollback did.
fn settle_rollbacks(plan: &Plan, results: &mut [ServiceReport], rolled: &[ServiceReport]) {
    let failures: Vec<String> = results
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::Deployed | Outcome::NotStarted))
        .map(|r| format!("{} {}", r.service, wire(r.outcome)))
        .collect();
    for r in results.iter_mut() {
        let Some(back) = rolled.iter().find(|x| key(x) == key(r)) else {
            continue;
        };
        let release = plan
            .deployments
            .iter()
            .find(|d| item_key(d) == key(r))
            .and_then(|d| d.release.as_ref())
            .map(|x| x.name.clone())
            .unwrap_or_default();
        let to = r
            .rollback_to
            .as_ref()
            .map(|t| short(&t.task_definition).to_owned())
            .unwrap_or_default();
        let (outcome, what) = if back.outcome == Outcome::Deployed {
            (Outcome::RolledBack, format!("deployed back to {to}"))
        } else {
            (
                Outcome::RollbackFailed,
                format!("deploying back to {to} failed: {}", back.cause),
            )
        };
        r.outcome = outcome;
        r.cause = format!(
            "{}/{}: deployed, then release {release} failed ({}): {what}",
            short(&r.cluster),
            r.service,
            failures.join(", ")
        );
    }
}

fn wire(o: Outcome) -> String {
    serde_json::to_value(o)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn short(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// Reports in the plan's order.
fn order(plan: &Plan, results: &mut [ServiceReport]) {
    results.sort_by_key(|r| {
        plan.deployments
            .iter()
            .position(|d| item_key(d) == key(r))
            .unwrap_or(usize::MAX)
    });
}

#[cfg(test)]
mod tests;
