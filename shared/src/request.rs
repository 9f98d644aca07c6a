//! What a console request must be before anything reads AWS: its shape (the field a typo hit is
//! named), names, image reference, time limits and canary. Plan runs these checks before it reads
//! ECS; the CLI runs them before it starts anything; schema/ checks the examples with them.

use serde_json::Value;

use crate::canary;
use crate::error::{Error, Result};
use crate::image::ImageRef;
use crate::model::{limits, require, ConsoleRequest};
use crate::taskdef::parse_revision;

/// What a checked request deploys.
#[derive(Debug, Clone)]
pub enum Deploys {
    /// An image (parsed), into a copy of the revision the service runs.
    Image(ImageRef),
    /// An existing revision as it is (`taskDefinition`, a rollback by hand), as the request gave it.
    Revision(String),
}

/// The request, checked, with what it deploys. `hint` is added to a shape error (what was
/// expected, where to read about it).
pub fn check_console_request(request: &Value, hint: &str) -> Result<(ConsoleRequest, Deploys)> {
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
    let image = match (&req.image, &req.task_definition) {
        (Some(image), None) => Deploys::Image(ImageRef::parse(image)?),
        (None, Some(revision)) => {
            parse_revision("taskDefinition", revision)?;
            Deploys::Revision(revision.clone())
        }
        (given, _) => {
            return Err(Error::invalid_input(format!(
                "request: give exactly one of \"image\" and \"taskDefinition\", not {} (\"image\" deploys an image in a copy of the running revision, \"taskDefinition\" an existing revision as it is){hint}",
                if given.is_some() { "both" } else { "neither" }
            )))
        }
    };
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
    if let Some(a) = &req.approval {
        limits::check(
            "approval.timeoutSeconds",
            a.timeout_seconds,
            &limits::APPROVAL_TIMEOUT_SECONDS,
        )?;
    }
    if let Some(m) = &req.migration {
        m.check("migration")?;
    }
    if let Some(s) = &req.stop_then_start {
        s.check("stopThenStart")?;
    }
    if let Some(scan) = &req.scan {
        crate::gates::check_scan_policy("scan.maxWaitSeconds", scan)?;
    }
    if let Some(o) = &req.override_freeze {
        o.check()?;
    }
    Ok((req, image))
}

/// A release by request, its shape checked: `{"release": {"name": "shop", "services": [request,
/// …]}}` (README, "Release groups"). Each entry is a console request with an optional `wave`; it is
/// checked as a request of its own next (`check_console_request`, through Plan).
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseRequest {
    pub name: String,
    pub services: Vec<ReleaseEntry>,
}

/// One service of a release by request: its request (without `wave`) and its wave (default 1).
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseEntry {
    pub request: Value,
    pub wave: u32,
}

/// The release a request asks for, its shape checked; `None` when it is no release (no
/// `"release"` key). A mistake anywhere refuses the whole release, naming the entry.
pub fn check_release_request(request: &Value) -> Result<Option<ReleaseRequest>> {
    let Some(release) = request.get("release") else {
        return Ok(None);
    };
    let refuse = |why: String| {
        Error::invalid_input(format!(
            "release: {why}. Expected {{\"release\": {{\"name\": \"…\", \"services\": [{{\"cluster\", \"service\", \"image\", optional \"wave\" (1 to {}) and any field of a request}}, …]}}}} (README, \"Release groups\")",
            crate::release::MAX_WAVE
        ))
    };
    if let Some(other) = request
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "release"))
    {
        return Err(refuse(format!(
            "{other:?} beside \"release\": give each service's fields in its entry"
        )));
    }
    let Some(obj) = release.as_object() else {
        return Err(refuse("not an object".into()));
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !["name", "services"].contains(&k.as_str()))
    {
        return Err(refuse(format!("unknown field {k:?}")));
    }
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| refuse("no name".into()))?;
    limits::check_len("release.name", name, limits::NAME_CHARS)?;
    let entries = obj
        .get("services")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| refuse("no services".into()))?;
    let mut services = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let mut request = entry.clone();
        let Some(fields) = request.as_object_mut() else {
            return Err(refuse(format!("services[{i}] is not an object")));
        };
        let wave = match fields.remove("wave") {
            None => 1,
            Some(w) => w
                .as_u64()
                .and_then(|w| u32::try_from(w).ok())
                .filter(|w| (1..=crate::release::MAX_WAVE).contains(w))
                .ok_or_else(|| {
                    refuse(format!(
                        "services[{i}].wave {w} is not 1 to {}",
                        crate::release::MAX_WAVE
                    ))
                })?,
        };
        services.push(ReleaseEntry { request, wave });
    }
    Ok(Some(ReleaseRequest {
        name: name.to_owned(),
        services,
    }))
}

