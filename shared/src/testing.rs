//! Test helpers: real AWS JSON payloads served to real SDK clients through aws-smithy-mocks, and a
//! scripted hook [`Checker`].
//!
//! Responses go through the SDK's own deserializers, so a fixture with a wrong field name fails the
//! test instead of silently building a struct the real API would never return.

use std::time::Duration;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use crate::error::{Error, ErrorName, Result};
use crate::hooks::{Checker, Probe};
use crate::model::{CanaryConfig, CheckResult, Verdict};
use crate::time::DateTime;

/// A 200 response with an awsJson body (ECS, CodeDeploy, Step Functions).
pub fn ok_json(body: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(200).expect("status"),
        SdkBody::from(body.to_owned()),
    )
}

/// An awsJson error response as AWS sends it: `__type` names the error.
pub fn aws_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let body = serde_json::json!({ "__type": code, "message": message }).to_string();
    HttpResponse::new(
        StatusCode::try_from(status).expect("status"),
        SdkBody::from(body),
    )
}

/// ECS's throttling answer.
pub fn throttled() -> HttpResponse {
    aws_error(400, "ThrottlingException", "Rate exceeded")
}

/// A DescribeServices answer whose services carry the tag `berth:control` = `value` (what
/// `berth abort` / `berth promote` write), for the states that obey it.
pub fn with_control(describe_services: &str, value: &str) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(describe_services).expect("a DescribeServices answer");
    for s in v["services"].as_array_mut().expect("services").iter_mut() {
        let tags = s
            .as_object_mut()
            .expect("a service")
            .entry("tags")
            .or_insert_with(|| serde_json::json!([]));
        tags.as_array_mut()
            .expect("tags")
            .push(serde_json::json!({"key": crate::control::TAG, "value": value}));
    }
    v.to_string()
}

/// Production's attempt count with a 1 ms backoff, so retry tests run in milliseconds.
pub fn fast_retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(crate::aws::MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(2))
}

/// aws-smithy-mocks itself, so [`mock_client!`] reaches it from the functions' tests.
#[doc(hidden)]
pub use aws_smithy_mocks as mocks;

/// A real client of SDK crate `$sdk` (`aws_sdk_ecs`, …) whose calls are answered by `$rules` in any
/// order (the first non-exhausted match answers), with production's retries on a fast backoff:
/// aws-smithy-mocks' `mock_client!` with `RuleMode::MatchAny` and [`fast_retries`]. The calling
/// crate needs `$sdk` with its `test-util` feature.
#[macro_export]
#[doc(hidden)]
macro_rules! __mock_client {
    ($sdk:ident, $rules:expr) => {
        $crate::testing::mocks::mock_client!(
            $sdk,
            $crate::testing::mocks::RuleMode::MatchAny,
            $rules,
            |config| config.retry_config($crate::testing::fast_retries())
        )
    };
}
pub use crate::__mock_client as mock_client;

/// The deployment events an EventBridge mock was sent, in order (each entry's `Detail`, parsed).
pub type SentEvents = std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>;

/// EventBridge accepting every PutEvents (no failed entry); each entry's detail lands in `sent`.
pub fn recording_bus(sent: &SentEvents) -> aws_smithy_mocks::Rule {
    let sent = sent.clone();
    aws_smithy_mocks::mock!(aws_sdk_eventbridge::Client::put_events)
        .match_requests(move |r| {
            sent.lock().unwrap().extend(r.entries().iter().map(|e| {
                serde_json::from_str(e.detail().unwrap_or("null")).expect("a JSON detail")
            }));
            true
        })
        .then_output(|| {
            aws_sdk_eventbridge::operation::put_events::PutEventsOutput::builder()
                .failed_entry_count(0)
                .build()
        })
}

/// What every probe of a [`ScriptedChecker`] does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProbeScript {
    /// Answers this verdict at once, detail `request 1 to <url>: scripted <verdict>`.
    Answer(Verdict),
    /// Panics with `probe <name> blew up`.
    Panic,
    /// Answers only after an hour: a check still running at the hook's deadline.
    Hang,
}

/// A hook [`Checker`] that runs nothing real: every probe does `probe`; the canary answers one
/// result per verdict in `canary` (named `metric0`, `metric1`, …), or, when it is `Err`, fails to
/// read CloudWatch with `Throttled`.
#[derive(Debug, Clone)]
pub struct ScriptedChecker {
    pub probe: ProbeScript,
    pub canary: std::result::Result<Vec<Verdict>, ()>,
}

impl ScriptedChecker {
    /// Probes answer `probe`; the canary's one metric answers `canary`.
    pub fn new(probe: Verdict, canary: Verdict) -> Self {
        Self {
            probe: ProbeScript::Answer(probe),
            canary: Ok(vec![canary]),
        }
    }

    /// Every check passes.
    pub fn passing() -> Self {
        Self::new(Verdict::Pass, Verdict::Pass)
    }

    /// Probes panic; the canary passes.
    pub fn panicking() -> Self {
        Self {
            probe: ProbeScript::Panic,
            ..Self::passing()
        }
    }

    /// Probes hang; the canary passes.
    pub fn hanging() -> Self {
        Self {
            probe: ProbeScript::Hang,
            ..Self::passing()
        }
    }
}

