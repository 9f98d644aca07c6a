//! Start the ECS rolling deployment of the registered revision, or for a service on the CODE_DEPLOY
//! controller, a CodeDeploy blue/green deployment of it.

use aws_sdk_ecs::types::Service;
use aws_sdk_ecs::Client;
use berth::codedeploy;
use berth::control::{self, Action};
use berth::ecs::{
    controller, current_service_deployment, describe_service, primary_rollout,
    require_ecs_controller,
};
use berth::error::{Error, ErrorName, Result};
use berth::events::{self, Publisher};
use berth::model::{
    limits, parse_input, require, CodeDeployRollout, Rollout, UpdateInput, DEFAULT_TIMEOUT_SECONDS,
};
use berth::strategy;
use berth::taskdef::short_name;
use berth::time;
use berth::time::DateTime;

/// The clients and settings update-service needs.
pub struct Aws<'a> {
    pub ecs: &'a Client,
    pub codedeploy: &'a aws_sdk_codedeploy::Client,
    /// `BERTH_CODEDEPLOY_HOOK_FUNCTION`: the hook Lambda every AppSpec names (none: no hooks).
    pub hook_function: Option<&'a str>,
}

pub async fn run(aws: &Aws<'_>, payload: serde_json::Value, now: DateTime) -> Result<Rollout> {
    let input: UpdateInput = parse_input("update-service", payload)?;
    update(aws, &input, now).await
}

/// [`run`], then the DEPLOYING event, with the revision ECS (or CodeDeploy) accepted. A failure to
/// publish is logged and changes nothing.
pub async fn run_and_announce(
    aws: &Aws<'_>,
    publisher: &Publisher,
    payload: serde_json::Value,
    now: DateTime,
) -> Result<Rollout> {
    let document = payload.clone();
    let result = run(aws, payload, now).await?;
    events::announce(publisher, events::deploying(&document, &result).as_slice()).await;
    Ok(result)
}

pub async fn update(aws: &Aws<'_>, input: &UpdateInput, now: DateTime) -> Result<Rollout> {
    let ecs = aws.ecs;
    require("deploymentId", &input.deployment_id)?;
    require("cluster", &input.cluster)?;
    require("service", &input.service)?;
    require(
        "register.taskDefinitionArn",
        &input.register.task_definition_arn,
    )?;
    let target = input.register.task_definition_arn.as_str();
    let timeout = input.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
    limits::check("timeoutSeconds", timeout, &limits::TIMEOUT_SECONDS)?;
    let deadline = time::plus_secs(now, timeout);

    let service = describe_service(ecs, &input.cluster, &input.service).await?;
    if controller(&service) == "CODE_DEPLOY" {
        return start_blue_green(aws, input, &service, deadline, now).await;
    }
    require_ecs_controller(&service)?;
    // A retry of this state: ECS already rolls out (or has rolled out) our revision. The revision
    // was registered for this deployment alone (register-revision tags it with our id), so its
    // PRIMARY deployment is ours, whether forceNewDeployment was asked or not: another
    // UpdateService would only start a second deployment of the same thing.
    if let Some(mut rollout) = primary_rollout(&service, target, deadline) {
        rollout.service_deployment_arn = current_service_deployment(&service);
        rollout.watch = Some(input.watch(false, strategy::of_service(&service).is_some()));
        tracing::info!(deployment = %rollout.ecs_deployment_id, service_deployment = rollout.service_deployment_arn.as_deref().unwrap_or("-"), task_definition = %short_name(target), in_progress = rollout_in_progress(&service), "service already deploys this revision");
        return Ok(rollout);
    }
    refuse_if_aborted(&service, input)?;

    // desiredCount is never sent (the autoscaler owns it), except by stop-then-start, which
    // restores the count it read before it scaled the service to 0.
    if let Some(stopping) = input.stopping.as_ref().filter(|s| !s.drained) {
        return Err(Error::invalid_input(format!(
            "stop-then-start: {} task(s) of {} may still run; the new revision starts only once none does",
            stopping.running, input.service
        )));
    }
    let out = ecs
        .update_service()
        .cluster(&input.cluster)
        .service(&input.service)
        .task_definition(target)
        .force_new_deployment(input.force_new_deployment)
        .set_desired_count(input.stopping.as_ref().map(|s| s.desired_count))
        .send()
        .await
        .map_err(|e| {
            Error::from_sdk(
                &format!("UpdateService {}/{}", input.cluster, input.service),
                e,
            )
        })?;
    let service = out
        .service
        .ok_or_else(|| Error::new(ErrorName::AwsError, "UpdateService returned no service"))?;
    let mut rollout = primary_rollout(&service, target, deadline).ok_or_else(|| {
        Error::new(
            ErrorName::AwsError,
            format!(
                "UpdateService {} returned no PRIMARY deployment of {}",
                input.service,
                short_name(target)
            ),
        )
    })?;
    // The service deployment this UpdateService started; older APIs and stand-ins name none, and
    // check-stability then judges from DescribeServices alone.
    rollout.service_deployment_arn = current_service_deployment(&service);
    rollout.watch = Some(input.watch(false, strategy::of_service(&service).is_some()));
    tracing::info!(
        service = %input.service,
        deployment = %rollout.ecs_deployment_id,
        service_deployment = rollout.service_deployment_arn.as_deref().unwrap_or("-"),
        task_definition = %short_name(target),
        desired = rollout.desired_count,
        deadline = %rollout.deadline,
        force = input.force_new_deployment,
        "rollout started"
    );
    Ok(rollout)
}

