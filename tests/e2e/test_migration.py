"""The migration task end to end (P9): a one-off ECS task runs after the revision is registered and
before the service is changed; exit code 0 lets the rollout start, anything else (a non-zero exit,
a task that never starts, one past its timeout) ends MigrationFailed with the service untouched.
Through the real state machines and Lambdas against the stand-in's one-off tasks (ecs_oneoff)."""

from __future__ import annotations

import json

from .harness import REGISTRY, aws_changes, aws_snapshot, digest_of, ecr_push_event

OLD = digest_of("migrate v1")
NEW = digest_of("migrate v2")


def image(digest: str) -> str:
    return f"{REGISTRY}/web@{digest}"


def behave(berth, digest: str, **spec) -> None:
    """How a one-off task of this image ends (the stand-in's /_berth/task-behaviours)."""
    berth.control("task-behaviours", {"image": digest, **spec})


def one_off_tasks(berth) -> list[dict]:
    ecs = berth.client("ecs")
    arns = []
    for status in ("RUNNING", "STOPPED"):
        arns += ecs.list_tasks(cluster="prod", desiredStatus=status)["taskArns"]
    tasks = ecs.describe_tasks(cluster="prod", tasks=arns)["tasks"] if arns else []
    # RunMigration (Step Functions' ecs:runTask.sync) marks the task with its group
    return [t for t in tasks if (t.get("group") or "").startswith("berth-migration/")]


def migration_states(berth, arn: str) -> list[dict]:
    return [
        json.loads(e["stateExitedEventDetails"]["output"])["migrationTask"]
        for e in berth.history(arn)
        if e["type"] == "TaskStateExited"
        and e["stateExitedEventDetails"]["name"] in ("PrepareMigration", "JudgeMigration")
    ]


def deploy(berth, migration: dict) -> str:
    return berth.start_execution({"cluster": "prod", "service": "web", "image": image(NEW), "migration": migration})


def test_a_passing_migration_runs_before_the_rollout_from_the_service_tags(berth):
    # GIVEN a service whose tags ask for a migration command on every push
    svc = berth.make_service("web", image(OLD), tags={"berth:migration-command": "bin/migrate up --verbose"})
    behave(berth, NEW, behaviour="exit", exitCode=0, runTicks=5)
    # WHEN its repository gets a push
    started = berth.deliver_ecr_event(ecr_push_event("web", NEW, "v2"))
    done = berth.wait_execution(started["executionArn"])
    # THEN the deployment succeeds, on the new revision
    assert done["status"] == "SUCCEEDED", done
    assert berth.describe(svc)["taskDefinition"].endswith("task-definition/web:2")
    # AND one migration task ran the new revision with the tag's command, in the service's network
    (task,) = one_off_tasks(berth)
    assert task["taskDefinitionArn"].endswith("task-definition/web:2")
    assert task["overrides"]["containerOverrides"][0] == {"name": "app", "command": ["bin/migrate", "up", "--verbose"]}
    # (the stand-in, as ECS, refuses an awsvpc RunTask without subnets, or with unknown ones)
    assert task["launchType"] == "FARGATE"
    assert task["containers"][0]["exitCode"] == 0
    # AND it had stopped before berth changed the service: the rollout began after it
    ours = [d for d in berth.describe(svc)["deployments"] if d["taskDefinition"].endswith(":2")][0]
    assert task["stoppedAt"] <= ours["createdAt"], (task["stoppedAt"], ours["createdAt"])
    # AND Step Functions ran it (ecs:runTask.sync), and JudgeMigration passed it
    assert task["startedBy"] == "AWS Step Functions", task
    states = migration_states(berth, started["executionArn"])
    assert [s["done"] for s in states] == [False, True], states
    assert states[-1]["status"] == "STOPPED" and states[-1]["taskArn"] == task["taskArn"], states
    run = [
        e
        for e in berth.history(started["executionArn"])
        if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resource"] == "runTask.sync"
    ]
    assert len(run) == 1 and run[0]["taskScheduledEventDetails"]["resourceType"] == "ecs", run


def test_a_failing_migration_refuses_the_deploy_and_leaves_the_service_untouched(berth):
    svc = berth.make_service("web", image(OLD), logs=True)
    behave(berth, NEW, behaviour="exit", exitCode=3)
    before = aws_snapshot(berth, tags=False)
    arn = deploy(berth, {"command": ["bin/migrate", "up"]})
    done = berth.wait_execution(arn)
    assert done["status"] == "FAILED", done
    cause = done.get("cause") or ""
    assert "MigrationFailed" in (done.get("error") or "") + cause, done
    assert "app exited 3" in cause and "EssentialContainerExited" in cause, cause
    (task,) = one_off_tasks(berth)
    task_id = task["taskArn"].rsplit("/", 1)[-1]
    assert f"CloudWatch Logs group /ecs/web, stream web/app/{task_id}" in cause, cause
    assert berth.outcomes(arn)[0]["outcome"] == "NOT_STARTED"
    # nothing but the registered revision (and the execution) is new: the service is untouched
    changes = [
        c
        for c in aws_changes(before, aws_snapshot(berth, tags=False))
        if not c.startswith(("task definition registered", "execution"))
    ]
    assert changes == [], changes
    assert berth.describe(svc)["taskDefinition"] == svc["task_definition"]


def test_a_migration_that_never_starts_or_hangs_fails_with_why(berth):
    berth.make_service("web", image(OLD))
    behave(berth, NEW, behaviour="pull-error")
    done = berth.wait_execution(deploy(berth, {"command": ["migrate"]}))
    assert done["status"] == "FAILED", done
    assert "without running its command" in done["cause"] and "CannotPullContainerError" in done["cause"], done

    berth.reset()
    svc = berth.make_service("web", image(OLD))
    behave(berth, NEW, behaviour="hang")
    done = berth.wait_execution(deploy(berth, {"command": ["migrate"], "timeoutSeconds": 10}))
    assert done["status"] == "FAILED", done
    assert "after 10 s" in done["cause"] and "berth stopped it" in done["cause"], done
    (task,) = one_off_tasks(berth)
    assert task["lastStatus"] in ("STOPPING", "DEPROVISIONING", "STOPPED") or task["desiredStatus"] == "STOPPED"
    assert task["stoppedReason"] == "berth: migration timed out after 10 s"
    assert berth.describe(svc)["taskDefinition"] == svc["task_definition"]


def test_a_misspelt_migration_is_refused_before_anything_runs(berth):
    svc = berth.make_service("web", image(OLD))
    before = aws_snapshot(berth, tags=False)
    done = berth.wait_execution(deploy(berth, {"comand": ["migrate"]}))
    assert done["status"] == "FAILED", done
    assert "InvalidInput" in (done.get("error") or "") + done["cause"] and "comand" in done["cause"], done
    assert one_off_tasks(berth) == []
    changes = [c for c in aws_changes(before, aws_snapshot(berth, tags=False)) if not c.startswith("execution")]
    assert changes == [], changes
    assert berth.describe(svc)["taskDefinition"] == svc["task_definition"]