impl Checker for ScriptedChecker {
    fn probe<'a>(&'a self, probe: &'a Probe) -> BoxFuture<'a, CheckResult> {
        async move {
            let verdict = match self.probe {
                ProbeScript::Answer(v) => v,
                ProbeScript::Panic => panic!("probe {} blew up", probe.name),
                ProbeScript::Hang => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Verdict::Pass
                }
            };
            CheckResult {
                name: format!("probe {}", probe.name),
                verdict,
                detail: format!("request 1 to {}: scripted {verdict:?}", probe.url),
                values: vec![1.0],
                threshold: None,
                analysis: None,
            }
        }
        .boxed()
    }

    fn canary<'a>(
        &'a self,
        _: &'a CanaryConfig,
        _: DateTime,
    ) -> BoxFuture<'a, Result<Vec<CheckResult>>> {
        let results = match &self.canary {
            Ok(verdicts) => Ok(verdicts
                .iter()
                .enumerate()
                .map(|(i, &verdict)| CheckResult {
                    name: format!("metric{i}"),
                    verdict,
                    detail: format!("scripted {verdict:?}"),
                    values: vec![1.0],
                    threshold: None,
                    analysis: None,
                })
                .collect()),
            Err(()) => Err(Error::new(
                ErrorName::Throttled,
                "GetMetricData: Rate exceeded",
            )),
        };
        async move { results }.boxed()
    }
}

/// A checked-in file derived from a source (the ASL from its source, the request schema from the
/// Rust types) must be what the source gives today. Fails with the changed lines and the command
/// that regenerates it (`bless`); under `BERTH_BLESS=1`, writes `want` instead. `relative` is the
/// path from the workspace root, `crate_dir` the calling crate's `CARGO_MANIFEST_DIR`.
pub fn assert_current(crate_dir: &str, relative: &str, want: &str, from: &str, bless: &str) {
    let path = std::path::Path::new(crate_dir).join("..").join(relative);
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have == want {
        return;
    }
    if std::env::var("BERTH_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, want).unwrap_or_else(|e| panic!("{relative}: {e}"));
        eprintln!("wrote {relative}");
        return;
    }
    panic!(
        "{relative} is not what {from} gives (-: checked in, +: generated; line numbers of each side):\n{}\n\
         Edit {from}, not {relative}, then regenerate: {bless}",
        changed_lines(&have, want)
    );
}

/// The lines that differ, numbered, at most 80 of them.
pub fn changed_lines(old: &str, new: &str) -> String {
    let (mut left, mut right) = (0, 0);
    let mut out = Vec::new();
    for line in diff::lines(old, new) {
        match line {
            diff::Result::Left(l) => {
                left += 1;
                out.push(format!("-{left:>5} {l}"));
            }
            diff::Result::Right(r) => {
                right += 1;
                out.push(format!("+{right:>5} {r}"));
            }
            diff::Result::Both(..) => {
                left += 1;
                right += 1;
            }
        }
    }
    let more = out.len().saturating_sub(80);
    out.truncate(80);
    if more > 0 {
        out.push(format!("… and {more} more changed lines"));
    }
    out.join("\n")
}

/// A Step Functions history event of `kind` with no details (id and timestamp `id`).
pub fn history_event(
    id: i64,
    kind: aws_sdk_sfn::types::HistoryEventType,
) -> aws_sdk_sfn::types::HistoryEvent {
    aws_sdk_sfn::types::HistoryEvent::builder()
        .id(id)
        .timestamp(aws_sdk_sfn::primitives::DateTime::from_secs(id))
        .r#type(kind)
        .build()
        .unwrap()
}

/// A watch state's TaskScheduled as Step Functions records `lambda:invoke.waitForTaskToken`:
/// its parameters carry `payload` (with the task token) for check-stability.
pub fn watch_scheduled(id: i64, payload: &serde_json::Value) -> aws_sdk_sfn::types::HistoryEvent {
    let parameters = serde_json::json!({"FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:check", "Payload": payload});
    aws_sdk_sfn::types::HistoryEvent::builder()
        .id(id)
        .timestamp(aws_sdk_sfn::primitives::DateTime::from_secs(id))
        .r#type(aws_sdk_sfn::types::HistoryEventType::TaskScheduled)
        .task_scheduled_event_details(
            aws_sdk_sfn::types::TaskScheduledEventDetails::builder()
                .resource_type("lambda")
                .resource("invoke.waitForTaskToken")
                .region("eu-west-1")
                .parameters(parameters.to_string())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

#[cfg(test)]
mod generated_tests {
    use super::*;

    #[test]
    fn a_stale_copy_fails_with_the_changed_lines() {
        assert_eq!(
            changed_lines("a\nb\nc\n", "a\nB\nc\n"),
            "-    2 b\n+    2 B"
        );
        // at most 80 changed lines are shown, then how many more there are
        let old: String = (0..100).map(|i| format!("{i}\n")).collect();
        let new = old.replace('\n', " changed\n");
        let shown = changed_lines(&old, &new);
        assert_eq!(shown.lines().count(), 81, "{shown}");
        assert!(shown.ends_with("… and 120 more changed lines"), "{shown}");
    }

    #[test]
    #[should_panic(expected = "Edit the source, not Cargo.toml, then regenerate: BLESS")]
    fn a_file_that_differs_fails_with_how_to_regenerate() {
        if std::env::var("BERTH_BLESS").is_ok_and(|v| v == "1") {
            panic!("Edit the source, not Cargo.toml, then regenerate: BLESS (skipped under BERTH_BLESS)");
        }
        assert_current(
            env!("CARGO_MANIFEST_DIR"),
            "Cargo.toml",
            "not the manifest",
            "the source",
            "BLESS",
        );
    }
}
