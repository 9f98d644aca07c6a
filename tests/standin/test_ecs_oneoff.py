"""One-off tasks (RunTask outside a service) and the per-tick record of live task definitions
(ecs_oneoff.py), driven tick by tick through the control API with the ticker paused."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .conftest import describe, make_service, one_off_task_definition, settled, wait_for

LOGS = {
    "logDriver": "awslogs",
    "options": {"awslogs-group": "/berth/migrate", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "migrate"},
}


def paused(standin):
    standin.control("config", {"paused": True})


def tick(standin, n=1):
    standin.control("tick", {"count": n})


def setup_task(standin, image="repo/migrate:v2", name="migrate"):
    """A cluster, a subnet and an awsvpc FARGATE task definition with an awslogs log configuration."""
    ecs = standin.client("ecs")
    td, subnet, sg = one_off_task_definition(standin, image, name, command=["migrate", "up"], logConfiguration=LOGS)
    net = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg], "assignPublicIp": "DISABLED"}}
    return ecs, td, net


def run(ecs, td, net, **kw):
    out = ecs.run_task(cluster="prod", taskDefinition=td, launchType="FARGATE", networkConfiguration=net, **kw)
    assert out["failures"] == []
    return out["tasks"]


def task(ecs, arn):
    return ecs.describe_tasks(cluster="prod", tasks=[arn])["tasks"][0]


def statuses_until_stopped(standin, ecs, arn, limit=40):
    seen = [task(ecs, arn)["lastStatus"]]
    for _ in range(limit):
        tick(standin)
        t = task(ecs, arn)
        if t["lastStatus"] != seen[-1]:
            seen.append(t["lastStatus"])
        if t["lastStatus"] == "STOPPED":
            return seen, t
    raise AssertionError(f"task never stopped: {seen}")


def test_awsvpc_run_task_with_a_command_override_runs_and_exits_0(standin):
    paused(standin)
    ecs, td, net = setup_task(standin)
    [t] = run(
        ecs,
        td,
        net,
        startedBy="berth-migrate",
        overrides={"containerOverrides": [{"name": "migrate", "command": ["migrate", "up", "--to", "42"]}]},
    )
    assert t["lastStatus"] == "PROVISIONING" and t["desiredStatus"] == "RUNNING"
    assert t["group"] == "family:migrate" and t["startedBy"] == "berth-migrate"
    assert t["launchType"] == "FARGATE" and t["taskDefinitionArn"] == td
    assert t["overrides"]["containerOverrides"] == [{"name": "migrate", "command": ["migrate", "up", "--to", "42"]}]
    seen, done = statuses_until_stopped(standin, ecs, t["taskArn"])
    assert seen == ["PROVISIONING", "PENDING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"]
    assert done["stopCode"] == "EssentialContainerExited"
    assert done["stoppedReason"] == "Essential container in task exited"
    assert done["containers"][0]["exitCode"] == 0 and done["containers"][0]["lastStatus"] == "STOPPED"
    assert {"startedAt", "stoppedAt", "pullStartedAt", "pullStoppedAt"} <= done.keys()
    # The log configuration a caller needs to find the task's logs is the task definition's.
    cdef = ecs.describe_task_definition(taskDefinition=done["taskDefinitionArn"])["taskDefinition"][
        "containerDefinitions"
    ][0]
    assert cdef["logConfiguration"] == LOGS
    # ListTasks finds it by family and startedBy, STOPPED.
    assert ecs.list_tasks(cluster="prod", family="migrate", desiredStatus="STOPPED")["taskArns"] == [t["taskArn"]]
    assert ecs.list_tasks(cluster="prod", startedBy="berth-migrate", desiredStatus="STOPPED")["taskArns"] == [
        t["taskArn"]
    ]


def test_the_running_ticker_finishes_one_off_tasks(standin):
    ecs, td, net = setup_task(standin)
    [t] = run(ecs, td, net)
    done = wait_for(lambda: (x := task(ecs, t["taskArn"]))["lastStatus"] == "STOPPED" and x, what="task stopped")
    assert done["containers"][0]["exitCode"] == 0


def test_a_chosen_exit_code_and_run_length(standin):
    paused(standin)
    standin.control("task-behaviours", {"image": "repo/migrate", "exitCode": 3, "runTicks": 5})
    ecs, td, net = setup_task(standin)
    [t] = run(ecs, td, net)
    tick(standin, 2)
    assert task(ecs, t["taskArn"])["lastStatus"] == "RUNNING"
    tick(standin, 4)
    assert task(ecs, t["taskArn"])["lastStatus"] == "RUNNING"
    tick(standin)
    stopping = task(ecs, t["taskArn"])
    assert stopping["desiredStatus"] == "STOPPED" and stopping["lastStatus"] == "DEACTIVATING"
    _, done = statuses_until_stopped(standin, ecs, t["taskArn"])
    assert done["containers"][0]["exitCode"] == 3
    assert done["stopCode"] == "EssentialContainerExited"


def test_an_image_that_cannot_be_pulled_never_starts(standin):
    paused(standin)
    standin.control("task-behaviours", {"image": "repo/migrate:v2", "behaviour": "pull-error"})
    ecs, td, net = setup_task(standin)
    [t] = run(ecs, td, net)
    seen, done = statuses_until_stopped(standin, ecs, t["taskArn"])
    assert "RUNNING" not in seen
    assert done["stopCode"] == "TaskFailedToStart"
    assert done["stoppedReason"].startswith("CannotPullContainerError: ")
    assert "repo/migrate:v2: not found" in done["stoppedReason"]
    c = done["containers"][0]
    assert c["reason"] == done["stoppedReason"] and "exitCode" not in c
    assert "startedAt" not in done


def test_a_task_that_hangs_runs_until_stopped(standin):
    paused(standin)
    standin.control("task-behaviours", {"image": "repo/migrate:v2", "behaviour": "hang"})
    ecs, td, net = setup_task(standin)
    [t] = run(ecs, td, net)
    tick(standin, 50)
    assert task(ecs, t["taskArn"])["lastStatus"] == "RUNNING"
    stopped = ecs.stop_task(cluster="prod", task=t["taskArn"], reason="berth: migration timed out after 900 s")["task"]
    assert stopped["desiredStatus"] == "STOPPED" and stopped["lastStatus"] == "DEACTIVATING"
    assert stopped["stopCode"] == "UserInitiated"
    assert stopped["stoppedReason"] == "berth: migration timed out after 900 s"
    _, done = statuses_until_stopped(standin, ecs, t["taskArn"])
    assert done["containers"][0]["exitCode"] == 143
    # Stopping a stopped task changes nothing.
    again = ecs.stop_task(cluster="prod", task=t["taskArn"])["task"]
    assert again["stoppedReason"] == "berth: migration timed out after 900 s"


def test_a_task_stopped_before_it_runs_has_no_exit_code(standin):
    paused(standin)
    ecs, td, net = setup_task(standin)
    [t] = run(ecs, td, net)
    tick(standin)
    out = ecs.stop_task(cluster="prod", task=t["taskArn"])["task"]
    assert out["lastStatus"] == "STOPPED" and out["stopCode"] == "UserInitiated"
    assert out["stoppedReason"] == "Task stopped by user"
    assert "exitCode" not in out["containers"][0]


def test_the_service_simulators_crashloop_behaviour_exits_1(standin):
    paused(standin)
    standin.control("images", {"image": "repo/migrate:v2", "behaviour": "crashloop"})
    ecs, td, net = setup_task(standin)
    [t] = run(ecs, td, net)
    _, done = statuses_until_stopped(standin, ecs, t["taskArn"])
    assert done["containers"][0]["exitCode"] == 1


def test_several_tasks_and_a_custom_group(standin):
    paused(standin)
    ecs, td, net = setup_task(standin)
    tasks = run(ecs, td, net, count=3, group="berth:migrate")
    assert len({t["taskArn"] for t in tasks}) == 3
    assert {t["group"] for t in tasks} == {"berth:migrate"}


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda kw: kw.pop("networkConfiguration"),
            "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
        ),
        (
            lambda kw: kw.update(overrides={"containerOverrides": [{"name": "web", "command": ["x"]}]}),
            "Override for container named web is not a container in the TaskDefinition.",
        ),
        (
            lambda kw: kw.update(networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-0000000000"]}}),
            "Error retrieving subnet information for [subnet-0000000000]",
        ),
        (lambda kw: kw.update(count=11), "count must be between 1 and 10."),
    ],
)
def test_bad_run_task_requests_are_refused_like_ecs(standin, change, message):
    ecs, td, net = setup_task(standin)
    kw = dict(cluster="prod", taskDefinition=td, launchType="FARGATE", networkConfiguration=net)
    change(kw)
    with pytest.raises(ClientError) as e:
        ecs.run_task(**kw)
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    assert e.value.response["Error"]["Message"].startswith(message)


def test_bad_behaviours_are_refused(standin):
    import requests

    for doc in ({"image": "x", "behaviour": "explode"}, {"image": "x", "exitCode": 300}, {"image": "x", "exit": 1}):
        assert requests.post(f"{standin.url}/_berth/task-behaviours", json=doc, timeout=10).status_code == 400, doc


def roll(standin, svc, td, limit=200):
    svc["ecs"].update_service(cluster="prod", service="web", taskDefinition=td)
    for _ in range(limit):
        tick(standin)
        s = settled(svc)
        if s and s["taskDefinition"] == td:
            return s
    raise AssertionError(f"rollout did not finish: {describe(svc)['deployments']}")


def overlap(standin, svc):
    return standin.control(
        "task-history/overlap", {"cluster": "prod", "service": "web", "taskDefinitions": svc["tds"][:2]}
    )


def test_a_rolling_update_runs_both_revisions_together_and_the_record_shows_it(standin):
    paused(standin)
    svc = make_service(standin, images=("repo/web:v1", "repo/web:v2"), desired=2)
    for _ in range(100):
        tick(standin)
        if settled(svc):
            break
    roll(standin, svc, svc["tds"][1])
    out = overlap(standin, svc)
    assert out["overlapped"] is True and out["ticks"], out
    assert out["taskDefinitions"] == ["web:1", "web:2"]
    runs = standin.control("task-history?cluster=prod&service=web", method="GET")["runs"]
    pictures = [r["alive"].get("us-east-1/prod/service:web", []) for r in runs]
    assert [svc["tds"][0]] in pictures and [svc["tds"][1]] in pictures and sorted(svc["tds"][:2]) in pictures


def test_stop_then_start_never_runs_both_revisions_together(standin):
    paused(standin)
    svc = make_service(standin, images=("repo/web:v1", "repo/web:v2"), desired=2)
    svc["ecs"].update_service(
        cluster="prod", service="web", deploymentConfiguration={"minimumHealthyPercent": 0, "maximumPercent": 100}
    )
    for _ in range(100):
        tick(standin)
        if settled(svc):
            break
    roll(standin, svc, svc["tds"][1])
    out = overlap(standin, svc)
    assert out["overlapped"] is False and out["ticks"] == [], out
    assert out["recordedTicks"] is not None
    runs = standin.control("task-history?cluster=prod&service=web", method="GET")["runs"]
    pictures = [r["alive"].get("us-east-1/prod/service:web", []) for r in runs]
    assert [svc["tds"][0]] in pictures and [svc["tds"][1]] in pictures
    # A one-off task of revision 2 while revision 1 served counts when its group is asked for too.
    assert (
        standin.control(
            "task-history/overlap",
            {"cluster": "prod", "groups": ["service:web", "family:web"], "taskDefinitions": ["web:1", "web:2"]},
        )["overlapped"]
        is False
    )


@pytest.mark.skipif(
    not __import__("os").environ.get("BERTH_RUST_ONEOFF_CHECK"),
    reason="set BERTH_RUST_ONEOFF_CHECK to a built rust_oneoff_check binary",
)
def test_rust_sdk_runs_reads_and_stops_one_off_tasks(standin):
    """Runs rust_oneoff_check.rs (aws-sdk-ecs 1.157) against the ticking stand-in."""
    import os
    import subprocess

    ecs, td, net = setup_task(standin)
    subnet, sg = net["awsvpcConfiguration"]["subnets"][0], net["awsvpcConfiguration"]["securityGroups"][0]

    def task_def(image):
        return ecs.register_task_definition(
            family="migrate",
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[{"name": "migrate", "image": image, "essential": True}],
        )["taskDefinition"]["taskDefinitionArn"]

    standin.control(
        "task-behaviours",
        {
            "images": [
                {"image": "repo/fails:v1", "exitCode": 3},
                {"image": "repo/missing:v1", "behaviour": "pull-error"},
                {"image": "repo/hangs:v1", "behaviour": "hang"},
            ]
        },
    )
    env = dict(
        os.environ,
        AWS_ENDPOINT_URL=standin.url,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        TASK_DEF=td,
        SUBNET=subnet,
        SG=sg,
        FAIL_DEF=task_def("repo/fails:v1"),
        PULL_DEF=task_def("repo/missing:v1"),
        HANG_DEF=task_def("repo/hangs:v1"),
    )
    out = subprocess.run([os.environ["BERTH_RUST_ONEOFF_CHECK"]], env=env, capture_output=True, text=True, timeout=120)
    print(out.stdout, out.stderr)
    assert out.returncode == 0, out.stderr
    lines = out.stdout
    assert 'RUN Some("PROVISIONING") Some("family:migrate") Some(Fargate) Some(["migrate", "up"])' in lines
    assert (
        'EXIT0 Some(EssentialContainerExited) Some("STOPPED") '
        'reason_prefix=Some("Essential container in task exited") exit=Some(0)' in lines
    )
    assert (
        'EXIT3 Some(EssentialContainerExited) Some("STOPPED") '
        'reason_prefix=Some("Essential container in task exited") exit=Some(3)' in lines
    )
    assert (
        'PULL Some(TaskFailedToStart) Some("STOPPED") reason_prefix=Some("CannotPullContainerError") exit=None '
        'container_reason_prefix=Some("CannotPullContainerError") started=false stopped=true'
    ) in lines
    assert 'STOP Some(UserInitiated) Some("STOPPED") Some("berth: migration timed out")' in lines
    assert 'HANG Some(UserInitiated) Some("STOPPED") reason_prefix=Some("berth") exit=Some(143)' in lines
    assert 'LOGS Awslogs Some("/berth/migrate")' in lines
    assert "NO_NETWORK is_invalid_parameter_exception=true" in lines
