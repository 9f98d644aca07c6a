"""ECR image scan findings per digest (ecr_scan.py), through boto3 and the control API."""

from __future__ import annotations

import hashlib
import time

import pytest
from botocore.exceptions import ClientError

DIGEST = "sha256:" + hashlib.sha256(b"web:v2").hexdigest()
OTHER = "sha256:" + hashlib.sha256(b"web:v3").hexdigest()


def findings(ecr, digest=DIGEST, repo="web", **kw):
    out = ecr.describe_image_scan_findings(repositoryName=repo, imageId={"imageDigest": digest}, **kw)
    out.pop("ResponseMetadata")
    return out


def test_basic_scan_answers_in_ecrs_shape_with_counts_from_the_findings(standin):
    standin.control(
        "scan-findings",
        {
            "repository": "web",
            "digest": DIGEST,
            "tag": "v2",
            "findings": [
                {"id": "CVE-2026-0001", "severity": "CRITICAL", "package": "openssl", "version": "3.0.1", "score": 9.8},
                {"id": "CVE-2026-0002", "severity": "HIGH", "package": "zlib"},
                {"id": "CVE-2026-0003", "severity": "HIGH", "package": "curl"},
            ],
        },
    )
    ecr = standin.client("ecr")
    out = findings(ecr)
    assert out["repositoryName"] == "web" and out["registryId"] == "123456789012"
    assert out["imageId"] == {"imageDigest": DIGEST, "imageTag": "v2"}
    assert out["imageScanStatus"] == {"status": "COMPLETE", "description": "The scan was completed successfully."}
    f = out["imageScanFindings"]
    assert f["findingSeverityCounts"] == {"CRITICAL": 1, "HIGH": 2}
    assert {"imageScanCompletedAt", "vulnerabilitySourceUpdatedAt"} <= f.keys()
    assert "enhancedFindings" not in f
    first = f["findings"][0]
    assert first["name"] == "CVE-2026-0001" and first["severity"] == "CRITICAL"
    assert first["uri"] == "https://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-2026-0001"
    attrs = {a["key"]: a["value"] for a in first["attributes"]}
    assert attrs == {"package_name": "openssl", "package_version": "3.0.1", "CVSS3_SCORE": "9.8"}
    # The image exists in moto's ECR, by digest and by tag.
    images = ecr.describe_images(repositoryName="web")["imageDetails"]
    assert [(i["imageDigest"], i.get("imageTags")) for i in images] == [(DIGEST, ["v2"])]
    by_tag = ecr.describe_image_scan_findings(repositoryName="web", imageId={"imageTag": "v2"})
    assert by_tag["imageScanFindings"]["findingSeverityCounts"] == {"CRITICAL": 1, "HIGH": 2}


def test_enhanced_scan_answers_inspector_findings(standin):
    standin.control(
        "scan-findings",
        {
            "repository": "web",
            "digest": DIGEST,
            "type": "ENHANCED",
            "findings": [
                {
                    "id": "CVE-2026-1001",
                    "severity": "CRITICAL",
                    "package": "openssl",
                    "version": "3.0.1",
                    "fixedIn": "3.0.2",
                    "score": 9.1,
                },
                {"id": "CVE-2026-1002", "severity": "UNTRIAGED", "package": "bash"},
            ],
        },
    )
    out = findings(standin.client("ecr"))
    assert out["imageScanStatus"] == {"status": "ACTIVE", "description": "Continuous scan is selected for image."}
    f = out["imageScanFindings"]
    assert f["findingSeverityCounts"] == {"CRITICAL": 1, "UNTRIAGED": 1}
    assert "findings" not in f
    e = f["enhancedFindings"][0]
    assert e["severity"] == "CRITICAL" and e["score"] == 9.1 and e["status"] == "ACTIVE"
    assert e["type"] == "PACKAGE_VULNERABILITY" and e["title"] == "CVE-2026-1001 - openssl"
    assert e["findingArn"].startswith("arn:aws:inspector2:us-east-1:123456789012:finding/")
    d = e["packageVulnerabilityDetails"]
    assert d["vulnerabilityId"] == "CVE-2026-1001" and d["source"] == "NVD"
    assert d["vulnerablePackages"] == [
        {"name": "openssl", "version": "3.0.1", "fixedInVersion": "3.0.2", "packageManager": "OS"}
    ]
    assert d["cvss"][0]["baseScore"] == 9.1
    img = e["resources"][0]["details"]["awsEcrContainerImage"]
    assert img["imageHash"] == DIGEST and img["repositoryName"] == "web"
    assert hasattr(e["firstObservedAt"], "year")  # a timestamp, as botocore's model says


