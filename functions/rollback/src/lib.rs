//! rollback: put the service back on the exact revision (and image digests) that ran before.

mod handler;

/// Serves this state's invocations until the Runtime API goes away (`berth-lambda` calls it).
pub async fn serve(config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
    let ecs = berth::aws::ecs_client(config).await;
    let codedeploy = aws_sdk_codedeploy::Client::new(config);
    let aws = handler::Aws {
        ecs: &ecs,
        codedeploy: &codedeploy,
    };
    let publisher = berth::events::Publisher::from_env(config);
    berth::lambda::serve("rollback", |payload, _| {
        handler::run_and_announce(&aws, &publisher, payload, berth::time::now())
    })
    .await
}
