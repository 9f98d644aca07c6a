//! One stability poll: read the service and its stopped tasks, decide, report the evidence.

use aws_sdk_ecs::types::{DesiredStatus, Service};
use aws_sdk_ecs::Client;
use berth::codedeploy;
use berth::control::{self, Action};
use berth::ecs::{describe_service, describe_service_deployment, service_tasks};
use berth::error::Result;
use berth::model::{
    parse_input, require, CodeDeployRollout, FailureReason, ServiceDeploymentState, Stability,
    StabilityInput, StabilityStatus,
};
use berth::service_deployment::{self, ServiceDeploymentView};
use berth::stability::{
    decide, Decision, DeploymentView, EventView, Expected, Observation, StoppedTaskView,
};
use berth::strategy;
use berth::taskdef::short_name;
use berth::time::{self, DateTime};

/// How many service events the result carries (newest first).
const EVENTS_SHOWN: usize = 5;

/// The clients a poll may need: ECS always; CodeDeploy and SSM for a CODE_DEPLOY rollout.
pub struct Aws<'a> {
    pub ecs: &'a Client,
    pub codedeploy: &'a aws_sdk_codedeploy::Client,
    pub ssm: &'a aws_sdk_ssm::Client,
    /// `BERTH_VERDICTS_PREFIX`: where the hook Lambda records its verdicts.
    pub verdicts_prefix: &'a str,
}

#[cfg(test)]
pub async fn run(aws: &Aws<'_>, payload: serde_json::Value, now: DateTime) -> Result<Stability> {
    let input: StabilityInput = parse_input("check-stability", payload)?;
    check_input(aws, &input, now).await
}

/// One check for a waiting watch state (`WatchRollout`, `WatchRollback`), whether its own
/// invocation or wake-rollout's on an ECS event: when the result is worth deciding on
/// ([`berth::watch::answers`]) it answers the state with SendTaskSuccess; otherwise the state
/// keeps waiting. A token already answered (the other caller was first) or timed out is not an
/// error. Without a token it is [`run`].
pub async fn watch(
    aws: &Aws<'_>,
    sfn: &aws_sdk_sfn::Client,
    payload: serde_json::Value,
    now: DateTime,
) -> Result<Stability> {
    let input: StabilityInput = parse_input("check-stability", payload)?;
    let result = check_input(aws, &input, now).await?;
    let Some(token) = &input.task_token else {
        return Ok(result);
    };
    if !berth::watch::answers(input.rollout.watch.as_ref(), &result) {
        tracing::info!(service = %input.service, detail = %result.detail, "nothing to decide yet: the state keeps waiting");
        return Ok(result);
    }
    let output = serde_json::to_string(&result)
        .map_err(|e| berth::error::Error::invalid_input(format!("check-stability: {e}")))?;
    if berth::watch::answer(sfn, token, output).await? {
        tracing::info!(service = %input.service, status = ?result.status, "answered the waiting state");
    } else {
        tracing::info!(service = %input.service, "the waiting state had moved on");
    }
    Ok(result)
}

async fn check_input(aws: &Aws<'_>, input: &StabilityInput, now: DateTime) -> Result<Stability> {
    match (&input.rollout.code_deploy, &input.rollout.rolled_back_by) {
        (Some(cd), _) => check_codedeploy(aws, input, cd, now).await,
        (None, Some(by)) => native::check_rollback(aws.ecs, input, by, now).await,
        (None, None) => check(aws.ecs, input, now).await,
    }
}

