//! Find which hook of which service this call serves, run that hook's checks within the deadline,
//! and report the status to CodeDeploy whatever happened (a failed lookup, a panic, an overrun).

use std::time::Duration;

use aws_lambda_events::event::codedeploy::CodeDeployLifecycleEvent;
use aws_sdk_codedeploy::error::ProvideErrorMetadata;
use aws_sdk_codedeploy::types::{ComputePlatform, LifecycleEventStatus, TargetStatus};
use berth::error::{Error, Result};
use berth::hooks::{
    check_budget, guarded, run_checks, Checker, HookConfig, HookVerdict, CODEDEPLOY_HOOKS,
};
use berth::model::{parse_input, require, OnInconclusive, Verdict};
use berth::time::DateTime;
use serde::Serialize;

pub struct Settings {
    /// `BERTH_CHECKS_PREFIX`: the SSM parameter path under which each service's checks live, as
    /// `<prefix>/<cluster>/<service>` (default `/berth/checks`).
    pub checks_prefix: String,
    /// `BERTH_HOOK_MARGIN_SECONDS`: how long before the Lambda's own timeout the checks are cut
    /// off so the status still goes out (default 5).
    pub margin: Duration,
    /// `BERTH_VERDICTS_PREFIX`: where each verdict is recorded as `<prefix>/<cluster>/<service>`,
    /// so the state machine can name the failed check (default `/berth/hook-verdicts`).
    pub verdicts_prefix: String,
}

impl Settings {
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let prefix = get("BERTH_CHECKS_PREFIX")
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| "/berth/checks".into());
        if !prefix.starts_with('/') {
            return Err(Error::invalid_input(format!(
                "BERTH_CHECKS_PREFIX={prefix:?} must be an SSM parameter path starting with /"
            )));
        }
        let verdicts = get("BERTH_VERDICTS_PREFIX")
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| berth::codedeploy::DEFAULT_VERDICTS_PREFIX.into());
        if !verdicts.starts_with('/') {
            return Err(Error::invalid_input(format!(
                "BERTH_VERDICTS_PREFIX={verdicts:?} must be an SSM parameter path starting with /"
            )));
        }
        Ok(Self {
            verdicts_prefix: verdicts.trim_end_matches('/').to_owned(),
            checks_prefix: prefix.trim_end_matches('/').to_owned(),
            margin: berth::hooks::margin_from_lookup(&get)?,
        })
    }
}

pub struct Hook<'a> {
    pub codedeploy: &'a aws_sdk_codedeploy::Client,
    pub ssm: &'a aws_sdk_ssm::Client,
    pub checker: &'a dyn Checker,
    pub settings: &'a Settings,
}

/// What the hook did, returned as the Lambda's result (CodeDeploy ignores it; logs and tests read it).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HookReport {
    pub deployment_id: String,
    pub lifecycle_event_hook_execution_id: String,
    pub hook: Option<String>,
    pub cluster: Option<String>,
    pub service: Option<String>,
    /// What was reported: `Succeeded` or `Failed`.
    pub status: String,
    pub verdict: HookVerdict,
}

/// Where the deployment is: its ECS service and the hook being served.
#[derive(Debug, Default, Clone)]
struct Located {
    hook: Option<String>,
    cluster: Option<String>,
    service: Option<String>,
}

