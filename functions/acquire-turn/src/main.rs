//! acquire-turn: one deployment per service at a time; the newest image wins.

mod handler;

use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth::aws::init_logging();
    let config = berth::aws::load().await;
    let sfn = aws_sdk_sfn::Client::new(&config);
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        handler::run(&sfn, event.payload, berth::time::now())
    }))
    .await
}
