"""The release gates end to end (P9): the image-scan gate (ECR's DescribeImageScanFindings through
the stand-in's per-digest scans) and freeze windows (the service's berth:freeze tags), before the
turn and before anything is registered or changed. A refusal ends the execution with the gate's
error name and nothing changed on ECS; a wait deploys afterwards. Through the real state machines,
Lambdas and CLI against the local stack."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from .harness import REGISTRY, aws_changes, aws_snapshot, digest_of, ecr_push_event
from .test_cli import lines

OLD = digest_of("gates v1")
NEW = digest_of("gates v2")

# The exit codes (cli/src/exit.rs, `Exit`).
DONE, REFUSED = 0, 5


def image(digest: str) -> str:
    return f"{REGISTRY}/web@{digest}"


def push(berth, digest: str) -> str:
    started = berth.deliver_ecr_event(ecr_push_event("web", digest, "v2"))
    assert started and started["started"], started
    return started["executionArn"]


def scan(berth, digest: str, **spec) -> None:
    berth.control("scan-findings", {"repository": "web", "digest": digest, "tag": "v2", **spec})


def only_executions_started(before: dict, after: dict) -> list[str]:
    """What a refused deployment changed besides starting its execution: nothing."""
    return [c for c in aws_changes(before, after) if not c.startswith("execution started")]


def service_output(berth, arn: str, state: str) -> dict:
    """The last output a state of the service's execution left (its document after that state)."""
    out = None
    for e in berth.history(arn):
        d = e.get("stateExitedEventDetails")
        if d and d["name"] == state:
            out = json.loads(d["output"])
    assert out is not None, f"{state} never exited in {arn}"
    return out


def entered(berth, arn: str, state: str) -> int:
    return sum(1 for e in berth.history(arn) if (e.get("stateEnteredEventDetails") or {}).get("name") == state)


def unchanged(berth, svc: dict, before: dict) -> None:
    """The task definition and the deployments are as they were."""
    after = berth.describe(svc)
    assert after["taskDefinition"] == before["taskDefinition"]
    assert [d["id"] for d in after["deployments"]] == [d["id"] for d in before["deployments"]]
    assert {d for _, _, d in berth.running_images(svc)} == {OLD}


# ------------------------------------------------------------------ the scan gate


def test_a_critical_finding_refuses_the_push_with_nothing_changed(berth):
    svc = berth.make_service("web", image(OLD), tags={"berth:scan": "CRITICAL"})
    scan(
        berth,
        NEW,
        findings=[
            {
                "id": "CVE-2026-0001",
                "severity": "CRITICAL",
                "package": "openssl",
                "version": "3.0.1",
                "fixedIn": "3.0.2",
                "score": 9.8,
            },
            {"id": "CVE-2026-0002", "severity": "HIGH", "package": "zlib"},
            {"id": "CVE-2026-0003", "severity": "LOW", "package": "curl"},
        ],
    )
    before, service = aws_snapshot(berth), berth.describe(svc)
    revisions = berth.task_definition_arns("web")

    done = berth.wait_execution(push(berth, NEW))

    # THEN the execution fails ImageScanFailed, its cause with the counts and the worst finding
    assert done["status"] == "FAILED", done
    assert done["error"] == "ImageScanFailed", done
    cause = done["cause"]
    assert "not started, nothing changed: ImageScanFailed" in cause, cause
    assert "1 finding(s) at or above CRITICAL (CRITICAL 1, HIGH 1, LOW 1)" in cause, cause
    assert "CVE-2026-0001 CRITICAL in openssl" in cause, cause
    # AND nothing was registered or changed: same revision, same deployments, no new revision
    assert only_executions_started(before, aws_snapshot(berth)) == []
    assert berth.task_definition_arns("web") == revisions
    unchanged(berth, svc, service)


