//! run-migration: the migration task before the rollout. Without `migrationTask` in its input
//! (PrepareMigration) it says what RunMigration, Step Functions' `ecs:runTask.sync`, runs; with it
//! (JudgeMigration) it judges how the task ended: passed, or `MigrationFailed` (stopped first if it
//! ran past its timeout).

mod handler;

/// Serves this state's invocations until the Runtime API goes away (`berth-lambda` calls it).
pub async fn serve(config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
    let ecs = berth::aws::ecs_client(config).await;
    berth::lambda::serve("run-migration", |payload, _| handler::run(&ecs, payload)).await
}
