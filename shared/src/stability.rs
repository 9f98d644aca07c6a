//! Is a rollout done, failed or still going? Pure decisions over what DescribeServices and
//! DescribeTasks report, tested without any client.
//!
//! Trap: "stable" is not "succeeded". After the circuit breaker rolls back, the service is stable on
//! the OLD revision, so the verdict is about berth's deployment (matched by id and task definition),
//! never about the service as a whole.

use crate::model::{FailureReason, StabilityStatus};

/// One entry of `service.deployments`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeploymentView {
    pub id: String,
    /// PRIMARY, ACTIVE or INACTIVE.
    pub status: String,
    pub task_definition: String,
    /// IN_PROGRESS, COMPLETED or FAILED (absent for services without the rolling controller's state).
    pub rollout_state: Option<String>,
    pub rollout_state_reason: Option<String>,
    pub desired_count: i32,
    pub running_count: i32,
    pub pending_count: i32,
    pub failed_tasks: i32,
}

/// One service event (`service.events`).
#[derive(Debug, Clone, PartialEq)]
pub struct EventView {
    pub at_secs: i64,
    pub message: String,
}

/// A stopped task of the service (DescribeTasks).
#[derive(Debug, Clone, PartialEq)]
pub struct StoppedTaskView {
    /// The task id (last segment of the task ARN), to attribute service events to revisions.
    pub task_id: String,
    pub task_definition: String,
    pub stopped_reason: String,
    pub stopped_at_secs: i64,
}

/// What one poll saw.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observation {
    pub deployments: Vec<DeploymentView>,
    /// Newest first, as ECS returns them.
    pub events: Vec<EventView>,
    pub stopped_tasks: Vec<StoppedTaskView>,
}

/// The rollout being watched.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected<'a> {
    pub deployment_id: &'a str,
    pub task_definition: &'a str,
    pub started_at_secs: i64,
    pub deadline_secs: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub status: StabilityStatus,
    pub reason: Option<FailureReason>,
    pub detail: String,
    pub unhealthy_tasks: i32,
}

/// ECS's circuit-breaker threshold: 0.5 × desired, at least 3, at most 200. berth applies the same
/// bar itself for services that run without the breaker.
pub fn failed_task_threshold(desired: i32) -> i32 {
    let half = (desired + 1) / 2;
    half.clamp(3, 200)
}

fn is_health_check_failure(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("failed elb health checks")
        || t.contains("failed container health checks")
        || t.contains("failed load balancer health checks")
        || (t.contains("health check") && t.contains("unhealthy"))
}

