"""ECS's native BLUE_GREEN / LINEAR / CANARY strategies in the simulator: lifecycle stages one per
tick, traffic weights per stage, bakes, Lambda hooks through the Lambda route (stubs), IN_PROGRESS
re-invocation, FAILED -> rollback, PAUSE hooks and ContinueServiceDeployment, StopServiceDeployment.
The ticker is paused; hook invocations run in threads, so the helpers tick and briefly sleep."""

from __future__ import annotations

import time
from datetime import UTC

import botocore.exceptions
import pytest
import requests

from .conftest import describe, make_service
from .ecs_strategies import plan

FN = "arn:aws:lambda:us-east-1:123456789012:function:"


@pytest.fixture
def paused(standin):
    standin.control("config", {"paused": True, "ecs_minute_seconds": 0.05})
    return standin


def stub(standin, name, result):
    standin.control("lambda-stubs", {"name": name, "result": result})


def invocations(standin, name):
    return [i for i in standin.control("lambda-invocations", method="GET")["invocations"] if i["function"] == name]


def sd(ecs, arn):
    return ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]


def start(standin, strategy_cfg: dict, hooks=(), images=("repo/web:v1", "repo/web:v2"), desired=2):
    """A rolling service on v1 (settled), then an update to v2 with the given strategy and hooks.
    Returns (svc, service deployment ARN, blue revision ARN)."""
    svc = make_service(standin, images=images, desired=desired)
    ecs = svc["ecs"]
    standin.control("tick", {"count": 12})
    first = ecs.list_service_deployments(cluster="prod", service="web")["serviceDeployments"][0]
    assert first["status"] == "SUCCESSFUL"
    cfg = dict(strategy_cfg)
    cfg["lifecycleHooks"] = list(hooks)
    ecs.update_service(cluster="prod", service="web", taskDefinition="web:2", deploymentConfiguration=cfg)
    arn = ecs.list_service_deployments(cluster="prod", service="web")["serviceDeployments"][0]["serviceDeploymentArn"]
    return svc, arn, first["targetServiceRevisionArn"]


def hook(name, stages, details=None, **kw):
    h = {
        "targetType": "AWS_LAMBDA",
        "hookTargetArn": FN + name,
        "roleArn": "arn:aws:iam::123456789012:role/hooks",
        "lifecycleStages": list(stages),
        **kw,
    }
    if details is not None:
        h["hookDetails"] = details
    return h


def run_until(standin, ecs, arn, done, limit=200):
    """Tick (with a short sleep for hook threads) until done(record); returns (record, timeline) where
    the timeline lists each distinct (status, lifecycleStage, prod weight of green, test weight of green)."""
    timeline: list[tuple] = []
    for _ in range(limit):
        rec = sd(ecs, arn)
        tgt = rec["targetServiceRevision"]
        row = (
            rec["status"],
            rec.get("lifecycleStage"),
            tgt.get("requestedProductionTrafficWeight"),
            tgt.get("requestedTestTrafficWeight"),
        )
        if not timeline or timeline[-1] != row:
            timeline.append(row)
        if done(rec):
            return rec, timeline
        standin.control("tick", {"count": 1})
        time.sleep(0.02)
    raise AssertionError(f"not done; timeline {timeline}")


def finished(rec):
    return rec["status"] in ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")


def test_plans_of_the_three_strategies():
    def shifts(p):
        return [s["prod"] for s in p if "prod" in s]

    bg = plan("BLUE_GREEN", {"bakeTimeInMinutes": 5}, reconcile=False)
    assert [s["stage"] for s in bg] == [
        "PRE_SCALE_UP",
        "SCALE_UP",
        "POST_SCALE_UP",
        "TEST_TRAFFIC_SHIFT",
        "POST_TEST_TRAFFIC_SHIFT",
        "PRODUCTION_TRAFFIC_SHIFT",
        "PRODUCTION_TRAFFIC_SHIFT",
        "POST_PRODUCTION_TRAFFIC_SHIFT",
        "BAKE_TIME",
        "CLEAN_UP",
    ]
    assert bg[5]["hookStage"] == "PRE_PRODUCTION_TRAFFIC_SHIFT" and shifts(bg) == [100.0]
    assert bg[-2]["bakeMinutes"] == 5.0
    canary = plan(
        "CANARY", {"canaryConfiguration": {"canaryPercent": 5.0, "canaryBakeTimeInMinutes": 3}}, reconcile=True
    )
    assert canary[0]["stage"] == "RECONCILE_SERVICE"
    assert shifts(canary) == [5.0, 100.0]
    assert [s["bakeMinutes"] for s in canary if "prod" in s] == [3.0, 0.0]
    linear = plan("LINEAR", {"linearConfiguration": {"stepPercent": 30.0, "stepBakeTimeInMinutes": 2}}, reconcile=False)
    assert shifts(linear) == [30.0, 60.0, 90.0, 100.0]
    assert [s["bakeMinutes"] for s in linear if "prod" in s] == [2.0, 2.0, 2.0, 0.0]


