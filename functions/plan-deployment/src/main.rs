//! plan-deployment: validate the request (console input or ECR push) and list the services to deploy.

mod handler;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth::aws::init_logging();
    let settings = berth::config::Settings::from_env()?;
    let config = berth::aws::load().await;
    let ecs = berth::aws::ecs_client(&config).await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
    let aws = handler::Aws {
        ecs: &ecs,
        cloudwatch: &cloudwatch,
    };
    berth::lambda::serve("plan-deployment", |payload, _| {
        handler::run(&aws, &settings, payload, berth::time::now())
    })
    .await
}
