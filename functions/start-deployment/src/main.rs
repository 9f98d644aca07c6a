//! start-deployment: the EventBridge target. Starts the state machine with an execution named
//! after the pushed repository and digest, so a re-delivered event cannot deploy twice.

mod handler;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth::aws::init_logging();
    let state_machine = berth::config::required("BERTH_STATE_MACHINE_ARN")?;
    let config = berth::aws::load().await;
    let sfn = aws_sdk_sfn::Client::new(&config);
    berth::lambda::serve("start-deployment", |payload, _| {
        handler::run(&sfn, &state_machine, payload)
    })
    .await
}
