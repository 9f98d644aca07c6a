//! run-migration: the migration task before the rollout. Without `migrationTask` in its input it
//! starts the task (or finds the one this deployment already started); with it, it looks at the
//! task and judges it: still running, passed, or `MigrationFailed` (stopped first if it ran past
//! its timeout).

mod handler;

/// Serves this state's invocations until the Runtime API goes away (`berth-lambda` calls it).
pub async fn serve(config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
    let ecs = berth::aws::ecs_client(config).await;
    berth::lambda::serve("run-migration", |payload, _| {
        handler::run(&ecs, payload, berth::time::now())
    })
    .await
}