def test_blue_green_goes_through_every_stage_with_hooks_and_weights(paused):
    stub(paused, "bg-hook", {"hookStatus": "SUCCEEDED"})
    svc, arn, blue = start(
        paused,
        {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 2},
        hooks=[
            hook(
                "bg-hook",
                [
                    "POST_SCALE_UP",
                    "TEST_TRAFFIC_SHIFT",
                    "PRE_PRODUCTION_TRAFFIC_SHIFT",
                    "POST_PRODUCTION_TRAFFIC_SHIFT",
                ],
                details={"checks": ["health"]},
            ),
        ],
    )
    ecs = svc["ecs"]
    bake_started: float | None = None

    def done(rec):
        nonlocal bake_started
        if rec.get("lifecycleStage") == "BAKE_TIME" and bake_started is None:
            bake_started = time.monotonic()
            # blue and green both run at full size during the bake
            s = describe(svc)
            assert s["runningCount"] == 4 and len(s["deployments"]) == 2
            assert {
                r["arn"]: r["requestedTaskCount"]
                for r in [*rec["sourceServiceRevisions"], rec["targetServiceRevision"]]
            } == {blue: 2, rec["targetServiceRevision"]["arn"]: 2}
        return finished(rec)

    rec, timeline = run_until(paused, ecs, arn, done)
    assert rec["status"] == "SUCCESSFUL", timeline
    stages = [row[1] for row in timeline if row[1]]
    assert list(dict.fromkeys(stages)) == [
        "PRE_SCALE_UP",
        "SCALE_UP",
        "POST_SCALE_UP",
        "TEST_TRAFFIC_SHIFT",
        "POST_TEST_TRAFFIC_SHIFT",
        "PRODUCTION_TRAFFIC_SHIFT",
        "POST_PRODUCTION_TRAFFIC_SHIFT",
        "BAKE_TIME",
        "CLEAN_UP",
    ]
    weights = {row[1]: (row[2], row[3]) for row in timeline if row[1]}
    assert weights["POST_SCALE_UP"] == (0.0, 0.0)
    assert weights["POST_TEST_TRAFFIC_SHIFT"] == (0.0, 100.0)
    assert weights["POST_PRODUCTION_TRAFFIC_SHIFT"] == (100.0, 100.0)
    assert bake_started is not None
    assert time.monotonic() - bake_started >= 2 * 0.05  # the bake was honoured
    assert rec["sourceServiceRevisions"][0]["requestedProductionTrafficWeight"] == 0.0
    assert rec["sourceServiceRevisions"][0]["requestedTaskCount"] == 0

    calls = invocations(paused, "bg-hook")
    assert [c["payload"]["lifecycleStage"] for c in calls] == [
        "POST_SCALE_UP",
        "TEST_TRAFFIC_SHIFT",
        "PRE_PRODUCTION_TRAFFIC_SHIFT",
        "POST_PRODUCTION_TRAFFIC_SHIFT",
    ]
    p = calls[1]["payload"]
    green = rec["targetServiceRevision"]["arn"]
    assert p["resourceArn"] == arn and p["hookDetails"] == {"checks": ["health"]}
    assert p["executionDetails"] == {
        "serviceArn": describe(svc)["serviceArn"],
        "targetServiceRevisionArn": green,
        "testTrafficWeights": {blue: 0.0, green: 100.0},
        "productionTrafficWeights": {blue: 100.0, green: 0.0},
    }
    assert p["targetServiceRevisionArn"] == green and p["productionTrafficWeights"] == {blue: 100.0, green: 0.0}
    assert calls[3]["payload"]["productionTrafficWeights"] == {blue: 0.0, green: 100.0}
    assert len({c["payload"]["executionId"] for c in calls}) == 4

    s = describe(svc)
    assert len(s["deployments"]) == 1 and s["deployments"][0]["rolloutState"] == "COMPLETED"
    assert s["taskDefinition"] == svc["tds"][1] and s["runningCount"] == 2
    stopped = ecs.describe_tasks(
        cluster="prod", tasks=ecs.list_tasks(cluster="prod", serviceName="web", desiredStatus="STOPPED")["taskArns"]
    )["tasks"]
    assert {t["taskDefinitionArn"] for t in stopped} == {svc["tds"][0]}
    assert [e["detail"]["eventName"] for e in paused.state()["deploymentEvents"]][-2:] == [
        "SERVICE_DEPLOYMENT_IN_PROGRESS",
        "SERVICE_DEPLOYMENT_COMPLETED",
    ]


