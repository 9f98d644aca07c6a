//! check-gates: the release gates before a deployment touches its service: `CheckFreeze` (freeze
//! windows) and `CheckScan` (ECR's scan findings of the image).

mod handler;

/// Serves this state's invocations until the Runtime API goes away (`berth-lambda` calls it).
pub async fn serve(config: &aws_config::SdkConfig) -> Result<(), lambda_runtime::Error> {
    // Only DescribeImageScanFindings, and only for the scan gate: no warm-up call.
    let ecr = aws_sdk_ecr::Client::new(config);
    berth::lambda::serve("check-gates", |payload, _| {
        handler::run(&ecr, payload, berth::time::now())
    })
    .await
}
