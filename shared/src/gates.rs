//! The release gates a deployment passes before it touches its service: freeze windows and the
//! image-scan gate. What Plan reads from tags, the request and the stack, and what the gate states
//! (`CheckFreeze`, `CheckScan`, functions/check-gates) decide; pure, no client.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorName, Result};
use crate::freeze::{FreezeCalendar, FreezeSpec, FreezeState};
use crate::scan::{self, Finding, NoScan, ScanLookup, ScanPolicy, ScanVerdict, Severity};
use crate::time::{self, DateTime};

/// Service tags that turn the gates on (README, "Release gates").
pub mod tags {
    /// The scan gate's threshold: `CRITICAL`, `HIGH`, `MEDIUM`, `LOW` or `INFORMATIONAL`.
    pub const SCAN: &str = "berth:scan";
    /// `refuse` (default) or `allow`: an image with no usable scan.
    pub const SCAN_NO_SCAN: &str = "berth:scan-no-scan";
    /// How long to wait for a scan that is still running (seconds, default 600).
    pub const SCAN_MAX_WAIT_SECONDS: &str = "berth:scan-max-wait-seconds";
    /// Freeze windows, separated by ` / ` (an ECS tag value cannot hold `;` or `,`).
    pub const FREEZE: &str = "berth:freeze";
    /// The IANA time zone the windows are written in (required with `berth:freeze`).
    pub const FREEZE_TIME_ZONE: &str = "berth:freeze-time-zone";
    /// `wait` (default) or `refuse`.
    pub const FREEZE_ACTION: &str = "berth:freeze-action";
}

/// `scan.maxWaitSeconds` and `berth:scan-max-wait-seconds`: up to an hour.
pub const SCAN_MAX_WAIT_SECONDS: std::ops::RangeInclusive<u64> = 0..=3_600;
/// An override's reason: not empty, at most this many characters.
pub const OVERRIDE_REASON_CHARS: usize = 1_024;

/// What a freeze does to a push that meets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum OnFreeze {
    /// Wait until the frozen stretch ends, then deploy.
    #[default]
    Wait,
    /// End the deployment `Frozen`, nothing changed.
    Refuse,
}

impl OnFreeze {
    fn parse(field: &str, value: &str) -> Result<Self> {
        match value {
            "wait" => Ok(OnFreeze::Wait),
            "refuse" => Ok(OnFreeze::Refuse),
            _ => Err(Error::invalid_input(format!(
                "{field}={value:?} is neither \"wait\" nor \"refuse\""
            ))),
        }
    }
}

/// One freeze calendar as a deployment item carries it (checked at Plan), with where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FreezeConfig {
    /// `service tags` or `installation` (the stack's FreezeWindows parameter).
    pub source: String,
    pub time_zone: String,
    pub windows: Vec<String>,
    #[serde(default)]
    pub on_freeze: OnFreeze,
}

impl FreezeConfig {
    /// The parsed calendar; any slip is `InvalidInput` naming where the calendar comes from.
    pub fn calendar(&self) -> Result<FreezeCalendar> {
        FreezeCalendar::parse(&FreezeSpec {
            time_zone: self.time_zone.clone(),
            windows: self.windows.clone(),
        })
        .map_err(|e| Error::invalid_input(format!("{}: {}", self.source, e.message())))
    }
}

/// `berth deploy --override-freeze REASON`: deploy inside a freeze window, on the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FreezeOverride {
    /// Why the freeze is overridden (required, not blank).
    #[cfg_attr(
        feature = "schema",
        schemars(
            length(min = 1, max = OVERRIDE_REASON_CHARS),
            pattern(crate::model::NOT_BLANK)
        )
    )]
    pub reason: String,
    /// Who overrides it (required, not blank; the CLI sends its user).
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = 255), pattern(crate::model::NOT_BLANK))
    )]
    pub by: String,
}

