"""EventBridge Scheduler: moto's CRUD and firing a schedule now (schedules.py)."""

from __future__ import annotations

import json

import pytest

from .schedules import fire_schedule

ROLE = "arn:aws:iam::123456789012:role/berth-scheduler"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:start-deployment"


def create(scheduler, name="nightly", target=None, **kw):
    target = target or {
        "Arn": FUNCTION,
        "RoleArn": ROLE,
        "Input": json.dumps(
            {
                "source": "berth.schedule",
                "at": "<aws.scheduler.scheduled-time>",
                "schedule": "<aws.scheduler.schedule-arn>",
                "service": "web",
            }
        ),
    }
    return scheduler.create_schedule(
        Name=name,
        ScheduleExpression=kw.pop("expr", "cron(0 2 * * ? *)"),
        ScheduleExpressionTimezone="Europe/Berlin",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=target,
        **kw,
    )["ScheduleArn"]


def test_moto_keeps_schedules(standin):
    scheduler = standin.client("scheduler")
    arn = create(scheduler)
    assert arn == "arn:aws:scheduler:us-east-1:123456789012:schedule/default/nightly"
    got = scheduler.get_schedule(Name="nightly")
    assert got["ScheduleExpression"] == "cron(0 2 * * ? *)" and got["State"] == "ENABLED"
    assert got["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert got["Target"]["Arn"] == FUNCTION and got["Target"]["RoleArn"] == ROLE
    assert [s["Name"] for s in scheduler.list_schedules()["Schedules"]] == ["nightly"]


def test_firing_invokes_the_target_lambda_through_the_lambda_route_with_context_filled_in(standin):
    create(standin.client("scheduler"))
    standin.control("lambda-invocations", method="DELETE")
    out = fire_schedule(standin.url, "nightly", scheduledTime="2026-12-01T01:00:00Z")
    assert out["status"] == 200 and out["functionError"] is None
    sent = {
        "source": "berth.schedule",
        "at": "2026-12-01T01:00:00Z",
        "schedule": "arn:aws:scheduler:us-east-1:123456789012:schedule/default/nightly",
        "service": "web",
    }
    # The fake runtime (conftest) echoes what it was invoked with, by name.
    assert out["response"] == {"function": "start-deployment", "echo": sent}
    [inv] = standin.control("lambda-invocations", method="GET")["invocations"]
    assert inv["function"] == "start-deployment" and inv["payload"] == sent
    assert inv["invocationType"] == "RequestResponse"
    [fired] = standin.control("schedules/fired", method="GET")["fired"]
    assert fired["name"] == "nightly" and fired["target"] == FUNCTION and json.loads(fired["input"]) == sent


def test_an_asynchronous_firing_as_scheduler_does_it(standin):
    create(standin.client("scheduler"))
    out = fire_schedule(standin.url, "nightly", invocationType="Event")
    assert out["status"] == 202


def test_a_function_error_comes_back_as_lambda_answers_it(standin):
    create(
        standin.client("scheduler"),
        name="fails",
        target={"Arn": FUNCTION.replace("start-deployment", "fails"), "RoleArn": ROLE},
    )
    out = fire_schedule(standin.url, "fails")
    assert out["functionError"] == "Unhandled" and out["response"]["errorType"] == "BerthTestError"
    assert out["input"] == "{}"


def test_a_state_machine_target_starts_an_execution(standin):
    sfn = standin.client("stepfunctions")
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
    sm = sfn.create_state_machine(name="berth-deploy", definition=definition, roleArn=ROLE)["stateMachineArn"]
    create(
        standin.client("scheduler"),
        name="release",
        target={"Arn": sm, "RoleArn": ROLE, "Input": '{"services": ["web"]}'},
    )
    out = fire_schedule(standin.url, "release")
    desc = sfn.describe_execution(executionArn=out["executionArn"])
    assert desc["stateMachineArn"] == sm and json.loads(desc["input"]) == {"services": ["web"]}


def test_schedules_in_a_group_and_disabled_ones(standin):
    scheduler = standin.client("scheduler")
    scheduler.create_schedule_group(Name="berth")
    create(scheduler, name="weekly", GroupName="berth", State="DISABLED")
    with pytest.raises(RuntimeError, match="HTTP 404"):
        fire_schedule(standin.url, "weekly")  # not in the default group
    with pytest.raises(RuntimeError, match="HTTP 409.*DISABLED"):
        fire_schedule(standin.url, "weekly", group="berth")
    assert fire_schedule(standin.url, "weekly", group="berth", force=True)["status"] == 200


def test_unsupported_targets_and_bad_requests_are_refused(standin):
    create(
        standin.client("scheduler"), name="sqs", target={"Arn": "arn:aws:sqs:us-east-1:123456789012:q", "RoleArn": ROLE}
    )
    with pytest.raises(RuntimeError, match="HTTP 400"):
        fire_schedule(standin.url, "sqs")
    with pytest.raises(RuntimeError, match="HTTP 400"):
        fire_schedule(standin.url, "sqs", when="now")
    with pytest.raises(RuntimeError, match="HTTP 404"):
        fire_schedule(standin.url, "missing")


@pytest.mark.parametrize(
    "expr",
    [
        "at(2026-12-01T02:00:00)",
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(1 day)",
        "rate(12 hours)",
        "cron(0 2 * * ? *)",
        "cron(0/15 9-17 ? * MON-FRI *)",
        "cron(0 3 L * ? 2026)",
        "cron(30 1 ? * 6#3 *)",
        "cron(0 0 1,15 JAN,JUL ? *)",
    ],
)
def test_valid_expressions_are_accepted(standin, expr):
    create(standin.client("scheduler"), expr=expr)


@pytest.mark.parametrize(
    "expr",
    [
        "at(2026-12-01 02:00:00)",
        "at(2026-02-30T02:00:00)",
        "at(2026-12-01T02:00)",
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(0 minutes)",
        "rate(5 weeks)",
        "rate(5  minutes)",
        "cron(0 2 * * * *)",
        "cron(0 2 ? * ? *)",
        "cron(0 2 * *)",
        "cron(60 2 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 2 * FOO ? *)",
        "cron(0 2 ? * MON-FUN *)",
        "cron(0  2 * * ? *)",
        "every day",
        "",
    ],
)
def test_invalid_expressions_are_refused_as_scheduler_does(standin, expr):
    from botocore.exceptions import ClientError, ParamValidationError

    with pytest.raises((ClientError, ParamValidationError)) as e:
        create(standin.client("scheduler"), expr=expr)
    if isinstance(e.value, ClientError):
        assert e.value.response["Error"]["Code"] == "ValidationException"
        assert e.value.response["Error"]["Message"].startswith(f"Invalid Schedule Expression {expr}")


def test_time_zone_window_and_group_are_checked(standin):
    from botocore.exceptions import ClientError

    scheduler = standin.client("scheduler")
    target = {"Arn": FUNCTION, "RoleArn": ROLE}
    base = dict(Name="x", ScheduleExpression="rate(1 day)", Target=target)
    cases = [
        (
            dict(base, ScheduleExpressionTimezone="Europe/Berlim", FlexibleTimeWindow={"Mode": "OFF"}),
            "ValidationException",
        ),
        (dict(base, FlexibleTimeWindow={"Mode": "FLEXIBLE"}), "ValidationException"),
        (dict(base, FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 1441}), "ValidationException"),
        (dict(base, FlexibleTimeWindow={"Mode": "OFF"}, GroupName="nope"), "ResourceNotFoundException"),
    ]
    for kw, code in cases:
        with pytest.raises(ClientError) as e:
            scheduler.create_schedule(**kw)
        assert e.value.response["Error"]["Code"] == code, kw
    scheduler.create_schedule(**dict(base, FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}))
    with pytest.raises(ClientError) as e:
        scheduler.update_schedule(**dict(base, ScheduleExpression="rate(1 days)", FlexibleTimeWindow={"Mode": "OFF"}))
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert scheduler.get_schedule(Name="x")["ScheduleExpression"] == "rate(1 day)"
