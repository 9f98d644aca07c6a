//! The migration task: a one-off ECS task that runs before the rollout (a database migration), and
//! must stop with exit code 0 from its essential containers before berth changes the service.
//!
//! What to run comes from the request (`migration`) or the service's tags; how a task that ran is
//! judged ([`judge`]) is a pure function over what DescribeTasks said.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorName, Result};
use crate::model::limits;

/// The service's tags that configure a migration on push.
pub mod tags {
    /// The command to run in the new image, words separated by spaces (an ECS tag value cannot
    /// hold quotes or brackets): `bin/rails db:migrate`.
    pub const COMMAND: &str = "berth:migration-command";
    /// A task definition (family, `family:revision` or ARN) to run instead of the new revision.
    pub const TASK_DEFINITION: &str = "berth:migration-task-definition";
    /// The container whose command is replaced (default: the container berth deploys).
    pub const CONTAINER: &str = "berth:migration-container";
    /// How long the task may take, start to stop (default 900).
    pub const TIMEOUT_SECONDS: &str = "berth:migration-timeout-seconds";
}

/// How long a migration may take when neither the request nor the tag says.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 900;

/// What to run before the rollout. Either the new revision with `command` replacing its
/// container's command, or `taskDefinition` as it is (with `command` replacing the command of its
/// `container`, if given).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MigrationConfig {
    /// The command, one word per element (`["bin/rails", "db:migrate"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// A task definition to run instead of the new revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    /// The container whose command is replaced (default: the container berth deploys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Start to stop, at most this long; then the task is stopped and the deploy refused.
    #[serde(default = "default_timeout")]
    #[cfg_attr(
        feature = "schema",
        schemars(range(
            min = *limits::MIGRATION_TIMEOUT_SECONDS.start(),
            max = *limits::MIGRATION_TIMEOUT_SECONDS.end()
        ))
    )]
    pub timeout_seconds: u64,
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

impl MigrationConfig {
    /// Refuses a migration that says nothing to run, an empty command word, or a timeout out of
    /// range: a typo must not skip the migration.
    pub fn check(&self, at: &str) -> Result<()> {
        if self.command.is_none() && self.task_definition.is_none() {
            return Err(Error::invalid_input(format!(
                "{at}: give a command (run in the new image) or a taskDefinition"
            )));
        }
        if let Some(c) = &self.command {
            if c.is_empty() || c.iter().any(|w| w.trim().is_empty()) {
                return Err(Error::invalid_input(format!(
                    "{at}.command {c:?} has no command or an empty word"
                )));
            }
        }
        if self
            .task_definition
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(Error::invalid_input(format!(
                "{at}.taskDefinition is empty"
            )));
        }
        limits::check(
            &format!("{at}.timeoutSeconds"),
            self.timeout_seconds,
            &limits::MIGRATION_TIMEOUT_SECONDS,
        )
    }

    /// The migration a service's tags ask for (`None`: no migration tag). `tag` reads one tag's
    /// trimmed value; `service` names the service in errors.
    pub fn from_tags<'a>(
        service: &str,
        tag: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Option<Self>> {
        let command = tag(tags::COMMAND);
        let task_definition = tag(tags::TASK_DEFINITION);
        let container = tag(tags::CONTAINER);
        let timeout = tag(tags::TIMEOUT_SECONDS);
        if command.is_none() && task_definition.is_none() {
            if container.is_some() || timeout.is_some() {
                return Err(Error::invalid_input(format!(
                    "service {service} has {} or {} but neither {} nor {}: the migration would not run",
                    tags::CONTAINER,
                    tags::TIMEOUT_SECONDS,
                    tags::COMMAND,
                    tags::TASK_DEFINITION
                )));
            }
            return Ok(None);
        }
        let timeout_seconds = match timeout {
            None => DEFAULT_TIMEOUT_SECONDS,
            Some(v) => v.parse().map_err(|_| {
                Error::invalid_input(format!(
                    "service {service} tag {}={v:?} is not a number of seconds",
                    tags::TIMEOUT_SECONDS
                ))
            })?,
        };
        let config = MigrationConfig {
            command: command.map(|c| c.split_whitespace().map(str::to_owned).collect()),
            task_definition: task_definition.map(str::to_owned),
            container: container.map(str::to_owned),
            timeout_seconds,
        };
        config.check(&format!("service {service} tags berth:migration-*"))?;
        Ok(Some(config))
    }
}

/// The migration task as the state machine carries it (`$.migrationTask`): started by
/// `StartMigration`, judged by each `CheckMigration`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MigrationTask {
    pub task_arn: String,
    pub task_definition_arn: String,
    /// The containers whose exit codes decide (the task definition's essential ones).
    pub essential: Vec<String>,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339: past it the task is stopped and the deploy refused.
    pub deadline: String,
    pub timeout_seconds: u64,
    /// Where its output went (`CloudWatch Logs group G, stream S`), when the task definition says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<String>,
    /// ECS's lastStatus at the last look.
    pub status: String,
    /// The task stopped with exit code 0 from every essential container: the rollout may start.
    pub done: bool,
}