impl FreezeOverride {
    pub fn check(&self) -> Result<()> {
        if self.reason.trim().is_empty() {
            return Err(Error::invalid_input(
                "overrideFreeze.reason must say why the freeze is overridden",
            ));
        }
        crate::model::limits::check_len(
            "overrideFreeze.reason",
            &self.reason,
            OVERRIDE_REASON_CHARS,
        )?;
        if self.by.trim().is_empty() {
            return Err(Error::invalid_input(
                "overrideFreeze.by must say who overrides the freeze",
            ));
        }
        crate::model::limits::check_len("overrideFreeze.by", &self.by, 255)
    }
}

/// Split a tag's or a parameter's windows: ` / ` between windows, each trimmed; an empty one is
/// kept (and refused by the parser) so `a / ` is a mistake, not one window.
pub fn split_windows(value: &str) -> Vec<String> {
    value.split('/').map(|w| w.trim().to_owned()).collect()
}

/// A service's freeze from its tags, checked: `berth:freeze` (windows), `berth:freeze-time-zone`
/// (required with it), `berth:freeze-action`. A time zone or action without windows is refused
/// too: a typo in the windows' key must not silently turn the freeze off.
pub fn freeze_from_tags<'a>(
    service: &str,
    tag: impl Fn(&str) -> Option<&'a str>,
) -> Result<Option<FreezeConfig>> {
    let windows = tag(tags::FREEZE);
    let zone = tag(tags::FREEZE_TIME_ZONE);
    let action = tag(tags::FREEZE_ACTION);
    let Some(windows) = windows else {
        if zone.is_some() || action.is_some() {
            return Err(Error::invalid_input(format!(
                "service {service} sets {} or {} but no {}: no freeze window to apply",
                tags::FREEZE_TIME_ZONE,
                tags::FREEZE_ACTION,
                tags::FREEZE
            )));
        }
        return Ok(None);
    };
    let Some(zone) = zone else {
        return Err(Error::invalid_input(format!(
            "service {service} sets {} but no {} (an IANA name such as Europe/Berlin or UTC)",
            tags::FREEZE,
            tags::FREEZE_TIME_ZONE
        )));
    };
    let on_freeze = match action {
        Some(a) => OnFreeze::parse(&format!("service {service} tag {}", tags::FREEZE_ACTION), a)?,
        None => OnFreeze::Wait,
    };
    let config = FreezeConfig {
        source: format!("service {service} tag {}", tags::FREEZE),
        time_zone: zone.to_owned(),
        windows: split_windows(windows),
        on_freeze,
    };
    config.calendar()?;
    Ok(Some(config))
}

/// The installation's freeze from the stack's parameters (`FreezeWindows`, `FreezeTimeZone`,
/// `FreezeAction` -> `BERTH_FREEZE_WINDOWS`, `BERTH_FREEZE_TIME_ZONE`, `BERTH_FREEZE_ACTION`),
/// checked. No windows = no freeze.
pub fn installation_freeze(
    windows: &str,
    time_zone: &str,
    action: &str,
) -> Result<Option<FreezeConfig>> {
    if windows.trim().is_empty() {
        return Ok(None);
    }
    let time_zone = if time_zone.trim().is_empty() {
        "UTC"
    } else {
        time_zone.trim()
    };
    let on_freeze = match action.trim() {
        "" => OnFreeze::Wait,
        a => OnFreeze::parse("installation freeze (FreezeAction)", a)?,
    };
    let config = FreezeConfig {
        source: "installation freeze (FreezeWindows)".into(),
        time_zone: time_zone.to_owned(),
        windows: split_windows(windows),
        on_freeze,
    };
    config.calendar()?;
    Ok(Some(config))
}

/// What `CheckFreeze` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FreezeDecision {
    /// No window holds: go on.
    Open,
    /// A window holds and waits: the state machine waits until `until`, then checks again.
    Wait,
    /// A window holds, and the request overrides it (`overrideFreeze`): go on, on the record.
    Overridden,
}

