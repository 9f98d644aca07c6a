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

/// What an error tells the state machine about the call that raised it. The ASL's Retry and Catch
/// lists are derived from these groups (`statemachine/`, `BERTH_BLESS=1 cargo test -p
/// berth-statemachine`), so a new name is routed by the group it declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// AWS throttled the call or could not be reached: the ASL retries it with backoff.
    Transient,
    /// Nothing was changed: the service is left as it was, so the deployment ends NOT_STARTED.
    Refused,
    /// Anything else: the service may have been changed, so the deployment rolls back.
    Failed,
}

impl Group {
    pub const ALL: &'static [Group] = &[Group::Transient, Group::Refused, Group::Failed];

    /// The group's name in `statemachine/deploy.src.json` (`@transient`) and in the README table.
    pub const fn as_str(self) -> &'static str {
        match self {
            Group::Transient => "transient",
            Group::Refused => "refused",
            Group::Failed => "failed",
        }
    }
}

/// Declares [`ErrorName`]: each name once, with its group and its doc line (the README's table).
/// The variant's identifier is the name Step Functions sees (`stringify!`), so it is spelled once.
macro_rules! error_names {
    ($( $(#[doc = $doc:literal])+ $name:ident: $group:ident, )+) => {
        /// Every error name a berth Lambda can return (and `NotApproved`, which the approval gate's
        /// answer gives): the `errorType` Step Functions sees, matched by the ASL's Retry / Catch
        /// `ErrorEquals`. Never rename one (the identifier is the name); add new ones instead.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorName {
            $( $(#[doc = $doc])+ $name, )+
        }

        impl ErrorName {
            /// Every name, in declaration order (the order of the ASL's lists).
            pub const ALL: &'static [ErrorName] = &[$(ErrorName::$name),+];

            /// The stable name, as Step Functions sees it in `errorType`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorName::$name => stringify!($name),)+
                }
            }

            /// What the ASL does with it.
            pub const fn group(self) -> Group {
                match self {
                    $(ErrorName::$name => Group::$group,)+
                }
            }

            /// What the name means, from its doc comment.
            pub fn about(self) -> &'static str {
                match self {
                    $(ErrorName::$name => concat!($($doc),+).trim(),)+
                }
            }
        }
    };
}

error_names! {
    /// The input is missing a field, has a malformed or unknown one, or is not JSON.
    InvalidInput: Refused,
    /// The cluster does not exist.
    ClusterNotFound: Refused,
    /// The service does not exist in the cluster, or is not ACTIVE.
    ServiceNotFound: Refused,
    /// A task definition berth must read does not exist.
    TaskDefinitionNotFound: Refused,
    /// The task definition has no container of the name the request gave.
    ContainerNotFound: Refused,
    /// The task definition has several containers and the request named none.
    AmbiguousContainer: Refused,
    /// The image string is not a valid OCI image reference.
    InvalidImage: Refused,
    /// The service uses a deployment controller berth cannot drive (`EXTERNAL`).
    UnsupportedDeploymentController: Refused,
    /// Rollback was asked for but no previous task definition was recorded.
    RollbackTargetMissing: Failed,
    /// An earlier deployment of the same service ran past this one's deadline.
    TurnTimeout: Refused,
    /// AWS denied berth the call.
    AccessDenied: Refused,
    /// Aborted by hand (`berth abort`) before berth changed the service: nothing was changed.
    Aborted: Refused,
    /// The approval gate was rejected (`berth reject`) or timed out before anyone answered.
    NotApproved: Refused,
    /// The migration task (`migration`) failed: a non-zero exit code, it never started, or it ran
    /// past its timeout. The service was not changed.
    MigrationFailed: Refused,
    /// Stop-then-start: the old tasks were still running when the stop's timeout passed (the
    /// service is rolled back to its previous revision at the recorded count).
    StopTimeout: Failed,
    /// The image-scan gate refused the image: findings at or above its threshold, or no usable scan (the cause gives the counts and the worst findings).
    ImageScanFailed: Refused,
    /// A freeze window holds and the service's (or the installation's) freeze refuses pushes instead of waiting.
    Frozen: Refused,
    /// AWS throttled the call even after the SDK's own retries.
    Throttled: Transient,
    /// AWS could not be reached, answered 5xx after the SDK's retries, or the invocation's budget ran out.
    AwsUnavailable: Transient,
    /// Any other error AWS returned; the message carries AWS's code and text.
    AwsError: Failed,
}

impl ErrorName {
    /// The names of one group, in declaration order.
    pub fn of(group: Group) -> impl Iterator<Item = ErrorName> {
        Self::ALL
            .iter()
            .copied()
            .filter(move |n| n.group() == group)
    }
}

