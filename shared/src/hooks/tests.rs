use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::error::ErrorName;
use crate::testing::{ProbeScript, ScriptedChecker};

/// A real HTTP server on a loopback port answering every request with `status` after `delay`.
/// Returns its base URL and a request counter.
async fn server(status: u16, delay: Duration) -> (String, Arc<AtomicU32>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicU32::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ = sock.read(&mut buf).await;
                seen.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                let body = "{}";
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}/health"), count)
}

fn probe(url: &str, budget_ms: u64) -> Probe {
    Probe {
        name: "health".into(),
        url: url.into(),
        expect_status: 200,
        latency_budget_ms: budget_ms,
        requests: 3,
    }
}

fn http() -> reqwest::Client {
    http_client()
}

#[tokio::test]
async fn a_probe_passes_when_every_request_answers_the_expected_status_in_budget() {
    let (url, count) = server(200, Duration::ZERO).await;
    let r = http_probe(&http(), &probe(&url, 2000)).await;
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.detail);
    assert_eq!(r.values.len(), 3);
    assert_eq!(count.load(Ordering::SeqCst), 3);
    assert_eq!(r.threshold, Some(2000.0));
    assert!(
        r.detail
            .starts_with("3/3 requests answered 200 within 2000 ms"),
        "{}",
        r.detail
    );
}

#[tokio::test]
async fn a_wrong_status_fails_the_probe_at_the_first_request() {
    let (url, count) = server(503, Duration::ZERO).await;
    let r = http_probe(&http(), &probe(&url, 2000)).await;
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(
        r.detail.contains("request 1") && r.detail.contains("HTTP 503, expected 200"),
        "{}",
        r.detail
    );
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "stops at the first failure"
    );
    assert_eq!(r.name, "probe health");
}

#[tokio::test]
async fn an_answer_slower_than_the_budget_fails_the_probe() {
    let (url, _) = server(200, Duration::from_millis(400)).await;
    let r = http_probe(&http(), &probe(&url, 100)).await;
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(
        r.detail.contains("no answer within the 100 ms budget"),
        "{}",
        r.detail
    );
}

#[tokio::test]
async fn a_refused_connection_fails_the_probe_with_the_cause() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    let r = http_probe(&http(), &probe(&url, 1000)).await;
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(r.detail.starts_with("request 1 to"), "{}", r.detail);
}

#[test]
fn a_complete_configuration_parses() {
    let config = HookConfig::parse(
        "test",
        json!({
            "deadlineSeconds": 45,
            "hooks": {
                "AfterAllowTestTraffic": {
                    "probes": [{"name": "health", "url": "http://test.internal:8080/health", "expectStatus": 200, "latencyBudgetMs": 300, "requests": 5}]
                },
                "AfterAllowTraffic": {
                    "canary": {"alarms": ["web-5xx"], "metrics": [{"name": "p99", "threshold": 0.5,
                        "metric": {"namespace": "AWS/ApplicationELB", "metricName": "TargetResponseTime", "stat": "p99",
                                   "dimensions": {"TargetGroup": "targetgroup/web-green/0123"}}}]}
                }
            }
        }),
        &CODEDEPLOY_HOOKS,
    )
    .unwrap();
    assert_eq!(config.deadline_seconds, Some(45));
    let set = config.checks_for("AfterAllowTestTraffic").unwrap();
    assert_eq!(set.probes[0].requests, 5);
    assert!(config.checks_for("BeforeInstall").is_none());
    assert_eq!(
        config
            .checks_for("AfterAllowTraffic")
            .unwrap()
            .canary
            .as_ref()
            .unwrap()
            .alarms,
        ["web-5xx"]
    );
}

