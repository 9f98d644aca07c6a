//! Blue/green through CodeDeploy, for services on the CODE_DEPLOY deployment controller: which
//! deployment group deploys a service, the AppSpec berth sends, what a deployment's state means
//! for berth, and the hook verdicts that let a failed execution name the check that failed.

use aws_sdk_codedeploy::error::ProvideErrorMetadata;
use aws_sdk_codedeploy::types::{
    AppSpecContent, DeploymentStatus, RevisionLocation, RevisionLocationType, TargetLabel,
};
use aws_sdk_ecs::types::Service;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{Error, ErrorName, Result};
use crate::hooks::CODEDEPLOY_HOOKS;
use crate::model::{FailureReason, StabilityStatus};
use crate::taskdef::short_name;

/// Service tags that name the CodeDeploy application and deployment group, when they are not the
/// ones the ECS console creates (`AppECS-<cluster>-<service>`, `DgpECS-<cluster>-<service>`).
pub const TAG_APPLICATION: &str = "berth:codedeploy-application";
pub const TAG_DEPLOYMENT_GROUP: &str = "berth:codedeploy-deployment-group";
/// Where the hook Lambda records each verdict, as `<prefix>/<cluster>/<service>`.
pub const DEFAULT_VERDICTS_PREFIX: &str = "/berth/hook-verdicts";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub application: String,
    pub deployment_group: String,
}

/// The deployment group that deploys `cluster/service`: the tags' names, else the console's.
pub fn group_for(cluster: &str, service: &str, tags: &[(String, String)]) -> Group {
    let tag = |k: &str| {
        tags.iter()
            .find(|(key, v)| key == k && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
    };
    Group {
        application: tag(TAG_APPLICATION).unwrap_or_else(|| format!("AppECS-{cluster}-{service}")),
        deployment_group: tag(TAG_DEPLOYMENT_GROUP)
            .unwrap_or_else(|| format!("DgpECS-{cluster}-{service}")),
    }
}

/// The service's tags (ListTagsForResource), as pairs.
pub async fn service_tags(
    ecs: &aws_sdk_ecs::Client,
    service: &Service,
) -> Result<Vec<(String, String)>> {
    let Some(arn) = service.service_arn() else {
        return Ok(vec![]);
    };
    let out = ecs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| Error::from_sdk(&format!("ListTagsForResource {arn}"), e))?;
    Ok(out
        .tags()
        .iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect())
}

/// The container and port the service's load balancer routes to: the AppSpec needs both.
pub fn load_balancer_target(service: &Service) -> Result<(String, i32)> {
    service
        .load_balancers()
        .iter()
        .find_map(|lb| Some((lb.container_name()?.to_owned(), lb.container_port()?)))
        .ok_or_else(|| {
            Error::invalid_input(format!(
                "service {} uses CODE_DEPLOY but has no load balancer with a container name and port",
                service.service_name().unwrap_or("?")
            ))
        })
}

/// The AppSpec (JSON is valid AppSpec YAML) for one ECS blue/green deployment. Every hook event
/// calls `hook_function` when one is given; a rollback's redeploy passes none, so no check can hold
/// it up.
pub fn appspec(
    task_definition: &str,
    container: &str,
    port: i32,
    hook_function: Option<&str>,
) -> String {
    let mut spec = json!({
        "version": 0.0,
        "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
            "TaskDefinition": task_definition,
            "LoadBalancerInfo": {"ContainerName": container, "ContainerPort": port}
        }}}]
    });
    if let Some(f) = hook_function.filter(|f| !f.trim().is_empty()) {
        spec["Hooks"] = CODEDEPLOY_HOOKS.iter().map(|h| json!({ *h: f })).collect();
    }
    spec.to_string()
}

/// The description berth gives its deployments; the deployment id makes a retry find it again.
pub fn description(berth_deployment_id: &str, task_definition: &str) -> String {
    format!(
        "berth:{berth_deployment_id} {}",
        short_name(task_definition)
    )
}

fn is_ours(description: Option<&str>, berth_deployment_id: &str) -> bool {
    description.is_some_and(|d| d.starts_with(&format!("berth:{berth_deployment_id} ")))
}

/// Created, Queued, InProgress, Ready or Baking: the deployment has not ended.
pub fn is_active_name(status: &str) -> bool {
    matches!(
        status,
        "Created" | "Queued" | "InProgress" | "Ready" | "Baking"
    )
}

pub fn is_active(status: &DeploymentStatus) -> bool {
    matches!(
        status,
        DeploymentStatus::Created
            | DeploymentStatus::Queued
            | DeploymentStatus::InProgress
            | DeploymentStatus::Ready
            | DeploymentStatus::Baking
    )
}

