"""berth drives ECS's native BLUE_GREEN / LINEAR / CANARY strategies end to end (issue P8).

A service whose deploymentConfiguration.strategy is one of the three is deployed by ECS in
lifecycle stages (the stand-in walks them one per tick, bakes in `ecs_minute_seconds`: see
tests/standin/README.md, "ECS native strategies"). Each WatchRollout shows the stage and the new
revision's production/test weights; while the new revision takes production traffic berth's canary
runs (EvaluateShift, as for CodeDeploy) and a ROLLBACK verdict rolls back with
StopServiceDeployment(ROLLBACK); a PAUSE hook is answered by `berth approve` / `berth reject`
(ContinueServiceDeployment).
"""

from __future__ import annotations

import pytest

from .harness import REGISTRY, digest_of, wait_until
from .test_scenarios import history_outputs, watch_checks

OLD = digest_of("web v1")
NEW = digest_of("web v2")


def image(digest: str) -> str:
    return f"{REGISTRY}/web@{digest}"


def canary(svc: dict) -> dict:
    """berth's canary on the service's target group: its 5xx rate, one data point per 5 s."""
    tg = "targetgroup/" + svc["target_group"].split(":targetgroup/")[1]
    dims = {"TargetGroup": tg, "LoadBalancer": "app/berth-local/0123456789abcdef"}
    spec = lambda name: {"namespace": "AWS/ApplicationELB", "metricName": name, "dimensions": dims, "stat": "Sum"}  # noqa: E731
    return {
        "bakeSeconds": 12,
        "intervalSeconds": 1,
        "windowSeconds": 30,
        "metrics": [
            {
                "name": "target 5xx rate %",
                "expression": "100 * FILL(errors, 0) / requests",
                "period": 5,
                "minDataPoints": 2,
                "metrics": {"errors": spec("HTTPCode_Target_5XX_Count"), "requests": spec("RequestCount")},
                "threshold": 5,
            }
        ],
    }


def deploy(berth, svc: dict, digest: str, **extra) -> str:
    return berth.start_execution(
        {"cluster": svc["cluster"], "service": svc["service"], "image": image(digest), "canary": canary(svc), **extra}
    )


def native_service(berth, strategy: dict, *, hooks: list | None = None, minute_seconds: float = 1.0) -> dict:
    """A service on OLD (its first deployment is rolling), then switched to a native strategy: the
    next deployment runs in lifecycle stages. A stand-in minute is `minute_seconds` seconds."""
    berth.control("config", {"ecs_minute_seconds": minute_seconds})
    svc = berth.make_service("web", image(OLD), breaker=False)
    berth.client("ecs").update_service(
        cluster="prod", service="web", deploymentConfiguration={**strategy, "lifecycleHooks": hooks or []}
    )
    return svc


def service_deployment(berth, arn: str) -> dict:
    (sd,) = berth.client("ecs").describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"]
    return sd


def polls(berth, arn: str) -> list[dict]:
    return watch_checks(berth, arn)


