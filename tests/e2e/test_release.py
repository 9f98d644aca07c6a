"""Release groups end to end (P9): services of one push tagged with the same `berth:release` ship
together, in waves (`berth:release-wave`), all or nothing: when one fails, the release's later
waves are not started and every service of it already deployed is deployed back to the revision
it ran before. Through the real state machines (NextWave, DeployWave, RollBackRelease) and
Lambdas against the stand-in."""

from __future__ import annotations

from .harness import REGISTRY, digest_of, ecr_push_event

OLD = digest_of("shop v1")
NEW = digest_of("shop v2")


def image(digest: str) -> str:
    return f"{REGISTRY}/shop@{digest}"


def release_tags(wave: int, **extra: str) -> dict:
    return {"berth:repository": "shop", "berth:release": "shop", "berth:release-wave": str(wave), **extra}


def test_a_release_ships_wave_by_wave(berth):
    api = berth.make_service("api", image(OLD), repository="shop", tags=release_tags(1))
    worker = berth.make_service("worker", image(OLD), repository="shop", tags=release_tags(2))
    started = berth.deliver_ecr_event(ecr_push_event("shop", NEW, "v2"))
    done = berth.wait_execution(started["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    for svc in (api, worker):
        assert {d for _, _, d in berth.running_images(svc)} == {NEW}
    # the worker's execution started only after the API's had ended
    sfn = berth.client("stepfunctions")
    children = {
        sfn.describe_execution(executionArn=c)["name"].split("-")[0]: sfn.describe_execution(executionArn=c)
        for c in berth.children(started["executionArn"])
    }
    assert children["worker"]["startDate"] >= children["api"]["stopDate"], children


def test_a_failing_worker_rolls_the_api_back_too(berth):
    # GIVEN the API (wave 1) and a worker (wave 2) whose canary fails on the new image
    api = berth.make_service("api", image(OLD), repository="shop", tags=release_tags(1))
    worker = berth.make_service(
        "worker",
        image(OLD),
        repository="shop",
        tags=release_tags(
            2,
            **{
                "berth:bake-seconds": "60",
                "berth:load-balancer": "app/berth-local/0123456789abcdef",
                "berth:max-5xx-percent": "5",
            },
        ),
    )
    berth.control("images", {"image": NEW, "behaviour": "canary-bad"})
    # WHEN the shared repository gets a push
    started = berth.deliver_ecr_event(ecr_push_event("shop", NEW, "v2"))
    done = berth.wait_execution(started["executionArn"], timeout=300)
    # THEN the release fails, and both services run what they ran before
    assert done["status"] == "FAILED" and done["error"] == "DeploymentRolledBack", done
    for svc in (api, worker):
        s = berth.wait_steady(svc, timeout=90)
        assert s["taskDefinition"] == svc["task_definition"] or {d for _, _, d in berth.running_images(svc)} == {OLD}
        assert {d for _, _, d in berth.running_images(svc)} == {OLD}
    # AND the cause says what happened to each
    cause = done["cause"]
    assert "api" in cause and "release shop failed (worker ROLLED_BACK)" in cause, cause
    assert "worker" in cause and "canary FAIL" in cause, cause
    outcomes = {o["service"]: o["outcome"] for o in berth.outcomes(started["executionArn"])}
    assert outcomes == {"api": "ROLLED_BACK", "worker": "ROLLED_BACK"}, outcomes


def test_a_wave_without_a_release_is_refused_with_nothing_changed(berth):
    svc = berth.make_service("api", image(OLD), repository="shop", tags={"berth:release-wave": "2"})
    started = berth.deliver_ecr_event(ecr_push_event("shop", NEW, "v2"))
    done = berth.wait_execution(started["executionArn"])
    assert done["status"] == "FAILED" and "berth:release" in done["cause"], done
    assert berth.describe(svc)["taskDefinition"] == svc["task_definition"]


def test_a_release_by_request_is_all_or_nothing_too(berth):
    # GIVEN the API and a worker, and a worker image that crashes
    api = berth.make_service("api", image(OLD), repository="shop")
    worker = berth.make_service("worker", image(OLD), repository="shop")
    bad = digest_of("shop worker v2 crashes")
    berth.control("images", {"image": bad, "behaviour": "crashloop"})
    # WHEN one request ships both, the worker after the API
    arn = berth.start_execution(
        {
            "release": {
                "name": "shop",
                "services": [
                    {"cluster": "prod", "service": "api", "image": image(NEW)},
                    {"cluster": "prod", "service": "worker", "image": image(bad), "wave": 2},
                ],
            }
        }
    )
    done = berth.wait_execution(arn, timeout=300)
    # THEN the worker's failure takes the API back too
    assert done["status"] == "FAILED" and done["error"] == "DeploymentRolledBack", done
    outcomes = {o["service"]: o["outcome"] for o in berth.outcomes(arn)}
    assert outcomes == {"api": "ROLLED_BACK", "worker": "ROLLED_BACK"}, outcomes
    for svc in (api, worker):
        berth.wait_steady(svc, timeout=90)
        assert {d for _, _, d in berth.running_images(svc)} == {OLD}


def test_a_misspelt_release_request_changes_nothing(berth):
    svc = berth.make_service("api", image(OLD), repository="shop")
    for request in (
        {"release": {"name": "shop", "servcies": []}},
        {
            "release": {
                "name": "shop",
                "services": [{"cluster": "prod", "service": "api", "image": image(NEW), "wave": 11}],
            }
        },
        {
            "release": {
                "name": "shop",
                "services": [
                    {"cluster": "prod", "service": "api", "image": image(NEW), "wave": 1},
                    {"cluster": "prod", "service": "api", "image": image(NEW)},
                ],
            }
        },
    ):
        done = berth.wait_execution(berth.start_execution(request))
        assert done["status"] == "FAILED" and "release" in done["cause"], done
    assert berth.describe(svc)["taskDefinition"] == svc["task_definition"]
    assert len(berth.task_definition_arns("api")) == 1
