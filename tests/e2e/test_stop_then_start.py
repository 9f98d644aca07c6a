"""Stop-then-start end to end (P9): for consumers that must never run two versions at once, berth
records the desired count, scales the service to 0, waits until no task may still run, then
starts the new revision at the recorded count; a failure rolls back to the previous revision at
that count. The stand-in records, tick by tick, which task definitions had live tasks in the
service (ecs_oneoff's task history), so "never together" is asserted over every tick."""

from __future__ import annotations

import json

from .harness import REGISTRY, aws_changes, aws_snapshot, digest_of, ecr_push_event

OLD = digest_of("fifo v1")
NEW = digest_of("fifo v2")


def image(digest: str) -> str:
    return f"{REGISTRY}/web@{digest}"


def overlap(berth, a: str, b: str) -> dict:
    return berth.control("task-history/overlap", {"cluster": "prod", "service": "web", "taskDefinitions": [a, b]})


def stops(berth, arn: str) -> list[dict]:
    return [
        json.loads(e["stateExitedEventDetails"]["output"])["stopping"]
        for e in berth.history(arn)
        if e["type"] == "TaskStateExited"
        and e["stateExitedEventDetails"]["name"] in ("RecordDesiredCount", "StopOldTasks")
    ]


def test_old_and_new_tasks_never_run_together_and_the_count_is_restored(berth):
    # GIVEN a FIFO consumer running 3 tasks, tagged for stop-then-start
    svc = berth.make_service("web", image(OLD), desired=3, tags={"berth:stop-then-start": "true"})
    # WHEN a new image is pushed
    started = berth.deliver_ecr_event(ecr_push_event("web", NEW, "v2"))
    done = berth.wait_execution(started["executionArn"])
    # THEN it deploys, at the count it had
    assert done["status"] == "SUCCEEDED", done
    s = berth.describe(svc)
    assert s["taskDefinition"].endswith("task-definition/web:2")
    assert (s["desiredCount"], s["runningCount"]) == (3, 3)
    assert {d for _, _, d in berth.running_images(svc)} == {NEW}
    # AND at no tick did a task of the old revision live beside one of the new
    seen = overlap(berth, "web:1", "web:2")
    assert seen["recordedTicks"] and not seen["overlapped"], seen
    # AND the execution shows the stop: 3 recorded, scaled to 0, waited until none ran
    recorded, *looks = stops(berth, started["executionArn"])
    assert (recorded["desiredCount"], recorded["scaledDown"]) == (3, False), recorded
    assert looks[-1]["scaledDown"] and looks[-1]["drained"] and looks[-1]["running"] == 0, looks
    assert len(looks) >= 2, "the first look found tasks still stopping"


def test_a_failing_new_revision_is_rolled_back_at_the_recorded_count(berth):
    svc = berth.make_service("web", image(OLD), desired=3)
    berth.control("images", {"image": NEW, "behaviour": "crashloop"})
    arn = berth.start_execution({"cluster": "prod", "service": "web", "image": image(NEW), "stopThenStart": {}})
    done = berth.wait_execution(arn, timeout=240)
    assert done["status"] == "FAILED", done
    assert berth.outcomes(arn)[0]["outcome"] == "ROLLED_BACK", berth.outcomes(arn)
    s = berth.wait_steady(svc, timeout=90)
    assert s["taskDefinition"] == svc["task_definition"]
    assert (s["desiredCount"], s["runningCount"]) == (3, 3)
    # the new revision started only once the old tasks had stopped
    assert stops(berth, arn)[-1]["drained"], stops(berth, arn)
    # ECS's circuit breaker put web:1 back by itself: berth's rollback stopped nothing of it
    back = rollback_stops(berth, arn)
    assert back and back[-1]["drained"] and not back[-1]["scaledDown"], back


def rollback_stops(berth, arn: str) -> list[dict]:
    return [
        json.loads(e["stateExitedEventDetails"]["output"])["rollbackStop"]
        for e in berth.history(arn)
        if e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "StopFailedTasks"
    ]


def test_berths_own_rollback_stops_the_new_tasks_before_the_old_revision_starts_again(berth):
    # GIVEN a stop-then-start service with a canary, and an image whose tasks run healthy but answer
    # 5xx: its rollout completes (all of web:2 runs), then the canary rolls it back
    svc = berth.make_service(
        "web",
        image(OLD),
        desired=3,
        tags={
            "berth:stop-then-start": "true",
            "berth:bake-seconds": "60",
            "berth:load-balancer": "app/berth-local/0123456789abcdef",
            "berth:max-5xx-percent": "5",
        },
    )
    berth.control("images", {"image": NEW, "behaviour": "canary-bad"})
    # WHEN it is pushed
    arn = berth.deliver_ecr_event(ecr_push_event("web", NEW, "v2"))["executionArn"]
    done = berth.wait_execution(arn, timeout=240)
    # THEN berth rolls back to web:1 at the recorded count
    assert done["status"] == "FAILED" and "canary FAIL" in done["cause"], done
    assert berth.outcomes(arn)[0]["outcome"] == "ROLLED_BACK", berth.outcomes(arn)
    s = berth.wait_steady(svc, timeout=90)
    assert s["taskDefinition"] == svc["task_definition"]
    assert (s["desiredCount"], s["runningCount"]) == (3, 3)
    # AND it stopped the new revision's tasks first (scaled to 0, waited until none ran) ...
    back = rollback_stops(berth, arn)
    assert back[0]["scaledDown"] and back[-1]["drained"] and back[-1]["desiredCount"] == 3, back
    # ... so at no tick, on the way there or back, did old and new tasks run together
    seen = overlap(berth, "web:1", "web:2")
    assert seen["recordedTicks"] and not seen["overlapped"], seen


def test_a_misspelt_tag_is_refused_with_nothing_changed(berth):
    svc = berth.make_service("web", image(OLD), desired=2, tags={"berth:stop-then-start": "yes"})
    before = aws_snapshot(berth, tags=False)
    started = berth.deliver_ecr_event(ecr_push_event("web", NEW, "v2"))
    done = berth.wait_execution(started["executionArn"])
    assert done["status"] == "FAILED", done
    assert "berth:stop-then-start" in done["cause"] and "InvalidInput" in (done.get("error") or "") + done["cause"], (
        done
    )
    changes = [c for c in aws_changes(before, aws_snapshot(berth, tags=False)) if not c.startswith("execution")]
    assert changes == [], changes
    s = berth.describe(svc)
    assert (s["taskDefinition"], s["desiredCount"]) == (svc["task_definition"], 2)
