"""`berth abort` and `berth promote` end to end: the CLI tags the service (`berth:control`), the real
Lambdas obey the tag on their next poll, the CLI follows the execution to its end and removes the
tag. README, "The berth CLI"."""

from __future__ import annotations

import json
import time

from .harness import digest_of, wait_until
from .test_cli import image
from .test_scenarios import watch_checks

OLD = digest_of("control v1")
SLOW = digest_of("control slow")
NEW = digest_of("control v2")

# The exit codes (cli/src/exit.rs, `Exit`).
DEPLOYED, FAILED, ROLLED_BACK, REFUSED = 0, 1, 3, 5


def start(cli, digest: str, *extra: str) -> str:
    """`berth deploy --no-wait`: the execution's ARN."""
    done = cli(
        "deploy",
        "--cluster",
        "prod",
        "--service",
        "web",
        "--image",
        image(digest),
        "--poll-interval-seconds",
        "1",
        "--no-wait",
        *extra,
    )
    assert done.returncode == DEPLOYED, done.stderr
    return done.stdout.strip()


def outputs(berth, arn: str, state: str) -> list[dict]:
    events = berth.history(arn)
    return [
        json.loads(e["stateExitedEventDetails"]["output"])
        for e in events
        if e["type"].endswith("StateExited") and e["stateExitedEventDetails"]["name"] == state
    ]


def wait_for_state(berth, arn: str, state: str, timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = outputs(berth, arn, state)
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"{arn.rsplit(':', 1)[-1]} never left {state}")


def control_tag(berth, svc: dict) -> str | None:
    s = berth.client("ecs").describe_services(cluster=svc["cluster"], services=[svc["service"]], include=["TAGS"])[
        "services"
    ][0]
    return next((t["value"] for t in s.get("tags", []) if t["key"] == "berth:control"), None)


def test_abort_before_the_turn_changes_nothing_and_mid_rollout_rolls_back_to_the_previous_revision(berth, cli):
    svc = berth.make_service("web", image(OLD))
    # GIVEN a rollout that takes a minute (its tasks stay PENDING), and a second deployment queued
    # behind it
    berth.control("images", {"image": SLOW, "behaviour": "slow", "slow_ticks": 600})
    a = start(cli, SLOW)
    wait_for_state(berth, a, "UpdateService")
    b = start(cli, NEW)
    turns = wait_for_state(berth, b, "AcquireTurn")
    assert turns[0]["turn"]["decision"] == "WAIT", turns

    # WHEN the queued one is aborted (by name) THEN it ends NotStarted (exit 5), nothing registered
    queued = cli("abort", b.rsplit(":", 1)[-1], "--refresh-seconds", "0.3")
    assert queued.returncode == REFUSED, queued.stderr
    assert "tagged berth:control=abort:" in queued.stderr
    assert "error: DeploymentNotStarted" in queued.stdout, queued.stdout
    assert (
        "not started, nothing changed: Aborted aborted by hand (berth abort) before its turn to deploy prod/web"
        in queued.stdout
    ), queued.stdout
    assert control_tag(berth, svc) is None, "the tag is removed once the execution ended"
    assert len(berth.task_definition_arns("web")) == 2, "web:1 and the slow rollout's web:2 only"

    # WHEN the running one is aborted by service mid-rollout
    running = cli("abort", "web", "--cluster", "prod", "--refresh-seconds", "0.3", "--output", "json")
    # THEN it is rolled back (exit 3) and the execution records the abort
    assert running.returncode == ROLLED_BACK, running.stderr
    report = json.loads(running.stdout)
    assert report["action"] == "abort" and report["tagged"] == ["prod/web"] and report["tagRemoved"], report
    verdict = report["verdict"]
    assert verdict["executionArn"] == a and verdict["error"] == "DeploymentRolledBack", verdict
    assert "rollout FAILED (Aborted): aborted by hand (berth abort) during the rollout of web:2" in verdict["cause"], (
        verdict["cause"]
    )
    assert "now running web:1" in verdict["cause"], verdict["cause"]
    assert watch_checks(berth, a)[-1]["reason"] == "Aborted"
    # the service is back on its previous revision and digest, with no tag left
    s = berth.wait_steady(svc)
    assert s["taskDefinition"] == svc["task_definition"]
    assert {d for _, _, d in berth.running_images(svc)} == {OLD}
    assert control_tag(berth, svc) is None
    # nothing runs any more: nothing to abort (exit 1)
    nothing = cli("abort", "web", "--cluster", "prod")
    assert nothing.returncode == FAILED
    assert "nothing to abort: no running berth deployment of prod/web" in nothing.stderr, nothing.stderr