/// One poll of a CodeDeploy blue/green deployment (or of the rollback of one).
pub async fn check_codedeploy(
    aws: &Aws<'_>,
    input: &StabilityInput,
    cd: &CodeDeployRollout,
    now: DateTime,
) -> Result<Stability> {
    require("cluster", &input.cluster)?;
    require("service", &input.service)?;
    let deadline = time::parse("rollout.deadline", &input.rollout.deadline)?;
    let mut result = Stability {
        status: StabilityStatus::InProgress,
        reason: None,
        detail: String::new(),
        ecs_deployment_id: cd.deployment_id.clone(),
        task_definition_arn: input.rollout.task_definition_arn.clone(),
        primary_task_definition_arn: None,
        rollout_state: None,
        rollout_state_reason: None,
        desired_count: 0,
        running_count: 0,
        pending_count: 0,
        failed_tasks: 0,
        unhealthy_tasks: 0,
        events: vec![],
        checked_at: time::format(now),
        green_traffic_weight: None,
        service_deployment: None,
    };
    if cd.deployment_id.is_empty() {
        // A rollback before any CodeDeploy deployment existed: blue must still be the service's
        // task definition.
        let service = describe_service(aws.ecs, &input.cluster, &input.service).await?;
        let current = service.task_definition().unwrap_or_default().to_owned();
        let ok = current == input.rollout.task_definition_arn;
        result.status = if ok {
            StabilityStatus::Completed
        } else {
            StabilityStatus::Failed
        };
        result.reason = (!ok).then_some(FailureReason::DeploymentFailed);
        result.detail = if ok {
            format!(
                "no CodeDeploy deployment was started; the service still runs {}",
                short_name(&current)
            )
        } else {
            format!(
                "no CodeDeploy deployment found, yet the service runs {} instead of {}",
                short_name(&current),
                short_name(&input.rollout.task_definition_arn)
            )
        };
        result.primary_task_definition_arn = Some(current);
        return Ok(result);
    }
    let view = codedeploy::observe(aws.codedeploy, &cd.deployment_id).await?;
    let rollback_status = match &view.rollback_deployment_id {
        Some(rb) if !codedeploy::is_active_name(&view.status) => Some(
            codedeploy::get_deployment(aws.codedeploy, rb)
                .await?
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        ),
        _ => None,
    };
    let verdict = if view.status == "Failed" && !cd.rollback {
        let parameter =
            codedeploy::verdict_parameter(aws.verdicts_prefix, &input.cluster, &input.service);
        codedeploy::read_verdict(aws.ssm, &parameter).await
    } else {
        None
    };
    let decision = codedeploy::decide(
        &view,
        cd.rollback,
        rollback_status.as_deref(),
        verdict.as_ref(),
        deadline.secs(),
        now.secs(),
    );
    result.status = decision.status;
    result.reason = decision.reason;
    result.detail = decision.detail;
    result.rollout_state = Some(view.status.clone());
    result.rollout_state_reason = view.error_message.clone();
    result.green_traffic_weight = view.green_traffic_weight;
    if let Some((desired, running, pending)) = view.green_tasks {
        result.desired_count = desired as i32;
        result.running_count = running as i32;
        result.pending_count = pending as i32;
    }
    result.events = view
        .events
        .iter()
        .map(|e| match &e.diagnostics {
            Some(d) => format!("{} {}: {d}", e.name, e.status),
            None => format!("{} {}", e.name, e.status),
        })
        .collect();
    // The CodeDeploy path reads no service otherwise: one DescribeServices for the control, only
    // while berth's own rollout runs (never in a rollback).
    if let (Some(me), false) = (&input.execution, cd.rollback) {
        let service = describe_service(aws.ecs, &input.cluster, &input.service).await?;
        let action = control::for_execution(&service, me.name(), "check-stability");
        obey_abort(&mut result, action);
    }
    tracing::info!(
        service = %input.service,
        deployment = %cd.deployment_id,
        rollback = cd.rollback,
        status = ?result.status,
        reason = ?result.reason,
        codedeploy_status = %view.status,
        green_weight = ?view.green_traffic_weight,
        "{}",
        result.detail
    );
    Ok(result)
}

