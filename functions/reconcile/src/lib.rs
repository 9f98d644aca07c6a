//! reconcile: the scheduled sweep for ECR pushes whose event never came (EventBridge delivers them
//! best effort). Starts, for each service deployed on push that runs an older image than the newest
//! one its push rule matches, the execution that push would have started.

mod handler;

/// Serves this state's invocations until the Runtime API goes away (`berth-lambda` calls it).
pub async fn serve(config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
    // A bad tag pattern or ARN fails the cold start, loudly, before any sweep.
    let settings = handler::Config::from_lookup(|k| std::env::var(k).ok())?;
    let ecs = berth::aws::ecs_client(config).await;
    let ecr = aws_sdk_ecr::Client::new(config);
    let sfn = aws_sdk_sfn::Client::new(config);
    let aws = handler::Aws {
        ecs: &ecs,
        ecr: &ecr,
        sfn: &sfn,
    };
    berth::lambda::serve("reconcile", |payload, _| {
        handler::run(&aws, &settings, payload, berth::time::now())
    })
    .await
}