@pytest.mark.parametrize(
    "strategy,cfg,expected",
    [
        ("CANARY", {"canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 1}}, [0.0, 10.0, 100.0]),
        (
            "LINEAR",
            {"linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 1}},
            [0.0, 25.0, 50.0, 75.0, 100.0],
        ),
    ],
)
def test_canary_and_linear_shift_production_traffic_in_steps_with_bakes(paused, strategy, cfg, expected):
    svc, arn, blue = start(paused, {"strategy": strategy, **cfg})
    ecs = svc["ecs"]
    seen_probe: dict[str, int] = {}

    def done(rec):
        w = rec["targetServiceRevision"].get("requestedProductionTrafficWeight")
        if rec.get("lifecycleStage") == "PRODUCTION_TRAFFIC_SHIFT" and w == expected[1] and not seen_probe:
            # the listener probe splits production traffic by the same weights
            answers = [
                requests.get(f"{paused.url}/_berth/listener/prod/web/prod").json()["taskDefinition"] for _ in range(100)
            ]
            seen_probe.update({td: answers.count(td) for td in set(answers)})
            assert requests.get(f"{paused.url}/_berth/listener/prod/web/test").json()["taskDefinition"] == svc["tds"][1]
        return finished(rec)

    rec, timeline = run_until(paused, ecs, arn, done)
    assert rec["status"] == "SUCCESSFUL", timeline
    shift = [row[2] for row in timeline if row[1] == "PRODUCTION_TRAFFIC_SHIFT"]
    assert list(dict.fromkeys(shift)) == expected
    assert seen_probe == {svc["tds"][1]: int(expected[1]), svc["tds"][0]: 100 - int(expected[1])}


def test_in_progress_hooks_are_called_again_with_their_details_and_failed_rolls_back(paused):
    stub(paused, "slow-hook", {"hookStatus": "IN_PROGRESS", "callBackDelay": 1, "hookDetails": {"round": 1}})
    svc, arn, blue = start(
        paused, {"strategy": "BLUE_GREEN"}, hooks=[hook("slow-hook", ["POST_TEST_TRAFFIC_SHIFT"], details={"round": 0})]
    )
    ecs = svc["ecs"]
    rec, _ = run_until(paused, ecs, arn, lambda r: len(invocations(paused, "slow-hook")) >= 3)
    assert rec["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"
    [detail] = rec["lifecycleHookDetails"]
    assert (
        detail["status"] == "IN_PROGRESS"
        and detail["targetType"] == "AWS_LAMBDA"
        and detail["targetArn"] == FN + "slow-hook"
    )
    calls = invocations(paused, "slow-hook")
    assert [c["payload"]["hookDetails"] for c in calls[:3]] == [{"round": 0}, {"round": 1}, {"round": 1}]
    assert len({c["payload"]["executionId"] for c in calls}) == 1  # one execution, called again

    stub(paused, "slow-hook", {"hookStatus": "FAILED"})
    rec, timeline = run_until(paused, ecs, arn, finished)
    assert list(dict.fromkeys(row[0] for row in timeline))[-3:] == [
        "ROLLBACK_REQUESTED",
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_SUCCESSFUL",
    ], timeline
    assert rec["status"] == "ROLLBACK_SUCCESSFUL"
    assert "slow-hook" in rec["statusReason"] and "POST_TEST_TRAFFIC_SHIFT" in rec["statusReason"]
    assert rec["rollback"]["serviceRevisionArn"] == blue
    assert rec["targetServiceRevision"]["requestedProductionTrafficWeight"] == 0.0
    assert rec["targetServiceRevision"]["requestedTestTrafficWeight"] == 0.0
    s = describe(svc)
    assert len(s["deployments"]) == 1 and s["deployments"][0]["taskDefinition"] == svc["tds"][0]
    assert s["deployments"][0]["rolloutState"] == "COMPLETED" and s["taskDefinition"] == svc["tds"][0]
    running = ecs.describe_tasks(cluster="prod", tasks=ecs.list_tasks(cluster="prod", serviceName="web")["taskArns"])[
        "tasks"
    ]
    assert {t["taskDefinitionArn"] for t in running} == {svc["tds"][0]} and len(running) == 2
    names = [e["detail"]["eventName"] for e in paused.state()["deploymentEvents"]]
    assert names[-3:] == ["SERVICE_DEPLOYMENT_FAILED", "SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED"]


def test_a_hook_whose_invoke_fails_rolls_back(paused):
    # no stub and the fake runtime answers this name with a function error (500 + errorType)
    svc, arn, _ = start(paused, {"strategy": "BLUE_GREEN"}, hooks=[hook("fails", ["PRE_SCALE_UP"])])
    rec, _ = run_until(paused, svc["ecs"], arn, finished)
    assert rec["status"] == "ROLLBACK_SUCCESSFUL" and "function error" in rec["statusReason"]


def test_pause_hook_waits_for_continue_service_deployment(paused):
    pause = {
        "targetType": "PAUSE",
        "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
        "timeoutConfiguration": {"timeoutInMinutes": 600},
    }
    svc, arn, _ = start(paused, {"strategy": "BLUE_GREEN"}, hooks=[pause])
    ecs = svc["ecs"]
    rec, _ = run_until(
        paused, ecs, arn, lambda r: any(h["status"] == "AWAITING_ACTION" for h in r.get("lifecycleHookDetails", []))
    )
    [h] = rec["lifecycleHookDetails"]
    assert h["targetType"] == "PAUSE" and h["timeoutAction"] == "ROLLBACK" and "expiresAt" in h
    paused.control("tick", {"count": 20})
    assert sd(ecs, arn)["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"  # still waiting

    with pytest.raises(botocore.exceptions.ClientError) as e:
        ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId="not-a-hook", action="CONTINUE")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    assert (
        ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=h["hookId"], action="CONTINUE")[
            "serviceDeploymentArn"
        ]
        == arn
    )
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=h["hookId"], action="CONTINUE")
    assert e.value.response["Error"]["Code"] == "ClientException"
    rec, _ = run_until(paused, ecs, arn, finished)
    assert rec["status"] == "SUCCESSFUL"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=h["hookId"])
    assert e.value.response["Error"]["Code"] == "ClientException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ecs.continue_service_deployment(serviceDeploymentArn=arn[:-3] + "zzz", hookId=h["hookId"])
    assert e.value.response["Error"]["Code"] == "ServiceDeploymentNotFoundException"


def test_pause_hook_rollback_and_timeout(paused):
    pause = {"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"]}
    svc, arn, blue = start(paused, {"strategy": "CANARY"}, hooks=[pause])
    ecs = svc["ecs"]
    rec, _ = run_until(
        paused, ecs, arn, lambda r: any(h["status"] == "AWAITING_ACTION" for h in r.get("lifecycleHookDetails", []))
    )
    ecs.continue_service_deployment(
        serviceDeploymentArn=arn, hookId=rec["lifecycleHookDetails"][0]["hookId"], action="ROLLBACK"
    )
    rec, _ = run_until(paused, ecs, arn, finished)
    assert rec["status"] == "ROLLBACK_SUCCESSFUL" and "ContinueServiceDeployment" in rec["statusReason"]
    assert describe(svc)["taskDefinition"] == svc["tds"][0]

    # A PAUSE hook whose timeout passes takes its timeoutAction (CONTINUE here).
    ecs.update_service(
        cluster="prod",
        service="web",
        taskDefinition="web:2",
        deploymentConfiguration={
            "strategy": "BLUE_GREEN",
            "lifecycleHooks": [
                {
                    "targetType": "PAUSE",
                    "lifecycleStages": ["POST_SCALE_UP"],
                    "timeoutConfiguration": {"timeoutInMinutes": 1, "action": "CONTINUE"},
                }
            ],
        },
    )
    arn2 = ecs.list_service_deployments(cluster="prod", service="web")["serviceDeployments"][0]["serviceDeploymentArn"]
    rec, _ = run_until(paused, ecs, arn2, finished)
    assert rec["status"] == "SUCCESSFUL"