#[test]
fn configuration_mistakes_are_named_errors_not_skipped_checks() {
    let cases = [
        (
            json!({"hooks": {"AfterAllowTestTrafic": {}}}),
            "unknown hook \"AfterAllowTestTrafic\"",
        ),
        (
            json!({"hooks": {"POST_TEST_TRAFFIC_SHIFT": {}}}),
            "unknown hook",
        ),
        (
            json!({"hooks": {"AfterInstall": {"probes": [{"name": "h", "url": "test:8080/health"}]}}}),
            "url must start with http",
        ),
        (
            json!({"hooks": {"AfterInstall": {"probes": [{"name": "h", "url": "http://x", "latencyBudget": 5}]}}}),
            "unknown field `latencyBudget`",
        ),
        (
            json!({"hooks": {"AfterInstall": {"probes": [{"name": "h", "url": "http://x", "requests": 0}]}}}),
            "requests must be 1 to 1000",
        ),
        (
            json!({"hooks": {"AfterInstall": {"probes": [{"name": "h", "url": "http://x", "latencyBudgetMs": 600_000}]}}}),
            "latencyBudgetMs 1 to 60000",
        ),
        (
            json!({"deadlineSeconds": u64::MAX}),
            "deadlineSeconds = 18446744073709551615 is out of range",
        ),
        (json!({"deadlineSeconds": 1_000_000_000}), "deadlineSeconds"),
        (
            json!({"hooks": {"AfterInstall": {"canary": {}}}}),
            "at least one entry",
        ),
        (json!({"deadlineSeconds": 0}), "deadlineSeconds"),
        (json!({"hooks": []}), "invalid type"),
    ];
    for (doc, expected) in cases {
        let e = HookConfig::parse("/berth/checks/prod/web", doc.clone(), &CODEDEPLOY_HOOKS)
            .unwrap_err();
        assert_eq!(e.name(), ErrorName::InvalidInput, "{doc}");
        assert!(e.message().contains(expected), "{doc}: {}", e.message());
        assert!(
            e.message().contains("/berth/checks/prod/web"),
            "{}",
            e.message()
        );
    }
}

fn set(probes: usize, canary: bool) -> CheckSet {
    CheckSet {
        probes: (0..probes)
            .map(|i| probe(&format!("http://x/{i}"), 100))
            .collect(),
        canary: canary.then(|| serde_json::from_value(json!({"alarms": ["a"]})).unwrap()),
    }
}

#[tokio::test]
async fn run_checks_combines_probes_and_canary_and_names_what_failed() {
    let now = DateTime::from_secs(1_700_000_000);
    let cases = [
        (Verdict::Pass, Ok(vec![Verdict::Pass]), Verdict::Pass),
        (Verdict::Fail, Ok(vec![Verdict::Pass]), Verdict::Fail),
        (
            Verdict::Pass,
            Ok(vec![Verdict::Fail, Verdict::Pass]),
            Verdict::Fail,
        ),
        (
            Verdict::Pass,
            Ok(vec![Verdict::Inconclusive]),
            Verdict::Inconclusive,
        ),
        (Verdict::Pass, Err(()), Verdict::Inconclusive),
    ];
    for (probe, canary, expected) in cases {
        let checker = ScriptedChecker {
            probe: ProbeScript::Answer(probe),
            canary: canary.clone(),
        };
        let v = run_checks(&checker, "AfterAllowTestTraffic", &set(1, true), now).await;
        assert_eq!(v.verdict, expected, "{probe:?} {canary:?}: {}", v.detail);
        assert!(
            v.detail.starts_with("AfterAllowTestTraffic: "),
            "{}",
            v.detail
        );
        if expected == Verdict::Fail {
            let failing = v
                .checks
                .iter()
                .find(|c| c.verdict == Verdict::Fail)
                .unwrap();
            assert!(v.detail.contains(&failing.name), "{}", v.detail);
            assert!(
                !v.detail.contains("Pass ("),
                "only the failing checks are named: {}",
                v.detail
            );
        }
    }
    let v = run_checks(
        &ScriptedChecker {
            probe: ProbeScript::Answer(Verdict::Pass),
            canary: Err(()),
        },
        "AfterAllowTraffic",
        &set(0, true),
        now,
    )
    .await;
    assert!(
        v.detail.contains("could not read CloudWatch: Throttled"),
        "{}",
        v.detail
    );
}