/// The active deployment of `group` that berth created for `berth_deployment_id`, if any (a retry
/// of update-service, or a rollback after update-service's result was lost).
pub async fn find_ours(
    cd: &aws_sdk_codedeploy::Client,
    group: &Group,
    berth_deployment_id: &str,
) -> Result<Option<String>> {
    let listed = cd
        .list_deployments()
        .application_name(&group.application)
        .deployment_group_name(&group.deployment_group)
        .include_only_statuses(DeploymentStatus::Created)
        .include_only_statuses(DeploymentStatus::Queued)
        .include_only_statuses(DeploymentStatus::InProgress)
        .include_only_statuses(DeploymentStatus::Ready)
        .send()
        .await
        .map_err(|e| {
            let code = e.code().unwrap_or_default().to_owned();
            group_error(
                &code,
                Error::from_sdk(
                    &format!(
                        "ListDeployments {}/{}",
                        group.application, group.deployment_group
                    ),
                    e,
                ),
            )
        })?;
    for id in listed.deployments() {
        let info = get_deployment(cd, id).await?;
        if is_ours(info.description(), berth_deployment_id) && info.status().is_some_and(is_active)
        {
            return Ok(Some(id.clone()));
        }
    }
    Ok(None)
}

pub async fn get_deployment(
    cd: &aws_sdk_codedeploy::Client,
    id: &str,
) -> Result<aws_sdk_codedeploy::types::DeploymentInfo> {
    cd.get_deployment()
        .deployment_id(id)
        .send()
        .await
        .map_err(|e| Error::from_sdk(&format!("GetDeployment {id}"), e))?
        .deployment_info
        .ok_or_else(|| {
            Error::new(
                ErrorName::AwsError,
                format!("GetDeployment {id}: no deploymentInfo"),
            )
        })
}

/// CreateDeployment with the AppSpec as the revision; returns the deployment id.
pub async fn create(
    cd: &aws_sdk_codedeploy::Client,
    group: &Group,
    appspec: String,
    description: String,
) -> Result<String> {
    let revision = RevisionLocation::builder()
        .revision_type(RevisionLocationType::AppSpecContent)
        .app_spec_content(AppSpecContent::builder().content(appspec).build())
        .build();
    let out = cd
        .create_deployment()
        .application_name(&group.application)
        .deployment_group_name(&group.deployment_group)
        .revision(revision)
        .description(description)
        .send()
        .await
        .map_err(|e| {
            let code = e.code().unwrap_or_default().to_owned();
            group_error(
                &code,
                Error::from_sdk(
                    &format!(
                        "CreateDeployment {}/{}",
                        group.application, group.deployment_group
                    ),
                    e,
                ),
            )
        })?;
    out.deployment_id.ok_or_else(|| {
        Error::new(
            ErrorName::AwsError,
            "CreateDeployment returned no deploymentId",
        )
    })
}

/// An unknown application or deployment group is bad input (nothing was changed), with the fix.
fn group_error(code: &str, err: Error) -> Error {
    match code {
        "ApplicationDoesNotExistException"
        | "DeploymentGroupDoesNotExistException"
        | "ApplicationNameRequiredException"
        | "DeploymentGroupNameRequiredException" => Error::invalid_input(format!(
            "{} (berth looks for the ECS console's names AppECS-<cluster>-<service> and \
             DgpECS-<cluster>-<service>; name others with the service tags {TAG_APPLICATION} and \
             {TAG_DEPLOYMENT_GROUP})",
            err.message()
        )),
        _ => err,
    }
}

/// StopDeployment with auto-rollback: CodeDeploy reroutes production traffic to blue.
pub async fn stop_with_rollback(cd: &aws_sdk_codedeploy::Client, id: &str) -> Result<String> {
    let out = cd
        .stop_deployment()
        .deployment_id(id)
        .auto_rollback_enabled(true)
        .send()
        .await
        .map_err(|e| Error::from_sdk(&format!("StopDeployment {id}"), e))?;
    Ok(format!(
        "{}{}",
        out.status().map(|s| s.as_str()).unwrap_or("?"),
        out.status_message()
            .map(|m| format!(": {m}"))
            .unwrap_or_default()
    ))
}

/// One lifecycle event of the deployment's ECS target.
#[derive(Debug, Clone, PartialEq)]
pub struct EventView {
    pub name: String,
    pub status: String,
    pub diagnostics: Option<String>,
}

/// What berth reads of a CodeDeploy deployment, as plain data.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeploymentView {
    pub id: String,
    pub application: String,
    pub deployment_group: String,
    /// `ECS`, `Server` or `Lambda`.
    pub compute_platform: Option<String>,
    pub status: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub rollback_deployment_id: Option<String>,
    pub rollback_message: Option<String>,
    pub events: Vec<EventView>,
    /// The ECS target's own status (`InProgress` while a lifecycle event runs).
    pub target_status: Option<String>,
    pub green_traffic_weight: Option<f64>,
    /// Green task set: desired, running, pending.
    pub green_tasks: Option<(i64, i64, i64)>,
}

