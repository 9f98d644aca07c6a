//! ECS reads every state shares: the service, its task definition, its tasks.

use aws_sdk_ecs::types::{
    DesiredStatus, Service, ServiceDeployment, ServiceField, SortOrder, Tag, TaskDefinition,
    TaskDefinitionField, TaskDefinitionStatus,
};
use aws_sdk_ecs::Client;
use aws_smithy_types::DateTime;

use crate::model::Rollout;
use crate::taskdef::{family_of, tag_value};
use crate::time;

use crate::error::{Error, ErrorName, Result};

/// DescribeServices for one service, with its tags (the `berth:control` of `berth abort` and
/// `berth promote` is read from them; DescribeServices authorizes `include`). A missing service is a
/// `failures` entry, not an error, in ECS's API: turn it (and a draining or inactive service) into
/// `ServiceNotFound`.
pub async fn describe_service(ecs: &Client, cluster: &str, service: &str) -> Result<Service> {
    let out = ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .include(ServiceField::Tags)
        .send()
        .await
        .map_err(|e| Error::from_sdk(&format!("DescribeServices {cluster}/{service}"), e))?;
    let found = out
        .services()
        .iter()
        .find(|s| s.service_name() == Some(service) || s.service_arn() == Some(service));
    match found {
        Some(s) if s.status() == Some("ACTIVE") => Ok(s.clone()),
        Some(s) => Err(Error::new(
            ErrorName::ServiceNotFound,
            format!(
                "service {service} in cluster {cluster} is {}, not ACTIVE",
                s.status().unwrap_or("in an unknown state")
            ),
        )),
        None => {
            let reason = out
                .failures()
                .first()
                .and_then(|f| f.reason())
                .unwrap_or("MISSING");
            Err(Error::new(
                ErrorName::ServiceNotFound,
                format!("service {service} not found in cluster {cluster} ({reason})"),
            ))
        }
    }
}

/// DescribeTaskDefinition with its tags.
pub async fn describe_task_definition(
    ecs: &Client,
    task_definition: &str,
) -> Result<(TaskDefinition, Vec<Tag>)> {
    let out = ecs
        .describe_task_definition()
        .task_definition(task_definition)
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .map_err(|e| {
            let err = Error::from_sdk(&format!("DescribeTaskDefinition {task_definition}"), e);
            // ECS answers ClientException "Unable to describe task definition." for unknown ones.
            if err.message().contains("Unable to describe task definition") {
                Error::new(ErrorName::TaskDefinitionNotFound, err.message().to_string())
            } else {
                err
            }
        })?;
    let td = out.task_definition.ok_or_else(|| {
        Error::new(
            ErrorName::TaskDefinitionNotFound,
            format!("DescribeTaskDefinition {task_definition} returned no task definition"),
        )
    })?;
    Ok((td, out.tags.unwrap_or_default()))
}

/// The newest of `family`'s `lookback` latest ACTIVE revisions whose tag `key` is `value`: what an
/// earlier attempt registered, so that a retry reuses it instead of registering another.
pub async fn find_tagged_revision(
    ecs: &Client,
    family: &str,
    lookback: i32,
    key: &str,
    value: &str,
) -> Result<Option<String>> {
    let listed = ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .sort(SortOrder::Desc)
        .max_results(lookback)
        .send()
        .await
        .map_err(|e| Error::from_sdk(&format!("ListTaskDefinitions {family}"), e))?;
    // familyPrefix also matches longer family names ("web" matches "web-worker").
    let ours = listed
        .task_definition_arns()
        .iter()
        .filter(|arn| family_of(arn) == Some(family));
    for arn in ours {
        let (_, tags) = describe_task_definition(ecs, arn).await?;
        if tag_value(&tags, key) == Some(value) {
            return Ok(Some(arn.clone()));
        }
    }
    Ok(None)
}

/// The service's tasks in one desired status (at most 100, the DescribeTasks limit: enough to read
/// digests and stop reasons from).
pub async fn service_tasks(
    ecs: &Client,
    cluster: &str,
    service: &str,
    status: DesiredStatus,
) -> Result<Vec<aws_sdk_ecs::types::Task>> {
    let listed = ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(service)
        .desired_status(status.clone())
        .max_results(100)
        .send()
        .await
        .map_err(|e| Error::from_sdk(&format!("ListTasks {cluster}/{service} {status}"), e))?;
    if listed.task_arns().is_empty() {
        return Ok(vec![]);
    }
    let described = ecs
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(listed.task_arns().to_vec()))
        .send()
        .await
        .map_err(|e| Error::from_sdk(&format!("DescribeTasks {cluster}/{service}"), e))?;
    Ok(described.tasks.unwrap_or_default())
}

/// A service tag's value, trimmed; `None` when absent or blank.
pub fn service_tag<'a>(service: &'a Service, key: &str) -> Option<&'a str> {
    service_tag_raw(service, key).filter(|v| !v.is_empty())
}

/// The region and account of an ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:...`); `None` for a
/// name that is not an ARN.
pub fn arn_home(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.strip_prefix("arn:")?.splitn(5, ':');
    let (_partition, _service) = (parts.next()?, parts.next()?);
    Some((parts.next()?, parts.next()?))
}

/// A name the request gives as an ARN must be in the service's region and account: ECS would
/// otherwise look the name up here, and act on this account's namesake.
pub fn require_home(field: &str, given: &str, service: &Service) -> Result<()> {
    let (Some((region, account)), Some(home)) =
        (arn_home(given), service.service_arn().and_then(arn_home))
    else {
        return Ok(());
    };
    if (region, account) != home {
        return Err(Error::invalid_input(format!(
            "{field} {given} is in account {account}, region {region}, but service {} is in account {}, region {}: berth acts only there",
            service.service_name().unwrap_or("?"),
            home.1,
            home.0
        )));
    }
    Ok(())
}

