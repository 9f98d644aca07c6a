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

/// The containers of a copy of `td` with the image of each container named in `images` (container
/// name -> image) replaced: what [`copy_into`] registers, and what `berth plan` compares.
pub fn copied_containers(
    td: &TaskDefinition,
    images: &[(String, String)],
) -> Vec<ContainerDefinition> {
    td.container_definitions()
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
        .collect()
}

/// Fill a RegisterTaskDefinition call with a copy of `td`, replacing the image of each container
/// named in `images` (container name -> image).
pub fn copy_into(
    call: RegisterTaskDefinitionFluentBuilder,
    td: &TaskDefinition,
    images: &[(String, String)],
    tags: Vec<Tag>,
) -> RegisterTaskDefinitionFluentBuilder {
    let containers = copied_containers(td, images);
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

/// What a request's `taskDefinition` may be: `family:revision` or its ARN (the JSON Schema's
/// pattern; [`parse_revision`] checks the same grammar).
pub const REVISION_PATTERN: &str = r"^(arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:task-definition/)?[A-Za-z0-9_-]{1,255}:[1-9][0-9]{0,9}$";

/// `family:revision` or `arn:aws:ecs:REGION:ACCOUNT:task-definition/family:revision`, as
/// (family, revision). A family alone is refused: a rollback names the exact revision.
pub fn parse_revision<'a>(field: &str, value: &'a str) -> Result<(&'a str, u64)> {
    let bad = |why: &str| {
        Error::invalid_input(format!(
            "{field} {value:?} {why}: give family:revision (web:7) or its task-definition ARN"
        ))
    };
    let short = match value.strip_prefix("arn:") {
        None => value,
        Some(rest) => {
            let (prefix, short) = rest
                .split_once(":task-definition/")
                .ok_or_else(|| bad("is not a task-definition ARN"))?;
            let parts: Vec<&str> = prefix.split(':').collect();
            let lower = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            };
            match parts.as_slice() {
                [partition, "ecs", region, account]
                    if partition.starts_with("aws")
                        && partition
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c == '-')
                        && lower(region)
                        && account.len() == 12
                        && account.chars().all(|c| c.is_ascii_digit()) => {}
                _ => return Err(bad("is not a task-definition ARN")),
            }
            short
        }
    };
    let (family, revision) = short
        .rsplit_once(':')
        .ok_or_else(|| bad("names no revision"))?;
    let family_ok = (1..=255).contains(&family.len())
        && family
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !family_ok {
        return Err(bad(
            "has no valid family (1 to 255 letters, digits, - and _)",
        ));
    }
    let revision_ok = (1..=10).contains(&revision.len())
        && !revision.starts_with('0')
        && revision.chars().all(|c| c.is_ascii_digit());
    match revision.parse::<u64>() {
        Ok(n) if revision_ok => Ok((family, n)),
        _ => Err(bad("has no valid revision (a whole number from 1)")),
    }
}

/// One difference between two revisions of a task definition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The container, or `None` for a field of the task definition itself.
    pub container: Option<String>,
    pub field: String,
    /// `-` when the field is not set.
    pub from: String,
    pub to: String,
}