def test_a_scan_in_progress_that_completes_clean_deploys(berth):
    svc = berth.make_service("web", image(OLD), tags={"berth:scan": "HIGH"})
    # the first two DescribeImageScanFindings say IN_PROGRESS, then COMPLETE with a MEDIUM finding
    scan(
        berth,
        NEW,
        status="IN_PROGRESS",
        completeAfterCalls=2,
        findings=[{"id": "CVE-2026-0004", "severity": "MEDIUM", "package": "bash"}],
    )

    arn = push(berth, NEW)
    done = berth.wait_execution(arn)

    assert done["status"] == "SUCCEEDED", done
    assert {d for _, _, d in berth.running_images(svc)} == {NEW}
    # AND the state machine waited (Wait states, not a sleeping Lambda), then allowed it
    assert entered(berth, arn, "WaitForScan") == 2
    assert entered(berth, arn, "CheckScan") == 3
    result = service_output(berth, arn, "CheckScan")["scanResult"]
    assert result["verdict"] == "allow" and result["counts"] == {"MEDIUM": 1}, result
    listed = berth.control("scan-findings", method="GET")["scans"]
    assert [s["calls"] for s in listed if s["digest"] == NEW] == [3]


def test_no_scan_is_refused_by_default(berth):
    svc = berth.make_service("web", image(OLD), tags={"berth:scan": "CRITICAL"})
    scan(berth, NEW, status="NONE")  # never scanned: ScanNotFoundException
    before, service = aws_snapshot(berth), berth.describe(svc)

    done = berth.wait_execution(push(berth, NEW))

    assert (done["status"], done["error"]) == ("FAILED", "ImageScanFailed"), done
    assert "ECR has no scan of this image; refused (onNoScan: refuse)" in done["cause"], done["cause"]
    assert only_executions_started(before, aws_snapshot(berth)) == []
    unchanged(berth, svc, service)


def test_no_scan_is_allowed_when_the_service_says_so(berth):
    svc = berth.make_service("web", image(OLD), tags={"berth:scan": "CRITICAL", "berth:scan-no-scan": "allow"})
    scan(berth, NEW, status="NONE")

    arn = push(berth, NEW)
    done = berth.wait_execution(arn)

    assert done["status"] == "SUCCEEDED", done
    assert {d for _, _, d in berth.running_images(svc)} == {NEW}
    reason = service_output(berth, arn, "CheckScan")["scanResult"]["reason"]
    assert reason.endswith("ECR has no scan of this image; allowed (onNoScan: allow)"), reason


@pytest.mark.quick
def test_a_typo_in_a_gate_tag_is_refused_before_any_change(berth):
    svc = berth.make_service("web", image(OLD), tags={"berth:scan": "SEVERE"})
    before, service = aws_snapshot(berth), berth.describe(svc)

    done = berth.wait_execution(push(berth, NEW))

    assert (done["status"], done["error"]) == ("FAILED", "InvalidInput"), done
    assert "berth:scan" in done["cause"] and "SEVERE" in done["cause"], done["cause"]
    assert only_executions_started(before, aws_snapshot(berth)) == []
    unchanged(berth, svc, service)


# ------------------------------------------------------------------ freeze windows


def window_ending_soon(berth, min_wait: float = 30) -> tuple[str, datetime]:
    """An absolute window (UTC, whole minutes as the format has them) holding the stack's now and
    ending at the next minute that is at least `min_wait` simulated seconds away: the window and
    its end (30 to 90 simulated seconds: 3 to 9 s of wall time at scale 10)."""
    now = berth.now()
    end = (now + timedelta(seconds=min_wait)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=5)
    fmt = "%Y-%m-%dT%H:%M"
    return f"{start.strftime(fmt)} - {end.strftime(fmt)}", end


def all_day_window(berth) -> str:
    now = berth.now()
    fmt = "%Y-%m-%dT%H:%M"
    return f"{(now - timedelta(hours=1)).strftime(fmt)} - {(now + timedelta(hours=1)).strftime(fmt)}"


