//! summarize: the execution's verdict and cause from every service's outcome, with what each
//! service berth rolled back runs now (read last).

mod handler;

/// Serves this state's invocations until the Runtime API goes away (`berth-lambda` calls it).
pub async fn serve(config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
    let ecs = aws_sdk_ecs::Client::new(config);
    let publisher = berth::events::Publisher::from_env(config);
    berth::lambda::serve("summarize", |payload, _| {
        handler::serve(&ecs, &publisher, payload)
    })
    .await
}