#[tokio::test]
async fn no_checks_configured_passes_and_says_so() {
    let v = run_checks(
        &ScriptedChecker {
            probe: ProbeScript::Answer(Verdict::Fail),
            canary: Err(()),
        },
        "BeforeInstall",
        &CheckSet::default(),
        DateTime::from_secs(0),
    )
    .await;
    assert_eq!(v.verdict, Verdict::Pass);
    assert_eq!(v.detail, "BeforeInstall: no checks configured");
}

#[test]
fn inconclusive_passes_only_when_the_canary_says_promote() {
    let v = |verdict| HookVerdict {
        verdict,
        detail: String::new(),
        checks: vec![],
    };
    assert!(v(Verdict::Pass).passes(OnInconclusive::Rollback));
    assert!(!v(Verdict::Fail).passes(OnInconclusive::Promote));
    assert!(!v(Verdict::Inconclusive).passes(OnInconclusive::Rollback));
    assert!(v(Verdict::Inconclusive).passes(OnInconclusive::Promote));
}

#[tokio::test]
async fn guarded_turns_a_panic_into_an_error_naming_it() {
    let r: std::result::Result<(), String> =
        guarded("AfterInstall", Duration::from_secs(5), async {
            panic!("index out of bounds in the probe")
        })
        .await;
    assert_eq!(
        r.unwrap_err(),
        "AfterInstall: a check panicked (index out of bounds in the probe)"
    );
    let formatted: std::result::Result<(), String> = guarded("X", Duration::from_secs(5), async {
        let n = 3;
        panic!("value {n}")
    })
    .await;
    assert_eq!(formatted.unwrap_err(), "X: a check panicked (value 3)");
}

#[tokio::test]
async fn guarded_stops_a_check_that_runs_past_the_deadline() {
    let started = Instant::now();
    let r = guarded(
        "AfterAllowTestTraffic",
        Duration::from_millis(200),
        tokio::time::sleep(Duration::from_secs(30)),
    )
    .await;
    assert_eq!(
        r.unwrap_err(),
        "AfterAllowTestTraffic: checks still running at the 0.2 s deadline"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        guarded("X", Duration::from_secs(1), async { 7 }).await,
        Ok(7)
    );
}

#[test]
fn the_check_budget_leaves_the_margin_before_the_lambda_deadline() {
    let margin = Duration::from_secs(5);
    // 60 s left: the configured 20 s wins; without one, 55 s.
    assert_eq!(
        check_budget(Some(20), 160_000, 100_000, margin),
        Duration::from_secs(20)
    );
    assert_eq!(
        check_budget(None, 160_000, 100_000, margin),
        Duration::from_secs(55)
    );
    // 10 s left: a configured 20 s is cut to 5 s.
    assert_eq!(
        check_budget(Some(20), 110_000, 100_000, margin),
        Duration::from_secs(5)
    );
    // 0.2 s left: a token 100 ms, so the report still goes out at once.
    assert_eq!(
        check_budget(None, 100_200, 100_000, margin),
        Duration::from_millis(100)
    );
    // A deadline already past is not believable (cargo lambda's emulator sends 600000 ms):
    // 30 s are assumed, minus the margin.
    assert_eq!(
        check_budget(None, 600_000, 100_000_000, margin),
        Duration::from_secs(25)
    );
}

#[test]
fn a_misspelt_top_level_key_is_refused_not_ignored() {
    // `hook` for `hooks` would otherwise silently configure no check at all
    let err = HookConfig::parse(
        "SSM /berth/checks/prod/web",
        serde_json::json!({"hook": {"AfterAllowTestTraffic": {"probes": []}}}),
        &CODEDEPLOY_HOOKS,
    )
    .unwrap_err();
    assert_eq!(err.name(), crate::error::ErrorName::InvalidInput);
    assert!(
        err.message().contains("unknown field `hook`"),
        "{}",
        err.message()
    );
}

/// A checker whose canary answers with metrics judged against a baseline.
struct ComparedChecker(Vec<CheckResult>);

impl Checker for ComparedChecker {
    fn probe<'a>(&'a self, _: &'a Probe) -> BoxFuture<'a, CheckResult> {
        unreachable!("no probes in these sets")
    }
    fn canary<'a>(
        &'a self,
        _: &'a CanaryConfig,
        _: DateTime,
    ) -> BoxFuture<'a, Result<Vec<CheckResult>>> {
        let out = self.0.clone();
        async move { Ok(out) }.boxed()
    }
}

