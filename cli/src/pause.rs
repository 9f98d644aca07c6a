//! `berth approve` / `berth reject` of a native BLUE_GREEN / LINEAR / CANARY deployment that ECS
//! holds in a PAUSE lifecycle hook (`AWAITING_ACTION`): ContinueServiceDeployment with CONTINUE
//! (approve) or ROLLBACK (reject) on the service's current service deployment. Asked when the
//! execution has no task-token approval gate waiting. The CLI's user needs
//! `ecs:DescribeServices`, `ecs:DescribeServiceDeployments` and `ecs:ContinueServiceDeployment`.
//!
//! berth's own polls show the wait ("waiting for approval at STAGE: berth approve …"); after a
//! CONTINUE ECS goes on with its stages, after a ROLLBACK ECS rolls back and berth reports the
//! rollout rolled back.

use aws_sdk_ecs::types::DeploymentLifecycleHookAction;
use aws_sdk_ecs::Client;
use berth::strategy::StageView;
use serde::Serialize;

use crate::approval::Decision;
use crate::error::{sdk, CliError};

/// One PAUSE hook waiting for an answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Paused {
    pub cluster: String,
    pub service: String,
    pub service_deployment_arn: String,
    pub hook_id: String,
    /// BLUE_GREEN, LINEAR or CANARY.
    pub strategy: Option<String>,
    pub lifecycle_stage: Option<String>,
    pub expires_at: Option<String>,
}

/// The PAUSE hooks a service deployment's stage waits in.
pub fn paused(cluster: &str, service: &str, arn: &str, view: &StageView) -> Vec<Paused> {
    view.hooks
        .iter()
        .filter(|h| h.target_type == "PAUSE" && h.status == "AWAITING_ACTION")
        .map(|h| Paused {
            cluster: cluster.to_owned(),
            service: service.to_owned(),
            service_deployment_arn: arn.to_owned(),
            hook_id: h.hook_id.clone(),
            strategy: view.strategy.clone(),
            lifecycle_stage: view.stage.clone(),
            expires_at: h.expires_at.clone(),
        })
        .collect()
}

/// The PAUSE hooks waiting in the service's current service deployment (none when it names
/// none, or ECS does not know it).
pub async fn waiting(ecs: &Client, cluster: &str, service: &str) -> Result<Vec<Paused>, CliError> {
    let described = ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .map_err(|e| sdk("DescribeServices", e))?;
    let Some(arn) = described
        .services()
        .first()
        .and_then(|s| s.current_service_deployment())
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
    else {
        return Ok(vec![]);
    };
    let out = ecs
        .describe_service_deployments()
        .service_deployment_arns(&arn)
        .send()
        .await
        .map_err(|e| sdk("DescribeServiceDeployments", e))?;
    Ok(out
        .service_deployments()
        .iter()
        .flat_map(|sd| paused(cluster, service, &arn, &StageView::from_sdk(sd)))
        .collect())
}

/// One PAUSE hook answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Continued {
    pub decision: Decision,
    /// CONTINUE or ROLLBACK, as sent.
    pub action: String,
    #[serde(flatten)]
    pub hook: Paused,
    pub by: String,
}

/// ContinueServiceDeployment: CONTINUE to approve, ROLLBACK to reject.
pub async fn answer(
    ecs: &Client,
    hook: &Paused,
    decision: Decision,
    by: &str,
) -> Result<Continued, CliError> {
    let action = match decision {
        Decision::Approved => DeploymentLifecycleHookAction::Continue,
        Decision::Rejected => DeploymentLifecycleHookAction::Rollback,
    };
    ecs.continue_service_deployment()
        .service_deployment_arn(&hook.service_deployment_arn)
        .hook_id(&hook.hook_id)
        .action(action.clone())
        .send()
        .await
        .map_err(|e| sdk("ContinueServiceDeployment", e))?;
    Ok(Continued {
        decision,
        action: action.as_str().to_owned(),
        hook: hook.clone(),
        by: by.to_owned(),
    })
}

/// The text `approve` and `reject` print, one line per hook.
pub fn render(answered: &[Continued]) -> String {
    answered
        .iter()
        .map(|c| {
            let what = format!("{}/{}", c.hook.cluster, c.hook.service);
            let at = c.hook.lifecycle_stage.as_deref().unwrap_or("its PAUSE hook");
            let id = c
                .hook
                .service_deployment_arn
                .rsplit('/')
                .next()
                .unwrap_or_default();
            match c.decision {
                Decision::Approved => format!(
                    "approved {what} at {at} by {}: ECS service deployment {id} goes on (ContinueServiceDeployment CONTINUE)\n",
                    c.by
                ),
                Decision::Rejected => format!(
                    "rejected {what} at {at} by {}: ECS rolls service deployment {id} back (ContinueServiceDeployment ROLLBACK)\n",
                    c.by
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth::strategy::HookView;

    fn view() -> StageView {
        StageView {
            strategy: Some("BLUE_GREEN".into()),
            stage: Some("POST_TEST_TRAFFIC_SHIFT".into()),
            production_weight: Some(0.0),
            test_weight: Some(100.0),
            hooks: vec![
                HookView {
                    hook_id: "lambda-1".into(),
                    target_type: "AWS_LAMBDA".into(),
                    status: "SUCCEEDED".into(),
                    ..Default::default()
                },
                HookView {
                    hook_id: "pause-1".into(),
                    target_type: "PAUSE".into(),
                    status: "AWAITING_ACTION".into(),
                    expires_at: Some("2026-11-18T12:23:51Z".into()),
                    timeout_action: Some("ROLLBACK".into()),
                },
            ],
        }
    }

    const ARN: &str =
        "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/Jx3gHK0LuZSSIN3ZqAnYn";

    #[test]
    fn only_a_pause_hook_awaiting_action_is_answered() {
        let p = paused("prod", "web", ARN, &view());
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].hook_id, "pause-1");
        assert_eq!(
            p[0].lifecycle_stage.as_deref(),
            Some("POST_TEST_TRAFFIC_SHIFT")
        );
        let mut answered = view();
        answered.hooks[1].status = "SUCCEEDED".into();
        assert!(paused("prod", "web", ARN, &answered).is_empty());
    }

    #[test]
    fn the_answer_names_the_stage_and_what_ecs_does() {
        let hook = paused("prod", "web", ARN, &view()).remove(0);
        let text = render(&[
            Continued {
                decision: Decision::Approved,
                action: "CONTINUE".into(),
                hook: hook.clone(),
                by: "ana".into(),
            },
            Continued {
                decision: Decision::Rejected,
                action: "ROLLBACK".into(),
                hook,
                by: "ana".into(),
            },
        ]);
        assert_eq!(
            text,
            "approved prod/web at POST_TEST_TRAFFIC_SHIFT by ana: ECS service deployment Jx3gHK0LuZSSIN3ZqAnYn goes on (ContinueServiceDeployment CONTINUE)\n\
             rejected prod/web at POST_TEST_TRAFFIC_SHIFT by ana: ECS rolls service deployment Jx3gHK0LuZSSIN3ZqAnYn back (ContinueServiceDeployment ROLLBACK)\n"
        );
    }
}
