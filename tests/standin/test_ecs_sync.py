"""Step Functions' optimized ECS integration, `arn:aws:states:::ecs:runTask.sync`, run by moto's
interpreter in the stand-in against the one-off task simulator (ecs_oneoff), as Step Functions runs
it (sfn_patch, patch 7; README "Exact moto patches"): PascalCase in and out, `States.TaskFailed`
with the task's description as the Cause when an essential container fails, `AmazonECS.Unknown`
when RunTask answers without a task, and a wait that reads the task at most once a second, outside
the throttle."""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from types import SimpleNamespace
from typing import Any

import pytest

from .conftest import one_off_task_definition, wait_for

ROLE = "arn:aws:iam::123456789012:role/sfn"
GROUP = "berth-migration:abc"
COMMAND = ["migrate", "up", "--to", "42"]


def setup(standin, image="repo/migrate:v2", name="migrate", **container):
    """A subnet and security group, cluster `prod`, an awsvpc FARGATE task definition; returns
    (task definition ARN, subnet, security group)."""
    return one_off_task_definition(standin, image, name, cidr="10.2", **container)


def migration(td, subnet, sg, **state):
    """The state machine berth's release will run: one `.sync` RunTask, every error caught into $.error."""
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Parameters": {
            "Cluster": "prod",
            "TaskDefinition": td,
            "LaunchType": "FARGATE",
            "Group": GROUP,
            "NetworkConfiguration": {
                "AwsvpcConfiguration": {"Subnets": [subnet], "SecurityGroups": [sg], "AssignPublicIp": "DISABLED"}
            },
            "Overrides": {"ContainerOverrides": [{"Name": "migrate", "Command": COMMAND}]},
        },
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
        "End": True,
        **state,
    }
    return {"StartAt": "Migrate", "States": {"Migrate": task, "Failed": {"Type": "Pass", "End": True}}}


def start(standin, definition, name="migrate", payload=None) -> str:
    sfn = standin.client("stepfunctions")
    sm = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
    return sfn.start_execution(stateMachineArn=sm, name=f"{name}-run", input=json.dumps(payload or {}))["executionArn"]


def finish(standin, arn, timeout=25.0):
    sfn = standin.client("stepfunctions")
    done = wait_for(
        lambda: (lambda d: d if d["status"] != "RUNNING" else None)(sfn.describe_execution(executionArn=arn)),
        timeout=timeout,
        interval=0.1,
        what="execution",
    )
    return done, sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]


def run(standin, definition, **kw):
    done, events = finish(standin, start(standin, definition, **kw))
    assert done["status"] == "SUCCEEDED", done
    return json.loads(done["output"]), events


def caught(out) -> tuple[str, dict | str]:
    """(Error, Cause parsed as JSON where it is JSON) of the error the Catch put at $.error."""
    assert "error" in out, f"the state did not fail: {json.dumps(out)[:400]}"
    cause = out["error"]["Cause"]
    with contextlib.suppress(ValueError):
        cause = json.loads(cause)
    return out["error"]["Error"], cause


# ---------------------------------------------------------------- outcomes of the task


