//! berth's state machine, derived: `deploy.asl.json` is rendered from `deploy.src.json` and the
//! groups of `berth::error::ErrorName`, so the retry policy and the catch lists are written once.
//!
//! In the source, the top-level `Retriers` and `Catchers` define each policy once; a state's
//! `"Retry": "lambda"` or `"Catch": "after-change"` names one of them (a literal array stays as
//! written), and `"@transient"`, `"@refused"`, `"@failed"` in an `ErrorEquals` stand for berth's
//! error names of that group. The renderer refuses what would be wrong in the output: an error name
//! no Lambda raises (a typo), an unknown policy or group, a policy nothing uses, a Lambda task that
//! does not retry every transient name or lets an error name fail the execution, `States.ALL`
//! anywhere but alone in the last catcher.
//!
//! The tests render `deploy.asl.json`, `error-names.json` (berth's names by group, for the Python
//! and node tests) and README's error-name table, and fail while a checked-in copy differs;
//! `BERTH_BLESS=1 cargo test -p berth-statemachine` rewrites them.
//!
//! All of it is test code, so no Lambda links it (see Cargo.toml).

#[cfg(test)]
mod current;
#[cfg(test)]
mod render;
