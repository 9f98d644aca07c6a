//! plan-deployment: validate the request (console input or ECR push) and list the services to deploy.

mod handler;

use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth::aws::init_logging();
    let settings = berth::config::Settings::from_env()?;
    let ecs = berth::aws::ecs_client().await;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        handler::run(&ecs, &settings, event.payload, berth::time::now())
    }))
    .await
}