/// Decide one poll. `now_secs` is injected so the deadline is testable.
pub fn decide(obs: &Observation, exp: &Expected<'_>, now_secs: i64) -> Decision {
    let ours = obs.deployments.iter().find(|d| d.id == exp.deployment_id);
    let primary = obs.deployments.iter().find(|d| d.status == "PRIMARY");

    let ours = match ours {
        Some(d) => d,
        None => {
            // Our deployment is gone from the list. If the service runs our revision it completed
            // and a later deployment with the same revision replaced it; otherwise it was replaced.
            return match primary {
                Some(p) if p.task_definition == exp.task_definition && is_steady(p, obs) => {
                    done(format!(
                        "deployment {} was replaced by {} on the same revision, which is complete",
                        exp.deployment_id, p.id
                    ))
                }
                Some(p) => failed(
                    FailureReason::Superseded,
                    format!(
                        "deployment {} is gone; the service now runs {} (deployment {})",
                        exp.deployment_id, p.task_definition, p.id
                    ),
                    0,
                ),
                None => failed(
                    FailureReason::Superseded,
                    format!(
                        "deployment {} is gone and the service has no PRIMARY deployment",
                        exp.deployment_id
                    ),
                    0,
                ),
            };
        }
    };

    if ours.task_definition != exp.task_definition {
        return failed(
            FailureReason::Superseded,
            format!(
                "deployment {} runs {}, not the expected {}",
                ours.id, ours.task_definition, exp.task_definition
            ),
            0,
        );
    }

    if ours.rollout_state.as_deref() == Some("FAILED") {
        let why = ours
            .rollout_state_reason
            .clone()
            .unwrap_or_else(|| "no reason given".into());
        let now_on = primary
            .filter(|p| p.id != ours.id)
            .map(|p| format!("; ECS is rolling back to {}", p.task_definition))
            .unwrap_or_default();
        return failed(
            FailureReason::DeploymentFailed,
            format!("ECS marked deployment {} FAILED: {why}{now_on}", ours.id),
            0,
        );
    }

    if ours.status != "PRIMARY" {
        let to = primary
            .map(|p| p.task_definition.as_str())
            .unwrap_or("unknown");
        return failed(
            FailureReason::RolledBack,
            format!(
                "deployment {} is no longer PRIMARY ({}); the service was put back on {to}",
                ours.id, ours.status
            ),
            0,
        );
    }

    let unhealthy = count_health_check_failures(obs, exp);
    let threshold = failed_task_threshold(ours.desired_count);
    if unhealthy >= threshold {
        return failed(
            FailureReason::HealthChecksFailing,
            format!(
                "{unhealthy} task(s) of {} started and then failed health checks (threshold {threshold}); the circuit breaker does not count these",
                exp.task_definition
            ),
            unhealthy,
        );
    }
    if ours.failed_tasks >= threshold {
        return failed(
            FailureReason::TasksFailing,
            format!("{} task(s) failed to start (threshold {threshold}) and ECS has not stopped the rollout", ours.failed_tasks),
            unhealthy,
        );
    }

    if is_steady(ours, obs) {
        return Decision {
            status: StabilityStatus::Completed,
            reason: None,
            detail: format!(
                "deployment {} completed: {}/{} tasks running {}",
                ours.id, ours.running_count, ours.desired_count, exp.task_definition
            ),
            unhealthy_tasks: unhealthy,
        };
    }

    if now_secs >= exp.deadline_secs {
        return failed(
            FailureReason::Timeout,
            format!(
                "deadline passed with deployment {} still {}: {}/{} running, {} pending, {} failed",
                ours.id,
                ours.rollout_state.as_deref().unwrap_or("IN_PROGRESS"),
                ours.running_count,
                ours.desired_count,
                ours.pending_count,
                ours.failed_tasks
            ),
            unhealthy,
        );
    }

    Decision {
        status: StabilityStatus::InProgress,
        reason: None,
        detail: format!(
            "deployment {} in progress: {}/{} running, {} pending, {} failed, {} unhealthy",
            ours.id,
            ours.running_count,
            ours.desired_count,
            ours.pending_count,
            ours.failed_tasks,
            unhealthy
        ),
        unhealthy_tasks: unhealthy,
    }
}

/// Complete means ECS says COMPLETED (or, without rollout state, the counts match), every task of
/// the desired count runs, and no other deployment is left draining.
fn is_steady(d: &DeploymentView, obs: &Observation) -> bool {
    let rollout_done = match d.rollout_state.as_deref() {
        Some(state) => state == "COMPLETED",
        None => true,
    };
    rollout_done
        && d.running_count == d.desired_count
        && d.pending_count == 0
        && obs.deployments.len() == 1
}

/// The task id an ECS service event names: `(service web) (task 0b69…) failed ELB health checks …`.
fn event_task_id(message: &str) -> Option<&str> {
    let start = message.find("(task ")? + "(task ".len();
    let len = message[start..].find(')')?;
    Some(&message[start..start + len])
}

/// Tasks of our revision stopped for failing health checks since the rollout started; service
/// events are the fallback when the stopped tasks have already aged out of DescribeTasks. An
/// event about a task known to run another revision (the one being rolled away from, say) does
/// not count.
fn count_health_check_failures(obs: &Observation, exp: &Expected<'_>) -> i32 {
    let other_revision = |id: &str| {
        obs.stopped_tasks
            .iter()
            .any(|t| t.task_id == id && t.task_definition != exp.task_definition)
    };
    let from_tasks = obs
        .stopped_tasks
        .iter()
        .filter(|t| {
            t.task_definition == exp.task_definition
                && t.stopped_at_secs >= exp.started_at_secs
                && is_health_check_failure(&t.stopped_reason)
        })
        .count();
    let from_events = obs
        .events
        .iter()
        .filter(|e| e.at_secs >= exp.started_at_secs && is_health_check_failure(&e.message))
        .filter(|e| !event_task_id(&e.message).is_some_and(other_revision))
        .count();
    from_tasks.max(from_events) as i32
}

