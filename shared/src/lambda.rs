//! The Lambda entry every berth function runs: the payload is read as raw JSON and parsed by berth,
//! so malformed input is always berth's `InvalidInput` (never the runtime's Rust type name), and
//! each invocation runs within a budget that ends before the Lambda's own timeout.

use std::future::Future;
use std::time::Duration;

use lambda_runtime::{service_fn, Context, LambdaEvent};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::error::{names, Error, Result};

/// How long before the Lambda's timeout a handler gives up, so its answer (a berth error the ASL
/// retries) still goes out instead of Lambda killing it (`Sandbox.Timedout`).
pub const MARGIN: Duration = Duration::from_secs(3);

/// The time assumed left when the invocation's deadline is not believable (cargo lambda's emulator
/// sends a constant 600000 ms, i.e. 1970): half of the template's shortest function timeout (60 s).
pub const UNKNOWN_DEADLINE: Duration = Duration::from_secs(30);

/// The largest state input berth reads. Step Functions caps a state's input and output at 256 KiB;
/// a larger one would end the execution with `States.DataLimitExceeded` instead of berth's error.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// Run `handler` as the Lambda's function: parse the payload (any failure is `InvalidInput`), and
/// answer `AwsUnavailable` (retried by the ASL) when the budget runs out.
pub async fn serve<F, Fut, R>(state: &'static str, handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(serde_json::Value, Context) -> Fut,
    Fut: Future<Output = Result<R>>,
    R: Serialize,
{
    lambda_runtime::run(service_fn(|event: LambdaEvent<Box<RawValue>>| {
        let LambdaEvent { payload, context } = event;
        let budget = budget(context.deadline, crate::time::now_ms(), MARGIN);
        let work = parse_payload(state, payload.get()).map(|value| handler(value, context));
        async move { within(state, budget, work?).await }
    }))
    .await
}

/// Parse a state's input. Deep nesting, numbers out of range (`1e999`), invalid JSON or an
/// oversized payload are all `InvalidInput`.
pub fn parse_payload(state: &str, raw: &str) -> Result<serde_json::Value> {
    if raw.len() > MAX_PAYLOAD_BYTES {
        return Err(Error::invalid_input(format!(
            "{state}: input is {} bytes, at most {MAX_PAYLOAD_BYTES}",
            raw.len()
        )));
    }
    serde_json::from_str(raw).map_err(|e| {
        Error::invalid_input(format!("{state}: input is not JSON berth can read: {e}"))
    })
}

/// Await `work` for at most `budget`.
pub async fn within<R>(
    state: &str,
    budget: Duration,
    work: impl Future<Output = Result<R>>,
) -> Result<R> {
    match tokio::time::timeout(budget, work).await {
        Ok(result) => result,
        Err(_) => Err(Error::new(
            names::AWS_UNAVAILABLE,
            format!(
                "{state}: AWS calls still unanswered after the invocation's {:.1} s budget; the state is retried",
                budget.as_secs_f64()
            ),
        )),
    }
}

/// The time an invocation may take: what is left before the Lambda's deadline (epoch ms, as
/// `Context::deadline`) less `margin`; at least one second.
pub fn budget(deadline_ms: u64, now_ms: u64, margin: Duration) -> Duration {
    let left = if deadline_ms > now_ms {
        Duration::from_millis(deadline_ms - now_ms)
    } else {
        UNKNOWN_DEADLINE
    };
    left.saturating_sub(margin).max(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_payloads_are_invalid_input() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let big = format!("{{\"image\": \"{}\"}}", "a".repeat(MAX_PAYLOAD_BYTES));
        for raw in [
            deep.as_str(),
            "{\"n\": 1e999}",
            "{\"a\":",
            "nul",
            big.as_str(),
        ] {
            let e = parse_payload("plan-deployment", raw).unwrap_err();
            assert_eq!(e.name(), names::INVALID_INPUT, "{raw:.40}");
            assert!(
                e.message().starts_with("plan-deployment: input"),
                "{}",
                e.message()
            );
        }
        assert_eq!(
            parse_payload("x", "{\"a\": [1, 2]}").unwrap(),
            serde_json::json!({"a": [1, 2]})
        );
    }

    #[test]
    fn the_runtime_hands_any_json_text_through_as_raw() {
        // lambda_runtime deserialises the payload with serde_path_to_error over serde_json; a raw
        // value skips nesting and number checks there, so berth's parser sees them.
        for raw in [
            format!("{}{}", "[".repeat(500), "]".repeat(500)),
            "{\"n\": 1e999}".to_string(),
            "\"just a string\"".to_string(),
        ] {
            let jd = &mut serde_json::Deserializer::from_str(&raw);
            let parsed: Box<RawValue> = serde_path_to_error::deserialize(jd).unwrap();
            assert_eq!(parsed.get(), raw);
        }
    }

    #[test]
    fn the_budget_ends_before_the_deadline() {
        assert_eq!(budget(100_000, 40_000, MARGIN), Duration::from_secs(57));
        // a deadline already past is not believed
        assert_eq!(
            budget(600_000, 1_800_000_000_000, MARGIN),
            Duration::from_secs(27)
        );
        assert_eq!(budget(10_500, 10_000, MARGIN), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn work_past_the_budget_is_a_retried_error() {
        let e = within("check-stability", Duration::from_secs(2), async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        })
        .await
        .unwrap_err();
        assert_eq!(e.name(), names::AWS_UNAVAILABLE);
        assert!(e.message().contains("2.0 s budget"), "{}", e.message());
    }
}
