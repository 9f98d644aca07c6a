//! The CLI's one error: a message for stderr and the exit code it ends with.

use std::fmt;

use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::exit::Exit;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
}

impl CliError {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }

    /// Bad input, found before anything started: nothing changed.
    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(Exit::Refused, message)
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(Exit::Failed, message)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// An AWS call that failed: AWS's error code and message, or the SDK's error chain when AWS did
/// not answer (no credentials, no network).
pub fn sdk<E: std::error::Error + ProvideErrorMetadata>(call: &str, e: E) -> CliError {
    match (e.code(), e.message()) {
        (Some(code), message) => CliError::failed(format!(
            "{call} failed: {code}: {}",
            message.unwrap_or_default()
        )),
        (None, _) => CliError::failed(format!("{call} failed: {}", DisplayErrorContext(&e))),
    }
}
