//! The image-scan gate: from ECR's DescribeImageScanFindings answer, allow, refuse or wait.
//!
//! Input is the response as ECR gives it (JSON, camelCase; basic scanning fills
//! `imageScanFindings.findings[]`, enhanced scanning (Amazon Inspector) `enhancedFindings[]`), or
//! "no scan" when ECR answered `ScanNotFoundException`. The verdict counts findings from
//! `findingSeverityCounts` (complete even when the findings list is paginated) and lists the worst
//! findings. A scan that never gives a usable result (no scan, FAILED, UNSUPPORTED_IMAGE,
//! FINDINGS_UNAVAILABLE, SCAN_ELIGIBILITY_EXPIRED, LIMIT_EXCEEDED, IMAGE_ARCHIVED) is refused or
//! allowed as configured; one still running (IN_PROGRESS, PENDING) is waited for until a limit,
//! then treated like no scan.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::time::DateTime;

/// How many findings a verdict lists (worst first).
pub const WORST_LISTED: usize = 5;

/// Severity as ECR spells it. Basic scanning: INFORMATIONAL LOW MEDIUM HIGH CRITICAL UNDEFINED;
/// enhanced scanning adds UNTRIAGED (Inspector has not rated it yet). Order: UNDEFINED and
/// UNTRIAGED are below INFORMATIONAL, so a threshold never blocks on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Undefined,
    Untriaged,
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Undefined => "UNDEFINED",
            Severity::Untriaged => "UNTRIAGED",
            Severity::Informational => "INFORMATIONAL",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// A severity ECR reports: an unknown spelling is UNDEFINED (never blocks by itself, but is
    /// still counted and listed).
    pub fn from_ecr(s: &str) -> Self {
        match s {
            "UNTRIAGED" => Severity::Untriaged,
            "INFORMATIONAL" => Severity::Informational,
            "LOW" => Severity::Low,
            "MEDIUM" => Severity::Medium,
            "HIGH" => Severity::High,
            "CRITICAL" => Severity::Critical,
            _ => Severity::Undefined,
        }
    }

    /// A threshold from configuration: exactly one of INFORMATIONAL LOW MEDIUM HIGH CRITICAL.
    pub fn parse_threshold(s: &str) -> Result<Self> {
        match s {
            "INFORMATIONAL" | "LOW" | "MEDIUM" | "HIGH" | "CRITICAL" => Ok(Self::from_ecr(s)),
            _ => Err(Error::invalid_input(format!(
                "scan threshold {s:?} is not one of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL"
            ))),
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to do when there is no usable scan result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum NoScan {
    #[default]
    Refuse,
    Allow,
}

/// A service's scan gate settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScanPolicy {
    /// Findings at or above this severity refuse the image (INFORMATIONAL LOW MEDIUM HIGH CRITICAL).
    #[serde(default = "default_threshold", deserialize_with = "threshold")]
    #[cfg_attr(
        feature = "schema",
        schemars(
            with = "String",
            extend("enum" = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"])
        )
    )]
    pub threshold: Severity,
    /// No scan, a failed scan, or a scan still running past `maxWaitSeconds`.
    #[serde(default)]
    pub on_no_scan: NoScan,
    /// How long to wait for a scan that is IN_PROGRESS or PENDING (0 to 3600).
    #[serde(default = "default_max_wait")]
    #[cfg_attr(feature = "schema", schemars(range(min = 0, max = 3600)))]
    pub max_wait_seconds: u64,
}

fn threshold<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Severity, D::Error> {
    let s = String::deserialize(d)?;
    Severity::parse_threshold(&s).map_err(|e| serde::de::Error::custom(e.message()))
}

fn default_threshold() -> Severity {
    Severity::Critical
}

fn default_max_wait() -> u64 {
    600
}

impl Default for ScanPolicy {
    fn default() -> Self {
        Self {
            threshold: default_threshold(),
            on_no_scan: NoScan::default(),
            max_wait_seconds: default_max_wait(),
        }
    }
}

/// One finding, basic or enhanced, reduced to what a verdict shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// CVE or other vulnerability id (basic: `name`; enhanced: `packageVulnerabilityDetails.vulnerabilityId`, else `title`).
    pub id: String,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_in: Option<String>,
    /// CVSS score when ECR gives one (basic: CVSS3_SCORE or CVSS2_SCORE attribute; enhanced: `score`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// The scan state and findings of one image, from one or more DescribeImageScanFindings pages.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScanReport {
    /// `imageScanStatus.status` (COMPLETE, ACTIVE, IN_PROGRESS, PENDING, FAILED, ...).
    pub status: String,
    pub description: Option<String>,
    /// `findingSeverityCounts`, by ECR's spelling.
    pub counts: BTreeMap<String, u64>,
    pub findings: Vec<Finding>,
}

