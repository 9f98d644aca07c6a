"""ECR image scan findings per image digest, configured by the tests (DescribeImageScanFindings).

moto 5.2.5 implements DescribeImageScanFindings with one canned answer (a HIGH `CVE-9999-9999`
once StartImageScan ran, ScanNotFoundException before) or static results queued through
`/moto-api/static/ecr/scan-finding-results`, fixed per image once read: no scan that is still
running on one call and complete on the next, no enhanced (Inspector) findings unless written out
whole. Here a test says, per repository and digest, what the scan is:

    POST /_berth/scan-findings
    {"repository": "web", "digest": "sha256:…", "tag": "v2",          # tag optional
     "type": "BASIC" | "ENHANCED",                                    # default BASIC
     "status": "COMPLETE" | "IN_PROGRESS" | "FAILED" | "NONE" | …,    # NONE: ScanNotFoundException
     "completeAfterCalls": 2, "completeAfterSeconds": 1.5,            # for IN_PROGRESS / PENDING
     "findings": [{"id": "CVE-2026-0001", "severity": "CRITICAL", "package": "openssl",
                   "version": "3.0.1", "fixedIn": "3.0.2", "score": 9.8}]}

and DescribeImageScanFindings answers in ECR's shape (botocore's `ecr` model): basic findings in
`imageScanFindings.findings[]` (name, uri, severity, attributes package_name / package_version /
CVSS3_SCORE), enhanced ones in `imageScanFindings.enhancedFindings[]` (awsAccountId, findingArn,
severity, score, status ACTIVE, title, type PACKAGE_VULNERABILITY, packageVulnerabilityDetails with
vulnerabilityId, source, vulnerablePackages[], …), `findingSeverityCounts` counted from the findings
(or as given), pages of `maxResults` (default 100) with `nextToken`. Configuring creates the
repository and an image with that digest in moto's ECR (so DescribeImages and the not-found errors
behave). Images nobody configured keep moto's behaviour.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import timedelta
from typing import Any

from moto.core.utils import utcnow
from moto.ecr import models as ecr_models
from moto.ecr import responses as ecr_responses
from moto.ecr.exceptions import InvalidParameterException, ScanNotFoundException

DEFAULT_ACCOUNT = "123456789012"
# imageScanStatus.status values (botocore's ScanStatus) a test may choose, plus NONE (never scanned).
STATUSES = (
    "COMPLETE",
    "ACTIVE",
    "IN_PROGRESS",
    "PENDING",
    "FAILED",
    "UNSUPPORTED_IMAGE",
    "FINDINGS_UNAVAILABLE",
    "SCAN_ELIGIBILITY_EXPIRED",
    "LIMIT_EXCEEDED",
    "IMAGE_ARCHIVED",
    "NONE",
)
RUNNING = ("IN_PROGRESS", "PENDING")
SEVERITIES = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL", "UNDEFINED", "UNTRIAGED")
TYPES = ("BASIC", "ENHANCED")
# Descriptions ECR gives with a status (COMPLETE's is moto's and AWS's documented text; the others
# are this stand-in's wording, not verified against a live account).
DESCRIPTIONS = {
    ("BASIC", "COMPLETE"): "The scan was completed successfully.",
    ("ENHANCED", "ACTIVE"): "Continuous scan is selected for image.",
    ("BASIC", "IN_PROGRESS"): None,
    ("ENHANCED", "PENDING"): None,
    ("BASIC", "FAILED"): "Scan failed.",
    (
        "BASIC",
        "UNSUPPORTED_IMAGE",
    ): "UnsupportedImageError: The operating system and/or package manager are not supported.",
}
DEFAULT_PAGE = 100


class Scans:
    """The configured scans, keyed by (account, region, repository, digest)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.specs: dict[tuple[str, str, str, str], dict] = {}

    def reset(self) -> None:
        with self.lock:
            self.specs.clear()

    # ------------------------------------------------------------ control

    def configure(self, doc: dict) -> dict:
        """One scan (`doc`) or several (`{"scans": [...]}`); each replaces the image's earlier one.
        Unknown keys, statuses, types or severities are a ValueError (the control API's 400)."""
        items = doc.get("scans", [doc]) if isinstance(doc, dict) else doc
        specs = [self._spec(it) for it in items]
        with self.lock:
            for spec in specs:
                ensure_image(spec)
                self.specs[spec["key"]] = spec
        return self.view()

    def view(self) -> dict:
        with self.lock:
            return {"scans": [{k: v for k, v in s.items() if k != "key"} for s in self.specs.values()]}

    @staticmethod
    def _spec(it: dict) -> dict:
        allowed = {
            "repository",
            "digest",
            "tag",
            "type",
            "status",
            "description",
            "completeAfterCalls",
            "completeAfterSeconds",
            "findings",
            "severityCounts",
            "region",
            "account",
        }
        unknown = set(it) - allowed
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
        digest = it["digest"]
        if not (isinstance(digest, str) and digest.startswith("sha256:") and len(digest) == 71):
            raise ValueError(f"digest must be sha256:<64 hex>, not {digest!r}")
        kind = it.get("type", "BASIC")
        if kind not in TYPES:
            raise ValueError(f"type must be one of {TYPES}")
        status = it.get("status", "ACTIVE" if kind == "ENHANCED" else "COMPLETE")
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        findings = [dict(f) for f in it.get("findings", [])]
        for f in findings:
            if f.get("severity") not in SEVERITIES:
                raise ValueError(f"finding {f!r}: severity must be one of {SEVERITIES}")
            if not f.get("id"):
                raise ValueError(f"finding {f!r}: id (the CVE) is required")
        after_calls = it.get("completeAfterCalls")
        after_seconds = it.get("completeAfterSeconds")
        if (after_calls is not None or after_seconds is not None) and status not in RUNNING:
            raise ValueError("completeAfterCalls/completeAfterSeconds only go with status IN_PROGRESS or PENDING")
        account = it.get("account", DEFAULT_ACCOUNT)
        region = it.get("region", "us-east-1")
        return {
            "key": (account, region, it["repository"], digest),
            "account": account,
            "region": region,
            "repository": it["repository"],
            "digest": digest,
            "tag": it.get("tag"),
            "type": kind,
            "status": status,
            "description": it.get("description"),
            "completeAfterCalls": None if after_calls is None else int(after_calls),
            "completeAfterSeconds": None if after_seconds is None else float(after_seconds),
            "findings": findings,
            "severityCounts": it.get("severityCounts"),
            "configuredAt": time.monotonic(),
            "calls": 0,
            "completed": status not in RUNNING,
            "completedAt": utcnow(),
        }

    # ------------------------------------------------------------ answers

    def spec_for(self, account: str, region: str, repository: str, digest: str) -> dict | None:
        with self.lock:
            return self.specs.get((account, region, repository, digest))

    def answer(self, spec: dict, registry_id: str, image_id: dict, max_results: int | None, token: str | None) -> dict:
        with self.lock:
            spec["calls"] += 1
            status = current_status(spec)
        if status == "NONE":
            raise ScanNotFoundException(
                image_id=f"{{imageDigest:'{image_id.get('imageDigest') or 'null'}', "
                f"imageTag:'{image_id.get('imageTag') or 'null'}'}}",
                repository_name=spec["repository"],
                registry_id=registry_id,
            )
        out: dict[str, Any] = {
            "registryId": registry_id,
            "repositoryName": spec["repository"],
            "imageId": {
                k: v
                for k, v in {"imageDigest": spec["digest"], "imageTag": image_id.get("imageTag") or spec["tag"]}.items()
                if v
            },
            "imageScanStatus": {"status": status},
        }
        description = (
            spec["description"]
            if spec["description"] is not None and status == spec["status"]
            else DESCRIPTIONS.get((spec["type"], status))
        )
        if description:
            out["imageScanStatus"]["description"] = description
        if status not in ("COMPLETE", "ACTIVE"):
            return out
        page = DEFAULT_PAGE if max_results is None else int(max_results)
        if not 1 <= page <= 1000:
            raise InvalidParameterException("maxResults must be between 1 and 1000.")
        start = decode_token(token, spec["digest"]) if token else 0
        chosen = spec["findings"][start : start + page]
        findings: dict[str, Any] = {
            "findingSeverityCounts": spec["severityCounts"]
            if spec["severityCounts"] is not None
            else counts(spec["findings"]),
        }
        if spec["type"] == "BASIC":
            findings["imageScanCompletedAt"] = spec["completedAt"]
            findings["vulnerabilitySourceUpdatedAt"] = spec["completedAt"] - timedelta(hours=6)
            findings["findings"] = [basic_finding(f) for f in chosen]
        else:
            findings["enhancedFindings"] = [enhanced_finding(f, spec) for f in chosen]
        out["imageScanFindings"] = findings
        if start + page < len(spec["findings"]):
            out["nextToken"] = encode_token(start + page, spec["digest"])
        return out


