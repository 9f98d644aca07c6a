//! evaluate-canary: one evaluation of the new revision's CloudWatch metrics and alarms.

mod handler;

use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth::aws::init_logging();
    let config = berth::aws::load().await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        handler::run(&cloudwatch, event.payload, berth::time::now())
    }))
    .await
}
