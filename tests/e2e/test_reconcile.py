"""The reconciliation sweep end to end: images put in the stand-in's ECR with no push event, the
template's schedule created in its Scheduler and fired as Scheduler fires it, the real `reconcile`
Lambda starting the real state machine.

Guarantees checked: a push whose event never came is deployed, through the execution name its
event would have used (so the late event starts nothing); a service on the newest image starts
nothing; a service running an image pushed after the newest matching one is not downgraded; bad
configuration (interval, tag pattern) is refused loudly, before anything runs.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from .harness import (
    REGISTRY,
    STATE_MACHINE_ARN,
    digest_of,
    ecr_push_event,
    lambda_binary,
    reconcile_schedule,
)

OLD = digest_of("web v1")
NEW = digest_of("web v2")
HOTFIX = digest_of("web hotfix")


def image(repo: str, digest: str) -> str:
    return f"{REGISTRY}/{repo}@{digest}"


def sweep(berth) -> dict:
    """Create the template's schedule (default interval) and fire it; the sweep's answer."""
    assert berth.create_reconcile_schedule() is not None
    fired = berth.fire_reconcile()
    assert fired["status"] == 200 and not fired["functionError"], fired
    print(fired["response"]["summary"])
    return fired["response"]


def push_name(repo: str, digest: str) -> str:
    return f"{repo}-{digest.split(':')[1][:40]}"


def test_a_push_with_no_event_is_deployed_by_the_sweep_under_the_push_s_execution_name(berth):
    # GIVEN web runs v1, and v2 was pushed to ECR but its event never came
    svc = berth.make_service("web", image("web", OLD))
    berth.push_image_silently("web", OLD, "v1")
    time.sleep(1.1)  # moto records imagePushedAt in whole seconds
    berth.push_image_silently("web", NEW, "v2")
    assert berth.executions() == [], "no event, no execution"
    # WHEN the schedule fires
    answer = sweep(berth)
    # THEN the execution a push of v2 starts was started, and it deploys v2
    name = push_name("web", NEW)
    [web] = answer["services"]
    assert (web["outcome"], web["executionName"]) == ("started", name), answer["summary"]
    assert web["detail"].startswith(f"deploying {REGISTRY}/web:v2@{NEW}"), web["detail"]
    assert answer["summary"].splitlines()[1].startswith(f"prod/web (web): started {name}: deploying "), answer[
        "summary"
    ]
    arn = STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:") + f":{name}"
    done = berth.wait_execution(arn)
    assert done["status"] == "SUCCEEDED", done
    assert {d for _, _, d in berth.running_images(svc)} == {NEW}
    # AND the event arriving late starts nothing new
    late = berth.deliver_ecr_event(ecr_push_event("web", NEW, "v2"))
    assert late["duplicate"] and not late["started"], late
    assert late["executionName"] == name
    # AND the next sweep finds the service up to date
    again = berth.fire_reconcile()["response"]
    assert [s["outcome"] for s in again["services"]] == ["up-to-date"], again["summary"]
    assert [e["name"] for e in berth.executions()] == [name]


def test_a_service_on_the_newest_image_starts_nothing(berth):
    berth.make_service("web", image("web", NEW))
    berth.push_image_silently("web", OLD, "v1")
    time.sleep(1.1)
    berth.push_image_silently("web", NEW, "v2")
    answer = sweep(berth)
    [web] = answer["services"]
    assert web["outcome"] == "up-to-date", answer["summary"]
    assert "executionName" not in web
    assert berth.executions() == []


@pytest.fixture
def release_tags_only(berth):
    """The sweep configured as an install with TagPattern=release-* configures it."""
    berth.restart_function("reconcile", {"BERTH_TAG_PATTERN": "release-*"})
    yield berth
    berth.restart_function("reconcile", None)


def test_a_service_running_a_newer_image_than_the_newest_matching_tag_is_not_downgraded(release_tags_only):
    berth = release_tags_only
    # GIVEN release-2 is the newest release-* image, and a hotfix (a tag the rule does not deploy)
    # was pushed after it and deployed by hand
    berth.push_image_silently("web", OLD, "release-2")
    time.sleep(1.1)
    berth.push_image_silently("web", HOTFIX, "hotfix-1")
    svc = berth.make_service("web", image("web", HOTFIX))
    # AND a second service of the same repository still runs an image no longer in ECR
    other = berth.make_service("web-canary", image("web", digest_of("deleted")), repository="web")
    # WHEN the sweep runs
    answer = sweep(berth)
    by_service = {s["service"]: s for s in answer["services"]}
    # THEN it starts nothing, and says why for each
    assert answer["tagPattern"] == "release-*"
    web = by_service["web"]
    assert web["outcome"] == "skipped", answer["summary"]
    assert 'after the newest image matching "release-*"' in web["detail"] and "not downgrading" in web["detail"], web
    canary = by_service["web-canary"]
    assert canary["outcome"] == "skipped" and "not in the repository" in canary["detail"], canary
    assert berth.executions() == []
    assert {d for _, _, d in berth.running_images(svc)} == {HOTFIX}
    assert {d for _, _, d in berth.running_images(other)} == {digest_of("deleted")}


def test_bad_configuration_is_refused_loudly_before_anything_runs(berth, stack):
    # An interval CloudFormation's parameter pattern refuses: the stack is refused, no schedule.
    for bad in ("2.5", "abc", "-5", "15 minutes", ""):
        with pytest.raises(ValueError, match="CloudFormation refuses ReconcileMinutes"):
            reconcile_schedule(bad)
    # Every accepted value gives an expression Scheduler (the stand-in validates as it does) takes;
    # 0 turns the sweep off: no schedule to fire.
    assert berth.create_reconcile_schedule("1")["ScheduleExpression"] == "rate(1 minute)"
    berth.client("scheduler").delete_schedule(Name="berth-reconcile")
    assert berth.create_reconcile_schedule("0") is None
    with pytest.raises(RuntimeError, match="404"):
        berth.fire_reconcile()
    # ... which is why the template writes the singular for 1: Scheduler refuses the plural.
    with pytest.raises(Exception, match="ValidationException"):
        berth.client("scheduler").create_schedule(
            Name="plural",
            ScheduleExpression="rate(1 minutes)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={
                "Arn": "arn:aws:lambda:us-east-1:123456789012:function:reconcile",
                "RoleArn": "arn:aws:iam::123456789012:role/x",
            },
        )
    # A tag pattern EventBridge would refuse fails the function's cold start, naming the variable
    # (Lambda reports Runtime.ExitError with this line), before any sweep runs.
    env = {**stack.function_env("reconcile"), "BERTH_TAG_PATTERN": "release-**"}
    out = subprocess.run([str(lambda_binary(stack.build))], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0, out
    assert (
        'BERTH_TAG_PATTERN="release-**" is not an EventBridge wildcard pattern: consecutive wildcards' in out.stderr
    ), out.stderr


def test_two_services_of_one_repository_are_deployed_by_one_execution(berth):
    # GIVEN web and worker both run the repository web's v1, and v2 was pushed with no event
    web = berth.make_service("web", image("web", OLD))
    worker = berth.make_service("worker", image("web", OLD), repository="web")
    berth.push_image_silently("web", OLD, "v1")
    time.sleep(1.1)
    berth.push_image_silently("web", NEW, "v2")
    # WHEN the sweep runs
    answer = sweep(berth)
    # THEN one execution (the push's) was started, and the second service found it started
    name = push_name("web", NEW)
    assert sorted((s["outcome"], s["executionName"]) for s in answer["services"]) == [
        ("already-started", name),
        ("started", name),
    ], answer["summary"]
    arn = STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:") + f":{name}"
    assert berth.wait_execution(arn)["status"] == "SUCCEEDED"
    # AND it deployed both, as the push would have
    for svc in (web, worker):
        berth.wait_steady(svc)
        assert {d for _, _, d in berth.running_images(svc)} == {NEW}, svc["service"]
    assert [e["name"] for e in berth.executions()] == [name]
