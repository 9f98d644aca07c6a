//! Follow an execution until it ends: its progress lines as they happen, then its verdict.

use std::time::Duration;

use aws_sdk_sfn::Client;
use berth::model::{Outcome, Summary};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{sdk, CliError};
use crate::exit::Exit;
use crate::progress::{self, Event};

/// One service's outcome, as the Map's results name it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServiceResult {
    pub cluster: String,
    pub service: String,
    pub outcome: Outcome,
}

/// A finished (or, when the CLI stopped waiting, still running) execution: what `deploy` and
/// `watch` print and exit with.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub execution_arn: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    pub services: Vec<ServiceResult>,
    pub started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    pub duration_seconds: f64,
    pub exit: Exit,
    pub exit_code: u8,
}

/// How often to poll and how long to wait.
#[derive(Debug, Clone, Copy)]
pub struct Waiting {
    pub poll: Duration,
    /// `None`: until the execution ends.
    pub max_wait: Option<Duration>,
}

/// Every event of the execution and of the service executions it started (each service deploys
/// in its own), in time order.
pub async fn history(sfn: &Client, arn: &str) -> Result<Vec<Event>, CliError> {
    let mut events = one_history(sfn, arn).await?;
    let children: Vec<String> = events.iter().filter_map(Event::started_execution).collect();
    for child in children {
        events.extend(one_history(sfn, &child).await?);
    }
    // stable: each execution's own order is kept among equal times
    events.sort_by(|a, b| a.timestamp.total_cmp(&b.timestamp));
    Ok(events)
}

/// The service executions an execution started (its DeployService states'), in order.
pub async fn started_executions(sfn: &Client, arn: &str) -> Result<Vec<String>, CliError> {
    Ok(one_history(sfn, arn)
        .await?
        .iter()
        .filter_map(Event::started_execution)
        .collect())
}

/// Every event of one execution, oldest first.
async fn one_history(sfn: &Client, arn: &str) -> Result<Vec<Event>, CliError> {
    let mut events = Vec::new();
    let mut pages = sfn
        .get_execution_history()
        .execution_arn(arn)
        .max_results(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk("GetExecutionHistory", e))?;
        events.extend(page.events().iter().map(Event::from));
    }
    Ok(events)
}

/// Each service's outcome: the Map's results in the history, else the summary in the output.
pub fn outcomes(events: &[Event], output: Option<&str>) -> Vec<ServiceResult> {
    let from_map = events.iter().rev().find_map(|e| {
        let d = e.state_exited_event_details.as_ref()?;
        if d.name != progress::MAP_STATE {
            return None;
        }
        let out: Value = serde_json::from_str(d.output.as_deref()?).ok()?;
        serde_json::from_value::<Vec<ServiceResult>>(out.get("results")?.clone()).ok()
    });
    from_map
        .or_else(|| {
            let out: Value = serde_json::from_str(output?).ok()?;
            let summary: Summary = serde_json::from_value(out.get("summary")?.clone()).ok()?;
            Some(
                summary
                    .services
                    .into_iter()
                    .map(|s| ServiceResult {
                        cluster: s.cluster,
                        service: s.service,
                        outcome: s.outcome,
                    })
                    .collect(),
            )
        })
        .unwrap_or_default()
}

/// Poll the execution, calling `on_line` once per progress line, until it ends or the wait is
/// over. A verdict whose status is still RUNNING means the CLI stopped waiting.
pub async fn follow(
    sfn: &Client,
    arn: &str,
    waiting: Waiting,
    mut on_line: impl FnMut(&str),
) -> Result<Verdict, CliError> {
    let begun = std::time::Instant::now();
    let mut seen = 0;
    loop {
        let desc = sfn
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .map_err(|e| sdk("DescribeExecution", e))?;
        let started = progress::seconds(desc.start_date());
        let events = history(sfn, arn).await?;
        for e in events.iter().skip(seen) {
            if let Some(line) = progress::line(e, started) {
                on_line(&line);
            }
        }
        seen = seen.max(events.len());
        let status = desc.status().as_str().to_owned();
        let over = waiting.max_wait.is_some_and(|m| begun.elapsed() >= m);
        if status != "RUNNING" || over {
            let services = outcomes(&events, desc.output());
            let outcomes: Vec<Outcome> = services.iter().map(|s| s.outcome).collect();
            let exit = Exit::of_execution(&status, desc.error(), &outcomes);
            let stopped = desc.stop_date().map(progress::seconds);
            let now = progress::seconds(&berth::time::now());
            return Ok(Verdict {
                execution_arn: arn.to_owned(),
                status,
                error: desc.error().map(str::to_owned),
                cause: desc.cause().map(progress::lambda_message),
                services,
                started_at: rfc3339(started),
                stopped_at: stopped.map(rfc3339),
                duration_seconds: round1(stopped.unwrap_or(now) - started),
                exit,
                exit_code: exit.code(),
            });
        }
        tokio::time::sleep(waiting.poll).await;
    }
}

