//! evaluate-canary: one evaluation of the new revision's CloudWatch metrics and alarms.

mod handler;

/// Serves this state's invocations until the Runtime API goes away (`berth-lambda` calls it).
pub async fn serve(config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
    let cloudwatch = aws_sdk_cloudwatch::Client::new(config);
    // Only DescribeServices (the service's berth:control tag), so no warm-up call.
    let ecs = aws_sdk_ecs::Client::new(config);
    berth::lambda::serve("evaluate-canary", |payload, _| {
        handler::run(&cloudwatch, &ecs, payload, berth::time::now())
    })
    .await
}
