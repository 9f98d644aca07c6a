//! acquire-turn: one deployment per service at a time; the newest image wins.

mod handler;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth::aws::init_logging();
    let config = berth::aws::load().await;
    let sfn = aws_sdk_sfn::Client::new(&config);
    berth::lambda::serve("acquire-turn", |payload, _| {
        handler::run(&sfn, payload, berth::time::now())
    })
    .await
}
