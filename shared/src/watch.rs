//! How the state machine waits for a rollout (`WatchRollout`, `WatchRollback`): a
//! `lambda:invoke.waitForTaskToken` state whose check answers at once when there is something to
//! decide, else leaves the state waiting for ECS's deployment events (wake-rollout runs the same
//! check on each) or for the state's timeout, the fallback poll. Pure decisions.

use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};
use serde_json::Value;

use crate::model::{Stability, StabilityStatus, Watch};

/// How far back in a history (newest first) the waiting state's TaskScheduled can be: a watch
/// state's own events since it was entered (scheduled, started, submitted; a retry adds a few).
pub const HISTORY_LOOKBACK: i32 = 25;

/// How a rollout is watched. ECS reports a rolling rollout's end by events (ECS Deployment State
/// Change, and a stopped task's ECS Task State Change), so it waits for one, looking anyway every
/// `fallback` seconds. Where berth must look itself it polls every `poll` seconds: a CodeDeploy
/// deployment (whose events berth does not subscribe to) and ECS's BLUE_GREEN / LINEAR / CANARY
/// (ECS sends no event per lifecycle stage, and each check shows the stage and the weights). A
/// shift is something to decide when a canary judges it.
pub fn plan(
    code_deploy: bool,
    native_strategy: bool,
    canary: bool,
    poll: u64,
    fallback: u64,
) -> Watch {
    let judge_shift = canary && (code_deploy || native_strategy);
    if code_deploy || native_strategy {
        Watch {
            seconds: poll,
            judge_shift,
        }
    } else {
        Watch {
            seconds: fallback.max(poll),
            judge_shift: false,
        }
    }
}

/// Whether a check's result answers the waiting state: the rollout ended (either way), or, when
/// the shift is judged, the new revision takes production traffic. Anything else would only loop
/// back to the same wait.
pub fn answers(watch: Option<&Watch>, stability: &Stability) -> bool {
    if stability.status != StabilityStatus::InProgress {
        return true;
    }
    watch.is_some_and(|w| w.judge_shift) && stability.green_traffic_weight.unwrap_or(0.0) > 0.0
}

/// The payload of the watch state an execution waits in, from its history newest first: the
/// latest TaskScheduled that carries a task token, unless the task already ended.
pub fn waiting_payload(events_newest_first: &[HistoryEvent]) -> Option<Value> {
    for e in events_newest_first {
        match e.r#type() {
            HistoryEventType::TaskSucceeded
            | HistoryEventType::TaskFailed
            | HistoryEventType::TaskTimedOut
            | HistoryEventType::TaskStateExited => return None,
            HistoryEventType::TaskScheduled => {
                let parameters = e.task_scheduled_event_details()?.parameters();
                let parameters: Value = serde_json::from_str(parameters).ok()?;
                let payload = parameters.get("Payload")?;
                return payload
                    .get("taskToken")?
                    .is_string()
                    .then(|| payload.clone());
            }
            _ => {}
        }
    }
    None
}

/// SendTaskSuccess for a waiting watch state: `Ok(true)` when this answer was taken, `Ok(false)`
/// when the state had moved on (answered by the other caller first, or timed out: Step Functions
/// says `TaskTimedOut`, `InvalidToken` or `TaskDoesNotExist`), which is no error.
pub async fn answer(sfn: &aws_sdk_sfn::Client, token: &str, output: String) -> crate::Result<bool> {
    use aws_sdk_sfn::error::ProvideErrorMetadata;
    match sfn
        .send_task_success()
        .task_token(token)
        .output(output)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e)
            if matches!(
                e.code(),
                Some("TaskTimedOut" | "InvalidToken" | "TaskDoesNotExist")
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(crate::Error::from_sdk("SendTaskSuccess", e)),
    }
}