/// What can be checked of a release before AWS is read, as Plan checks it: its shape, each entry
/// as a console request (its mistake named `release.services[i]`), and no service listed twice.
pub fn check_release(request: &Value) -> Result<ReleaseRequest> {
    let release = check_release_request(request)?.ok_or_else(|| {
        Error::invalid_input(
            "not a release: expected {\"release\": {\"name\": \"…\", \"services\": […]}} (README, \"Release groups\")",
        )
    })?;
    let mut seen: Vec<(String, String)> = Vec::new();
    for (i, entry) in release.services.iter().enumerate() {
        let (req, _) = check_console_request(&entry.request, "")
            .map_err(|e| Error::new(e.name(), format!("release.services[{i}]: {}", e.message())))?;
        let key = (req.cluster.clone(), req.service.clone());
        if seen.contains(&key) {
            return Err(Error::invalid_input(format!(
                "release.services[{i}]: {}/{} is listed twice (README, \"Release groups\")",
                key.0, key.1
            )));
        }
        seen.push(key);
    }
    Ok(release)
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
        let (req, deploys) = check_console_request(
            &json!({"cluster": "prod", "service": "web", "image": "repo/web:v2", "timeoutSeconds": 600}),
            "",
        )
        .unwrap();
        assert_eq!(req.timeout_seconds, Some(600));
        let Deploys::Image(image) = deploys else {
            panic!("{deploys:?}")
        };
        assert_eq!(image.repository(), "repo/web");
    }

    #[test]
    fn a_typo_in_the_gates_is_refused_never_ignored() {
        let base = json!({"cluster": "prod", "service": "web", "image": "repo/web:v2"});
        let with = |k: &str, v: Value| {
            let mut r = base.clone();
            r[k] = v;
            refused(r)
        };
        assert!(with("scan", json!({"threshold": "SEVERE"})).contains("request at scan.threshold"));
        assert!(with("scan", json!({"onNoScan": "deny"})).contains("scan.onNoScan"));
        assert!(with("scan", json!({"treshold": "HIGH"})).contains("unknown field"));
        assert!(with("scan", json!({"maxWaitSeconds": 86400})).contains("scan.maxWaitSeconds"));
        assert!(
            with("overrideFreeze", json!({"reason": " ", "by": "alice"}))
                .contains("overrideFreeze.reason")
        );
        assert!(with("overrideFreeze", json!({"reason": "hotfix"})).contains("missing field `by`"));
        assert!(with("overrideFreeze", json!("hotfix")).contains("overrideFreeze"));
        assert!(with("overideFreeze", json!({"reason": "x"})).contains("unknown field"));
        let (req, _) = check_console_request(
            &json!({"cluster": "prod", "service": "web", "image": "repo/web:v2",
                    "scan": {}, "overrideFreeze": {"reason": "hotfix", "by": "alice"}}),
            "",
        )
        .unwrap();
        assert_eq!(req.scan, Some(crate::scan::ScanPolicy::default()));
        assert_eq!(req.override_freeze.unwrap().by, "alice");
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

    #[test]
    fn a_request_deploys_an_image_or_an_existing_revision_never_both() {
        let (_, deploys) = check_console_request(
            &json!({"cluster": "prod", "service": "web", "taskDefinition": "web:3"}),
            "",
        )
        .unwrap();
        assert!(matches!(deploys, Deploys::Revision(r) if r == "web:3"));
        let both = refused(
            json!({"cluster": "prod", "service": "web", "image": "repo/web:v2", "taskDefinition": "web:3"}),
        );
        assert!(
            both.contains("exactly one of \"image\" and \"taskDefinition\""),
            "{both}"
        );
        assert!(
            both.contains("not both") && both.ends_with(" (hint)"),
            "{both}"
        );
        let neither = refused(json!({"cluster": "prod", "service": "web"}));
        assert!(neither.contains("not neither"), "{neither}");
        let no_revision =
            refused(json!({"cluster": "prod", "service": "web", "taskDefinition": "web"}));
        assert!(no_revision.contains("names no revision"), "{no_revision}");
    }

    #[test]
    fn an_approval_gate_defaults_its_timeout_and_refuses_one_out_of_range() {
        let base = json!({"cluster": "prod", "service": "web", "image": "repo/web:v2"});
        let with = |approval: Value| {
            let mut r = base.clone();
            r["approval"] = approval;
            r
        };
        let (req, _) = check_console_request(&with(json!({})), "").unwrap();
        assert_eq!(req.approval.map(|a| a.timeout_seconds), Some(3600));
        let (req, _) = check_console_request(&with(json!({"timeoutSeconds": 60})), "").unwrap();
        assert_eq!(req.approval.map(|a| a.timeout_seconds), Some(60));
        assert_eq!(
            refused(with(json!({"timeoutSeconds": 0}))),
            "InvalidInput: approval.timeoutSeconds = 0 is out of range: 1 to 604800"
        );
        let m = refused(with(json!({"timeoutSecs": 60})));
        assert!(
            m.starts_with("InvalidInput: request at approval.timeoutSecs: unknown field"),
            "{m}"
        );
        assert!(refused(with(json!(true))).contains("request at approval"));
    }

    #[test]
    fn a_release_request_gives_each_entry_without_its_wave() {
        let r = check_release_request(&json!({"release": {"name": " shop ", "services": [
            {"cluster": "prod", "service": "api", "image": "repo/api:v2"},
            {"cluster": "prod", "service": "worker", "image": "repo/worker:v2", "wave": 2},
        ]}}))
        .unwrap()
        .unwrap();
        assert_eq!(r.name, "shop");
        assert_eq!(
            r.services.iter().map(|e| e.wave).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(
            r.services[1].request,
            json!({"cluster": "prod", "service": "worker", "image": "repo/worker:v2"})
        );
        assert_eq!(
            check_release_request(&json!({"cluster": "prod"})).unwrap(),
            None
        );
    }

    #[test]
    fn a_release_request_with_a_mistake_is_refused_naming_it() {
        let entry = json!({"cluster": "prod", "service": "api", "image": "repo/api:v2"});
        for (request, why) in [
            (
                json!({"release": {"name": "shop", "services": [entry]}, "cluster": "prod"}),
                "\"cluster\" beside \"release\"",
            ),
            (json!({"release": []}), "not an object"),
            (
                json!({"release": {"name": "shop", "services": [entry], "wave": 2}}),
                "unknown field \"wave\"",
            ),
            (
                json!({"release": {"name": " ", "services": [entry]}}),
                "no name",
            ),
            (
                json!({"release": {"name": "shop", "services": []}}),
                "no services",
            ),
            (
                json!({"release": {"name": "shop", "services": ["api"]}}),
                "services[0] is not an object",
            ),
            (
                json!({"release": {"name": "shop", "services": [entry, {"service": "w", "wave": 11}]}}),
                "services[1].wave 11 is not 1 to 10",
            ),
            (
                json!({"release": {"name": "shop", "services": [{"service": "w", "wave": "2"}]}}),
                "services[0].wave \"2\" is not 1 to 10",
            ),
        ] {
            let e = check_release_request(&request).unwrap_err();
            assert_eq!(e.name(), "InvalidInput");
            assert!(e.message().contains(why), "{why}: {}", e.message());
        }
    }

    #[test]
    fn a_release_is_checked_entry_by_entry_before_aws_is_read() {
        let ok = json!({"release": {"name": "shop", "services": [
            {"cluster": "prod", "service": "shop-api", "image": "repo/shop:v2"},
            {"cluster": "prod", "service": "shop-worker", "image": "repo/shop:v2", "wave": 2}]}});
        let r = check_release(&ok).unwrap();
        assert_eq!(
            r.services.iter().map(|e| e.wave).collect::<Vec<_>>(),
            vec![1, 2]
        );
        let e = check_release(&json!({"cluster": "prod", "service": "web", "image": "r/web:1"}))
            .unwrap_err();
        assert!(e.message().contains("not a release"), "{}", e.message());
        let e = check_release(&json!({"release": {"name": "shop", "services": [
            {"cluster": "prod", "service": "shop-api", "image": "repo/shop:v2"},
            {"cluster": "prod", "service": "shop-api", "imag": "repo/shop:v2"}]}}))
        .unwrap_err();
        assert!(
            e.message().starts_with("release.services[1]: ") && e.message().contains("imag"),
            "{}",
            e.message()
        );
        let e = check_release(&json!({"release": {"name": "shop", "services": [
            {"cluster": "prod", "service": "shop-api", "image": "repo/shop:v2"},
            {"cluster": "prod", "service": "shop-api", "image": "repo/shop:v3", "wave": 2}]}}))
        .unwrap_err();
        assert!(e.message().contains("listed twice"), "{}", e.message());
    }
}
