//! The reconciliation sweep: for every service deployed on push, find the newest image of its
//! repository that the push rule matches and, if the service runs an older one, start the execution
//! that image's push would have started (`berth::start`, the same name, so it de-duplicates with
//! the push event if that arrives after all).
//!
//! The decisions are `berth::reconcile`'s; this module fetches (ECS, ECR), decides and starts.

use std::collections::HashMap;

use aws_sdk_ecs::types::{DesiredStatus, Service};
use berth::ecr::Push;
use berth::ecs::{describe_task_definition, service_tag, service_tasks, services_tagged};
use berth::error::{Error, ErrorName, Group, Result};
use berth::reconcile::{
    decide, pinned_digest, short, Decision, Outcome, RepoImage, Running, ServiceOutcome, Sweep,
    TagPattern,
};
use berth::taskdef::pick_container;
use berth::time::{self, DateTime};

// The service tags the sweep reads (the same as Plan's for a push).
use berth::tags::keys::{CONTAINER as CONTAINER_TAG, REPOSITORY as REPOSITORY_TAG};

/// What the event payload says the sweep was asked by; anything else in it is ignored.
pub const FOUND_BY: &str = "reconcile";

/// The sweep's settings, from the environment the template sets (read once, at init).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `BERTH_STATE_MACHINE_ARN`: the deploy machine, which push events start too.
    pub state_machine: String,
    /// The account and region of the state machine: those of the push events it deploys.
    pub account: String,
    pub region: String,
    /// `BERTH_CLUSTERS` (empty = every cluster), as Plan searches them for a push.
    pub clusters: Vec<String>,
    /// `BERTH_TAG_PATTERN`: the push rule's `TagPattern` (default `*`).
    pub pattern: TagPattern,
    /// `BERTH_REPOSITORIES`: the push rule's `Repositories` (empty = every repository).
    pub repositories: Vec<String>,
}

impl Config {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let state_machine = get("BERTH_STATE_MACHINE_ARN")
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| Error::invalid_input("BERTH_STATE_MACHINE_ARN must be set"))?;
        // arn:<partition>:states:<region>:<account>:stateMachine:<name>
        let parts: Vec<&str> = state_machine.split(':').collect();
        let (region, account) = match parts.as_slice() {
            ["arn", _, "states", region, account, "stateMachine", name]
                if !region.is_empty() && account.len() == 12 && !name.is_empty() =>
            {
                (region.to_string(), account.to_string())
            }
            _ => {
                return Err(Error::invalid_input(format!(
                    "BERTH_STATE_MACHINE_ARN={state_machine:?} is not a state machine ARN"
                )))
            }
        };
        let list = |key: &str| -> Vec<String> {
            get(key)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let pattern = match get("BERTH_TAG_PATTERN") {
            None => TagPattern::any(),
            Some(p) => TagPattern::parse("BERTH_TAG_PATTERN", &p)?,
        };
        Ok(Self {
            state_machine,
            account,
            region,
            clusters: list("BERTH_CLUSTERS"),
            pattern,
            repositories: list("BERTH_REPOSITORIES"),
        })
    }
}

/// The clients the sweep reads and starts with.
pub struct Aws<'a> {
    pub ecs: &'a aws_sdk_ecs::Client,
    pub ecr: &'a aws_sdk_ecr::Client,
    pub sfn: &'a aws_sdk_sfn::Client,
}

/// One sweep. The payload is Scheduler's Input (any JSON object; `scheduledTime` is logged).
/// Every service is checked even when one fails; the invocation then fails with that error's name
/// and the whole summary in its message, so a failing check is seen (and retried) while the
/// services that could be checked were handled.
pub async fn run(
    aws: &Aws<'_>,
    config: &Config,
    payload: serde_json::Value,
    now: DateTime,
) -> Result<Sweep> {
    let Some(input) = payload.as_object() else {
        return Err(Error::invalid_input(
            "reconcile takes a JSON object (the schedule's Input), e.g. {}",
        ));
    };
    if let Some(at) = input.get("scheduledTime").and_then(|v| v.as_str()) {
        tracing::info!(scheduled_time = %at, "sweep");
    }
    let services = services_tagged(aws.ecs, &config.clusters, REPOSITORY_TAG).await?;
    let mut listings: HashMap<String, Result<Vec<RepoImage>>> = HashMap::new();
    let mut outcomes = Vec::with_capacity(services.len());
    let mut first_error: Option<Error> = None;
    for (cluster, service) in &services {
        let outcome = check(aws, config, &mut listings, cluster, service, now).await;
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                let o = ServiceOutcome {
                    cluster: cluster.clone(),
                    service: service.service_name().unwrap_or("?").to_owned(),
                    repository: service_tag(service, REPOSITORY_TAG).map(str::to_owned),
                    outcome: Outcome::Error,
                    execution_name: None,
                    detail: format!("{}: {}", e.name(), e.message()),
                };
                // A transient error is the one to report: the retry of the sweep may cure it.
                if first_error
                    .as_ref()
                    .is_none_or(|f| f.name().group() != Group::Transient)
                {
                    first_error = Some(e);
                }
                o
            }
        };
        tracing::info!(
            cluster = %outcome.cluster,
            service = %outcome.service,
            repository = outcome.repository.as_deref().unwrap_or(""),
            outcome = outcome.outcome.as_str(),
            execution = outcome.execution_name.as_deref().unwrap_or(""),
            "{}",
            outcome.detail
        );
        outcomes.push(outcome);
    }
    let sweep = Sweep::new(&config.pattern, outcomes);
    tracing::info!("{}", sweep.summary);
    match first_error {
        None => Ok(sweep),
        Some(e) => Err(Error::new(
            e.name(),
            format!(
                "{} service(s) could not be checked; {}",
                error_count(&sweep),
                sweep.summary
            ),
        )),
    }
}

