"""berth when AWS misbehaves: ECS throttling most calls, and the Lambda service going away mid-rollout.

The real state machine, Lambdas and stand-in; the failures are the stand-in's (tests/standin/README.md:
`/_berth/throttle`, the Lambda route's timeouts and its `Lambda.ServiceException` when the runtime
emulator is down). Whatever happens, an execution must end, and end saying what the service runs.
Each scenario prints its outcome and wall time.
"""

from __future__ import annotations

import json
import time

from .harness import REGISTRY, digest_of, ecr_push_event, wait_until

OLD = digest_of("web v1")
NEW = digest_of("web v2")
BERTH_ERRORS = ("DeploymentRolledBack", "RollbackFailed", "DeploymentNotStarted")


def image(repo: str, digest: str) -> str:
    return f"{REGISTRY}/{repo}@{digest}"


def push(berth, repo: str, digest: str, tag: str = "latest") -> str:
    started = berth.deliver_ecr_event(ecr_push_event(repo, digest, tag))
    assert started and started["started"], started
    return started["executionArn"]


def history(berth, arn: str) -> list[dict]:
    return berth.history(arn)


def failures(events: list[dict]) -> list[tuple[str | None, str, str]]:
    """(state, error, cause) of every failed Lambda attempt, in order (state None: before any)."""
    state, out = None, []
    for e in events:
        if e["type"].endswith("StateEntered"):
            state = e["stateEnteredEventDetails"]["name"]
        d = (
            e.get("lambdaFunctionFailedEventDetails")
            or e.get("taskFailedEventDetails")
            or e.get("lambdaFunctionTimedOutEventDetails")
        )
        if d:
            out.append((state, d.get("error", ""), d.get("cause", "")))
    return out


def exited(events: list[dict], state: str) -> bool:
    return any(e["type"].endswith("StateExited") and e["stateExitedEventDetails"]["name"] == state for e in events)


def report(name: str, done: dict, took: float, fails: list[tuple[str | None, str, str]], extra: str = "") -> None:
    counts: dict[tuple[str | None, str], int] = {}
    for state, error, _ in fails:
        counts[(state, error)] = counts.get((state, error), 0) + 1
    print(f"\n[{name}] {done['status']} in {took:.0f}s {done.get('error', '')}: {done.get('cause', '')}")
    for (state, error), n in counts.items():
        print(f"[{name}]   {n:3d} x {state}: {error}")
    if extra:
        print(f"[{name}]   {extra}")


def assert_ends_saying_what_runs(berth, svc: dict, done: dict) -> str:
    """SUCCEEDED with the new revision running, or FAILED with a berth error whose cause names the
    revision that runs now, the service steady on it (the previous or the new one). Returns it."""
    steady = berth.wait_steady(svc, timeout=120)
    running = steady["taskDefinition"].split("/")[-1]
    digests = {d for _, _, d in berth.running_images(svc)}
    assert running in ("web:1", "web:2"), running
    assert digests == ({OLD} if running == "web:1" else {NEW}), (running, digests)
    if done["status"] == "SUCCEEDED":
        assert running == "web:2"
        return running
    assert done["status"] == "FAILED", done
    assert done.get("error") in BERTH_ERRORS, f"the execution did not end through berth's summary: {done}"
    cause = done.get("cause") or ""
    if "not started, nothing changed" in cause:
        assert running == "web:1", cause
    else:
        assert f"now running {running}" in cause, f"the cause does not say the service runs {running}: {cause}"
    return running


THROTTLE = {"ecs:*": 0.6, "seed": 20261118}


def run_throttled(berth, name: str, svc: dict, arn: str, t0: float) -> None:
    """Wait for the throttled execution, lift the throttling, check and report how it ended."""
    try:
        done = berth.wait_execution(arn, timeout=900)
        took = time.monotonic() - t0
        calls = berth.control("throttle", method="GET")["calls"]
    finally:
        berth.control("throttle", method="DELETE")
    fails = failures(history(berth, arn))
    ecs_calls = {k: v for k, v in calls.items() if k.startswith("ecs:")}
    seen = sum(v["calls"] for v in ecs_calls.values())
    throttled = sum(v["throttled"] for v in ecs_calls.values())
    timeouts = berth.control("lambda-timeouts", method="GET")["timedOut"]
    report(
        name,
        done,
        took,
        fails,
        f"ECS calls {seen}, throttled {throttled} ({100 * throttled / max(seen, 1):.0f}%); "
        f"Lambda timeouts {timeouts}; {json.dumps(ecs_calls)}",
    )
    assert throttled > 0, ecs_calls
    # No state was killed by its Lambda's timeout (each handler answers within its budget) ...
    assert not [f for f in fails if f[1] in ("Sandbox.Timedout", "States.Timeout")], fails
    # ... and whatever failed was named by berth or by Lambda, never an unnamed "Exception".
    assert not [f for f in fails if f[1] in ("Exception", "States.TaskFailed")], fails
    assert_ends_saying_what_runs(berth, svc, done)


