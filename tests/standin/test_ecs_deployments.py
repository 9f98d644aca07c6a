"""ECS service deployments and revisions (ListServiceDeployments, DescribeServiceDeployments,
DescribeServiceRevisions, StopServiceDeployment) and "ECS Deployment State Change" events, driven
through boto3 against the stand-in with the ticker paused (every tick is the test's)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import botocore.exceptions
import pytest

from .conftest import describe, make_service

SD_ARN = re.compile(r"^arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/[A-Za-z0-9_-]{22}$")
REV_ARN = re.compile(r"^arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/\d{19}$")


@pytest.fixture
def paused(standin):
    standin.control("config", {"paused": True})
    return standin


def tick(standin, n=1):
    standin.control("tick", {"count": n})


def deployments(svc, **kw):
    return svc["ecs"].list_service_deployments(cluster="prod", service="web", **kw)["serviceDeployments"]


def sd(svc, arn):
    return svc["ecs"].describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]


def revision(svc, arn):
    return svc["ecs"].describe_service_revisions(serviceRevisionArns=[arn])["serviceRevisions"][0]


def primary(svc):
    return next(d for d in describe(svc)["deployments"] if d["status"] == "PRIMARY")


def tick_until(standin, svc, arn, statuses, limit=60):
    """Tick one at a time until the service deployment is in one of `statuses`; at every tick the
    record and the simulator's deployments[] must agree."""
    for _ in range(limit):
        rec = sd(svc, arn)
        check_agreement(svc, rec)
        if rec["status"] in statuses:
            return rec
        tick(standin)
    raise AssertionError(f"{arn} never reached {statuses}; last {rec['status']}")


def check_agreement(svc, rec):
    s = describe(svc)
    if rec["status"] == "IN_PROGRESS":
        p = next(d for d in s["deployments"] if d["status"] == "PRIMARY")
        assert p["rolloutState"] == "IN_PROGRESS"
        assert s["currentServiceDeployment"] == rec["serviceDeploymentArn"]
    if rec["status"] == "SUCCESSFUL" and s["currentServiceDeployment"] == rec["serviceDeploymentArn"]:
        assert len(s["deployments"]) == 1 and s["deployments"][0]["rolloutState"] == "COMPLETED"
        assert s["taskDefinition"] == revision(svc, rec["targetServiceRevision"]["arn"])["taskDefinition"]