def test_a_linear_rollout_of_a_good_image_completes_with_every_step_seen(berth):
    svc = native_service(
        berth,
        {
            "strategy": "LINEAR",
            "bakeTimeInMinutes": 1,
            "linearConfiguration": {"stepPercent": 25, "stepBakeTimeInMinutes": 1},
        },
        minute_seconds=4,
    )
    arn = deploy(berth, svc, NEW)
    done = berth.wait_execution(arn, timeout=180)
    assert done["status"] == "SUCCEEDED", done.get("cause")

    checks = polls(berth, arn)
    sds = [c["serviceDeployment"] for c in checks]
    assert all(s["strategy"] == "LINEAR" for s in sds), sds
    shift = [s["productionTrafficWeight"] for s in sds if s.get("lifecycleStage") == "PRODUCTION_TRAFFIC_SHIFT"]
    assert {25, 50, 75} <= set(shift), f"every step seen: {shift}"
    assert shift == sorted(shift), shift
    assert any(s.get("lifecycleStage") == "BAKE_TIME" for s in sds), [s.get("lifecycleStage") for s in sds]
    step = next(c for c in checks if c["serviceDeployment"].get("productionTrafficWeight") == 50)
    assert (
        "ECS LINEAR at PRODUCTION_TRAFFIC_SHIFT, new revision on 50% of production and 100% of test traffic"
        in step["detail"]
    ), step
    assert step["greenTrafficWeight"] == 50, "routes to the canary evaluation"
    # berth's canary ran while the new revision took production traffic, and passed
    shifts = [o["canaryResult"] for o in history_outputs(berth, arn, "EvaluateShift")]
    assert shifts and all(r["decision"] != "ROLLBACK" for r in shifts), shifts
    assert checks[-1]["status"] == "COMPLETED" and checks[-1]["serviceDeployment"]["status"] == "SUCCESSFUL", checks[-1]
    assert berth.describe(svc)["taskDefinition"].endswith("task-definition/web:2")
    assert berth.outcomes(arn)[0]["outcome"] == "DEPLOYED"


def test_a_canary_whose_berth_canary_fails_mid_shift_is_rolled_back_by_stop_service_deployment(berth):
    svc = native_service(
        berth,
        {
            "strategy": "CANARY",
            "bakeTimeInMinutes": 1,
            "canaryConfiguration": {"canaryPercent": 10, "canaryBakeTimeInMinutes": 10},
        },
        minute_seconds=3,
    )
    berth.control("images", {"image": NEW, "behaviour": "canary-bad"})
    arn = deploy(berth, svc, NEW)
    done = berth.wait_execution(arn, timeout=180)
    assert done["status"] == "FAILED" and done["error"] == "DeploymentRolledBack", done
    assert "canary FAIL" in done["cause"] and "rolled back by StopServiceDeployment" in done["cause"], done["cause"]

    # the verdict came while ECS held the canary at 10 %
    (last_shift,) = [
        o for o in history_outputs(berth, arn, "EvaluateShift") if o["canaryResult"]["decision"] == "ROLLBACK"
    ]
    assert last_shift["stability"]["serviceDeployment"]["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT", last_shift[
        "stability"
    ]
    assert last_shift["stability"]["serviceDeployment"]["productionTrafficWeight"] == 10
    (rollback,) = [o["rollback"] for o in history_outputs(berth, arn, "Rollback")]
    assert rollback["rollout"]["rolledBackBy"] == "StopServiceDeployment", rollback
    assert rollback["detail"].startswith("rolled back by StopServiceDeployment: ECS CANARY service deployment"), (
        rollback
    )
    sd = service_deployment(berth, rollback["rollout"]["serviceDeploymentArn"])
    assert sd["status"] == "ROLLBACK_SUCCESSFUL" and "StopServiceDeployment" in sd["statusReason"], sd
    back = watch_checks(berth, arn, "WatchRollback")[-1]
    assert back["status"] == "COMPLETED" and "rolled back by StopServiceDeployment" in back["detail"], back
    s = berth.wait_steady(svc)
    assert s["taskDefinition"] == svc["task_definition"]
    assert {d for _, _, d in berth.running_images(svc)} == {OLD}


def waiting_for_approval(berth, arn: str) -> dict:
    """The first WatchRollout that shows the deployment held in the PAUSE hook."""

    def held():
        return next((c for c in polls(berth, arn) if c["serviceDeployment"].get("awaitingHookId")), None)

    return wait_until(held, 60, "the deployment waiting in its PAUSE hook")


@pytest.mark.parametrize("answer", ["approve", "reject"])
def test_a_blue_green_deployment_paused_for_approval_continues_on_approve_and_rolls_back_on_reject(berth, cli, answer):
    pause = {
        "targetType": "PAUSE",
        "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
        "timeoutConfiguration": {"timeoutInMinutes": 60, "action": "ROLLBACK"},
    }
    svc = native_service(berth, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1}, hooks=[pause], minute_seconds=2)
    arn = deploy(berth, svc, NEW)
    name = arn.rsplit(":", 1)[1]

    held = waiting_for_approval(berth, arn)
    assert held["status"] == "IN_PROGRESS", held
    assert held["detail"].startswith(
        f"waiting for approval at POST_TEST_TRAFFIC_SHIFT: berth approve {name} | berth reject {name}"
    ), held
    assert (
        held["serviceDeployment"]["productionTrafficWeight"] == 0
        and held["serviceDeployment"]["testTrafficWeight"] == 100
    )
    assert berth.listener(svc, "prod")["taskDefinition"] == svc["task_definition"], "blue serves while it waits"

    done = cli(answer, name)
    assert done.returncode == 0, done.stderr
    verb = {"approve": "approved", "reject": "rejected"}[answer]
    assert done.stdout.startswith(f"{verb} prod/web at POST_TEST_TRAFFIC_SHIFT by "), done.stdout
    assert ("CONTINUE" if answer == "approve" else "ROLLBACK") in done.stdout, done.stdout
    # the hook waits no more: it shows its answer, or (a loaded machine) ECS has already left its stage
    sd = service_deployment(berth, held["serviceDeployment"]["arn"])
    hooks = sd.get("lifecycleHookDetails") or []
    assert not any(h["status"] == "AWAITING_ACTION" for h in hooks), hooks
    assert hooks or sd.get("lifecycleStage") != "POST_TEST_TRAFFIC_SHIFT" or sd["status"] != "IN_PROGRESS", sd

    finished = berth.wait_execution(arn, timeout=180)
    if answer == "approve":
        assert finished["status"] == "SUCCEEDED", finished.get("cause")
        assert berth.describe(svc)["taskDefinition"].endswith("task-definition/web:2")
        assert service_deployment(berth, held["serviceDeployment"]["arn"])["status"] == "SUCCESSFUL"
    else:
        assert finished["status"] == "FAILED" and finished["error"] == "DeploymentRolledBack", finished
        assert "ContinueServiceDeployment" in finished["cause"] and "rolled back by ECS" in finished["cause"], finished[
            "cause"
        ]
        assert service_deployment(berth, held["serviceDeployment"]["arn"])["status"] == "ROLLBACK_SUCCESSFUL"
        assert berth.wait_steady(svc)["taskDefinition"] == svc["task_definition"]


