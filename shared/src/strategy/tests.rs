use aws_sdk_ecs::Client;
use aws_smithy_mocks::mock;

use super::*;
use crate::ecs::describe_service_deployment;
use crate::testing::{mock_client, ok_json};

const LINEAR: &str = include_str!("../../fixtures/describe-service-deployments-linear.json");
const PAUSED: &str = include_str!("../../fixtures/describe-service-deployments-paused.json");
const ROLLING: &str = include_str!("../../fixtures/describe-service-deployments-successful.json");
const ARN: &str =
    "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/Jx3gHK0LuZSSIN3ZqAnYn";
const OLD: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7";

/// The fixture as ECS answers it, read through the SDK's deserializer, with fields replaced.
async fn read(fixture: &str, edit: impl FnOnce(&mut serde_json::Value)) -> ServiceDeployment {
    let mut body: serde_json::Value = serde_json::from_str(fixture).unwrap();
    edit(&mut body["serviceDeployments"][0]);
    let body = body.to_string();
    let rule =
        mock!(Client::describe_service_deployments).then_http_response(move || ok_json(&body));
    let ecs = mock_client!(aws_sdk_ecs, [&rule]);
    describe_service_deployment(&ecs, ARN)
        .await
        .unwrap()
        .expect("the service deployment")
}

/// What a poll reports of it: the judge's state with the stage laid over.
async fn state(fixture: &str, edit: impl FnOnce(&mut serde_json::Value)) -> ServiceDeploymentState {
    let sd = read(fixture, edit).await;
    with_stage(ServiceDeploymentView::from_sdk(&sd).state(), &sd)
}

fn at(stage: &'static str, production: f64, test: f64) -> impl FnOnce(&mut serde_json::Value) {
    move |sd| {
        sd["lifecycleStage"] = stage.into();
        sd["targetServiceRevision"]["requestedProductionTrafficWeight"] = production.into();
        sd["targetServiceRevision"]["requestedTestTrafficWeight"] = test.into();
        sd["sourceServiceRevisions"][0]["requestedProductionTrafficWeight"] =
            (100.0 - production).into();
    }
}

fn in_progress(detail: &str) -> Decision {
    Decision {
        status: StabilityStatus::InProgress,
        reason: None,
        detail: detail.into(),
        unhealthy_tasks: 0,
    }
}

#[tokio::test]
async fn a_linear_step_shows_its_stage_and_weights_and_runs_the_canary() {
    let s = state(LINEAR, |_| {}).await;
    assert_eq!(s.strategy.as_deref(), Some("LINEAR"));
    assert_eq!(
        s.lifecycle_stage.as_deref(),
        Some("PRODUCTION_TRAFFIC_SHIFT")
    );
    assert_eq!(s.production_traffic_weight, Some(25.0));
    assert_eq!(s.test_traffic_weight, Some(100.0));
    assert_eq!(s.awaiting_hook_id, None);
    assert_eq!(canary_weight(&s), Some(25.0));
    let d = annotate(
        in_progress("deployment ecs-svc/8 in progress: 4/4 running"),
        Some(&s),
        "-",
    );
    assert_eq!(
        d.detail,
        "ECS LINEAR at PRODUCTION_TRAFFIC_SHIFT, new revision on 25% of production and 100% of test traffic; deployment ecs-svc/8 in progress: 4/4 running"
    );
    assert_eq!(d.status, StabilityStatus::InProgress);
}

#[tokio::test]
async fn the_canary_runs_while_the_new_revision_takes_production_traffic_and_only_then() {
    // (stage, production %, test %, the canary runs)
    let stages = [
        ("RECONCILE_SERVICE", 0.0, 0.0, false),
        ("PRE_SCALE_UP", 0.0, 0.0, false),
        ("SCALE_UP", 0.0, 0.0, false),
        ("POST_SCALE_UP", 0.0, 0.0, false),
        ("TEST_TRAFFIC_SHIFT", 0.0, 100.0, false),
        ("POST_TEST_TRAFFIC_SHIFT", 0.0, 100.0, false),
        // the first tick of the shift runs the PRE_PRODUCTION_TRAFFIC_SHIFT hooks, still at 0
        ("PRODUCTION_TRAFFIC_SHIFT", 0.0, 100.0, false),
        ("PRODUCTION_TRAFFIC_SHIFT", 10.0, 100.0, true),
        ("PRODUCTION_TRAFFIC_SHIFT", 100.0, 100.0, true),
        ("POST_PRODUCTION_TRAFFIC_SHIFT", 100.0, 100.0, true),
        ("BAKE_TIME", 100.0, 100.0, true),
        // blue is being removed: the rollout completes with ECS's SUCCESSFUL
        ("CLEAN_UP", 100.0, 100.0, false),
    ];
    for (stage, production, test, runs) in stages {
        let s = state(LINEAR, at(stage, production, test)).await;
        assert_eq!(s.lifecycle_stage.as_deref(), Some(stage));
        assert_eq!(s.production_traffic_weight, Some(production));
        assert_eq!(
            canary_weight(&s).is_some(),
            runs,
            "{stage} at {production}%: {s:?}"
        );
    }
}