def test_create_and_update_each_make_a_revision_and_a_deployment(paused):
    svc = make_service(paused, images=("repo/web:v1", "repo/web:v2"), desired=2)
    ecs = svc["ecs"]
    [first] = deployments(svc)
    assert SD_ARN.match(first["serviceDeploymentArn"])
    assert first["status"] == "PENDING" and "startedAt" not in first
    assert REV_ARN.match(first["targetServiceRevisionArn"])
    s = describe(svc)
    assert s["currentServiceDeployment"] == first["serviceDeploymentArn"]
    assert first["serviceArn"] == s["serviceArn"] and first["clusterArn"] == s["clusterArn"]

    tick(paused)
    rec = sd(svc, first["serviceDeploymentArn"])
    assert rec["status"] == "IN_PROGRESS" and rec["startedAt"] >= rec["createdAt"]
    assert rec["sourceServiceRevisions"] == []
    assert rec["targetServiceRevision"]["arn"] == first["targetServiceRevisionArn"]
    assert rec["targetServiceRevision"]["requestedTaskCount"] == 2
    assert rec["deploymentCircuitBreaker"] == {"status": "MONITORING", "failureCount": 0, "threshold": 3}
    assert rec["alarms"]["status"] == "DISABLED"
    assert rec["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}

    done = tick_until(paused, svc, first["serviceDeploymentArn"], ("SUCCESSFUL",))
    assert done["finishedAt"] >= done["startedAt"] and "stoppedAt" not in done
    assert done["targetServiceRevision"]["runningTaskCount"] == 2
    assert done["deploymentCircuitBreaker"]["status"] == "MONITORING_COMPLETE"

    rev1 = revision(svc, first["targetServiceRevisionArn"])
    assert rev1["taskDefinition"] == svc["tds"][0]
    assert rev1["launchType"] == "FARGATE" and rev1["serviceArn"] == s["serviceArn"]
    assert rev1["loadBalancers"] == [{"targetGroupArn": svc["tg"], "containerName": "web", "containerPort": 80}]
    task = ecs.describe_tasks(cluster="prod", tasks=ecs.list_tasks(cluster="prod", serviceName="web")["taskArns"])[
        "tasks"
    ][0]
    assert rev1["containerImages"] == [
        {"containerName": "web", "image": "repo/web:v1", "imageDigest": task["containers"][0]["imageDigest"]}
    ]
    assert "createdAt" in rev1

    ecs.update_service(cluster="prod", service="web", taskDefinition="web:2")
    second = deployments(svc)[0]  # newest first
    assert second["status"] == "PENDING" and second["serviceDeploymentArn"] != first["serviceDeploymentArn"]
    assert describe(svc)["currentServiceDeployment"] == second["serviceDeploymentArn"]
    rec = tick_until(paused, svc, second["serviceDeploymentArn"], ("IN_PROGRESS",))
    assert [r["arn"] for r in rec["sourceServiceRevisions"]] == [first["targetServiceRevisionArn"]]
    assert rec["sourceServiceRevisions"][0]["requestedTaskCount"] == 0
    assert revision(svc, second["targetServiceRevisionArn"])["taskDefinition"] == svc["tds"][1]
    tick_until(paused, svc, second["serviceDeploymentArn"], ("SUCCESSFUL",))
    # the first one is untouched by the second
    assert sd(svc, first["serviceDeploymentArn"])["status"] == "SUCCESSFUL"

    # A desiredCount-only update starts no deployment; forceNewDeployment does (and a new revision).
    ecs.update_service(cluster="prod", service="web", desiredCount=3)
    assert len(deployments(svc)) == 2
    ecs.update_service(cluster="prod", service="web", forceNewDeployment=True)
    third = deployments(svc)[0]
    assert len(deployments(svc)) == 3
    assert third["targetServiceRevisionArn"] not in (
        first["targetServiceRevisionArn"],
        second["targetServiceRevisionArn"],
    )


def test_an_update_during_a_deployment_stops_it(paused):
    svc = make_service(paused, images=("repo/web:v1", "repo/web:v2", "repo/web:v3"), desired=2)
    ecs = svc["ecs"]
    tick(paused, 15)
    ecs.update_service(cluster="prod", service="web", taskDefinition="web:2")
    tick(paused, 2)
    older = deployments(svc)[0]
    assert older["status"] == "IN_PROGRESS"
    ecs.update_service(cluster="prod", service="web", taskDefinition="web:3")
    newer = deployments(svc)[0]
    stopped = sd(svc, older["serviceDeploymentArn"])
    assert stopped["status"] == "STOPPED" and stopped["stoppedAt"] == stopped["finishedAt"]
    assert "newer service deployment" in stopped["statusReason"]
    rec = sd(svc, newer["serviceDeploymentArn"])
    # both revisions still running are the sources of the new deployment
    assert {r["arn"] for r in rec["sourceServiceRevisions"]} == {
        deployments(svc)[2]["targetServiceRevisionArn"],
        older["targetServiceRevisionArn"],
    }
    done = tick_until(paused, svc, newer["serviceDeploymentArn"], ("SUCCESSFUL",))
    assert revision(svc, done["targetServiceRevision"]["arn"])["taskDefinition"] == svc["tds"][2]


def test_circuit_breaker_rollback_is_rollback_successful_to_the_source_revision(paused):
    paused.control("images", {"image": "repo/web:bad", "behaviour": "crashloop"})
    svc = make_service(paused, images=("repo/web:v1", "repo/web:bad"), desired=2)
    tick(paused, 15)
    good = deployments(svc)[0]
    assert good["status"] == "SUCCESSFUL"
    svc["ecs"].update_service(cluster="prod", service="web", taskDefinition="web:2")
    bad = deployments(svc)[0]
    failed_id = primary(svc)["id"]
    seen: list[str] = []
    for _ in range(80):
        rec = sd(svc, bad["serviceDeploymentArn"])
        if not seen or seen[-1] != rec["status"]:
            seen.append(rec["status"])
        if rec["status"] in ("ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"):
            break
        tick(paused)
    assert seen == ["PENDING", "IN_PROGRESS", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"]
    assert rec["statusReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert rec["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert rec["deploymentCircuitBreaker"]["failureCount"] >= 3 == rec["deploymentCircuitBreaker"]["threshold"]
    assert rec["rollback"]["serviceRevisionArn"] == good["targetServiceRevisionArn"]
    assert rec["rollback"]["reason"] == rec["statusReason"] and "startedAt" in rec["rollback"]
    assert rec["finishedAt"] >= rec["rollback"]["startedAt"]
    # A rollback creates no new revision and no new service deployment.
    assert len(deployments(svc)) == 2
    s = describe(svc)
    assert s["currentServiceDeployment"] == bad["serviceDeploymentArn"]
    assert s["taskDefinition"] == svc["tds"][0]
    assert s["deployments"][0]["id"] != failed_id and s["deployments"][0]["rolloutState"] == "COMPLETED"
    assert s["currentServiceRevisions"] == [
        {"arn": good["targetServiceRevisionArn"], "requestedTaskCount": 2, "runningTaskCount": 2, "pendingTaskCount": 0}
    ]


def test_circuit_breaker_without_rollback_is_stopped(paused):
    paused.control("images", {"image": "repo/web:bad", "behaviour": "crashloop"})
    svc = make_service(
        paused, images=("repo/web:v1", "repo/web:bad"), desired=2, breaker={"enable": True, "rollback": False}
    )
    tick(paused, 15)
    svc["ecs"].update_service(cluster="prod", service="web", taskDefinition="web:2")
    arn = deployments(svc)[0]["serviceDeploymentArn"]
    rec = tick_until(paused, svc, arn, ("STOPPED",))
    assert rec["statusReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert rec["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert "rollback" not in rec and rec["stoppedAt"] == rec["finishedAt"]
    assert primary(svc)["rolloutState"] == "FAILED"


def test_list_filters_pagination_and_errors(paused):
    svc = make_service(paused, desired=1)
    ecs = svc["ecs"]
    tick(paused, 10)
    for _ in range(4):
        ecs.update_service(cluster="prod", service="web", forceNewDeployment=True)
    every = deployments(svc)
    assert len(every) == 5
    assert [d["createdAt"] for d in every] == sorted((d["createdAt"] for d in every), reverse=True)
    assert [d["status"] for d in every] == ["PENDING", "STOPPED", "STOPPED", "STOPPED", "SUCCESSFUL"]

    # pages of maxResults, by service ARN too
    arn = describe(svc)["serviceArn"]
    page1 = ecs.list_service_deployments(cluster="prod", service=arn, maxResults=2)
    assert [d["serviceDeploymentArn"] for d in page1["serviceDeployments"]] == [
        d["serviceDeploymentArn"] for d in every[:2]
    ]
    page2 = ecs.list_service_deployments(cluster="prod", service=arn, maxResults=2, nextToken=page1["nextToken"])
    page3 = ecs.list_service_deployments(cluster="prod", service=arn, maxResults=2, nextToken=page2["nextToken"])
    assert [d["serviceDeploymentArn"] for d in page2["serviceDeployments"] + page3["serviceDeployments"]] == [
        d["serviceDeploymentArn"] for d in every[2:]
    ]
    assert "nextToken" not in page3

    assert [d["status"] for d in deployments(svc, status=["STOPPED", "PENDING"])] == [
        "PENDING",
        "STOPPED",
        "STOPPED",
        "STOPPED",
    ]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert deployments(svc, createdAt={"after": future}) == []
    assert len(deployments(svc, createdAt={"before": future})) == 5

    def code(fn, **kw):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            fn(**kw)
        return e.value.response["Error"]["Code"]

    assert (
        code(ecs.list_service_deployments, cluster="prod", service="web", maxResults=101) == "InvalidParameterException"
    )
    assert (
        code(ecs.list_service_deployments, cluster="prod", service="web", nextToken="garbage")
        == "InvalidParameterException"
    )
    assert code(ecs.list_service_deployments, cluster="prod", service="nope") == "ServiceNotFoundException"
    assert code(ecs.list_service_deployments, cluster="nope", service="web") == "ClusterNotFoundException"

    missing = every[0]["serviceDeploymentArn"][:-3] + "zzz"
    out = ecs.describe_service_deployments(serviceDeploymentArns=[every[0]["serviceDeploymentArn"], missing])
    assert len(out["serviceDeployments"]) == 1 and out["failures"] == [{"arn": missing, "reason": "MISSING"}]
    rev_missing = every[0]["targetServiceRevisionArn"][:-3] + "000"
    out = ecs.describe_service_revisions(serviceRevisionArns=[rev_missing])
    assert out["serviceRevisions"] == [] and out["failures"] == [{"arn": rev_missing, "reason": "MISSING"}]
    json.dumps(paused.state())  # the control API still serialises every service


def code_of(fn, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        fn(**kw)
    return e.value.response["Error"]["Code"], e.value.response["Error"].get("Message", "")


def test_stop_service_deployment_rolls_back_to_the_source_revision(paused):
    paused.control("images", {"image": "repo/web:slow", "behaviour": "slow", "slow_ticks": 50})
    svc = make_service(
        paused, images=("repo/web:v1", "repo/web:slow"), desired=2, breaker={"enable": False, "rollback": False}
    )
    ecs = svc["ecs"]
    tick(paused, 15)
    first = deployments(svc)[0]
    code, _ = code_of(
        ecs.stop_service_deployment, serviceDeploymentArn=first["serviceDeploymentArn"], stopType="ROLLBACK"
    )
    assert code == "ConflictException"  # SUCCESSFUL: nothing to stop

    ecs.update_service(cluster="prod", service="web", taskDefinition="web:2")
    arn = deployments(svc)[0]["serviceDeploymentArn"]
    tick(paused, 3)
    stuck_id = primary(svc)["id"]
    assert sd(svc, arn)["status"] == "IN_PROGRESS"
    out = ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert out["serviceDeploymentArn"] == arn
    rec = sd(svc, arn)
    assert rec["status"] == "ROLLBACK_REQUESTED"
    assert (
        rec["statusReason"] == "Service deployment rolled back by StopServiceDeployment." == rec["rollback"]["reason"]
    )
    assert rec["rollback"]["serviceRevisionArn"] == first["targetServiceRevisionArn"]
    s = describe(svc)
    assert s["taskDefinition"] == svc["tds"][0]
    assert s["deployments"][0]["status"] == "PRIMARY" and s["deployments"][0]["taskDefinition"] == svc["tds"][0]
    assert any(d["id"] == stuck_id and d["status"] == "ACTIVE" for d in s["deployments"])
    # A second stop while rolling back is accepted and changes nothing.
    assert ecs.stop_service_deployment(serviceDeploymentArn=arn)["serviceDeploymentArn"] == arn
    tick(paused)
    assert sd(svc, arn)["status"] == "ROLLBACK_IN_PROGRESS"
    done = tick_until(paused, svc, arn, ("ROLLBACK_SUCCESSFUL",))
    assert done["finishedAt"] >= done["rollback"]["startedAt"]
    s = describe(svc)
    assert len(s["deployments"]) == 1 and s["deployments"][0]["rolloutState"] == "COMPLETED"
    assert s["deployments"][0]["taskDefinition"] == svc["tds"][0] and s["runningCount"] == 2
    assert len(deployments(svc)) == 2  # no new service deployment for the rollback
    code, _ = code_of(ecs.stop_service_deployment, serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert code == "ConflictException"


def test_stop_service_deployment_errors(paused):
    svc = make_service(paused, desired=1)
    ecs = svc["ecs"]
    arn = deployments(svc)[0]["serviceDeploymentArn"]
    # the service's first deployment has no source revision to roll back to
    assert code_of(ecs.stop_service_deployment, serviceDeploymentArn=arn)[0] == "InvalidParameterException"
    missing = arn[:-3] + "zzz"
    assert code_of(ecs.stop_service_deployment, serviceDeploymentArn=missing)[0] == "ServiceDeploymentNotFoundException"
    assert code_of(
        ecs.stop_service_deployment, serviceDeploymentArn="arn:aws:ecs:us-east-1:123456789012:service/prod/web"
    )[0] == ("ServiceDeploymentNotFoundException")


def sqs_rule(standin, name, pattern):
    """An EventBridge rule on the default bus with an SQS queue as its target; returns a reader."""
    sqs, events = standin.client("sqs"), standin.client("events")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])

    def read():
        out: list[dict] = []
        while True:
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return out
            out += [json.loads(m["Body"]) for m in msgs]
            for m in msgs:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    return read


def test_deployment_state_change_events_reach_an_sqs_rule(paused):
    every = sqs_rule(paused, "ecs-deployments", {"source": ["aws.ecs"], "detail-type": ["ECS Deployment State Change"]})
    failures = sqs_rule(
        paused, "ecs-failures", {"source": ["aws.ecs"], "detail": {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]}}
    )
    other = sqs_rule(paused, "other-source", {"source": ["berth"]})
    paused.control("images", {"image": "repo/web:bad", "behaviour": "crashloop"})
    svc = make_service(paused, images=("repo/web:v1", "repo/web:bad"), desired=2)
    first_id = primary(svc)["id"]
    tick(paused, 15)
    svc["ecs"].update_service(cluster="prod", service="web", taskDefinition="web:2")
    bad_id = primary(svc)["id"]
    arn = deployments(svc)[0]["serviceDeploymentArn"]
    tick_until(paused, svc, arn, ("ROLLBACK_SUCCESSFUL",))
    rollback_id = primary(svc)["id"]

    got = every()
    service_arn = describe(svc)["serviceArn"]
    for e in got:
        assert e["source"] == "aws.ecs" and e["detail-type"] == "ECS Deployment State Change"
        # moto's SQS delivery leaves "account" out of the event (its default input template has none)
        assert e["resources"] == [service_arn] and e["region"] == "us-east-1" and e["version"] == "0"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", e["time"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["detail"]["updatedAt"])
    assert [
        (e["detail"]["eventType"], e["detail"]["eventName"], e["detail"]["deploymentId"], e["detail"]["reason"])
        for e in got
    ] == [
        ("INFO", "SERVICE_DEPLOYMENT_IN_PROGRESS", first_id, f"ECS deployment {first_id} in progress."),
        ("INFO", "SERVICE_DEPLOYMENT_COMPLETED", first_id, f"ECS deployment {first_id} completed."),
        ("INFO", "SERVICE_DEPLOYMENT_IN_PROGRESS", bad_id, f"ECS deployment {bad_id} in progress."),
        ("ERROR", "SERVICE_DEPLOYMENT_FAILED", bad_id, "ECS deployment circuit breaker: tasks failed to start."),
        (
            "INFO",
            "SERVICE_DEPLOYMENT_IN_PROGRESS",
            rollback_id,
            f"ECS deployment circuit breaker: rolling back to deploymentId {first_id}.",
        ),
        ("INFO", "SERVICE_DEPLOYMENT_COMPLETED", rollback_id, f"ECS deployment {rollback_id} completed."),
    ]
    assert [e["detail"]["deploymentId"] for e in failures()] == [bad_id]
    assert [e["detail"] for e in paused.state()["deploymentEvents"]] == [e["detail"] for e in got]
    assert other() == []


def test_a_stopped_service_task_is_an_ecs_task_state_change_event(paused):
    """Tasks failing ELB health checks stop without any deployment state change: ECS still sends
    "ECS Task State Change" for each (what berth's wake-rollout listens to besides deployments)."""
    stopped = sqs_rule(
        paused,
        "ecs-tasks",
        {"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"], "detail": {"lastStatus": ["STOPPED"]}},
    )
    paused.control("images", {"image": "repo/web:sick", "behaviour": "unhealthy-lb"})
    svc = make_service(paused, images=("repo/web:v1", "repo/web:sick"), desired=2)
    tick(paused, 15)
    assert stopped() == [], "nothing stopped while v1 rolled out"
    svc["ecs"].update_service(cluster="prod", service="web", taskDefinition="web:2")
    got = []
    for _ in range(60):
        tick(paused, 1)
        got += stopped()
        if got:
            break
    assert got, "no task of the unhealthy revision was stopped"
    e = got[0]
    assert e["detail-type"] == "ECS Task State Change" and e["resources"][0].startswith(
        "arn:aws:ecs:us-east-1:123456789012:task/prod/"
    )
    d = e["detail"]
    assert d["group"] == "service:web" and d["clusterArn"].endswith(":cluster/prod")
    assert d["lastStatus"] == "STOPPED" and d["taskDefinitionArn"].endswith("task-definition/web:2")
    assert "ELB health checks" in d["stoppedReason"], d