/// GetDeployment plus its ECS target (lifecycle events, task sets).
pub async fn observe(cd: &aws_sdk_codedeploy::Client, id: &str) -> Result<DeploymentView> {
    let info = get_deployment(cd, id).await?;
    let mut view = DeploymentView {
        id: id.to_owned(),
        application: info.application_name().unwrap_or_default().to_owned(),
        deployment_group: info.deployment_group_name().unwrap_or_default().to_owned(),
        compute_platform: info.compute_platform().map(|p| p.as_str().to_owned()),
        status: info
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        error_code: info
            .error_information()
            .and_then(|e| e.code())
            .map(|c| c.as_str().to_owned()),
        error_message: info
            .error_information()
            .and_then(|e| e.message())
            .map(str::to_owned),
        rollback_deployment_id: info
            .rollback_info()
            .and_then(|r| r.rollback_deployment_id())
            .map(str::to_owned),
        rollback_message: info
            .rollback_info()
            .and_then(|r| r.rollback_message())
            .map(str::to_owned),
        ..Default::default()
    };
    let targets = cd
        .list_deployment_targets()
        .deployment_id(id)
        .send()
        .await
        .map_err(|e| Error::from_sdk(&format!("ListDeploymentTargets {id}"), e))?;
    if let Some(target) = targets.target_ids().first() {
        let t = cd
            .get_deployment_target()
            .deployment_id(id)
            .target_id(target)
            .send()
            .await
            .map_err(|e| Error::from_sdk(&format!("GetDeploymentTarget {id} {target}"), e))?;
        if let Some(ecs) = t.deployment_target().and_then(|d| d.ecs_target()) {
            view.target_status = ecs.status().map(|s| s.as_str().to_owned());
            view.events = ecs
                .lifecycle_events()
                .iter()
                .map(|e| EventView {
                    name: e.lifecycle_event_name().unwrap_or_default().to_owned(),
                    status: e
                        .status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    diagnostics: e
                        .diagnostics()
                        .and_then(|d| d.message())
                        .filter(|m| !m.is_empty())
                        .map(str::to_owned),
                })
                .collect();
            if let Some(green) = ecs
                .task_sets_info()
                .iter()
                .find(|s| s.task_set_label() == Some(&TargetLabel::Green))
            {
                view.green_traffic_weight = Some(green.traffic_weight());
                view.green_tasks = Some((
                    green.desired_count(),
                    green.running_count(),
                    green.pending_count(),
                ));
            }
        }
    }
    Ok(view)
}

/// A hook's verdict as the hook Lambda recorded it, so the execution's cause can name the check.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VerdictRecord {
    pub deployment_id: String,
    pub hook: String,
    /// `Succeeded` or `Failed`, as reported to CodeDeploy.
    pub status: String,
    pub detail: String,
}

pub fn verdict_parameter(prefix: &str, cluster: &str, service: &str) -> String {
    format!("{}/{cluster}/{service}", prefix.trim_end_matches('/'))
}

/// Overwrite the service's last verdict (one parameter per service, so nothing accumulates).
pub async fn record_verdict(
    ssm: &aws_sdk_ssm::Client,
    parameter: &str,
    record: &VerdictRecord,
) -> Result<()> {
    let mut value = serde_json::to_string(record).expect("a verdict serialises");
    // SSM standard parameters hold 4 KB.
    if value.len() > 4000 {
        let mut short = record.clone();
        short.detail = short.detail.chars().take(3000).collect::<String>() + "…";
        value = serde_json::to_string(&short).expect("a verdict serialises");
    }
    ssm.put_parameter()
        .name(parameter)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .map_err(|e| Error::from_sdk(&format!("PutParameter {parameter}"), e))?;
    Ok(())
}

/// The service's last recorded verdict; None when there is none or it cannot be read (the cause
/// then falls back to CodeDeploy's own words).
pub async fn read_verdict(ssm: &aws_sdk_ssm::Client, parameter: &str) -> Option<VerdictRecord> {
    match ssm.get_parameter().name(parameter).send().await {
        Ok(out) => {
            let text = out.parameter().and_then(|p| p.value())?;
            serde_json::from_str(text).ok()
        }
        Err(e) => {
            if !e
                .as_service_error()
                .is_some_and(|s| s.is_parameter_not_found())
            {
                tracing::warn!(parameter, error = %Error::from_sdk("GetParameter", e), "hook verdict unreadable");
            }
            None
        }
    }
}

/// The verdict of a CodeDeploy-driven rollout (or of its rollback) from what CodeDeploy reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub status: StabilityStatus,
    pub reason: Option<FailureReason>,
    pub detail: String,
}

