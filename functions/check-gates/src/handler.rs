//! Decide one release gate for one service's deployment: the freeze calendars at this instant
//! (`CheckFreeze`), or the image's ECR scan findings (`CheckScan`). Nothing is changed either way.

use aws_sdk_ecr::operation::describe_image_scan_findings::DescribeImageScanFindingsOutput;
use aws_sdk_ecr::types::ImageIdentifier;
use aws_sdk_ecr::Client;
use berth::error::{Error, Result};
use berth::gates::{self, EarlierScan, FreezeConfig, FreezeOverride, ScanTarget};
use berth::model::{parse_input, require, DEFAULT_POLL_INTERVAL_SECONDS};
use berth::scan::{ScanLookup, ScanPolicy, ScanReport};
use berth::time::DateTime;
use serde::Deserialize;
use serde_json::{json, Value};

/// Pages of findings read at most (1,000 findings each): the counts are complete on every page,
/// the pages only add to the list of the worst.
const MAX_PAGES: usize = 5;

/// What the state machine sends: which gate, and the service's whole document (`"document.$": "$"`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GateInput {
    pub gate: Gate,
    pub document: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gate {
    Freeze,
    Scan,
}

/// What `CheckFreeze` reads of the document.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FreezeInput {
    cluster: String,
    service: String,
    #[serde(default)]
    freeze: Vec<FreezeConfig>,
    #[serde(default)]
    override_freeze: Option<FreezeOverride>,
}

/// What `CheckScan` reads of the document.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScanInput {
    cluster: String,
    service: String,
    image: String,
    scan: ScanPolicy,
    /// The previous `CheckScan` while the state machine waits for a running scan.
    #[serde(default)]
    scan_result: Option<EarlierScan>,
    #[serde(default)]
    poll_interval_seconds: Option<u64>,
}

pub async fn run(ecr: &Client, payload: Value, now: DateTime) -> Result<Value> {
    let input: GateInput = parse_input("check-gates", payload)?;
    let out = match input.gate {
        Gate::Freeze => {
            let doc: FreezeInput = parse_input("check-gates (freeze)", input.document)?;
            require("cluster", &doc.cluster)?;
            require("service", &doc.service)?;
            let target = format!("{}/{}", doc.cluster, doc.service);
            let check =
                gates::decide_freeze(&target, &doc.freeze, doc.override_freeze.as_ref(), now)?;
            tracing::info!(service = %doc.service, decision = ?check.decision, until = ?check.until, "{}", check.detail);
            serde_json::to_value(check)
        }
        Gate::Scan => {
            let doc: ScanInput = parse_input("check-gates (scan)", input.document)?;
            require("cluster", &doc.cluster)?;
            require("service", &doc.service)?;
            gates::check_scan_policy("scan.maxWaitSeconds", &doc.scan)?;
            let found = match gates::scan_target(&doc.image)? {
                Ok(target) => lookup(ecr, &target).await?,
                Err(why) => Err(why),
            };
            let check = gates::judge_scan(
                &doc.image,
                found.as_ref().map_err(String::as_str),
                &doc.scan,
                doc.scan_result.as_ref(),
                doc.poll_interval_seconds
                    .unwrap_or(DEFAULT_POLL_INTERVAL_SECONDS),
                now,
            )
            .inspect_err(|e| tracing::info!(service = %doc.service, "refused: {}", e.message()))?;
            tracing::info!(service = %doc.service, verdict = ?check.verdict, "scan gate");
            serde_json::to_value(check)
        }
    };
    out.map_err(|e| Error::invalid_input(format!("check-gates: {e}")))
}

