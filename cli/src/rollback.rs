//! `berth rollback`: put a service back on the revision that ran before its last deployment (or on
//! one named with `--to`), through the state machine: a console request naming that revision
//! (`taskDefinition`), which deploys it as it is, serialised, checked and reported like any other.

use aws_sdk_ecs::types::TaskDefinitionStatus;
use aws_sdk_ecs::Client;
use berth::ecs::{describe_service, describe_task_definition};
use berth::error::Group;
use berth::model::TAG_PREVIOUS;
use berth::taskdef::{family_of, parse_revision, short_name, tag_value};
use serde_json::Value;

use crate::error::CliError;
use crate::request::Deploys;

/// `berth rollback SERVICE --cluster C [--to REVISION]`.
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    pub service: String,
    #[arg(long)]
    pub cluster: String,
    /// The revision to go back to: `family:revision`, its ARN, or a revision number of the
    /// service's family. Default: the one berth recorded before the last deployment.
    #[arg(long, value_name = "REVISION")]
    pub to: Option<String>,
    /// The request's settings (`--canary` bakes the old revision; `--rollback-timeout-seconds`
    /// bounds a failed rollback's own rollback).
    #[command(flatten)]
    pub request: crate::request::RequestArgs,
    /// Print the execution's ARN and return without following it.
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    pub waiting: crate::cli::WaitArgs,
}

/// Resolve the target, print it, and build the request (refused, exit 5, before anything starts).
pub async fn prepare(
    a: &RollbackArgs,
    ecs: &Client,
    out: &mut dyn crate::cli::Console,
) -> Result<Value, CliError> {
    // A bad flag is refused before any AWS call.
    a.request
        .options(&a.cluster, &a.service, Deploys::default())?;
    let t = target(ecs, &a.cluster, &a.service, a.to.as_deref()).await?;
    let options = a.request.options(
        &a.cluster,
        &a.service,
        Deploys::Revision(t.revision.clone()),
    )?;
    let input = crate::request::build(&options)?;
    out.progress(&t.line(&a.cluster, &a.service));
    Ok(input)
}

/// Where the service goes back to.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// What the service runs now (its ARN).
    pub current: String,
    /// The revision to deploy as it is (its ARN).
    pub revision: String,
}

fn refused(message: String) -> CliError {
    CliError::refused(format!("refused, nothing started: {message}"))
}

/// A berth error from an ECS read: refused (nothing changed, exit 5) when berth calls it so.
fn ecs_error(e: berth::Error) -> CliError {
    let message = format!("{}: {}", e.name(), e.message());
    if e.name().group() == Group::Refused {
        refused(message)
    } else {
        CliError::failed(message)
    }
}

/// `--to` as DescribeTaskDefinition takes it: a bare number is a revision of `family`.
pub fn revision_ref(to: &str, family: &str) -> Result<String, CliError> {
    let to = to.trim();
    let full = if !to.is_empty() && to.chars().all(|c| c.is_ascii_digit()) {
        format!("{family}:{to}")
    } else {
        to.to_owned()
    };
    parse_revision("--to", &full).map_err(|e| refused(e.message().to_owned()))?;
    Ok(full)
}

/// The revision to go back to: `--to`, else the one berth recorded on the revision that runs now
/// (its `berth:previous-task-definition` tag). Refused (exit 5, nothing started) when there is
/// none, when it is missing, inactive or of another family, or when the service already runs it.
pub async fn target(
    ecs: &Client,
    cluster: &str,
    service: &str,
    to: Option<&str>,
) -> Result<Target, CliError> {
    let svc = describe_service(ecs, cluster, service)
        .await
        .map_err(ecs_error)?;
    let current_arn = svc.task_definition().unwrap_or_default().to_owned();
    let (current, tags) = describe_task_definition(ecs, &current_arn)
        .await
        .map_err(ecs_error)?;
    let family = current
        .family()
        .or_else(|| family_of(&current_arn))
        .unwrap_or_default()
        .to_owned();
    let wanted = match to {
        Some(to) => revision_ref(to, &family)?,
        None => tag_value(&tags, TAG_PREVIOUS)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                refused(format!(
                    "{cluster}/{service} runs {}, on which berth recorded no previous revision \
                     (tag {TAG_PREVIOUS}: berth did not register it); name one with --to",
                    short_name(&current_arn)
                ))
            })?,
    };
    let (td, _) = describe_task_definition(ecs, &wanted)
        .await
        .map_err(ecs_error)?;
    let arn = td.task_definition_arn().unwrap_or(&wanted).to_owned();
    if td.family() != Some(family.as_str()) {
        return Err(refused(format!(
            "{} is a revision of {}, but {cluster}/{service} runs {family}",
            short_name(&arn),
            td.family().unwrap_or("?")
        )));
    }
    if td.status() != Some(&TaskDefinitionStatus::Active) {
        return Err(refused(format!(
            "{} is {}: ECS deploys only ACTIVE revisions",
            short_name(&arn),
            td.status().map(|s| s.as_str()).unwrap_or("of no status")
        )));
    }
    if arn == current_arn {
        return Err(refused(format!(
            "{cluster}/{service} already runs {}",
            short_name(&arn)
        )));
    }
    Ok(Target {
        current: current_arn,
        revision: arn,
    })
}

/// Whether an execution's input is a rollback by hand (a request naming a revision).
pub fn is_rollback(input: &Value) -> bool {
    input
        .get("taskDefinition")
        .and_then(Value::as_str)
        .is_some()
}

