//! ECR "ECR Image Action" events: which ones deploy, and the image they name.
//!
//! Only a successful PUSH deploys. DELETE actions and FAILURE results end cleanly. The image is
//! named by digest, so at-least-once delivery and re-pushed tags cannot deploy other bytes.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::image::ImageRef;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ImageAction {
    pub result: String,
    pub action_type: String,
    pub repository_name: String,
    #[serde(default)]
    pub image_digest: Option<String>,
    /// Empty or absent for a push by digest.
    #[serde(default)]
    pub image_tag: Option<String>,
}

/// A push that deploys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    pub account: String,
    pub region: String,
    pub repository: String,
    pub digest: String,
    pub tag: Option<String>,
}

impl Push {
    /// The image as ECS should pull it: registry/repository[:tag]@digest.
    pub fn image(&self) -> String {
        let tag = self
            .tag
            .as_deref()
            .map(|t| format!(":{t}"))
            .unwrap_or_default();
        format!(
            "{}.dkr.ecr.{}.amazonaws.com/{}{tag}@{}",
            self.account, self.region, self.repository, self.digest
        )
    }
}

impl Push {
    /// The `ECR Image Action` event EventBridge delivers for this push, as the reconciliation sweep
    /// hands it to the deployment when the real one never came: the same shape (so Plan reads it
    /// as a push) and `detail.berth-found-by` saying who sent it instead of ECR.
    pub fn event(&self, time: &str, found_by: &str) -> serde_json::Value {
        serde_json::json!({
            "version": "0",
            "id": format!("{found_by}-{}", crate::start::execution_name(self)),
            "detail-type": "ECR Image Action",
            "source": "aws.ecr",
            "account": self.account,
            "time": time,
            "region": self.region,
            "resources": [],
            "detail": {
                "result": "SUCCESS",
                "repository-name": self.repository,
                "image-digest": self.digest,
                "action-type": "PUSH",
                "image-tag": self.tag.clone().unwrap_or_default(),
                "berth-found-by": found_by,
            }
        })
    }
}

/// True when the value looks like an EventBridge event rather than a console request.
pub fn is_event(value: &serde_json::Value) -> bool {
    value.get("detail-type").is_some() || value.get("source").is_some()
}

/// `Ok(Ok(push))` deploys; `Ok(Err(reason))` ends cleanly; `Err` is a malformed event.
pub fn classify(value: &serde_json::Value) -> Result<std::result::Result<Push, String>> {
    let event: EventBridgeEvent<ImageAction> = serde_json::from_value(value.clone())
        .map_err(|e| Error::invalid_input(format!("not an ECR Image Action event: {e}")))?;
    if event.source != "aws.ecr" || event.detail_type != "ECR Image Action" {
        return Ok(Err(format!(
            "ignored event {} from {}: berth deploys on ECR Image Action events",
            event.detail_type, event.source
        )));
    }
    let d = event.detail;
    if d.action_type != "PUSH" {
        return Ok(Err(format!(
            "{} of {} is not a push: nothing to deploy",
            d.action_type, d.repository_name
        )));
    }
    if d.result != "SUCCESS" {
        return Ok(Err(format!(
            "push to {} reported {}: nothing to deploy",
            d.repository_name, d.result
        )));
    }
    let digest = d.image_digest.filter(|s| !s.is_empty()).ok_or_else(|| {
        Error::invalid_input(format!(
            "push to {} carries no image-digest",
            d.repository_name
        ))
    })?;
    ImageRef::validate_digest(&digest)?;
    let (account, region) = match (event.account, event.region) {
        (Some(a), Some(r)) if !a.is_empty() && !r.is_empty() => (a, r),
        _ => return Err(Error::invalid_input("ECR event without account or region")),
    };
    let push = Push {
        account,
        region,
        repository: d.repository_name,
        digest,
        tag: d.image_tag.filter(|t| !t.is_empty()),
    };
    ImageRef::parse(&push.image())?;
    Ok(Ok(push))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PUSH: &str = include_str!("../fixtures/ecr-push.json");

    fn event() -> serde_json::Value {
        serde_json::from_str(PUSH).unwrap()
    }

    #[test]
    fn a_successful_push_deploys_the_digest() {
        let push = classify(&event()).unwrap().unwrap();
        assert_eq!(push.repository, "web");
        assert_eq!(
            push.image(),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v2@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
        assert!(is_event(&event()));
    }

    #[test]
    fn a_push_by_digest_has_an_empty_tag() {
        let mut e = event();
        e["detail"]["image-tag"] = json!("");
        let push = classify(&e).unwrap().unwrap();
        assert_eq!(push.tag, None);
        assert!(push.image().ends_with(
            "/web@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        ));
    }

    #[test]
    fn deletes_and_failures_do_not_deploy() {
        let mut e = event();
        e["detail"]["action-type"] = json!("DELETE");
        assert!(classify(&e).unwrap().unwrap_err().contains("DELETE"));
        let mut e = event();
        e["detail"]["result"] = json!("FAILURE");
        assert!(classify(&e).unwrap().unwrap_err().contains("FAILURE"));
        let mut e = event();
        e["detail-type"] = json!("ECR Image Scan");
        assert!(classify(&e).unwrap().is_err());
    }

    #[test]
    fn a_malformed_push_is_invalid() {
        let mut e = event();
        e["detail"]["image-digest"] =
            json!("sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234");
        assert_eq!(classify(&e).unwrap_err().name(), "InvalidImage");
        let mut e = event();
        e["detail"]
            .as_object_mut()
            .unwrap()
            .remove("repository-name");
        assert_eq!(classify(&e).unwrap_err().name(), "InvalidInput");
        let mut e = event();
        e["detail"]["repository-name"] = json!("Web With Spaces");
        assert_eq!(classify(&e).unwrap_err().name(), "InvalidImage");
    }

    #[test]
    fn the_event_built_for_a_found_push_reads_back_as_that_push() {
        // GIVEN a push the sweep found (by digest, then with a tag)
        let mut push = classify(&event()).unwrap().unwrap();
        for tag in [None, Some("v2".to_string())] {
            push.tag = tag;
            // WHEN its event is built THEN Plan's reading gives the same push back
            let e = push.event("2026-11-30T08:00:00Z", "reconcile");
            assert_eq!(classify(&e).unwrap().unwrap(), push);
            assert_eq!(e["detail"]["berth-found-by"], "reconcile");
            assert!(is_event(&e));
        }
    }

    #[test]
    fn console_requests_are_not_events() {
        assert!(!is_event(
            &json!({"cluster": "prod", "service": "web", "image": "web:1"})
        ));
    }
}
