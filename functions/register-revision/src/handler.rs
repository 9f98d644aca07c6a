//! Register the new revision, once per deployment, and record what ran before.

use std::collections::HashMap;

use aws_sdk_ecs::types::{DesiredStatus, Tag, TaskDefinition};
use aws_sdk_ecs::Client;
use berth::ecs::{
    describe_service, describe_task_definition, require_supported_controller, service_tasks,
};
use berth::error::{Error, ErrorName, Result};
use berth::image::ImageRef;
use berth::model::{
    parse_input, require, RegisterInput, Registration, RunningImage, TAG_DEPLOYMENT_ID,
    TAG_PREVIOUS,
};
use berth::taskdef::{copy_into, family_of, pick_container, short_name, tag, tag_value, user_tags};

pub async fn run(ecs: &Client, payload: serde_json::Value) -> Result<Registration> {
    let input: RegisterInput = parse_input("register-revision", payload)?;
    register(ecs, &input).await
}

pub async fn register(ecs: &Client, input: &RegisterInput) -> Result<Registration> {
    // Validate everything that needs no AWS call first: bad input changes nothing.
    require("deploymentId", &input.deployment_id)?;
    require("cluster", &input.cluster)?;
    require("service", &input.service)?;
    if input.deployment_id.len() > 256 {
        return Err(Error::invalid_input(
            "\"deploymentId\" must be at most 256 characters (it becomes a tag value)",
        ));
    }
    if let Some(target) = &input.task_definition {
        return existing(ecs, input, target).await;
    }
    let image = ImageRef::parse(&input.image)?;

    let current_arn = running(ecs, input).await?;
    // At most 6 ECS calls per invoke (ECS's API buckets are shared account-wide, and a push may
    // deploy hundreds of services): DescribeServices, the family's newest revision, the current
    // one when it is not the newest, ListTasks + DescribeTasks (running digests), and
    // RegisterTaskDefinition. The newest revision is also how a retry finds what an earlier
    // attempt registered (below); usually the service runs it, and it is the only describe.
    let newest = match family_of(&current_arn) {
        Some(family) => newest_revision(ecs, family).await?,
        None => None,
    };
    let (current, current_tags, newer) = match newest {
        Some((td, tags))
            if td.task_definition_arn().map(short_name) == Some(short_name(&current_arn)) =>
        {
            (td, tags, None)
        }
        newer => {
            let (td, tags) = describe_task_definition(ecs, &current_arn).await?;
            (td, tags, newer)
        }
    };
    let container = pick_container(&current, input.container.as_deref())?
        .name()
        .unwrap_or_default()
        .to_owned();

    // A retry after update-service already ran: the service runs our revision, whose tag names
    // the real previous one.
    if tag_value(&current_tags, TAG_DEPLOYMENT_ID) == Some(input.deployment_id.as_str()) {
        let previous = tag_value(&current_tags, TAG_PREVIOUS)
            .unwrap_or_default()
            .to_owned();
        tracing::info!(deployment = %input.deployment_id, task_definition = %current_arn, "service already runs this deployment's revision");
        let previous_images = match describe_task_definition(ecs, &previous).await {
            Ok((prev_td, _)) => images_of(&prev_td, &HashMap::new()),
            Err(_) => vec![],
        };
        return Ok(Registration {
            image: image_of(&current, &container),
            task_definition_arn: current_arn,
            previous_task_definition_arn: previous,
            container,
            previous_images,
            reused: true,
            existing: false,
        });
    }

    let running = running_digests(ecs, input, &current_arn).await?;
    let previous_images = images_of(&current, &running);
    let new_image = image.pinned();

    // An earlier attempt registered a revision tagged with this deployment id and then failed
    // (a timeout after RegisterTaskDefinition answered): it is the family's newest revision, newer
    // than the one the service runs, unless something else registered a revision of the family in
    // between (another service of a shared family, a registration out of band). Then the retry
    // registers a second, identical copy, which nothing runs; looking further back would cost one
    // DescribeTaskDefinition per revision (the lookback of 10 this replaces made 16 calls).
    let earlier = newer
        .filter(|(_, tags)| {
            tag_value(tags, TAG_DEPLOYMENT_ID) == Some(input.deployment_id.as_str())
        })
        .and_then(|(td, _)| td.task_definition_arn().map(str::to_owned));
    if let Some(existing) = earlier {
        tracing::info!(deployment = %input.deployment_id, task_definition = %existing, "reusing the revision registered by an earlier attempt");
        return Ok(Registration {
            task_definition_arn: existing,
            previous_task_definition_arn: current_arn,
            container,
            image: new_image,
            previous_images,
            reused: true,
            existing: false,
        });
    }

    let mut tags = user_tags(&current_tags);
    tags.push(tag(TAG_DEPLOYMENT_ID, &input.deployment_id));
    tags.push(tag(TAG_PREVIOUS, &current_arn));
    let registered = copy_into(
        ecs.register_task_definition(),
        &current,
        &[(container.clone(), new_image.clone())],
        tags,
    )
    .send()
    .await
    .map_err(|e| {
        Error::from_sdk(
            &format!(
                "RegisterTaskDefinition {}",
                current.family().unwrap_or_default()
            ),
            e,
        )
    })?;
    let arn = registered
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .ok_or_else(|| {
            Error::new(
                ErrorName::AwsError,
                "RegisterTaskDefinition returned no task definition ARN",
            )
        })?
        .to_owned();
    tracing::info!(
        deployment = %input.deployment_id,
        previous = %short_name(&current_arn),
        registered = %short_name(&arn),
        container = %container,
        image = %new_image,
        pinned = !image.is_mutable(),
        "registered revision"
    );
    Ok(Registration {
        task_definition_arn: arn,
        previous_task_definition_arn: current_arn,
        container,
        image: new_image,
        previous_images,
        reused: false,
        existing: false,
    })
}

