//! berth's one error taxonomy: stable names that reach Step Functions as the Lambda `errorType`.
//!
//! The names are the contract with `statemachine/deploy.asl.json` (Retry / Catch `ErrorEquals`) and
//! with anyone reading a failed execution in the console. Never rename one; add new ones instead.

use std::fmt;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use lambda_runtime::Diagnostic;

/// The HTTP status of a raw response, so errors without an AWS code can still be classified.
pub trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// Every error name a berth Lambda can return, for the ASL and its tests.
pub const ERROR_NAMES: &[&str] = &[
    names::INVALID_INPUT,
    names::CLUSTER_NOT_FOUND,
    names::SERVICE_NOT_FOUND,
    names::TASK_DEFINITION_NOT_FOUND,
    names::CONTAINER_NOT_FOUND,
    names::AMBIGUOUS_CONTAINER,
    names::INVALID_IMAGE,
    names::UNSUPPORTED_DEPLOYMENT_CONTROLLER,
    names::ROLLBACK_TARGET_MISSING,
    names::TURN_TIMEOUT,
    names::ACCESS_DENIED,
    names::THROTTLED,
    names::AWS_UNAVAILABLE,
    names::AWS_ERROR,
];

/// The names the state machine's Fail states give a failed execution (not raised by a Lambda).
pub const EXECUTION_ERROR_NAMES: &[&str] = &[
    names::DEPLOYMENT_ROLLED_BACK,
    names::ROLLBACK_FAILED,
    names::DEPLOYMENT_NOT_STARTED,
];

/// The names, as constants, so that code and tests never spell them twice.
pub mod names {
    /// The state input is missing a field or has a malformed one. Nothing was changed.
    pub const INVALID_INPUT: &str = "InvalidInput";
    pub const CLUSTER_NOT_FOUND: &str = "ClusterNotFound";
    pub const SERVICE_NOT_FOUND: &str = "ServiceNotFound";
    pub const TASK_DEFINITION_NOT_FOUND: &str = "TaskDefinitionNotFound";
    pub const CONTAINER_NOT_FOUND: &str = "ContainerNotFound";
    /// The task definition has several containers and the request named none.
    pub const AMBIGUOUS_CONTAINER: &str = "AmbiguousContainer";
    /// The image string is not a valid OCI image reference.
    pub const INVALID_IMAGE: &str = "InvalidImage";
    /// The service uses the EXTERNAL deployment controller, which berth cannot drive.
    pub const UNSUPPORTED_DEPLOYMENT_CONTROLLER: &str = "UnsupportedDeploymentController";
    /// Rollback was asked for but no previous task definition was recorded.
    pub const ROLLBACK_TARGET_MISSING: &str = "RollbackTargetMissing";
    /// An earlier deployment of the same service ran past this one's deadline; nothing was changed.
    pub const TURN_TIMEOUT: &str = "TurnTimeout";
    pub const ACCESS_DENIED: &str = "AccessDenied";
    /// AWS throttled the call even after the SDK's own retries. Transient: the ASL retries it.
    pub const THROTTLED: &str = "Throttled";
    /// AWS could not be reached or answered 5xx after the SDK's retries. Transient.
    pub const AWS_UNAVAILABLE: &str = "AwsUnavailable";
    /// Execution outcome: a service failed its rollout or canary and was rolled back.
    pub const DEPLOYMENT_ROLLED_BACK: &str = "DeploymentRolledBack";
    /// Execution outcome: the rollback itself failed; a person must look at the service.
    pub const ROLLBACK_FAILED: &str = "RollbackFailed";
    /// Execution outcome: a deployment could not start (bad input, unknown service); nothing changed.
    pub const DEPLOYMENT_NOT_STARTED: &str = "DeploymentNotStarted";
    /// Any other error AWS returned; the message carries AWS's code and text.
    pub const AWS_ERROR: &str = "AwsError";
}

/// The longest error message berth returns.
pub const MAX_MESSAGE_BYTES: usize = 2048;

/// The error every berth handler returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    name: &'static str,
    message: String,
}

impl Error {
    /// The message is cut to [`MAX_MESSAGE_BYTES`]: it may quote input, and an error's cause is
    /// added to the state document, which Step Functions caps at 256 KiB.
    pub fn new(name: &'static str, message: impl Into<String>) -> Self {
        let mut message = message.into();
        if message.len() > MAX_MESSAGE_BYTES {
            let cut = message.len();
            let mut end = MAX_MESSAGE_BYTES;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push_str(&format!("… ({} bytes cut)", cut - end));
        }
        Self { name, message }
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(names::INVALID_INPUT, message)
    }

