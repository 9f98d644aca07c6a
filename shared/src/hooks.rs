//! Lifecycle-hook checks, shared by the CodeDeploy hook and the ECS built-in strategy hook.
//!
//! A service's hook configuration names, per hook (CodeDeploy lifecycle event or ECS lifecycle
//! stage), the HTTP probes and the CloudWatch canary (evaluate-canary's analysis) to run. Running
//! them is [`run_checks`]; [`guarded`] turns a check that panics or runs past its deadline into a
//! failure the hook can still report, so CodeDeploy and ECS are never left waiting.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use serde::{Deserialize, Serialize};

use crate::canary::{overall, validate};
use crate::error::{Error, Result};
use crate::model::{limits, CanaryConfig, CheckResult, OnInconclusive, Verdict};
use crate::time::DateTime;

/// CodeDeploy's ECS lifecycle events that run hooks, in the order they fire: the names a hook
/// configuration may use, and the events berth's AppSpec hands to the hook Lambda.
pub const CODEDEPLOY_HOOKS: [&str; 5] = [
    "BeforeInstall",
    "AfterInstall",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AfterAllowTraffic",
];

/// ECS built-in strategies' (BLUE_GREEN, LINEAR, CANARY) lifecycle stages that run hooks.
pub const ECS_STAGES: [&str; 8] = [
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
];

/// One service's hook configuration (an SSM parameter for CodeDeploy, `hookDetails` for ECS).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HookConfig {
    /// How long one hook's checks may run. The hook Lambda also stops them a margin before its own
    /// timeout, whichever comes first, and reports Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_seconds: Option<u64>,
    /// Checks per hook name (`AfterAllowTestTraffic`, `POST_TEST_TRAFFIC_SHIFT`, …).
    #[serde(default)]
    pub hooks: BTreeMap<String, CheckSet>,
}

/// What runs at one hook.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckSet {
    #[serde(default)]
    pub probes: Vec<Probe>,
    /// Metrics and alarms of the green target group, judged as evaluate-canary judges them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryConfig>,
}

/// An HTTP probe, typically of the test listener: every request must answer `expectStatus` within
/// the latency budget.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Probe {
    pub name: String,
    pub url: String,
    #[serde(default = "defaults::expect_status")]
    pub expect_status: u16,
    #[serde(default = "defaults::latency_budget_ms")]
    pub latency_budget_ms: u64,
    #[serde(default = "defaults::requests")]
    pub requests: u32,
}

mod defaults {
    pub fn expect_status() -> u16 {
        200
    }
    pub fn latency_budget_ms() -> u64 {
        1000
    }
    pub fn requests() -> u32 {
        3
    }
}

impl HookConfig {
    /// Parse and validate a configuration document; `source` says where it came from.
    pub fn parse(source: &str, value: serde_json::Value, known: &[&str]) -> Result<Self> {
        let config: HookConfig = serde_json::from_value(value)
            .map_err(|e| Error::invalid_input(format!("hook configuration {source}: {e}")))?;
        config.validate(known).map_err(|e| {
            Error::invalid_input(format!("hook configuration {source}: {}", e.message()))
        })?;
        Ok(config)
    }

    /// Unknown hook names, probes that could never pass and canaries CloudWatch would reject are
    /// configuration errors, not silently skipped checks.
    pub fn validate(&self, known: &[&str]) -> Result<()> {
        if let Some(d) = self.deadline_seconds {
            limits::check("deadlineSeconds", d, &limits::HOOK_DEADLINE_SECONDS)?;
        }
        for (hook, set) in &self.hooks {
            if !known.contains(&hook.as_str()) {
                return Err(Error::invalid_input(format!(
                    "unknown hook {hook:?}; expected one of {}",
                    known.join(", ")
                )));
            }
            for p in &set.probes {
                if !(p.url.starts_with("http://") || p.url.starts_with("https://")) {
                    return Err(Error::invalid_input(format!(
                        "{hook}: probe {:?}: url must start with http:// or https://, got {:?}",
                        p.name, p.url
                    )));
                }
                if !limits::PROBE_REQUESTS.contains(&p.requests)
                    || !limits::PROBE_LATENCY_MS.contains(&p.latency_budget_ms)
                    || !(100..=599).contains(&p.expect_status)
                {
                    return Err(Error::invalid_input(format!(
                        "{hook}: probe {:?}: requests must be 1 to 1000, latencyBudgetMs 1 to 60000 and expectStatus an HTTP status",
                        p.name
                    )));
                }
            }
            if let Some(canary) = &set.canary {
                // A hook knows no deploy start: its baseline must be the old revision's metrics.
                if let Some(a) = &canary.analysis {
                    if a.baseline.source == crate::model::BaselineSource::BeforeDeploy {
                        return Err(Error::invalid_input(format!(
                            "{hook}: canary.analysis.baseline source \"beforeDeploy\" needs the deploy's start, which a hook does not know: use source \"dimensions\" (the old revision's target group)"
                        )));
                    }
                }
                validate(canary)
                    .map_err(|e| Error::invalid_input(format!("{hook}: {}", e.message())))?;
            }
        }
        Ok(())
    }

