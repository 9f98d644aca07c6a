//! stop-service: stop-then-start's stop. Without `stopping` in its input it records the desired
//! count (nothing changed yet); then it scales the service to 0 and, on each look, counts the
//! tasks that may still be running, until none does or the stop's timeout passes (`StopTimeout`).

mod handler;

/// Serves this state's invocations until the Runtime API goes away (`berth-lambda` calls it).
pub async fn serve(config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
    let ecs = berth::aws::ecs_client(config).await;
    berth::lambda::serve("stop-service", |payload, _| {
        handler::run(&ecs, payload, berth::time::now())
    })
    .await
}