/// One container of the task as DescribeTasks reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerView {
    pub name: String,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
}

/// The task as DescribeTasks reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView {
    pub last_status: String,
    pub stop_code: Option<String>,
    pub stopped_reason: Option<String>,
    pub containers: Vec<ContainerView>,
}

/// What one look at the task decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// Stopped, every essential container exited 0.
    Passed,
    /// Still starting or running, within its time.
    Running,
    /// Running past its deadline: stop it, then refuse with this sentence.
    TimedOut(String),
    /// Stopped otherwise: refuse with this sentence.
    Failed(String),
}

/// Judges the task: `essential` names the containers whose exit codes count (all, if empty).
pub fn judge(
    task: &TaskView,
    essential: &[String],
    past_deadline: bool,
    timeout: u64,
) -> Judgement {
    if task.last_status != "STOPPED" {
        if past_deadline {
            return Judgement::TimedOut(format!(
                "the migration task was still {} after {timeout} s (timeoutSeconds): berth stopped it",
                task.last_status
            ));
        }
        return Judgement::Running;
    }
    let counted: Vec<&ContainerView> = task
        .containers
        .iter()
        .filter(|c| essential.is_empty() || essential.contains(&c.name))
        .collect();
    let why = || {
        let mut parts = vec![];
        if let Some(code) = &task.stop_code {
            parts.push(format!("stop code {code}"));
        }
        if let Some(r) = &task.stopped_reason {
            parts.push(format!("stopped reason {r:?}"));
        }
        parts.join(", ")
    };
    if counted.is_empty() || counted.iter().all(|c| c.exit_code.is_none()) {
        let reason = counted
            .iter()
            .find_map(|c| c.reason.clone())
            .map(|r| format!(" (container: {r})"))
            .unwrap_or_default();
        return Judgement::Failed(format!(
            "the migration task stopped without running its command to an exit code: {}{reason}",
            why()
        ));
    }
    let failed: Vec<String> = counted
        .iter()
        .filter(|c| c.exit_code != Some(0))
        .map(|c| match c.exit_code {
            Some(code) => format!("{} exited {code}", c.name),
            None => format!("{} has no exit code", c.name),
        })
        .collect();
    if failed.is_empty() {
        Judgement::Passed
    } else {
        Judgement::Failed(format!(
            "the migration task failed: {} ({})",
            failed.join(", "),
            why()
        ))
    }
}

/// Where an awslogs container's output goes: `CloudWatch Logs group G, stream P/C/ID`.
pub fn log_location(
    driver: Option<&str>,
    options: &std::collections::HashMap<String, String>,
    container: &str,
    task_arn: &str,
) -> Option<String> {
    if driver != Some("awslogs") {
        return None;
    }
    let group = options.get("awslogs-group")?;
    let id = task_arn.rsplit('/').next().unwrap_or(task_arn);
    Some(match options.get("awslogs-stream-prefix") {
        Some(prefix) => format!("CloudWatch Logs group {group}, stream {prefix}/{container}/{id}"),
        None => {
            format!("CloudWatch Logs group {group} (no stream prefix: the stream is named by ECS)")
        }
    })
}

/// The `startedBy` that marks this deployment's migration task, so that a retried start finds the
/// task it already started instead of running the migration twice (ECS allows 128 letters,
/// digits, `-`, `/` and `_`).
pub fn started_by(deployment_id: &str) -> String {
    format!(
        "berth-migration/{}",
        crate::children::hex(deployment_id, 32)
    )
}