SCANS = Scans()


def current_status(spec: dict) -> str:
    """A running scan turns COMPLETE (basic) or ACTIVE (enhanced) after its calls or seconds."""
    status = spec["status"]
    if status not in RUNNING:
        return status
    calls, seconds = spec["completeAfterCalls"], spec["completeAfterSeconds"]
    done = (calls is not None and spec["calls"] > calls) or (
        seconds is not None and time.monotonic() - spec["configuredAt"] >= seconds
    )
    if done:
        if not spec["completed"]:
            spec["completed"] = True
            spec["completedAt"] = utcnow()
        return "ACTIVE" if spec["type"] == "ENHANCED" else "COMPLETE"
    return status


def counts(findings: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings:
        out[f["severity"]] = out.get(f["severity"], 0) + 1
    return out


def basic_finding(f: dict) -> dict:
    attrs = [
        {"key": "package_version", "value": str(f.get("version", "1.0"))},
        {"key": "package_name", "value": f.get("package", "unknown")},
    ]
    if f.get("score") is not None:
        attrs.append({"key": "CVSS3_SCORE", "value": str(f["score"])})
    out = {
        "name": f["id"],
        "uri": f.get("uri", f"https://cve.mitre.org/cgi-bin/cvename.cgi?name={f['id']}"),
        "severity": f["severity"],
        "attributes": attrs,
    }
    if f.get("description"):
        out["description"] = f["description"]
    return out


def enhanced_finding(f: dict, spec: dict) -> dict:
    """An Amazon Inspector finding as ECR's enhancedFindings carries it."""
    now = spec["completedAt"]
    package = {
        "name": f.get("package", "unknown"),
        "version": str(f.get("version", "1.0")),
        "packageManager": f.get("packageManager", "OS"),
    }
    if f.get("fixedIn"):
        package["fixedInVersion"] = f["fixedIn"]
    finding_id = base64.b32encode(f"{spec['digest']}/{f['id']}".encode()).decode().rstrip("=").lower()[:32]
    out: dict[str, Any] = {
        "awsAccountId": spec["account"],
        "description": f.get("description", f"{f['id']} in {package['name']}"),
        "findingArn": f"arn:aws:inspector2:{spec['region']}:{spec['account']}:finding/{finding_id}",
        "firstObservedAt": now,
        "lastObservedAt": now,
        "updatedAt": now,
        "packageVulnerabilityDetails": {
            "vulnerabilityId": f["id"],
            "source": f.get("source", "NVD"),
            "sourceUrl": f"https://nvd.nist.gov/vuln/detail/{f['id']}",
            "referenceUrls": [],
            "vendorSeverity": f["severity"],
            "vulnerablePackages": [package],
        },
        "remediation": {
            "recommendation": {
                "text": f"Upgrade {package['name']}" + (f" to {f['fixedIn']}" if f.get("fixedIn") else "")
            }
        },
        "resources": [
            {
                "id": (
                    f"arn:aws:ecr:{spec['region']}:{spec['account']}:repository/{spec['repository']}/{spec['digest']}"
                ),
                "type": "AWS_ECR_CONTAINER_IMAGE",
                "details": {
                    "awsEcrContainerImage": {
                        "imageHash": spec["digest"],
                        "repositoryName": spec["repository"],
                        "registry": spec["account"],
                        **({"imageTags": [spec["tag"]]} if spec["tag"] else {}),
                    }
                },
            }
        ],
        "severity": f["severity"],
        "status": f.get("status", "ACTIVE"),
        "title": f"{f['id']} - {package['name']}",
        "type": "PACKAGE_VULNERABILITY",
        "fixAvailable": "YES" if f.get("fixedIn") else "NO",
    }
    if f.get("score") is not None:
        out["score"] = float(f["score"])
        out["packageVulnerabilityDetails"]["cvss"] = [
            {
                "baseScore": float(f["score"]),
                "scoringVector": f.get("vector", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
                "source": "NVD",
                "version": "3.1",
            }
        ]
    return out


def encode_token(offset: int, digest: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "d": digest}).encode()).decode()


