use aws_sdk_ecs::Client;
use aws_smithy_mocks::mock;

use super::*;
use crate::ecs::describe_service_deployment;
use crate::testing::{aws_error, mock_client, ok_json};

const SUCCESSFUL: &str =
    include_str!("../../fixtures/describe-service-deployments-successful.json");
const ROLLED_BACK: &str =
    include_str!("../../fixtures/describe-service-deployments-rolled-back.json");
const ARN: &str =
    "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/NCWGC2ZR-taawPAYrIaU5";
const OLD: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7";

/// The fixture as ECS answers it, read through the SDK's own deserializer, with `status` (and the
/// fields that go with it) replaced.
async fn read(fixture: &str, status: Option<&str>) -> ServiceDeploymentView {
    let mut body: serde_json::Value = serde_json::from_str(fixture).unwrap();
    if let Some(status) = status {
        body["serviceDeployments"][0]["status"] = status.into();
    }
    let body = body.to_string();
    let rule = mock!(Client::describe_service_deployments)
        .match_requests(|r| r.service_deployment_arns() == [ARN.to_owned()])
        .then_http_response(move || ok_json(&body));
    let ecs = mock_client!(aws_sdk_ecs, [&rule]);
    let sd = describe_service_deployment(&ecs, ARN)
        .await
        .unwrap()
        .expect("the service deployment");
    assert_eq!(rule.num_calls(), 1);
    ServiceDeploymentView::from_sdk(&sd)
}

fn own(status: StabilityStatus, reason: Option<FailureReason>, detail: &str) -> Decision {
    Decision {
        status,
        reason,
        detail: detail.into(),
        unhealthy_tasks: 0,
    }
}

fn completed() -> Decision {
    own(
        StabilityStatus::Completed,
        None,
        "deployment ecs-svc/8 completed: 2/2 tasks running web:8",
    )
}

fn in_progress() -> Decision {
    own(
        StabilityStatus::InProgress,
        None,
        "deployment ecs-svc/8 in progress: 1/2 running, 1 pending, 0 failed, 0 unhealthy",
    )
}

/// What berth's own checks say once ECS put the service back on web:7.
fn superseded() -> Decision {
    own(
        StabilityStatus::Failed,
        Some(FailureReason::Superseded),
        "deployment ecs-svc/8 is gone; the service now runs web:7 (deployment ecs-svc/9)",
    )
}

#[tokio::test]
async fn a_documented_answer_reads_into_the_view() {
    let v = read(ROLLED_BACK, None).await;
    assert_eq!(v.arn, ARN);
    assert_eq!(v.status, "ROLLBACK_SUCCESSFUL");
    assert_eq!(
        v.restored_revision(),
        Some("arn:aws:ecs:eu-west-1:123456789012:service-revision/prod/web/4980306466373577095")
    );
    let cb = v.circuit_breaker.as_ref().unwrap();
    assert_eq!(
        (cb.status.as_str(), cb.failure_count, cb.threshold),
        ("TRIGGERED", 3, 3)
    );
    assert_eq!(v.alarms.as_ref().unwrap().status, "MONITORING");
    let ok = read(SUCCESSFUL, None).await;
    assert_eq!(ok.status, "SUCCESSFUL");
    assert_eq!(ok.rollback_revision, None);
    assert_eq!(ok.state().restored_revision_arn, None);
}

#[tokio::test]
async fn successful_completes_only_when_berths_checks_pass() {
    let sd = read(SUCCESSFUL, None).await;
    // GIVEN ECS says SUCCESSFUL and berth's checks pass THEN COMPLETED
    let d = judge(&sd, completed(), None, false);
    assert_eq!(d.status, StabilityStatus::Completed);
    assert!(
        d.detail
            .ends_with("ECS service deployment NCWGC2ZR-taawPAYrIaU5 SUCCESSFUL"),
        "{}",
        d.detail
    );
    // berth still waits for its own checks (all tasks of the new revision running)
    let d = judge(&sd, in_progress(), None, false);
    assert_eq!(d.status, StabilityStatus::InProgress);
    assert!(d.detail.contains("1/2 running"), "{}", d.detail);
}

#[tokio::test]
async fn successful_does_not_outweigh_tasks_failing_elb_health_checks() {
    // GIVEN the circuit breaker did not count tasks the load balancer stopped, so ECS says SUCCESSFUL
    let sd = read(SUCCESSFUL, None).await;
    let mut unhealthy = own(
        StabilityStatus::Failed,
        Some(FailureReason::HealthChecksFailing),
        "3 task(s) of web:8 started and then failed health checks (threshold 3)",
    );
    unhealthy.unhealthy_tasks = 3;
    // WHEN judged THEN berth's failure stands
    let d = judge(&sd, unhealthy, None, false);
    assert_eq!(d.status, StabilityStatus::Failed);
    assert_eq!(d.reason, Some(FailureReason::HealthChecksFailing));
    assert_eq!(d.unhealthy_tasks, 3);
    assert!(d.detail.contains("though ECS marked"), "{}", d.detail);
}