def test_berth_abort_of_a_native_deployment_mid_shift_uses_stop_service_deployment_too(berth, cli):
    svc = native_service(
        berth,
        {
            "strategy": "LINEAR",
            "bakeTimeInMinutes": 1,
            "linearConfiguration": {"stepPercent": 50, "stepBakeTimeInMinutes": 10},
        },
        minute_seconds=3,
    )
    arn = berth.start_execution({"cluster": "prod", "service": "web", "image": image(NEW)})
    wait_until(
        lambda: any(c["serviceDeployment"].get("productionTrafficWeight") == 50 for c in polls(berth, arn)),
        60,
        "the first step at 50 %",
    )
    done = cli("abort", "web", "--cluster", "prod", "--refresh-seconds", "0.3")
    assert done.returncode == 3, done.stderr  # rolled back
    finished = berth.wait_execution(arn)
    assert (
        "rollout FAILED (Aborted)" in finished["cause"] and "rolled back by StopServiceDeployment" in finished["cause"]
    ), finished["cause"]
    (rollback,) = [o["rollback"] for o in history_outputs(berth, arn, "Rollback")]
    assert service_deployment(berth, rollback["rollout"]["serviceDeploymentArn"])["status"] == "ROLLBACK_SUCCESSFUL"
    assert berth.wait_steady(svc)["taskDefinition"] == svc["task_definition"]