/// CODE_DEPLOY controller: a CodeDeploy blue/green deployment of the revision (ECS refuses a new
/// task definition through UpdateService for these services).
async fn start_blue_green(
    aws: &Aws<'_>,
    input: &UpdateInput,
    service: &Service,
    deadline: DateTime,
    now: DateTime,
) -> Result<Rollout> {
    let target = input.register.task_definition_arn.as_str();
    let tags = codedeploy::service_tags(aws.ecs, service).await?;
    let group = codedeploy::group_for(&input.cluster, &input.service, &tags);
    let id = match codedeploy::find_ours(aws.codedeploy, &group, &input.deployment_id).await? {
        Some(id) => {
            tracing::info!(deployment = %id, "CodeDeploy already deploys this revision for berth");
            id
        }
        None => {
            refuse_if_aborted(service, input)?;
            let (container, port) = codedeploy::load_balancer_target(service)?;
            let spec = codedeploy::appspec(target, &container, port, aws.hook_function);
            codedeploy::create(
                aws.codedeploy,
                &group,
                spec,
                codedeploy::description(&input.deployment_id, target),
            )
            .await?
        }
    };
    tracing::info!(
        service = %input.service,
        deployment = %id,
        application = %group.application,
        deployment_group = %group.deployment_group,
        task_definition = %short_name(target),
        hooks = aws.hook_function.unwrap_or("-"),
        "CodeDeploy blue/green deployment started"
    );
    Ok(Rollout {
        ecs_deployment_id: id.clone(),
        task_definition_arn: target.to_owned(),
        started_at: time::format(now),
        deadline: time::format(deadline),
        desired_count: service.desired_count(),
        code_deploy: Some(CodeDeployRollout {
            application: group.application,
            deployment_group: group.deployment_group,
            deployment_id: id,
            rollback: false,
        }),
        service_deployment_arn: None,
        rolled_back_by: None,
        watch: Some(input.watch(true, false)),
    })
}

/// `berth abort` before berth changed the service: refuse with `Aborted` (a refused name), so the
/// deployment ends NOT_STARTED. Once the update is made (a retry finds it) the abort is left to
/// check-stability, which rolls back.
fn refuse_if_aborted(service: &Service, input: &UpdateInput) -> Result<()> {
    let Some(me) = &input.execution else {
        return Ok(());
    };
    match control::for_execution(service, me.name(), "update-service") {
        Some(Action::Abort) => Err(Error::new(
            ErrorName::Aborted,
            format!(
                "{} before berth updated {}/{}: the service was not changed",
                control::ABORTED,
                input.cluster,
                input.service
            ),
        )),
        _ => Ok(()),
    }
}

fn rollout_in_progress(service: &Service) -> bool {
    service.deployments().iter().any(|d| {
        d.status() == Some("PRIMARY")
            && d.rollout_state().map(|s| s.as_str()) == Some("IN_PROGRESS")
    })
}

#[cfg(test)]
mod tests;
