use berth::error::ErrorName;
use berth::testing::ScriptedChecker;
use serde_json::json;

use super::*;

const NOW_MS: u64 = 1_795_002_020_000;
const DEADLINE_MS: u64 = NOW_MS + 60_000;
const BLUE: &str =
    "arn:aws:ecs:us-west-2:123456789012:service-revision/prod/web/4980306466373577095";
const GREEN: &str =
    "arn:aws:ecs:us-west-2:123456789012:service-revision/prod/web/2637021523716452836";

/// The payload ECS sends at `stage` (shape from "Lambda hooks for Amazon ECS service deployments").
fn event(
    stage: &str,
    test: serde_json::Value,
    production: serde_json::Value,
    hook_details: serde_json::Value,
) -> serde_json::Value {
    json!({
        "executionId": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
        "lifecycleStage": stage,
        "resourceArn": "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod/web/Jx3gHK0LuZSSIN3ZqAnYn",
        "executionDetails": {
            "serviceArn": "arn:aws:ecs:us-west-2:123456789012:service/prod/web",
            "targetServiceRevisionArn": GREEN,
            "testTrafficWeights": test,
            "productionTrafficWeights": production
        },
        "hookDetails": hook_details
    })
}

fn details() -> serde_json::Value {
    json!({"hooks": {
        "POST_TEST_TRAFFIC_SHIFT": {"probes": [{"name": "health", "url": "http://test.internal:8080/health"}]},
        "POST_PRODUCTION_TRAFFIC_SHIFT": {"canary": {"bakeSeconds": 120, "intervalSeconds": 30, "alarms": ["web-5xx"]}}
    }})
}