def test_exit_0_succeeds_with_the_task_description_in_pascal_case(standin):
    td, subnet, sg = setup(standin)
    out, events = run(standin, migration(td, subnet, sg))
    assert "error" not in out, out["error"]
    assert out["LastStatus"] == "STOPPED" and out["DesiredStatus"] == "STOPPED"
    assert out["StopCode"] == "EssentialContainerExited"
    assert out["Group"] == GROUP
    assert out["StartedBy"] == "AWS Step Functions"
    assert out["LaunchType"] == "FARGATE" and out["TaskDefinitionArn"] == td
    assert out["Overrides"]["ContainerOverrides"] == [{"Name": "migrate", "Command": COMMAND}]
    [container] = out["Containers"]
    assert container["Name"] == "migrate" and container["ExitCode"] == 0 and container["LastStatus"] == "STOPPED"
    assert not any(k[:1].islower() for k in out), sorted(out)
    # TaskSubmitted carries RunTask's answer (Failures, Tasks), as in Step Functions.
    [submitted] = [json.loads(e["taskSubmittedEventDetails"]["output"]) for e in events if e["type"] == "TaskSubmitted"]
    assert submitted["Failures"] == [] and submitted["Tasks"][0]["TaskArn"] == out["TaskArn"]
    assert submitted["Tasks"][0]["LastStatus"] == "PROVISIONING"
    # The task ECS ran is the one the parameters asked for: the awsvpc subnet reached RunTask
    # (the simulator refuses an awsvpc RunTask without one), and so did the group and command.
    ecs = standin.client("ecs")
    task = ecs.describe_tasks(cluster="prod", tasks=[out["TaskArn"]])["tasks"][0]
    assert task["group"] == GROUP and task["startedBy"] == "AWS Step Functions"
    assert task["overrides"]["containerOverrides"] == [{"name": "migrate", "command": COMMAND}]


def test_a_non_zero_exit_is_states_task_failed_with_the_task_as_the_cause(standin):
    standin.control("task-behaviours", {"image": "repo/migrate", "exitCode": 3})
    td, subnet, sg = setup(standin)
    out, events = run(standin, migration(td, subnet, sg))
    error, cause = caught(out)
    assert error == "States.TaskFailed"
    assert isinstance(cause, dict), cause
    assert cause["LastStatus"] == "STOPPED" and cause["StopCode"] == "EssentialContainerExited"
    assert cause["StoppedReason"] == "Essential container in task exited"
    assert cause["Containers"][0]["Name"] == "migrate" and cause["Containers"][0]["ExitCode"] == 3
    assert cause["Group"] == GROUP and cause["TaskDefinitionArn"] == td
    [failed] = [e["taskFailedEventDetails"] for e in events if e["type"] == "TaskFailed"]
    assert failed["error"] == "States.TaskFailed" and json.loads(failed["cause"]) == cause
    assert failed["resource"] == "runTask.sync" and failed["resourceType"] == "ecs"


def test_an_image_that_cannot_be_pulled_is_states_task_failed(standin):
    standin.control("task-behaviours", {"image": "repo/migrate:v2", "behaviour": "pull-error"})
    td, subnet, sg = setup(standin)
    out, _ = run(standin, migration(td, subnet, sg))
    error, cause = caught(out)
    assert error == "States.TaskFailed"
    assert isinstance(cause, dict), cause  # the task's description, as JSON
    assert cause["StopCode"] == "TaskFailedToStart"
    assert "CannotPullContainerError" in cause["StoppedReason"]
    container = cause["Containers"][0]
    assert "ExitCode" not in container and container["Reason"].startswith("CannotPullContainerError")


@pytest.mark.parametrize(
    "containers, essential, failed",
    [
        ([{"Name": "app", "ExitCode": 0}], {"app": True}, False),
        ([{"Name": "app", "ExitCode": 1}], {"app": True}, True),
        ([{"Name": "app"}], {"app": True}, True),  # never ran
        (
            [{"Name": "app", "ExitCode": 0}, {"Name": "log-router", "ExitCode": 137}],
            {"app": True, "log-router": False},
            False,
        ),
        (
            [{"Name": "app", "ExitCode": 0}, {"Name": "init", "ExitCode": 2}],
            {"app": True},
            True,
        ),  # essential by default
    ],
)
def test_which_stopped_tasks_fail_the_state(containers, essential, failed):
    from .sfn_patch import ecs_task_failed

    assert ecs_task_failed({"LastStatus": "STOPPED", "Containers": containers}, essential) is failed


# ---------------------------------------------------------------- RunTask without a task