def decode_token(token: str, digest: str) -> int:
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode()))
        if doc["d"] != digest:
            raise ValueError
        return int(doc["o"])
    except Exception:  # noqa: BLE001 - any bad token is the caller's error
        raise InvalidParameterException("Invalid NextToken") from None


def ensure_image(spec: dict) -> None:
    """The repository and an image with the spec's digest (and tag) in moto's ECR."""
    backend = ecr_models.ecr_backends[spec["account"]][spec["region"]]
    if spec["repository"] not in backend.repositories:
        # {} encryption configuration: moto's default, as for none
        backend.create_repository(spec["repository"], None, {}, {"scanOnPush": True}, "MUTABLE", [])
    repo = backend.repositories[spec["repository"]]
    image = next((i for i in repo.images if i.get_image_digest() == spec["digest"]), None)
    if image is None:
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                    "digest": spec["digest"],
                    "size": 1,
                },
                "layers": [],
            }
        )
        backend.put_image(spec["repository"], manifest, spec["tag"], None, spec["digest"])
    elif spec["tag"] and spec["tag"] not in image.image_tags:
        backend.put_image(spec["repository"], image.image_manifest, spec["tag"], None, spec["digest"])


# ---------------------------------------------------------------- moto patch

_ORIGINAL: dict[str, Any] = {}


def _describe_image_scan_findings(self):
    """DescribeImageScanFindings: the configured scan of the image's digest, else moto's."""
    from moto.core.responses import ActionResult

    registry_id = self._get_param("registryId")
    repository_name = self._get_param("repositoryName")
    image_id = self._get_param("imageId") or {}
    backend = self.ecr_backend
    repo = backend._get_repository(repository_name, registry_id)  # RepositoryNotFoundException
    image = repo._get_image(image_id.get("imageTag"), image_id.get("imageDigest"))  # ImageNotFoundException
    spec = SCANS.spec_for(backend.account_id, backend.region_name, repo.name, image.get_image_digest())
    if spec is None:
        return _ORIGINAL["describe"](self)
    return ActionResult(
        SCANS.answer(spec, repo.registry_id, image_id, self._get_param("maxResults"), self._get_param("nextToken"))
    )


def install() -> None:
    if _ORIGINAL:
        return
    _ORIGINAL["describe"] = ecr_responses.ECRResponse.describe_image_scan_findings
    # Monkeypatching moto (the stand-in's purpose): mypy flags assigning to a method (method-assign).
    ecr_responses.ECRResponse.describe_image_scan_findings = _describe_image_scan_findings  # type: ignore[method-assign]