/// What `berth abort` answers a waiting watch with, so that its check runs at once instead of at
/// the next ECS event or fallback poll: an IN_PROGRESS result, which the ASL's RolloutDecision
/// routes back to the watch state, whose check then reads the control tag.
pub fn woken(payload: &Value, why: &str, now: crate::time::DateTime) -> Stability {
    let rollout = |k: &str| {
        payload["rollout"][k]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    Stability {
        status: StabilityStatus::InProgress,
        reason: None,
        detail: format!("woken by {why}: checking again now"),
        ecs_deployment_id: rollout("ecsDeploymentId"),
        task_definition_arn: rollout("taskDefinitionArn"),
        primary_task_definition_arn: None,
        rollout_state: None,
        rollout_state_reason: None,
        desired_count: 0,
        running_count: 0,
        pending_count: 0,
        failed_tasks: 0,
        unhealthy_tasks: 0,
        events: vec![],
        checked_at: crate::time::format(now),
        green_traffic_weight: None,
        service_deployment: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stability(status: &str, green: Option<f64>) -> Stability {
        let mut s = json!({"status": status, "detail": "", "ecsDeploymentId": "ecs-svc/1",
            "taskDefinitionArn": "td", "primaryTaskDefinitionArn": null, "rolloutState": null,
            "rolloutStateReason": null, "desiredCount": 2, "runningCount": 1, "pendingCount": 1,
            "failedTasks": 0, "unhealthyTasks": 0, "events": [], "checkedAt": "t"});
        if let Some(g) = green {
            s["greenTrafficWeight"] = json!(g);
        }
        serde_json::from_value(s).unwrap()
    }

    #[test]
    fn rolling_rollouts_wait_for_events_and_poll_slowly() {
        assert_eq!(
            plan(false, false, true, 15, 300),
            Watch {
                seconds: 300,
                judge_shift: false
            }
        );
        // the fallback is never quicker than the poll the request asked for
        assert_eq!(plan(false, false, false, 600, 300).seconds, 600);
    }

    #[test]
    fn berth_polls_where_it_must_look_itself() {
        assert_eq!(
            plan(true, false, false, 15, 300),
            Watch {
                seconds: 15,
                judge_shift: false
            }
        );
        assert_eq!(
            plan(true, false, true, 15, 300),
            Watch {
                seconds: 15,
                judge_shift: true
            }
        );
        assert_eq!(
            plan(false, true, true, 10, 300),
            Watch {
                seconds: 10,
                judge_shift: true
            }
        );
    }

    #[test]
    fn only_an_end_or_a_judged_shift_answers() {
        let rolling = plan(false, false, false, 15, 300);
        let judged = plan(false, true, true, 15, 300);
        assert!(!answers(Some(&rolling), &stability("IN_PROGRESS", None)));
        assert!(answers(Some(&rolling), &stability("COMPLETED", None)));
        assert!(answers(Some(&rolling), &stability("FAILED", None)));
        assert!(!answers(
            Some(&rolling),
            &stability("IN_PROGRESS", Some(10.0))
        ));
        assert!(answers(
            Some(&judged),
            &stability("IN_PROGRESS", Some(10.0))
        ));
        assert!(!answers(
            Some(&judged),
            &stability("IN_PROGRESS", Some(0.0))
        ));
        assert!(!answers(None, &stability("IN_PROGRESS", Some(10.0))));
    }

    use crate::testing::{history_event as event, watch_scheduled as scheduled};

    #[test]
    fn the_waiting_state_is_the_newest_scheduled_task_not_yet_ended() {
        let p = json!({"cluster": "prod", "service": "web", "taskToken": "token-1"});
        // newest first: submitted, started, scheduled
        let waiting = [
            event(9, HistoryEventType::TaskSubmitted),
            event(8, HistoryEventType::TaskStarted),
            scheduled(7, &p),
        ];
        assert_eq!(waiting_payload(&waiting), Some(p.clone()));
        // an answered one is not waiting any more
        let answered = [
            event(10, HistoryEventType::TaskSucceeded),
            event(9, HistoryEventType::TaskSubmitted),
            scheduled(7, &p),
        ];
        assert_eq!(waiting_payload(&answered), None);
        // a task without a token (a plain Lambda task) is not a watch
        let plain = [scheduled(7, &json!({"cluster": "prod"}))];
        assert_eq!(waiting_payload(&plain), None);
    }

    #[test]
    fn a_woken_watch_is_answered_in_progress_so_it_checks_again() {
        let p = json!({"cluster": "prod", "service": "web", "taskToken": "t",
            "rollout": {"ecsDeploymentId": "ecs-svc/1", "taskDefinitionArn": "td:8"}});
        let s = woken(&p, "berth abort", crate::time::DateTime::from_secs(0));
        assert_eq!(s.status, StabilityStatus::InProgress);
        assert_eq!(
            (s.ecs_deployment_id.as_str(), s.task_definition_arn.as_str()),
            ("ecs-svc/1", "td:8")
        );
        // it never answers by itself: the next check decides
        assert!(!answers(Some(&plan(false, false, false, 15, 300)), &s));
        // and it is a whole Stability, as the document's readers expect
        let back: Stability = serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