pub async fn run(
    h: &Hook<'_>,
    payload: serde_json::Value,
    lambda_deadline_ms: u64,
    now_ms: u64,
) -> Result<HookReport> {
    // Without these two ids nothing can be reported: the one case that is an error, not a status.
    let event: CodeDeployLifecycleEvent = parse_input("codedeploy-hook", payload)?;
    require("DeploymentId", &event.deployment_id)?;
    require(
        "LifecycleEventHookExecutionId",
        &event.lifecycle_event_hook_execution_id,
    )?;
    let id = event.deployment_id.as_str();

    let mut located = Located::default();
    // The checks stop at the deadline minus the margin; this outer guard (lookups included) gets half
    // the margin more, so the inner one names the hook and the report still has time to go out.
    let overall = check_budget(None, lambda_deadline_ms, now_ms, h.settings.margin / 2);
    let verdict = match guarded(
        "codedeploy-hook",
        overall,
        evaluate(h, id, &mut located, lambda_deadline_ms, now_ms),
    )
    .await
    {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => HookVerdict::failed(format!(
            "{}: could not run the checks: {e}",
            located.hook.as_deref().unwrap_or("hook")
        )),
        Err(why) => HookVerdict::failed(match located.hook.as_deref() {
            Some(hook) => why.replacen("codedeploy-hook", hook, 1),
            None => why,
        }),
    };
    // evaluate() already turned an INCONCLUSIVE the canary promotes into a pass: here it fails.
    let status = if verdict.passes(OnInconclusive::Rollback) {
        LifecycleEventStatus::Succeeded
    } else {
        LifecycleEventStatus::Failed
    };
    tracing::info!(
        deployment_id = id,
        hook = ?located.hook,
        cluster = ?located.cluster,
        service = ?located.service,
        verdict = ?verdict.verdict,
        status = status.as_str(),
        "{}",
        verdict.detail
    );
    // Recorded before the status goes out, so whoever sees CodeDeploy fail can read why. Best
    // effort: the status report matters more than the record.
    if let (Some(hook), Some(cluster), Some(service)) =
        (&located.hook, &located.cluster, &located.service)
    {
        let parameter =
            berth::codedeploy::verdict_parameter(&h.settings.verdicts_prefix, cluster, service);
        let record = berth::codedeploy::VerdictRecord {
            deployment_id: event.deployment_id.clone(),
            hook: hook.clone(),
            status: status.as_str().to_owned(),
            detail: verdict.detail.clone(),
        };
        if let Err(e) = berth::codedeploy::record_verdict(h.ssm, &parameter, &record).await {
            tracing::warn!(parameter, error = %e, "could not record the hook verdict");
        }
    }
    report(h.codedeploy, &event, status.clone()).await?;
    Ok(HookReport {
        deployment_id: event.deployment_id,
        lifecycle_event_hook_execution_id: event.lifecycle_event_hook_execution_id,
        hook: located.hook,
        cluster: located.cluster,
        service: located.service,
        status: status.as_str().to_owned(),
        verdict,
    })
}

async fn evaluate(
    h: &Hook<'_>,
    id: &str,
    located: &mut Located,
    lambda_deadline_ms: u64,
    now_ms: u64,
) -> Result<HookVerdict> {
    locate(h.codedeploy, id, located).await?;
    let (Some(hook), Some(cluster), Some(service)) =
        (&located.hook, &located.cluster, &located.service)
    else {
        unreachable!("locate fills every field or fails")
    };
    let parameter = format!("{}/{cluster}/{service}", h.settings.checks_prefix);
    let Some(config) = load_config(h.ssm, &parameter).await? else {
        return Ok(HookVerdict {
            verdict: Verdict::Pass,
            detail: format!("{hook}: no checks configured (no SSM parameter {parameter})"),
            checks: vec![],
        });
    };
    let Some(set) = config.checks_for(hook) else {
        return Ok(HookVerdict {
            verdict: Verdict::Pass,
            detail: format!("{hook}: no checks configured for this hook in {parameter}"),
            checks: vec![],
        });
    };
    let budget = check_budget(
        config.deadline_seconds,
        lambda_deadline_ms,
        now_ms,
        h.settings.margin,
    );
    let now = DateTime::from_secs((now_ms / 1000) as i64);
    let mut verdict = match guarded(hook, budget, run_checks(h.checker, hook, set, now)).await {
        Ok(v) => v,
        Err(why) => HookVerdict::failed(match located.hook.as_deref() {
            Some(hook) => why.replacen("codedeploy-hook", hook, 1),
            None => why,
        }),
    };
    // A canary configured to promote on INCONCLUSIVE turns that verdict into a pass here, so the
    // report below needs only the verdict.
    if verdict.verdict == Verdict::Inconclusive
        && set
            .canary
            .as_ref()
            .is_some_and(|c| c.on_inconclusive == OnInconclusive::Promote)
    {
        verdict.verdict = Verdict::Pass;
        verdict
            .detail
            .push_str(" (INCONCLUSIVE promoted: canary onInconclusive is promote)");
    }
    Ok(verdict)
}

