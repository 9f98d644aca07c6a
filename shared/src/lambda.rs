//! The Lambda entry every berth function runs: the payload is read as raw JSON and parsed by berth,
//! so malformed input is always berth's `InvalidInput` (never the runtime's Rust type name), and
//! each invocation runs within a budget that ends before the Lambda's own timeout.

use std::future::Future;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use lambda_runtime::tower::{layer::layer_fn, Service};
use lambda_runtime::{service_fn, Context, LambdaEvent, LambdaInvocation, Runtime};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::error::{Error, ErrorName, Result};

/// How long before the Lambda's timeout a handler gives up, so its answer (a berth error the ASL
/// retries) still goes out instead of Lambda killing it (`Sandbox.Timedout`).
pub const MARGIN: Duration = Duration::from_secs(3);

/// The time assumed left when the invocation's deadline is not believable (cargo lambda's emulator
/// sends a constant 600000 ms, i.e. 1970): half of the template's shortest function timeout (60 s).
pub const UNKNOWN_DEADLINE: Duration = Duration::from_secs(30);

/// The largest state input berth reads. Step Functions caps a state's input and output at 256 KiB;
/// a larger one would end the execution with `States.DataLimitExceeded` instead of berth's error.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// The largest string berth reads in a state input. Names, images and messages are far shorter;
/// a longer one echoed back in a result or an error would push the state past Step Functions'
/// 256 KiB (`States.DataLimitExceeded`).
pub const MAX_STRING_BYTES: usize = 16 * 1024;

/// The key [`Readable`] puts a body that is not JSON under, so the handler answers `InvalidInput`.
const UNREADABLE: &str = "$berth:unreadable";

/// Run `handler` as the Lambda's function: parse the payload (any failure is `InvalidInput`), and
/// answer `AwsUnavailable` (retried by the ASL) when the budget runs out.
pub async fn serve<F, Fut, R>(state: &'static str, handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(serde_json::Value, Context) -> Fut,
    Fut: Future<Output = Result<R>>,
    R: Serialize,
{
    let runtime = Runtime::new(service_fn(|event: LambdaEvent<Box<RawValue>>| {
        let LambdaEvent { payload, context } = event;
        let budget = budget(context.deadline, crate::time::now_ms(), MARGIN);
        let work = parse_payload(state, payload.get()).map(|value| handler(value, context));
        async move { within(state, budget, work?).await }
    }))
    .layer(layer_fn(Readable))
    .layer(lambda_runtime::layers::TracingLayer::new());
    runtime.run().await
}

/// Sees each invocation's bytes before the runtime parses them: a body that is not one JSON
/// document (the runtime would answer with its own Rust type name) is replaced by a document that
/// says why, which [`parse_payload`] turns into `InvalidInput`.
#[derive(Clone)]
pub struct Readable<S>(pub S);

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for Readable<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> Self::Future {
        if let Some(why) = unreadable(&invocation.body) {
            invocation.body = serde_json::to_vec(&serde_json::json!({ UNREADABLE: why }))
                .unwrap_or_default()
                .into();
        }
        self.0.call(invocation)
    }
}

/// Why `body` is not one JSON document, if it is not (nesting and number range are checked later).
fn unreadable(body: &[u8]) -> Option<String> {
    match serde_json::from_slice::<&RawValue>(body) {
        Ok(_) => None,
        Err(e) => Some(format!("the payload is not JSON: {e}")),
    }
}

/// Parse a state's input. Deep nesting, numbers out of range (`1e999`), invalid JSON, an oversized
/// payload or string are all `InvalidInput`.
pub fn parse_payload(state: &str, raw: &str) -> Result<serde_json::Value> {
    if raw.len() > MAX_PAYLOAD_BYTES {
        return Err(Error::invalid_input(format!(
            "{state}: input is {} bytes, at most {MAX_PAYLOAD_BYTES}",
            raw.len()
        )));
    }
    let value: serde_json::Value = serde_json::from_str(raw).map_err(|e| {
        Error::invalid_input(format!("{state}: input is not JSON berth can read: {e}"))
    })?;
    if let Some(why) = value.get(UNREADABLE).and_then(|v| v.as_str()) {
        return Err(Error::invalid_input(format!("{state}: {why}")));
    }
    if let Some((path, len)) = oversized_string(&value, "$") {
        return Err(Error::invalid_input(format!(
            "{state}: {path} is a string of {len} bytes, at most {MAX_STRING_BYTES}"
        )));
    }
    Ok(value)
}

/// The first string (value or key) longer than [`MAX_STRING_BYTES`], with its path.
fn oversized_string(v: &serde_json::Value, path: &str) -> Option<(String, usize)> {
    match v {
        serde_json::Value::String(s) if s.len() > MAX_STRING_BYTES => {
            Some((path.to_owned(), s.len()))
        }
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| oversized_string(item, &format!("{path}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, item)| {
            if k.len() > MAX_STRING_BYTES {
                Some((format!("{path} key"), k.len()))
            } else {
                oversized_string(item, &format!("{path}.{k}"))
            }
        }),
        _ => None,
    }
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
            ErrorName::AwsUnavailable,
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
            assert_eq!(e.name(), ErrorName::InvalidInput, "{raw:.40}");
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
    fn bytes_that_are_not_json_become_a_document_saying_why() {
        for body in [
            &b""[..],
            b"{\"a\":",
            b"{'a': 1}",
            b"NaN",
            b"\xff\xfe{}",
            b"{} trailing",
        ] {
            let why = unreadable(body).expect("not JSON");
            let doc = serde_json::to_string(&serde_json::json!({ UNREADABLE: why })).unwrap();
            let e = parse_payload("acquire-turn", &doc).unwrap_err();
            assert_eq!(e.name(), ErrorName::InvalidInput);
            assert!(
                e.message().contains("the payload is not JSON"),
                "{}",
                e.message()
            );
        }
        assert_eq!(unreadable(b" {\"deep\": [[[1e999]]]} "), None);
    }

    #[test]
    fn an_oversized_string_is_named_by_its_path() {
        let big = "a".repeat(MAX_STRING_BYTES + 1);
        let raw = serde_json::json!({"rollout": {"ids": ["x", big]}}).to_string();
        let e = parse_payload("check-stability", &raw).unwrap_err();
        assert_eq!(e.name(), ErrorName::InvalidInput);
        assert!(
            e.message()
                .contains("$.rollout.ids[1] is a string of 16385 bytes"),
            "{}",
            e.message()
        );
        let fits = serde_json::json!({"s": "a".repeat(MAX_STRING_BYTES)}).to_string();
        parse_payload("check-stability", &fits).unwrap();
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
        assert_eq!(e.name(), ErrorName::AwsUnavailable);
        assert!(e.message().contains("2.0 s budget"), "{}", e.message());
    }
}
