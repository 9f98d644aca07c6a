//! update-service: point the service at the new revision and record the ECS deployment it started.

mod handler;

use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth::aws::init_logging();
    let ecs = berth::aws::ecs_client().await;
    let codedeploy = aws_sdk_codedeploy::Client::new(&berth::aws::load().await);
    let hook = std::env::var("BERTH_CODEDEPLOY_HOOK_FUNCTION").ok();
    let aws = handler::Aws {
        ecs: &ecs,
        codedeploy: &codedeploy,
        hook_function: hook.as_deref(),
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        handler::run(&aws, event.payload, berth::time::now())
    }))
    .await
}