impl ScanReport {
    /// Read the pages of one DescribeImageScanFindings call sequence (same image, `nextToken`
    /// followed). Status and counts come from the last page; findings are concatenated.
    pub fn from_pages(pages: &[Value]) -> Result<Self> {
        let mut report = ScanReport::default();
        if pages.is_empty() {
            return Err(Error::invalid_input(
                "DescribeImageScanFindings: no response to read",
            ));
        }
        for page in pages {
            let status = page
                .pointer("/imageScanStatus/status")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    Error::invalid_input(
                        "DescribeImageScanFindings response without imageScanStatus.status",
                    )
                })?;
            report.status = status.to_string();
            report.description = page
                .pointer("/imageScanStatus/description")
                .and_then(Value::as_str)
                .map(str::to_string);
            let findings = page.get("imageScanFindings");
            if let Some(counts) = findings
                .and_then(|f| f.get("findingSeverityCounts"))
                .and_then(Value::as_object)
            {
                report.counts = counts
                    .iter()
                    .filter_map(|(k, v)| v.as_u64().map(|n| (k.clone(), n)))
                    .collect();
            }
            for f in findings
                .and_then(|f| f.get("findings"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                report.findings.push(basic_finding(f));
            }
            for f in findings
                .and_then(|f| f.get("enhancedFindings"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                // Suppressed or closed findings are not the image's problem any more.
                let status = f.get("status").and_then(Value::as_str).unwrap_or("ACTIVE");
                if status == "ACTIVE" {
                    report.findings.push(enhanced_finding(f));
                }
            }
        }
        Ok(report)
    }

    /// Findings at or above `threshold`, from the counts (or the list when ECR sent no counts).
    pub fn at_or_above(&self, threshold: Severity) -> u64 {
        if self.counts.is_empty() {
            return self
                .findings
                .iter()
                .filter(|f| f.severity >= threshold)
                .count() as u64;
        }
        self.counts
            .iter()
            .filter(|(k, _)| Severity::from_ecr(k) >= threshold)
            .map(|(_, n)| n)
            .sum()
    }

    /// The worst `n` findings: severity, then score, highest first; then id.
    pub fn worst(&self, n: usize) -> Vec<Finding> {
        let mut all = self.findings.clone();
        all.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.score.unwrap_or(-1.0).total_cmp(&a.score.unwrap_or(-1.0)))
                .then(a.id.cmp(&b.id))
        });
        all.dedup_by(|a, b| a.id == b.id && a.package == b.package);
        all.truncate(n);
        all
    }
}

