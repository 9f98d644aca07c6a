//! wake-rollout: on ECS's own deployment events (EventBridge "ECS Deployment State Change"), the
//! watch state waiting for that service's rollout is checked at once, so berth's verdict follows
//! ECS's within the event's delivery instead of at the next poll.

mod handler;

/// Serves this state's invocations until the Runtime API goes away (`berth-lambda` calls it).
pub async fn serve(config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
    let ecs = berth::aws::ecs_client(config).await;
    let codedeploy = aws_sdk_codedeploy::Client::new(config);
    let ssm = aws_sdk_ssm::Client::new(config);
    let sfn = aws_sdk_sfn::Client::new(config);
    let prefix = std::env::var("BERTH_VERDICTS_PREFIX")
        .unwrap_or_else(|_| berth::codedeploy::DEFAULT_VERDICTS_PREFIX.into());
    let machine = std::env::var(handler::MACHINE_VARIABLE).unwrap_or_default();
    let aws = check_stability::Aws {
        ecs: &ecs,
        codedeploy: &codedeploy,
        ssm: &ssm,
        verdicts_prefix: &prefix,
    };
    let running = handler::Running::default();
    berth::lambda::serve("wake-rollout", |payload, _| {
        handler::run(&aws, &sfn, &machine, &running, payload, berth::time::now())
    })
    .await
}
