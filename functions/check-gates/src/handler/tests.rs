use aws_sdk_ecr::operation::describe_image_scan_findings::{
    DescribeImageScanFindingsError, DescribeImageScanFindingsOutput,
};
use aws_sdk_ecr::types::{
    Attribute, EnhancedImageScanFinding, FindingSeverity, ImageScanFinding, ImageScanFindings,
    ImageScanStatus, PackageVulnerabilityDetails, ScanStatus, VulnerablePackage,
};
use aws_smithy_mocks::mock;
use berth::error::ErrorName;
use berth::testing::mock_client;
use serde_json::json;

use super::*;

const DIGEST: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
// 2026-12-04 is a Friday.
const FRIDAY_NIGHT: i64 = 1_796_414_400; // 2026-12-04T20:00:00Z

fn image() -> String {
    format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v2@{DIGEST}")
}

fn scan_doc(scan: Value) -> Value {
    json!({"gate": "scan", "document": {
        "deploymentId": "d/prod/web", "cluster": "prod", "service": "web", "image": image(),
        "repository": "web", "pollIntervalSeconds": 5, "scan": scan
    }})
}

fn complete(
    counts: &[(FindingSeverity, i32)],
    findings: Vec<ImageScanFinding>,
) -> DescribeImageScanFindingsOutput {
    let mut f = ImageScanFindings::builder().set_findings(Some(findings));
    for (k, v) in counts {
        f = f.finding_severity_counts(k.clone(), *v);
    }
    DescribeImageScanFindingsOutput::builder()
        .repository_name("web")
        .image_scan_status(
            ImageScanStatus::builder()
                .status(ScanStatus::Complete)
                .build(),
        )
        .image_scan_findings(f.build())
        .build()
}

fn finding(id: &str, severity: FindingSeverity, package: &str) -> ImageScanFinding {
    ImageScanFinding::builder()
        .name(id)
        .severity(severity)
        .attributes(
            Attribute::builder()
                .key("package_name")
                .value(package)
                .build()
                .unwrap(),
        )
        .build()
}

