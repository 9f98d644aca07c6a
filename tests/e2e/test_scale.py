"""Rollouts at scale (README, "Rollouts at scale"): each service of a push deploys in its own
execution of the service state machine, and a rollout's watch is answered by ECS's own deployment
events (wake-rollout), with a slow fallback poll for events that never come.

Speed is measured by scripts/bench, not here: these assert how the verdict was reached."""

from __future__ import annotations

import json
import re

import pytest

from .conftest import started_stack
from .harness import SERVICE_STATE_MACHINE_ARN, wait_until
from .test_scenarios import NEW, OLD, image, push


def entered(events: list[dict], state: str, execution: str | None = None) -> int:
    return sum(
        1
        for e in events
        if (d := e.get("stateEnteredEventDetails"))
        and d["name"] == state
        and (execution is None or e["execution"] == execution)
    )


@pytest.fixture(scope="module")
def evented(request):
    """A stack with the template's 300 s fallback poll (30 s of wall time at scale 10). The shared
    stack's 30 s poll is 3 s of wall time, shorter than a rollout of 0.1 s ECS ticks, so there the
    poll sometimes answered the watch before ECS's event (once in three whole runs)."""
    with started_stack(request, "e2e evented", fallback_seconds=300, instances=2) as s:
        yield s


def test_ecs_deployment_event_answers_the_waiting_rollout(evented):
    berth = evented
    berth.reset()
    # GIVEN a service whose rollout ECS reports by events (rolling, circuit breaker on)
    berth.make_service("web", image("web", OLD))
    # WHEN a push deploys it (the fallback poll is the template's 300 s)
    arn = push(berth, "web", NEW, "v2")
    done = berth.wait_execution(arn, timeout=120)
    assert done["status"] == "SUCCEEDED", done
    # THEN the watch was entered once and answered COMPLETED by wake-rollout on one of ECS's
    # events (the old revision's last task stopping, or the deployment completing): no fallback
    # poll ran, and the watch's own first check had found it still in progress
    events = berth.history(arn)
    assert entered(events, "WatchRollout") == 1
    assert not [e for e in events if e["type"] == "TaskTimedOut"]

    # (the forwarder records an answer when the invocation returns, which may be after the
    # execution has ended: wake-rollout may still be listing for another event)
    def answered():
        seen = [(w["event"], c["status"]) for w in list(berth.woken) for c in w.get("checked", [])]
        return seen if seen and seen[-1][1] == "COMPLETED" else None

    wait_until(answered, 10, f"wake-rollout's COMPLETED answer: {berth.woken}")
    own = [
        json.loads(e["taskSubmittedEventDetails"]["output"])["Payload"]["status"]
        for e in events
        if e["type"] == "TaskSubmitted" and e["taskSubmittedEventDetails"]["resource"].startswith("invoke")
    ]
    assert own == ["IN_PROGRESS"], own


def test_each_service_deploys_in_its_own_execution_and_reports_briefly(berth):
    # GIVEN one repository that three services run
    names = ["api", "worker", "cron"]
    for n in names:
        berth.make_service(n, image("shared", OLD), repository="shared")
    # WHEN it is pushed
    arn = push(berth, "shared", NEW, "v2")
    done = berth.wait_execution(arn, timeout=180)
    assert done["status"] == "SUCCEEDED", done
    # THEN each service ran in an execution of the service machine, named after it
    children = berth.children(arn)
    assert len(children) == 3
    sfn = berth.client("stepfunctions")
    described = [sfn.describe_execution(executionArn=c) for c in children]
    assert {d["stateMachineArn"] for d in described} == {SERVICE_STATE_MACHINE_ARN}
    assert all(d["status"] == "SUCCEEDED" for d in described), described
    assert sorted(d["name"].split("-")[0] for d in described) == sorted(names)
    assert all(re.fullmatch(r"[a-z]+-[0-9a-f]{16}-[0-9a-f]{8}", d["name"]) for d in described), described
    # AND the deployment's own history holds no service's rollout: only DeployService per service
    parent = [e for e in berth.history(arn) if e["execution"] == arn]
    assert entered(parent, "WatchRollout") == 0 and entered(parent, "DeployService") == 3
    # AND the Map keeps each service's report only: outcome, one sentence, nothing else
    reports = berth.outcomes(arn)
    assert sorted(r["service"] for r in reports) == sorted(names)
    for r in reports:
        assert set(r) <= {"cluster", "service", "outcome", "cause", "error"}, r
        assert r["outcome"] == "DEPLOYED" and len(json.dumps(r)) < 600, r
    out = json.loads(done["output"])
    assert out["summary"]["status"] == "SUCCEEDED" and len(out["summary"]["services"]) == 3


@pytest.fixture(scope="module")
def deaf(request):
    """A stack whose ECS events never reach berth, with a 2 s fallback poll."""
    with started_stack(request, "e2e deaf", fallback_seconds=2, wake=False) as s:
        yield s


def test_without_events_the_fallback_poll_still_reaches_the_verdict(deaf):
    deaf.reset()
    deaf.make_service("web", image("web", OLD))
    deaf.control("images", {"image": NEW, "behaviour": "slow", "slow_ticks": 40})
    arn = push(deaf, "web", NEW, "v2")
    done = deaf.wait_execution(arn, timeout=120)
    assert done["status"] == "SUCCEEDED", done
    # the watch timed out and looked again until the rollout had completed
    events = deaf.history(arn)
    assert entered(events, "WatchRollout") >= 2
    timed_out = [e for e in events if e["type"] == "TaskTimedOut"]
    assert timed_out, "no fallback poll ran"
    assert deaf.woken == []
