//! `berth`, the command line: deploy through the state machine and follow it live, watch an
//! execution, show what a service runs and its deployment history.

pub mod approval;
pub mod cli;
pub mod control;
pub mod error;
pub mod exit;
pub mod follow;
pub mod history;
pub mod locate;
pub mod pause;
pub mod plan;
pub mod progress;
pub mod release;
pub mod request;
pub mod revisions;
pub mod rollback;
pub mod status;
pub mod wake;