/// `CheckFreeze`'s result, under `freezeCheck`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreezeCheck {
    pub decision: FreezeDecision,
    pub detail: String,
    /// RFC 3339 (`…Z`, whole seconds, as a Wait state's TimestampPath reads it): the end of the
    /// frozen stretch, when frozen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// The window that holds, as written, and the calendar it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The override the deployment went on with.
    #[serde(default, rename = "override", skip_serializing_if = "Option::is_none")]
    pub overridden_by: Option<FreezeOverride>,
    pub checked_at: String,
}

/// Decide at `now` for `target` (`cluster/service`): open, wait until the frozen stretch ends, go
/// on because the request overrides it, or refuse (`Frozen`) when a holding calendar refuses.
pub fn decide_freeze(
    target: &str,
    calendars: &[FreezeConfig],
    overridden: Option<&FreezeOverride>,
    now: DateTime,
) -> Result<FreezeCheck> {
    let mut holding = vec![];
    for config in calendars {
        if let FreezeState::Frozen { until, window } = config.calendar()?.at(now) {
            holding.push((config, until, window));
        }
    }
    let checked_at = time::format(now);
    // The latest end among the holding calendars: waiting less would only find it frozen again.
    let Some((config, until, window)) = holding
        .iter()
        .max_by_key(|(_, until, _)| until.secs())
        .cloned()
    else {
        return Ok(FreezeCheck {
            decision: FreezeDecision::Open,
            detail: format!("{target}: no freeze window holds at {checked_at}"),
            until: None,
            window: None,
            source: None,
            overridden_by: None,
            checked_at,
        });
    };
    let until_text = time::format(until);
    let frozen = format!(
        "{target}: frozen by {} window {window:?} ({}) until {until_text}",
        config.source, config.time_zone
    );
    if let Some(o) = overridden {
        let by = if o.by.is_empty() { "unknown" } else { &o.by };
        return Ok(FreezeCheck {
            decision: FreezeDecision::Overridden,
            detail: format!("{frozen}; overridden by {by}: {}", o.reason),
            until: Some(until_text),
            window: Some(window),
            source: Some(config.source.clone()),
            overridden_by: Some(o.clone()),
            checked_at,
        });
    }
    if let Some((refusing, r_until, r_window)) = holding
        .iter()
        .find(|(c, _, _)| c.on_freeze == OnFreeze::Refuse)
    {
        return Err(Error::new(
            ErrorName::Frozen,
            format!(
                "{target}: frozen by {} window {r_window:?} ({}) until {}, which refuses deployments instead of waiting; nothing was changed (berth deploy --override-freeze REASON deploys anyway)",
                refusing.source,
                refusing.time_zone,
                time::format(*r_until)
            ),
        ));
    }
    Ok(FreezeCheck {
        decision: FreezeDecision::Wait,
        detail: format!("{frozen}; waiting for it to end"),
        until: Some(until_text),
        window: Some(window),
        source: Some(config.source.clone()),
        overridden_by: None,
        checked_at,
    })
}

