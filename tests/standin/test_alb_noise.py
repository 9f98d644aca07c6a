"""Seeded noisy ALB metrics (`metric_noise`, tests/standin/alb_noise.py) through the stand-in: the
simulator's target-group metrics vary from datapoint to datapoint as a real service's do, and a
canary-5xx / canary-slow revision shows its 2 % 5xx / +30 % latency in them."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from .conftest import make_service, settled, wait_for


def series(standin, svc, seconds: float) -> dict[str, list[float]]:
    dims = [
        {"Name": "TargetGroup", "Value": svc["tg"].split(":")[-1]},
        {"Name": "LoadBalancer", "Value": "app/berth-local/0123456789abcdef"},
    ]

    def q(qid, name, stat):
        return {
            "Id": qid,
            "MetricStat": {
                "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": name, "Dimensions": dims},
                "Period": 1,
                "Stat": stat,
            },
        }

    start = datetime.fromtimestamp(time.time(), tz=UTC)
    time.sleep(seconds)
    out = standin.client("cloudwatch").get_metric_data(
        MetricDataQueries=[
            q("e", "HTTPCode_Target_5XX_Count", "Sum"),
            q("r", "RequestCount", "Sum"),
            q("lat", "TargetResponseTime", "p99"),
        ],
        StartTime=start,
        EndTime=datetime.fromtimestamp(time.time(), tz=UTC),
    )
    return {m["Id"]: m["Values"] for m in out["MetricDataResults"]}


def test_noise_is_configured_and_reported(standin):
    out = standin.control("config", {"metric_noise": {"seed": 7, "requests_per_minute": 60000}})
    assert out["metric_noise"]["seed"] == 7 and out["metric_noise"]["requests_per_minute"] == 60000.0
    assert standin.control("config", {"metric_noise": None})["metric_noise"] is None


def test_a_typo_in_the_noise_settings_is_refused(standin):
    import pytest
    import requests

    with pytest.raises(requests.HTTPError):
        standin.control("config", {"metric_noise": {"sead": 7}})


def test_noisy_metrics_vary_and_show_what_a_revision_does(standin):
    standin.control("config", {"metric_noise": {"seed": 11, "requests_per_minute": 60000}, "tick_seconds": 0.05})
    standin.control("images", {"image": "repo/web:5xx", "behaviour": "canary-5xx"})
    svc = make_service(standin, images=("repo/web:v1", "repo/web:5xx"), desired=2)
    wait_for(lambda: settled(svc), what="initial deployment")
    healthy = series(standin, svc, 3.0)
    # GIVEN healthy tasks: requests and p99 differ from second to second, errors are rare
    assert len(set(healthy["r"])) > 1 and len(set(healthy["lat"])) > 1, healthy
    assert 0.2 < sum(healthy["lat"]) / len(healthy["lat"]) < 0.8, healthy
    assert sum(healthy["e"]) <= 0.01 * sum(healthy["r"]), healthy
    # WHEN the canary-5xx revision takes over, THEN about 2 % of its requests are 5xx
    svc["ecs"].update_service(cluster="prod", service="web", taskDefinition=svc["tds"][1])
    wait_for(
        lambda: (lambda s: s and s["deployments"][0]["taskDefinition"] == svc["tds"][1])(settled(svc)),
        what="canary-5xx rollout",
    )
    bad = series(standin, svc, 3.0)
    assert 0.01 < sum(bad["e"]) / sum(bad["r"]) < 0.03, bad
