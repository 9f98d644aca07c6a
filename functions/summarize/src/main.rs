//! summarize: the execution's verdict and cause from every service's outcome.

#[derive(serde::Deserialize)]
struct Input {
    results: Vec<berth::model::ServiceOutcome>,
}

async fn handle(payload: serde_json::Value) -> berth::Result<berth::model::Summary> {
    let input: Input = berth::model::parse_input("summarize", payload)?;
    let summary = berth::summary::summarize(input.results);
    tracing::info!(status = %summary.status, error = %summary.error, "{}", summary.cause);
    Ok(summary)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    berth::aws::init_logging();
    berth::lambda::serve("summarize", |payload, _| handle(payload)).await
}