#[tokio::test]
async fn in_progress_or_pending_waits_for_ecs_and_keeps_berths_early_failures() {
    for status in ["IN_PROGRESS", "PENDING"] {
        let sd = read(SUCCESSFUL, Some(status)).await;
        let d = judge(&sd, in_progress(), None, false);
        assert_eq!(
            (d.status, d.reason),
            (StabilityStatus::InProgress, None),
            "{status}"
        );
        // berth's checks pass, ECS has not finished: wait (alarms are watched until it ends)
        let d = judge(&sd, completed(), None, false);
        assert_eq!(d.status, StabilityStatus::InProgress, "{status}");
        assert!(
            d.detail.contains(&format!("still {status}")),
            "{}",
            d.detail
        );
        // ... but not past the deadline
        let d = judge(&sd, completed(), None, true);
        assert_eq!(d.reason, Some(FailureReason::Timeout), "{status}");
        // an early failure of berth's checks is not held back
        let failing = own(
            StabilityStatus::Failed,
            Some(FailureReason::TasksFailing),
            "3 task(s) failed to start (threshold 3) and ECS has not stopped the rollout",
        );
        assert_eq!(
            judge(&sd, failing.clone(), None, false),
            failing,
            "{status}"
        );
    }
}

#[tokio::test]
async fn rollback_successful_is_a_failure_naming_the_restored_revision() {
    // GIVEN the circuit breaker tripped and ECS put web:7 back
    let sd = read(ROLLED_BACK, None).await;
    // WHEN berth judges the poll (its own checks see the service on another revision)
    let d = judge(&sd, superseded(), Some(OLD), false);
    // THEN the rollout FAILED because ECS rolled back, with ECS's reason and what it restored
    assert_eq!(d.status, StabilityStatus::Failed);
    assert_eq!(d.reason, Some(FailureReason::RolledBack));
    assert_eq!(
        d.detail,
        "ECS rolled back service deployment NCWGC2ZR-taawPAYrIaU5 (ROLLBACK_SUCCESSFUL): \
         Service deployment rolled back because the circuit breaker threshold was exceeded; \
         circuit breaker TRIGGERED (3 failed task(s), threshold 3); \
         restored service revision 4980306466373577095 (web:7)"
    );
    let state = sd.state();
    assert_eq!(state.status, "ROLLBACK_SUCCESSFUL");
    assert_eq!(
        state.restored_revision_arn.as_deref(),
        Some("arn:aws:ecs:eu-west-1:123456789012:service-revision/prod/web/4980306466373577095")
    );
    // ECS's word wins even where berth's own checks still looked fine
    let d = judge(&sd, completed(), None, false);
    assert_eq!(d.reason, Some(FailureReason::RolledBack));
    assert!(
        d.detail
            .ends_with("restored service revision 4980306466373577095"),
        "{}",
        d.detail
    );
}

#[tokio::test]
async fn berth_waits_while_ecs_rolls_back_and_fails_at_the_deadline() {
    for (status, words) in [
        ("ROLLBACK_IN_PROGRESS", "ECS is rolling back"),
        ("ROLLBACK_REQUESTED", "ECS was asked to roll back"),
    ] {
        let sd = read(ROLLED_BACK, Some(status)).await;
        // GIVEN berth's own checks already see the failure (our deployment FAILED or gone)
        for mine in [superseded(), in_progress()] {
            let d = judge(&sd, mine, Some(OLD), false);
            // THEN berth does not start a rollback that would race ECS's: it waits for the outcome
            assert_eq!(
                (d.status, d.reason),
                (StabilityStatus::InProgress, None),
                "{status}"
            );
            assert!(d.detail.starts_with(words), "{}", d.detail);
            assert!(
                d.detail.ends_with(
                    "restoring service revision 4980306466373577095 (web:7); waiting for ECS's rollback to finish"
                ),
                "{}",
                d.detail
            );
        }
        // ... until the deadline: then the rollout FAILED, ECS rolled it back
        let d = judge(&sd, superseded(), Some(OLD), true);
        assert_eq!(
            (d.status, d.reason),
            (StabilityStatus::Failed, Some(FailureReason::RolledBack)),
            "{status}"
        );
        assert!(
            d.detail
                .ends_with("the deadline passed before its rollback finished"),
            "{}",
            d.detail
        );
    }
}

#[tokio::test]
async fn a_failed_rollback_is_a_failed_deployment() {
    let sd = read(ROLLED_BACK, Some("ROLLBACK_FAILED")).await;
    let d = judge(&sd, in_progress(), Some(OLD), false);
    assert_eq!(d.reason, Some(FailureReason::DeploymentFailed));
    assert!(
        d.detail.starts_with(
            "ECS could not roll back service deployment NCWGC2ZR-taawPAYrIaU5 (ROLLBACK_FAILED)"
        ),
        "{}",
        d.detail
    );
    assert!(
        d.detail
            .contains("it was restoring service revision 4980306466373577095"),
        "{}",
        d.detail
    );
}

