//! register-revision: copy the service's task definition with the new image, and record the
//! revision that ran before as the rollback target.

mod handler;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth::aws::init_logging();
    let config = berth::aws::load().await;
    let ecs = berth::aws::ecs_client(&config).await;
    berth::lambda::serve("register-revision", |payload, _| {
        handler::run(&ecs, payload)
    })
    .await
}