def test_stop_service_deployment_rolls_a_canary_back(paused):
    svc, arn, blue = start(
        paused, {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 20.0, "canaryBakeTimeInMinutes": 600}}
    )
    ecs = svc["ecs"]
    run_until(paused, ecs, arn, lambda r: r["targetServiceRevision"].get("requestedProductionTrafficWeight") == 20.0)
    ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    rec, timeline = run_until(paused, ecs, arn, finished)
    assert [row[0] for row in timeline][0] == "ROLLBACK_REQUESTED"
    assert (
        rec["status"] == "ROLLBACK_SUCCESSFUL"
        and rec["statusReason"] == "Service deployment rolled back by StopServiceDeployment."
    )
    assert rec["rollback"]["serviceRevisionArn"] == blue
    assert describe(svc)["taskDefinition"] == svc["tds"][0]
    assert len(ecs.list_service_deployments(cluster="prod", service="web")["serviceDeployments"]) == 2


def test_invalid_strategy_configurations_are_refused(paused):
    svc = make_service(paused, desired=1)
    ecs = svc["ecs"]
    bad = [
        {"strategy": "RED_BLACK"},
        {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 2.0}},
        {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 0.05}},
        {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1441},
        {
            "strategy": "BLUE_GREEN",
            "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["PRODUCTION_TRAFFIC_SHIFT"]}],
        },
        {
            "strategy": "BLUE_GREEN",
            "lifecycleHooks": [{"targetType": "AWS_LAMBDA", "lifecycleStages": ["POST_SCALE_UP"]}],
        },
    ]
    for cfg in bad:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            ecs.update_service(cluster="prod", service="web", deploymentConfiguration=cfg)
        assert e.value.response["Error"]["Code"] == "InvalidParameterException", cfg
    assert "strategy" not in describe(svc)["deploymentConfiguration"]  # nothing was changed


