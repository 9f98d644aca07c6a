//! summarize: the execution's verdict and cause from every service's outcome, with what each
//! service berth rolled back runs now (read last).

mod handler;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth::aws::init_logging();
    let config = berth::aws::load().await;
    let ecs = aws_sdk_ecs::Client::new(&config);
    berth::lambda::serve("summarize", |payload, _| handler::run(&ecs, payload)).await
}