    pub fn checks_for(&self, hook: &str) -> Option<&CheckSet> {
        self.hooks.get(hook)
    }
}

/// The checks' combined outcome at one hook, with the numbers behind it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HookVerdict {
    pub verdict: Verdict,
    pub detail: String,
    pub checks: Vec<CheckResult>,
}

impl HookVerdict {
    /// A failure that is not a check's own verdict: a panic, a deadline, a lookup that failed.
    pub fn failed(detail: impl Into<String>) -> Self {
        Self {
            verdict: Verdict::Fail,
            detail: detail.into(),
            checks: vec![],
        }
    }

    /// Whether the hook passes: FAIL never does; INCONCLUSIVE does only when the canary says
    /// `onInconclusive: promote` (no data is not a pass by default).
    pub fn passes(&self, on_inconclusive: OnInconclusive) -> bool {
        match self.verdict {
            Verdict::Pass => true,
            Verdict::Fail => false,
            Verdict::Inconclusive => on_inconclusive == OnInconclusive::Promote,
        }
    }
}

/// The checks a hook can run; the live implementation talks HTTP and CloudWatch, tests inject
/// others (a check that panics or hangs).
pub trait Checker: Sync {
    fn probe<'a>(&'a self, probe: &'a Probe) -> BoxFuture<'a, CheckResult>;
    fn canary<'a>(
        &'a self,
        canary: &'a CanaryConfig,
        now: DateTime,
    ) -> BoxFuture<'a, Result<Vec<CheckResult>>>;
}

/// HTTP probes with reqwest, canaries with CloudWatch.
pub struct LiveChecker {
    http: reqwest::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

impl LiveChecker {
    pub fn new(cloudwatch: aws_sdk_cloudwatch::Client) -> Self {
        Self {
            http: http_client(),
            cloudwatch,
        }
    }
}

/// The probes' HTTP client: no redirects followed (a redirect is an answer to judge), TLS through
/// the rustls + aws-lc-rs stack the AWS SDK already links.
pub fn http_client() -> reqwest::Client {
    // Installing fails only when a provider is already installed, which is just as good.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("berth-hook/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("the HTTP client's static configuration is valid")
}

impl Checker for LiveChecker {
    fn probe<'a>(&'a self, probe: &'a Probe) -> BoxFuture<'a, CheckResult> {
        http_probe(&self.http, probe).boxed()
    }

    fn canary<'a>(
        &'a self,
        canary: &'a CanaryConfig,
        now: DateTime,
    ) -> BoxFuture<'a, Result<Vec<CheckResult>>> {
        crate::cloudwatch::read_checks(&self.cloudwatch, canary, now, None).boxed()
    }
}