fn done(detail: String) -> Decision {
    Decision {
        status: StabilityStatus::Completed,
        reason: None,
        detail,
        unhealthy_tasks: 0,
    }
}

fn failed(reason: FailureReason, detail: String, unhealthy_tasks: i32) -> Decision {
    Decision {
        status: StabilityStatus::Failed,
        reason: Some(reason),
        detail,
        unhealthy_tasks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8";
    const OLD: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7";
    const START: i64 = 1_000;
    const DEADLINE: i64 = 2_800;

    fn exp() -> Expected<'static> {
        Expected {
            deployment_id: "ecs-svc/1111111111111111111",
            task_definition: NEW,
            started_at_secs: START,
            deadline_secs: DEADLINE,
        }
    }

    fn dep(
        id: &str,
        status: &str,
        td: &str,
        state: &str,
        running: i32,
        pending: i32,
        failed: i32,
    ) -> DeploymentView {
        DeploymentView {
            id: id.into(),
            status: status.into(),
            task_definition: td.into(),
            rollout_state: Some(state.into()),
            rollout_state_reason: Some(format!("ECS deployment {id} {}.", state.to_lowercase())),
            desired_count: 4,
            running_count: running,
            pending_count: pending,
            failed_tasks: failed,
        }
    }

    fn ours(state: &str, running: i32, pending: i32, failed: i32) -> DeploymentView {
        dep(
            "ecs-svc/1111111111111111111",
            "PRIMARY",
            NEW,
            state,
            running,
            pending,
            failed,
        )
    }

    fn old_active(running: i32) -> DeploymentView {
        dep(
            "ecs-svc/0000000000000000000",
            "ACTIVE",
            OLD,
            "COMPLETED",
            running,
            0,
            0,
        )
    }

    fn obs(deployments: Vec<DeploymentView>) -> Observation {
        Observation {
            deployments,
            ..Default::default()
        }
    }

    #[test]
    fn completed_when_ours_is_the_only_deployment_and_all_tasks_run() {
        let d = decide(&obs(vec![ours("COMPLETED", 4, 0, 0)]), &exp(), START + 60);
        assert_eq!(d.status, StabilityStatus::Completed);
        assert_eq!(d.reason, None);
    }

    #[test]
    fn in_progress_while_the_old_deployment_drains() {
        let d = decide(
            &obs(vec![ours("IN_PROGRESS", 4, 0, 0), old_active(2)]),
            &exp(),
            START + 60,
        );
        assert_eq!(d.status, StabilityStatus::InProgress);
        assert!(d.detail.contains("4/4 running"), "{}", d.detail);
    }

    #[test]
    fn completed_state_with_old_tasks_still_draining_is_not_done() {
        let d = decide(
            &obs(vec![ours("COMPLETED", 4, 0, 0), old_active(1)]),
            &exp(),
            START + 60,
        );
        assert_eq!(d.status, StabilityStatus::InProgress);
    }

    #[test]
    fn running_below_desired_is_not_done() {
        let d = decide(&obs(vec![ours("COMPLETED", 3, 1, 0)]), &exp(), START + 60);
        assert_eq!(d.status, StabilityStatus::InProgress);
    }

    #[test]
    fn circuit_breaker_rollback_stable_on_old_revision_is_failed_not_success() {
        // GIVEN the breaker failed our deployment and ECS put the old revision back as PRIMARY
        let mut failed_ours = dep(
            "ecs-svc/1111111111111111111",
            "ACTIVE",
            NEW,
            "FAILED",
            0,
            0,
            3,
        );
        failed_ours.rollout_state_reason =
            Some("ECS deployment circuit breaker: tasks failed to start.".into());
        let back = dep(
            "ecs-svc/2222222222222222222",
            "PRIMARY",
            OLD,
            "COMPLETED",
            4,
            0,
            0,
        );
        // WHEN a poll sees it
        let d = decide(&obs(vec![back, failed_ours]), &exp(), START + 300);
        // THEN berth reports failure, with ECS's reason and where the service went
        assert_eq!(d.status, StabilityStatus::Failed);
        assert_eq!(d.reason, Some(FailureReason::DeploymentFailed));
        assert!(d.detail.contains("circuit breaker"), "{}", d.detail);
        assert!(d.detail.contains(OLD), "{}", d.detail);
    }

    #[test]
    fn stable_service_after_our_deployment_vanished_is_failed() {
        // The breaker's rollback completed and ECS dropped our deployment from the list entirely.
        let back = dep(
            "ecs-svc/2222222222222222222",
            "PRIMARY",
            OLD,
            "COMPLETED",
            4,
            0,
            0,
        );
        let d = decide(&obs(vec![back]), &exp(), START + 900);
        assert_eq!(d.status, StabilityStatus::Failed);
        assert_eq!(d.reason, Some(FailureReason::Superseded));
        assert!(d.detail.contains(OLD));
    }

    #[test]
    fn our_deployment_demoted_to_active_is_rolled_back() {
        let mut ours_active = ours("IN_PROGRESS", 1, 0, 0);
        ours_active.status = "ACTIVE".into();
        let back = dep(
            "ecs-svc/2222222222222222222",
            "PRIMARY",
            OLD,
            "IN_PROGRESS",
            2,
            2,
            0,
        );
        let d = decide(&obs(vec![back, ours_active]), &exp(), START + 60);
        assert_eq!(d.reason, Some(FailureReason::RolledBack));
    }

    #[test]
    fn same_revision_redeployed_by_someone_else_counts_once_steady() {
        let other = dep(
            "ecs-svc/3333333333333333333",
            "PRIMARY",
            NEW,
            "COMPLETED",
            4,
            0,
            0,
        );
        let d = decide(&obs(vec![other]), &exp(), START + 60);
        assert_eq!(d.status, StabilityStatus::Completed);
    }

    #[test]
    fn a_different_task_definition_on_our_id_is_superseded() {
        let mut d0 = ours("IN_PROGRESS", 0, 4, 0);
        d0.task_definition = OLD.into();
        let d = decide(&obs(vec![d0]), &exp(), START + 60);
        assert_eq!(d.reason, Some(FailureReason::Superseded));
    }

    #[test]
    fn tasks_failing_elb_health_checks_are_caught_though_failed_tasks_is_zero() {
        // GIVEN copilot#1879: tasks start, fail target-group checks, failedTasks stays 0
        let mut o = obs(vec![ours("IN_PROGRESS", 2, 2, 0), old_active(4)]);
        for i in 0..3 {
            o.stopped_tasks.push(StoppedTaskView {
                task_id: format!("{i}new"),
                task_definition: NEW.into(),
                stopped_reason: "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef)".into(),
                stopped_at_secs: START + 30 + i,
            });
        }
        // WHEN
        let d = decide(&o, &exp(), START + 120);
        // THEN
        assert_eq!(d.status, StabilityStatus::Failed);
        assert_eq!(d.reason, Some(FailureReason::HealthChecksFailing));
        assert_eq!(d.unhealthy_tasks, 3);
    }

    #[test]
    fn health_check_events_count_when_stopped_tasks_aged_out() {
        let mut o = obs(vec![ours("IN_PROGRESS", 2, 2, 0), old_active(4)]);
        for i in 0..3 {
            o.events.push(EventView {
                at_secs: START + 100 - i,
                message: format!("(service web) (task {i}abc) failed ELB health checks in (target-group arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef)"),
            });
        }
        let d = decide(&o, &exp(), START + 120);
        assert_eq!(d.reason, Some(FailureReason::HealthChecksFailing));
    }

    #[test]
    fn health_check_failures_before_the_rollout_or_of_other_revisions_do_not_count() {
        let mut o = obs(vec![ours("IN_PROGRESS", 2, 2, 0), old_active(4)]);
        for i in 0..5 {
            o.stopped_tasks.push(StoppedTaskView {
                task_id: format!("{i}x"),
                task_definition: if i % 2 == 0 { OLD.into() } else { NEW.into() },
                stopped_reason: "Task failed ELB health checks in (target-group x)".into(),
                stopped_at_secs: if i % 2 == 0 { START + 10 } else { START - 10 },
            });
            o.events.push(EventView {
                at_secs: START - 5,
                message: "(service web) (task x) failed ELB health checks in (target-group x)"
                    .into(),
            });
        }
        let d = decide(&o, &exp(), START + 120);
        assert_eq!(d.status, StabilityStatus::InProgress);
        assert_eq!(d.unhealthy_tasks, 0);
    }

    #[test]
    fn health_check_events_of_the_revision_being_rolled_away_from_do_not_count() {
        // GIVEN a rollback to OLD while the failing NEW tasks are still being stopped by the ELB
        let rollback = Expected {
            task_definition: OLD,
            ..exp()
        };
        let mut o = obs(vec![dep(
            "ecs-svc/1111111111111111111",
            "PRIMARY",
            OLD,
            "IN_PROGRESS",
            2,
            2,
            0,
        )]);
        o.deployments[0].id = exp().deployment_id.into();
        for i in 0..3 {
            o.stopped_tasks.push(StoppedTaskView {
                task_id: format!("bad{i}"),
                task_definition: NEW.into(),
                stopped_reason: "Task failed ELB health checks in (target-group x)".into(),
                stopped_at_secs: START + 10,
            });
            o.events.push(EventView {
                at_secs: START + 10,
                message: format!(
                    "(service web) (task bad{i}) failed ELB health checks in (target-group x)"
                ),
            });
        }
        // WHEN the rollback's own rollout is checked THEN NEW's failures are not held against OLD
        let d = decide(&o, &rollback, START + 20);
        assert_eq!(d.status, StabilityStatus::InProgress, "{}", d.detail);
        assert_eq!(d.unhealthy_tasks, 0);
    }

    #[test]
    fn two_unhealthy_tasks_stay_below_the_threshold() {
        let mut o = obs(vec![ours("IN_PROGRESS", 2, 2, 0), old_active(4)]);
        for i in 0..2 {
            o.stopped_tasks.push(StoppedTaskView {
                task_id: format!("{i}c"),
                task_definition: NEW.into(),
                stopped_reason: "Task failed container health checks".into(),
                stopped_at_secs: START + i,
            });
        }
        let d = decide(&o, &exp(), START + 120);
        assert_eq!(d.status, StabilityStatus::InProgress);
        assert_eq!(d.unhealthy_tasks, 2);
    }

    #[test]
    fn failed_tasks_without_a_breaker_fail_at_the_breaker_threshold() {
        let d = decide(
            &obs(vec![ours("IN_PROGRESS", 0, 4, 2), old_active(4)]),
            &exp(),
            START + 60,
        );
        assert_eq!(d.status, StabilityStatus::InProgress);
        let d = decide(
            &obs(vec![ours("IN_PROGRESS", 0, 4, 3), old_active(4)]),
            &exp(),
            START + 60,
        );
        assert_eq!(d.reason, Some(FailureReason::TasksFailing));
    }

    #[test]
    fn deadline_passed_is_failed_timeout() {
        let o = obs(vec![ours("IN_PROGRESS", 1, 3, 0), old_active(4)]);
        assert_eq!(
            decide(&o, &exp(), DEADLINE - 1).status,
            StabilityStatus::InProgress
        );
        let d = decide(&o, &exp(), DEADLINE);
        assert_eq!(d.status, StabilityStatus::Failed);
        assert_eq!(d.reason, Some(FailureReason::Timeout));
        assert!(d.detail.contains("1/4 running"), "{}", d.detail);
    }

    #[test]
    fn completion_wins_over_a_just_passed_deadline() {
        let d = decide(&obs(vec![ours("COMPLETED", 4, 0, 0)]), &exp(), DEADLINE + 5);
        assert_eq!(d.status, StabilityStatus::Completed);
    }

    #[test]
    fn missing_rollout_state_falls_back_to_counts() {
        let mut d0 = ours("COMPLETED", 4, 0, 0);
        d0.rollout_state = None;
        assert_eq!(
            decide(&obs(vec![d0]), &exp(), START).status,
            StabilityStatus::Completed
        );
    }

    #[test]
    fn threshold_matches_the_circuit_breaker() {
        for (desired, t) in [
            (0, 3),
            (1, 3),
            (4, 3),
            (6, 3),
            (7, 4),
            (10, 5),
            (399, 200),
            (400, 200),
            (1000, 200),
        ] {
            assert_eq!(failed_task_threshold(desired), t, "desired {desired}");
        }
    }

    #[test]
    fn no_primary_at_all_is_failed() {
        let d = decide(&obs(vec![]), &exp(), START);
        assert_eq!(d.reason, Some(FailureReason::Superseded));
    }
}
