//! Configuration from the environment, read once at init (a bad value fails the cold start, not
//! a deployment).

use crate::error::{Error, Result};
use std::ops::RangeInclusive;

use crate::model::{
    limits, DEFAULT_FALLBACK_POLL_SECONDS, DEFAULT_POLL_INTERVAL_SECONDS,
    DEFAULT_ROLLBACK_TIMEOUT_SECONDS, DEFAULT_TIMEOUT_SECONDS,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `BERTH_CLUSTERS`: clusters searched for services mapped to a pushed repository (comma
    /// separated; empty = every cluster in the account and region).
    pub clusters: Vec<String>,
    /// `BERTH_TIMEOUT_SECONDS`: rollout deadline when a request names none.
    pub timeout_seconds: u64,
    /// `BERTH_POLL_INTERVAL_SECONDS`: seconds between stability polls.
    pub poll_interval_seconds: u64,
    /// `BERTH_ROLLBACK_TIMEOUT_SECONDS`.
    pub rollback_timeout_seconds: u64,
    /// `BERTH_CANARY_INTERVAL_SECONDS`: seconds between canary evaluations for services whose
    /// canary comes from tags.
    pub canary_interval_seconds: u64,
    /// `BERTH_FALLBACK_POLL_SECONDS`: the slow poll behind ECS's deployment events.
    pub fallback_poll_seconds: u64,
    /// The installation's freeze as the stack gives it (`BERTH_FREEZE_WINDOWS`,
    /// `BERTH_FREEZE_TIME_ZONE`, `BERTH_FREEZE_ACTION`), unparsed: Plan checks it on every request
    /// ([`crate::gates::installation_freeze`]), so a typo refuses each deployment as `InvalidInput`
    /// instead of failing the function's start or turning the freeze off.
    pub freeze_windows: String,
    pub freeze_time_zone: String,
    pub freeze_action: String,
}

impl Settings {
    /// The installation's freeze, checked (`None` when the stack sets no windows).
    pub fn installation_freeze(&self) -> Result<Option<crate::gates::FreezeConfig>> {
        crate::gates::installation_freeze(
            &self.freeze_windows,
            &self.freeze_time_zone,
            &self.freeze_action,
        )
    }

    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        // The same documented ranges as a request's fields (model::limits), so a default can
        // never do what a request is refused for.
        let number = |key: &str, default: u64, range: &RangeInclusive<u64>| -> Result<u64> {
            match get(key).filter(|v| !v.trim().is_empty()) {
                None => Ok(default),
                Some(v) => {
                    let n = v.trim().parse::<u64>().map_err(|_| {
                        Error::invalid_input(format!("{key}={v:?} is not a whole number"))
                    })?;
                    limits::check(key, n, range)?;
                    Ok(n)
                }
            }
        };
        Ok(Self {
            clusters: get("BERTH_CLUSTERS")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
            timeout_seconds: number(
                "BERTH_TIMEOUT_SECONDS",
                DEFAULT_TIMEOUT_SECONDS,
                &limits::TIMEOUT_SECONDS,
            )?,
            poll_interval_seconds: number(
                "BERTH_POLL_INTERVAL_SECONDS",
                DEFAULT_POLL_INTERVAL_SECONDS,
                &limits::POLL_INTERVAL_SECONDS,
            )?,
            rollback_timeout_seconds: number(
                "BERTH_ROLLBACK_TIMEOUT_SECONDS",
                DEFAULT_ROLLBACK_TIMEOUT_SECONDS,
                &limits::TIMEOUT_SECONDS,
            )?,
            canary_interval_seconds: number(
                "BERTH_CANARY_INTERVAL_SECONDS",
                60,
                &limits::INTERVAL_SECONDS,
            )?,
            fallback_poll_seconds: number(
                "BERTH_FALLBACK_POLL_SECONDS",
                DEFAULT_FALLBACK_POLL_SECONDS,
                &limits::FALLBACK_POLL_SECONDS,
            )?,
            freeze_windows: get("BERTH_FREEZE_WINDOWS").unwrap_or_default(),
            freeze_time_zone: get("BERTH_FREEZE_TIME_ZONE").unwrap_or_default(),
            freeze_action: get("BERTH_FREEZE_ACTION").unwrap_or_default(),
        })
    }
}

/// A required setting, for init.
pub fn required(key: &str) -> Result<String> {
    std::env::var(key)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| Error::invalid_input(format!("environment variable {key} must be set")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let s = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(s.clusters, Vec::<String>::new());
        assert_eq!(s.timeout_seconds, DEFAULT_TIMEOUT_SECONDS);
        let s = Settings::from_lookup(|k| match k {
            "BERTH_CLUSTERS" => Some(" prod, ,staging ".into()),
            "BERTH_POLL_INTERVAL_SECONDS" => Some("2".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.clusters, vec!["prod", "staging"]);
        assert_eq!(s.poll_interval_seconds, 2);
    }

    #[test]
    fn bad_numbers_fail_at_init() {
        let e = Settings::from_lookup(|k| (k == "BERTH_TIMEOUT_SECONDS").then(|| "soon".into()))
            .unwrap_err();
        assert!(e.message().contains("BERTH_TIMEOUT_SECONDS"));
        assert!(
            Settings::from_lookup(|k| (k == "BERTH_POLL_INTERVAL_SECONDS").then(|| "0".into()))
                .is_err()
        );
        // out of the range a request would be refused for
        let e = Settings::from_lookup(|k| {
            (k == "BERTH_POLL_INTERVAL_SECONDS").then(|| "1000000000".into())
        })
        .unwrap_err();
        assert!(
            e.message().contains("out of range: 1 to 600"),
            "{}",
            e.message()
        );
    }
}