/// ECR's scan of the image: its pages, `NotFound` when ECR has no scan (`ScanNotFoundException`),
/// or `Err(why)` when ECR has no such image or repository (no scan either; the policy decides).
pub async fn lookup(
    ecr: &Client,
    target: &ScanTarget,
) -> Result<std::result::Result<ScanLookup, String>> {
    // An image in another region's registry: ask that region's ECR.
    let regional;
    let ecr = match ecr.config().region() {
        Some(r) if r.as_ref() != target.region => {
            regional = Client::from_conf(
                ecr.config()
                    .to_builder()
                    .region(aws_sdk_ecr::config::Region::new(target.region.clone()))
                    .build(),
            );
            &regional
        }
        _ => ecr,
    };
    let action = format!("DescribeImageScanFindings {}", target.repository);
    let id = ImageIdentifier::builder()
        .set_image_digest(target.digest.clone())
        .set_image_tag(target.tag.clone())
        .build();
    let mut pages = vec![];
    let mut token: Option<String> = None;
    loop {
        let sent = ecr
            .describe_image_scan_findings()
            .registry_id(&target.registry_id)
            .repository_name(&target.repository)
            .image_id(id.clone())
            .max_results(1000)
            .set_next_token(token.clone())
            .send()
            .await;
        let out = match sent {
            Ok(out) => out,
            Err(e) => {
                if let Some(service_error) = e.as_service_error() {
                    if service_error.is_scan_not_found_exception() {
                        return Ok(Ok(ScanLookup::NotFound));
                    }
                    if service_error.is_image_not_found_exception()
                        || service_error.is_repository_not_found_exception()
                    {
                        let which = target.digest.as_deref().or(target.tag.as_deref());
                        return Ok(Err(format!(
                            "ECR has no image {}:{} in registry {} ({service_error}), so no scan of it",
                            target.repository,
                            which.unwrap_or("?"),
                            target.registry_id
                        )));
                    }
                }
                return Err(Error::from_sdk(&action, e));
            }
        };
        pages.push(page_json(&out));
        token = out.next_token().map(str::to_owned);
        if token.is_none() || pages.len() >= MAX_PAGES {
            break;
        }
    }
    Ok(Ok(ScanLookup::Found(ScanReport::from_pages(&pages)?)))
}

/// The parts of one DescribeImageScanFindings answer the gate reads, in ECR's JSON shape (what
/// `ScanReport::from_pages` reads).
fn page_json(out: &DescribeImageScanFindingsOutput) -> Value {
    let status = out.image_scan_status();
    let mut page = json!({
        "imageScanStatus": {
            "status": status.and_then(|s| s.status()).map(|s| s.as_str()),
            "description": status.and_then(|s| s.description()),
        }
    });
    if let Some(f) = out.image_scan_findings() {
        let counts: serde_json::Map<String, Value> = f
            .finding_severity_counts()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
            .collect();
        let basic: Vec<Value> = f
            .findings()
            .iter()
            .map(|x| {
                json!({
                    "name": x.name(),
                    "severity": x.severity().map(|s| s.as_str()),
                    "attributes": x.attributes().iter().map(|a| json!({"key": a.key(), "value": a.value()})).collect::<Vec<_>>(),
                })
            })
            .collect();
        let enhanced: Vec<Value> = f
            .enhanced_findings()
            .iter()
            .map(|x| {
                let details = x.package_vulnerability_details();
                json!({
                    "severity": x.severity(),
                    "score": x.score(),
                    "status": x.status(),
                    "title": x.title(),
                    "packageVulnerabilityDetails": {
                        "vulnerabilityId": details.and_then(|d| d.vulnerability_id()),
                        "vulnerablePackages": details.map(|d| d.vulnerable_packages()).unwrap_or_default().iter().map(|p| json!({
                            "name": p.name(), "version": p.version(), "fixedInVersion": p.fixed_in_version(),
                        })).collect::<Vec<_>>(),
                    },
                })
            })
            .collect();
        page["imageScanFindings"] = json!({
            "findingSeverityCounts": counts,
            "findings": basic,
            "enhancedFindings": enhanced,
        });
    }
    page
}

#[cfg(test)]
mod tests;
