"""The stack's one clock, end to end (tests/standin/README.md, "Simulated time"): berth's Lambdas
read the stand-in's simulated clock, so a canary's ten-minute bake lasts ten minutes on every
clock the deployment is judged by (the Lambdas', the executions') and seconds of wall time."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from .conftest import started_stack
from .harness import REGISTRY, digest_of
from .test_scenarios import history_outputs

OLD = digest_of("web v1")
NEW = digest_of("web v2")
SCALE = 60  # a simulated minute to a wall second


def image(digest: str) -> str:
    return f"{REGISTRY}/web@{digest}"


def instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module")
def minutes(request):
    with started_stack(request, "clock", time_scale=SCALE) as s:
        yield s


def test_a_ten_minute_bake_lasts_ten_simulated_minutes_and_seconds_of_wall_time(minutes):
    # GIVEN a service and a canary baking 10 minutes, looked at once a minute
    berth = minutes
    berth.reset()
    berth.make_service("web", image(OLD))
    berth.alarm("web-5xx")
    canary = {"bakeSeconds": 600, "intervalSeconds": 60, "alarms": ["web-5xx"]}
    # WHEN it deploys
    t0 = time.monotonic()
    arn = berth.start_execution({"cluster": "prod", "service": "web", "image": image(NEW), "canary": canary})
    done = berth.wait_execution(arn, timeout=120)
    wall = time.monotonic() - t0
    assert done["status"] == "SUCCEEDED", done
    # THEN on the Lambdas' clock the bake started, was looked at about once a minute, and ended
    # 600 s later; the execution (the stand-in's clock) lasted as long; the wall saw seconds
    results = [o["canaryResult"] for o in history_outputs(berth, arn, "EvaluateCanary")]
    last = results[-1]
    assert last["decision"] == "PROMOTE", last
    started, ends = instant(last["bakeStartedAt"]), instant(last["bakeEndsAt"])
    assert abs(ends - started - 600) < 1, last  # the end is written in whole seconds
    evaluated = [instant(r["evaluatedAt"]) for r in results]
    assert evaluated[0] < started + 120 and evaluated[-1] >= ends, (last, evaluated)
    assert 8 <= len(results) <= 12, [r["evaluatedAt"] for r in results]
    assert (done["stopDate"] - done["startDate"]).total_seconds() >= 600, done
    assert wall < 60, f"a 10-minute bake took {wall:.1f} s of wall time at scale {SCALE}"
    # and the clocks agree: the execution stopped (the stand-in's clock) just after the last
    # evaluation (the Lambda's), before the test's own reading of the stack's clock
    stopped = done["stopDate"].timestamp()
    assert evaluated[-1] - 1 <= stopped <= evaluated[-1] + 5 * SCALE, (last["evaluatedAt"], done["stopDate"])
    assert stopped <= berth.now().timestamp() + 1, (done["stopDate"], berth.now())
