"""The ECS rollout simulator, driven only through the AWS API (boto3) and the control API."""

from __future__ import annotations

import re

from .conftest import describe, make_service, settled, wait_for
from .ecs_sim import breaker_threshold

DEPLOYMENT_ID = re.compile(r"^ecs-svc/\d{19}$")


def test_breaker_threshold_is_half_desired_between_3_and_200():
    assert breaker_threshold(1) == 3
    assert breaker_threshold(6) == 3
    assert breaker_threshold(7) == 4
    assert breaker_threshold(10) == 5
    assert breaker_threshold(1000) == 200


def test_healthy_rollout_completes_and_replaces_tasks(standin):
    svc = make_service(standin, images=("repo/web:v1", "repo/web:v2"), desired=2)
    ecs = svc["ecs"]
    first = wait_for(lambda: settled(svc), what="initial deployment")
    assert first["deployments"][0]["rolloutState"] == "COMPLETED"
    assert first["runningCount"] == 2
    assert first["deploymentConfiguration"] == {
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
    }
    old_id = first["deployments"][0]["id"]

    # family:revision is resolved to the full ARN; desiredCount is not touched.
    ecs.update_service(cluster="prod", service="web", taskDefinition="web:2")
    s = describe(svc)
    assert s["desiredCount"] == 2
    assert s["taskDefinition"] == svc["tds"][1]
    primary, active = s["deployments"]
    assert DEPLOYMENT_ID.match(primary["id"]) and primary["id"] != old_id
    assert primary["status"] == "PRIMARY" and primary["taskDefinition"] == svc["tds"][1]
    assert primary["rolloutState"] == "IN_PROGRESS"
    assert primary["rolloutStateReason"] == f"ECS deployment {primary['id']} in progress."
    assert primary["failedTasks"] == 0 and primary["desiredCount"] == 2
    assert {"createdAt", "updatedAt", "pendingCount", "runningCount"} <= primary.keys()
    assert active["id"] == old_id and active["status"] == "ACTIVE"

    # Same task definition again without force: no new deployment.
    ecs.update_service(cluster="prod", service="web", taskDefinition=svc["tds"][1])
    assert len(describe(svc)["deployments"]) == 2

    done = wait_for(lambda: settled(svc), what="rollout to web:2")
    dep = done["deployments"][0]
    assert dep["id"] == primary["id"] and dep["rolloutState"] == "COMPLETED"
    assert dep["rolloutStateReason"] == f"ECS deployment {dep['id']} completed."
    assert done["runningCount"] == 2 == dep["runningCount"]
    assert done["events"][0]["message"] == "(service web) has reached a steady state."
    assert {"id", "createdAt", "message"} <= done["events"][0].keys()
    messages = [e["message"] for e in done["events"]]
    assert any(re.fullmatch(r"\(service web\) has started 2 tasks: \(task \w+\) \(task \w+\)\.", m) for m in messages)

    running = ecs.list_tasks(cluster="prod", serviceName="web")["taskArns"]
    tasks = ecs.describe_tasks(cluster="prod", tasks=running)["tasks"]
    assert len(tasks) == 2
    for t in tasks:
        assert t["lastStatus"] == "RUNNING" and t["desiredStatus"] == "RUNNING"
        assert t["taskDefinitionArn"] == svc["tds"][1]
        assert t["startedBy"] == dep["id"] and t["group"] == "service:web"
        c = t["containers"][0]
        assert c["image"] == "repo/web:v2" and c["imageDigest"].startswith("sha256:")
        assert "startedAt" in t
    stopped = ecs.list_tasks(cluster="prod", serviceName="web", desiredStatus="STOPPED")["taskArns"]
    old_tasks = ecs.describe_tasks(cluster="prod", tasks=stopped)["tasks"]
    assert len(old_tasks) == 2
    for t in old_tasks:
        assert t["lastStatus"] == "STOPPED" and t["taskDefinitionArn"] == svc["tds"][0]
        assert t["stoppedReason"] == f"Scaling activity initiated by (deployment {dep['id']})"
        assert t["stopCode"] == "ServiceSchedulerInitiated" and "stoppedAt" in t

    # forceNewDeployment with the same task definition does start a new deployment.
    ecs.update_service(cluster="prod", service="web", forceNewDeployment=True)
    assert len(describe(svc)["deployments"]) == 2


