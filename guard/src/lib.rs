//! The guard a hook Lambda puts around its checks: a check that panics or runs past its deadline
//! becomes an `Err` the hook still reports, so CodeDeploy and ECS are never left waiting.
//!
//! It relies on panics unwinding. cargo-lambda (what `sam build` runs) builds with
//! `panic = "abort"` unless the workspace's `[profile.release]` names a strategy, so the workspace
//! sets `panic = "unwind"`; `tests/test_release_artifact.py` builds `examples/panicking_check.rs`
//! with cargo-lambda's own release flags and shows the panic is still reported.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;

/// Await `checks` for at most `deadline`; a panic or an overrun becomes an `Err` that says which.
pub async fn guarded<T>(
    what: &str,
    deadline: Duration,
    checks: impl Future<Output = T>,
) -> Result<T, String> {
    match tokio::time::timeout(deadline, AssertUnwindSafe(checks).catch_unwind()).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            Err(format!("{what}: a check panicked ({message})"))
        }
        Err(_) => Err(format!(
            "{what}: checks still running at the {:.1} s deadline",
            deadline.as_secs_f64()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_value_passes_through() {
        assert_eq!(
            guarded("x", Duration::from_secs(1), async { 7 }).await,
            Ok(7)
        );
    }

    #[tokio::test]
    async fn a_panic_becomes_an_error_naming_it() {
        let r: Result<(), _> = guarded("AfterInstall", Duration::from_secs(1), async {
            panic!("probe exploded")
        })
        .await;
        assert_eq!(
            r.unwrap_err(),
            "AfterInstall: a check panicked (probe exploded)"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_overrun_becomes_an_error_naming_the_deadline() {
        let r = guarded("BeforeAllowTraffic", Duration::from_secs(2), async {
            tokio::time::sleep(Duration::from_secs(60)).await
        })
        .await;
        assert_eq!(
            r.unwrap_err(),
            "BeforeAllowTraffic: checks still running at the 2.0 s deadline"
        );
    }
}
