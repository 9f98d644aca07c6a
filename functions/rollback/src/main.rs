//! rollback: put the service back on the exact revision (and image digests) that ran before.

mod handler;

use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth::aws::init_logging();
    let ecs = berth::aws::ecs_client().await;
    let codedeploy = aws_sdk_codedeploy::Client::new(&berth::aws::load().await);
    let aws = handler::Aws {
        ecs: &ecs,
        codedeploy: &codedeploy,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        handler::run(&aws, event.payload, berth::time::now())
    }))
    .await
}
