"""Simulated time (clock.py, README "Simulated time"): each wait of moto's interpreter that the
stand-in scales lasts 1/scale of its seconds, and what it must not scale does not move.

Each test measures an execution's wall time at scale 1 and at a larger scale side by side, so a
wait the patch missed (or scaled twice) shows as a ratio, not as a guess about machine speed."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import time

import pytest
import requests

from . import clock
from .conftest import ROOT, Standin, running_standin, wait_for

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


def test_a_lambda_task_timeout_is_wall_time_and_alone_so_is_a_wait_until_a_timestamp(standin):
    # GIVEN a Lambda Task that answers after 0.5 s with TimeoutSeconds 2 (its code runs in wall time,
    # so its timeout is not scaled), and, on a stand-in whose clock is the wall's (no shared clock),
    # a Wait until a wall-clock instant 3-4 s away (whole seconds)
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


# ---------------------------------------------------------------- the stack's one clock


@pytest.fixture(scope="module")
def shared(fake_runtime):
    """A stand-in of its own on a shared clock at scale 20, as an end-to-end stack starts it."""
    stack_clock = clock.StackClock(origin=time.time(), scale=20)
    with running_standin("--lambda-url", fake_runtime, "--time-scale", "20", env=stack_clock.process_env()) as url:
        yield stack_clock, Standin(url)


def test_a_process_on_the_stack_clock_reads_simulated_time_and_keeps_wall_time_sleeps(shared):
    # GIVEN a process started on the stack's clock (scale 20) that reads it, sleeps 0.5 s, reads it again
    stack_clock, _ = shared
    probe = (
        "import time; t = time.time(); m = time.monotonic(); time.sleep(0.5); "
        "print(t, time.time() - t, time.monotonic() - m)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=stack_clock.process_env(), capture_output=True, text=True, check=True
    )
    started, clock_secs, monotonic_secs = map(float, out.stdout.split())
    # THEN it read simulated now (within a simulated second per 50 ms of start-up), its
    # clock ran 20 times as fast as its sleep, and the sleep itself kept its wall-time meaning
    assert abs(started - stack_clock.now()) < 20 * 1.0, (started, stack_clock.now())
    assert 0.45 <= monotonic_secs < 1.0, monotonic_secs
    assert 19 * monotonic_secs <= clock_secs <= 21 * monotonic_secs, (clock_secs, monotonic_secs)


def test_the_stand_in_on_the_stack_clock_stamps_in_simulated_time(shared):
    stack_clock, standin = shared
    # its own reading agrees with the clock's (to a simulated second: 50 ms of wall time)
    reading = standin.control("clock", method="GET")
    assert reading["shared"] and reading["scale"] == 20 and reading["origin"] == stack_clock.origin, reading
    assert abs(reading["now"] - stack_clock.now()) < 1.0, (reading, stack_clock.now())
    # and what it writes carries it: an execution's startDate, a metric datapoint stamped on arrival
    sfn = standin.client("stepfunctions")
    sm = sfn.create_state_machine(
        name="stamps",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    before = stack_clock.now()
    started = sfn.describe_execution(executionArn=sfn.start_execution(stateMachineArn=sm)["executionArn"])["startDate"]
    after = stack_clock.now()
    assert before - 1 <= started.timestamp() <= after + 1, (before, started.timestamp(), after)
    cw = standin.client("cloudwatch")
    cw.put_metric_data(Namespace="T", MetricData=[{"MetricName": "m", "Value": 1.0}])
    got = cw.get_metric_data(
        MetricDataQueries=[
            {"Id": "m", "MetricStat": {"Metric": {"Namespace": "T", "MetricName": "m"}, "Period": 1, "Stat": "Sum"}}
        ],
        StartTime=stack_clock.now_datetime() - datetime.timedelta(seconds=30),
        EndTime=stack_clock.now_datetime() + datetime.timedelta(seconds=30),
    )["MetricDataResults"][0]
    assert got["Values"] == [1.0], got


def test_on_the_stack_clock_a_wait_until_a_timestamp_lasts_its_simulated_seconds(shared):
    # GIVEN a Wait until an instant 40 simulated seconds ahead (as the freeze gate writes its thaw)
    stack_clock, standin = shared
    until = stack_clock.now_datetime() + datetime.timedelta(seconds=40)
    definition = {
        "StartAt": "Until",
        "States": {"Until": {"Type": "Wait", "Timestamp": until.isoformat().replace("+00:00", "Z"), "End": True}},
    }
    done, secs = run(standin, "until", definition, 20)
    # THEN it lasted 2 s of wall time, not 40, and ended at the instant on the stack's clock (the
    # history's dates are in milliseconds)
    assert done["status"] == "SUCCEEDED", done
    assert 1.5 <= secs < 4, secs
    assert done["stopDate"] >= until - datetime.timedelta(milliseconds=1), (done["stopDate"], until)


def test_on_the_stack_clock_the_scale_cannot_change(shared):
    _, standin = shared
    refused = requests.post(f"{standin.url}/_berth/config", json={"time_scale": 1}, timeout=10)
    assert refused.status_code == 400 and "fixed at start-up" in refused.text, refused.text
    assert standin.control("config", method="GET")["time_scale"] == 20
    assert standin.control("config", {"time_scale": 20})["time_scale"] == 20, "its own value is accepted"


def test_a_stand_in_started_off_its_clock_s_scale_refuses_to_start():
    stack_clock = clock.StackClock(origin=time.time(), scale=20)
    out = subprocess.run(
        [sys.executable, "-m", "tests.standin.server", "--port", "0", "--time-scale", "10"],
        env=stack_clock.process_env(),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert out.returncode == 2 and "fixed at start-up" in out.stderr, out.stderr