def test_with_an_alternate_target_group_each_revision_has_its_own_metrics(paused):
    # GIVEN a CANARY deployment whose service names an alternate target group
    standin = paused
    standin.control("config", {"ecs_minute_seconds": 5})
    svc = make_service(standin)
    ecs, elb = svc["ecs"], standin.client("elbv2")
    vpc = elb.describe_target_groups(TargetGroupArns=[svc["tg"]])["TargetGroups"][0]["VpcId"]
    green = elb.create_target_group(Name="web-green", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    ecs.register_task_definition(
        family="web",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "web", "image": "repo/web:v2", "essential": True}],
    )
    standin.control("tick", {"count": 12})
    ecs.update_service(
        cluster="prod",
        service="web",
        taskDefinition="web:2",
        loadBalancers=[
            {
                "targetGroupArn": svc["tg"],
                "containerName": "web",
                "containerPort": 80,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": green,
                    "productionListenerRule": (
                        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/w/1/2/3"
                    ),
                    "roleArn": "arn:aws:iam::123456789012:role/r",
                },
            }
        ],
        deploymentConfiguration={
            "strategy": "CANARY",
            "lifecycleHooks": [],
            "canaryConfiguration": {"canaryPercent": 10, "canaryBakeTimeInMinutes": 10},
        },
    )
    arn = ecs.list_service_deployments(cluster="prod", service="web")["serviceDeployments"][0]["serviceDeploymentArn"]
    for _ in range(60):
        standin.control("tick", {"count": 1})
        if sd(ecs, arn).get("lifecycleStage") == "PRODUCTION_TRAFFIC_SHIFT":
            break
    # WHEN ECS holds the canary at 10 %
    from datetime import datetime

    start = datetime.fromtimestamp(time.time() - 0.01, tz=UTC)
    standin.control("tick", {"count": 10})
    end = datetime.fromtimestamp(time.time() + 1, tz=UTC)

    def requests(tg):
        dims = [
            {"Name": "TargetGroup", "Value": tg.split(":")[-1]},
            {"Name": "LoadBalancer", "Value": "app/berth-local/0123456789abcdef"},
        ]
        out = standin.client("cloudwatch").get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "r",
                    "MetricStat": {
                        "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount", "Dimensions": dims},
                        "Period": 60,
                        "Stat": "Sum",
                    },
                }
            ],
            StartTime=start,
            EndTime=end,
        )
        return sum(out["MetricDataResults"][0]["Values"])

    # THEN the old revision's target group has ~90 % of the requests and the new one's ~10 %
    blue_n, green_n = requests(svc["tg"]), requests(green)
    assert green_n > 0 and blue_n > 0, (blue_n, green_n)
    assert abs(green_n / (blue_n + green_n) - 0.10) < 0.03, (blue_n, green_n)
