"""berth end to end: ECR push (or console input) -> real state machine -> real Lambdas -> ECS.

Each scenario asserts the final ECS state (task definition, image digest) and the execution's
status and cause. The ECS behaviour of an image is chosen through the stand-in's control API.
"""

from __future__ import annotations

import json

import pytest

from .harness import REGISTRY, digest_of, ecr_push_event

OLD = digest_of("web v1")
NEW = digest_of("web v2")


def image(repo: str, digest: str) -> str:
    return f"{REGISTRY}/{repo}@{digest}"


def behave(berth, digest: str, behaviour: str, **extra) -> None:
    berth.control("images", {"image": digest, "behaviour": behaviour, **extra})


def push(berth, repo: str, digest: str, tag: str = "latest") -> str:
    started = berth.deliver_ecr_event(ecr_push_event(repo, digest, tag))
    assert started and started["started"], started
    return started["executionArn"]


def watch_checks(berth, arn: str, state: str = "WatchRollout") -> list[dict]:
    """Every check a watch state saw, in order, once each: its own check's result (the Lambda's
    answer in TaskSubmitted) and the result that answered it (TaskSucceeded: its own check's or
    wake-rollout's on an ECS event)."""
    out: list[dict] = []
    current: dict[str, str] = {}
    for e in berth.history(arn):
        if d := e.get("stateEnteredEventDetails"):
            current[e["execution"]] = d["name"]
            continue
        if current.get(e["execution"]) != state:
            continue
        if e["type"] == "TaskSubmitted":
            result = json.loads(e["taskSubmittedEventDetails"]["output"]).get("Payload")
        elif e["type"] == "TaskSucceeded":
            result = json.loads(e["taskSucceededEventDetails"]["output"])
        else:
            continue
        if isinstance(result, dict) and "status" in result and (not out or out[-1] != result):
            out.append(result)
    return out


def history_outputs(berth, arn: str, state: str) -> list[dict]:
    events = berth.history(arn)
    return [
        json.loads(e["stateExitedEventDetails"]["output"])
        for e in events
        if e["type"].endswith("StateExited") and e["stateExitedEventDetails"]["name"] == state
    ]


@pytest.mark.quick
def test_1_good_image_is_deployed_pinned_by_digest(berth):
    svc = berth.make_service("web", image("web", OLD))
    arn = push(berth, "web", NEW, "v2")
    done = berth.wait_execution(arn)
    assert done["status"] == "SUCCEEDED", done
    s = berth.describe(svc)
    assert s["taskDefinition"].endswith("task-definition/web:2")
    assert {d for _, _, d in berth.running_images(svc)} == {NEW}
    td = berth.client("ecs").describe_task_definition(taskDefinition=s["taskDefinition"])["taskDefinition"]
    assert td["containerDefinitions"][0]["image"] == image("web", NEW), "pinned by digest, tag dropped"
    # the previous revision is kept: it is the rollback target of the next deploy
    assert svc["task_definition"] in berth.task_definition_arns("web")
    assert berth.outcomes(arn)[0]["outcome"] == "DEPLOYED"


@pytest.mark.quick
def test_2_crash_loop_trips_the_breaker_and_berth_reports_failure_on_the_exact_previous_revision(berth):
    svc = berth.make_service("web", image("web", OLD))
    # a revision registered out of band since: "revision - 1" would pick it, berth must not
    out_of_band = berth.client("ecs").register_task_definition(
        family="web",
        containerDefinitions=[{"name": "app", "image": image("web", digest_of("hotfix")), "memory": 512}],
    )["taskDefinition"]["taskDefinitionArn"]
    behave(berth, NEW, "crashloop")
    arn = push(berth, "web", NEW)
    done = berth.wait_execution(arn)
    assert done["status"] == "FAILED"
    assert done["error"] == "DeploymentRolledBack"
    assert "circuit breaker" in done["cause"], done["cause"]
    assert "now running web:1" in done["cause"], done["cause"]
    s = berth.wait_steady(svc)
    assert s["taskDefinition"] == svc["task_definition"] != out_of_band
    assert {d for _, _, d in berth.running_images(svc)} == {OLD}
    stability = watch_checks(berth, arn)[-1]
    # ECS's service deployment says it rolled back: reported from its status, naming what it restored
    assert stability["status"] == "FAILED" and stability["reason"] == "RolledBack", stability
    assert stability["serviceDeployment"]["status"].startswith("ROLLBACK_"), stability
    assert "(web:1)" in stability["detail"], stability


def test_3_tasks_failing_health_checks_are_detected_and_the_tag_is_rolled_back_to_its_digest(berth):
    # GIVEN web:1 names a mutable tag, whose tasks run digest OLD
    berth.control("digests", {"image": f"{REGISTRY}/web:stable", "digest": OLD})
    svc = berth.make_service("web", f"{REGISTRY}/web:stable")
    # AND the tag has since been re-pushed (a rollback to web:1 would now pull other bytes)
    berth.control("digests", {"image": f"{REGISTRY}/web:stable", "digest": digest_of("moved tag")})
    behave(berth, NEW, "unhealthy-lb")
    arn = push(berth, "web", NEW)
    done = berth.wait_execution(arn)
    assert done["status"] == "FAILED" and done["error"] == "DeploymentRolledBack"
    assert "HealthChecksFailing" in done["cause"], done["cause"]
    checks = watch_checks(berth, arn)
    assert checks[-1]["reason"] == "HealthChecksFailing"
    assert all(c["failedTasks"] == 0 for c in checks), "the circuit breaker never saw these tasks"
    # THEN the service runs the digest that ran before, pinned, not whatever the tag points at now
    s = berth.wait_steady(svc)
    td = berth.client("ecs").describe_task_definition(taskDefinition=s["taskDefinition"], include=["TAGS"])
    assert td["taskDefinition"]["containerDefinitions"][0]["image"] == image("web", OLD)
    assert {t["key"]: t["value"] for t in td["tags"]}["berth:previous-task-definition"] == svc["task_definition"]
    assert {d for _, _, d in berth.running_images(svc)} == {OLD}