/// Send `requests` GETs one after the other; the first wrong status, error or answer slower than
/// the budget fails the probe.
pub async fn http_probe(http: &reqwest::Client, probe: &Probe) -> CheckResult {
    let budget = Duration::from_millis(probe.latency_budget_ms);
    let mut latencies = Vec::with_capacity(probe.requests as usize);
    let fail = |detail: String, latencies: Vec<f64>| CheckResult {
        name: format!("probe {}", probe.name),
        verdict: Verdict::Fail,
        detail,
        values: latencies,
        threshold: Some(probe.latency_budget_ms as f64),
        analysis: None,
    };
    for i in 1..=probe.requests {
        let started = Instant::now();
        let response = http.get(&probe.url).timeout(budget).send().await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        match response {
            Err(e) if e.is_timeout() => {
                return fail(
                    format!(
                        "request {i} to {}: no answer within the {} ms budget",
                        probe.url, probe.latency_budget_ms
                    ),
                    latencies,
                )
            }
            Err(e) => {
                return fail(
                    format!("request {i} to {}: {}", probe.url, error_chain(&e)),
                    latencies,
                )
            }
            Ok(r) => {
                latencies.push(ms.round());
                let status = r.status().as_u16();
                if status != probe.expect_status {
                    return fail(
                        format!(
                            "request {i} to {}: HTTP {status}, expected {}",
                            probe.url, probe.expect_status
                        ),
                        latencies,
                    );
                }
                if ms > probe.latency_budget_ms as f64 {
                    return fail(
                        format!(
                            "request {i} to {}: {ms:.0} ms, over the {} ms budget",
                            probe.url, probe.latency_budget_ms
                        ),
                        latencies,
                    );
                }
            }
        }
    }
    let slowest = latencies.iter().cloned().fold(0.0, f64::max);
    CheckResult {
        name: format!("probe {}", probe.name),
        verdict: Verdict::Pass,
        detail: format!(
            "{n}/{n} requests answered {} within {} ms (slowest {slowest:.0} ms)",
            probe.expect_status,
            probe.latency_budget_ms,
            n = probe.requests
        ),
        values: latencies,
        threshold: Some(probe.latency_budget_ms as f64),
        analysis: None,
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// Run every check of `set`: probes first, then the canary. A canary that cannot read CloudWatch
/// is INCONCLUSIVE (never a pass). No checks at all passes: nothing was asked for.
pub async fn run_checks(
    checker: &dyn Checker,
    hook: &str,
    set: &CheckSet,
    now: DateTime,
) -> HookVerdict {
    let mut checks = Vec::new();
    for p in &set.probes {
        let result = checker.probe(p).await;
        tracing::info!(hook, check = %result.name, verdict = ?result.verdict, values = ?result.values, "{}", result.detail);
        checks.push(result);
    }
    if let Some(canary) = &set.canary {
        match checker.canary(canary, now).await {
            Ok(results) => {
                for r in &results {
                    tracing::info!(hook, check = %r.name, verdict = ?r.verdict, values = ?r.values, threshold = ?r.threshold, "{}", r.detail);
                }
                checks.extend(results)
            }
            Err(e) => checks.push(CheckResult {
                name: "canary".into(),
                verdict: Verdict::Inconclusive,
                detail: format!("could not read CloudWatch: {e}"),
                values: vec![],
                threshold: None,
                analysis: None,
            }),
        }
    }
    if checks.is_empty() {
        return HookVerdict {
            verdict: Verdict::Pass,
            detail: format!("{hook}: no checks configured"),
            checks,
        };
    }
    // Metrics compared with the baseline count through the analysis's score, as in evaluate-canary.
    let (verdict, scored) = match &set.canary {
        Some(canary) => crate::canary::verdict(canary, &checks),
        None => (overall(&checks), None),
    };
    let mut named: Vec<String> = scored
        .iter()
        .map(|s| format!("canary analysis {:?} ({})", s.outcome, s.reason))
        .collect();
    named.extend(
        checks
            .iter()
            .filter(|c| c.verdict != Verdict::Pass || verdict == Verdict::Pass)
            .map(|c| match &c.analysis {
                Some(_) => format!("{} {}", c.name, c.detail),
                None => format!("{} {:?} ({})", c.name, c.verdict, c.detail),
            }),
    );
    HookVerdict {
        verdict,
        detail: format!("{hook}: {}", named.join("; ")),
        checks,
    }
}

/// The guard around a hook's checks (its own crate, so its release build is tested as shipped).
pub use berth_guard::guarded;

/// `BERTH_HOOK_MARGIN_SECONDS` (default 5): how long before the Lambda's own timeout a hook stops
/// its checks so that its answer still goes out.
pub fn margin_from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Duration> {
    match get("BERTH_HOOK_MARGIN_SECONDS").filter(|v| !v.trim().is_empty()) {
        None => Ok(Duration::from_secs(5)),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| {
                Error::invalid_input(format!(
                    "BERTH_HOOK_MARGIN_SECONDS={v:?} is not a whole number of seconds"
                ))
            }),
    }
}

/// The time assumed left when the invocation's deadline is not believable (one definition for
/// every handler's budget and the hooks' check budget).
pub use crate::lambda::UNKNOWN_DEADLINE;

/// The time the hook may spend on checks: the configured deadline, cut to leave `margin` before
/// the Lambda's own deadline (epoch milliseconds, as `lambda_runtime::Context::deadline`).
pub fn check_budget(
    configured: Option<u64>,
    lambda_deadline_ms: u64,
    now_ms: u64,
    margin: Duration,
) -> Duration {
    // Lambda always sends a deadline in the future. One already past cannot be trusted (cargo
    // lambda's emulator sends a constant 600000 ms, i.e. 1970): assume the shortest timeout berth's
    // template gives a hook rather than cutting every check to nothing.
    let left = if lambda_deadline_ms > now_ms {
        Duration::from_millis(lambda_deadline_ms - now_ms)
    } else {
        tracing::warn!(
            lambda_deadline_ms,
            now_ms,
            "the invocation's deadline is already past; assuming {} s",
            UNKNOWN_DEADLINE.as_secs()
        );
        UNKNOWN_DEADLINE
    }
    .saturating_sub(margin);
    match configured {
        Some(s) => left.min(Duration::from_secs(s)),
        None => left,
    }
    .max(Duration::from_millis(100))
}

#[cfg(test)]
mod tests;
