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
/// `container`, if given): at least one of `command` and `taskDefinition`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(extend("anyOf" = [{"required": ["command"]}, {"required": ["taskDefinition"]}]))
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MigrationConfig {
    /// The command, one word per element (`["bin/rails", "db:migrate"]`), no word blank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schema",
        schemars(
            length(min = 1),
            inner(length(min = 1), pattern(crate::model::NOT_BLANK))
        )
    )]
    pub command: Option<Vec<String>>,
    /// A task definition to run instead of the new revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1), pattern(crate::model::NOT_BLANK))
    )]
    pub task_definition: Option<String>,
    /// The container whose command is replaced (default: the container berth deploys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1), pattern(crate::model::NOT_BLANK))
    )]
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

/// RunTask's `overrides`: "A total of 8192 characters are allowed for overrides. This limit
/// includes the JSON formatting characters of the override structure."
/// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html)
pub const MAX_OVERRIDES_CHARS: usize = 8_192;

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

    /// The container of `td` (the migration's task definition, else the new revision) whose
    /// command is replaced: the migration's `container`, else, in the new revision, the one berth
    /// deploys (`deployed`).
    pub fn container_in<'a>(
        &self,
        td: &'a aws_sdk_ecs::types::TaskDefinition,
        deployed: Option<&str>,
    ) -> Result<&'a aws_sdk_ecs::types::ContainerDefinition> {
        let wanted = self
            .container
            .as_deref()
            .or(if self.task_definition.is_none() {
                deployed
            } else {
                None
            });
        crate::taskdef::pick_container(td, wanted)
    }

    /// What RunTask overrides for `container`: the command, if any, within ECS's 8192 characters
    /// of overrides (their JSON as sent); past it RunTask, or Step Functions' 256 KiB before it,
    /// would refuse the task after the new revision is registered.
    pub fn overrides(&self, container: &str) -> Result<TaskOverrides> {
        let container_overrides: Vec<ContainerCommand> = match &self.command {
            Some(command) => vec![ContainerCommand {
                name: container.to_owned(),
                command: command.clone(),
            }],
            None => vec![],
        };
        let sent = serde_json::json!({"containerOverrides": container_overrides
            .iter()
            .map(|c| serde_json::json!({"name": c.name, "command": c.command}))
            .collect::<Vec<_>>()});
        let n = sent.to_string().chars().count();
        if n > MAX_OVERRIDES_CHARS {
            return Err(Error::invalid_input(format!(
                "migration.command makes RunTask's overrides {n} characters long; ECS takes at most {MAX_OVERRIDES_CHARS}"
            )));
        }
        Ok(TaskOverrides {
            container_overrides,
        })
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

/// What `RunMigration` (Step Functions' `ecs:runTask.sync` integration) sends to RunTask, in the
/// integration's PascalCase. Every field is always there except `NetworkConfiguration`: a JSONPath
/// `Parameters` block names each field it sends, and cannot leave out one that is absent, so the
/// state machine runs `RunMigration` (awsvpc) or `RunMigrationWithoutNetwork` by it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct RunTaskParameters {
    pub cluster: String,
    pub task_definition: String,
    /// FARGATE or EC2: the service's, or the one its capacity providers provide.
    pub launch_type: String,
    /// Marks the task ([`group`]): a state that timed out finds it by this to stop it.
    pub group: String,
    /// The command's override; no container override when the task runs as it is.
    pub overrides: TaskOverrides,
    /// The service's awsvpc configuration, as the integration takes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct TaskOverrides {
    pub container_overrides: Vec<ContainerCommand>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerCommand {
    pub name: String,
    pub command: Vec<String>,
}

/// The log driver and options of the container whose output the cause points at.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LogSettings {
    pub driver: String,
    pub options: std::collections::BTreeMap<String, String>,
}