/// What differs between `from` and `to`: each container's image first, then any other field of a
/// container or of the task definition (by name, with the SDK's rendering of the values).
pub fn diff(from: &TaskDefinition, to: &TaskDefinition) -> Vec<Change> {
    fn shown<T: std::fmt::Debug>(v: Option<T>) -> String {
        v.map(|v| format!("{v:?}").trim_matches('"').to_owned())
            .unwrap_or_else(|| "-".into())
    }
    let mut changes = vec![];
    let mut push = |container: Option<&str>, field: &str, a: String, b: String| {
        if a != b {
            changes.push(Change {
                container: container.map(str::to_owned),
                field: field.into(),
                from: a,
                to: b,
            });
        }
    };
    let find = |td: &TaskDefinition, name: Option<&str>| {
        td.container_definitions()
            .iter()
            .find(|c| c.name() == name)
            .cloned()
    };
    let names: Vec<Option<&str>> = from
        .container_definitions()
        .iter()
        .chain(to.container_definitions())
        .map(|c| c.name())
        .fold(vec![], |mut seen, n| {
            if !seen.contains(&n) {
                seen.push(n);
            }
            seen
        });
    for name in names {
        let (a, b) = (find(from, name), find(to, name));
        let c = name.or(Some("?"));
        match (a, b) {
            (Some(a), Some(b)) => {
                push(c, "image", shown(a.image()), shown(b.image()));
                macro_rules! fields {
                    ($($f:ident),*) => {$(
                        push(c, stringify!($f), shown(a.$f.as_ref()), shown(b.$f.as_ref()));
                    )*};
                }
                fields!(
                    command,
                    entry_point,
                    environment,
                    environment_files,
                    secrets,
                    port_mappings,
                    health_check,
                    log_configuration,
                    depends_on,
                    mount_points,
                    ulimits,
                    user,
                    working_directory,
                    memory,
                    memory_reservation,
                    essential
                );
                push(c, "cpu", a.cpu.to_string(), b.cpu.to_string());
            }
            (a, b) => push(
                c,
                "container",
                if a.is_some() { "present" } else { "-" }.into(),
                if b.is_some() { "present" } else { "-" }.into(),
            ),
        }
    }
    macro_rules! task_fields {
        ($($f:ident),*) => {$(
            push(None, stringify!($f), shown(from.$f.as_ref()), shown(to.$f.as_ref()));
        )*};
    }
    task_fields!(
        cpu,
        memory,
        task_role_arn,
        execution_role_arn,
        network_mode,
        requires_compatibilities,
        volumes,
        placement_constraints,
        runtime_platform,
        ephemeral_storage,
        proxy_configuration
    );
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{ContainerDefinition, KeyValuePair};

    fn td(containers: Vec<ContainerDefinition>) -> TaskDefinition {
        TaskDefinition::builder()
            .family("web")
            .cpu("256")
            .set_container_definitions(Some(containers))
            .build()
    }

    fn container(name: &str, image: &str) -> ContainerDefinition {
        ContainerDefinition::builder()
            .name(name)
            .image(image)
            .build()
    }

    #[test]
    fn a_copy_with_a_new_image_differs_in_that_image_only() {
        let current = td(vec![
            container("app", "web:v1"),
            container("log", "fluent:1"),
        ]);
        let mut copy = current.clone();
        copy.container_definitions = Some(copied_containers(
            &current,
            &[("app".into(), "web@sha256:abc".into())],
        ));
        assert_eq!(
            diff(&current, &copy),
            vec![Change {
                container: Some("app".into()),
                field: "image".into(),
                from: "web:v1".into(),
                to: "web@sha256:abc".into()
            }]
        );
        assert_eq!(diff(&current, &current), vec![]);
    }

    #[test]
    fn other_changed_fields_are_named_with_their_values() {
        let current = td(vec![container("app", "web:v1")]);
        let mut other = td(vec![ContainerDefinition::builder()
            .name("app")
            .image("web:v1")
            .environment(KeyValuePair::builder().name("MODE").value("x").build())
            .build()]);
        other.cpu = Some("512".into());
        let fields: Vec<(Option<String>, String, String)> = diff(&current, &other)
            .into_iter()
            .map(|c| (c.container, c.field, c.from))
            .collect();
        assert_eq!(
            fields,
            vec![
                (Some("app".into()), "environment".into(), "-".into()),
                (None, "cpu".into(), "256".into())
            ]
        );
        let gone = diff(&current, &td(vec![]));
        assert_eq!(
            (gone[0].field.as_str(), gone[0].to.as_str()),
            ("container", "-")
        );
    }

    #[test]
    fn a_revision_is_family_and_number_or_its_arn() {
        assert_eq!(
            parse_revision("taskDefinition", "web:7").unwrap(),
            ("web", 7)
        );
        assert_eq!(
            parse_revision(
                "taskDefinition",
                "arn:aws:ecs:eu-west-1:123456789012:task-definition/web_api-2:12"
            )
            .unwrap(),
            ("web_api-2", 12)
        );
        for bad in [
            "web",
            "web:0",
            "web:07",
            "web:x",
            ":3",
            "we b:3",
            "web:12345678901",
            "arn:aws:ecs:eu-west-1:123:task-definition/web:1",
            "arn:aws:ecs:eu-west-1:123456789012:service/web:1",
        ] {
            let e = parse_revision("taskDefinition", bad).unwrap_err();
            assert_eq!(e.name().as_str(), "InvalidInput", "{bad}");
            assert!(
                e.message().contains("family:revision"),
                "{bad}: {}",
                e.message()
            );
        }
    }
}
