//! The AWS client set: built once per Lambda container, shared by every invocation.
//!
//! Endpoints come from the environment only (`AWS_ENDPOINT_URL`, which aws-config honours), so the
//! product has no code path that knows about local stand-ins.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;

/// Load the shared SDK config: standard retry with short jittered back-off, and time limits per
/// attempt and per call. berth's `Throttled`/`AwsUnavailable`, retried by the ASL, cover what is left.
pub async fn load() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .load()
        .await
}

/// Attempts per AWS call, retries included.
pub const MAX_ATTEMPTS: u32 = 6;

/// Standard mode, not adaptive: adaptive's client-side rate limiter charges a throttled client
/// about 10 s per retry (5 tokens at a floor of 0.5 tokens/s), so under heavy throttling one call
/// outlived its Lambda (measured: 169 s for one plan-deployment call at 60 % throttling). Standard
/// mode backs off exponentially with full jitter from 100 ms, capped at 2 s: six attempts fit in
/// [`OPERATION_TIMEOUT`] and leave 0.6^6 ≈ 5 % of calls failing at 60 % throttling, which the
/// ASL's retry of the whole state absorbs.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(2))
}

/// One attempt of an AWS call may take this long (connect, send, read the answer).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// One AWS call, retries and back-off included, may take this long. Without it a
/// throttled call ran for minutes, past the Lambda's timeout; with it the call ends as `Throttled`
/// or `AwsUnavailable`, which the ASL retries. Several calls fit in a handler's budget
/// (`lambda::budget`), which is the last word.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);

pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The ECS client every ECS-facing Lambda builds at init: shared config, warmed up.
pub async fn ecs_client(config: &aws_config::SdkConfig) -> aws_sdk_ecs::Client {
    let ecs = aws_sdk_ecs::Client::new(config);
    warm_up_ecs(&ecs).await;
    ecs
}

/// A cheap call during init, so the first invocation does not pay the TLS handshake (~0.75 s
/// measured at 128 MB). Failures are ignored: the real call will report them properly.
pub async fn warm_up_ecs(ecs: &aws_sdk_ecs::Client) {
    if let Err(e) = ecs.list_clusters().max_results(1).send().await {
        tracing::debug!(error = %aws_smithy_types::error::display::DisplayErrorContext(&e), "ECS warm-up call failed");
    }
}

/// Start the Lambda runtime's JSON-aware tracing subscriber (honours AWS_LAMBDA_LOG_FORMAT/LEVEL).
pub fn init_logging() {
    lambda_runtime::tracing::init_default_subscriber();
}