def test_desired_count_only_update_creates_no_deployment(standin):
    svc = make_service(standin, desired=1)
    wait_for(lambda: settled(svc), what="initial deployment")
    svc["ecs"].update_service(cluster="prod", service="web", desiredCount=3)
    s = describe(svc)
    assert len(s["deployments"]) == 1 and s["desiredCount"] == 3
    s = wait_for(lambda: (lambda s: s if s["runningCount"] == 3 else None)(describe(svc)), what="scale out")
    assert s["deployments"][0]["runningCount"] == 3


def test_pinned_digest_and_tag_map(standin):
    digest = "sha256:" + "ab" * 32
    standin.control("digests", {"image": "repo/web:v1", "digest": "sha256:" + "cd" * 32})
    svc = make_service(standin, images=(f"repo/web@{digest}",), desired=1)
    wait_for(lambda: settled(svc), what="rollout")
    ecs = svc["ecs"]
    t = ecs.describe_tasks(cluster="prod", tasks=ecs.list_tasks(cluster="prod", serviceName="web")["taskArns"])[
        "tasks"
    ][0]
    assert t["containers"][0]["imageDigest"] == digest


def test_crashloop_trips_breaker_and_rolls_back_to_old_revision(standin):
    standin.control("images", {"image": "repo/web:bad", "behaviour": "crashloop"})
    svc = make_service(standin, images=("repo/web:v1", "repo/web:bad"), desired=2)
    ecs = svc["ecs"]
    wait_for(lambda: settled(svc), what="initial deployment")
    ecs.update_service(cluster="prod", service="web", taskDefinition=svc["tds"][1])
    failed_id = describe(svc)["deployments"][0]["id"]

    def failed_seen():
        s = describe(svc)
        return next((d for d in s["deployments"] if d["id"] == failed_id and d["rolloutState"] == "FAILED"), None) and s

    s = wait_for(failed_seen, what="circuit breaker")
    failed = next(d for d in s["deployments"] if d["id"] == failed_id)
    assert failed["failedTasks"] >= breaker_threshold(2) == 3
    assert failed["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed to start."

    done = wait_for(lambda: settled(svc), what="rollback to complete")
    dep = done["deployments"][0]
    # The trap: "stable" again, but on the OLD revision and under a new deployment id.
    assert dep["rolloutState"] == "COMPLETED" and dep["id"] != failed_id
    assert dep["taskDefinition"] == svc["tds"][0] == done["taskDefinition"]
    messages = [e["message"] for e in done["events"]]
    assert f"(service web) deployment {failed_id} deployment failed: tasks failed to start." in messages
    assert any(m.startswith("(service web) rolling back to deployment ecs-svc/") for m in messages)
    assert messages[0] == "(service web) has reached a steady state."

    stopped = ecs.list_tasks(cluster="prod", serviceName="web", desiredStatus="STOPPED")["taskArns"]
    crashed = [t for t in ecs.describe_tasks(cluster="prod", tasks=stopped)["tasks"] if t["startedBy"] == failed_id]
    assert len(crashed) >= 3
    for t in crashed:
        assert t["stoppedReason"] == "Essential container in task exited"
        assert t["stopCode"] == "EssentialContainerExited"
        assert t["containers"][0]["exitCode"] == 1


def test_crashloop_without_breaker_keeps_replacing(standin):
    standin.control("images", {"image": "repo/web:bad", "behaviour": "crashloop"})
    svc = make_service(
        standin, images=("repo/web:v1", "repo/web:bad"), desired=1, breaker={"enable": False, "rollback": False}
    )
    wait_for(lambda: settled(svc), what="initial deployment")
    svc["ecs"].update_service(cluster="prod", service="web", taskDefinition=svc["tds"][1])
    s = wait_for(
        lambda: (lambda s: s if s["deployments"][0]["failedTasks"] >= 6 else None)(describe(svc)),
        what="failures to pile up",
    )
    assert s["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    assert len(s["deployments"]) == 2  # old deployment still serving
    assert s["runningCount"] == 1


def test_unhealthy_lb_stops_tasks_but_failed_tasks_stays_zero(standin):
    standin.control("images", {"image": "repo/web:unhealthy", "behaviour": "unhealthy-lb"})
    svc = make_service(standin, images=("repo/web:v1", "repo/web:unhealthy"), desired=2)
    ecs = svc["ecs"]
    wait_for(lambda: settled(svc), what="initial deployment")
    ecs.update_service(cluster="prod", service="web", taskDefinition=svc["tds"][1])
    new_id = describe(svc)["deployments"][0]["id"]
    tg = svc["tg"]

    def health_failures():
        s = describe(svc)
        hits = [e for e in s["events"] if "failed ELB health checks" in e["message"]]
        return s if len(hits) >= 4 else None

    s = wait_for(health_failures, what="ELB health check failures")
    primary = s["deployments"][0]
    assert primary["id"] == new_id
    assert primary["failedTasks"] == 0  # copilot#1879: the breaker does not see these
    assert primary["rolloutState"] == "IN_PROGRESS"
    assert s["runningCount"] >= 2  # old tasks keep serving (minimumHealthyPercent 100)
    msg = next(e["message"] for e in s["events"] if "failed ELB health checks" in e["message"])
    assert re.fullmatch(
        rf"\(service web\) \(task \w+\) failed ELB health checks in \(target-group {re.escape(tg)}\)", msg
    )
    stopped = ecs.list_tasks(cluster="prod", serviceName="web", desiredStatus="STOPPED")["taskArns"]
    reasons = {
        t["stoppedReason"]
        for t in ecs.describe_tasks(cluster="prod", tasks=stopped)["tasks"]
        if t["startedBy"] == new_id
    }
    assert f"Task failed ELB health checks in (target-group {tg})" in reasons


def test_slow_rollout_takes_longer_but_completes(standin):
    standin.control("images", {"image": "repo/web:slow", "behaviour": "slow", "slow_ticks": 10})
    svc = make_service(standin, images=("repo/web:slow",), desired=1)
    s = describe(svc)
    assert s["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    wait_for(lambda: (lambda s: s if s["pendingCount"] == 1 else None)(describe(svc)), what="pending")
    done = wait_for(lambda: settled(svc), what="slow rollout")
    assert done["deployments"][0]["rolloutState"] == "COMPLETED"


def test_disable_and_manual_tick(standin):
    standin.control("config", {"paused": True})
    svc = make_service(standin, desired=1)
    standin.control("tick", {"count": 3})
    assert describe(svc)["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    standin.control("services/disable", {"service": "web"})
    standin.control("tick", {"count": 20})
    assert describe(svc)["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    standin.control("services/enable", {"service": "web"})
    standin.control("tick", {"count": 20})
    assert describe(svc)["deployments"][0]["rolloutState"] == "COMPLETED"
    state = standin.state()
    assert state["services"][0]["service"] == "web" and state["errors"] == []


def test_service_tags_are_written_read_with_include_tags_and_removed(standin):
    """`berth abort` / `berth promote` tag the service (TagResource) and remove the tag
    (UntagResource); the Lambdas read it with DescribeServices include=TAGS (moto's own
    implementation, unpatched by the simulator)."""
    svc = make_service(standin, desired=1)
    ecs = svc["ecs"]
    arn = describe(svc)["serviceArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "berth:control", "value": "abort:berth-cli-web-1-2"}])
    assert "tags" not in describe(svc), "tags only with include=TAGS, as in ECS"
    tagged = ecs.describe_services(cluster="prod", services=["web"], include=["TAGS"])["services"][0]
    assert {"key": "berth:control", "value": "abort:berth-cli-web-1-2"} in tagged["tags"]
    # a second TagResource of the key replaces its value
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "berth:control", "value": "promote:x"}])
    values = [t["value"] for t in ecs.list_tags_for_resource(resourceArn=arn)["tags"] if t["key"] == "berth:control"]
    assert values == ["promote:x"]
    ecs.untag_resource(resourceArn=arn, tagKeys=["berth:control"])
    tags = ecs.describe_services(cluster="prod", services=["web"], include=["TAGS"])["services"][0].get("tags", [])
    assert all(t["key"] != "berth:control" for t in tags), tags
