//! The exit codes of `berth`: one enum, the one place they are defined and documented.

use std::fmt;

use berth::error::{ErrorName, ExecutionErrorName, Group};
use berth::model::Outcome;

/// How a command ended, as its process exit code. `berth deploy` and `berth watch` end with the
/// deployment's outcome; the other commands with `Deployed` (0), `Usage`, `Refused` or `Failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exit {
    /// 0: deployed (every service runs the new revision), or the command did what it was asked.
    Deployed,
    /// 1: any other failure: the rollback failed (look at the service), the execution was aborted
    /// or timed out in Step Functions, or an AWS call failed.
    Failed,
    /// 2: the command line itself is wrong (clap's own code); nothing was started.
    Usage,
    /// 3: the deployment failed and was rolled back (`DeploymentRolledBack`): the previous
    /// revision runs again.
    RolledBack,
    /// 4: superseded: a later execution deploys a newer image to the service; this one changed
    /// nothing.
    Superseded,
    /// 5: refused, nothing changed: bad input found by the CLI before starting anything, or by
    /// Plan (`InvalidInput`, `ServiceNotFound`, ... or `DeploymentNotStarted`).
    Refused,
    /// 6: the CLI stopped waiting (`--max-wait-seconds`); the execution goes on (`berth watch`).
    TimedOut,
}

impl Exit {
    pub const ALL: &'static [Exit] = &[
        Exit::Deployed,
        Exit::Failed,
        Exit::Usage,
        Exit::RolledBack,
        Exit::Superseded,
        Exit::Refused,
        Exit::TimedOut,
    ];

    pub const fn code(self) -> u8 {
        match self {
            Exit::Deployed => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::RolledBack => 3,
            Exit::Superseded => 4,
            Exit::Refused => 5,
            Exit::TimedOut => 6,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Exit::Deployed => "deployed",
            Exit::Failed => "failed",
            Exit::Usage => "usage",
            Exit::RolledBack => "rolled-back",
            Exit::Superseded => "superseded",
            Exit::Refused => "refused",
            Exit::TimedOut => "timed-out",
        }
    }

    pub const fn about(self) -> &'static str {
        match self {
            Exit::Deployed => "deployed (or the command did what it was asked)",
            Exit::Failed => {
                "other failure: rollback failed, execution aborted or timed out, AWS error"
            }
            Exit::Usage => "bad command line (nothing started)",
            Exit::RolledBack => "the deployment failed and was rolled back",
            Exit::Superseded => "superseded by a later deployment of the service (nothing changed)",
            Exit::Refused => "refused: bad input or unknown service, nothing changed",
            Exit::TimedOut => "stopped waiting; the execution goes on (berth watch)",
        }
    }

    /// The table printed under `berth --help`.
    pub fn help() -> String {
        let mut out = String::from("Exit codes:\n");
        for e in Exit::ALL {
            out.push_str(&format!(
                "  {}  {:<12} {}\n",
                e.code(),
                e.as_str(),
                e.about()
            ));
        }
        out
    }

    /// A finished execution's exit code, from its status, its error name and the outcome of each
    /// of its services (the Map's results, or the summary's).
    pub fn of_execution(status: &str, error: Option<&str>, outcomes: &[Outcome]) -> Exit {
        match status {
            "SUCCEEDED" => {
                if !outcomes.is_empty() && outcomes.iter().all(|o| *o == Outcome::Superseded) {
                    Exit::Superseded
                } else {
                    Exit::Deployed
                }
            }
            "FAILED" => {
                let error = error.unwrap_or_default();
                if error == ExecutionErrorName::DeploymentRolledBack.as_str() {
                    Exit::RolledBack
                } else if error == ExecutionErrorName::DeploymentNotStarted.as_str()
                    || ErrorName::of(Group::Refused).any(|n| n.as_str() == error)
                {
                    Exit::Refused
                } else {
                    Exit::Failed
                }
            }
            "RUNNING" | "PENDING_REDRIVE" => Exit::TimedOut,
            _ => Exit::Failed,
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_zero_is_deployed() {
        let mut seen = std::collections::HashSet::new();
        for e in Exit::ALL {
            assert!(seen.insert(e.code()), "{e}");
        }
        assert_eq!(Exit::Deployed.code(), 0);
        assert_eq!(
            Exit::Usage.code(),
            2,
            "clap's own code for a bad command line"
        );
    }

    #[test]
    fn a_finished_execution_maps_to_its_outcome() {
        use Outcome::*;
        assert_eq!(
            Exit::of_execution("SUCCEEDED", None, &[Deployed]),
            Exit::Deployed
        );
        assert_eq!(Exit::of_execution("SUCCEEDED", None, &[]), Exit::Deployed);
        assert_eq!(
            Exit::of_execution("SUCCEEDED", None, &[Superseded]),
            Exit::Superseded
        );
        assert_eq!(
            Exit::of_execution("SUCCEEDED", None, &[Superseded, Deployed]),
            Exit::Deployed
        );
        let failed = |e: &str| Exit::of_execution("FAILED", Some(e), &[]);
        assert_eq!(failed("DeploymentRolledBack"), Exit::RolledBack);
        assert_eq!(failed("DeploymentNotStarted"), Exit::Refused);
        assert_eq!(failed("InvalidInput"), Exit::Refused);
        assert_eq!(failed("ServiceNotFound"), Exit::Refused);
        assert_eq!(failed("RollbackFailed"), Exit::Failed);
        assert_eq!(failed("States.Runtime"), Exit::Failed);
        assert_eq!(Exit::of_execution("ABORTED", None, &[]), Exit::Failed);
        assert_eq!(Exit::of_execution("TIMED_OUT", None, &[]), Exit::Failed);
    }

    #[test]
    fn the_help_lists_every_code() {
        let help = Exit::help();
        for e in Exit::ALL {
            assert!(help.contains(e.as_str()), "{help}");
        }
    }
}
