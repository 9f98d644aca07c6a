use aws_sdk_ecs::Client;
use aws_smithy_mocks::{mock, Rule};

use super::*;
use crate::testing::{mock_client, ok_json};

const TASK_DEF: &str = include_str!("../../fixtures/describe-task-definition.json");
const ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/";

/// ListTaskDefinitions answering `arns` only to the lookback's request: the family's newest ACTIVE
/// revisions first, at most `lookback`.
fn listed(lookback: i32, arns: &'static [&'static str]) -> Rule {
    mock!(Client::list_task_definitions)
        .match_requests(move |r| {
            r.family_prefix() == Some("web")
                && r.status() == Some(&TaskDefinitionStatus::Active)
                && r.sort() == Some(&SortOrder::Desc)
                && r.max_results() == Some(lookback)
        })
        .then_http_response(move || {
            let arns: Vec<String> = arns.iter().map(|a| format!("{ARN}{a}")).collect();
            ok_json(&serde_json::json!({ "taskDefinitionArns": arns }).to_string())
        })
}

/// DescribeTaskDefinition of `revision`, its berth:deployment-id tag set to `deployment`.
fn described(revision: &'static str, deployment: &'static str) -> Rule {
    mock!(Client::describe_task_definition)
        .match_requests(move |r| r.task_definition() == Some(&format!("{ARN}{revision}")))
        .then_http_response(move || {
            ok_json(
                &TASK_DEF
                    .replace(
                        "task-definition/web:7",
                        &format!("task-definition/{revision}"),
                    )
                    .replace("an-older-deployment", deployment),
            )
        })
}

#[tokio::test]
async fn the_newest_revision_of_the_family_with_the_tag_is_found() {
    // GIVEN web:9 of another deployment, web-worker:3 (familyPrefix "web" lists it too) and web:8
    // tagged with ours
    let list = listed(10, &["web:9", "web-worker:3", "web:8"]);
    let (web9, web8) = (described("web:9", "d-other"), described("web:8", "d-1"));
    let ecs = mock_client!(aws_sdk_ecs, &[&list, &web9, &web8]);
    // WHEN
    let found = find_tagged_revision(&ecs, "web", 10, "berth:deployment-id", "d-1")
        .await
        .unwrap();
    // THEN web:8, without describing the other family
    assert_eq!(found, Some(format!("{ARN}web:8")));
    assert_eq!((web9.num_calls(), web8.num_calls()), (1, 1));
}

#[tokio::test]
async fn no_revision_with_the_tag_is_none() {
    let list = listed(3, &["web:9", "web:8"]);
    let (web9, web8) = (described("web:9", "d-other"), described("web:8", "d-other"));
    let ecs = mock_client!(aws_sdk_ecs, &[&list, &web9, &web8]);
    let found = find_tagged_revision(&ecs, "web", 3, "berth:rollback-of", "d-other")
        .await
        .unwrap();
    assert_eq!(found, None, "the tag key must match, not only the value");
    assert_eq!((web9.num_calls(), web8.num_calls()), (1, 1));
}
