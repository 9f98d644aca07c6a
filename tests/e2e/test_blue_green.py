"""Blue/green through CodeDeploy, end to end: a console request for a service on the CODE_DEPLOY
controller -> the real state machine -> update-service creates the CodeDeploy deployment -> the
stand-in's CodeDeploy simulator walks the lifecycle and invokes the real codedeploy-hook Lambda,
which probes the test listener and reports -> check-stability polls CodeDeploy -> rollback stops it.

What each scenario asserts is what a person would check: which revision the production listener
serves, the ECS service's task definition, the CodeDeploy deployment's status, and the execution's
status and cause.
"""

from __future__ import annotations

import json

import pytest
import requests

from .harness import REGISTRY, digest_of

OLD = digest_of("web v1")
NEW = digest_of("web v2")


def image(digest: str) -> str:
    return f"{REGISTRY}/web@{digest}"


def behave(berth, digest: str, behaviour: str) -> None:
    berth.control("images", {"image": digest, "behaviour": behaviour})


def deploy(berth, svc: dict, digest: str, **extra) -> dict:
    arn = berth.start_execution({"cluster": svc["cluster"], "service": svc["service"], "image": image(digest), **extra})
    return berth.wait_execution(arn, timeout=240) | {"executionArn": arn}


def codedeploy_record(berth, done: dict) -> dict:
    """The simulator's record of the CodeDeploy deployment berth created in this execution."""
    events = berth.history(done["executionArn"])
    ids = [
        json.loads(e["stateExitedEventDetails"]["output"])["update"]["codeDeploy"]["deploymentId"]
        for e in events
        if e["type"].endswith("StateExited") and e["stateExitedEventDetails"]["name"] == "UpdateService"
    ]
    assert len(ids) == 1, ids
    return requests.get(f"{berth.url}/_berth/codedeploy/{ids[0]}", timeout=10).json()


@pytest.fixture
def bg(berth):
    berth.control("config", {"codedeploy_minute_seconds": 2, "hook_timeout_seconds": 60})
    return berth


@pytest.mark.quick
def test_bg_1_all_at_once_good_image_succeeds_and_green_serves(bg):
    berth = bg
    svc = berth.make_bluegreen_service("web", image(OLD))
    berth.set_checks(
        svc,
        {
            "hooks": {
                "AfterAllowTestTraffic": {
                    "probes": [{"name": "test-listener", "url": f"{berth.url}/_berth/listener/prod/web/test/health"}]
                },
                "AfterAllowTraffic": {
                    "probes": [{"name": "prod-listener", "url": f"{berth.url}/_berth/listener/prod/web/prod/health"}]
                },
            }
        },
    )
    done = deploy(berth, svc, NEW)
    assert done["status"] == "SUCCEEDED", done

    green = berth.describe(svc)["taskDefinition"]
    assert green != svc["task_definition"] and green.endswith("task-definition/web:2")
    td = berth.client("ecs").describe_task_definition(taskDefinition=green)["taskDefinition"]
    assert td["containerDefinitions"][0]["image"] == image(NEW)
    assert berth.listener(svc, "prod")["taskDefinition"] == green, "production traffic on green"

    record = codedeploy_record(berth, done)
    assert record["status"] == "Succeeded"
    hooks = {
        e["lifecycleEventName"]: e["status"]
        for e in record["target"]["lifecycleEvents"]
        if e["lifecycleEventName"]
        in ("BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic")
    }
    assert hooks == dict.fromkeys(hooks, "Succeeded") and len(hooks) == 5, hooks
    # the real hook Lambda ran and answered for each (it records its verdict where check-stability reads it)
    verdict = json.loads(berth.client("ssm").get_parameter(Name="/berth/hook-verdicts/prod/web")["Parameter"]["Value"])
    assert verdict["hook"] == "AfterAllowTraffic" and verdict["status"] == "Succeeded", verdict
    assert "prod-listener" in verdict["detail"] or "probe" in verdict["detail"], verdict
    assert berth.outcomes(done["executionArn"])[0]["outcome"] == "DEPLOYED"


