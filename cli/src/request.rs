//! `berth deploy`'s console request, built and validated here with the types and checks Plan
//! uses, so a typo or a value out of range fails before anything starts.

use std::path::Path;

use berth::model::ConsoleRequest;
use serde_json::{json, Map, Value};

use crate::error::CliError;

/// What the request deploys: an image (into a copy of the revision the service runs), or an
/// existing revision as it is (a rollback by hand).
#[derive(Debug, Clone, PartialEq)]
pub enum Deploys {
    Image(String),
    Revision(String),
}

impl Default for Deploys {
    fn default() -> Self {
        Deploys::Image(String::new())
    }
}

/// The request's settings as the command line gives them, shared by `deploy`, `rollback` and
/// `plan` (one definition of each flag and of the field it sets).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RequestArgs {
    /// The container to change (optional when the task definition has one).
    #[arg(long)]
    pub container: Option<String>,
    /// Redeploy even if the revision is unchanged (a re-pushed mutable tag).
    #[arg(long)]
    pub force_new_deployment: bool,
    /// Rollout deadline (the request's `timeoutSeconds`).
    #[arg(long, value_parser = crate::cli::in_range::<u64>(&berth::model::limits::TIMEOUT_SECONDS))]
    pub timeout_seconds: Option<u64>,
    /// Seconds between the state machine's stability checks (the request's `pollIntervalSeconds`).
    #[arg(long, value_parser = crate::cli::in_range::<u64>(&berth::model::limits::POLL_INTERVAL_SECONDS))]
    pub poll_interval_seconds: Option<u64>,
    /// How long the rollback may take to stabilise (the request's `rollbackTimeoutSeconds`).
    #[arg(long, value_parser = crate::cli::in_range::<u64>(&berth::model::limits::TIMEOUT_SECONDS))]
    pub rollback_timeout_seconds: Option<u64>,
    /// A JSON file holding the request's `canary` object (README, "Starting a deployment by hand").
    #[arg(long, value_name = "FILE.json")]
    pub canary: Option<std::path::PathBuf>,
}

impl RequestArgs {
    /// Whether any flag is given (a push takes these from the service's tags instead).
    pub fn any(&self) -> bool {
        self.container.is_some()
            || self.force_new_deployment
            || self.timeout_seconds.is_some()
            || self.poll_interval_seconds.is_some()
            || self.rollback_timeout_seconds.is_some()
            || self.canary.is_some()
    }

    /// The options for `cluster`/`service`, with `--canary`'s file read.
    pub fn options(
        &self,
        cluster: &str,
        service: &str,
        deploys: Deploys,
    ) -> Result<DeployOptions, CliError> {
        Ok(DeployOptions {
            cluster: cluster.to_owned(),
            service: service.to_owned(),
            deploys,
            container: self.container.clone(),
            force_new_deployment: self.force_new_deployment,
            timeout_seconds: self.timeout_seconds,
            poll_interval_seconds: self.poll_interval_seconds,
            rollback_timeout_seconds: self.rollback_timeout_seconds,
            canary: self.canary.as_deref().map(read_canary).transpose()?,
            approval: None,
            override_freeze: None,
            scan: None,
        })
    }
}

/// What the command line gives for one deployment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeployOptions {
    pub cluster: String,
    pub service: String,
    pub deploys: Deploys,
    pub container: Option<String>,
    pub force_new_deployment: bool,
    pub timeout_seconds: Option<u64>,
    pub poll_interval_seconds: Option<u64>,
    pub rollback_timeout_seconds: Option<u64>,
    /// The `canary` object, as read from `--canary FILE.json`.
    pub canary: Option<Value>,
    /// An approval gate (`--approval`): its `timeoutSeconds`, or the default when `None`.
    pub approval: Option<Option<u64>>,
    /// `--override-freeze REASON`: the request's `overrideFreeze` (by: the CLI's user).
    pub override_freeze: Option<String>,
    /// `--scan SEVERITY`: the request's `scan` with that threshold.
    pub scan: Option<String>,
}

