//! berth-lambda: the one binary behind every berth Lambda function. `template.yaml` sets
//! `BERTH_STATE` on each function to the state it serves; the state's code lives in
//! `functions/<state>/` (its `serve` builds its clients, its `handler` does the work).
//!
//! One binary means one build, one link-time optimisation and one artifact for SAM to zip, where
//! eleven binaries each carried the same AWS SDK.

use std::process::ExitCode;

/// The variable `template.yaml` sets on each function.
const STATE_VARIABLE: &str = "BERTH_STATE";

macro_rules! states {
    ($($name:literal => $krate:ident),+ $(,)?) => {
        /// Every state this binary serves, by its `BERTH_STATE` name.
        const STATES: &[&str] = &[$($name),+];

        async fn serve(state: &str, config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
            match state {
                $($name => $krate::serve(config).await,)+
                _ => unreachable!("checked against STATES first"),
            }
        }
    };
}

states! {
    "plan-deployment" => plan_deployment,
    "acquire-turn" => acquire_turn,
    "register-revision" => register_revision,
    "update-service" => update_service,
    "check-stability" => check_stability,
    "evaluate-canary" => evaluate_canary,
    "rollback" => rollback,
    "summarize" => summarize,
    "start-deployment" => start_deployment,
    "codedeploy-hook" => codedeploy_hook,
    "ecs-hook" => ecs_hook,
    "wake-rollout" => wake_rollout,
    "run-migration" => run_migration,
    "stop-service" => stop_service,
    "release" => release,
    "check-gates" => check_gates,
    "reconcile" => reconcile,
}

/// The state named by `value`, or why there is none (the message names every valid state).
fn chosen_state(value: Option<&str>) -> Result<&'static str, String> {
    let valid = STATES.join(", ");
    match value {
        None => Err(format!(
            "{STATE_VARIABLE} is not set; set it to one of: {valid}"
        )),
        Some(v) => STATES.iter().copied().find(|s| *s == v).ok_or_else(|| {
            format!("{STATE_VARIABLE}={v:?} names no berth state; use one of: {valid}")
        }),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    berth::aws::init_logging();
    let value = std::env::var(STATE_VARIABLE).ok();
    let state = match chosen_state(value.as_deref()) {
        Ok(state) => state,
        Err(why) => {
            // Before the runtime starts: Lambda reports the exit as Runtime.ExitError with this
            // line in the function's log, and no invocation runs.
            eprintln!("berth-lambda: {why}");
            return ExitCode::FAILURE;
        }
    };
    let config = berth::aws::load().await;
    match serve(state, &config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berth-lambda ({state}): {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_is_chosen_by_its_name() {
        for s in STATES {
            assert_eq!(chosen_state(Some(s)), Ok(*s));
        }
    }

    #[test]
    fn a_missing_or_misspelt_state_is_refused_with_the_valid_names() {
        let unset = chosen_state(None).unwrap_err();
        assert!(unset.contains("BERTH_STATE is not set"), "{unset}");
        let typo = chosen_state(Some("plan-deploymnet")).unwrap_err();
        assert!(
            typo.contains("\"plan-deploymnet\" names no berth state"),
            "{typo}"
        );
        assert!(typo.contains("plan-deployment, acquire-turn"), "{typo}");
        // case matters, as it does in the template
        assert!(chosen_state(Some("Plan-Deployment")).is_err());
    }
}