def register_small_ec2_instance(standin):
    """An EC2 instance registered in cluster `prod` (moto gives it 4096 CPU units and 7482 MiB)."""
    ec2, ecs = standin.client("ec2"), standin.client("ecs")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro")["Instances"][0][
        "InstanceId"
    ]
    ecs.register_container_instance(cluster="prod", instanceIdentityDocument=json.dumps({"instanceId": instance}))


def test_run_task_answering_without_a_task_is_amazon_ecs_unknown(standin):
    """ECS answers 200 with `failures` when it cannot place a task (e.g. RESOURCE:MEMORY); moto
    answers `{"tasks": [], "failures": []}` for an EC2 task no container instance can hold, the
    one way the stand-in answers RunTask without a task. Step Functions fails the state with
    AmazonECS.Unknown; moto indexed Tasks[0] (States.Runtime)."""
    setup(standin)
    register_small_ec2_instance(standin)
    ecs = standin.client("ecs")
    big = ecs.register_task_definition(
        family="migrate-big",
        requiresCompatibilities=["EC2"],
        containerDefinitions=[{"name": "migrate", "image": "repo/migrate:v2", "essential": True, "memory": 16384}],
    )["taskDefinition"]["taskDefinitionArn"]
    definition = {
        "StartAt": "Migrate",
        "States": {
            "Migrate": {
                "Type": "Task",
                "Resource": "arn:aws:states:::ecs:runTask.sync",
                "Parameters": {"Cluster": "prod", "TaskDefinition": big, "LaunchType": "EC2", "Group": GROUP},
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                "End": True,
            },
            "Failed": {"Type": "Pass", "End": True},
        },
    }
    out, events = run(standin, definition)
    error, cause = caught(out)
    assert error == "AmazonECS.Unknown"
    assert cause == {"Failures": [], "Tasks": []}
    assert [e for e in events if e["type"] == "TaskSubmitted"] == []
    assert ecs.list_tasks(cluster="prod")["taskArns"] == []


def test_a_run_task_api_error_is_caught_under_moto_s_name(standin):
    """A task definition that does not exist: ECS refuses RunTask (ClientException, "Unable to
    describe task definition."). moto names any API error of this integration States.Runtime, its
    cause the botocore message; the patch leaves that alone (what Step Functions names it is not
    verified here; definitions in the wild retry `ECS.AmazonECSException`)."""
    _, subnet, sg = setup(standin)
    out, _ = run(standin, migration("arn:aws:ecs:us-east-1:123456789012:task-definition/missing:9", subnet, sg))
    error, cause = caught(out)
    assert error == "States.Runtime"
    assert "ClientException" in cause and "Unable to describe task definition." in cause


# ---------------------------------------------------------------- the wait


