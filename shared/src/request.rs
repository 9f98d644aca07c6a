//! What a console request must be before anything reads AWS: its shape (the field a typo hit is
//! named), names, image reference, time limits and canary. Plan runs these checks before it reads
//! ECS; the CLI runs them before it starts anything; schema/ checks the examples with them.

use serde_json::Value;

use crate::canary;
use crate::error::{Error, Result};
use crate::image::ImageRef;
use crate::model::{limits, require, ConsoleRequest};

/// The request, checked, with its parsed image. `hint` is added to a shape error (what was
/// expected, where to read about it).
pub fn check_console_request(request: &Value, hint: &str) -> Result<(ConsoleRequest, ImageRef)> {
    let req: ConsoleRequest = serde_path_to_error::deserialize(request).map_err(|e| {
        let at = e.path().to_string();
        let at = if at == "." {
            String::new()
        } else {
            format!(" at {at}")
        };
        Error::invalid_input(format!("request{at}: {}{hint}", e.inner()))
    })?;
    for (field, v) in [("cluster", &req.cluster), ("service", &req.service)] {
        require(field, v)?;
        limits::check_len(field, v, limits::NAME_CHARS)?;
    }
    if let Some(c) = &req.container {
        require("container", c)?;
        limits::check_len("container", c, limits::NAME_CHARS)?;
    }
    let image = ImageRef::parse(&req.image)?;
    for (field, v, range) in [
        (
            "timeoutSeconds",
            req.timeout_seconds,
            &limits::TIMEOUT_SECONDS,
        ),
        (
            "pollIntervalSeconds",
            req.poll_interval_seconds,
            &limits::POLL_INTERVAL_SECONDS,
        ),
        (
            "rollbackTimeoutSeconds",
            req.rollback_timeout_seconds,
            &limits::TIMEOUT_SECONDS,
        ),
    ] {
        if let Some(v) = v {
            limits::check(field, v, range)?;
        }
    }
    if let Some(c) = &req.canary {
        canary::validate(c)?;
    }
    Ok((req, image))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(request: Value) -> String {
        let e = check_console_request(&request, " (hint)").unwrap_err();
        let name = e.name();
        assert!(name == "InvalidInput" || name == "InvalidImage", "{name}");
        format!("{name}: {}", e.message())
    }

    #[test]
    fn a_good_request_is_returned_with_its_image() {
        let (req, image) = check_console_request(
            &json!({"cluster": "prod", "service": "web", "image": "repo/web:v2", "timeoutSeconds": 600}),
            "",
        )
        .unwrap();
        assert_eq!(req.timeout_seconds, Some(600));
        assert_eq!(image.repository(), "repo/web");
    }

    #[test]
    fn each_check_refuses_with_the_field_named() {
        let base = json!({"cluster": "prod", "service": "web", "image": "repo/web:v2"});
        let with = |k: &str, v: Value| {
            let mut r = base.clone();
            r[k] = v;
            r
        };
        let m = refused(with("imgae", json!("x")));
        assert!(
            m.contains("unknown field `imgae`") && m.ends_with(" (hint)"),
            "{m}"
        );
        let m = refused(with(
            "canary",
            json!({"bakeSeconds": 60, "metrics": [{"comparision": 1}]}),
        ));
        assert!(
            m.starts_with("InvalidInput: request at canary.metrics[0]"),
            "{m}"
        );
        assert!(refused(with("service", json!(" "))).contains("\"service\" must not be empty"));
        assert!(refused(with("image", json!("Repo/UPPER:v1"))).starts_with("InvalidImage"));
        assert!(refused(with("timeoutSeconds", json!(0))).contains("timeoutSeconds"));
        assert!(refused(with("pollIntervalSeconds", json!(601))).contains("pollIntervalSeconds"));
    }
}
