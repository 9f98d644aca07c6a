"""The ECS built-in strategy hook (ecs-hook) under the real Lambda runtime loop, called the way ECS
calls a lifecycle hook of a BLUE_GREEN / LINEAR / CANARY deployment: with the stage, the traffic
weights and `hookDetails`, again after `callBackDelay` while it answers IN_PROGRESS.

The event shape is the one in the ECS developer guide ("Lambda hooks for Amazon ECS service
deployments"). The checks are real: HTTP probes against the stand-in, CloudWatch alarms in moto.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

PREFIX = "arn:aws:ecs:us-east-1:123456789012"
BLUE = f"{PREFIX}:service-revision/prod/web/4980306466373577095"
GREEN = f"{PREFIX}:service-revision/prod/web/2637021523716452836"


def event(stage: str, production: dict, hook_details: dict | None, test: dict | None = None) -> dict:
    return {
        "executionId": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
        "lifecycleStage": stage,
        "resourceArn": f"{PREFIX}:service-deployment/prod/web/Jx3gHK0LuZSSIN3ZqAnYn",
        "executionDetails": {
            "serviceArn": f"{PREFIX}:service/prod/web",
            "targetServiceRevisionArn": GREEN,
            "testTrafficWeights": test or {},
            "productionTrafficWeights": production,
        },
        "hookDetails": hook_details,
    }


def alarm(berth, name: str, state: str) -> None:
    berth.alarm(name, state)


def test_ecs_hook_answers_in_progress_while_the_canary_bakes_then_succeeded(berth):
    alarm(berth, "web-5xx", "OK")
    details = {
        "hooks": {
            "POST_PRODUCTION_TRAFFIC_SHIFT": {
                "probes": [{"name": "health", "url": f"{berth.url}/_berth/health", "latencyBudgetMs": 2000}],
                "canary": {"bakeSeconds": 30, "intervalSeconds": 5, "alarms": ["web-5xx"]},
            }
        }
    }
    first = berth.invoke("ecs-hook", event("POST_PRODUCTION_TRAFFIC_SHIFT", {GREEN: 100.0, BLUE: 0.0}, details))
    assert first["hookStatus"] == "IN_PROGRESS", first
    assert first["callBackDelay"] == 5
    state = first["hookDetails"]["berthState"]
    assert state["evaluations"] == 1
    # ECS calls again after callBackDelay with the hookDetails the hook returned.
    calls = 1
    answer = first
    started = time.monotonic()
    while answer["hookStatus"] == "IN_PROGRESS":
        assert time.monotonic() - started < 20, answer
        berth.sleep(answer["callBackDelay"])  # ECS waits callBackDelay on its clock
        answer = berth.invoke(
            "ecs-hook", event("POST_PRODUCTION_TRAFFIC_SHIFT", {GREEN: 100.0, BLUE: 0.0}, answer["hookDetails"])
        )
        calls += 1
    assert answer["hookStatus"] == "SUCCEEDED", answer
    assert calls >= 3, "a 30 s bake at 5 s intervals takes several calls"


def test_ecs_hook_fails_when_an_alarm_fires_during_the_bake(berth):
    alarm(berth, "web-5xx", "ALARM")
    details = {
        "hooks": {
            "POST_PRODUCTION_TRAFFIC_SHIFT": {
                "canary": {"bakeSeconds": 30, "intervalSeconds": 5, "alarms": ["web-5xx"]},
            }
        }
    }
    answer = berth.invoke("ecs-hook", event("POST_PRODUCTION_TRAFFIC_SHIFT", {GREEN: 100.0, BLUE: 0.0}, details))
    assert answer["hookStatus"] == "FAILED", answer


def test_ecs_hook_recognises_a_rollback_from_the_weights_and_does_not_hold_it_up(berth):
    # A probe that fails (the stand-in answers 404 there) at the production shift ...
    details = {
        "hooks": {
            "PRODUCTION_TRAFFIC_SHIFT": {
                "probes": [{"name": "green-health", "url": f"{berth.url}/_berth/no-such-route"}],
            }
        }
    }
    forward = berth.invoke("ecs-hook", event("PRODUCTION_TRAFFIC_SHIFT", {GREEN: 100.0, BLUE: 0.0}, details))
    assert forward["hookStatus"] == "FAILED", forward
    # ... is not run when production traffic is on its way back to blue: a rollback must not wait.
    back = berth.invoke("ecs-hook", event("PRODUCTION_TRAFFIC_SHIFT", {GREEN: 0.0, BLUE: 100.0}, details))
    assert back["hookStatus"] == "SUCCEEDED", back
    test_back = berth.invoke(
        "ecs-hook",
        event(
            "TEST_TRAFFIC_SHIFT",
            {BLUE: 100.0},
            {"hooks": {"TEST_TRAFFIC_SHIFT": details["hooks"]["PRODUCTION_TRAFFIC_SHIFT"]}},
            test={GREEN: 0.0, BLUE: 100.0},
        ),
    )
    assert test_back["hookStatus"] == "SUCCEEDED", test_back


def test_ecs_hook_with_broken_hook_details_fails_with_a_reason(berth):
    details = {
        "hooks": {"POST_TEST_TRAFFIC_SHIFT": {"probes": [{"name": "x", "url": "not a url", "expectStatus": "ok"}]}}
    }
    answer = berth.invoke("ecs-hook", event("POST_TEST_TRAFFIC_SHIFT", {BLUE: 100.0}, details, test={GREEN: 100.0}))
    assert answer["hookStatus"] == "FAILED", answer


def test_ecs_hook_judges_a_canary_analysis_against_the_old_revisions_target_group(berth):
    # GIVEN 20 s of per-second p99 on both target groups: green 40 % slower than blue
    cw = berth.client("cloudwatch")
    now = int(berth.now().timestamp())
    for tg, p99 in (("targetgroup/web-green/1", 0.35), ("targetgroup/web-blue/1", 0.25)):
        dims = [{"Name": "TargetGroup", "Value": tg}, {"Name": "LoadBalancer", "Value": "app/web/1"}]
        cw.put_metric_data(
            Namespace="AWS/ApplicationELB",
            MetricData=[
                {
                    "MetricName": "TargetResponseTime",
                    "Dimensions": dims,
                    "Unit": "Seconds",
                    "Timestamp": datetime.fromtimestamp(now - s, tz=UTC),
                    "Values": [p99 * (1 + 0.01 * (s % 5))],
                }
                for s in range(1, 21)
            ],
        )
    green = {"TargetGroup": "targetgroup/web-green/1", "LoadBalancer": "app/web/1"}
    canary: dict[str, Any] = {
        "bakeSeconds": 0,
        "windowSeconds": 30,
        "analysis": {"baseline": {"source": "dimensions", "dimensions": {"TargetGroup": "targetgroup/web-blue/1"}}},
        "metrics": [
            {
                "name": "green p99",
                "period": 1,
                "compare": {"direction": "increase", "critical": True},
                "metric": {
                    "namespace": "AWS/ApplicationELB",
                    "metricName": "TargetResponseTime",
                    "stat": "p99",
                    "dimensions": green,
                },
            }
        ],
    }
    details = {"hooks": {"POST_PRODUCTION_TRAFFIC_SHIFT": {"canary": canary}}}
    answer = berth.invoke("ecs-hook", event("POST_PRODUCTION_TRAFFIC_SHIFT", {GREEN: 100.0, BLUE: 0.0}, details))
    # THEN the hook fails, and its log names the metric with its numbers
    assert answer["hookStatus"] == "FAILED", answer
    log = berth.logs("lambda-ecs-hook.log", tail=200)
    assert "canary analysis Fail (critical metric(s) failed: green p99 HIGH)" in log, log
    assert "green p99 HIGH [critical]: canary median 0.35" in log and "vs baseline 0.25" in log, log
    # AND the other way round (blue judged against green: lower, and only higher is bad) passes
    same = {
        **canary,
        "metrics": [
            {
                **canary["metrics"][0],
                "metric": {
                    **canary["metrics"][0]["metric"],
                    "dimensions": {"TargetGroup": "targetgroup/web-blue/1", "LoadBalancer": "app/web/1"},
                },
            }
        ],
        "analysis": {"baseline": {"source": "dimensions", "dimensions": {"TargetGroup": "targetgroup/web-green/1"}}},
    }
    answer = berth.invoke(
        "ecs-hook",
        event(
            "POST_PRODUCTION_TRAFFIC_SHIFT",
            {GREEN: 100.0, BLUE: 0.0},
            {"hooks": {"POST_PRODUCTION_TRAFFIC_SHIFT": {"canary": same}}},
        ),
    )
    assert answer["hookStatus"] == "SUCCEEDED", answer
