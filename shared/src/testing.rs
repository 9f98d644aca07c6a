//! Test helpers: real AWS JSON payloads served to real SDK clients through aws-smithy-mocks.
//!
//! Responses go through the SDK's own deserializers, so a fixture with a wrong field name fails the
//! test instead of silently building a struct the real API would never return.

use aws_smithy_mocks::{create_mock_http_client, MockResponseInterceptor, Rule, RuleMode};
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

/// An interceptor serving `rules` in any order (the first non-exhausted match answers).
fn interceptor(rules: &[&Rule]) -> MockResponseInterceptor {
    rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |i, r| i.with_rule(r),
    )
}

/// A real ECS client whose calls are answered by `rules`, with fast retries.
pub fn mock_ecs(rules: &[&Rule]) -> aws_sdk_ecs::Client {
    aws_sdk_ecs::Client::from_conf(
        aws_sdk_ecs::Config::builder()
            .with_test_defaults_v2()
            .http_client(create_mock_http_client())
            .interceptor(interceptor(rules))
            .retry_config(fast_retries())
            .build(),
    )
}

/// A real CloudWatch client whose calls are answered by `rules`, with fast retries.
pub fn mock_cloudwatch(rules: &[&Rule]) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::Config::builder()
            .with_test_defaults_v2()
            .http_client(create_mock_http_client())
            .interceptor(interceptor(rules))
            .retry_config(fast_retries())
            .build(),
    )
}

/// A real Step Functions client whose calls are answered by `rules`, with fast retries.
pub fn mock_sfn(rules: &[&Rule]) -> aws_sdk_sfn::Client {
    aws_sdk_sfn::Client::from_conf(
        aws_sdk_sfn::Config::builder()
            .with_test_defaults_v2()
            .http_client(create_mock_http_client())
            .interceptor(interceptor(rules))
            .retry_config(fast_retries())
            .build(),
    )
}

/// A real CodeDeploy client whose calls are answered by `rules`, with fast retries.
pub fn mock_codedeploy(rules: &[&Rule]) -> aws_sdk_codedeploy::Client {
    aws_sdk_codedeploy::Client::from_conf(
        aws_sdk_codedeploy::Config::builder()
            .with_test_defaults_v2()
            .http_client(create_mock_http_client())
            .interceptor(interceptor(rules))
            .retry_config(fast_retries())
            .build(),
    )
}

/// A real SSM client whose calls are answered by `rules`, with fast retries.
pub fn mock_ssm(rules: &[&Rule]) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::from_conf(
        aws_sdk_ssm::Config::builder()
            .with_test_defaults_v2()
            .http_client(create_mock_http_client())
            .interceptor(interceptor(rules))
            .retry_config(fast_retries())
            .build(),
    )
}