/// The refusal a failed migration ends with: nothing was changed on the service.
pub fn failed(service: &str, why: &str, logs: Option<&str>) -> Error {
    let logs = logs
        .map(|l| format!("; its output: {l}"))
        .unwrap_or_default();
    Error::new(
        ErrorName::MigrationFailed,
        format!("{why}{logs}. The service {service} was not changed"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stopped(containers: Vec<(&str, Option<i32>)>) -> TaskView {
        TaskView {
            last_status: "STOPPED".into(),
            stop_code: Some("EssentialContainerExited".into()),
            stopped_reason: Some("Essential container in task exited".into()),
            containers: containers
                .into_iter()
                .map(|(n, c)| ContainerView {
                    name: n.into(),
                    exit_code: c,
                    reason: None,
                })
                .collect(),
        }
    }

    #[test]
    fn exit_code_zero_from_every_essential_container_passes() {
        let t = stopped(vec![("migrate", Some(0)), ("sidecar", Some(137))]);
        assert_eq!(
            judge(&t, &["migrate".into()], false, 900),
            Judgement::Passed
        );
        // all containers count when none is named essential
        assert!(
            matches!(judge(&t, &[], false, 900), Judgement::Failed(m) if m.contains("sidecar exited 137"))
        );
    }

    #[test]
    fn a_non_zero_exit_fails_with_the_code_and_the_stop_reason() {
        let t = stopped(vec![("migrate", Some(3))]);
        let Judgement::Failed(m) = judge(&t, &["migrate".into()], false, 900) else {
            panic!()
        };
        assert!(m.contains("migrate exited 3"), "{m}");
        assert!(m.contains("EssentialContainerExited"), "{m}");
    }

    #[test]
    fn a_task_that_never_started_fails_with_its_reason() {
        let t = TaskView {
            last_status: "STOPPED".into(),
            stop_code: Some("TaskFailedToStart".into()),
            stopped_reason: Some("CannotPullContainerError: not found".into()),
            containers: vec![ContainerView {
                name: "migrate".into(),
                exit_code: None,
                reason: Some("CannotPullContainerError: not found".into()),
            }],
        };
        let Judgement::Failed(m) = judge(&t, &["migrate".into()], false, 900) else {
            panic!()
        };
        assert!(
            m.contains("without running its command") && m.contains("TaskFailedToStart"),
            "{m}"
        );
        assert!(m.contains("CannotPullContainerError"), "{m}");
    }

    #[test]
    fn running_waits_until_the_deadline_then_times_out() {
        let mut t = stopped(vec![("migrate", None)]);
        t.last_status = "RUNNING".into();
        assert_eq!(judge(&t, &[], false, 60), Judgement::Running);
        assert!(
            matches!(judge(&t, &[], true, 60), Judgement::TimedOut(m) if m.contains("after 60 s"))
        );
        // a stopped task past its deadline is judged on its exit code, not timed out
        let done = stopped(vec![("migrate", Some(0))]);
        assert_eq!(judge(&done, &[], true, 60), Judgement::Passed);
    }

    #[test]
    fn tags_configure_a_migration_and_typos_are_refused() {
        let tags = |pairs: Vec<(&'static str, &'static str)>| {
            move |k: &str| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| *v)
        };
        assert_eq!(
            MigrationConfig::from_tags("web", tags(vec![])).unwrap(),
            None
        );
        let c = MigrationConfig::from_tags(
            "web",
            tags(vec![
                (tags::COMMAND, "bin/rails  db:migrate"),
                (tags::TIMEOUT_SECONDS, "600"),
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            c.command,
            Some(vec!["bin/rails".into(), "db:migrate".into()])
        );
        assert_eq!(c.timeout_seconds, 600);
        // a timeout without anything to run would silently skip the migration
        let e = MigrationConfig::from_tags("web", tags(vec![(tags::TIMEOUT_SECONDS, "600")]))
            .unwrap_err();
        assert_eq!(e.name(), "InvalidInput");
        let e = MigrationConfig::from_tags(
            "web",
            tags(vec![(tags::COMMAND, "m"), (tags::TIMEOUT_SECONDS, "10m")]),
        )
        .unwrap_err();
        assert!(e.message().contains("not a number"), "{}", e.message());
        let e = MigrationConfig::from_tags(
            "web",
            tags(vec![(tags::COMMAND, "m"), (tags::TIMEOUT_SECONDS, "0")]),
        )
        .unwrap_err();
        assert!(e.message().contains("out of range"), "{}", e.message());
    }

    #[test]
    fn a_request_must_say_what_to_run() {
        let parse = |v: serde_json::Value| serde_json::from_value::<MigrationConfig>(v);
        let c = parse(serde_json::json!({})).unwrap();
        assert!(c
            .check("migration")
            .unwrap_err()
            .message()
            .contains("give a command"));
        let c = parse(serde_json::json!({"command": ["migrate", ""]})).unwrap();
        assert!(c.check("migration").is_err());
        assert!(parse(serde_json::json!({"comand": ["migrate"]})).is_err());
        let c = parse(serde_json::json!({"taskDefinition": "migrate:3"})).unwrap();
        assert_eq!(c.timeout_seconds, DEFAULT_TIMEOUT_SECONDS);
        c.check("migration").unwrap();
    }

    #[test]
    fn the_log_location_and_the_started_by_marker() {
        let opts: std::collections::HashMap<String, String> = [
            ("awslogs-group".to_string(), "/ecs/web".to_string()),
            ("awslogs-stream-prefix".to_string(), "web".to_string()),
        ]
        .into();
        assert_eq!(
            log_location(
                Some("awslogs"),
                &opts,
                "app",
                "arn:aws:ecs:eu-west-1:1:task/prod/abc123"
            )
            .as_deref(),
            Some("CloudWatch Logs group /ecs/web, stream web/app/abc123")
        );
        assert_eq!(log_location(Some("splunk"), &opts, "app", "t"), None);
        let marker = started_by("push-1/prod/web");
        assert!(
            marker.len() <= 128 && marker.starts_with("berth-migration/"),
            "{marker}"
        );
        assert_eq!(marker, started_by("push-1/prod/web"));
        assert_ne!(marker, started_by("push-2/prod/web"));
    }
}
