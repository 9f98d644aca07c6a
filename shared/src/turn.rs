//! One deployment per service at a time, and the newest image wins.
//!
//! The rule, decided from the state machine's own RUNNING executions (no extra store):
//! an execution deploying service S goes ahead when no other running execution targets S;
//! it WAITS while an earlier one does; it is SUPERSEDED (ends without deploying) when a later
//! one does, because the later execution carries the newer image. "Earlier" is by start time,
//! then by ARN, so two executions always agree on their order.

use crate::ecr;
use crate::model::{DeploymentItem, TurnDecision};

/// A running execution as ListExecutions / DescribeExecution report it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningExecution {
    pub arn: String,
    /// Milliseconds since the epoch.
    pub start_millis: i64,
    pub input: serde_json::Value,
}

/// Whether an execution's raw input would deploy the item's service.
pub fn targets(input: &serde_json::Value, item: &DeploymentItem) -> bool {
    if ecr::is_event(input) {
        return match ecr::classify(input) {
            Ok(Ok(push)) => push.repository == item.repository,
            _ => false,
        };
    }
    let field = |k: &str| input.get(k).and_then(|v| v.as_str()).map(last_segment);
    field("service") == Some(last_segment(&item.service))
        && field("cluster") == Some(last_segment(&item.cluster))
}

/// Cluster and service may be names or ARNs: compare their names.
fn last_segment(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// Decide for the execution `me` among `running` (which includes `me`).
pub fn decide(
    me: &str,
    running: &[RunningExecution],
    item: &DeploymentItem,
) -> (TurnDecision, Vec<String>) {
    let Some(mine) = running.iter().find(|e| e.arn == me) else {
        // Not listed as running (eventual consistency right after start): assume the earliest.
        return decide_as(me, i64::MIN, running, item);
    };
    decide_as(me, mine.start_millis, running, item)
}

fn decide_as(
    me: &str,
    my_start: i64,
    running: &[RunningExecution],
    item: &DeploymentItem,
) -> (TurnDecision, Vec<String>) {
    let key = |start: i64, arn: &str| (start, arn.to_owned());
    let my_key = key(my_start, me);
    let rivals: Vec<&RunningExecution> = running
        .iter()
        .filter(|e| e.arn != me && targets(&e.input, item))
        .collect();
    let later: Vec<String> = rivals
        .iter()
        .filter(|e| key(e.start_millis, &e.arn) > my_key)
        .map(|e| e.arn.clone())
        .collect();
    if !later.is_empty() {
        return (TurnDecision::Superseded, later);
    }
    let earlier: Vec<String> = rivals.iter().map(|e| e.arn.clone()).collect();
    if earlier.is_empty() {
        (TurnDecision::Go, vec![])
    } else {
        (TurnDecision::Wait, earlier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item() -> DeploymentItem {
        serde_json::from_value(json!({
            "deploymentId": "d", "cluster": "prod", "service": "web", "image": "x/web:1", "repository": "web",
            "forceNewDeployment": false, "timeoutSeconds": 60, "pollIntervalSeconds": 5, "rollbackTimeoutSeconds": 60,
            "execution": {"id": "arn:b", "name": "b", "startTime": "2026-11-23T00:00:00Z"}, "turnDeadline": "2026-11-23T01:00:00Z"
        }))
        .unwrap()
    }

    fn push(repo: &str) -> serde_json::Value {
        let mut e: serde_json::Value =
            serde_json::from_str(include_str!("../fixtures/ecr-push.json")).unwrap();
        e["detail"]["repository-name"] = json!(repo);
        e
    }

    fn exec(arn: &str, start: i64, input: serde_json::Value) -> RunningExecution {
        RunningExecution {
            arn: arn.into(),
            start_millis: start,
            input,
        }
    }

    #[test]
    fn alone_goes() {
        let running = [
            exec("arn:b", 10, push("web")),
            exec("arn:x", 5, push("other")),
        ];
        assert_eq!(decide("arn:b", &running, &item()).0, TurnDecision::Go);
    }

    #[test]
    fn an_earlier_deploy_of_the_same_service_makes_us_wait() {
        let running = [
            exec("arn:a", 5, push("web")),
            exec("arn:b", 10, push("web")),
        ];
        assert_eq!(
            decide("arn:b", &running, &item()),
            (TurnDecision::Wait, vec!["arn:a".to_string()])
        );
    }

    #[test]
    fn a_later_deploy_supersedes_us_and_the_newest_wins() {
        let running = [
            exec("arn:a", 5, push("web")),
            exec("arn:b", 10, push("web")),
            exec("arn:c", 20, push("web")),
        ];
        assert_eq!(
            decide("arn:b", &running, &item()).0,
            TurnDecision::Superseded
        );
        // and from the newest one's side: it waits for the others, it is never superseded
        let mut it = item();
        it.execution.id = "arn:c".into();
        assert_eq!(decide("arn:c", &running, &it).0, TurnDecision::Wait);
    }

    #[test]
    fn console_requests_match_by_cluster_and_service_names_or_arns() {
        let by_arn = json!({"cluster": "arn:aws:ecs:eu-west-1:1:cluster/prod", "service": "arn:aws:ecs:eu-west-1:1:service/prod/web", "image": "i"});
        let other = json!({"cluster": "staging", "service": "web", "image": "i"});
        assert!(targets(&by_arn, &item()));
        assert!(!targets(&other, &item()));
    }

    #[test]
    fn deletes_and_garbage_target_nothing() {
        let mut del = push("web");
        del["detail"]["action-type"] = json!("DELETE");
        assert!(!targets(&del, &item()));
        assert!(!targets(&json!({"hello": 1}), &item()));
    }

    #[test]
    fn equal_start_times_are_ordered_by_arn_on_both_sides() {
        let running = [
            exec("arn:a", 10, push("web")),
            exec("arn:b", 10, push("web")),
        ];
        let mut a = item();
        a.execution.id = "arn:a".into();
        assert_eq!(decide("arn:a", &running, &a).0, TurnDecision::Superseded);
        assert_eq!(decide("arn:b", &running, &item()).0, TurnDecision::Wait);
    }
}