#[tokio::test]
async fn a_finished_or_rolling_back_deployment_runs_no_canary() {
    for status in [
        "SUCCESSFUL",
        "ROLLBACK_REQUESTED",
        "ROLLBACK_IN_PROGRESS",
        "STOPPED",
    ] {
        let s = state(LINEAR, |sd| sd["status"] = status.into()).await;
        assert_eq!(canary_weight(&s), None, "{status}");
    }
}

#[tokio::test]
async fn a_rolling_deployment_gets_no_stage() {
    let sd = read(ROLLING, |_| {}).await;
    let s = with_stage(ServiceDeploymentView::from_sdk(&sd).state(), &sd);
    assert_eq!(s, ServiceDeploymentView::from_sdk(&sd).state());
    assert_eq!(canary_weight(&s), None);
    let d = annotate(in_progress("x"), Some(&s), "-");
    assert_eq!(d.detail, "x");
}

#[tokio::test]
async fn a_pause_hook_waiting_for_action_is_an_approval_to_give() {
    let s = state(PAUSED, |_| {}).await;
    assert_eq!(s.strategy.as_deref(), Some("BLUE_GREEN"));
    assert_eq!(s.awaiting_hook_id.as_deref(), Some("hook-3f2a9c1d"));
    assert_eq!(s.hook_expires_at.as_deref(), Some("2026-11-18T12:23:51.4Z"));
    assert_eq!(canary_weight(&s), None, "no production traffic yet");
    let answer = approval_answer(Some("web-abc"), "prod", "web");
    let d = annotate(
        in_progress("deployment ecs-svc/8 in progress"),
        Some(&s),
        &answer,
    );
    assert!(
        d.detail.starts_with(
            "waiting for approval at POST_TEST_TRAFFIC_SHIFT: berth approve web-abc | berth reject web-abc (ECS PAUSE hook hook-3f2a9c1d, times out 2026-11-18T12:23:51.4Z; ECS BLUE_GREEN at POST_TEST_TRAFFIC_SHIFT"
        ),
        "{}",
        d.detail
    );
    assert_eq!(d.status, StabilityStatus::InProgress);
    // once answered, the hook is no longer AWAITING_ACTION
    let s = state(PAUSED, |sd| {
        sd["lifecycleHookDetails"][0]["status"] = "SUCCEEDED".into();
    })
    .await;
    assert_eq!(s.awaiting_hook_id, None);
    assert_eq!(
        approval_answer(None, "prod", "web"),
        "berth approve web --cluster prod | berth reject web --cluster prod"
    );
}

#[tokio::test]
async fn a_completed_or_failed_decision_is_not_annotated() {
    let s = state(LINEAR, |_| {}).await;
    let failed = Decision {
        status: StabilityStatus::Failed,
        reason: Some(FailureReason::Aborted),
        detail: "aborted".into(),
        unhealthy_tasks: 0,
    };
    assert_eq!(annotate(failed.clone(), Some(&s), "-"), failed);
    assert_eq!(annotate(in_progress("x"), None, "-").detail, "x");
}

fn rollback_view(status: &str) -> ServiceDeploymentView {
    ServiceDeploymentView {
        arn: ARN.into(),
        status: status.into(),
        status_reason: Some("Service deployment rolled back by StopServiceDeployment.".into()),
        source_revisions: vec![
            "arn:aws:ecs:eu-west-1:123456789012:service-revision/prod/web/4980306466373577095"
                .into(),
        ],
        ..Default::default()
    }
}

#[test]
fn berths_stop_completes_when_ecs_rolled_back() {
    let d = judge_rollback(
        &rollback_view("ROLLBACK_SUCCESSFUL"),
        BY_STOP,
        Some(OLD),
        false,
    );
    assert_eq!(d.status, StabilityStatus::Completed);
    assert_eq!(
        d.detail,
        "service deployment Jx3gHK0LuZSSIN3ZqAnYn rolled back by StopServiceDeployment to service revision 4980306466373577095 (web:7) (ROLLBACK_SUCCESSFUL: Service deployment rolled back by StopServiceDeployment)"
    );
}

#[test]
fn a_rollback_under_way_waits_until_the_deadline() {
    for status in ["ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "IN_PROGRESS"] {
        let d = judge_rollback(&rollback_view(status), BY_STOP, None, false);
        assert_eq!(d.status, StabilityStatus::InProgress, "{status}");
        assert!(
            d.detail
                .contains("is being rolled back by StopServiceDeployment"),
            "{}",
            d.detail
        );
        let d = judge_rollback(&rollback_view(status), BY_STOP, None, true);
        assert_eq!(
            (d.status, d.reason),
            (StabilityStatus::Failed, Some(FailureReason::Timeout))
        );
    }
}

#[test]
fn a_rollback_that_failed_or_never_happened_fails() {
    let d = judge_rollback(&rollback_view("ROLLBACK_FAILED"), BY_ECS, None, false);
    assert_eq!(
        (d.status, d.reason),
        (
            StabilityStatus::Failed,
            Some(FailureReason::DeploymentFailed)
        )
    );
    let d = judge_rollback(&rollback_view("SUCCESSFUL"), BY_ECS, None, false);
    assert_eq!(d.status, StabilityStatus::Failed);
    assert!(
        d.detail
            .contains("ended SUCCESSFUL instead of being rolled back by ECS"),
        "{}",
        d.detail
    );
}