async fn ask(checker: &ScriptedChecker, payload: serde_json::Value, now_ms: u64) -> Answer {
    answer(
        checker,
        payload,
        DEADLINE_MS.max(now_ms + 60_000),
        now_ms,
        Duration::from_secs(5),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_passing_probe_succeeds_and_a_failing_one_fails() {
    let e = event(
        "POST_TEST_TRAFFIC_SHIFT",
        json!({GREEN: 100}),
        json!({BLUE: 100}),
        details(),
    );
    let a = ask(&ScriptedChecker::passing(), e.clone(), NOW_MS).await;
    assert_eq!(
        a.response,
        EcsHookResponse {
            hook_status: HookStatus::Succeeded,
            call_back_delay: None,
            hook_details: None
        }
    );
    let a = ask(
        &ScriptedChecker::new(Verdict::Fail, Verdict::Pass),
        e,
        NOW_MS,
    )
    .await;
    assert_eq!(a.response.hook_status, HookStatus::Failed);
    assert!(
        a.detail
            .starts_with("POST_TEST_TRAFFIC_SHIFT: probe health Fail (request 1"),
        "{}",
        a.detail
    );
}

#[tokio::test]
async fn a_baking_canary_answers_in_progress_then_succeeds_with_state_carried_by_ecs() {
    let checker = ScriptedChecker::passing();
    let stage = "POST_PRODUCTION_TRAFFIC_SHIFT";
    let first = ask(
        &checker,
        event(stage, json!({}), json!({GREEN: 100}), details()),
        NOW_MS,
    )
    .await;
    assert_eq!(first.response.hook_status, HookStatus::InProgress);
    assert_eq!(first.response.call_back_delay, Some(30));
    let back = first.response.hook_details.clone().unwrap();
    assert_eq!(
        back["hooks"],
        details()["hooks"],
        "the configuration goes back unchanged"
    );
    assert_eq!(back[STATE_KEY]["firstCalledAt"], json!(NOW_MS / 1000));
    assert_eq!(back[STATE_KEY]["evaluations"], json!(1));
    assert!(first.detail.contains("still baking"), "{}", first.detail);

    // ECS calls again after the delay with the details it was given.
    let second = ask(
        &checker,
        event(stage, json!({}), json!({GREEN: 100}), back),
        NOW_MS + 100_000,
    )
    .await;
    assert_eq!(second.response.hook_status, HookStatus::InProgress);
    assert_eq!(
        second.response.call_back_delay,
        Some(20),
        "never waits past the end of the bake"
    );
    let back = second.response.hook_details.clone().unwrap();
    assert_eq!(back[STATE_KEY]["evaluations"], json!(2));
    assert_eq!(back[STATE_KEY]["firstCalledAt"], json!(NOW_MS / 1000));

    let third = ask(
        &checker,
        event(stage, json!({}), json!({GREEN: 100}), back),
        NOW_MS + 121_000,
    )
    .await;
    assert_eq!(
        third.response,
        EcsHookResponse {
            hook_status: HookStatus::Succeeded,
            call_back_delay: None,
            hook_details: None
        }
    );
    assert!(
        third.detail.contains("call 3, baked 121/120 s"),
        "{}",
        third.detail
    );
}

#[tokio::test]
async fn a_failing_canary_fails_at_once_and_inconclusive_waits_then_fails() {
    let stage = "POST_PRODUCTION_TRAFFIC_SHIFT";
    let a = ask(
        &ScriptedChecker::new(Verdict::Pass, Verdict::Fail),
        event(stage, json!({}), json!({GREEN: 100}), details()),
        NOW_MS,
    )
    .await;
    assert_eq!(a.response.hook_status, HookStatus::Failed);

    let checker = ScriptedChecker::new(Verdict::Pass, Verdict::Inconclusive);
    let first = ask(
        &checker,
        event(stage, json!({}), json!({GREEN: 100}), details()),
        NOW_MS,
    )
    .await;
    assert_eq!(first.response.hook_status, HookStatus::InProgress);
    assert!(
        first.detail.contains("not enough data yet"),
        "{}",
        first.detail
    );
    let back = first.response.hook_details.unwrap();
    let last = ask(
        &checker,
        event(stage, json!({}), json!({GREEN: 100}), back),
        NOW_MS + 120_000,
    )
    .await;
    assert_eq!(
        last.response.hook_status,
        HookStatus::Failed,
        "no data is not a pass"
    );
}

#[tokio::test]
async fn state_from_another_execution_or_stage_is_not_reused() {
    let stage = "POST_PRODUCTION_TRAFFIC_SHIFT";
    let mut stale = details();
    stale[STATE_KEY] = json!({"executionId": "an-older-deployment", "stage": stage, "firstCalledAt": 1, "evaluations": 9});
    let a = ask(
        &ScriptedChecker::passing(),
        event(stage, json!({}), json!({GREEN: 100}), stale),
        NOW_MS,
    )
    .await;
    assert_eq!(
        a.response.hook_status,
        HookStatus::InProgress,
        "the bake starts now, not at the stale time"
    );
    assert_eq!(
        a.response.hook_details.unwrap()[STATE_KEY]["evaluations"],
        json!(1)
    );
}

#[tokio::test]
async fn rollback_weights_are_recognised_and_never_held_up() {
    // Rolling back: green still named as the target, production traffic back on blue.
    let a = ask(
        &ScriptedChecker::new(Verdict::Fail, Verdict::Fail),
        event(
            "PRODUCTION_TRAFFIC_SHIFT",
            json!({}),
            json!({BLUE: 100, GREEN: 0}),
            details(),
        ),
        NOW_MS,
    )
    .await;
    assert!(a.rollback);
    assert_eq!(a.response.hook_status, HookStatus::Succeeded);
    assert!(
        a.verdict.is_none(),
        "no checks run against a revision being rolled away from"
    );
    assert!(
        a.detail
            .contains(&format!("production traffic back on {BLUE} (100%)")),
        "{}",
        a.detail
    );
    let a = ask(
        &ScriptedChecker::new(Verdict::Fail, Verdict::Fail),
        event(
            "TEST_TRAFFIC_SHIFT",
            json!({BLUE: 100}),
            json!({BLUE: 100}),
            details(),
        ),
        NOW_MS,
    )
    .await;
    assert!(a.rollback);
}

#[test]
fn forward_shifts_are_not_rollbacks() {
    let d = |test: serde_json::Value, prod: serde_json::Value| -> ExecutionDetails {
        serde_json::from_value(json!({"serviceArn": "s", "targetServiceRevisionArn": GREEN, "testTrafficWeights": test, "productionTrafficWeights": prod})).unwrap()
    };
    // A canary's first production step, a linear step, all at once, test traffic moved.
    assert_eq!(
        rollback_in_progress(
            "PRODUCTION_TRAFFIC_SHIFT",
            &d(json!({}), json!({BLUE: 90, GREEN: 10}))
        ),
        None
    );
    assert_eq!(
        rollback_in_progress(
            "PRODUCTION_TRAFFIC_SHIFT",
            &d(json!({}), json!({GREEN: 100}))
        ),
        None
    );
    assert_eq!(
        rollback_in_progress(
            "TEST_TRAFFIC_SHIFT",
            &d(json!({GREEN: 100}), json!({BLUE: 100}))
        ),
        None
    );
    // Before the shift, blue holding everything is normal: only the shift stages are judged.
    assert_eq!(
        rollback_in_progress(
            "PRE_PRODUCTION_TRAFFIC_SHIFT",
            &d(json!({}), json!({BLUE: 100}))
        ),
        None
    );
    assert_eq!(
        rollback_in_progress("POST_SCALE_UP", &d(json!({}), json!({BLUE: 100}))),
        None
    );
    // No weights at all is not evidence of a rollback either.
    assert_eq!(
        rollback_in_progress("PRODUCTION_TRAFFIC_SHIFT", &d(json!({}), json!({}))),
        None
    );
}

#[tokio::test]
async fn stages_without_checks_succeed_and_bad_details_fail() {
    let a = ask(
        &ScriptedChecker::new(Verdict::Fail, Verdict::Fail),
        event("PRE_SCALE_UP", json!({}), json!({BLUE: 100}), details()),
        NOW_MS,
    )
    .await;
    assert_eq!(a.response.hook_status, HookStatus::Succeeded);
    assert!(a.detail.contains("no checks configured"), "{}", a.detail);
    let a = ask(
        &ScriptedChecker::passing(),
        event(
            "PRE_SCALE_UP",
            json!({}),
            json!({BLUE: 100}),
            serde_json::Value::Null,
        ),
        NOW_MS,
    )
    .await;
    assert_eq!(a.response.hook_status, HookStatus::Succeeded);
    let typo = json!({"hooks": {"POST_TEST_TRAFIC_SHIFT": {}}});
    let a = ask(
        &ScriptedChecker::passing(),
        event(
            "POST_TEST_TRAFFIC_SHIFT",
            json!({GREEN: 100}),
            json!({BLUE: 100}),
            typo,
        ),
        NOW_MS,
    )
    .await;
    assert_eq!(a.response.hook_status, HookStatus::Failed);
    assert!(
        a.detail.contains("unknown hook \"POST_TEST_TRAFIC_SHIFT\""),
        "{}",
        a.detail
    );
}

#[tokio::test]
async fn a_panicking_check_fails_the_stage_instead_of_the_lambda() {
    let checker = ScriptedChecker::panicking();
    let a = ask(
        &checker,
        event(
            "POST_TEST_TRAFFIC_SHIFT",
            json!({GREEN: 100}),
            json!({BLUE: 100}),
            details(),
        ),
        NOW_MS,
    )
    .await;
    assert_eq!(a.response.hook_status, HookStatus::Failed);
    assert_eq!(
        a.verdict.unwrap().detail,
        "POST_TEST_TRAFFIC_SHIFT: a check panicked (probe health blew up)"
    );
}

#[tokio::test]
async fn a_malformed_event_is_invalid_input() {
    let checker = ScriptedChecker::passing();
    for bad in [
        json!({"lifecycleStage": "PRE_SCALE_UP"}),
        json!({"executionId": "x", "lifecycleStage": "", "executionDetails": {"serviceArn": "s", "targetServiceRevisionArn": "t"}}),
    ] {
        let e = answer(
            &checker,
            bad.clone(),
            DEADLINE_MS,
            NOW_MS,
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        assert_eq!(e.name(), ErrorName::InvalidInput, "{bad}");
    }
}

#[test]
fn the_response_is_the_documented_shape() {
    let r = EcsHookResponse {
        hook_status: HookStatus::InProgress,
        call_back_delay: Some(60),
        hook_details: Some(json!({"a": 1})),
    };
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({"hookStatus": "IN_PROGRESS", "callBackDelay": 60, "hookDetails": {"a": 1}})
    );
    let r = EcsHookResponse {
        hook_status: HookStatus::Succeeded,
        call_back_delay: None,
        hook_details: None,
    };
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({"hookStatus": "SUCCEEDED"})
    );
}