pub async fn check(ecs: &Client, input: &StabilityInput, now: DateTime) -> Result<Stability> {
    require("cluster", &input.cluster)?;
    require("service", &input.service)?;
    require("rollout.ecsDeploymentId", &input.rollout.ecs_deployment_id)?;
    require(
        "rollout.taskDefinitionArn",
        &input.rollout.task_definition_arn,
    )?;
    let started = time::parse("rollout.startedAt", &input.rollout.started_at)?;
    let deadline = time::parse("rollout.deadline", &input.rollout.deadline)?;

    let service = describe_service(ecs, &input.cluster, &input.service).await?;
    // CheckRollout names the execution, CheckRollback does not: a rollback obeys no control.
    let action = input
        .execution
        .as_ref()
        .and_then(|me| control::for_execution(&service, me.name(), "check-stability"));
    let stopped =
        service_tasks(ecs, &input.cluster, &input.service, DesiredStatus::Stopped).await?;
    let obs = observe(&service, &stopped);
    let expected = Expected {
        deployment_id: &input.rollout.ecs_deployment_id,
        task_definition: &input.rollout.task_definition_arn,
        started_at_secs: started.secs(),
        deadline_secs: deadline.secs(),
    };
    let decision = decide(&obs, &expected, now.secs());
    let primary = obs.deployments.iter().find(|d| d.status == "PRIMARY");
    let (decision, service_deployment) = match &input.rollout.service_deployment_arn {
        Some(arn) => {
            // After ECS's rollback the PRIMARY runs the restored revision: name it in the cause.
            let restored = primary
                .map(|p| p.task_definition.as_str())
                .filter(|td| *td != input.rollout.task_definition_arn);
            with_service_deployment(ecs, arn, decision, restored, now.secs() >= deadline.secs())
                .await?
        }
        None => (decision, None),
    };
    // A native BLUE_GREEN / LINEAR / CANARY deployment: its stage and weights (or the PAUSE hook
    // it waits in) in the detail; the canary runs while the new revision takes production traffic.
    let answer = strategy::approval_answer(
        input.execution.as_ref().map(|e| e.name()),
        &input.cluster,
        &input.service,
    );
    let decision = strategy::annotate(decision, service_deployment.as_ref(), &answer);
    let green_traffic_weight = service_deployment
        .as_ref()
        .and_then(strategy::canary_weight);

    let ours = obs
        .deployments
        .iter()
        .find(|d| d.id == input.rollout.ecs_deployment_id);
    let mut result = Stability {
        status: decision.status,
        reason: decision.reason,
        detail: decision.detail,
        ecs_deployment_id: input.rollout.ecs_deployment_id.clone(),
        task_definition_arn: input.rollout.task_definition_arn.clone(),
        primary_task_definition_arn: primary.map(|p| p.task_definition.clone()),
        rollout_state: ours.and_then(|d| d.rollout_state.clone()),
        rollout_state_reason: ours.and_then(|d| d.rollout_state_reason.clone()),
        desired_count: ours.map(|d| d.desired_count).unwrap_or(0),
        running_count: ours.map(|d| d.running_count).unwrap_or(0),
        pending_count: ours.map(|d| d.pending_count).unwrap_or(0),
        failed_tasks: ours.map(|d| d.failed_tasks).unwrap_or(0),
        unhealthy_tasks: decision.unhealthy_tasks,
        events: obs
            .events
            .iter()
            .filter(|e| e.at_secs >= started.secs())
            .take(EVENTS_SHOWN)
            .map(|e| e.message.clone())
            .collect(),
        checked_at: time::format(now),
        green_traffic_weight,
        service_deployment,
    };
    obey_abort(&mut result, action);
    tracing::info!(
        service = %input.service,
        deployment = %result.ecs_deployment_id,
        status = ?result.status,
        reason = ?result.reason,
        running = result.running_count,
        desired = result.desired_count,
        pending = result.pending_count,
        failed = result.failed_tasks,
        unhealthy = result.unhealthy_tasks,
        rollout_state = result.rollout_state.as_deref().unwrap_or("-"),
        service_deployment_status = result.service_deployment.as_ref().map(|s| s.status.as_str()).unwrap_or("-"),
        "{}",
        result.detail
    );
    Ok(result)
}

