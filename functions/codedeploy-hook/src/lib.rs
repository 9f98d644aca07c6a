//! codedeploy-hook: CodeDeploy's ECS lifecycle hooks (BeforeInstall … AfterAllowTraffic). Runs the
//! service's configured checks and always reports Succeeded or Failed back to CodeDeploy.

mod handler;

/// Serves this state's invocations until the Runtime API goes away (`berth-lambda` calls it).
pub async fn serve(config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
    let codedeploy = aws_sdk_codedeploy::Client::new(config);
    let ssm = aws_sdk_ssm::Client::new(config);
    let checker = berth::hooks::LiveChecker::new(aws_sdk_cloudwatch::Client::new(config));
    let settings = handler::Settings::from_env()?;
    let hook = handler::Hook {
        codedeploy: &codedeploy,
        ssm: &ssm,
        checker: &checker,
        settings: &settings,
    };
    berth::lambda::serve("codedeploy-hook", |payload, context| {
        handler::run(&hook, payload, context.deadline, berth::time::now_ms())
    })
    .await
}
