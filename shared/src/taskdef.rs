//! Task-definition surgery: pick the container, copy a revision with a new image, read tags.
//!
//! A copy goes through the RegisterTaskDefinition builder field by field, so the response-only
//! fields (taskDefinitionArn, revision, status, requiresAttributes, compatibilities, registeredAt,
//! registeredBy, deregisteredAt) cannot leak into the request.

use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder;
use aws_sdk_ecs::types::{ContainerDefinition, Tag, TaskDefinition};

use crate::error::{Error, ErrorName, Result};

/// The container to change: the one named, or the only one.
pub fn pick_container<'a>(
    td: &'a TaskDefinition,
    wanted: Option<&str>,
) -> Result<&'a ContainerDefinition> {
    let containers = td.container_definitions();
    let family = td.family().unwrap_or("?");
    match wanted {
        Some(name) => containers.iter().find(|c| c.name() == Some(name)).ok_or_else(|| {
            Error::new(
                ErrorName::ContainerNotFound,
                format!("task definition {family} has no container {name:?}; it has {}", container_names(td)),
            )
        }),
        None => match containers {
            [only] => Ok(only),
            [] => Err(Error::new(ErrorName::ContainerNotFound, format!("task definition {family} has no containers"))),
            _ => Err(Error::new(
                ErrorName::AmbiguousContainer,
                format!("task definition {family} has several containers ({}): name one in \"container\"", container_names(td)),
            )),
        },
    }
}

fn container_names(td: &TaskDefinition) -> String {
    td.container_definitions()
        .iter()
        .filter_map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fill a RegisterTaskDefinition call with a copy of `td`, replacing the image of each container
/// named in `images` (container name -> image).
pub fn copy_into(
    call: RegisterTaskDefinitionFluentBuilder,
    td: &TaskDefinition,
    images: &[(String, String)],
    tags: Vec<Tag>,
) -> RegisterTaskDefinitionFluentBuilder {
    let containers = td
        .container_definitions()
        .iter()
        .map(
            |c| match images.iter().find(|(name, _)| c.name() == Some(name)) {
                Some((_, image)) => {
                    let mut c = c.clone();
                    c.image = Some(image.clone());
                    c
                }
                None => c.clone(),
            },
        )
        .collect();
    call.set_family(td.family().map(str::to_owned))
        .set_task_role_arn(td.task_role_arn().map(str::to_owned))
        .set_execution_role_arn(td.execution_role_arn().map(str::to_owned))
        .set_network_mode(td.network_mode().cloned())
        .set_container_definitions(Some(containers))
        .set_volumes(td.volumes.clone())
        .set_placement_constraints(td.placement_constraints.clone())
        .set_requires_compatibilities(td.requires_compatibilities.clone())
        .set_cpu(td.cpu().map(str::to_owned))
        .set_memory(td.memory().map(str::to_owned))
        .set_pid_mode(td.pid_mode().cloned())
        .set_ipc_mode(td.ipc_mode().cloned())
        .set_proxy_configuration(td.proxy_configuration().cloned())
        .set_ephemeral_storage(td.ephemeral_storage().cloned())
        .set_runtime_platform(td.runtime_platform().cloned())
        .set_enable_fault_injection(td.enable_fault_injection())
        .set_tags(if tags.is_empty() { None } else { Some(tags) })
}

pub fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

pub fn tag_value<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// The user's own tags, without berth's bookkeeping tags, so copies do not inherit stale ones.
pub fn user_tags(tags: &[Tag]) -> Vec<Tag> {
    tags.iter()
        .filter(|t| !t.key().unwrap_or("").starts_with("berth:"))
        .cloned()
        .collect()
}

/// `family:revision` from a task-definition ARN, for logs and messages.
pub fn short_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The family of a task-definition ARN (`web` of `…:task-definition/web:7`).
pub fn family_of(arn: &str) -> Option<&str> {
    short_name(arn).rsplit_once(':').map(|(family, _)| family)
}
