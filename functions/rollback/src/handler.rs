//! Roll back to the exact revision recorded before the deploy, restoring the image digests that
//! were running when a tag would otherwise re-resolve.

use aws_sdk_ecs::types::Service;
use aws_sdk_ecs::Client;
use berth::codedeploy;
use berth::ecs::{
    controller, current_service_deployment, describe_service, describe_task_definition,
    find_tagged_revision, primary_rollout,
};
use berth::error::{Error, ErrorName, Result};
use berth::events::{self, Publisher};
use berth::image::ImageRef;
use berth::model::{
    limits, parse_input, require, CodeDeployRollout, Registration, RollbackInput, RollbackResult,
    Rollout, RunningImage, DEFAULT_FALLBACK_POLL_SECONDS, DEFAULT_POLL_INTERVAL_SECONDS,
    DEFAULT_ROLLBACK_TIMEOUT_SECONDS, TAG_PREVIOUS, TAG_ROLLBACK_OF,
};
use berth::taskdef::{copy_into, family_of, short_name, tag, user_tags};
use berth::time::{self, DateTime};
use berth::watch;

/// How many of the family's newest revisions a retry looks through for its pinned copy.
const PINNED_COPY_LOOKBACK: i32 = 10;

/// The clients rollback needs: ECS, and CodeDeploy for services on the CODE_DEPLOY controller.
pub struct Aws<'a> {
    pub ecs: &'a Client,
    pub codedeploy: &'a aws_sdk_codedeploy::Client,
}

pub async fn run(
    aws: &Aws<'_>,
    payload: serde_json::Value,
    now: DateTime,
) -> Result<RollbackResult> {
    let input: RollbackInput = parse_input("rollback", payload)?;
    let mut result = rollback(aws, &input, now).await?;
    // Watched as the rollout was, with nothing to judge mid-shift: a rollback obeys no canary.
    result.rollout.watch = Some(watch::plan(
        result.rollout.code_deploy.is_some(),
        false,
        false,
        input
            .poll_interval_seconds
            .unwrap_or(DEFAULT_POLL_INTERVAL_SECONDS),
        input
            .fallback_poll_seconds
            .unwrap_or(DEFAULT_FALLBACK_POLL_SECONDS),
    ));
    Ok(result)
}

/// [`run`], then the ROLLING_BACK event, with the revision it goes back to and why. A failure to
/// publish is logged and changes nothing.
pub async fn run_and_announce(
    aws: &Aws<'_>,
    publisher: &Publisher,
    payload: serde_json::Value,
    now: DateTime,
) -> Result<RollbackResult> {
    let document = payload.clone();
    let result = run(aws, payload, now).await?;
    events::announce(
        publisher,
        events::rolling_back(&document, &result).as_slice(),
    )
    .await;
    Ok(result)
}

