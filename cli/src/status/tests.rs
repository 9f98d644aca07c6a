use aws_sdk_ecs::types::{
    Container, Deployment as EcsDeployment, DeploymentRolloutState, Service, Task,
};

use super::*;

const TD: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web";
const DIGEST: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn task(td: &str, digest: &str) -> Task {
    Task::builder()
        .task_definition_arn(td)
        .last_status("RUNNING")
        .containers(
            Container::builder()
                .name("app")
                .image("web@".to_owned() + digest)
                .image_digest(digest)
                .build(),
        )
        .build()
}

#[test]
fn the_primary_deployment_and_the_running_digests_are_shown() {
    let svc = Service::builder()
        .service_name("web")
        .task_definition(format!("{TD}:1"))
        .deployments(
            EcsDeployment::builder()
                .status("PRIMARY")
                .task_definition(format!("{TD}:2"))
                .rollout_state(DeploymentRolloutState::Completed)
                .running_count(2)
                .desired_count(2)
                .created_at(aws_smithy_types::DateTime::from_secs(1_764_460_800))
                .build(),
        )
        .build();
    let tasks = [
        task(&format!("{TD}:2"), DIGEST),
        task(&format!("{TD}:2"), DIGEST),
    ];
    let s = from_service("prod", &svc, &tasks);
    assert_eq!(s.task_definition, format!("{TD}:2"));
    assert_eq!(s.since.as_deref(), Some("2025-11-30T00:00:00Z"));
    assert_eq!(s.running.len(), 1);
    assert_eq!(
        (s.running[0].digest.as_deref(), s.running[0].tasks),
        (Some(DIGEST), 2)
    );
    let text = render(&s);
    assert!(
        text.starts_with("prod/web runs web:2 since 2025-11-30T00:00:00Z\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("web:2 container app: web@{DIGEST} (2 task(s))")),
        "{text}"
    );
    assert!(
        text.contains("deployment web:2 PRIMARY COMPLETED 2/2 running"),
        "{text}"
    );
}

#[test]
fn a_tag_shows_the_digest_its_tasks_pulled() {
    let svc = Service::builder()
        .service_name("web")
        .task_definition(format!("{TD}:1"))
        .build();
    let t = Task::builder()
        .task_definition_arn(format!("{TD}:1"))
        .last_status("RUNNING")
        .containers(
            Container::builder()
                .name("app")
                .image("web:stable")
                .image_digest(DIGEST)
                .build(),
        )
        .build();
    let s = from_service("prod", &svc, &[t]);
    assert_eq!(s.since, None, "no deployments listed");
    let text = render(&s);
    assert!(text.starts_with("prod/web runs web:1 since ?\n"), "{text}");
    assert!(
        text.contains(&format!(
            "web:1 container app: web:stable digest {DIGEST} (1 task(s))"
        )),
        "{text}"
    );
}
