"""Simulated time (clock.py, README "Simulated time"): each wait of moto's interpreter that the
stand-in scales lasts 1/scale of its seconds, and what it must not scale does not move.

Each test measures an execution's wall time at scale 1 and at a larger scale side by side, so a
wait the patch missed (or scaled twice) shows as a ratio, not as a guess about machine speed."""

from __future__ import annotations

import datetime
import json
import time

import requests

from .conftest import wait_for

ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"


def run(standin, name: str, definition: dict, scale: float, timeout: float = 60) -> tuple[dict, float]:
    """Run the definition once at `scale`; returns the finished execution and its wall seconds."""
    standin.control("config", {"time_scale": scale})
    sfn = standin.client("stepfunctions")
    sm = sfn.create_state_machine(
        name=f"{name}-{str(scale).replace('.', '_')}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    t0 = time.monotonic()
    ex = sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
    done = wait_for(
        lambda: (lambda d: d if d["status"] != "RUNNING" else None)(sfn.describe_execution(executionArn=ex)),
        timeout=timeout,
        interval=0.02,
        what="execution",
    )
    return done, time.monotonic() - t0


def test_a_wait_of_seconds_and_of_seconds_path_lasts_its_simulated_seconds(standin):
    # GIVEN a Wait of 2 s and a Wait whose SecondsPath reads 2 s
    definition = {
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Result": 2, "ResultPath": "$.poll", "Next": "Fixed"},
            "Fixed": {"Type": "Wait", "Seconds": 2, "Next": "FromPath"},
            "FromPath": {"Type": "Wait", "SecondsPath": "$.poll", "End": True},
        },
    }
    # WHEN it runs at scale 1 and at scale 20
    real, real_secs = run(standin, "wait", definition, 1)
    fast, fast_secs = run(standin, "wait", definition, 20)
    # THEN both succeed; 4 simulated seconds take 4 s of wall time, then 0.2 s
    assert real["status"] == fast["status"] == "SUCCEEDED"
    assert 3.9 <= real_secs < 6, real_secs
    assert fast_secs < 1.5, fast_secs


def test_a_retry_interval_lasts_its_simulated_seconds(standin):
    # GIVEN a Task that always fails, retried twice: 2 s then 4 s (IntervalSeconds 2, BackoffRate 2)
    definition = {
        "StartAt": "Fails",
        "States": {
            "Fails": {
                "Type": "Task",
                "Resource": ARN.format("fails"),
                "Retry": [
                    {"ErrorEquals": ["BerthTestError"], "IntervalSeconds": 2, "BackoffRate": 2, "MaxAttempts": 2}
                ],
                "End": True,
            }
        },
    }
    # WHEN it runs at scale 1 and at scale 20
    real, real_secs = run(standin, "retry", definition, 1)
    fast, fast_secs = run(standin, "retry", definition, 20)
    # THEN both fail after the same three attempts; the 6 s of backoff take 6 s, then 0.3 s
    assert real["status"] == fast["status"] == "FAILED"
    called = [i["function"] for i in standin.control("lambda-invocations", method="GET")["invocations"]]
    assert called == ["fails"] * 6
    assert 5.9 <= real_secs < 8, real_secs
    assert fast_secs < 2, fast_secs


def test_a_waiting_task_times_out_at_its_simulated_seconds(standin):
    # GIVEN a callback Task nobody answers, TimeoutSeconds 3
    definition = {
        "StartAt": "Await",
        "States": {
            "Await": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": ARN.format("echo"), "Payload": {"token.$": "$$.Task.Token"}},
                "TimeoutSeconds": 3,
                "End": True,
            }
        },
    }
    # WHEN it runs at scale 1 and at scale 20
    real, real_secs = run(standin, "await", definition, 1)
    fast, fast_secs = run(standin, "await", definition, 20)
    # THEN both time out (States.Timeout), after 3 s of wall time, then 0.15 s
    assert real["status"] == fast["status"] == "FAILED"
    assert real.get("error") == fast.get("error") == "States.Timeout", (real, fast)
    assert 2.9 <= real_secs < 5, real_secs
    assert fast_secs < 1.5, fast_secs


def test_a_lambda_task_timeout_and_a_wait_until_a_timestamp_are_wall_time(standin):
    # GIVEN a Lambda Task that answers after 1.5 s with TimeoutSeconds 1 (its code runs in wall time,
    # so its timeout is not scaled), and a Wait until a wall-clock instant 3-4 s away (whole seconds)
    until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=4)
    definition = {
        "StartAt": "Sleeps",
        "States": {
            "Sleeps": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": ARN.format("sleeps"), "Payload": {"seconds": 0.5}},
                "TimeoutSeconds": 2,
                "Next": "Until",
            },
            "Until": {"Type": "Wait", "Timestamp": until.strftime("%Y-%m-%dT%H:%M:%SZ"), "End": True},
        },
    }
    # WHEN it runs at scale 100
    done, secs = run(standin, "wall", definition, 100)
    # THEN the Lambda's 0.5 s fit its 2 s (a scaled 0.02 s timeout would have failed it), and the
    # Wait lasted until the instant
    assert done["status"] == "SUCCEEDED", done
    assert secs >= 2.5, secs


def test_the_scale_is_refused_out_of_range_and_a_reset_restores_the_start_up_scale(standin):
    for bad in (0, -1, 1001, "fast"):
        refused = requests.post(f"{standin.url}/_berth/config", json={"time_scale": bad}, timeout=10)
        assert refused.status_code == 400 and "time_scale" in refused.text, (bad, refused.text)
        assert standin.control("config", method="GET")["time_scale"] == 1
    assert standin.control("config", {"time_scale": 7})["time_scale"] == 7
    standin.control("reset")
    assert standin.control("config", method="GET")["time_scale"] == 1


def test_a_misspelt_setting_is_refused_and_changes_nothing(standin):
    def settings():
        return {k: v for k, v in standin.control("config", method="GET").items() if k != "ticks"}

    before = settings()
    refused = requests.post(f"{standin.url}/_berth/config", json={"tick_seconds": 0.5, "time_scael": 10}, timeout=10)
    assert refused.status_code == 400 and "time_scael" in refused.text, refused.text
    assert settings() == before