pub async fn rollback(
    aws: &Aws<'_>,
    input: &RollbackInput,
    now: DateTime,
) -> Result<RollbackResult> {
    let ecs = aws.ecs;
    require("deploymentId", &input.deployment_id)?;
    require("cluster", &input.cluster)?;
    require("service", &input.service)?;
    let register = input.register.as_ref().ok_or_else(|| {
        Error::new(
            ErrorName::RollbackTargetMissing,
            "no \"register\" result: nothing was recorded to roll back to",
        )
    })?;
    require(
        "register.previousTaskDefinitionArn",
        &register.previous_task_definition_arn,
    )
    .map_err(|e| Error::new(ErrorName::RollbackTargetMissing, e.message().to_string()))?;
    let previous = register.previous_task_definition_arn.as_str();
    let timeout = input
        .rollback_timeout_seconds
        .unwrap_or(DEFAULT_ROLLBACK_TIMEOUT_SECONDS);
    // Never refuse a rollback over its deadline: an out-of-range one (Plan refuses them) is clamped.
    let timeout = timeout.clamp(
        *limits::TIMEOUT_SECONDS.start(),
        *limits::TIMEOUT_SECONDS.end(),
    );
    let deadline = time::plus_secs(now, timeout);
    let to_pin = images_to_pin(register);

    let service = describe_service(ecs, &input.cluster, &input.service).await?;
    if controller(&service) == "CODE_DEPLOY" {
        return rollback_blue_green(aws, input, &service, previous, deadline, now).await;
    }
    // BLUE_GREEN / LINEAR / CANARY: StopServiceDeployment(ROLLBACK) while ECS's deployment runs.
    if let Some(result) = native::rollback(ecs, input, &service, previous, deadline, now).await? {
        return Ok(result);
    }

    // The circuit breaker may have put the service back already: a second deployment would only
    // restart healthy tasks.
    // A pinned copy registered by an earlier attempt of this rollback is tagged with its id.
    let existing_pinned = if to_pin.is_empty() {
        None
    } else {
        find_tagged_revision(
            ecs,
            family_of(previous).unwrap_or_default(),
            PINNED_COPY_LOOKBACK,
            TAG_ROLLBACK_OF,
            &input.deployment_id,
        )
        .await?
    };
    // Stop-then-start scaled the service to 0: its previous revision is not back until it runs
    // the recorded count again.
    let restore = input.stopping.as_ref().map(|s| s.desired_count);
    let count_restored = restore.is_none_or(|n| service.desired_count() == n);
    for candidate in std::iter::once(previous)
        .chain(existing_pinned.as_deref())
        .filter(|_| count_restored)
    {
        if let Some(rollout) = primary_rollout(&service, candidate, deadline) {
            let failed = service.deployments().iter().any(|d| {
                d.id() == Some(rollout.ecs_deployment_id.as_str())
                    && d.rollout_state().map(|s| s.as_str()) == Some("FAILED")
            });
            if !failed {
                let detail = format!(
                    "service {} already runs {} (deployment {}); nothing redeployed",
                    input.service,
                    short_name(candidate),
                    rollout.ecs_deployment_id
                );
                tracing::info!(service = %input.service, deployment = %rollout.ecs_deployment_id, "{detail}");
                return Ok(RollbackResult {
                    task_definition_arn: candidate.to_owned(),
                    previous_task_definition_arn: previous.to_owned(),
                    pinned_images: if candidate == previous {
                        vec![]
                    } else {
                        to_pin.clone()
                    },
                    already_rolled_back: true,
                    rollout,
                    detail,
                });
            }
        }
    }

    let target = match (to_pin.is_empty(), existing_pinned) {
        (true, _) => previous.to_owned(),
        (false, Some(arn)) => arn,
        (false, None) => register_pinned_copy(ecs, previous, &input.deployment_id, &to_pin).await?,
    };

    // desiredCount is never sent (the autoscaler owns it), except to restore what stop-then-start
    // read before it scaled the service to 0.
    let out = ecs
        .update_service()
        .cluster(&input.cluster)
        .service(&input.service)
        .task_definition(&target)
        .set_desired_count(restore)
        .send()
        .await
        .map_err(|e| {
            Error::from_sdk(
                &format!(
                    "UpdateService {}/{} (rollback)",
                    input.cluster, input.service
                ),
                e,
            )
        })?;
    let service = out
        .service
        .ok_or_else(|| Error::new(ErrorName::AwsError, "UpdateService returned no service"))?;
    let mut rollout = primary_rollout(&service, &target, deadline).ok_or_else(|| {
        Error::new(
            ErrorName::AwsError,
            format!(
                "UpdateService returned no PRIMARY deployment of {}",
                short_name(&target)
            ),
        )
    })?;
    // berth's own rollback deployment is judged by ECS's service deployment too (the rollout
    // found already on the previous revision above is not: it may be ECS's rollback of ours).
    rollout.service_deployment_arn = current_service_deployment(&service);
    let detail = if to_pin.is_empty() {
        format!("rolling {} back to {}", input.service, short_name(&target))
    } else {
        format!(
            "rolling {} back to {} = {} with the digests that ran before ({})",
            input.service,
            short_name(&target),
            short_name(previous),
            to_pin
                .iter()
                .map(|i| format!("{}={}", i.container, i.image))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    tracing::info!(service = %input.service, deployment = %rollout.ecs_deployment_id, task_definition = %short_name(&target), "{detail}");
    Ok(RollbackResult {
        task_definition_arn: target,
        previous_task_definition_arn: previous.to_owned(),
        pinned_images: to_pin,
        already_rolled_back: false,
        rollout,
        detail,
    })
}

/// CODE_DEPLOY controller: stop berth's CodeDeploy deployment with auto-rollback (CodeDeploy
/// reroutes production traffic to blue); when it had already succeeded, redeploy the previous
/// revision through CodeDeploy, without hooks so no check can hold the rollback up.
async fn rollback_blue_green(
    aws: &Aws<'_>,
    input: &RollbackInput,
    service: &Service,
    previous: &str,
    deadline: DateTime,
    now: DateTime,
) -> Result<RollbackResult> {
    let recorded = input
        .update
        .as_ref()
        .and_then(|u| u.code_deploy.clone())
        .filter(|c| !c.deployment_id.is_empty());
    let (group, id) = match recorded {
        Some(c) => (
            codedeploy::Group {
                application: c.application,
                deployment_group: c.deployment_group,
            },
            Some(c.deployment_id),
        ),
        None => {
            // update-service's result may be lost (a timeout after CreateDeployment): look.
            let tags = codedeploy::service_tags(aws.ecs, service).await?;
            let group = codedeploy::group_for(&input.cluster, &input.service, &tags);
            let id = codedeploy::find_ours(aws.codedeploy, &group, &input.deployment_id).await?;
            (group, id)
        }
    };
    let rollout = |deployment_id: &str, rollback: bool| Rollout {
        ecs_deployment_id: deployment_id.to_owned(),
        task_definition_arn: previous.to_owned(),
        started_at: time::format(now),
        deadline: time::format(deadline),
        desired_count: service.desired_count(),
        code_deploy: Some(CodeDeployRollout {
            application: group.application.clone(),
            deployment_group: group.deployment_group.clone(),
            deployment_id: deployment_id.to_owned(),
            rollback,
        }),
        service_deployment_arn: None,
        rolled_back_by: None,
        watch: None,
    };
    let result = |rollout: Rollout, already: bool, detail: String| {
        tracing::info!(service = %input.service, deployment = %rollout.ecs_deployment_id, already_rolled_back = already, "{detail}");
        RollbackResult {
            task_definition_arn: previous.to_owned(),
            previous_task_definition_arn: previous.to_owned(),
            pinned_images: vec![],
            already_rolled_back: already,
            rollout,
            detail,
        }
    };
    let Some(id) = id else {
        return Ok(result(
            rollout("", true),
            true,
            format!(
                "no CodeDeploy deployment was started for {}; {} still serves",
                input.deployment_id,
                short_name(previous)
            ),
        ));
    };
    let mut info = codedeploy::get_deployment(aws.codedeploy, &id).await?;
    if info.status().is_some_and(codedeploy::is_active) {
        match codedeploy::stop_with_rollback(aws.codedeploy, &id).await {
            Ok(answer) => {
                return Ok(result(
                    rollout(&id, true),
                    false,
                    format!(
                        "stopped CodeDeploy deployment {id} with auto-rollback to blue ({answer})"
                    ),
                ))
            }
            Err(e) => {
                // It may have ended between the two calls; anything else is a real failure.
                info = codedeploy::get_deployment(aws.codedeploy, &id).await?;
                if info.status().is_some_and(codedeploy::is_active) {
                    return Err(e);
                }
            }
        }
    }
    let status = info.status().map(|s| s.as_str()).unwrap_or("?").to_owned();
    if status != "Succeeded" {
        return Ok(result(
            rollout(&id, true),
            true,
            format!("CodeDeploy deployment {id} is {status}; CodeDeploy's rollback restores blue"),
        ));
    }
    let (container, port) = codedeploy::load_balancer_target(service)?;
    let redeploy = codedeploy::create(
        aws.codedeploy,
        &group,
        codedeploy::appspec(previous, &container, port, None),
        codedeploy::description(&format!("{}-rollback", input.deployment_id), previous),
    )
    .await?;
    Ok(result(
        rollout(&redeploy, false),
        false,
        format!(
            "CodeDeploy deployment {id} had already succeeded; redeploying {} through CodeDeploy (deployment {redeploy})",
            short_name(previous)
        ),
    ))
}

/// Containers of the previous revision that named a mutable tag and whose running digest is known:
/// those must be pinned, or the rollback may pull different bytes than ran before.
fn images_to_pin(register: &Registration) -> Vec<RunningImage> {
    register
        .previous_images
        .iter()
        .filter_map(|i| {
            let digest = i.digest.as_deref()?;
            let image = ImageRef::parse(&i.image).ok()?;
            image.is_mutable().then(|| RunningImage {
                container: i.container.clone(),
                image: image.with_digest(digest).pinned(),
                digest: Some(digest.to_owned()),
            })
        })
        .collect()
}

async fn register_pinned_copy(
    ecs: &Client,
    previous: &str,
    deployment_id: &str,
    pins: &[RunningImage],
) -> Result<String> {
    let (td, tags) = describe_task_definition(ecs, previous).await?;
    let mut tags = user_tags(&tags);
    tags.push(tag(TAG_ROLLBACK_OF, deployment_id));
    tags.push(tag(TAG_PREVIOUS, previous));
    let images: Vec<(String, String)> = pins
        .iter()
        .map(|p| (p.container.clone(), p.image.clone()))
        .collect();
    let out = copy_into(ecs.register_task_definition(), &td, &images, tags)
        .send()
        .await
        .map_err(|e| {
            Error::from_sdk(
                &format!(
                    "RegisterTaskDefinition {} (rollback copy)",
                    short_name(previous)
                ),
                e,
            )
        })?;
    out.task_definition()
        .and_then(|t| t.task_definition_arn())
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::new(
                ErrorName::AwsError,
                "RegisterTaskDefinition returned no task definition ARN",
            )
        })
}

mod native;

#[cfg(test)]
mod tests;
