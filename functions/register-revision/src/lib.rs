//! register-revision: copy the service's task definition with the new image, and record the
//! revision that ran before as the rollback target.

mod handler;

/// Serves this state's invocations until the Runtime API goes away (`berth-lambda` calls it).
pub async fn serve(config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
    let ecs = berth::aws::ecs_client(config).await;
    berth::lambda::serve("register-revision", |payload, _| {
        handler::run(&ecs, payload)
    })
    .await
}