def test_the_wait_reads_the_task_at_most_once_a_second():
    """moto's own `.sync` loop (`StateTaskServiceCallback._eval_sync`, a resolver call every 0.5 s)
    around the patch's pacing, over a task that stops after 3 s: at most one read a second."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )

    from .sfn_patch import paced

    t0 = time.monotonic()
    reads: list[float] = []

    def describe():
        reads.append(time.monotonic() - t0)
        return {"LastStatus": "STOPPED"} if reads[-1] >= 3.0 else None

    env = SimpleNamespace(is_running=lambda: True)
    # moto's method alone, with None for the state and a stand-in for its environment (it reads
    # only env.is_running): not the types it declares.
    eval_sync: Any = StateTaskServiceCallback._eval_sync
    out = eval_sync(
        None,
        env=env,
        sync_resolver=paced(describe),
        timeout_seconds=None,
        callback_endpoint=None,
        heartbeat_endpoint=None,
    )
    assert out == {"LastStatus": "STOPPED"}
    assert len(reads) <= 4 and reads[-1] >= 3.0, reads
    assert reads[0] >= 1.0 and all(b - a >= 1.0 for a, b in itertools.pairwise(reads)), reads


def test_the_wait_is_neither_counted_nor_refused_by_the_throttle(standin):
    """Step Functions learns that the task stopped from EventBridge, not from your DescribeTasks
    quota: with ECS's DescribeTasks bucket empty (burst 1, refilled once in 100 s) a task that runs
    ~3 s still ends the state normally, and the front sees no DescribeTasks at all. RunTask itself
    goes through the front (counted, refusable, as Step Functions' RunTask call is)."""
    standin.control("task-behaviours", {"image": "repo/migrate", "runTicks": 60})  # 60 ticks of 0.05 s
    td, subnet, sg = setup(standin)
    standin.control("throttle", {"buckets": {"ecs:DescribeTasks": [1, 0.01]}})
    t0 = time.monotonic()
    out, _ = run(standin, migration(td, subnet, sg))
    took = time.monotonic() - t0
    calls = standin.control("throttle", method="GET")["calls"]
    standin.control("throttle", method="DELETE")
    assert "error" not in out, out["error"]
    assert out["LastStatus"] == "STOPPED" and out["Containers"][0]["ExitCode"] == 0
    assert 3.0 <= took < 20, took
    assert "ecs:DescribeTasks" not in calls, calls
    assert calls["ecs:RunTask"] == {"calls": 1, "throttled": 0}


def test_the_first_read_comes_a_second_after_run_task(standin):
    """The ticker paused: the task is STOPPED a few ticks after RunTask, but the state learns it
    only at the paced read, at least a second after RunTask (moto read it every 0.5 s). Times are
    the server's own: the task's createdAt / stoppedAt and the execution's stopDate."""
    standin.control("config", {"paused": True})
    standin.control("task-behaviours", {"image": "repo/migrate:v2", "behaviour": "pull-error"})
    td, subnet, sg = setup(standin)
    ecs = standin.client("ecs")
    arn = start(standin, migration(td, subnet, sg))
    [task_arn] = wait_for(lambda: ecs.list_tasks(cluster="prod")["taskArns"], timeout=10, interval=0.02, what="RunTask")
    for _ in range(20):
        task = ecs.describe_tasks(cluster="prod", tasks=[task_arn])["tasks"][0]
        if task["lastStatus"] == "STOPPED":
            break
        standin.control("tick")
    done, _ = finish(standin, arn)
    assert caught(json.loads(done["output"]))[0] == "States.TaskFailed"
    stopped = (task["stoppedAt"] - task["createdAt"]).total_seconds()
    learnt = (done["stopDate"] - task["createdAt"]).total_seconds()
    assert stopped < 0.8, f"the task took {stopped:.2f} s to stop: too long for this test to mean anything"
    assert learnt >= 1.0, (stopped, learnt)


# ---------------------------------------------------------------- timeouts


@pytest.mark.parametrize("timeout", [{"TimeoutSeconds": 2}, {"TimeoutSecondsPath": "$.timeout"}])
def test_a_task_past_the_state_timeout_is_states_timeout_and_keeps_running(standin, timeout):
    """TimeoutSeconds and TimeoutSecondsPath end the wait with States.Timeout (a TaskTimedOut
    event). moto does not stop the ECS task: it keeps RUNNING until someone calls StopTask."""
    standin.control("task-behaviours", {"image": "repo/migrate:v2", "behaviour": "hang"})
    td, subnet, sg = setup(standin)
    t0 = time.monotonic()
    out, events = run(standin, migration(td, subnet, sg, **timeout), payload={"timeout": 2})
    assert 2.0 <= time.monotonic() - t0 < 8
    error, _ = caught(out)
    assert error == "States.Timeout"
    assert [e["type"] for e in events if e["type"].startswith("Task") and "State" not in e["type"]][
        -1
    ] == "TaskTimedOut"
    ecs = standin.client("ecs")
    [task_arn] = ecs.list_tasks(cluster="prod")["taskArns"]
    time.sleep(0.5)
    assert ecs.describe_tasks(cluster="prod", tasks=[task_arn])["tasks"][0]["lastStatus"] == "RUNNING"
