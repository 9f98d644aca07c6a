//! start-deployment: the EventBridge target. Starts the state machine with an execution named
//! after the pushed repository and digest, so a re-delivered event cannot deploy twice.

mod handler;

/// Serves this state's invocations until the Runtime API goes away (`berth-lambda` calls it).
pub async fn serve(config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
    let state_machine = berth::config::required("BERTH_STATE_MACHINE_ARN")?;
    let sfn = aws_sdk_sfn::Client::new(config);
    berth::lambda::serve("start-deployment", |payload, _| {
        handler::run(&sfn, &state_machine, payload)
    })
    .await
}