/// The newest ACTIVE revision of `family`, with its tags, in one call: DescribeTaskDefinition of
/// the bare family name answers its latest ACTIVE revision. `None` when the family has none left
/// (every revision deregistered: the service may still run an INACTIVE one).
async fn newest_revision(ecs: &Client, family: &str) -> Result<Option<(TaskDefinition, Vec<Tag>)>> {
    match describe_task_definition(ecs, family).await {
        Ok(found) => Ok(Some(found)),
        Err(e) if e.name() == ErrorName::TaskDefinitionNotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The task definition the service runs (a service whose deployment controller berth drives).
async fn running(ecs: &Client, input: &RegisterInput) -> Result<String> {
    let service = describe_service(ecs, &input.cluster, &input.service).await?;
    require_supported_controller(&service)?;
    let current_arn = service
        .task_definition()
        .ok_or_else(|| {
            Error::new(
                ErrorName::TaskDefinitionNotFound,
                format!("service {} reports no task definition", input.service),
            )
        })?
        .to_owned();
    Ok(current_arn)
}

/// A rollback by hand: the request named an existing revision, so nothing is registered. The
/// previous revision is what runs now, with the digests its tasks run, so a failed rollback by
/// hand is itself rolled back exactly.
async fn existing(ecs: &Client, input: &RegisterInput, target: &str) -> Result<Registration> {
    require("taskDefinition", target)?;
    let current_arn = running(ecs, input).await?;
    let (current, _) = describe_task_definition(ecs, &current_arn).await?;
    let (wanted, _) = describe_task_definition(ecs, target).await?;
    let container = pick_container(&wanted, input.container.as_deref())?
        .name()
        .unwrap_or_default()
        .to_owned();
    let running = running_digests(ecs, input, &current_arn).await?;
    let arn = wanted.task_definition_arn().unwrap_or(target).to_owned();
    tracing::info!(
        deployment = %input.deployment_id,
        previous = %short_name(&current_arn),
        target = %short_name(&arn),
        "deploying an existing revision as it is (rollback by hand): nothing registered"
    );
    Ok(Registration {
        image: image_of(&wanted, &container),
        task_definition_arn: arn,
        previous_task_definition_arn: current_arn,
        container,
        previous_images: images_of(&current, &running),
        reused: false,
        existing: true,
    })
}

fn image_of(td: &aws_sdk_ecs::types::TaskDefinition, container: &str) -> String {
    td.container_definitions()
        .iter()
        .find(|c| c.name() == Some(container))
        .and_then(|c| c.image())
        .unwrap_or_default()
        .to_owned()
}

fn images_of(
    td: &aws_sdk_ecs::types::TaskDefinition,
    running: &HashMap<String, String>,
) -> Vec<RunningImage> {
    td.container_definitions()
        .iter()
        .map(|c| {
            let name = c.name().unwrap_or_default().to_owned();
            RunningImage {
                digest: running.get(&name).cloned(),
                image: c.image().unwrap_or_default().to_owned(),
                container: name,
            }
        })
        .collect()
}

/// The digest each container of the current revision is running, by majority over the service's
/// running tasks: what a rollback must restore when the task definition names a mutable tag.
async fn running_digests(
    ecs: &Client,
    input: &RegisterInput,
    current_arn: &str,
) -> Result<HashMap<String, String>> {
    let tasks = service_tasks(ecs, &input.cluster, &input.service, DesiredStatus::Running).await?;
    let mut votes: HashMap<(String, String), usize> = HashMap::new();
    for task in tasks
        .iter()
        .filter(|t| t.task_definition_arn() == Some(current_arn))
    {
        for c in task.containers() {
            if let (Some(name), Some(digest)) = (c.name(), c.image_digest()) {
                *votes
                    .entry((name.to_owned(), digest.to_owned()))
                    .or_default() += 1;
            }
        }
    }
    let mut best: HashMap<String, (String, usize)> = HashMap::new();
    for ((name, digest), n) in votes {
        let entry = best.entry(name).or_insert((digest.clone(), 0));
        if n > entry.1 || (n == entry.1 && digest < entry.0) {
            *entry = (digest, n);
        }
    }
    Ok(best.into_iter().map(|(k, (d, _))| (k, d)).collect())
}

#[cfg(test)]
mod tests;
