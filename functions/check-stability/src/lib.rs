//! check-stability: one poll of a rollout: IN_PROGRESS, COMPLETED or FAILED, with the evidence.

mod handler;

pub use handler::{watch, Aws};

/// Serves this state's invocations until the Runtime API goes away (`berth-lambda` calls it).
pub async fn serve(config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
    let ecs = berth::aws::ecs_client(config).await;
    let codedeploy = aws_sdk_codedeploy::Client::new(config);
    let ssm = aws_sdk_ssm::Client::new(config);
    let sfn = aws_sdk_sfn::Client::new(config);
    let prefix = std::env::var("BERTH_VERDICTS_PREFIX")
        .unwrap_or_else(|_| berth::codedeploy::DEFAULT_VERDICTS_PREFIX.into());
    let aws = Aws {
        ecs: &ecs,
        codedeploy: &codedeploy,
        ssm: &ssm,
        verdicts_prefix: &prefix,
    };
    berth::lambda::serve("check-stability", |payload, _| {
        handler::watch(&aws, &sfn, payload, berth::time::now())
    })
    .await
}
