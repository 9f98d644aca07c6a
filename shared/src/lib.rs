//! berth's shared library: the state documents, the error names, and the deployment decisions
//! (stability verdicts, canary maths, task-definition copies) that every Lambda uses.

pub mod aws;
pub mod canary;
pub mod children;
pub mod cloudwatch;
pub mod codedeploy;
pub mod config;
pub mod control;
pub mod ecr;
pub mod ecs;
pub mod error;
pub mod events;
pub mod freeze;
pub mod gates;
pub mod hooks;
pub mod image;
pub mod lambda;
pub mod metricmath;
pub mod migration;
pub mod model;
pub mod reconcile;
pub mod release;
pub mod request;
pub mod scan;
pub mod service_deployment;
pub mod stability;
pub mod start;
pub mod stats;
pub mod stop_start;
pub mod strategy;
pub mod summary;
pub mod tags;
pub mod taskdef;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
pub mod turn;
pub mod watch;

pub use error::{Error, Result};