def test_bg_2_canary_whose_test_listener_probe_fails_is_rolled_back_and_the_cause_names_the_probe(bg):
    berth = bg
    # named deployment group (service tags), a canary config
    svc = berth.make_bluegreen_service(
        "web",
        image(OLD),
        config="CodeDeployDefault.ECSCanary10Percent5Minutes",
        application="shop",
        deployment_group="web-canary",
        tags={"berth:codedeploy-application": "shop", "berth:codedeploy-deployment-group": "web-canary"},
    )
    berth.set_checks(
        svc,
        {
            "hooks": {
                "AfterAllowTestTraffic": {
                    "probes": [
                        {
                            "name": "green-health",
                            "url": f"{berth.url}/_berth/listener/prod/web/test/health",
                            "expectStatus": 200,
                        }
                    ]
                }
            }
        },
    )
    behave(berth, NEW, "probe-503")
    done = deploy(berth, svc, NEW)
    assert done["status"] == "FAILED" and done["error"] == "DeploymentRolledBack", done
    cause = done["cause"]
    assert "AfterAllowTestTraffic" in cause and "green-health" in cause and "503" in cause, cause

    assert berth.listener(svc, "prod")["taskDefinition"] == svc["task_definition"], "blue still serves"
    assert berth.describe(svc)["taskDefinition"] == svc["task_definition"]
    record = codedeploy_record(berth, done)
    assert record["status"] == "Failed" and record["deploymentInfo"]["rollbackInfo"]["rollbackDeploymentId"], record
    events = {e["lifecycleEventName"]: e["status"] for e in record["target"]["lifecycleEvents"]}
    assert events["AfterAllowTestTraffic"] == "Failed"
    assert events.get("AllowTraffic") in ("Skipped", "Pending", None), "no production traffic ever went to green"


def test_bg_3_berths_canary_failing_mid_shift_stops_the_deployment_with_auto_rollback(bg):
    berth = bg
    svc = berth.make_bluegreen_service("web", image(OLD), config="CodeDeployDefault.ECSCanary10Percent5Minutes")
    behave(berth, NEW, "canary-bad")
    green_tg = "targetgroup/" + svc["target_groups"]["green"].split(":targetgroup/")[1]
    dims = {"TargetGroup": green_tg, "LoadBalancer": "app/berth-local/0123456789abcdef"}
    spec = lambda name: {"namespace": "AWS/ApplicationELB", "metricName": name, "dimensions": dims, "stat": "Sum"}  # noqa: E731
    canary = {
        "bakeSeconds": 60,
        "intervalSeconds": 1,
        "metrics": [
            {
                "name": "green 5xx rate %",
                "expression": "100 * FILL(errors, 0) / requests",
                "metrics": {"errors": spec("HTTPCode_Target_5XX_Count"), "requests": spec("RequestCount")},
                "threshold": 5,
            }
        ],
    }
    done = deploy(berth, svc, NEW, canary=canary)
    assert done["status"] == "FAILED" and done["error"] == "DeploymentRolledBack", done
    assert "green 5xx rate" in done["cause"], done["cause"]

    record = codedeploy_record(berth, done)
    assert record["status"] == "Stopped", record["status"]
    assert any(t["listener"] == "prod" and t["green"] > 0 for t in record["traffic"]), "green had production traffic"
    assert berth.listener(svc, "prod")["taskDefinition"] == svc["task_definition"], "blue serves again"
    assert berth.describe(svc)["taskDefinition"] == svc["task_definition"]
    rolled = [
        json.loads(e["stateExitedEventDetails"]["output"])["rollback"]
        for e in berth.history(done["executionArn"])
        if e["type"].endswith("StateExited") and e["stateExitedEventDetails"]["name"] == "Rollback"
    ]
    assert "auto-rollback" in rolled[0]["detail"], rolled


def test_bg_4_a_check_that_hangs_is_reported_failed_at_the_hooks_deadline_not_left_to_codedeploy(bg):
    berth = bg
    svc = berth.make_bluegreen_service("web", image(OLD))
    # the probe hangs 30 s; the service's checks may take 2 s; CodeDeploy would wait 60 s for a status
    berth.set_checks(
        svc,
        {
            "deadlineSeconds": 2,
            "hooks": {
                "AfterAllowTestTraffic": {
                    "probes": [
                        {
                            "name": "slow-health",
                            "url": f"{berth.url}/_berth/listener/prod/web/test/health",
                            "latencyBudgetMs": 20000,
                            "requests": 1,
                        }
                    ]
                }
            },
        },
    )
    behave(berth, NEW, "probe-hang")
    done = deploy(berth, svc, NEW)
    assert done["status"] == "FAILED" and done["error"] == "DeploymentRolledBack", done
    assert "AfterAllowTestTraffic" in done["cause"] and "deadline" in done["cause"], done["cause"]
    record = codedeploy_record(berth, done)
    hook = next(h for h in record["hookInvocations"] if h["event"] == "AfterAllowTestTraffic")
    assert hook["status"] == "Failed", hook
    # The hook's deadline bounds the Lambda's own work (a probe waiting for an answer), which runs
    # in wall time; CodeDeploy's record is on the stack's clock (tests/standin/README.md).
    wall = hook["seconds"] / berth.time_scale
    assert wall < 10, f"reported after {wall:.1f} s of wall time: the hook's own deadline is 2 s"
    assert berth.listener(svc, "prod")["taskDefinition"] == svc["task_definition"]
