//! check-stability: one poll of a rollout: IN_PROGRESS, COMPLETED or FAILED, with the evidence.

mod handler;

use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth::aws::init_logging();
    let ecs = berth::aws::ecs_client().await;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        handler::run(&ecs, event.payload, berth::time::now())
    }))
    .await
}