def test_a_60_percent_of_ecs_calls_throttled_during_a_rolling_deploy_ends_cleanly(berth):
    svc = berth.make_service("web", image("web", OLD))
    berth.control("throttle", method="DELETE")  # count from here
    berth.control("throttle", THROTTLE)
    t0 = time.monotonic()
    run_throttled(berth, "throttled 60%", svc, push(berth, "web", NEW, "v2"), t0)


def test_a_60_percent_of_ecs_calls_throttled_from_the_rollout_on_ends_cleanly(berth):
    """The same, once the plan is made: the rollout, its checks and any rollback under throttling."""
    svc = berth.make_service("web", image("web", OLD))
    berth.control("images", {"image": NEW, "behaviour": "slow", "slow_ticks": 50})
    t0 = time.monotonic()
    arn = push(berth, "web", NEW, "v2")
    wait_until(lambda: exited(history(berth, arn), "Plan"), 120, "the plan")
    berth.control("throttle", method="DELETE")
    berth.control("throttle", THROTTLE)
    run_throttled(berth, "throttled 60% after Plan", svc, arn, t0)


def start_slow_rollout(berth, slow_ticks: int = 120, tags: dict | None = None) -> tuple[dict, str]:
    """A service (with `tags`), and a push of a good image whose tasks take slow_ticks to start
    (12 s at the harness's 0.1 s tick), returned once UpdateService started the rollout."""
    svc = berth.make_service("web", image("web", OLD), tags=tags)
    berth.control("images", {"image": NEW, "behaviour": "slow", "slow_ticks": slow_ticks})
    arn = push(berth, "web", NEW, "v2")
    wait_until(lambda: exited(history(berth, arn), "UpdateService"), 120, "the rollout to start")
    return svc, arn


def test_b_the_lambda_runtime_killed_mid_rollout_and_back_after_seconds(berth):
    """The runtime is gone while ECS finishes the rollout: what wakes the watch or what it invokes
    fails and is retried (EventBridge's retry policy, the state's Retry), and the verdict comes."""
    svc, arn = start_slow_rollout(berth, slow_ticks=40)
    t0 = time.monotonic()
    berth.stop_lambda_runtime()
    try:
        berth.sleep(8)  # 8 simulated seconds: the retries that cover the outage are simulated too
    finally:
        berth.start_lambda_runtime()
    done = berth.wait_execution(arn, timeout=600)
    took = time.monotonic() - t0
    fails = failures(history(berth, arn))
    report("runtime killed for 8 s", done, took, fails)
    errors = {error for _, error, _ in fails}
    assert not errors & {"Exception", "States.TaskFailed", "Sandbox.Timedout"}, fails
    assert done["status"] == "SUCCEEDED", done
    # whichever call met the outage (an ECS event's delivery, retried as EventBridge does; the
    # watch's own check, retried by its state; or none, if ECS finished after it), the verdict came
    # and it is the rollout's
    assert_ends_saying_what_runs(berth, svc, done)