def test_a_push_inside_a_freeze_window_waits_and_deploys_after_it(berth):
    window, end = window_ending_soon(berth)
    svc = berth.make_service(
        "web", image(OLD), tags={"berth:freeze": f"Sun 00:00 - Sun 00:01 / {window}", "berth:freeze-time-zone": "UTC"}
    )
    service = berth.describe(svc)

    arn = push(berth, NEW)
    # WHILE the window holds, the deployment waits and nothing is changed
    berth.sleep(10)
    assert berth.now() < end
    assert berth.client("stepfunctions").describe_execution(executionArn=arn)["status"] == "RUNNING"
    unchanged(berth, svc, service)

    done = berth.wait_execution(arn, timeout=180)

    # THEN it deployed, after the window's end
    assert done["status"] == "SUCCEEDED", done
    assert done["stopDate"] >= end
    assert {d for _, _, d in berth.running_images(svc)} == {NEW}
    assert entered(berth, arn, "WaitForThaw") >= 1
    checks = [
        json.loads(e["stateExitedEventDetails"]["output"])["freezeCheck"]
        for e in berth.history(arn)
        if (e.get("stateExitedEventDetails") or {}).get("name") == "CheckFreeze"
    ]
    assert checks[0]["decision"] == "WAIT" and checks[0]["until"] == end.strftime("%Y-%m-%dT%H:%M:%SZ"), checks
    assert checks[0]["window"] == window
    assert checks[-1]["decision"] == "OPEN", checks


def test_a_push_inside_a_refusing_window_ends_frozen_with_nothing_changed(berth):
    svc = berth.make_service(
        "web",
        image(OLD),
        tags={"berth:freeze": all_day_window(berth), "berth:freeze-time-zone": "UTC", "berth:freeze-action": "refuse"},
    )
    before, service = aws_snapshot(berth), berth.describe(svc)

    done = berth.wait_execution(push(berth, NEW))

    assert (done["status"], done["error"]) == ("FAILED", "Frozen"), done
    assert "not started, nothing changed: Frozen prod/web: frozen by service web tag berth:freeze" in done["cause"], (
        done["cause"]
    )
    assert "--override-freeze" in done["cause"]
    assert only_executions_started(before, aws_snapshot(berth)) == []
    unchanged(berth, svc, service)


def test_the_cli_override_deploys_inside_a_window_and_is_on_the_record(berth, cli):
    svc = berth.make_service(
        "web",
        image(OLD),
        tags={"berth:freeze": all_day_window(berth), "berth:freeze-time-zone": "UTC", "berth:freeze-action": "refuse"},
    )

    # WITHOUT the flag: refused, Frozen (the refused exit code)
    refused = cli(
        "deploy",
        "--cluster",
        "prod",
        "--service",
        "web",
        "--image",
        image(NEW),
        "--refresh-seconds",
        "0.3",
        "--output",
        "json",
    )
    assert refused.returncode == REFUSED, refused.stderr
    assert json.loads(refused.stdout)["error"] == "Frozen"
    assert {d for _, _, d in berth.running_images(svc)} == {OLD}

    # WITH it: deployed, the reason in the execution's input and the service's freezeCheck
    done = cli(
        "deploy",
        "--cluster",
        "prod",
        "--service",
        "web",
        "--image",
        image(NEW),
        "--override-freeze",
        "hotfix INC-42",
        "--refresh-seconds",
        "0.3",
        "--output",
        "json",
        env_overrides={"USER": "alice"},
    )
    assert done.returncode == DONE, done.stderr
    verdict = json.loads(done.stdout)
    arn = verdict["executionArn"]
    sfn = berth.client("stepfunctions")
    desc = sfn.describe_execution(executionArn=arn)
    assert json.loads(desc["input"])["overrideFreeze"] == {"reason": "hotfix INC-42", "by": "alice"}
    check = service_output(berth, arn, "CheckFreeze")["freezeCheck"]
    assert check["decision"] == "OVERRIDDEN" and check["override"] == {"reason": "hotfix INC-42", "by": "alice"}
    outcome = berth.outcomes(arn)[0]
    assert outcome["outcome"] == "DEPLOYED"
    assert "freeze overridden by alice: hotfix INC-42" in outcome["cause"], outcome
    # AND the CLI's progress shows it (berth watch prints the same lines)
    progress = lines(done.stderr)
    assert any(
        p.startswith("web: freeze OVERRIDDEN: prod/web: frozen by service web tag berth:freeze")
        and p.endswith("overridden by alice: hotfix INC-42")
        for p in progress
    ), progress
    assert {d for _, _, d in berth.running_images(svc)} == {NEW}