def test_a_scan_in_progress_turns_complete_after_the_configured_calls(standin):
    standin.control(
        "scan-findings",
        {
            "repository": "web",
            "digest": DIGEST,
            "status": "IN_PROGRESS",
            "completeAfterCalls": 2,
            "findings": [{"id": "CVE-1", "severity": "LOW"}],
        },
    )
    ecr = standin.client("ecr")
    for _ in range(2):
        out = findings(ecr)
        assert out["imageScanStatus"]["status"] == "IN_PROGRESS"
        assert "imageScanFindings" not in out
    done = findings(ecr)
    assert done["imageScanStatus"]["status"] == "COMPLETE"
    assert done["imageScanFindings"]["findingSeverityCounts"] == {"LOW": 1}
    assert findings(ecr)["imageScanStatus"]["status"] == "COMPLETE"


def test_a_scan_in_progress_turns_complete_after_the_configured_seconds(standin):
    standin.control(
        "scan-findings",
        {"repository": "web", "digest": DIGEST, "type": "ENHANCED", "status": "PENDING", "completeAfterSeconds": 0.5},
    )
    ecr = standin.client("ecr")
    assert findings(ecr)["imageScanStatus"]["status"] == "PENDING"
    time.sleep(0.6)
    out = findings(ecr)
    assert out["imageScanStatus"]["status"] == "ACTIVE"
    assert out["imageScanFindings"] == {"findingSeverityCounts": {}, "enhancedFindings": []}


def test_failed_and_missing_scans(standin):
    standin.control(
        "scan-findings",
        {
            "scans": [
                {"repository": "web", "digest": DIGEST, "status": "FAILED"},
                {"repository": "web", "digest": OTHER, "status": "NONE"},
            ]
        },
    )
    ecr = standin.client("ecr")
    out = findings(ecr)
    assert out["imageScanStatus"]["status"] == "FAILED" and "imageScanFindings" not in out
    with pytest.raises(ClientError) as e:
        findings(ecr, OTHER)
    assert e.value.response["Error"]["Code"] == "ScanNotFoundException"
    assert f"imageDigest:'{OTHER}'" in e.value.response["Error"]["Message"]
    # An image that is not there, a repository that is not there: ECR's errors.
    with pytest.raises(ClientError) as e:
        findings(ecr, "sha256:" + "0" * 64)
    assert e.value.response["Error"]["Code"] == "ImageNotFoundException"
    with pytest.raises(ClientError) as e:
        findings(ecr, repo="nope")
    assert e.value.response["Error"]["Code"] == "RepositoryNotFoundException"


def test_findings_are_paginated_and_counts_stay_whole(standin):
    standin.control(
        "scan-findings",
        {
            "repository": "web",
            "digest": DIGEST,
            "findings": [{"id": f"CVE-2026-{i:04d}", "severity": "MEDIUM"} for i in range(5)],
        },
    )
    ecr = standin.client("ecr")
    first = findings(ecr, maxResults=2)
    assert [f["name"] for f in first["imageScanFindings"]["findings"]] == ["CVE-2026-0000", "CVE-2026-0001"]
    assert first["imageScanFindings"]["findingSeverityCounts"] == {"MEDIUM": 5}
    names = []
    pages = ecr.get_paginator("describe_image_scan_findings").paginate(
        repositoryName="web", imageId={"imageDigest": DIGEST}, PaginationConfig={"PageSize": 2}
    )
    for page in pages:
        names += [f["name"] for f in page["imageScanFindings"]["findings"]]
    assert names == [f"CVE-2026-{i:04d}" for i in range(5)]


def test_unconfigured_images_keep_motos_behaviour(standin):
    ecr = standin.client("ecr")
    ecr.create_repository(repositoryName="api")
    ecr.put_image(
        repositoryName="api",
        imageTag="v1",
        imageManifest='{"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "schemaVersion": 2}',
    )
    with pytest.raises(ClientError) as e:
        ecr.describe_image_scan_findings(repositoryName="api", imageId={"imageTag": "v1"})
    assert e.value.response["Error"]["Code"] == "ScanNotFoundException"


def test_bad_configuration_is_refused(standin):
    import requests

    for doc in (
        {"repository": "web", "digest": DIGEST, "status": "DONE"},
        {"repository": "web", "digest": DIGEST, "findings": [{"id": "CVE-1", "severity": "critical"}]},
        {"repository": "web", "digest": "sha256:abc"},
        {"repository": "web", "digest": DIGEST, "completeAfterCalls": 1},
        {"repository": "web", "digest": DIGEST, "severity": "HIGH"},
    ):
        r = requests.post(f"{standin.url}/_berth/scan-findings", json=doc, timeout=10)
        assert r.status_code == 400, doc
    assert standin.control("scan-findings", method="GET") == {"scans": []}


def test_reset_forgets_scans(standin):
    standin.control("scan-findings", {"repository": "web", "digest": DIGEST})
    standin.control("reset")
    assert standin.control("scan-findings", method="GET") == {"scans": []}
