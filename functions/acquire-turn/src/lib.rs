//! acquire-turn: one deployment per service at a time; the newest image wins.

mod handler;

/// Serves this state's invocations until the Runtime API goes away (`berth-lambda` calls it).
pub async fn serve(config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
    let sfn = aws_sdk_sfn::Client::new(config);
    let publisher = berth::events::Publisher::from_env(config);
    // Only DescribeServices (the service's berth:control tag), so no warm-up call.
    let ecs = aws_sdk_ecs::Client::new(config);
    berth::lambda::serve("acquire-turn", |payload, _| {
        handler::run_controlled(&sfn, &ecs, &publisher, payload, berth::time::now())
    })
    .await
}