impl Target {
    /// The progress line before the execution starts.
    pub fn line(&self, cluster: &str, service: &str) -> String {
        format!(
            "rollback of {cluster}/{service}: {} -> {}",
            short_name(&self.current),
            short_name(&self.revision)
        )
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_mocks::{mock, Rule};
    use berth::testing::{aws_error, mock_client, ok_json};

    use serde_json::json;

    use super::*;
    use crate::exit::Exit;

    const WEB1: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1";
    const WEB2: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:2";

    fn service() -> Rule {
        mock!(Client::describe_services).then_http_response(|| {
            ok_json(
                &json!({"services": [{"serviceName": "web", "status": "ACTIVE",
                "taskDefinition": WEB2}], "failures": []})
                .to_string(),
            )
        })
    }

    fn td(arn: &'static str, family: &'static str, status: &'static str, tags: Value) -> Rule {
        let short = arn.rsplit('/').next().unwrap();
        mock!(Client::describe_task_definition)
            .match_requests(move |r| {
                r.task_definition() == Some(arn) || r.task_definition() == Some(short)
            })
            .then_http_response(move || {
                ok_json(
                    &json!({"taskDefinition": {"taskDefinitionArn": arn, "family": family,
                        "status": status, "containerDefinitions": [{"name": "app", "image": "web:v1"}]},
                        "tags": tags})
                    .to_string(),
                )
            })
    }

    fn previous_tag() -> Value {
        json!([{"key": TAG_PREVIOUS, "value": WEB1}])
    }

    #[tokio::test]
    async fn without_to_the_recorded_previous_revision_is_the_target() {
        let (svc, now, before) = (
            service(),
            td(WEB2, "web", "ACTIVE", previous_tag()),
            td(WEB1, "web", "ACTIVE", json!([])),
        );
        let ecs = mock_client!(aws_sdk_ecs, [&svc, &now, &before]);
        let t = target(&ecs, "prod", "web", None).await.unwrap();
        assert_eq!((t.current.as_str(), t.revision.as_str()), (WEB2, WEB1));
        assert_eq!(
            t.line("prod", "web"),
            "rollback of prod/web: web:2 -> web:1"
        );
    }

    #[tokio::test]
    async fn to_a_revision_number_means_the_family_the_service_runs() {
        let (svc, now, before) = (
            service(),
            td(WEB2, "web", "ACTIVE", json!([])),
            td(WEB1, "web", "ACTIVE", json!([])),
        );
        let ecs = mock_client!(aws_sdk_ecs, [&svc, &now, &before]);
        let t = target(&ecs, "prod", "web", Some("1")).await.unwrap();
        assert_eq!(t.revision, WEB1);
    }

    #[tokio::test]
    async fn no_record_a_missing_revision_or_the_current_one_is_refused() {
        let svc = service();
        let now = td(WEB2, "web", "ACTIVE", json!([]));
        let missing = mock!(Client::describe_task_definition)
            .match_requests(|r| r.task_definition() == Some("web:9"))
            .then_http_response(|| {
                aws_error(
                    400,
                    "ClientException",
                    "Unable to describe task definition.",
                )
            });
        let ecs = mock_client!(aws_sdk_ecs, [&svc, &missing, &now]);
        let e = target(&ecs, "prod", "web", None).await.unwrap_err();
        assert_eq!(e.exit, Exit::Refused);
        assert!(
            e.message
                .contains("prod/web runs web:2, on which berth recorded no previous revision"),
            "{}",
            e.message
        );
        let e = target(&ecs, "prod", "web", Some("web:9"))
            .await
            .unwrap_err();
        assert_eq!(e.exit, Exit::Refused);
        assert!(
            e.message.contains("TaskDefinitionNotFound"),
            "{}",
            e.message
        );
        let e = target(&ecs, "prod", "web", Some("2")).await.unwrap_err();
        assert!(e.message.contains("already runs web:2"), "{}", e.message);
        let e = target(&ecs, "prod", "web", Some("web")).await.unwrap_err();
        assert!(e.message.contains("names no revision"), "{}", e.message);
    }

    #[tokio::test]
    async fn another_family_or_an_inactive_revision_is_refused() {
        let svc = service();
        let now = td(WEB2, "web", "ACTIVE", json!([]));
        let api = td(
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/api:1",
            "api",
            "ACTIVE",
            json!([]),
        );
        let old = td(WEB1, "web", "INACTIVE", json!([]));
        let ecs = mock_client!(aws_sdk_ecs, [&svc, &now, &api, &old]);
        let e = target(&ecs, "prod", "web", Some("api:1"))
            .await
            .unwrap_err();
        assert!(
            e.message.contains("api:1 is a revision of api"),
            "{}",
            e.message
        );
        let e = target(&ecs, "prod", "web", Some("web:1"))
            .await
            .unwrap_err();
        assert!(e.message.contains("web:1 is INACTIVE"), "{}", e.message);
    }

    #[test]
    fn the_request_names_the_revision_and_passes_plans_checks() {
        let a = crate::request::RequestArgs {
            timeout_seconds: Some(600),
            ..Default::default()
        };
        let o = a
            .options("prod", "web", Deploys::Revision(WEB1.into()))
            .unwrap();
        let doc = crate::request::build(&o).unwrap();
        assert_eq!(
            doc,
            json!({"cluster": "prod", "service": "web", "taskDefinition": WEB1, "timeoutSeconds": 600})
        );
        assert!(is_rollback(&doc));
        let bad = crate::request::DeployOptions {
            poll_interval_seconds: Some(0),
            ..o
        };
        assert_eq!(crate::request::build(&bad).unwrap_err().exit, Exit::Refused);
    }
}