/// A service's scan gate from its tags: `berth:scan` (the threshold; turns it on),
/// `berth:scan-no-scan`, `berth:scan-max-wait-seconds`. The last two without the first are
/// refused: a typo in the threshold's key must not silently turn the gate off.
pub fn scan_from_tags<'a>(
    service: &str,
    tag: impl Fn(&str) -> Option<&'a str>,
) -> Result<Option<ScanPolicy>> {
    let field = |key: &str| format!("service {service} tag {key}");
    let Some(threshold) = tag(tags::SCAN) else {
        if tag(tags::SCAN_NO_SCAN).is_some() || tag(tags::SCAN_MAX_WAIT_SECONDS).is_some() {
            return Err(Error::invalid_input(format!(
                "service {service} sets {} or {} but no {}: the scan gate would be off",
                tags::SCAN_NO_SCAN,
                tags::SCAN_MAX_WAIT_SECONDS,
                tags::SCAN
            )));
        }
        return Ok(None);
    };
    let threshold = Severity::parse_threshold(threshold)
        .map_err(|e| Error::invalid_input(format!("{}: {}", field(tags::SCAN), e.message())))?;
    let on_no_scan = match tag(tags::SCAN_NO_SCAN) {
        None | Some("refuse") => NoScan::Refuse,
        Some("allow") => NoScan::Allow,
        Some(other) => {
            return Err(Error::invalid_input(format!(
                "{}={other:?} is neither \"refuse\" nor \"allow\"",
                field(tags::SCAN_NO_SCAN)
            )))
        }
    };
    let mut policy = ScanPolicy {
        threshold,
        on_no_scan,
        ..ScanPolicy::default()
    };
    if let Some(v) = tag(tags::SCAN_MAX_WAIT_SECONDS) {
        let f = field(tags::SCAN_MAX_WAIT_SECONDS);
        policy.max_wait_seconds = v
            .parse()
            .map_err(|_| Error::invalid_input(format!("{f}={v:?} is not a number of seconds")))?;
    }
    check_scan_policy(&field(tags::SCAN_MAX_WAIT_SECONDS), &policy)?;
    Ok(Some(policy))
}

/// The ranges a policy's numbers must be in (the request's `scan` and the tags alike).
pub fn check_scan_policy(field: &str, policy: &ScanPolicy) -> Result<()> {
    crate::model::limits::check(field, policy.max_wait_seconds, &SCAN_MAX_WAIT_SECONDS)
}

/// Where ECR keeps an image's scan: the registry (account) and repository, and the digest or tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanTarget {
    pub registry_id: String,
    pub region: String,
    pub repository: String,
    pub digest: Option<String>,
    pub tag: Option<String>,
}

/// The ECR image an image reference names, or why it names none (not an ECR registry).
pub fn scan_target(image: &str) -> Result<std::result::Result<ScanTarget, String>> {
    let parsed = crate::image::ImageRef::parse(image)?;
    let host = parsed.name.split('/').next().unwrap_or_default();
    // <account>.dkr.ecr.<region>.amazonaws.com (.com.cn in China)
    let parts: Vec<&str> = host.split('.').collect();
    let ecr = parts.len() >= 6
        && parts[0].len() == 12
        && parts[0].bytes().all(|b| b.is_ascii_digit())
        && parts[1] == "dkr"
        && parts[2].starts_with("ecr")
        && parts[4] == "amazonaws";
    if !ecr || !parsed.name.contains('/') {
        return Ok(Err(format!(
            "{image} is not in an ECR registry (<account>.dkr.ecr.<region>.amazonaws.com), so ECR has no scan of it"
        )));
    }
    Ok(Ok(ScanTarget {
        registry_id: parts[0].to_owned(),
        region: parts[3].to_owned(),
        repository: parsed.repository().to_owned(),
        digest: parsed.digest.clone(),
        tag: if parsed.digest.is_some() {
            None
        } else {
            Some(parsed.tag.clone().unwrap_or_else(|| "latest".into()))
        },
    }))
}

/// `CheckScan`'s result, under `scanResult`: the verdict (`allow` or `wait`; a refusal is the
/// error `ImageScanFailed`), and since when the gate waits for this image's scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanCheck {
    pub image: String,
    #[serde(flatten)]
    pub verdict: ScanVerdict,
    /// When the gate first looked at this image's scan (the wait's limit counts from here).
    pub waiting_since: String,
    pub checked_at: String,
}

/// The earlier `scanResult` the state machine hands back while it waits: only its start is read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EarlierScan {
    #[serde(default)]
    pub waiting_since: Option<String>,
}