/// Read `--canary FILE.json`: the request's `canary` object.
pub fn read_canary(path: &Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::refused(format!("cannot read --canary {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| CliError::refused(format!("--canary {} is not JSON: {e}", path.display())))
}

/// The request as JSON (the execution's input), checked as Plan checks it before any AWS call.
pub fn build(o: &DeployOptions) -> Result<Value, CliError> {
    let mut doc = Map::new();
    doc.insert("cluster".into(), json!(o.cluster));
    doc.insert("service".into(), json!(o.service));
    match &o.deploys {
        Deploys::Image(image) => doc.insert("image".into(), json!(image)),
        Deploys::Revision(revision) => doc.insert("taskDefinition".into(), json!(revision)),
    };
    if let Some(c) = &o.container {
        doc.insert("container".into(), json!(c));
    }
    if o.force_new_deployment {
        doc.insert("forceNewDeployment".into(), json!(true));
    }
    for (key, value) in [
        ("timeoutSeconds", o.timeout_seconds),
        ("pollIntervalSeconds", o.poll_interval_seconds),
        ("rollbackTimeoutSeconds", o.rollback_timeout_seconds),
    ] {
        if let Some(v) = value {
            doc.insert(key.into(), json!(v));
        }
    }
    if let Some(c) = &o.canary {
        doc.insert("canary".into(), c.clone());
    }
    if let Some(timeout) = o.approval {
        let gate = match timeout {
            Some(t) => json!({"timeoutSeconds": t}),
            None => json!({}),
        };
        doc.insert("approval".into(), gate);
    }
    if let Some(threshold) = &o.scan {
        doc.insert("scan".into(), json!({"threshold": threshold}));
    }
    if let Some(reason) = &o.override_freeze {
        doc.insert(
            "overrideFreeze".into(),
            json!({"reason": reason, "by": crate::approval::who()}),
        );
    }
    let doc = Value::Object(doc);
    validate(&doc).map_err(|e| CliError::refused(format!("refused, nothing started: {e}")))?;
    Ok(doc)
}

/// The checks Plan makes of a console request before it reads ECS (the same function,
/// `berth::request::check_console_request`), as one message naming the error and the field.
pub fn validate(doc: &Value) -> Result<ConsoleRequest, String> {
    berth::request::check_console_request(doc, "")
        .map(|(request, _)| request)
        .map_err(|e| format!("{}: {}", e.name(), e.message()))
}

/// A unique execution name (Step Functions: at most 80 of `A-Za-z0-9-_`): the service and the
/// start time in milliseconds, so a listing reads in order and two starts never collide.
pub fn execution_name(service: &str, now_ms: u64, pid: u32) -> String {
    let clean: String = service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(30)
        .collect();
    format!("berth-cli-{clean}-{now_ms}-{pid}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> DeployOptions {
        DeployOptions {
            cluster: "prod".into(),
            service: "web".into(),
            deploys: Deploys::Image("123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v2".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_request_becomes_the_console_input() {
        let mut o = options();
        o.container = Some("app".into());
        o.timeout_seconds = Some(600);
        o.force_new_deployment = true;
        o.canary = Some(json!({"bakeSeconds": 60, "alarms": ["web-5xx"]}));
        let doc = build(&o).expect("valid");
        assert_eq!(
            doc,
            json!({"cluster": "prod", "service": "web", "container": "app",
                   "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v2",
                   "forceNewDeployment": true, "timeoutSeconds": 600,
                   "canary": {"bakeSeconds": 60, "alarms": ["web-5xx"]}})
        );
    }

    #[test]
    fn a_misspelt_canary_field_is_refused_with_its_path() {
        let mut o = options();
        o.canary = Some(json!({"metrics": [{"name": "5xx", "threshold": 1,
            "metric": {"namespace": "AWS/ApplicationELB", "metricName": "HTTPCode_Target_5XX_Count"},
            "comparision": "LessThanThreshold"}]}));
        let e = build(&o).unwrap_err();
        assert_eq!(e.exit, crate::exit::Exit::Refused);
        assert!(e.message.contains("canary.metrics[0]"), "{}", e.message);
        assert!(
            e.message.contains("unknown field `comparision`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn an_invalid_image_is_refused() {
        let mut o = options();
        o.deploys = Deploys::Image("web@sha256:NOTHEX".into());
        let e = build(&o).unwrap_err();
        assert_eq!(e.exit, crate::exit::Exit::Refused);
        assert!(e.message.contains("InvalidImage"), "{}", e.message);
    }

    #[test]
    fn values_out_of_range_are_refused_as_plan_refuses_them() {
        let mut o = options();
        o.poll_interval_seconds = Some(0);
        assert!(build(&o)
            .unwrap_err()
            .message
            .contains("pollIntervalSeconds = 0"));
        let mut o = options();
        o.canary = Some(json!({"intervalSeconds": 0}));
        assert!(build(&o).unwrap_err().message.contains("InvalidInput"));
        let mut o = options();
        o.service = " ".into();
        assert!(build(&o)
            .unwrap_err()
            .message
            .contains("\"service\" must not be empty"));
    }

    #[test]
    fn a_freeze_override_and_a_scan_gate_are_in_the_request_and_checked() {
        let mut o = options();
        o.override_freeze = Some("hotfix INC-42".into());
        o.scan = Some("HIGH".into());
        let doc = build(&o).expect("valid");
        assert_eq!(doc["overrideFreeze"]["reason"], "hotfix INC-42");
        assert!(doc["overrideFreeze"]["by"].is_string());
        assert_eq!(doc["scan"], json!({"threshold": "HIGH"}));
        o.override_freeze = Some("  ".into());
        assert!(build(&o)
            .unwrap_err()
            .message
            .contains("overrideFreeze.reason"));
        o.override_freeze = None;
        o.scan = Some("SEVERE".into());
        assert!(build(&o).unwrap_err().message.contains("scan.threshold"));
    }

    #[test]
    fn an_approval_gate_is_asked_for_with_or_without_its_timeout() {
        let mut o = options();
        o.approval = Some(None);
        assert_eq!(build(&o).expect("valid")["approval"], json!({}));
        o.approval = Some(Some(120));
        assert_eq!(
            build(&o).expect("valid")["approval"],
            json!({"timeoutSeconds": 120})
        );
        o.approval = Some(Some(0));
        let e = build(&o).unwrap_err();
        assert_eq!(e.exit, crate::exit::Exit::Refused);
        assert!(
            e.message
                .contains("approval.timeoutSeconds = 0 is out of range"),
            "{}",
            e.message
        );
    }

    #[test]
    fn execution_names_are_valid_and_distinct() {
        let a = execution_name("web/api v2", 1, 7);
        assert_eq!(a, "berth-cli-web-api-v2-1-7");
        assert!(execution_name(&"x".repeat(200), u64::MAX, u32::MAX).len() <= 80);
        assert_ne!(execution_name("web", 1, 7), execution_name("web", 2, 7));
    }
}