fn lifecycle_summary(view: &DeploymentView) -> String {
    view.events
        .iter()
        .filter(|e| e.status != "Pending" && e.status != "Skipped")
        .map(|e| format!("{} {}", e.name, e.status))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decide one poll. `rollback_status` is the status of CodeDeploy's rollback deployment (when the
/// view names one); `verdict` the service's last hook verdict.
pub fn decide(
    view: &DeploymentView,
    is_rollback: bool,
    rollback_status: Option<&str>,
    verdict: Option<&VerdictRecord>,
    deadline_secs: i64,
    now_secs: i64,
) -> Decision {
    let id = &view.id;
    let active = is_active_name(&view.status);
    let done = |status, reason, detail: String| Decision {
        status,
        reason,
        detail,
    };
    if active {
        let current = view
            .events
            .iter()
            .find(|e| e.status == "InProgress")
            .map(|e| e.name.as_str());
        let what = format!(
            "CodeDeploy deployment {id} {}{}{}",
            view.status,
            current.map(|c| format!(" at {c}")).unwrap_or_default(),
            view.green_traffic_weight
                .map(|w| format!("; green receives {w}% of production traffic"))
                .unwrap_or_default()
        );
        return if now_secs > deadline_secs {
            done(
                StabilityStatus::Failed,
                Some(FailureReason::Timeout),
                format!("{what} at the deadline"),
            )
        } else {
            done(StabilityStatus::InProgress, None, what)
        };
    }
    if view.status == "Succeeded" {
        return done(
            StabilityStatus::Completed,
            None,
            if is_rollback {
                format!("CodeDeploy deployment {id} Succeeded: the previous revision serves all traffic again")
            } else {
                format!("CodeDeploy deployment {id} Succeeded: green serves all production traffic")
            },
        );
    }
    // Failed or Stopped.
    let rolled_back = match (&view.rollback_deployment_id, rollback_status) {
        (Some(rb), Some("Succeeded")) => Some(Ok(format!(
            "CodeDeploy rolled back to blue (deployment {rb})"
        ))),
        (Some(rb), Some(s)) if is_active_name(s) => Some(Err(format!(
            "CodeDeploy rolls back to blue (deployment {rb} {s})"
        ))),
        (Some(rb), Some(s)) => Some(Ok(format!("CodeDeploy's rollback deployment {rb} is {s}"))),
        _ => None,
    };
    if is_rollback {
        return match rolled_back {
            Some(Ok(text)) if rollback_status == Some("Succeeded") => done(
                StabilityStatus::Completed,
                None,
                format!("deployment {id} {}; {text}", view.status),
            ),
            Some(Err(text)) if now_secs <= deadline_secs => done(StabilityStatus::InProgress, None, text),
            Some(Err(text)) => done(StabilityStatus::Failed, Some(FailureReason::Timeout), format!("{text} at the deadline")),
            Some(Ok(text)) => done(StabilityStatus::Failed, Some(FailureReason::DeploymentFailed), text),
            None => done(
                StabilityStatus::Failed,
                Some(FailureReason::DeploymentFailed),
                format!(
                    "deployment {id} {} and CodeDeploy started no rollback deployment: check which task set serves production traffic",
                    view.status
                ),
            ),
        };
    }
    let failed_event = view.events.iter().find(|e| e.status == "Failed");
    let tail = match &rolled_back {
        Some(Ok(t)) | Some(Err(t)) => format!("; {t}"),
        None => String::new(),
    };
    match failed_event {
        Some(e) => {
            let why = verdict
                .filter(|v| v.deployment_id == *id && v.hook == e.name && v.status == "Failed")
                .map(|v| v.detail.clone())
                .or_else(|| e.diagnostics.clone())
                .or_else(|| view.error_message.clone())
                .unwrap_or_else(|| "no detail".into());
            done(
                StabilityStatus::Failed,
                Some(FailureReason::HookFailed),
                format!(
                    "CodeDeploy deployment {id} {} at {}: {why}{tail}",
                    view.status, e.name
                ),
            )
        }
        None => done(
            StabilityStatus::Failed,
            Some(if view.status == "Stopped" {
                FailureReason::Stopped
            } else {
                FailureReason::DeploymentFailed
            }),
            format!(
                "CodeDeploy deployment {id} {}: {}{}{tail}",
                view.status,
                view.error_message.as_deref().unwrap_or("no detail"),
                view.error_code
                    .as_deref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default()
            ),
        ),
    }
    .with_lifecycle(view)
}

impl Decision {
    fn with_lifecycle(mut self, view: &DeploymentView) -> Self {
        let summary = lifecycle_summary(view);
        if !summary.is_empty() {
            self.detail.push_str(&format!(" [{summary}]"));
        }
        self
    }
}

#[cfg(test)]
mod tests;