/// Decide on one image: allow, wait (asking again after at most `poll_seconds`), or refuse with
/// `ImageScanFailed` (the reason has the counts and the worst findings). `lookup` is `Err(why)`
/// when the image is not in ECR at all (no scan, as the policy says).
pub fn judge_scan(
    image: &str,
    lookup: std::result::Result<&ScanLookup, &str>,
    policy: &ScanPolicy,
    earlier: Option<&EarlierScan>,
    poll_seconds: u64,
    now: DateTime,
) -> Result<ScanCheck> {
    let since = match earlier.and_then(|e| e.waiting_since.as_deref()) {
        Some(s) => time::parse("scanResult.waitingSince", s)?,
        None => now,
    };
    let verdict = match lookup {
        Ok(lookup) => scan::decide(image, lookup, policy, since, now),
        Err(why) => match policy.on_no_scan {
            NoScan::Allow => ScanVerdict::Allow {
                counts: BTreeMap::new(),
                worst: Vec::<Finding>::new(),
                reason: format!("{why}; allowed (onNoScan: allow)"),
            },
            NoScan::Refuse => ScanVerdict::Refuse {
                counts: BTreeMap::new(),
                blocking: 0,
                worst: vec![],
                reason: format!("{why}; refused (onNoScan: refuse)"),
            },
        },
    };
    let verdict = match verdict {
        ScanVerdict::Refuse { reason, .. } => {
            return Err(Error::new(
                ErrorName::ImageScanFailed,
                format!("{reason}; nothing was changed"),
            ))
        }
        ScanVerdict::Wait {
            status,
            until,
            retry_after_seconds,
        } => ScanVerdict::Wait {
            status,
            until,
            retry_after_seconds: retry_after_seconds.min(poll_seconds.max(1)),
        },
        allow => allow,
    };
    Ok(ScanCheck {
        image: image.to_owned(),
        verdict,
        waiting_since: time::format(since),
        checked_at: time::format(now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::ScanReport;
    use serde_json::json;

    fn utc(s: &str) -> DateTime {
        time::parse("t", s).unwrap()
    }

    fn tags_of<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> + 'a {
        move |k| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| *v)
    }

    fn weekend(on: OnFreeze) -> FreezeConfig {
        FreezeConfig {
            source: "service web tag berth:freeze".into(),
            time_zone: "Europe/Berlin".into(),
            windows: vec!["Fri 18:00 - Mon 06:00".into()],
            on_freeze: on,
        }
    }

    // 2026-12-04 is a Friday; Berlin is UTC+1 in December.
    const FRIDAY_NIGHT: &str = "2026-12-04T20:00:00Z";
    const WEDNESDAY: &str = "2026-12-02T12:00:00Z";

    #[test]
    fn outside_every_window_the_freeze_is_open() {
        let check =
            decide_freeze("prod/web", &[weekend(OnFreeze::Wait)], None, utc(WEDNESDAY)).unwrap();
        assert_eq!(check.decision, FreezeDecision::Open);
        assert_eq!(check.until, None);
    }

    #[test]
    fn inside_a_waiting_window_the_deploy_waits_until_its_end() {
        // GIVEN a weekend freeze that waits WHEN a push comes on Friday night
        let check = decide_freeze(
            "prod/web",
            &[weekend(OnFreeze::Wait)],
            None,
            utc(FRIDAY_NIGHT),
        )
        .unwrap();
        // THEN it waits until Monday 06:00 Berlin, a timestamp a Wait state reads
        assert_eq!(check.decision, FreezeDecision::Wait);
        assert_eq!(check.until.as_deref(), Some("2026-12-07T05:00:00Z"));
        assert_eq!(check.window.as_deref(), Some("Fri 18:00 - Mon 06:00"));
        assert!(check.detail.contains("waiting"), "{}", check.detail);
    }

    #[test]
    fn inside_a_refusing_window_the_deploy_is_frozen() {
        let e = decide_freeze(
            "prod/web",
            &[weekend(OnFreeze::Refuse)],
            None,
            utc(FRIDAY_NIGHT),
        )
        .unwrap_err();
        assert_eq!(e.name(), ErrorName::Frozen);
        assert!(
            e.message().contains("until 2026-12-07T05:00:00Z") && e.message().contains("nothing"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn an_override_goes_on_and_is_recorded() {
        let o = FreezeOverride {
            reason: "hotfix INC-42".into(),
            by: "alice".into(),
        };
        let check = decide_freeze(
            "prod/web",
            &[weekend(OnFreeze::Refuse)],
            Some(&o),
            utc(FRIDAY_NIGHT),
        )
        .unwrap();
        assert_eq!(check.decision, FreezeDecision::Overridden);
        assert_eq!(check.overridden_by.as_ref(), Some(&o));
        assert!(check.detail.ends_with("overridden by alice: hotfix INC-42"));
        let wire = serde_json::to_value(&check).unwrap();
        assert_eq!(wire["override"]["reason"], "hotfix INC-42");
        assert_eq!(wire["decision"], "OVERRIDDEN");
        // AND outside a window the override changes nothing
        let open = decide_freeze(
            "prod/web",
            &[weekend(OnFreeze::Wait)],
            Some(&o),
            utc(WEDNESDAY),
        )
        .unwrap();
        assert_eq!(open.decision, FreezeDecision::Open);
    }

    #[test]
    fn with_two_calendars_holding_it_waits_for_the_later_end_and_a_refusing_one_wins() {
        let nightly = FreezeConfig {
            source: "installation freeze (FreezeWindows)".into(),
            time_zone: "UTC".into(),
            windows: vec!["2026-12-04T00:00 - 2026-12-08T00:00".into()],
            on_freeze: OnFreeze::Wait,
        };
        let check = decide_freeze(
            "prod/web",
            &[weekend(OnFreeze::Wait), nightly.clone()],
            None,
            utc(FRIDAY_NIGHT),
        )
        .unwrap();
        assert_eq!(check.until.as_deref(), Some("2026-12-08T00:00:00Z"));
        assert_eq!(check.source.as_deref(), Some(nightly.source.as_str()));
        let e = decide_freeze(
            "prod/web",
            &[weekend(OnFreeze::Refuse), nightly],
            None,
            utc(FRIDAY_NIGHT),
        )
        .unwrap_err();
        assert_eq!(e.name(), ErrorName::Frozen);
    }

    #[test]
    fn freeze_tags_are_read_and_every_typo_is_invalid_input() {
        let ok = freeze_from_tags(
            "web",
            tags_of(&[
                (tags::FREEZE, "Fri 18:00 - Mon 06:00 / daily 22:00 - 06:00"),
                (tags::FREEZE_TIME_ZONE, "Europe/Berlin"),
                (tags::FREEZE_ACTION, "refuse"),
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(ok.windows, ["Fri 18:00 - Mon 06:00", "daily 22:00 - 06:00"]);
        assert_eq!(ok.on_freeze, OnFreeze::Refuse);
        assert_eq!(freeze_from_tags("web", tags_of(&[])).unwrap(), None);
        let bad: &[&[(&str, &str)]] = &[
            // a bad window format
            &[
                (tags::FREEZE, "Fri 18:00-Mon 06:00"),
                (tags::FREEZE_TIME_ZONE, "UTC"),
            ],
            &[
                (tags::FREEZE, "Fri 18:00 - Mon 06:00 / "),
                (tags::FREEZE_TIME_ZONE, "UTC"),
            ],
            // a bad time zone, or none
            &[
                (tags::FREEZE, "Fri 18:00 - Mon 06:00"),
                (tags::FREEZE_TIME_ZONE, "Europe/Berlim"),
            ],
            &[(tags::FREEZE, "Fri 18:00 - Mon 06:00")],
            // a bad action
            &[
                (tags::FREEZE, "Fri 18:00 - Mon 06:00"),
                (tags::FREEZE_TIME_ZONE, "UTC"),
                (tags::FREEZE_ACTION, "block"),
            ],
            // settings without windows (a misspelt windows key)
            &[
                ("berth:freze", "Fri 18:00 - Mon 06:00"),
                (tags::FREEZE_TIME_ZONE, "UTC"),
            ],
        ];
        for tags in bad {
            let e = freeze_from_tags("web", tags_of(tags)).unwrap_err();
            assert_eq!(e.name(), ErrorName::InvalidInput, "{tags:?}");
            assert!(e.message().contains("web"), "{}", e.message());
        }
    }

    #[test]
    fn the_installation_freeze_is_checked_like_a_service_one() {
        assert_eq!(installation_freeze("", "UTC", "wait").unwrap(), None);
        let c = installation_freeze("daily 22:00 - 06:00", "", "")
            .unwrap()
            .unwrap();
        assert_eq!((c.time_zone.as_str(), c.on_freeze), ("UTC", OnFreeze::Wait));
        for (w, z, a) in [
            ("daily 22:00 - 6:00", "UTC", "wait"),
            ("daily 22:00 - 06:00", "Mars/Olympus", "wait"),
            ("daily 22:00 - 06:00", "UTC", "Refuse"),
        ] {
            let e = installation_freeze(w, z, a).unwrap_err();
            assert_eq!(e.name(), ErrorName::InvalidInput, "{w} {z} {a}");
            assert!(e.message().contains("installation"), "{}", e.message());
        }
    }

    #[test]
    fn an_override_needs_a_reason() {
        let blank = FreezeOverride {
            reason: "  ".into(),
            by: "alice".into(),
        };
        assert_eq!(blank.check().unwrap_err().name(), ErrorName::InvalidInput);
        assert!(
            serde_json::from_value::<FreezeOverride>(json!({"reason": "x", "who": "a"})).is_err()
        );
    }

    #[test]
    fn scan_tags_are_read_and_every_typo_is_invalid_input() {
        let p = scan_from_tags(
            "web",
            tags_of(&[
                (tags::SCAN, "HIGH"),
                (tags::SCAN_NO_SCAN, "allow"),
                (tags::SCAN_MAX_WAIT_SECONDS, "120"),
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            p,
            ScanPolicy {
                threshold: Severity::High,
                on_no_scan: NoScan::Allow,
                max_wait_seconds: 120
            }
        );
        assert_eq!(
            scan_from_tags("web", tags_of(&[(tags::SCAN, "CRITICAL")])).unwrap(),
            Some(ScanPolicy::default())
        );
        assert_eq!(scan_from_tags("web", tags_of(&[])).unwrap(), None);
        let bad: &[&[(&str, &str)]] = &[
            &[(tags::SCAN, "SEVERE")],
            &[(tags::SCAN, "critical")],
            &[(tags::SCAN, "UNDEFINED")],
            &[(tags::SCAN, "HIGH"), (tags::SCAN_NO_SCAN, "deny")],
            &[(tags::SCAN, "HIGH"), (tags::SCAN_MAX_WAIT_SECONDS, "10m")],
            &[(tags::SCAN, "HIGH"), (tags::SCAN_MAX_WAIT_SECONDS, "86400")],
            &[(tags::SCAN_NO_SCAN, "allow")],
        ];
        for tags in bad {
            let e = scan_from_tags("web", tags_of(tags)).unwrap_err();
            assert_eq!(e.name(), ErrorName::InvalidInput, "{tags:?}");
        }
    }

    #[test]
    fn the_request_policy_refuses_an_unknown_severity() {
        let e = serde_json::from_value::<ScanPolicy>(json!({"threshold": "SEVERE"})).unwrap_err();
        assert!(e.to_string().contains("SEVERE"), "{e}");
        assert!(serde_json::from_value::<ScanPolicy>(json!({"onNoScan": "deny"})).is_err());
        assert!(serde_json::from_value::<ScanPolicy>(json!({"treshold": "HIGH"})).is_err());
    }

    #[test]
    fn an_ecr_image_names_its_registry_repository_and_digest() {
        let d = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let t = scan_target(&format!(
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:v2@{d}"
        ))
        .unwrap()
        .unwrap();
        assert_eq!(t.registry_id, "123456789012");
        assert_eq!(t.region, "eu-west-1");
        assert_eq!(t.repository, "team/web");
        assert_eq!(t.digest.as_deref(), Some(d));
        assert_eq!(t.tag, None);
        let tagged = scan_target("123456789012.dkr.ecr.eu-west-1.amazonaws.com/web")
            .unwrap()
            .unwrap();
        assert_eq!(tagged.tag.as_deref(), Some("latest"));
        assert!(scan_target("nginx:1.27").unwrap().is_err());
        assert!(scan_target("ghcr.io/acme/web:1").unwrap().is_err());
    }

    fn complete(counts: serde_json::Value, findings: serde_json::Value) -> ScanLookup {
        ScanLookup::Found(
            ScanReport::from_pages(&[json!({
                "imageScanStatus": {"status": "COMPLETE"},
                "imageScanFindings": {"findingSeverityCounts": counts, "findings": findings}
            })])
            .unwrap(),
        )
    }

    #[test]
    fn a_critical_finding_is_image_scan_failed_with_counts_and_the_worst() {
        let lookup = complete(
            json!({"CRITICAL": 1, "HIGH": 1}),
            json!([{"name": "CVE-2026-0001", "severity": "CRITICAL",
                    "attributes": [{"key": "package_name", "value": "openssl"}]}]),
        );
        let e = judge_scan(
            "web@sha256:aa",
            Ok(&lookup),
            &ScanPolicy::default(),
            None,
            15,
            utc(WEDNESDAY),
        )
        .unwrap_err();
        assert_eq!(e.name(), ErrorName::ImageScanFailed);
        assert!(
            e.message().contains("CRITICAL 1, HIGH 1")
                && e.message().contains("CVE-2026-0001 CRITICAL in openssl"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn a_running_scan_waits_from_its_first_look_at_the_poll_interval_then_refuses() {
        let running = ScanLookup::Found(
            ScanReport::from_pages(&[json!({"imageScanStatus": {"status": "IN_PROGRESS"}})])
                .unwrap(),
        );
        let policy = ScanPolicy {
            max_wait_seconds: 60,
            ..ScanPolicy::default()
        };
        let first = judge_scan("i", Ok(&running), &policy, None, 2, utc(WEDNESDAY)).unwrap();
        assert_eq!(first.waiting_since, WEDNESDAY);
        let wire = serde_json::to_value(&first).unwrap();
        assert_eq!(wire["verdict"], "wait");
        assert_eq!(wire["retryAfterSeconds"], 2);
        // WHEN asked again with the earlier result, past the limit
        let earlier: EarlierScan = serde_json::from_value(wire).unwrap();
        let e = judge_scan(
            "i",
            Ok(&running),
            &policy,
            Some(&earlier),
            2,
            utc("2026-12-02T12:01:00Z"),
        )
        .unwrap_err();
        assert_eq!(e.name(), ErrorName::ImageScanFailed);
        assert!(e.message().contains("still IN_PROGRESS"), "{}", e.message());
    }

    #[test]
    fn no_scan_is_refused_by_default_and_allowed_when_configured() {
        let none = ScanLookup::NotFound;
        let e = judge_scan(
            "i",
            Ok(&none),
            &ScanPolicy::default(),
            None,
            5,
            utc(WEDNESDAY),
        )
        .unwrap_err();
        assert_eq!(e.name(), ErrorName::ImageScanFailed);
        let allow = ScanPolicy {
            on_no_scan: NoScan::Allow,
            ..ScanPolicy::default()
        };
        let ok = judge_scan("i", Ok(&none), &allow, None, 5, utc(WEDNESDAY)).unwrap();
        assert_eq!(serde_json::to_value(&ok).unwrap()["verdict"], "allow");
        // an image outside ECR is no scan too
        let e = judge_scan(
            "nginx",
            Err("nginx is not in an ECR registry"),
            &ScanPolicy::default(),
            None,
            5,
            utc(WEDNESDAY),
        )
        .unwrap_err();
        assert!(e.message().starts_with("nginx is not in an ECR registry"));
    }
}
