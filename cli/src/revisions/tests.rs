use aws_sdk_ecs::types::{ContainerDefinition, Tag, TaskDefinition};

use super::*;

const TD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web";

fn td(rev: u32, secs: i64) -> TaskDefinition {
    TaskDefinition::builder()
        .task_definition_arn(format!("{TD}:{rev}"))
        .registered_at(aws_smithy_types::DateTime::from_secs(secs))
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("web@sha256:00")
                .build(),
        )
        .build()
}

fn tags(id: &str, previous: &str) -> Vec<Tag> {
    vec![
        Tag::builder().key(TAG_DEPLOYMENT_ID).value(id).build(),
        Tag::builder().key(TAG_PREVIOUS).value(previous).build(),
    ]
}

#[test]
fn a_revision_berth_registered_for_the_service_is_read_from_its_tags() {
    let rev = from_tagged(
        &td(3, 1_764_460_800),
        &tags("push-abc/prod/web", &format!("{TD}:2")),
        "prod",
        "web",
    )
    .expect("berth's revision");
    assert_eq!(rev.task_definition, format!("{TD}:3"));
    assert_eq!(rev.execution_name(), "push-abc");
    assert_eq!(rev.previous.as_deref(), Some(format!("{TD}:2").as_str()));
    assert_eq!(rev.registered_at.as_deref(), Some("2025-11-30T00:00:00Z"));
    assert_eq!(rev.images, ["app=web@sha256:00"]);
}

#[test]
fn revisions_of_another_service_or_not_berths_are_left_out() {
    // The family is shared with another service: its deployment id names that one.
    let other = tags("push-abc/prod/web-canary", &format!("{TD}:2"));
    assert_eq!(from_tagged(&td(3, 0), &other, "prod", "web"), None);
    let other_cluster = tags("push-abc/staging/web", &format!("{TD}:2"));
    assert_eq!(from_tagged(&td(3, 0), &other_cluster, "prod", "web"), None);
    assert_eq!(from_tagged(&td(3, 0), &[], "prod", "web"), None);
    // Cluster and service may be given as ARNs.
    assert!(is_for(
        "x/prod/web",
        "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
        "arn:aws:ecs:us-east-1:123456789012:service/prod/web"
    ));
}
