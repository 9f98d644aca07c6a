//! Each service of a deployment runs in its own child execution of the service state machine
//! (`statemachine/deploy.src.json`, `ServiceMachine`), started by the deployment's Map with
//! `states:startExecution.sync:2`: its own history (25,000 events each), its own report.
//!
//! The child's name says which service it deploys, so that an ECS event naming a service finds the
//! execution that waits for it among the running ones with one ListExecutions call.

use sha2::{Digest, Sha256};

/// Step Functions' limit on an execution's name.
pub const NAME_LIMIT: usize = 80;
/// How much of the service's name the child's name shows (the rest is digests).
const SHOWN: usize = 40;

/// The first `chars` hex digits of `data`'s SHA-256: a stable short name for it.
pub fn hex(data: &str, chars: usize) -> String {
    Sha256::digest(data.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .chars()
        .take(chars)
        .collect()
}

fn last_segment(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// The suffix every child deploying `service` (a name or an ARN) ends with.
pub fn service_suffix(service: &str) -> String {
    format!("-{}", hex(last_segment(service), 8))
}

/// The child execution's name for one deployment (`deploymentId` is unique per execution and
/// service): the service's name, a digest of the deployment, a digest of the service. Unique per
/// deployment; the same again for a retried StartExecution, which Step Functions then answers
/// with the execution already started.
pub fn execution_name(deployment_id: &str, service: &str) -> String {
    let shown: String = last_segment(service)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(SHOWN)
        .collect();
    format!(
        "{shown}-{}{}",
        hex(deployment_id, 16),
        service_suffix(service)
    )
}

/// Whether the child execution named `name` deploys `service` (names or ARNs; a digest match, so
/// the caller still compares the execution's own cluster and service).
pub fn deploys(name: &str, service: &str) -> bool {
    name.ends_with(&service_suffix(service))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_unique_per_deployment_and_findable_by_service() {
        let a = execution_name("push-1/prod/web", "web");
        let b = execution_name("push-2/prod/web", "web");
        let c = execution_name("push-1/staging/web", "web");
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, execution_name("push-1/prod/web", "web"), "stable");
        assert!(a.starts_with("web-"), "{a}");
        for n in [&a, &b, &c] {
            assert!(deploys(n, "web"));
            assert!(deploys(n, "arn:aws:ecs:eu-west-1:1:service/prod/web"));
            assert!(!deploys(n, "api"));
        }
    }

    #[test]
    fn a_long_service_name_still_fits_step_functions_rules() {
        let service = format!("{}-svc", "x".repeat(250));
        let name = execution_name(&format!("{}/prod/{service}", "e".repeat(80)), &service);
        assert!(name.len() <= NAME_LIMIT, "{}", name.len());
        assert!(name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert!(deploys(&name, &service));
    }
}