    /// The stable name, as Step Functions sees it in `errorType`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// Classify an SDK error by its AWS error code. `action` says what berth was doing
    /// (e.g. "DescribeServices web"), so the message reads well in the execution history.
    pub fn from_sdk<E, R>(
        action: &str,
        err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: fmt::Debug + HttpStatus,
    {
        use aws_smithy_runtime_api::client::result::SdkError;
        match &err {
            SdkError::ServiceError(service) if service.err().code().is_none() => {
                let status = service.raw().status_code();
                let name = match status {
                    429 => names::THROTTLED,
                    500..=599 => names::AWS_UNAVAILABLE,
                    _ => names::AWS_ERROR,
                };
                Self::new(
                    name,
                    format!("{action}: HTTP {status} without an error code"),
                )
            }
            SdkError::ServiceError(service) => {
                let e = service.err();
                Self::from_code(
                    action,
                    e.code().unwrap_or("Unknown"),
                    e.message().unwrap_or(""),
                )
            }
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => Self::new(
                names::AWS_UNAVAILABLE,
                format!(
                    "{action}: AWS unreachable: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&err)
                ),
            ),
            _ => Self::new(
                names::AWS_ERROR,
                format!(
                    "{action}: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&err)
                ),
            ),
        }
    }

    /// Map an AWS error code (ECS, CloudWatch, CodeDeploy and Step Functions spellings) to a name.
    pub fn from_code(action: &str, code: &str, message: &str) -> Self {
        let name = match code {
            "ClusterNotFoundException" => names::CLUSTER_NOT_FOUND,
            "ServiceNotFoundException" | "ServiceNotActiveException" => names::SERVICE_NOT_FOUND,
            "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => {
                names::ACCESS_DENIED
            }
            "ThrottlingException"
            | "Throttling"
            | "TooManyRequestsException"
            | "RequestLimitExceeded" => names::THROTTLED,
            "ServerException"
            | "ServiceUnavailable"
            | "InternalFailure"
            | "InternalServiceError" => names::AWS_UNAVAILABLE,
            _ => names::AWS_ERROR,
        };
        let detail = if message.is_empty() {
            String::new()
        } else {
            format!(": {message}")
        };
        Self::new(name, format!("{action}: {code}{detail}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl std::error::Error for Error {}

impl From<Error> for Diagnostic {
    fn from(e: Error) -> Self {
        Diagnostic {
            error_type: e.name.to_string(),
            error_message: e.message,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_codes_map_to_stable_names() {
        let cases = [
            ("ClusterNotFoundException", names::CLUSTER_NOT_FOUND),
            ("ServiceNotFoundException", names::SERVICE_NOT_FOUND),
            ("ServiceNotActiveException", names::SERVICE_NOT_FOUND),
            ("ThrottlingException", names::THROTTLED),
            ("AccessDeniedException", names::ACCESS_DENIED),
            ("ServerException", names::AWS_UNAVAILABLE),
            ("InvalidParameterException", names::AWS_ERROR),
        ];
        for (code, name) in cases {
            assert_eq!(Error::from_code("X", code, "m").name(), name, "{code}");
        }
    }

    #[test]
    fn diagnostic_carries_the_stable_name_and_the_message() {
        let d: Diagnostic = Error::from_code(
            "DescribeServices web",
            "ClusterNotFoundException",
            "Cluster not found.",
        )
        .into();
        assert_eq!(d.error_type, "ClusterNotFound");
        assert_eq!(
            d.error_message,
            "DescribeServices web: ClusterNotFoundException: Cluster not found."
        );
    }

    #[test]
    fn a_long_message_is_cut_on_a_character_boundary() {
        let e = Error::invalid_input(format!("bad {}", "é".repeat(5000)));
        assert!(
            e.message().len() <= MAX_MESSAGE_BYTES + 40,
            "{}",
            e.message().len()
        );
        assert!(
            e.message().ends_with("bytes cut)"),
            "{}",
            &e.message()[e.message().len() - 30..]
        );
    }

    #[test]
    fn no_name_starts_with_states_and_names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for n in ERROR_NAMES {
            assert!(!n.starts_with("States."), "{n}");
            assert!(seen.insert(n), "duplicate {n}");
        }
    }
}
