//! `berth release FILE`: a release by request (README, "Release groups"), checked as Plan checks it
//! before any AWS call, then started and followed as `berth deploy` follows a deployment.

use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use crate::cli::WaitArgs;
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The release: a JSON file, or `-` for standard input:
    /// {"release": {"name": "shop", "services": [{"cluster", "service", "image", "wave"?, …}, …]}}.
    #[arg(value_name = "FILE.json")]
    pub file: PathBuf,
    /// Print the execution's ARN and return without following it.
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    pub waiting: WaitArgs,
}

/// The execution input and the release's name, or a refusal (exit 5) that starts nothing.
pub fn read(a: &ReleaseArgs) -> Result<(Value, String), CliError> {
    let text = if a.file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| {
            CliError::refused(format!("reading the release from standard input: {e}"))
        })?
    } else {
        std::fs::read_to_string(&a.file).map_err(|e| {
            CliError::refused(format!("reading the release {}: {e}", a.file.display()))
        })?
    };
    parse(&text)
}

/// The checks of `text` as a release, pure: JSON, then `berth::request::check_release`.
pub fn parse(text: &str) -> Result<(Value, String), CliError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        CliError::refused(format!(
            "refused, nothing started: InvalidInput: the release is not JSON: {e}"
        ))
    })?;
    let release = berth::request::check_release(&doc).map_err(|e| {
        CliError::refused(format!(
            "refused, nothing started: {}: {}",
            e.name(),
            e.message()
        ))
    })?;
    Ok((doc, release.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Exit;

    #[test]
    fn a_release_file_is_checked_before_anything_starts() {
        let (doc, name) = parse(
            r#"{"release": {"name": "shop", "services": [
                {"cluster": "prod", "service": "shop-api", "image": "r/shop:v2"},
                {"cluster": "prod", "service": "shop-worker", "image": "r/shop:v2", "wave": 2}]}}"#,
        )
        .unwrap();
        assert_eq!(name, "shop");
        assert_eq!(doc["release"]["services"][1]["wave"], 2);
        for (bad, says) in [
            ("{", "not JSON"),
            (
                r#"{"cluster": "prod", "service": "web", "image": "r/web:1"}"#,
                "not a release",
            ),
            (
                r#"{"release": {"name": "shop", "services": [{"cluster": "prod", "service": "a", "image": "r/a:1", "wave": 11}]}}"#,
                "wave 11",
            ),
            (
                r#"{"release": {"name": "shop", "services": [{"cluster": "prod", "service": "a", "image": "r/a:1", "timeoutSecond": 5}]}}"#,
                "release.services[0]",
            ),
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.exit, Exit::Refused, "{bad}");
            assert!(e.message.contains(says), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn the_example_release_is_accepted() {
        let (_, name) = parse(include_str!("../../examples/request-release.json")).unwrap();
        assert!(!name.is_empty());
    }
}
