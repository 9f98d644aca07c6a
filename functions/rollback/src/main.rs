//! rollback: put the service back on the exact revision (and image digests) that ran before.

mod handler;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth::aws::init_logging();
    let config = berth::aws::load().await;
    let ecs = berth::aws::ecs_client(&config).await;
    let codedeploy = aws_sdk_codedeploy::Client::new(&config);
    let aws = handler::Aws {
        ecs: &ecs,
        codedeploy: &codedeploy,
    };
    berth::lambda::serve("rollback", |payload, _| {
        handler::run(&aws, payload, berth::time::now())
    })
    .await
}
