//! update-service: point the service at the new revision and record the ECS deployment it started.

mod handler;

/// Serves this state's invocations until the Runtime API goes away (`berth-lambda` calls it).
pub async fn serve(config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
    let ecs = berth::aws::ecs_client(config).await;
    let codedeploy = aws_sdk_codedeploy::Client::new(config);
    let hook = std::env::var("BERTH_CODEDEPLOY_HOOK_FUNCTION").ok();
    let aws = handler::Aws {
        ecs: &ecs,
        codedeploy: &codedeploy,
        hook_function: hook.as_deref(),
    };
    let publisher = berth::events::Publisher::from_env(config);
    berth::lambda::serve("update-service", |payload, _| {
        handler::run_and_announce(&aws, &publisher, payload, berth::time::now())
    })
    .await
}