/// ECS's own verdict on the rollout's service deployment (one DescribeServiceDeployments), laid over
/// berth's decision. Where ECS cannot answer (the role lacks the call, the region or a stand-in does
/// not know it, the deployment is past its history) berth's decision stands alone, as before ECS
/// had service deployments; throttling and outages go to the ASL's retries.
async fn with_service_deployment(
    ecs: &Client,
    arn: &str,
    decision: Decision,
    restored_task_definition: Option<&str>,
    past_deadline: bool,
) -> Result<(Decision, Option<ServiceDeploymentState>)> {
    match describe_service_deployment(ecs, arn).await {
        Ok(Some(sd)) => {
            let view = ServiceDeploymentView::from_sdk(&sd);
            let judged =
                service_deployment::judge(&view, decision, restored_task_definition, past_deadline);
            Ok((judged, Some(strategy::with_stage(view.state(), &sd))))
        }
        Ok(None) => {
            tracing::warn!(service_deployment = %arn, "ECS does not know the service deployment; judging from DescribeServices alone");
            Ok((decision, None))
        }
        Err(e) if service_deployment::falls_back(&e) => {
            tracing::warn!(service_deployment = %arn, error = %e, error_name = %e.name(), "DescribeServiceDeployments failed; judging from DescribeServices alone");
            Ok((decision, None))
        }
        Err(e) => Err(e),
    }
}

/// `berth abort`: a rollout that has not failed on its own is judged FAILED (`Aborted`), which the
/// ASL rolls back like any failed rollout; one that failed already keeps its own reason.
fn obey_abort(result: &mut Stability, action: Option<Action>) {
    if action != Some(Action::Abort) || result.status == StabilityStatus::Failed {
        return;
    }
    // The counts and ECS's own words stay in the result's fields (and in the log line).
    let was = match result.status {
        StabilityStatus::Completed => "it had completed",
        _ => "it was in progress",
    };
    result.detail = format!(
        "{} during the rollout of {} ({was})",
        control::ABORTED,
        short_name(&result.task_definition_arn),
    );
    result.status = StabilityStatus::Failed;
    result.reason = Some(FailureReason::Aborted);
}

/// Turn SDK shapes into the plain data the decision reads.
fn observe(service: &Service, stopped: &[aws_sdk_ecs::types::Task]) -> Observation {
    Observation {
        deployments: service
            .deployments()
            .iter()
            .map(|d| DeploymentView {
                id: d.id().unwrap_or_default().to_owned(),
                status: d.status().unwrap_or_default().to_owned(),
                task_definition: d.task_definition().unwrap_or_default().to_owned(),
                rollout_state: d.rollout_state().map(|s| s.as_str().to_owned()),
                rollout_state_reason: d.rollout_state_reason().map(str::to_owned),
                desired_count: d.desired_count(),
                running_count: d.running_count(),
                pending_count: d.pending_count(),
                failed_tasks: d.failed_tasks(),
            })
            .collect(),
        events: service
            .events()
            .iter()
            .map(|e| EventView {
                at_secs: e.created_at().map(|t| t.secs()).unwrap_or(0),
                message: e.message().unwrap_or_default().to_owned(),
            })
            .collect(),
        stopped_tasks: stopped
            .iter()
            .map(|t| StoppedTaskView {
                task_id: t
                    .task_arn()
                    .and_then(|a| a.rsplit('/').next())
                    .unwrap_or_default()
                    .to_owned(),
                task_definition: t.task_definition_arn().unwrap_or_default().to_owned(),
                stopped_reason: t.stopped_reason().unwrap_or_default().to_owned(),
                stopped_at_secs: t
                    .stopped_at()
                    .or(t.created_at())
                    .map(|t| t.secs())
                    .unwrap_or(0),
            })
            .collect(),
    }
}

mod native;

#[cfg(test)]
mod tests;