fn basic_finding(f: &Value) -> Finding {
    let attr = |key: &str| {
        f.get("attributes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|a| a.get("key").and_then(Value::as_str) == Some(key))
            .and_then(|a| a.get("value"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Finding {
        id: str_at(f, "/name").unwrap_or_else(|| "unnamed".into()),
        severity: Severity::from_ecr(&str_at(f, "/severity").unwrap_or_default()),
        package: attr("package_name"),
        fixed_in: None,
        score: attr("CVSS3_SCORE")
            .or_else(|| attr("CVSS2_SCORE"))
            .and_then(|s| s.parse().ok()),
    }
}

fn enhanced_finding(f: &Value) -> Finding {
    let package = f
        .pointer("/packageVulnerabilityDetails/vulnerablePackages/0")
        .cloned()
        .unwrap_or(Value::Null);
    let package_name = str_at(&package, "/name").map(|name| match str_at(&package, "/version") {
        Some(v) => format!("{name} {v}"),
        None => name,
    });
    Finding {
        id: str_at(f, "/packageVulnerabilityDetails/vulnerabilityId")
            .or_else(|| str_at(f, "/title"))
            .unwrap_or_else(|| "unnamed".into()),
        severity: Severity::from_ecr(&str_at(f, "/severity").unwrap_or_default()),
        package: package_name,
        fixed_in: str_at(&package, "/fixedInVersion").filter(|v| v != "NotAvailable"),
        score: f.get("score").and_then(Value::as_f64),
    }
}

fn str_at(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// What ECR answered for the image.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanLookup {
    /// `ScanNotFoundException`: the image was never scanned.
    NotFound,
    Found(ScanReport),
}

/// The gate's decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    rename_all = "camelCase",
    tag = "verdict",
    rename_all_fields = "camelCase"
)]
pub enum ScanVerdict {
    Allow {
        /// `findingSeverityCounts` as ECR gave them (empty when allowed without a scan).
        counts: BTreeMap<String, u64>,
        worst: Vec<Finding>,
        reason: String,
    },
    Refuse {
        counts: BTreeMap<String, u64>,
        /// How many findings are at or above the threshold (0 when refused for lack of a scan).
        blocking: u64,
        worst: Vec<Finding>,
        reason: String,
    },
    /// The scan is still running: ask again after `retry_after_seconds`, not later than `until`.
    Wait {
        status: String,
        until: String,
        retry_after_seconds: u64,
    },
}

/// Statuses with a result to judge: basic COMPLETE, enhanced ACTIVE (continuous scanning).
const DONE: &[&str] = &["COMPLETE", "ACTIVE"];
/// Statuses a later call may turn into a result.
const RUNNING: &[&str] = &["IN_PROGRESS", "PENDING"];
/// How often to look again while a scan runs.
const RETRY_SECONDS: u64 = 15;

/// Decide for one image. `waiting_since` is when the gate first saw this image's scan (the state
/// document keeps it), `now` the current time.
pub fn decide(
    image: &str,
    lookup: &ScanLookup,
    policy: &ScanPolicy,
    waiting_since: DateTime,
    now: DateTime,
) -> ScanVerdict {
    let no_scan = |why: String, counts: BTreeMap<String, u64>| match policy.on_no_scan {
        NoScan::Allow => ScanVerdict::Allow {
            counts,
            worst: Vec::new(),
            reason: format!("{image}: {why}; allowed (onNoScan: allow)"),
        },
        NoScan::Refuse => ScanVerdict::Refuse {
            counts,
            blocking: 0,
            worst: Vec::new(),
            reason: format!("{image}: {why}; refused (onNoScan: refuse)"),
        },
    };
    let report = match lookup {
        ScanLookup::NotFound => {
            return no_scan("ECR has no scan of this image".into(), BTreeMap::new())
        }
        ScanLookup::Found(report) => report,
    };
    let status = report.status.as_str();
    let described = report
        .description
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default();
    if RUNNING.contains(&status) {
        let deadline = crate::time::plus_secs(waiting_since, policy.max_wait_seconds);
        if now.secs() < deadline.secs() {
            let left = u64::try_from(deadline.secs() - now.secs()).unwrap_or(0);
            return ScanVerdict::Wait {
                status: status.to_string(),
                until: crate::time::format(deadline),
                retry_after_seconds: RETRY_SECONDS.min(left.max(1)),
            };
        }
        return no_scan(
            format!(
                "the scan is still {status} after {} s (maxWaitSeconds)",
                policy.max_wait_seconds
            ),
            report.counts.clone(),
        );
    }
    if !DONE.contains(&status) {
        return no_scan(
            format!("the scan gave no result: {status}{described}"),
            report.counts.clone(),
        );
    }
    let blocking = report.at_or_above(policy.threshold);
    let worst = report.worst(WORST_LISTED);
    let summary = summary(&report.counts);
    if blocking > 0 {
        let listed: Vec<String> = worst
            .iter()
            .filter(|f| f.severity >= policy.threshold)
            .map(describe)
            .collect();
        ScanVerdict::Refuse {
            counts: report.counts.clone(),
            blocking,
            reason: format!(
                "{image}: {blocking} finding(s) at or above {} ({summary}): {}",
                policy.threshold,
                if listed.is_empty() {
                    "not listed on this page".to_string()
                } else {
                    listed.join(", ")
                }
            ),
            worst,
        }
    } else {
        ScanVerdict::Allow {
            counts: report.counts.clone(),
            reason: format!(
                "{image}: no finding at or above {} ({summary})",
                policy.threshold
            ),
            worst,
        }
    }
}

fn summary(counts: &BTreeMap<String, u64>) -> String {
    if counts.values().all(|n| *n == 0) {
        return "no findings".into();
    }
    let mut by_severity: Vec<(Severity, &String, u64)> = counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (Severity::from_ecr(k), k, *n))
        .collect();
    by_severity.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    by_severity
        .iter()
        .map(|(_, k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe(f: &Finding) -> String {
    let mut out = format!("{} {}", f.id, f.severity);
    if let Some(p) = &f.package {
        out.push_str(&format!(" in {p}"));
    }
    if let Some(v) = &f.fixed_in {
        out.push_str(&format!(" (fixed in {v})"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const IMAGE: &str = "web@sha256:aaaa";

    fn t(secs: i64) -> DateTime {
        DateTime::from_secs(1_796_000_000 + secs)
    }

    fn basic(status: &str, counts: Value, findings: Value) -> ScanLookup {
        // The shape of DescribeImageScanFindings with basic scanning (botocore's ecr model).
        let page = json!({
            "registryId": "123456789012",
            "repositoryName": "web",
            "imageId": {"imageDigest": "sha256:aaaa", "imageTag": "v2"},
            "imageScanStatus": {"status": status, "description": "The scan was completed successfully."},
            "imageScanFindings": {
                "imageScanCompletedAt": 1796000000.0,
                "vulnerabilitySourceUpdatedAt": 1795990000.0,
                "findingSeverityCounts": counts,
                "findings": findings
            }
        });
        ScanLookup::Found(ScanReport::from_pages(&[page]).unwrap())
    }

    fn basic_finding_json(name: &str, severity: &str, package: &str, score: &str) -> Value {
        json!({
            "name": name,
            "uri": format!("https://cve.mitre.org/cgi-bin/cvename.cgi?name={name}"),
            "severity": severity,
            "attributes": [
                {"key": "package_version", "value": "1.0"},
                {"key": "package_name", "value": package},
                {"key": "CVSS3_SCORE", "value": score}
            ]
        })
    }

    fn enhanced_page(findings: Value, counts: Value) -> Value {
        json!({
            "registryId": "123456789012",
            "repositoryName": "web",
            "imageId": {"imageDigest": "sha256:aaaa"},
            "imageScanStatus": {"status": "ACTIVE", "description": "Continuous scan is selected for image."},
            "imageScanFindings": {"findingSeverityCounts": counts, "enhancedFindings": findings}
        })
    }

    fn enhanced_finding_json(id: &str, severity: &str, score: f64, status: &str) -> Value {
        json!({
            "awsAccountId": "123456789012",
            "findingArn": format!("arn:aws:inspector2:us-east-1:123456789012:finding/{id}"),
            "severity": severity,
            "score": score,
            "status": status,
            "title": format!("{id} - openssl"),
            "type": "PACKAGE_VULNERABILITY",
            "packageVulnerabilityDetails": {
                "vulnerabilityId": id,
                "source": "NVD",
                "vulnerablePackages": [{"name": "openssl", "version": "3.0.1", "fixedInVersion": "3.0.2", "packageManager": "OS"}]
            }
        })
    }

    #[test]
    fn a_critical_basic_finding_refuses_with_counts_and_the_worst_listed() {
        // GIVEN a complete basic scan with one CRITICAL and two HIGH findings
        let lookup = basic(
            "COMPLETE",
            json!({"CRITICAL": 1, "HIGH": 2, "LOW": 4}),
            json!([
                basic_finding_json("CVE-2026-0002", "HIGH", "zlib", "7.5"),
                basic_finding_json("CVE-2026-0001", "CRITICAL", "openssl", "9.8"),
                basic_finding_json("CVE-2026-0003", "HIGH", "curl", "8.1"),
            ]),
        );
        // WHEN the default policy (CRITICAL) decides
        let verdict = decide(IMAGE, &lookup, &ScanPolicy::default(), t(0), t(0));
        // THEN it refuses, counting 1 blocking finding and listing the worst first
        let ScanVerdict::Refuse {
            blocking,
            worst,
            reason,
            counts,
        } = verdict
        else {
            panic!("{verdict:?}")
        };
        assert_eq!(blocking, 1);
        assert_eq!(counts["HIGH"], 2);
        let ids: Vec<&str> = worst.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["CVE-2026-0001", "CVE-2026-0003", "CVE-2026-0002"]);
        assert_eq!(worst[0].package.as_deref(), Some("openssl"));
        assert_eq!(worst[0].score, Some(9.8));
        assert_eq!(
            reason,
            "web@sha256:aaaa: 1 finding(s) at or above CRITICAL (CRITICAL 1, HIGH 2, LOW 4): \
             CVE-2026-0001 CRITICAL in openssl"
        );
    }

    #[test]
    fn findings_below_the_threshold_allow() {
        let lookup = basic(
            "COMPLETE",
            json!({"HIGH": 2}),
            json!([basic_finding_json("CVE-2026-0002", "HIGH", "zlib", "7.5")]),
        );
        let verdict = decide(IMAGE, &lookup, &ScanPolicy::default(), t(0), t(0));
        assert!(
            matches!(&verdict, ScanVerdict::Allow { reason, worst, .. }
                if reason == "web@sha256:aaaa: no finding at or above CRITICAL (HIGH 2)" && worst.len() == 1),
            "{verdict:?}"
        );
        // The same scan with threshold HIGH refuses.
        let policy = ScanPolicy {
            threshold: Severity::High,
            ..ScanPolicy::default()
        };
        assert!(matches!(
            decide(IMAGE, &lookup, &policy, t(0), t(0)),
            ScanVerdict::Refuse { blocking: 2, .. }
        ));
    }

    #[test]
    fn a_clean_scan_allows() {
        let lookup = basic("COMPLETE", json!({}), json!([]));
        let verdict = decide(IMAGE, &lookup, &ScanPolicy::default(), t(0), t(0));
        assert!(
            matches!(&verdict, ScanVerdict::Allow { reason, .. } if reason.ends_with("(no findings)")),
            "{verdict:?}"
        );
    }

    #[test]
    fn counts_decide_even_when_the_critical_finding_is_on_a_later_page() {
        // A first page of LOW findings; the counts still say CRITICAL 1.
        let lookup = basic(
            "COMPLETE",
            json!({"CRITICAL": 1, "LOW": 100}),
            json!([basic_finding_json("CVE-2026-0100", "LOW", "bash", "2.0")]),
        );
        let verdict = decide(IMAGE, &lookup, &ScanPolicy::default(), t(0), t(0));
        assert!(
            matches!(&verdict, ScanVerdict::Refuse { blocking: 1, reason, .. } if reason.ends_with("not listed on this page")),
            "{verdict:?}"
        );
    }

    #[test]
    fn enhanced_findings_are_read_and_suppressed_ones_are_not_listed() {
        let page = enhanced_page(
            json!([
                enhanced_finding_json("CVE-2026-1000", "HIGH", 7.2, "ACTIVE"),
                enhanced_finding_json("CVE-2026-1001", "CRITICAL", 9.1, "ACTIVE"),
                enhanced_finding_json("CVE-2026-1002", "CRITICAL", 9.9, "SUPPRESSED"),
                enhanced_finding_json("CVE-2026-1003", "UNTRIAGED", 0.0, "ACTIVE"),
            ]),
            json!({"CRITICAL": 1, "HIGH": 1, "UNTRIAGED": 1}),
        );
        let report = ScanReport::from_pages(&[page]).unwrap();
        assert_eq!(report.status, "ACTIVE");
        let verdict = decide(
            IMAGE,
            &ScanLookup::Found(report),
            &ScanPolicy::default(),
            t(0),
            t(0),
        );
        let ScanVerdict::Refuse {
            blocking,
            worst,
            reason,
            ..
        } = verdict
        else {
            panic!("{verdict:?}")
        };
        assert_eq!(blocking, 1);
        let ids: Vec<&str> = worst.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["CVE-2026-1001", "CVE-2026-1000", "CVE-2026-1003"]);
        assert_eq!(worst[0].package.as_deref(), Some("openssl 3.0.1"));
        assert_eq!(worst[0].fixed_in.as_deref(), Some("3.0.2"));
        assert!(
            reason.ends_with("CVE-2026-1001 CRITICAL in openssl 3.0.1 (fixed in 3.0.2)"),
            "{reason}"
        );
        // UNTRIAGED never reaches a threshold.
        let low = ScanPolicy {
            threshold: Severity::Informational,
            ..ScanPolicy::default()
        };
        let page = enhanced_page(
            json!([enhanced_finding_json(
                "CVE-2026-1003",
                "UNTRIAGED",
                0.0,
                "ACTIVE"
            )]),
            json!({"UNTRIAGED": 1}),
        );
        let lookup = ScanLookup::Found(ScanReport::from_pages(&[page]).unwrap());
        assert!(matches!(
            decide(IMAGE, &lookup, &low, t(0), t(0)),
            ScanVerdict::Allow { .. }
        ));
    }

    #[test]
    fn pages_are_concatenated() {
        let p1 = enhanced_page(
            json!([enhanced_finding_json("CVE-1", "HIGH", 7.0, "ACTIVE")]),
            json!({"HIGH": 2}),
        );
        let p2 = enhanced_page(
            json!([enhanced_finding_json("CVE-2", "HIGH", 8.0, "ACTIVE")]),
            json!({"HIGH": 2}),
        );
        let report = ScanReport::from_pages(&[p1, p2]).unwrap();
        assert_eq!(report.findings.len(), 2);
        assert_eq!(report.worst(1)[0].id, "CVE-2");
    }

    #[test]
    fn no_scan_refuses_by_default_and_allows_when_configured() {
        let refused = decide(
            IMAGE,
            &ScanLookup::NotFound,
            &ScanPolicy::default(),
            t(0),
            t(0),
        );
        assert_eq!(
            refused,
            ScanVerdict::Refuse {
                counts: BTreeMap::new(),
                blocking: 0,
                worst: vec![],
                reason:
                    "web@sha256:aaaa: ECR has no scan of this image; refused (onNoScan: refuse)"
                        .into()
            }
        );
        let allow = ScanPolicy {
            on_no_scan: NoScan::Allow,
            ..ScanPolicy::default()
        };
        assert!(matches!(
            decide(IMAGE, &ScanLookup::NotFound, &allow, t(0), t(0)),
            ScanVerdict::Allow { .. }
        ));
    }

    #[test]
    fn a_failed_scan_follows_the_no_scan_policy() {
        for status in ["FAILED", "UNSUPPORTED_IMAGE", "FINDINGS_UNAVAILABLE"] {
            let lookup = basic(status, json!({}), json!([]));
            let verdict = decide(IMAGE, &lookup, &ScanPolicy::default(), t(0), t(0));
            assert!(
                matches!(&verdict, ScanVerdict::Refuse { reason, .. } if reason.contains(&format!("no result: {status}"))),
                "{verdict:?}"
            );
        }
    }

    #[test]
    fn a_running_scan_is_waited_for_until_the_limit_then_treated_as_no_scan() {
        let lookup = basic("IN_PROGRESS", json!({}), json!([]));
        let policy = ScanPolicy {
            max_wait_seconds: 60,
            ..ScanPolicy::default()
        };
        assert_eq!(
            decide(IMAGE, &lookup, &policy, t(0), t(10)),
            ScanVerdict::Wait {
                status: "IN_PROGRESS".into(),
                until: crate::time::format(t(60)),
                retry_after_seconds: 15
            }
        );
        assert!(matches!(
            decide(IMAGE, &lookup, &policy, t(0), t(55)),
            ScanVerdict::Wait {
                retry_after_seconds: 5,
                ..
            }
        ));
        let verdict = decide(IMAGE, &lookup, &policy, t(0), t(60));
        assert!(
            matches!(&verdict, ScanVerdict::Refuse { reason, .. } if reason.contains("still IN_PROGRESS after 60 s")),
            "{verdict:?}"
        );
    }

    #[test]
    fn the_verdict_serialises_for_the_state_document() {
        let v = decide(
            IMAGE,
            &ScanLookup::NotFound,
            &ScanPolicy::default(),
            t(0),
            t(0),
        );
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["verdict"], "refuse");
        assert_eq!(json["blocking"], 0);
        let w = decide(
            IMAGE,
            &basic("PENDING", json!({}), json!([])),
            &ScanPolicy::default(),
            t(0),
            t(0),
        );
        assert_eq!(serde_json::to_value(&w).unwrap()["retryAfterSeconds"], 15);
    }

    #[test]
    fn the_policy_reads_camel_case_with_defaults_and_a_strict_threshold() {
        let p: ScanPolicy =
            serde_json::from_str(r#"{"threshold": "HIGH", "onNoScan": "allow"}"#).unwrap();
        assert_eq!(p.threshold, Severity::High);
        assert_eq!(p.on_no_scan, NoScan::Allow);
        assert_eq!(p.max_wait_seconds, 600);
        assert_eq!(
            serde_json::from_str::<ScanPolicy>("{}").unwrap(),
            ScanPolicy::default()
        );
        assert!(serde_json::from_str::<ScanPolicy>(r#"{"threshold": "critical"}"#).is_err());
        assert!(serde_json::from_str::<ScanPolicy>(r#"{"treshold": "HIGH"}"#).is_err());
        assert!(Severity::parse_threshold("UNTRIAGED").is_err());
        assert_eq!(
            Severity::parse_threshold("MEDIUM").unwrap(),
            Severity::Medium
        );
    }

    #[test]
    fn a_response_without_a_status_is_an_error() {
        assert!(ScanReport::from_pages(&[json!({"imageScanFindings": {}})]).is_err());
        assert!(ScanReport::from_pages(&[]).is_err());
    }
}
