//! Stop-then-start: for consumers that must never run two versions at once (strict FIFO), the old
//! tasks stop before the new ones start, accepting downtime. berth records the desired count,
//! scales the service to 0, waits until no task of it may still be running, then points it at
//! the new revision with the recorded count: the one time berth writes `desiredCount`, restoring
//! what it read. A failure after the scale-down rolls back to the previous revision at that count.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::limits;

/// The service's tag that turns it on for pushes: `true`, or the drain timeout in seconds.
pub const TAG: &str = "berth:stop-then-start";

/// How long the old tasks may take to stop when neither the request nor the tag says: the ALB's
/// default deregistration delay (300 s) plus the longest container stop timeout (120 s), doubled.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 900;

/// The request's `stopThenStart`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StopThenStart {
    /// How long the old tasks may take to stop; past it the deploy fails and the previous
    /// revision is restored at the recorded count. Default 900.
    #[serde(default = "default_timeout")]
    #[cfg_attr(
        feature = "schema",
        schemars(range(
            min = *limits::TIMEOUT_SECONDS.start(),
            max = *limits::TIMEOUT_SECONDS.end()
        ))
    )]
    pub timeout_seconds: u64,
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

impl StopThenStart {
    pub fn check(&self, at: &str) -> Result<()> {
        limits::check(
            &format!("{at}.timeoutSeconds"),
            self.timeout_seconds,
            &limits::TIMEOUT_SECONDS,
        )
    }

    /// The tag's value: `true` (the default timeout) or the timeout in seconds. Anything else is
    /// refused: a typo must not deploy with both versions running.
    pub fn from_tag(service: &str, value: Option<&str>) -> Result<Option<Self>> {
        let Some(raw) = value.map(str::trim) else {
            return Ok(None);
        };
        let timeout_seconds = match raw {
            "true" => DEFAULT_TIMEOUT_SECONDS,
            _ => raw.parse::<u64>().map_err(|_| {
                Error::invalid_input(format!(
                    "service {service} tag {TAG}={raw:?} is neither \"true\" nor a number of seconds"
                ))
            })?,
        };
        let s = StopThenStart { timeout_seconds };
        s.check(&format!("service {service} tag {TAG}"))?;
        Ok(Some(s))
    }
}

/// The stop as the state machine carries it (`$.stopping`): recorded by `RecordDesiredCount`
/// (before anything changes, so a retried scale-down cannot record 0), then updated by each
/// `StopOldTasks`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Stopping {
    /// The desired count read before the scale-down: what the new revision starts with, and what
    /// a rollback restores.
    pub desired_count: i32,
    /// The revision the service ran.
    pub task_definition_arn: String,
    /// RFC 3339: past it with tasks still running, the deploy fails.
    pub deadline: String,
    pub timeout_seconds: u64,
    /// Whether the service has been scaled to 0.
    pub scaled_down: bool,
    /// Tasks of the service that may still be running at the last look.
    pub running: usize,
    /// No task of the service may still be running: the new revision may start.
    pub drained: bool,
}

/// Task states in which a container may still be running: a task that ECS has told to stop is
/// not gone until its containers have stopped (DEPROVISIONING, STOPPED).
pub fn may_run(last_status: &str) -> bool {
    !matches!(last_status, "DEPROVISIONING" | "STOPPED")
}

/// How many of the service's tasks (their lastStatus) may still be running.
pub fn still_running<'a>(last_statuses: impl IntoIterator<Item = &'a str>) -> usize {
    last_statuses.into_iter().filter(|s| may_run(s)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_runs_until_its_containers_have_stopped() {
        for s in [
            "PROVISIONING",
            "PENDING",
            "ACTIVATING",
            "RUNNING",
            "DEACTIVATING",
            "STOPPING",
        ] {
            assert!(may_run(s), "{s}");
        }
        assert!(!may_run("DEPROVISIONING") && !may_run("STOPPED"));
        assert_eq!(
            still_running(["STOPPED", "STOPPING", "RUNNING", "DEPROVISIONING"]),
            2
        );
    }

    #[test]
    fn the_tag_turns_it_on_and_typos_are_refused() {
        assert_eq!(StopThenStart::from_tag("web", None).unwrap(), None);
        assert_eq!(
            StopThenStart::from_tag("web", Some("true")).unwrap(),
            Some(StopThenStart {
                timeout_seconds: DEFAULT_TIMEOUT_SECONDS
            })
        );
        assert_eq!(
            StopThenStart::from_tag("web", Some(" 600 ")).unwrap(),
            Some(StopThenStart {
                timeout_seconds: 600
            })
        );
        for bad in ["yes", "", "-1", "0"] {
            let e = StopThenStart::from_tag("web", Some(bad)).unwrap_err();
            assert_eq!(e.name(), "InvalidInput", "{bad}");
        }
        assert!(
            serde_json::from_value::<StopThenStart>(serde_json::json!({"timeoutSecs": 1})).is_err()
        );
    }
}