/// The migration task as the state machine carries it (`$.migrationTask`): written by
/// `PrepareMigration`, run by `RunMigration` (its result in `stopped`, or its caught error in
/// `error`), judged by `JudgeMigration`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MigrationTask {
    pub run_task: RunTaskParameters,
    pub task_definition_arn: String,
    /// The container whose command is replaced and whose output the cause points at.
    pub container: String,
    /// The containers whose exit codes decide (the task definition's essential ones).
    pub essential: Vec<String>,
    /// RunMigration's TimeoutSecondsPath: past it the task is stopped and the deploy refused.
    pub timeout_seconds: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_config: Option<LogSettings>,
    /// Known once the task ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_arn: Option<String>,
    /// Where its output went (`CloudWatch Logs group G, stream S`), when the task definition says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<String>,
    /// ECS's lastStatus as last known (`PENDING` before RunMigration).
    pub status: String,
    /// The task stopped with exit code 0 from every essential container: the rollout may start.
    pub done: bool,
    /// RunMigration's result: the stopped task as the integration describes it (PascalCase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<serde_json::Value>,
    /// RunMigration's caught error (`States.TaskFailed` with the task as its cause,
    /// `States.Timeout`, `AmazonECS.Unknown`, an ECS API error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::model::CaughtError>,
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

/// The task group that marks this deployment's migration task (RunTask's `group`), so that
/// JudgeMigration finds the task when RunMigration timed out, to stop it. Step Functions' ECS
/// integration sets `startedBy` itself.
pub fn group(deployment_id: &str) -> String {
    format!(
        "berth-migration/{}",
        crate::children::hex(deployment_id, 32)
    )
}

/// What RunMigration's result says, before any call: the task passed, failed (the sentence), or ran
/// past its timeout (stop it, then refuse with the sentence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    Passed {
        task_arn: Option<String>,
    },
    Failed {
        why: String,
        task_arn: Option<String>,
    },
    TimedOut(String),
}

/// The stopped task as the integration describes it, in its output or (`States.TaskFailed`) as the
/// JSON text of its cause.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribedTask {
    task_arn: Option<String>,
    last_status: Option<String>,
    stop_code: Option<String>,
    stopped_reason: Option<String>,
    #[serde(default)]
    containers: Vec<DescribedContainer>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribedContainer {
    name: Option<String>,
    exit_code: Option<i32>,
    reason: Option<String>,
}

fn described(task: &serde_json::Value) -> Option<(TaskView, Option<String>)> {
    let t: DescribedTask = serde_json::from_value(task.clone()).ok()?;
    let view = TaskView {
        last_status: t.last_status?,
        stop_code: t.stop_code,
        stopped_reason: t.stopped_reason,
        containers: t
            .containers
            .into_iter()
            .map(|c| ContainerView {
                name: c.name.unwrap_or_default(),
                exit_code: c.exit_code,
                reason: c.reason,
            })
            .collect(),
    };
    Some((view, t.task_arn))
}

