//! The AWS client set: built once per Lambda container, shared by every invocation.
//!
//! Endpoints come from the environment only (`AWS_ENDPOINT_URL`, which aws-config honours), so the
//! product has no code path that knows about local stand-ins.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;

/// Load the shared SDK config. Adaptive retry backs off with jitter and slows the client down when
/// ECS throttles (its buckets are shared account-wide); berth's `Throttled` error, retried by the
/// ASL, covers what is left.
pub async fn load() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .load()
        .await
}

/// Attempts per AWS call, retries included.
pub const MAX_ATTEMPTS: u32 = 5;

pub fn retry_config() -> RetryConfig {
    RetryConfig::adaptive().with_max_attempts(MAX_ATTEMPTS)
}

/// One attempt of an AWS call may take this long (connect, send, read the answer).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// One AWS call, retries and adaptive-retry back-off included, may take this long. Without it a
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