fn error_count(sweep: &Sweep) -> usize {
    sweep
        .services
        .iter()
        .filter(|s| s.outcome == Outcome::Error)
        .count()
}

/// Check one service: fetch what its repository holds and what it runs, decide, start if needed.
async fn check(
    aws: &Aws<'_>,
    config: &Config,
    listings: &mut HashMap<String, Result<Vec<RepoImage>>>,
    cluster: &str,
    service: &Service,
    now: DateTime,
) -> Result<ServiceOutcome> {
    let name = service.service_name().unwrap_or("?");
    let repository = service_tag(service, REPOSITORY_TAG).unwrap_or_default();
    let outcome = |outcome, execution_name: Option<String>, detail: String| ServiceOutcome {
        cluster: cluster.to_owned(),
        service: name.to_owned(),
        repository: Some(repository.to_owned()),
        outcome,
        execution_name,
        detail,
    };
    if !config.repositories.is_empty() && !config.repositories.iter().any(|r| r == repository) {
        return Ok(outcome(
            Outcome::Skipped,
            None,
            format!(
                "the push rule deploys only repositories {} (template parameter Repositories)",
                config.repositories.join(", ")
            ),
        ));
    }
    if !listings.contains_key(repository) {
        let listed = list_images(aws.ecr, repository).await;
        listings.insert(repository.to_owned(), listed);
    }
    let images = match listings.get(repository) {
        Some(Ok(images)) => images,
        Some(Err(e)) => return Err(e.clone()),
        None => return Err(Error::new(ErrorName::AwsError, "listing lost")),
    };
    let running = running_image(aws.ecs, cluster, service, repository).await?;
    match decide(images, &config.pattern, &running) {
        Decision::UpToDate { digest } => Ok(outcome(
            Outcome::UpToDate,
            None,
            format!("runs {}, the newest image it may deploy", short(&digest)),
        )),
        Decision::Skip { reason } => Ok(outcome(Outcome::Skipped, None, reason)),
        Decision::Deploy { image, tag, tied } => {
            let push = Push {
                account: config.account.clone(),
                region: config.region.clone(),
                repository: repository.to_owned(),
                digest: image.digest.clone(),
                tag,
            };
            let event = push.event(&time::format(now), FOUND_BY);
            let started =
                berth::start::start_push(aws.sfn, &config.state_machine, &push, &event).await?;
            let why = match (&running, image.pushed_at) {
                (Running::Digest(d), Some(at)) => format!(
                    " (pushed {}; the service runs {}{})",
                    time::format(at),
                    short(d),
                    if tied > 0 {
                        format!("; {tied} other image(s) pushed at the same instant, chosen by digest order")
                    } else {
                        String::new()
                    }
                ),
                _ => String::new(),
            };
            let kind = if started.started {
                Outcome::Started
            } else {
                Outcome::AlreadyStarted
            };
            Ok(outcome(
                kind,
                started.execution_name,
                format!("{}{why}", started.detail),
            ))
        }
    }
}

/// Every image of the repository (DescribeImages, every page) with its tags and push time.
pub async fn list_images(ecr: &aws_sdk_ecr::Client, repository: &str) -> Result<Vec<RepoImage>> {
    let mut images = vec![];
    let mut pages = ecr
        .describe_images()
        .repository_name(repository)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::from_sdk(&format!("DescribeImages {repository}"), e))?;
        for d in page.image_details() {
            let Some(digest) = d.image_digest() else {
                continue;
            };
            images.push(RepoImage {
                digest: digest.to_owned(),
                tags: d.image_tags().to_vec(),
                pushed_at: d.image_pushed_at().copied(),
            });
        }
    }
    Ok(images)
}

/// What the service's container runs: the digest pinned in its task definition (berth pins every
/// image it deploys), else the digest its running tasks report for that container.
async fn running_image(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &Service,
    repository: &str,
) -> Result<Running> {
    let name = service.service_name().unwrap_or("?");
    let arn = service.task_definition().ok_or_else(|| {
        Error::new(
            ErrorName::TaskDefinitionNotFound,
            format!("service {cluster}/{name} names no task definition"),
        )
    })?;
    let (td, _) = describe_task_definition(ecs, arn).await?;
    let container = pick_container(&td, service_tag(service, CONTAINER_TAG))?;
    let container_name = container.name().unwrap_or_default();
    let image = container.image().unwrap_or_default();
    match pinned_digest(image, repository) {
        Err(other) => return Ok(Running::OtherRepository(other)),
        Ok(Some(digest)) => return Ok(Running::Digest(digest)),
        Ok(None) => {}
    }
    // A tag reference: the tag may have moved since the tasks pulled it, so ask the tasks.
    let tasks = service_tasks(ecs, cluster, name, DesiredStatus::Running).await?;
    let mut digests: Vec<&str> = tasks
        .iter()
        .filter(|t| t.task_definition_arn() == Some(arn))
        .flat_map(|t| t.containers())
        .filter(|c| c.name() == Some(container_name))
        .filter_map(|c| c.image_digest())
        .collect();
    digests.sort();
    digests.dedup();
    Ok(match digests.as_slice() {
        [one] => Running::Digest((*one).to_owned()),
        [] => Running::Unknown(format!(
            "its task definition names {image} by tag and no running task reports a digest"
        )),
        many => Running::Unknown(format!(
            "its task definition names {image} by tag and its tasks run {} different digests",
            many.len()
        )),
    })
}

#[cfg(test)]
mod tests;