/// Judges what RunMigration left in `$.migrationTask` (pure): its output, or the error it caught.
pub fn ran(task: &MigrationTask) -> Result<Ran> {
    let judged = |view: &TaskView, task_arn: Option<String>| match judge(
        view,
        &task.essential,
        false,
        task.timeout_seconds,
    ) {
        Judgement::Passed => Ran::Passed { task_arn },
        Judgement::Failed(why) => Ran::Failed { why, task_arn },
        Judgement::Running | Judgement::TimedOut(_) => Ran::Failed {
            why: format!(
                "RunMigration ended while the migration task was {}",
                view.last_status
            ),
            task_arn,
        },
    };
    if let Some(stopped) = &task.stopped {
        let (view, arn) = described(stopped).ok_or_else(|| {
            Error::invalid_input("migrationTask.stopped is not a task as ECS describes it")
        })?;
        return Ok(judged(&view, arn));
    }
    let Some(caught) = &task.error else {
        return Err(Error::invalid_input(
            "migrationTask holds neither RunMigration's result (stopped) nor its error",
        ));
    };
    let td = crate::taskdef::short_name(&task.task_definition_arn);
    Ok(match caught.error.as_str() {
        "States.Timeout" => Ran::TimedOut(format!(
            "the migration task was still running after {} s (timeoutSeconds): berth stopped it",
            task.timeout_seconds
        )),
        "States.TaskFailed" => match serde_json::from_str(&caught.cause)
            .ok()
            .and_then(|v: serde_json::Value| described(&v))
        {
            Some((view, arn)) => judged(&view, arn),
            None => Ran::Failed {
                why: format!("the migration task failed: {}", caught.cause),
                task_arn: None,
            },
        },
        "AmazonECS.Unknown" => Ran::Failed {
            why: format!(
                "ECS did not start the migration task ({td}): {}",
                caught.cause
            ),
            task_arn: None,
        },
        other => Ran::Failed {
            why: format!(
                "the migration task ({td}) could not be run: {other}: {}",
                caught.cause
            ),
            task_arn: None,
        },
    })
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
    use aws_sdk_ecs::types::{ContainerDefinition, TaskDefinition};

    fn td(names: &[&str]) -> TaskDefinition {
        TaskDefinition::builder()
            .family("web")
            .set_container_definitions(Some(
                names
                    .iter()
                    .map(|n| ContainerDefinition::builder().name(*n).build())
                    .collect(),
            ))
            .build()
    }

    fn migration(
        command: &[&str],
        container: Option<&str>,
        task_definition: Option<&str>,
    ) -> MigrationConfig {
        MigrationConfig {
            command: Some(command.iter().map(|w| w.to_string()).collect()),
            task_definition: task_definition.map(str::to_owned),
            container: container.map(str::to_owned),
            timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
        }
    }

    #[test]
    fn the_container_is_the_migration_s_else_the_deployed_one_in_the_new_revision() {
        let two = td(&["app", "sidecar"]);
        let m = migration(&["migrate"], None, None);
        assert_eq!(
            m.container_in(&two, Some("app")).unwrap().name(),
            Some("app")
        );
        // a container the task definition does not have is refused, before anything runs
        let e = migration(&["migrate"], Some("db"), None)
            .container_in(&two, Some("app"))
            .unwrap_err();
        assert_eq!(e.name(), crate::error::ErrorName::ContainerNotFound);
        // the migration's own task definition: the deployed container does not apply
        let own = migration(&["migrate"], None, Some("web-migrate"));
        assert_eq!(
            own.container_in(&td(&["migrate"]), Some("app"))
                .unwrap()
                .name(),
            Some("migrate")
        );
    }

    #[test]
    fn a_command_past_ecs_s_8192_characters_of_overrides_is_refused() {
        // {"containerOverrides":[{"name":"app","command":["..."]}]} is 54 characters around the word
        let fits = "x".repeat(MAX_OVERRIDES_CHARS - 54);
        let o = migration(&[&fits], None, None).overrides("app").unwrap();
        assert_eq!(o.container_overrides[0].command, vec![fits.clone()]);
        let over = fits + "x";
        let e = migration(&[&over], None, None)
            .overrides("app")
            .unwrap_err();
        assert_eq!(e.name(), crate::error::ErrorName::InvalidInput);
        assert!(e.message().contains("8193 characters"), "{}", e.message());
    }

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
    fn the_log_location_and_the_group_marker() {
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
        let marker = group("push-1/prod/web");
        assert!(
            marker.len() <= 128 && marker.starts_with("berth-migration/"),
            "{marker}"
        );
        assert_eq!(marker, group("push-1/prod/web"));
        assert_ne!(marker, group("push-2/prod/web"));
    }

    fn prepared() -> MigrationTask {
        MigrationTask {
            run_task: RunTaskParameters {
                cluster: "prod".into(),
                task_definition: "arn:aws:ecs:eu-west-1:1:task-definition/web:8".into(),
                launch_type: "FARGATE".into(),
                group: group("push-1/prod/web"),
                overrides: TaskOverrides::default(),
                network_configuration: None,
            },
            task_definition_arn: "arn:aws:ecs:eu-west-1:1:task-definition/web:8".into(),
            container: "app".into(),
            essential: vec!["app".into()],
            timeout_seconds: 600,
            log_config: None,
            task_arn: None,
            logs: None,
            status: "PENDING".into(),
            done: false,
            stopped: None,
            error: None,
        }
    }

    /// The task as `ecs:runTask.sync` gives it (PascalCase; trimmed from the integration's output).
    fn described_task(exit: Option<i32>, stop_code: &str, reason: &str) -> serde_json::Value {
        let mut app = serde_json::json!({"Name": "app", "LastStatus": "STOPPED"});
        if let Some(code) = exit {
            app["ExitCode"] = code.into();
        } else {
            app["Reason"] = reason.into();
        }
        serde_json::json!({"TaskArn": "arn:aws:ecs:eu-west-1:1:task/prod/abc", "LastStatus": "STOPPED",
            "StopCode": stop_code, "StoppedReason": reason, "Group": group("push-1/prod/web"),
            "Containers": [app, {"Name": "xray", "LastStatus": "STOPPED", "ExitCode": 143}]})
    }

    #[test]
    fn what_run_migration_left_is_judged_by_the_essential_containers() {
        let arn = Some("arn:aws:ecs:eu-west-1:1:task/prod/abc".to_string());
        let mut t = prepared();
        t.stopped = Some(described_task(
            Some(0),
            "EssentialContainerExited",
            "Essential container in task exited",
        ));
        assert_eq!(
            ran(&t).unwrap(),
            Ran::Passed {
                task_arn: arn.clone()
            }
        );

        // AWS fails the state with the task as the cause's JSON text
        let mut t = prepared();
        t.error = Some(crate::model::CaughtError {
            error: "States.TaskFailed".into(),
            cause: described_task(
                Some(3),
                "EssentialContainerExited",
                "Essential container in task exited",
            )
            .to_string(),
        });
        let Ran::Failed { why, task_arn } = ran(&t).unwrap() else {
            panic!()
        };
        assert!(
            why.contains("app exited 3") && why.contains("EssentialContainerExited"),
            "{why}"
        );
        assert_eq!(task_arn, arn);

        let mut t = prepared();
        t.error = Some(crate::model::CaughtError {
            error: "States.TaskFailed".into(),
            cause: described_task(
                None,
                "TaskFailedToStart",
                "CannotPullContainerError: pull access denied",
            )
            .to_string(),
        });
        let Ran::Failed { why, .. } = ran(&t).unwrap() else {
            panic!()
        };
        assert!(
            why.contains("without running its command") && why.contains("CannotPullContainerError"),
            "{why}"
        );
    }

    #[test]
    fn a_timeout_is_stopped_and_other_errors_refuse_with_their_words() {
        let caught = |error: &str, cause: &str| {
            let mut t = prepared();
            t.error = Some(crate::model::CaughtError {
                error: error.into(),
                cause: cause.into(),
            });
            ran(&t).unwrap()
        };
        assert!(
            matches!(caught("States.Timeout", ""), Ran::TimedOut(m) if m.contains("after 600 s"))
        );
        assert!(
            matches!(caught("AmazonECS.Unknown", "[{\"Reason\": \"RESOURCE:ENI\"}]"),
            Ran::Failed { why, .. } if why.contains("ECS did not start the migration task (web:8)") && why.contains("RESOURCE:ENI"))
        );
        assert!(
            matches!(caught("ECS.InvalidParameterException", "subnets are required"),
            Ran::Failed { why, .. } if why.contains("ECS.InvalidParameterException: subnets are required"))
        );
        // a cause that is not a task is reported as it is
        assert!(
            matches!(caught("States.TaskFailed", "boom"), Ran::Failed { why, .. } if why.contains("boom"))
        );
        // nothing to judge is a wiring mistake, not a pass
        assert_eq!(ran(&prepared()).unwrap_err().name(), "InvalidInput");
    }

    #[test]
    fn the_run_task_parameters_are_what_the_integration_takes() {
        let mut p = prepared().run_task;
        p.overrides.container_overrides.push(ContainerCommand {
            name: "app".into(),
            command: vec!["migrate".into()],
        });
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v["TaskDefinition"],
            "arn:aws:ecs:eu-west-1:1:task-definition/web:8"
        );
        assert_eq!(
            v["Overrides"]["ContainerOverrides"][0]["Command"][0],
            "migrate"
        );
        assert!(v.get("NetworkConfiguration").is_none(), "{v}");
    }
}