@pytest.mark.quick
def test_4_failing_canary_metrics_during_the_bake_roll_back(berth):
    svc = berth.make_service(
        "web",
        image("web", OLD),
        tags={
            "berth:bake-seconds": "60",
            "berth:load-balancer": "app/berth-local/0123456789abcdef",
            "berth:max-5xx-percent": "5",
        },
    )
    behave(berth, NEW, "canary-bad")
    arn = push(berth, "web", NEW)
    done = berth.wait_execution(arn)
    assert done["status"] == "FAILED" and done["error"] == "DeploymentRolledBack"
    assert "canary FAIL" in done["cause"] and "target 5xx rate" in done["cause"], done["cause"]
    rollout = watch_checks(berth, arn)[-1]
    assert rollout["status"] == "COMPLETED", "the rollout itself was healthy"
    s = berth.wait_steady(svc)
    assert s["taskDefinition"] == svc["task_definition"]
    assert {d for _, _, d in berth.running_images(svc)} == {OLD}


def test_5_the_same_push_delivered_twice_deploys_once(berth):
    svc = berth.make_service("web", image("web", OLD))
    event = ecr_push_event("web", NEW, "v2")
    first = berth.deliver_ecr_event(event)
    second = berth.deliver_ecr_event(event)
    assert first["started"] and not second["started"]
    assert second["duplicate"], second
    assert berth.wait_execution(first["executionArn"])["status"] == "SUCCEEDED"
    # and once more after it finished (EventBridge can redeliver late)
    late = berth.deliver_ecr_event(event)
    assert late["duplicate"] and not late["started"]
    assert len(berth.executions()) == 1
    assert len(berth.task_definition_arns("web")) == 2
    assert {d for _, _, d in berth.running_images(svc)} == {NEW}


def test_6_two_quick_pushes_are_serialised_and_the_newest_image_wins(berth):
    svc = berth.make_service("web", image("web", OLD))
    first, second = digest_of("web v2"), digest_of("web v3")
    behave(berth, first, "slow", slow_ticks=30)
    a = push(berth, "web", first, "v2")
    b = push(berth, "web", second, "v3")
    da, db = berth.wait_execution(a), berth.wait_execution(b)
    assert da["status"] == "SUCCEEDED" and db["status"] == "SUCCEEDED", (da, db)
    oa, ob = berth.outcomes(a)[0], berth.outcomes(b)[0]
    assert ob["outcome"] == "DEPLOYED"
    assert oa["outcome"] in ("DEPLOYED", "SUPERSEDED")
    if oa["outcome"] == "DEPLOYED":
        # B waited for A: B's first turn was WAIT, and B registered only after A's rollout completed
        assert history_outputs(berth, b, "AcquireTurn")[0]["turn"]["decision"] == "WAIT"
    s = berth.wait_steady(svc)
    assert {d for _, _, d in berth.running_images(svc)} == {second}
    td = berth.client("ecs").describe_task_definition(taskDefinition=s["taskDefinition"])["taskDefinition"]
    assert td["containerDefinitions"][0]["image"] == image("web", second)


@pytest.mark.quick
def test_7_bad_input_fails_clearly_and_changes_no_service(berth):
    svc = berth.make_service("web", image("web", OLD))
    before = berth.describe(svc)
    revisions = berth.task_definition_arns("web")
    cases = [
        ({"cluster": "prod", "service": "nope", "image": image("web", NEW)}, "ServiceNotFound", "nope"),
        ({"cluster": "prod", "service": "web", "image": "web::v2"}, "InvalidImage", "web::v2"),
        ({"cluster": "prod", "image": image("web", NEW)}, "InvalidInput", "service"),
        (
            {"cluster": "prod", "service": "web", "image": image("web", NEW), "container": "api"},
            "ContainerNotFound",
            "api",
        ),
        ({"cluster": "prod", "service": "web", "imgae": "typo"}, "InvalidInput", "imgae"),
    ]
    for request, error, mentioned in cases:
        done = berth.wait_execution(berth.start_execution(request))
        assert (done["status"], done.get("error")) == ("FAILED", error), (request, done)
        assert mentioned in done["cause"], done["cause"]
    # a DELETE never matches the rule, and even sent by hand it deploys nothing
    delete = ecr_push_event("web", NEW, action="DELETE")
    assert berth.deliver_ecr_event(delete) is None
    done = berth.wait_execution(berth.start_execution(delete))
    assert done["status"] == "SUCCEEDED"
    after = berth.describe(svc)
    assert after["taskDefinition"] == before["taskDefinition"]
    assert [d["id"] for d in after["deployments"]] == [d["id"] for d in before["deployments"]]
    assert berth.task_definition_arns("web") == revisions


def test_8_one_push_deploys_every_service_of_the_repository(berth):
    api = berth.make_service("api", image("shared", OLD), repository="shared")
    worker = berth.make_service("worker", image("shared", OLD), repository="shared")
    other = berth.make_service("billing", image("billing", OLD), repository="billing")
    arn = push(berth, "shared", NEW)
    done = berth.wait_execution(arn)
    assert done["status"] == "SUCCEEDED", done
    assert sorted(o["service"] for o in berth.outcomes(arn)) == ["api", "worker"]
    for svc in (api, worker):
        assert {d for _, _, d in berth.running_images(svc)} == {NEW}
    assert {d for _, _, d in berth.running_images(other)} == {OLD}
