//! evaluate-canary: one evaluation of the new revision's CloudWatch metrics and alarms.

mod handler;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth::aws::init_logging();
    let config = berth::aws::load().await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
    berth::lambda::serve("evaluate-canary", |payload, _| {
        handler::run(&cloudwatch, payload, berth::time::now())
    })
    .await
}