#[tokio::test]
async fn a_stopped_deployment_fails_unless_berth_sees_its_revision_running() {
    for status in ["STOPPED", "STOP_REQUESTED"] {
        let mut body: serde_json::Value = serde_json::from_str(SUCCESSFUL).unwrap();
        body["serviceDeployments"][0]["statusReason"] =
            "Service deployment stopped because the circuit breaker threshold was exceeded.".into();
        body["serviceDeployments"][0]["deploymentCircuitBreaker"] =
            serde_json::json!({"status": "TRIGGERED", "failureCount": 4, "threshold": 3});
        let sd = read(&body.to_string(), Some(status)).await;
        let d = judge(&sd, in_progress(), None, false);
        assert_eq!(d.reason, Some(FailureReason::Stopped), "{status}");
        assert_eq!(
            d.detail,
            format!(
                "ECS stopped service deployment NCWGC2ZR-taawPAYrIaU5 ({status}): Service deployment \
                 stopped because the circuit breaker threshold was exceeded; circuit breaker \
                 TRIGGERED (4 failed task(s), threshold 3)"
            )
        );
        // A later deployment of the same revision stops ours: berth sees that revision steady.
        assert_eq!(
            judge(&sd, completed(), None, false).status,
            StabilityStatus::Completed
        );
        // Another revision replaced it: berth's own reason is the precise one.
        assert_eq!(
            judge(&sd, superseded(), None, false).reason,
            Some(FailureReason::Superseded)
        );
    }
}

#[tokio::test]
async fn triggered_alarms_are_named() {
    let mut body: serde_json::Value = serde_json::from_str(ROLLED_BACK).unwrap();
    let sd = &mut body["serviceDeployments"][0];
    sd["statusReason"] = "Service deployment rolled back because of alarms.".into();
    sd["deploymentCircuitBreaker"]["status"] = "MONITORING".into();
    sd["alarms"] = serde_json::json!({"status": "TRIGGERED", "alarmNames": ["web-5xx", "web-p99"],
        "triggeredAlarmNames": ["web-5xx"]});
    let sd = read(&body.to_string(), None).await;
    let d = judge(&sd, in_progress(), Some(OLD), false);
    assert!(
        d.detail.contains(
            ": Service deployment rolled back because of alarms; alarms TRIGGERED: web-5xx; restored"
        ),
        "{}",
        d.detail
    );
}

#[tokio::test]
async fn an_unknown_status_leaves_berths_decision() {
    let sd = read(SUCCESSFUL, Some("PAUSED_FOR_SOMETHING_NEW")).await;
    let d = judge(&sd, completed(), None, false);
    assert_eq!(d.status, StabilityStatus::Completed);
    assert!(
        d.detail.ends_with(
            "(ECS service deployment NCWGC2ZR-taawPAYrIaU5 is PAUSED_FOR_SOMETHING_NEW)"
        ),
        "{}",
        d.detail
    );
}

#[tokio::test]
async fn a_deployment_ecs_no_longer_knows_is_none_and_denied_calls_fall_back() {
    let missing = mock!(Client::describe_service_deployments).then_http_response(|| {
        ok_json(&serde_json::json!({"serviceDeployments": [], "failures": [{"arn": ARN, "reason": "MISSING"}]}).to_string())
    });
    let ecs = mock_client!(aws_sdk_ecs, [&missing]);
    assert_eq!(describe_service_deployment(&ecs, ARN).await.unwrap(), None);

    for (status, code, falls) in [
        (400, "AccessDeniedException", true),
        (400, "UnknownOperationException", true),
        (400, "UnsupportedFeatureException", true),
        (400, "InvalidParameterException", true),
        (400, "ThrottlingException", false),
        (500, "ServerException", false),
    ] {
        let rule = mock!(Client::describe_service_deployments)
            .then_http_response(move || aws_error(status, code, "no"));
        let ecs = mock_client!(aws_sdk_ecs, [&rule]);
        let err = describe_service_deployment(&ecs, ARN).await.unwrap_err();
        assert_eq!(falls_back(&err), falls, "{code}: {err}");
    }
}

#[test]
fn only_rollback_statuses_are_rollbacks() {
    for s in [
        "ROLLBACK_REQUESTED",
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_SUCCESSFUL",
        "ROLLBACK_FAILED",
    ] {
        assert!(is_rollback(s), "{s}");
    }
    for s in [
        "PENDING",
        "IN_PROGRESS",
        "SUCCESSFUL",
        "STOPPED",
        "STOP_REQUESTED",
        "",
    ] {
        assert!(!is_rollback(s), "{s}");
    }
}
