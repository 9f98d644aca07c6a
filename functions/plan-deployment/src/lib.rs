//! plan-deployment: validate the request (console input or ECR push) and list the services to deploy.

/// `handler::plan` is also `berth plan`'s (the CLI): what an input would deploy, read only.
pub mod handler;

/// Serves this state's invocations until the Runtime API goes away (`berth-lambda` calls it).
pub async fn serve(config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
    let settings = berth::config::Settings::from_env()?;
    let ecs = berth::aws::ecs_client(config).await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(config);
    let ecr = aws_sdk_ecr::Client::new(config);
    let aws = handler::Aws {
        ecs: &ecs,
        cloudwatch: &cloudwatch,
        ecr: &ecr,
    };
    berth::lambda::serve("plan-deployment", |payload, _| {
        handler::run(&aws, &settings, payload, berth::time::now())
    })
    .await
}