/// A service's tag value, trimmed, an empty one kept: for the settings where a tag set to nothing
/// is a mistake to refuse, not "off".
pub fn service_tag_raw<'a>(service: &'a Service, key: &str) -> Option<&'a str> {
    service
        .tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .map(|t| t.value().unwrap_or_default().trim())
}

/// Every ACTIVE service carrying the tag `key`, with its tags, and the name of its cluster: in
/// `clusters`, or in every cluster of the account and region when it is empty (`BERTH_CLUSTERS`).
/// DescribeServices takes at most 10 services a call. Plan reads the services a push deploys
/// from this, and the reconciliation sweep the services it checks.
pub async fn services_tagged(
    ecs: &Client,
    clusters: &[String],
    key: &str,
) -> Result<Vec<(String, Service)>> {
    let clusters = if clusters.is_empty() {
        let mut all = vec![];
        let mut pages = ecs.list_clusters().into_paginator().send();
        while let Some(page) = pages.next().await {
            all.extend(
                page.map_err(|e| Error::from_sdk("ListClusters", e))?
                    .cluster_arns()
                    .iter()
                    .cloned(),
            );
        }
        all
    } else {
        clusters.to_vec()
    };
    let mut found = vec![];
    for cluster in clusters {
        let mut arns = vec![];
        let mut pages = ecs
            .list_services()
            .cluster(&cluster)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            arns.extend(
                page.map_err(|e| Error::from_sdk(&format!("ListServices {cluster}"), e))?
                    .service_arns()
                    .iter()
                    .cloned(),
            );
        }
        for chunk in arns.chunks(10) {
            let out = ecs
                .describe_services()
                .cluster(&cluster)
                .set_services(Some(chunk.to_vec()))
                .include(ServiceField::Tags)
                .send()
                .await
                .map_err(|e| Error::from_sdk(&format!("DescribeServices {cluster}"), e))?;
            for s in out.services() {
                if s.status() == Some("ACTIVE") && service_tag(s, key).is_some() {
                    let cluster_name = s
                        .cluster_arn()
                        .map(|a| a.rsplit('/').next().unwrap_or(a))
                        .unwrap_or(&cluster)
                        .to_owned();
                    found.push((cluster_name, s.clone()));
                }
            }
        }
    }
    Ok(found)
}

/// DescribeServiceDeployments of one service deployment (one ARN, one call). `None` when ECS lists
/// it under `failures` (unknown, or past its 90 days of history).
pub async fn describe_service_deployment(
    ecs: &Client,
    arn: &str,
) -> Result<Option<ServiceDeployment>> {
    let out = ecs
        .describe_service_deployments()
        .service_deployment_arns(arn)
        .send()
        .await
        .map_err(|e| Error::from_sdk(&format!("DescribeServiceDeployments {arn}"), e))?;
    Ok(out
        .service_deployments()
        .iter()
        .find(|d| d.service_deployment_arn() == Some(arn))
        .or(out.service_deployments().first())
        .cloned())
}

/// berth's rolling path drives only services on the ECS deployment controller.
pub fn require_ecs_controller(service: &Service) -> Result<()> {
    match controller(service) {
        "ECS" => Ok(()),
        other => Err(Error::new(
            ErrorName::UnsupportedDeploymentController,
            format!(
                "service {} uses the {other} deployment controller; berth's rolling path drives only ECS",
                service.service_name().unwrap_or("?")
            ),
        )),
    }
}

/// berth drives services on the ECS controller (rolling) and on CODE_DEPLOY (blue/green through
/// CodeDeploy); EXTERNAL is refused.
pub fn require_supported_controller(service: &Service) -> Result<()> {
    match controller(service) {
        "ECS" | "CODE_DEPLOY" => Ok(()),
        other => Err(Error::new(
            ErrorName::UnsupportedDeploymentController,
            format!(
                "service {} uses the {other} deployment controller; berth drives ECS (rolling) and CODE_DEPLOY (blue/green)",
                service.service_name().unwrap_or("?")
            ),
        )),
    }
}

/// The deployment controller type (ECS when absent, as in ECS's own default).
pub fn controller(service: &Service) -> &str {
    service
        .deployment_controller()
        .map(|c| c.r#type().as_str())
        .unwrap_or("ECS")
}

/// The service deployment ECS runs or ran last (`currentServiceDeployment`), if it names one.
pub fn current_service_deployment(service: &Service) -> Option<String> {
    service
        .current_service_deployment()
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
}

/// The PRIMARY deployment, if it runs `target`.
pub fn primary_rollout(service: &Service, target: &str, deadline: DateTime) -> Option<Rollout> {
    let d = service
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY") && d.task_definition() == Some(target))?;
    Some(Rollout {
        ecs_deployment_id: d.id()?.to_owned(),
        task_definition_arn: target.to_owned(),
        started_at: time::format(d.created_at().copied().unwrap_or_else(time::now)),
        deadline: time::format(deadline),
        code_deploy: None,
        desired_count: d.desired_count(),
        // Set by the caller that started the deployment: a service found already on `target` may
        // be there by ECS's own rollback, whose service deployment says ROLLBACK_SUCCESSFUL.
        service_deployment_arn: None,
        rolled_back_by: None,
        // Set by the state that started it, which knows how it is watched.
        watch: None,
    })
}

#[cfg(test)]
mod tests;