impl fmt::Display for ErrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The names the state machine's Fail states give a failed execution (not raised by a Lambda:
/// summarize chooses one, the ASL's `DeploymentFailed` state reports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionErrorName {
    /// A service failed its rollout or canary and was rolled back.
    DeploymentRolledBack,
    /// The rollback itself failed; a person must look at the service.
    RollbackFailed,
    /// A deployment could not start (bad input, unknown service); nothing changed.
    DeploymentNotStarted,
}

impl ExecutionErrorName {
    pub const ALL: &'static [ExecutionErrorName] = &[
        ExecutionErrorName::DeploymentRolledBack,
        ExecutionErrorName::RollbackFailed,
        ExecutionErrorName::DeploymentNotStarted,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ExecutionErrorName::DeploymentRolledBack => "DeploymentRolledBack",
            ExecutionErrorName::RollbackFailed => "RollbackFailed",
            ExecutionErrorName::DeploymentNotStarted => "DeploymentNotStarted",
        }
    }
}

/// The longest error message berth returns.
pub const MAX_MESSAGE_BYTES: usize = 2048;

/// The error every berth handler returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    name: ErrorName,
    message: String,
}

impl Error {
    /// The message is cut to [`MAX_MESSAGE_BYTES`]: it may quote input, and an error's cause is
    /// added to the state document, which Step Functions caps at 256 KiB.
    pub fn new(name: ErrorName, message: impl Into<String>) -> Self {
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
        Self::new(ErrorName::InvalidInput, message)
    }

    /// The stable name, as Step Functions sees it in `errorType`.
    pub fn name(&self) -> ErrorName {
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
                    429 => ErrorName::Throttled,
                    500..=599 => ErrorName::AwsUnavailable,
                    _ => ErrorName::AwsError,
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
                ErrorName::AwsUnavailable,
                format!(
                    "{action}: AWS unreachable: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&err)
                ),
            ),
            _ => Self::new(
                ErrorName::AwsError,
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
            "ClusterNotFoundException" => ErrorName::ClusterNotFound,
            "ServiceNotFoundException" | "ServiceNotActiveException" => ErrorName::ServiceNotFound,
            "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => {
                ErrorName::AccessDenied
            }
            "ThrottlingException"
            | "Throttling"
            | "TooManyRequestsException"
            | "RequestLimitExceeded" => ErrorName::Throttled,
            "ServerException"
            | "ServiceUnavailable"
            | "InternalFailure"
            | "InternalServiceError" => ErrorName::AwsUnavailable,
            _ => ErrorName::AwsError,
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
            error_type: e.name.as_str().to_string(),
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
            ("ClusterNotFoundException", ErrorName::ClusterNotFound),
            ("ServiceNotFoundException", ErrorName::ServiceNotFound),
            ("ServiceNotActiveException", ErrorName::ServiceNotFound),
            ("ThrottlingException", ErrorName::Throttled),
            ("AccessDeniedException", ErrorName::AccessDenied),
            ("ServerException", ErrorName::AwsUnavailable),
            ("InvalidParameterException", ErrorName::AwsError),
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
    fn names_are_pascal_case_unique_and_never_states() {
        let lambda = ErrorName::ALL.iter().map(|n| n.as_str());
        let execution = ExecutionErrorName::ALL.iter().map(|n| n.as_str());
        let mut seen = std::collections::HashSet::new();
        for n in lambda.chain(execution) {
            assert!(!n.starts_with("States."), "{n}");
            assert!(n.starts_with(|c: char| c.is_ascii_uppercase()), "{n}");
            assert!(n.chars().all(|c| c.is_ascii_alphanumeric()), "{n}");
            assert!(seen.insert(n), "duplicate {n}");
        }
    }

    #[test]
    fn throttling_and_unreachable_aws_are_transient_and_other_aws_errors_failed() {
        for code in [
            "ThrottlingException",
            "RequestLimitExceeded",
            "ServerException",
        ] {
            let name = Error::from_code("X", code, "m").name();
            assert_eq!(name.group(), Group::Transient, "{code}: {name}");
        }
        let other = Error::from_code("X", "InvalidParameterException", "m").name();
        assert_eq!(other.group(), Group::Failed);
    }

    #[test]
    fn every_name_has_a_meaning_and_compares_with_its_spelling() {
        for n in ErrorName::ALL {
            assert!(!n.about().is_empty(), "{n}");
            assert_eq!(*n, n.as_str());
            assert_eq!(n.to_string(), n.as_str());
        }
    }
}
