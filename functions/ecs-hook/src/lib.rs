//! ecs-hook: the Lambda hook of ECS's built-in BLUE_GREEN / LINEAR / CANARY strategies. Runs the
//! checks named in the hook's `hookDetails` and answers SUCCEEDED, FAILED or IN_PROGRESS.

mod handler;

/// Serves this state's invocations until the Runtime API goes away (`berth-lambda` calls it).
pub async fn serve(config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
    let checker = berth::hooks::LiveChecker::new(aws_sdk_cloudwatch::Client::new(config));
    let margin = handler::margin_from_env()?;
    berth::lambda::serve("ecs-hook", |payload, context| {
        handler::run(
            &checker,
            payload,
            context.deadline,
            berth::time::now_ms(),
            margin,
        )
    })
    .await
}
