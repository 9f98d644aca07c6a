//! `berth abort` while a rollout's watch state waits for ECS's events: the watch's check reads the
//! abort only when it runs, so the CLI answers the waiting state with an IN_PROGRESS result
//! (`berth::watch::woken`) and the state machine checks again at once.

use aws_sdk_sfn::Client;
use berth::watch::{waiting_payload, woken, HISTORY_LOOKBACK};

use crate::error::{sdk, CliError};
use crate::follow;

/// The services (`cluster/service`) whose waiting watch in `execution_arn`'s service executions
/// was woken.
pub async fn wake_waiting(
    sfn: &Client,
    execution_arn: &str,
    why: &str,
) -> Result<Vec<String>, CliError> {
    let mut woke = vec![];
    for child in follow::started_executions(sfn, execution_arn).await? {
        let page = sfn
            .get_execution_history()
            .execution_arn(&child)
            .reverse_order(true)
            .max_results(HISTORY_LOOKBACK)
            .send()
            .await
            .map_err(|e| sdk("GetExecutionHistory", e))?;
        let Some(payload) = waiting_payload(page.events()) else {
            continue;
        };
        let token = payload["taskToken"].as_str().unwrap_or_default();
        let output =
            serde_json::to_string(&woken(&payload, why, berth::time::now())).unwrap_or_default();
        let answered = berth::watch::answer(sfn, token, output)
            .await
            .map_err(|e| CliError::failed(e.to_string()))?;
        // not answered: the watch had moved on (ECS's event, the fallback poll) and checked anyway
        if answered {
            woke.push(format!(
                "{}/{}",
                payload["cluster"].as_str().unwrap_or("?"),
                payload["service"].as_str().unwrap_or("?")
            ));
        }
    }
    Ok(woke)
}
