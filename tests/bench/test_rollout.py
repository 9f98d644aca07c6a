"""scripts/bench's core with tiny parameters, so the benchmark cannot rot: one berth rollout and one
ecs-deploy rollout of about 2 s at a 1 s poll, and a fan-out push to 3 services. It checks that every
number is measured, not what the numbers are (benchmarks are run by hand: scripts/bench)."""

from __future__ import annotations

import os

from tests.bench import rollout


def test_the_rollout_benchmark_measures_both_tools_and_a_fan_out(request):
    build = os.environ.get("BERTH_E2E_BUILD", "release")
    if build == "release":
        request.getfixturevalue("release_artifact")  # built once per session (tests/conftest.py)
    lines: list[str] = []
    headline = rollout.main(
        [
            "--build",
            build,
            "--built",
            "--runs",
            "1",
            "--rollout-seconds",
            "2",
            "--poll-seconds",
            "1",
            "--services",
            "3",
        ],
        log=lines.append,
    )
    text = "\n".join(lines)
    # berth's verdict comes after ECS's completion, within a poll and the Lambdas' time
    assert 0 <= headline["lag"] < 5, text
    assert -1 < headline["peer_lag"] < 5, text
    # the execution's history is read: Plan, the per-service states, at least one poll loop
    assert headline["transitions"] > 10 and headline["events"] > headline["transitions"], text
    assert headline["transitions_10_min"] > headline["transitions"], text
    for label in (
        "detection lag",
        "state transitions",
        "history events",
        "Lambda invokes",
        "ecs:RegisterTaskDefinition",
        "ecs:UpdateService",
        "fan-out",
        "of 25,000",
    ):
        assert label in text, f"{label!r} missing from the report:\n{text}"
    assert headline["fan_status"] == "SUCCEEDED" and headline["fan_services"] == 3, text