#[tokio::test]
async fn a_critical_basic_finding_refuses_with_the_counts_and_the_cve() {
    // GIVEN ECR's complete basic scan of the image's digest with a CRITICAL finding
    let rule = mock!(Client::describe_image_scan_findings)
        .match_requests(|r| {
            r.registry_id() == Some("123456789012")
                && r.repository_name() == Some("web")
                && r.image_id().and_then(|i| i.image_digest()) == Some(DIGEST)
        })
        .then_output(|| {
            complete(
                &[(FindingSeverity::Critical, 1), (FindingSeverity::Low, 3)],
                vec![
                    finding("CVE-2026-0001", FindingSeverity::Critical, "openssl"),
                    finding("CVE-2026-0009", FindingSeverity::Low, "zlib"),
                ],
            )
        });
    let ecr = mock_client!(aws_sdk_ecr, &[&rule]);
    // WHEN the default policy checks it
    let e = run(&ecr, scan_doc(json!({})), DateTime::from_secs(FRIDAY_NIGHT))
        .await
        .unwrap_err();
    // THEN ImageScanFailed, its cause with the counts and the worst finding
    assert_eq!(e.name(), ErrorName::ImageScanFailed);
    assert!(
        e.message()
            .contains("1 finding(s) at or above CRITICAL (CRITICAL 1, LOW 3)")
            && e.message().contains("CVE-2026-0001 CRITICAL in openssl"),
        "{}",
        e.message()
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn findings_below_the_threshold_allow() {
    let rule = mock!(Client::describe_image_scan_findings).then_output(|| {
        complete(
            &[(FindingSeverity::High, 2)],
            vec![finding("CVE-2026-0002", FindingSeverity::High, "curl")],
        )
    });
    let ecr = mock_client!(aws_sdk_ecr, &[&rule]);
    let out = run(&ecr, scan_doc(json!({})), DateTime::from_secs(FRIDAY_NIGHT))
        .await
        .unwrap();
    assert_eq!(out["verdict"], "allow");
    assert_eq!(out["counts"]["HIGH"], 2);
    assert_eq!(out["waitingSince"], "2026-12-04T20:00:00Z");
    // AND with the threshold at HIGH the same scan refuses
    let e = run(
        &ecr,
        scan_doc(json!({"threshold": "HIGH"})),
        DateTime::from_secs(FRIDAY_NIGHT),
    )
    .await
    .unwrap_err();
    assert_eq!(e.name(), ErrorName::ImageScanFailed);
}

#[tokio::test]
async fn enhanced_findings_are_read() {
    let rule = mock!(Client::describe_image_scan_findings).then_output(|| {
        DescribeImageScanFindingsOutput::builder()
            .image_scan_status(
                ImageScanStatus::builder()
                    .status(ScanStatus::Active)
                    .build(),
            )
            .image_scan_findings(
                ImageScanFindings::builder()
                    .finding_severity_counts(FindingSeverity::Critical, 1)
                    .enhanced_findings(
                        EnhancedImageScanFinding::builder()
                            .severity("CRITICAL")
                            .score(9.8)
                            .status("ACTIVE")
                            .title("CVE-2026-0007 - glibc")
                            .package_vulnerability_details(
                                PackageVulnerabilityDetails::builder()
                                    .vulnerability_id("CVE-2026-0007")
                                    .vulnerable_packages(
                                        VulnerablePackage::builder()
                                            .name("glibc")
                                            .version("2.36")
                                            .fixed_in_version("2.37")
                                            .build(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let ecr = mock_client!(aws_sdk_ecr, &[&rule]);
    let e = run(&ecr, scan_doc(json!({})), DateTime::from_secs(FRIDAY_NIGHT))
        .await
        .unwrap_err();
    assert!(
        e.message()
            .contains("CVE-2026-0007 CRITICAL in glibc 2.36 (fixed in 2.37)"),
        "{}",
        e.message()
    );
}

#[tokio::test]
async fn a_running_scan_asks_the_state_machine_to_wait() {
    let rule = mock!(Client::describe_image_scan_findings).then_output(|| {
        DescribeImageScanFindingsOutput::builder()
            .image_scan_status(
                ImageScanStatus::builder()
                    .status(ScanStatus::InProgress)
                    .build(),
            )
            .build()
    });
    let ecr = mock_client!(aws_sdk_ecr, &[&rule]);
    let out = run(
        &ecr,
        scan_doc(json!({"maxWaitSeconds": 60})),
        DateTime::from_secs(FRIDAY_NIGHT),
    )
    .await
    .unwrap();
    assert_eq!(out["verdict"], "wait");
    assert_eq!(out["retryAfterSeconds"], 5, "the poll interval");
    assert_eq!(out["until"], "2026-12-04T20:01:00Z");
    // WHEN asked again past the limit, with the earlier result in the document
    let mut again = scan_doc(json!({"maxWaitSeconds": 60}));
    again["document"]["scanResult"] = out;
    let e = run(&ecr, again, DateTime::from_secs(FRIDAY_NIGHT + 61))
        .await
        .unwrap_err();
    assert_eq!(e.name(), ErrorName::ImageScanFailed);
}

#[tokio::test]
async fn no_scan_is_refused_by_default_and_allowed_when_configured() {
    let rule = mock!(Client::describe_image_scan_findings).then_error(|| {
        DescribeImageScanFindingsError::ScanNotFoundException(
            aws_sdk_ecr::types::error::ScanNotFoundException::builder()
                .message("Image scan does not exist for the image")
                .build(),
        )
    });
    let ecr = mock_client!(aws_sdk_ecr, &[&rule]);
    let e = run(&ecr, scan_doc(json!({})), DateTime::from_secs(FRIDAY_NIGHT))
        .await
        .unwrap_err();
    assert_eq!(e.name(), ErrorName::ImageScanFailed);
    assert!(e.message().contains("ECR has no scan"), "{}", e.message());
    let out = run(
        &ecr,
        scan_doc(json!({"onNoScan": "allow"})),
        DateTime::from_secs(FRIDAY_NIGHT),
    )
    .await
    .unwrap();
    assert_eq!(out["verdict"], "allow");
}

#[tokio::test]
async fn an_image_outside_ecr_is_no_scan_without_asking_ecr() {
    let rule = mock!(Client::describe_image_scan_findings)
        .then_output(|| DescribeImageScanFindingsOutput::builder().build());
    let ecr = mock_client!(aws_sdk_ecr, &[&rule]);
    let mut doc = scan_doc(json!({}));
    doc["document"]["image"] = json!("nginx:1.27");
    let e = run(&ecr, doc, DateTime::from_secs(FRIDAY_NIGHT))
        .await
        .unwrap_err();
    assert_eq!(e.name(), ErrorName::ImageScanFailed);
    assert!(e.message().contains("not in an ECR registry"));
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn a_typo_in_the_policy_is_invalid_input_before_any_call() {
    let rule = mock!(Client::describe_image_scan_findings)
        .then_output(|| DescribeImageScanFindingsOutput::builder().build());
    let ecr = mock_client!(aws_sdk_ecr, &[&rule]);
    for scan in [
        json!({"threshold": "SEVERE"}),
        json!({"onNoScan": "maybe"}),
        json!({"maxWaitSeconds": 7200}),
    ] {
        let e = run(
            &ecr,
            scan_doc(scan.clone()),
            DateTime::from_secs(FRIDAY_NIGHT),
        )
        .await
        .unwrap_err();
        assert_eq!(e.name(), ErrorName::InvalidInput, "{scan}");
    }
    assert_eq!(rule.num_calls(), 0);
}

fn freeze_doc(action: &str, override_freeze: Option<Value>) -> Value {
    let mut doc = json!({"gate": "freeze", "document": {
        "cluster": "prod", "service": "web", "image": image(),
        "freeze": [{"source": "service web tag berth:freeze", "timeZone": "Europe/Berlin",
                    "windows": ["Fri 18:00 - Mon 06:00"], "onFreeze": action}]
    }});
    if let Some(o) = override_freeze {
        doc["document"]["overrideFreeze"] = o;
    }
    doc
}

#[tokio::test]
async fn the_freeze_gate_waits_refuses_or_is_overridden_without_any_call() {
    let rule = mock!(Client::describe_image_scan_findings)
        .then_output(|| DescribeImageScanFindingsOutput::builder().build());
    let ecr = mock_client!(aws_sdk_ecr, &[&rule]);
    let friday = DateTime::from_secs(FRIDAY_NIGHT);
    let wait = run(&ecr, freeze_doc("wait", None), friday).await.unwrap();
    assert_eq!(wait["decision"], "WAIT");
    assert_eq!(wait["until"], "2026-12-07T05:00:00Z");
    let e = run(&ecr, freeze_doc("refuse", None), friday)
        .await
        .unwrap_err();
    assert_eq!(e.name(), ErrorName::Frozen);
    let over = run(
        &ecr,
        freeze_doc(
            "refuse",
            Some(json!({"reason": "hotfix INC-42", "by": "alice"})),
        ),
        friday,
    )
    .await
    .unwrap();
    assert_eq!(over["decision"], "OVERRIDDEN");
    assert_eq!(over["override"]["by"], "alice");
    let wednesday = DateTime::from_secs(FRIDAY_NIGHT - 2 * 86_400);
    let open = run(&ecr, freeze_doc("wait", None), wednesday)
        .await
        .unwrap();
    assert_eq!(open["decision"], "OPEN");
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn a_bad_window_or_zone_in_the_document_is_invalid_input() {
    let ecr = mock_client!(aws_sdk_ecr, &[]);
    let mut doc = freeze_doc("wait", None);
    doc["document"]["freeze"][0]["windows"] = json!(["Fri 18:00-Mon 06:00"]);
    let e = run(&ecr, doc, DateTime::from_secs(FRIDAY_NIGHT))
        .await
        .unwrap_err();
    assert_eq!(e.name(), ErrorName::InvalidInput);
    let mut doc = freeze_doc("wait", None);
    doc["document"]["freeze"][0]["timeZone"] = json!("Europe/Berlim");
    let e = run(&ecr, doc, DateTime::from_secs(FRIDAY_NIGHT))
        .await
        .unwrap_err();
    assert_eq!(e.name(), ErrorName::InvalidInput);
    let e = run(
        &ecr,
        json!({"gate": "thaw", "document": {}}),
        DateTime::from_secs(FRIDAY_NIGHT),
    )
    .await
    .unwrap_err();
    assert_eq!(e.name(), ErrorName::InvalidInput);
}