fn analysis_hooks(p99_compare: serde_json::Value) -> HookConfig {
    let tg = |t: &str| json!({"TargetGroup": t, "LoadBalancer": "app/web/1"});
    HookConfig::parse(
        "/berth/checks/prod/web",
        json!({"hooks": {"AfterAllowTraffic": {"canary": {
            "analysis": {"baseline": {"source": "dimensions", "dimensions": {"TargetGroup": "targetgroup/blue/1"}}},
            "metrics": [
                {"name": "5xx", "metric": {"namespace": "AWS/ApplicationELB", "metricName": "HTTPCode_Target_5XX_Count", "stat": "Sum", "dimensions": tg("targetgroup/green/1")},
                 "compare": {"direction": "increase"}},
                {"name": "p99", "metric": {"namespace": "AWS/ApplicationELB", "metricName": "TargetResponseTime", "stat": "p99", "dimensions": tg("targetgroup/green/1")},
                 "compare": p99_compare}]}}}}),
        &CODEDEPLOY_HOOKS,
    )
    .unwrap()
}

fn compared(config: &HookConfig, name: &str, canary: &[f64]) -> CheckResult {
    let set = config.checks_for("AfterAllowTraffic").unwrap();
    let c = set.canary.as_ref().unwrap();
    let m = c.metrics.iter().find(|m| m.name == name).unwrap();
    let baseline = [1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 1.0, 1.02];
    crate::canary::judge_comparison(m, m.compare.as_ref().unwrap(), 0.99, canary, &baseline)
}

#[tokio::test]
async fn a_hooks_canary_is_judged_by_the_analysis_score() {
    // GIVEN green's p99 twice blue's
    let slow = [2.0, 2.2, 1.8, 2.0, 2.1, 1.9, 2.0, 2.04];
    let same = [1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 1.0, 1.02];
    let config = analysis_hooks(json!({"direction": "increase"}));
    let set = config.checks_for("AfterAllowTraffic").unwrap();
    let checker = ComparedChecker(vec![
        compared(&config, "5xx", &same),
        compared(&config, "p99", &slow),
    ]);
    let v = run_checks(&checker, "AfterAllowTraffic", set, DateTime::from_secs(0)).await;
    // THEN the score (50 < 75) fails the hook, naming the metric and its numbers
    assert_eq!(v.verdict, Verdict::Fail);
    assert!(
        v.detail.starts_with("AfterAllowTraffic: canary analysis Fail (score 50 < marginal 75; failing: p99 HIGH); p99 HIGH: canary median 2"),
        "{}",
        v.detail
    );
    // AND the same metric as a dry run is reported but passes the hook
    let config = analysis_hooks(json!({"direction": "increase", "dryRun": true}));
    let set = config.checks_for("AfterAllowTraffic").unwrap();
    let checker = ComparedChecker(vec![
        compared(&config, "5xx", &same),
        compared(&config, "p99", &slow),
    ]);
    let v = run_checks(&checker, "AfterAllowTraffic", set, DateTime::from_secs(0)).await;
    assert_eq!(v.verdict, Verdict::Pass, "{}", v.detail);
    assert!(v.detail.contains("p99 HIGH [dry run]"), "{}", v.detail);
}

#[test]
fn a_hook_refuses_a_before_deploy_baseline() {
    let err = HookConfig::parse(
        "/berth/checks/prod/web",
        json!({"hooks": {"AfterAllowTraffic": {"canary": {
            "analysis": {"baseline": {"source": "beforeDeploy"}},
            "metrics": [{"name": "p99", "metric": {"namespace": "AWS/ApplicationELB", "metricName": "TargetResponseTime"},
                         "compare": {"direction": "increase"}}]}}}}),
        &CODEDEPLOY_HOOKS,
    )
    .unwrap_err();
    assert_eq!(err.name(), ErrorName::InvalidInput);
    assert!(
        err.message()
            .contains("\"beforeDeploy\" needs the deploy's start, which a hook does not know"),
        "{}",
        err.message()
    );
}