/// GetDeployment → its deployment group's ECS service; the deployment's target → the lifecycle
/// event that is InProgress, i.e. the hook CodeDeploy is waiting on.
async fn locate(cd: &aws_sdk_codedeploy::Client, id: &str, located: &mut Located) -> Result<()> {
    let view = berth::codedeploy::observe(cd, id).await?;
    if view.compute_platform.as_deref() != Some(ComputePlatform::Ecs.as_str()) {
        return Err(Error::invalid_input(format!(
            "deployment {id} is not an ECS deployment (compute platform {:?})",
            view.compute_platform
        )));
    }
    let (app, group) = (view.application.as_str(), view.deployment_group.as_str());
    let dg = cd
        .get_deployment_group()
        .application_name(app)
        .deployment_group_name(group)
        .send()
        .await
        .map_err(|e| Error::from_sdk(&format!("GetDeploymentGroup {app}/{group}"), e))?;
    let svc = dg
        .deployment_group_info()
        .and_then(|g| g.ecs_services().first())
        .ok_or_else(|| {
            Error::invalid_input(format!(
                "deployment group {app}/{group} names no ECS service"
            ))
        })?;
    located.cluster = svc.cluster_name().map(str::to_owned);
    located.service = svc.service_name().map(str::to_owned);
    if view.target_status.as_deref() == Some(TargetStatus::InProgress.as_str()) {
        located.hook = view
            .events
            .iter()
            .find(|e| {
                e.status == LifecycleEventStatus::InProgress.as_str()
                    && CODEDEPLOY_HOOKS.contains(&e.name.as_str())
            })
            .map(|e| e.name.clone());
    }
    if located.hook.is_none() {
        return Err(Error::invalid_input(format!(
            "deployment {id}: no hook lifecycle event ({}) is InProgress",
            CODEDEPLOY_HOOKS.join(", ")
        )));
    }
    if located.cluster.is_none() || located.service.is_none() {
        return Err(Error::invalid_input(format!(
            "deployment group {app}/{group}: ECS service without cluster or name"
        )));
    }
    Ok(())
}

/// The service's configuration, or None when the parameter does not exist (no checks wanted).
async fn load_config(ssm: &aws_sdk_ssm::Client, parameter: &str) -> Result<Option<HookConfig>> {
    let out = match ssm.get_parameter().name(parameter).send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(Error::from_sdk(&format!("GetParameter {parameter}"), e)),
    };
    let text = out.parameter().and_then(|p| p.value()).unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        Error::invalid_input(format!("hook configuration {parameter}: not JSON: {e}"))
    })?;
    HookConfig::parse(parameter, value, &CODEDEPLOY_HOOKS).map(Some)
}

/// PutLifecycleEventHookExecutionStatus. An event already completed (this hook already reported,
/// e.g. on a retried invocation) is not an error worth failing the Lambda for.
async fn report(
    cd: &aws_sdk_codedeploy::Client,
    event: &CodeDeployLifecycleEvent,
    status: LifecycleEventStatus,
) -> Result<()> {
    match cd
        .put_lifecycle_event_hook_execution_status()
        .deployment_id(&event.deployment_id)
        .lifecycle_event_hook_execution_id(&event.lifecycle_event_hook_execution_id)
        .status(status)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("LifecycleEventAlreadyCompletedException") => {
            tracing::warn!(deployment_id = %event.deployment_id, "the lifecycle event had already completed; status not changed");
            Ok(())
        }
        Err(e) => Err(Error::from_sdk(
            &format!(
                "PutLifecycleEventHookExecutionStatus {}",
                event.deployment_id
            ),
            e,
        )),
    }
}

#[cfg(test)]
mod tests;