def test_b_the_lambda_runtime_killed_mid_rollout_and_back_only_after_the_execution_failed(berth):
    # A 30 s rollout deadline (the default is 120 s): the watch's looks end at the deadline, which
    # berth's Lambdas reckon on their own (wall) clock; the assertions need only that it passes.
    svc, arn = start_slow_rollout(berth, tags={"berth:timeout-seconds": "30"})
    t0 = time.monotonic()
    berth.stop_lambda_runtime()
    try:
        # Every retry (Lambda.* errors: 5 per state, 1 s doubling to 16 s, about 31 s a state)
        # fails: the execution must still end, not hang.
        done = berth.wait_execution(arn, timeout=400)
        took = time.monotonic() - t0
    finally:
        berth.start_lambda_runtime()
    events = history(berth, arn)
    fails = failures(events)
    steady = berth.wait_steady(svc, timeout=120)
    report(
        "runtime gone for good",
        done,
        took,
        fails,
        f"afterwards ECS finished the rollout by itself: the service runs {steady['taskDefinition'].split('/')[-1]}",
    )
    assert done["status"] == "FAILED", done
    assert {error for _, error, _ in fails} == {"Lambda.ServiceException"}, fails
    assert done["error"] == "Lambda.ServiceException", done
    assert "ServiceException" in done["cause"], done
    # Even with no Lambda at all, the cause says what the service ran when the execution ended:
    # the state machine read it from ECS itself (ReadWhatRunsNow, an aws-sdk task).
    assert "What each service runs now, read from ECS" in done["cause"], done
    assert "prod/web (ROLLBACK_FAILED)" in done["cause"], done
    assert "task-definition/web:" in done["cause"] and "PRIMARY" in done["cause"], done
    states = [state for state, _, _ in fails]
    assert "Summarize" in states and "Rollback" in states, states
    # The rollout was left running (berth could not act): its Map result says ROLLBACK_FAILED.
    results = [
        json.loads(e["stateExitedEventDetails"]["output"])
        for e in events
        if e["type"].endswith("StateExited") and e["stateExitedEventDetails"]["name"] == "RollbackFailed"
    ]
    assert results and results[0]["outcome"] == "ROLLBACK_FAILED", results


def entered(events: list[dict], state: str) -> int:
    return sum(
        1 for e in events if e["type"].endswith("StateEntered") and e["stateEnteredEventDetails"]["name"] == state
    )


def test_c_a_check_that_cannot_be_made_mid_rollout_is_made_again_before_the_deadline(berth):
    """check-stability (and wake-rollout, which runs the same check on ECS's events) cannot reach ECS
    for a while (`AwsUnavailable`): the watch looks again (RolloutUnanswered, compared with the
    rollout's deadline in moto's interpreter) instead of rolling back, and once the check can be
    made the completed rollout is DEPLOYED."""
    svc, arn = start_slow_rollout(berth, slow_ticks=20)
    refused = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}  # nothing listens: every ECS call fails at once
    berth.restart_function("check-stability", refused)
    berth.restart_function("wake-rollout", refused)
    t0 = time.monotonic()
    try:
        wait_until(
            lambda: entered(history(berth, arn), "WaitToLookAgain") >= 1,
            180,
            "the watch to look again after checks it could not make",
        )
    finally:
        berth.restart_function("check-stability")
        berth.restart_function("wake-rollout")
    done = berth.wait_execution(arn, timeout=300)
    took = time.monotonic() - t0
    events = history(berth, arn)
    fails = failures(events)
    report("checks unmade for a while", done, took, fails)
    assert done["status"] == "SUCCEEDED", done
    assert entered(events, "Rollback") == 0
    assert {error for state, error, _ in fails if state == "WatchRollout"} == {"AwsUnavailable"}, fails
    assert entered(events, "RolloutUnwatched") == 0
    assert_ends_saying_what_runs(berth, svc, done)


def test_c_a_function_serves_invocations_side_by_side_as_lambda_does(berth):
    """The harness runs `instances` processes per function (Lambda's concurrent execution
    environments): two invocations that each wait on an ECS endpoint that never answers run at
    the same time, not one behind the other (whose queueing would count against its timeout)."""
    assert berth.instances >= 2, berth.instances
    import socket
    import threading

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    held: list = []

    def hold() -> None:
        for _ in range(16):
            held.append(silent.accept())

    threading.Thread(target=hold, daemon=True).start()
    berth.restart_function("check-stability", {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{silent.getsockname()[1]}"})
    lam = berth.client("lambda")
    payload = json.dumps(
        {
            "cluster": "prod",
            "service": "web",
            "rollout": {
                "ecsDeploymentId": "ecs-svc/1",
                "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2",
                "startedAt": "2026-11-30T12:00:00Z",
                "deadline": "2030-01-01T00:00:00Z",
                "desiredCount": 2,
            },
        }
    )
    took: list[float] = []

    def invoke() -> None:
        t = time.monotonic()
        out = lam.invoke(FunctionName="check-stability", Payload=payload)
        assert out.get("FunctionError") == "Unhandled" and b"AwsUnavailable" in out["Payload"].read()
        took.append(time.monotonic() - t)

    try:
        calls = [threading.Thread(target=invoke) for _ in range(2)]
        for c in calls:
            c.start()
        for c in calls:
            c.join()
    finally:
        berth.restart_function("check-stability")
        silent.close()
    print(f"\n[side by side] two invocations took {took[0]:.1f} s and {took[1]:.1f} s")
    assert len(took) == 2, took
    # one behind the other, the second would take twice the first
    assert max(took) < 1.5 * min(took), took
