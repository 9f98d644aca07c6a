//! Test helpers: real AWS JSON payloads served to real SDK clients through aws-smithy-mocks.
//!
//! Responses go through the SDK's own deserializers, so a fixture with a wrong field name fails the
//! test instead of silently building a struct the real API would never return.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

/// A 200 response with an awsJson body (ECS, CodeDeploy, Step Functions).
pub fn ok_json(body: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(200).expect("status"),
        SdkBody::from(body.to_owned()),
    )
}

/// An awsJson error response as AWS sends it: `__type` names the error.
pub fn aws_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let body = serde_json::json!({ "__type": code, "message": message }).to_string();
    HttpResponse::new(
        StatusCode::try_from(status).expect("status"),
        SdkBody::from(body),
    )
}

/// ECS's throttling answer.
pub fn throttled() -> HttpResponse {
    aws_error(400, "ThrottlingException", "Rate exceeded")
}

/// Production's attempt count with a 1 ms backoff, so retry tests run in milliseconds.
pub fn fast_retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(crate::aws::MAX_ATTEMPTS)
        .with_initial_backoff(std::time::Duration::from_millis(1))
        .with_max_backoff(std::time::Duration::from_millis(2))
}

/// aws-smithy-mocks itself, so [`mock_client!`] reaches it from the functions' tests.
#[doc(hidden)]
pub use aws_smithy_mocks as mocks;

/// A real client of SDK crate `$sdk` (`aws_sdk_ecs`, …) whose calls are answered by `$rules` in any
/// order (the first non-exhausted match answers), with production's retries on a fast backoff:
/// aws-smithy-mocks' `mock_client!` with `RuleMode::MatchAny` and [`fast_retries`]. The calling
/// crate needs `$sdk` with its `test-util` feature.
#[macro_export]
#[doc(hidden)]
macro_rules! __mock_client {
    ($sdk:ident, $rules:expr) => {
        $crate::testing::mocks::mock_client!(
            $sdk,
            $crate::testing::mocks::RuleMode::MatchAny,
            $rules,
            |config| config.retry_config($crate::testing::fast_retries())
        )
    };
}
pub use crate::__mock_client as mock_client;