def test_promote_ends_a_long_bake_early_and_the_canary_result_says_by_hand(berth, cli, tmp_path):
    svc = berth.make_service("web", image(OLD))
    berth.alarm("web-5xx")
    canary = tmp_path / "canary.json"
    canary.write_text(json.dumps({"bakeSeconds": 3600, "intervalSeconds": 1, "alarms": ["web-5xx"]}))
    # GIVEN a deployment baking for an hour (simulated: 6 min of wall time at scale 10)
    arn = start(cli, NEW, "--canary", str(canary))
    first = wait_for_state(berth, arn, "EvaluateCanary")
    assert first[0]["canaryResult"]["decision"] == "CONTINUE", first

    # WHEN it is promoted by hand
    done = cli("promote", arn.rsplit(":", 1)[-1], "--refresh-seconds", "0.3", "--output", "json")
    # THEN it ends DEPLOYED well before the bake would have, recorded as promoted by hand
    assert done.returncode == DEPLOYED, done.stderr
    assert "the canary bake ends at its next evaluation (every 1s)" in done.stderr
    report = json.loads(done.stdout)
    assert report["action"] == "promote" and report["tagRemoved"], report
    verdict = report["verdict"]
    assert verdict["status"] == "SUCCEEDED" and verdict["services"][0]["outcome"] == "DEPLOYED", verdict
    assert verdict["durationSeconds"] < 600, verdict
    result = outputs(berth, arn, "EvaluateCanary")[-1]["canaryResult"]
    assert result["decision"] == "PROMOTE" and result["promotedByHand"] is True, result
    assert result["detail"].startswith("promoted by hand (berth promote) "), result
    summary = outputs(berth, arn, "Summarize")[-1]["summary"]
    assert "deployed web:2, promoted by hand (berth promote)" in summary["cause"], summary
    assert {d for _, _, d in berth.running_images(svc)} == {NEW}
    assert control_tag(berth, svc) is None

    # A deployment without a bake has nothing to promote (exit 1, the tag is never written).
    berth.control("images", {"image": SLOW, "behaviour": "slow", "slow_ticks": 100})
    plain = start(cli, SLOW)
    wait_for_state(berth, plain, "Plan")
    nothing = cli("promote", plain.rsplit(":", 1)[-1])
    assert nothing.returncode == FAILED
    assert "nothing to promote: execution " in nothing.stderr and "without a canary bake" in nothing.stderr, (
        nothing.stderr
    )
    assert control_tag(berth, svc) is None
    berth.wait_execution(plain)


def test_abort_at_the_approval_gate_rejects_it_and_changes_nothing(berth, cli):
    svc = berth.make_service("web", image(OLD))
    # GIVEN a deployment waiting at its approval gate
    arn = start(cli, NEW, "--approval", "--approval-timeout-seconds", "120")
    wait_until(
        lambda: any(
            e.get("taskScheduledEventDetails", {}).get("resource", "").startswith("putEvents")
            for e in berth.history(arn)
        ),
        60,
        "the approval gate",
    )
    # WHEN it is aborted THEN the CLI rejects the gate: NOT_STARTED, nothing registered (exit 5)
    done = cli("abort", arn.rsplit(":", 1)[-1], "--refresh-seconds", "0.3", "--output", "json")
    assert done.returncode == REFUSED, done.stderr
    assert "prod/web: its approval gate was rejected (aborted by hand (berth abort))" in done.stderr, done.stderr
    report = json.loads(done.stdout)
    assert report["rejectedGates"] == 1 and report["tagRemoved"], report
    assert report["verdict"]["services"][0]["outcome"] == "NOT_STARTED", report
    assert "aborted by hand (berth abort)" in report["verdict"]["cause"], report
    assert len(berth.task_definition_arns("web")) == 1
    assert control_tag(berth, svc) is None