/// The human form of a verdict: the outcome, the cause, the execution.
pub fn render(v: &Verdict) -> String {
    let services = if v.services.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = v
            .services
            .iter()
            .map(|s| format!("{}/{} {}", s.cluster, s.service, progress::wire(&s.outcome)))
            .collect();
        format!(": {}", list.join(", "))
    };
    let mut out = format!("{} after {:.1}s{services}\n", v.status, v.duration_seconds);
    if let Some(e) = &v.error {
        out.push_str(&format!("error: {e}\n"));
    }
    if let Some(c) = &v.cause {
        out.push_str(&format!("cause: {c}\n"));
    }
    out.push_str(&format!(
        "execution: {}\nexit: {}\n",
        v.execution_arn, v.exit
    ));
    out
}

/// RFC 3339 to the second.
pub fn rfc3339(secs: f64) -> String {
    berth::time::format(aws_smithy_types::DateTime::from_secs(secs.floor() as i64))
}

pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
    use aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput;
    use aws_sdk_sfn::types::{
        ExecutionStatus, HistoryEvent, HistoryEventType, StateExitedEventDetails,
    };
    use aws_smithy_mocks::mock;
    use aws_smithy_types::DateTime;
    use berth::testing::mock_client;

    use super::*;

    const ARN: &str = "arn:aws:states:eu-west-1:123456789012:execution:berth-deploy:x";

    fn described(status: ExecutionStatus, error: Option<&str>) -> DescribeExecutionOutput {
        DescribeExecutionOutput::builder()
            .execution_arn(ARN)
            .state_machine_arn("arn:aws:states:eu-west-1:123456789012:stateMachine:berth-deploy")
            .status(status)
            .start_date(DateTime::from_secs(1000))
            .set_stop_date(error.map(|_| DateTime::from_secs(1042)))
            .set_error(error.map(str::to_owned))
            .set_cause(error.map(|_| "prod/web: rolled back, now running web:1".to_owned()))
            .build()
            .expect("output")
    }

    fn exited(id: i64, at: i64, name: &str, output: serde_json::Value) -> HistoryEvent {
        HistoryEvent::builder()
            .id(id)
            .timestamp(DateTime::from_secs(at))
            .r#type(HistoryEventType::TaskStateExited)
            .state_exited_event_details(
                StateExitedEventDetails::builder()
                    .name(name)
                    .output(output.to_string())
                    .build()
                    .expect("d"),
            )
            .build()
            .expect("event")
    }

    #[tokio::test]
    async fn each_line_is_printed_once_and_the_rolled_back_execution_exits_3() {
        let turn = exited(
            1,
            1001,
            "AcquireTurn",
            serde_json::json!({"service": "web",
            "turn": {"decision": "GO", "detail": "first", "others": []}}),
        );
        let map = exited(
            2,
            1040,
            "DeployEachService",
            serde_json::json!({"results": [
            {"cluster": "prod", "service": "web", "outcome": "ROLLED_BACK", "detail": {}}]}),
        );
        let describe = mock!(aws_sdk_sfn::Client::describe_execution)
            .sequence()
            .output(|| described(ExecutionStatus::Running, None))
            .output(|| described(ExecutionStatus::Failed, Some("DeploymentRolledBack")))
            .build();
        let history = mock!(aws_sdk_sfn::Client::get_execution_history)
            .sequence()
            .output({
                let turn = turn.clone();
                move || {
                    GetExecutionHistoryOutput::builder()
                        .events(turn.clone())
                        .build()
                        .expect("h")
                }
            })
            .output(move || {
                GetExecutionHistoryOutput::builder()
                    .events(turn.clone())
                    .events(map.clone())
                    .build()
                    .expect("h")
            })
            .build();
        let sfn = mock_client!(aws_sdk_sfn, [&describe, &history]);
        let mut lines = Vec::new();
        let waiting = Waiting {
            poll: Duration::from_millis(1),
            max_wait: None,
        };
        let v = follow(&sfn, ARN, waiting, |l| lines.push(l.to_owned()))
            .await
            .expect("verdict");
        assert_eq!(lines, vec!["[   1.0s] web: turn GO: first"]);
        assert_eq!(v.exit, Exit::RolledBack);
        assert_eq!(v.exit_code, 3);
        assert_eq!(v.duration_seconds, 42.0);
        assert_eq!(v.services[0].outcome, Outcome::RolledBack);
        let text = render(&v);
        assert!(
            text.contains("error: DeploymentRolledBack\ncause: prod/web: rolled back"),
            "{text}"
        );
        assert!(text.contains("exit: 3 (rolled-back)"), "{text}");
    }

    #[tokio::test]
    async fn the_cli_stops_waiting_with_exit_6() {
        let describe = mock!(aws_sdk_sfn::Client::describe_execution)
            .then_output(|| described(ExecutionStatus::Running, None));
        let history = mock!(aws_sdk_sfn::Client::get_execution_history).then_output(|| {
            GetExecutionHistoryOutput::builder()
                .set_events(Some(vec![]))
                .build()
                .expect("h")
        });
        let sfn = mock_client!(aws_sdk_sfn, [&describe, &history]);
        let waiting = Waiting {
            poll: Duration::from_millis(1),
            max_wait: Some(Duration::ZERO),
        };
        let v = follow(&sfn, ARN, waiting, |_| {}).await.expect("verdict");
        assert_eq!((v.status.as_str(), v.exit), ("RUNNING", Exit::TimedOut));
    }
}
