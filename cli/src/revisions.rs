//! The revisions berth registered for a service, read back from the tags register-revision writes
//! on each one (`berth:deployment-id`, `berth:previous-task-definition`). They outlive the
//! executions: Step Functions lists a closed execution for 90 days, a task definition stays.

use aws_sdk_ecs::types::{SortOrder, TaskDefinition, TaskDefinitionStatus};
use berth::model::{TAG_DEPLOYMENT_ID, TAG_PREVIOUS};
use berth::taskdef::{family_of, tag_value};
use serde::Serialize;

use crate::error::{sdk, CliError};
use crate::follow::rfc3339;
use crate::progress;

/// Revisions read at most (one ListTaskDefinitions page).
pub const LOOKBACK: i32 = 100;

/// One revision berth registered for the service.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BerthRevision {
    pub task_definition: String,
    /// `<execution name>/<cluster>/<service>`, as Plan builds it.
    pub deployment_id: String,
    /// The revision the service ran before this one (where a rollback returns).
    pub previous: Option<String>,
    pub registered_at: Option<String>,
    pub registered_secs: f64,
    /// Each container's image, `name=image`.
    pub images: Vec<String>,
}

impl BerthRevision {
    /// The name of the execution that registered it.
    pub fn execution_name(&self) -> &str {
        self.deployment_id
            .split('/')
            .next()
            .unwrap_or(&self.deployment_id)
    }
}

/// Whether a deployment id names this cluster and service (cluster and service by their names;
/// families are shared between services, so the family alone does not say).
pub fn is_for(deployment_id: &str, cluster: &str, service: &str) -> bool {
    let short = |s: &str| s.rsplit('/').next().unwrap_or(s).to_owned();
    deployment_id.ends_with(&format!("/{}/{}", short(cluster), short(service)))
}

/// The revision as berth tagged it, or `None` when berth did not register it for this service.
pub fn from_tagged(
    td: &TaskDefinition,
    tags: &[aws_sdk_ecs::types::Tag],
    cluster: &str,
    service: &str,
) -> Option<BerthRevision> {
    let id = tag_value(tags, TAG_DEPLOYMENT_ID)?;
    if !is_for(id, cluster, service) {
        return None;
    }
    let registered = td.registered_at().map(progress::seconds);
    Some(BerthRevision {
        task_definition: td.task_definition_arn().unwrap_or_default().to_owned(),
        deployment_id: id.to_owned(),
        previous: tag_value(tags, TAG_PREVIOUS).map(str::to_owned),
        registered_at: registered.map(rfc3339),
        registered_secs: registered.unwrap_or_default(),
        images: td
            .container_definitions()
            .iter()
            .map(|c| {
                format!(
                    "{}={}",
                    c.name().unwrap_or_default(),
                    c.image().unwrap_or_default()
                )
            })
            .collect(),
    })
}

/// The newest `want` revisions berth registered for `cluster`/`service` among the newest
/// `LOOKBACK` of the family the service runs now, newest first.
pub async fn read(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    want: usize,
) -> Result<Vec<BerthRevision>, CliError> {
    let svc = match berth::ecs::describe_service(ecs, cluster, service).await {
        Ok(svc) => svc,
        // A service (or cluster) deleted since: its executions still make its history.
        Err(e) if e.name().group() == berth::error::Group::Refused => return Ok(vec![]),
        Err(e) => return Err(CliError::failed(format!("{}: {}", e.name(), e.message()))),
    };
    let Some(family) = svc.task_definition().and_then(family_of).map(str::to_owned) else {
        return Ok(vec![]);
    };
    let listed = ecs
        .list_task_definitions()
        .family_prefix(&family)
        .status(TaskDefinitionStatus::Active)
        .sort(SortOrder::Desc)
        .max_results(LOOKBACK)
        .send()
        .await
        .map_err(|e| sdk("ListTaskDefinitions", e))?;
    let mut found = Vec::new();
    // familyPrefix also matches longer family names ("web" matches "web-worker").
    for arn in listed
        .task_definition_arns()
        .iter()
        .filter(|arn| family_of(arn) == Some(family.as_str()))
    {
        if found.len() >= want {
            break;
        }
        let (td, tags) = berth::ecs::describe_task_definition(ecs, arn)
            .await
            .map_err(|e| CliError::failed(format!("{}: {}", e.name(), e.message())))?;
        found.extend(from_tagged(&td, &tags, cluster, service));
    }
    found.sort_by(|a, b| b.registered_secs.total_cmp(&a.registered_secs));
    Ok(found)
}

#[cfg(test)]
mod tests;
