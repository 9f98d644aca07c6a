"""Lambda Invoke route (to a cargo-lambda-shaped upstream) and moto's Step Functions interpreter
calling back into it through MOTO_PORT: error shapes, template timeouts (Sandbox.Timedout), an
unreachable runtime (500 ServiceException -> Lambda.ServiceException), payloads that are not JSON."""

from __future__ import annotations

import datetime
import json
import re
import threading
import time

import boto3
import pytest
from botocore.config import Config

from .conftest import REGION, wait_for

ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"


def test_invoke_success_by_name_and_arn(standin):
    lam = standin.client("lambda")
    for name in ("plan-deployment", ARN.format("plan-deployment"), ARN.format("plan-deployment") + ":$LATEST"):
        out = lam.invoke(FunctionName=name, Payload=json.dumps({"a": 1}))
        assert out["StatusCode"] == 200 and "FunctionError" not in out
        assert json.loads(out["Payload"].read()) == {"function": "plan-deployment", "echo": {"a": 1}}


def test_handler_error_becomes_200_with_function_error(standin):
    lam = standin.client("lambda")
    out = lam.invoke(FunctionName=ARN.format("fails"), Payload=b"{}")
    assert out["StatusCode"] == 200
    assert out["FunctionError"] == "Unhandled"
    assert json.loads(out["Payload"].read()) == {"errorType": "BerthTestError", "errorMessage": "boom"}
    inv = standin.control("lambda-invocations", method="GET")["invocations"]
    assert inv[-1]["function"] == "fails" and inv[-1]["functionError"] == "Unhandled"


def test_unknown_function_is_resource_not_found(standin):
    lam = standin.client("lambda")
    try:
        lam.invoke(FunctionName="missing", Payload=b"{}")
        raise AssertionError("expected an error")
    except lam.exceptions.ResourceNotFoundException:
        pass


def test_stub_overrides_upstream(standin):
    standin.control("lambda-stubs", {"name": "check-stability", "result": {"status": "STABLE"}})
    standin.control("lambda-stubs", {"name": "rollback", "error": {"errorType": "RollbackFailed", "errorMessage": "x"}})
    lam = standin.client("lambda")
    assert json.loads(lam.invoke(FunctionName="check-stability")["Payload"].read()) == {"status": "STABLE"}
    assert lam.invoke(FunctionName="rollback")["FunctionError"] == "Unhandled"


def test_step_functions_interpreter_reaches_lambda_route(standin):
    """moto's ASL interpreter invokes Lambda at http://localhost:$MOTO_PORT, i.e. this front."""
    sfn = standin.client("stepfunctions")
    definition = {
        "StartAt": "Plan",
        "States": {
            "Plan": {
                "Type": "Task",
                "Resource": ARN.format("plan-deployment"),
                "ResultPath": "$.plan",
                "Next": "Invoke",
            },
            "Invoke": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": ARN.format("fails"), "Payload.$": "$"},
                "Catch": [{"ErrorEquals": ["BerthTestError"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    sm = sfn.create_state_machine(
        name="t", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=sm, name="run-1", input=json.dumps({"x": 1}))["executionArn"]
    done = wait_for(
        lambda: (lambda d: d if d["status"] != "RUNNING" else None)(sfn.describe_execution(executionArn=ex)),
        timeout=30,
        what="execution",
    )
    assert done["status"] == "SUCCEEDED", done
    out = json.loads(done["output"])
    assert out["plan"] == {"function": "plan-deployment", "echo": {"x": 1}}
    assert out["error"]["Error"] == "BerthTestError"
    called = [i["function"] for i in standin.control("lambda-invocations", method="GET")["invocations"]]
    assert called == ["plan-deployment", "fails"]


# ---------------------------------------------------------------- timeouts, unreachable runtime, bad payloads

TIMED_OUT = re.compile(r"^RequestId: ([0-9a-f-]{36}) Error: Task timed out after (\d+\.\d\d) seconds$")


def lambda_client(standin, retries: int = 1):
    return boto3.client(
        "lambda",
        endpoint_url=standin.url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": retries, "mode": "standard"}, read_timeout=30),
    )


def run_state_machine(standin, name: str, definition: dict, timeout: float = 60) -> tuple[dict, list[dict]]:
    sfn = standin.client("stepfunctions")
    sm = sfn.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=sm, name=f"{name}-run", input="{}")["executionArn"]
    done = wait_for(
        lambda: (lambda d: d if d["status"] != "RUNNING" else None)(sfn.describe_execution(executionArn=ex)),
        timeout=timeout,
        what="execution",
    )
    return done, sfn.get_execution_history(executionArn=ex)["events"]


def test_template_timeouts_are_known_under_every_name_the_function_is_invoked_by(standin):
    view = standin.control("lambda-timeouts", method="GET")
    assert view["template"].endswith("template.yaml")
    t = view["timeouts"]
    # Globals.Function.Timeout 60; CodeDeployHookFunction 300 and EcsHookFunction 120 override it
    assert t["plan-deployment"] == t["PlanDeploymentFunction"] == t["check-stability"] == t["summarize"] == 60
    assert t["codedeploy-hook"] == t["CodeDeployHookFunction"] == 300
    assert t["ecs-hook"] == 120
    assert view["patterns"] == {"CodeDeployHook_*": 300}
    # functions are known by BERTH_STATE; the Binary they all build (berth-lambda) names none of them
    assert "berth-lambda" not in t
    scaled = standin.control("lambda-timeouts", {"scale": 0.05})
    assert scaled["effective"]["check-stability"] == 3.0 and scaled["effective"]["codedeploy-hook"] == 15.0
    standin.control("reset")
    assert standin.control("lambda-timeouts", method="GET")["scale"] == 1.0


def test_past_its_timeout_an_invocation_fails_as_lambda_does_with_sandbox_timedout(standin):
    standin.control("lambda-timeouts", {"timeouts": {"sleeps": 10}, "scale": 0.05})  # 0.5 s
    lam = lambda_client(standin)
    lam.invoke(FunctionName="sleeps", Payload=b'{"seconds": 0}')  # warm (see the cold-start test)
    t0 = time.monotonic()
    out = lam.invoke(FunctionName="sleeps", Payload=b'{"seconds": 2}')
    took = time.monotonic() - t0
    assert out["StatusCode"] == 200 and out["FunctionError"] == "Unhandled"
    body = json.loads(out["Payload"].read())
    assert body["errorType"] == "Sandbox.Timedout"
    m = TIMED_OUT.match(body["errorMessage"])
    assert m and m.group(2) == "0.50", body
    assert m.group(1) == out["ResponseMetadata"]["RequestId"]
    assert 0.45 <= took < 1.5, took
    view = standin.control("lambda-timeouts", method="GET")
    assert view["timedOut"] == 1
    inv = standin.control("lambda-invocations", method="GET")["invocations"][-1]
    assert inv["timedOut"] and inv["timeoutSeconds"] == 0.5
    # a call within the limit is untouched
    time.sleep(2)  # let the emulator's abandoned invocation finish
    lam.invoke(FunctionName="sleeps", Payload=b'{"seconds": 0}')  # cold again after a timeout
    assert "FunctionError" not in lam.invoke(FunctionName="sleeps", Payload=b'{"seconds": 0.1}')


def test_the_first_invocation_after_the_runtime_started_is_not_timed_as_lambda_init_is_not(standin):
    standin.control("lambda-timeouts", {"timeouts": {"sleeps": 0.3}, "cold": True})
    lam = lambda_client(standin)
    assert "FunctionError" not in lam.invoke(FunctionName="sleeps", Payload=b'{"seconds": 0.6}')
    assert (
        json.loads(lam.invoke(FunctionName="sleeps", Payload=b'{"seconds": 0.6}')["Payload"].read())["errorType"]
        == "Sandbox.Timedout"
    )
    # and tests can time cold starts too
    standin.control("lambda-timeouts", {"untimedColdStarts": False, "cold": True})
    assert lam.invoke(FunctionName="sleeps", Payload=b'{"seconds": 0.6}')["FunctionError"] == "Unhandled"


def test_a_stub_slower_than_its_timeout_times_out(standin):
    standin.control("lambda-stubs", {"name": "check-stability", "result": {"ok": 1}, "delaySeconds": 1})
    standin.control("lambda-timeouts", {"scale": 0.005})  # 60 s -> 0.3 s
    out = lambda_client(standin).invoke(FunctionName="check-stability", Payload=b"{}")
    assert json.loads(out["Payload"].read())["errorMessage"].endswith("Task timed out after 0.30 seconds")


def test_step_functions_names_a_lambda_timeout_sandbox_timedout(standin):
    standin.control("lambda-timeouts", {"timeouts": {"sleeps": 0.5}})
    lambda_client(standin).invoke(FunctionName="sleeps", Payload=b'{"seconds": 0}')
    definition = {
        "StartAt": "Sleep",
        "States": {
            "Sleep": {
                "Type": "Task",
                "Resource": ARN.format("sleeps"),
                "Parameters": {"seconds": 3},
                "Catch": [{"ErrorEquals": ["Sandbox.Timedout"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    done, events = run_state_machine(standin, "timeouts", definition)
    assert done["status"] == "SUCCEEDED", done
    failed = [e["lambdaFunctionFailedEventDetails"] for e in events if e["type"] == "LambdaFunctionFailed"]
    assert failed[0]["error"] == "Sandbox.Timedout"
    assert "Task timed out after 0.50 seconds" in json.loads(failed[0]["cause"])["errorMessage"]
    time.sleep(3)


def test_an_unreachable_runtime_is_a_500_service_exception(standin, runtime_down):
    lam = lambda_client(standin)
    with pytest.raises(lam.exceptions.ServiceException) as e:
        lam.invoke(FunctionName="plan-deployment", Payload=b"{}")
    r = e.value.response
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert r["Type"] == "Service" and "refused" in r["Message"]
    assert standin.control("lambda-timeouts", method="GET")["warm"] == [], "every function is cold again"


def test_a_runtime_that_drops_the_call_is_a_500_service_exception(standin):
    lam = lambda_client(standin)
    with pytest.raises(lam.exceptions.ServiceException) as e:
        lam.invoke(FunctionName="drops", Payload=b"{}")
    assert "mid-invocation" in e.value.response["Message"]


def test_step_functions_names_an_unreachable_lambda_lambda_service_exception(standin, runtime_down):
    definition = {
        "StartAt": "Plan",
        "States": {
            "Plan": {
                "Type": "Task",
                "Resource": ARN.format("plan-deployment"),
                "Catch": [{"ErrorEquals": ["Lambda.ServiceException"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    done, events = run_state_machine(standin, "unreachable", definition)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"])["error"]["Error"] == "Lambda.ServiceException"
    failed = [e["lambdaFunctionFailedEventDetails"] for e in events if e["type"] == "LambdaFunctionFailed"]
    assert failed[0]["error"] == "Lambda.ServiceException"
    assert "Service: AWSLambda; Status Code: 500; Error Code: ServiceException" in failed[0]["cause"]


def test_step_functions_retries_through_an_outage_of_the_runtime(standin, runtime_down):
    threading.Timer(2.0, runtime_down.start).start()
    definition = {
        "StartAt": "Plan",
        "States": {
            "Plan": {
                "Type": "Task",
                "Resource": ARN.format("plan-deployment"),
                "Retry": [
                    {
                        "ErrorEquals": ["Lambda.ServiceException"],
                        "IntervalSeconds": 1,
                        "BackoffRate": 1.5,
                        "MaxAttempts": 6,
                    }
                ],
                "End": True,
            }
        },
    }
    done, events = run_state_machine(standin, "outage", definition)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"function": "plan-deployment", "echo": {}}
    errors = [e["lambdaFunctionFailedEventDetails"]["error"] for e in events if e["type"] == "LambdaFunctionFailed"]
    assert errors and set(errors) == {"Lambda.ServiceException"}


def test_a_payload_that_is_not_json_is_refused_as_invalid_request_content(standin):
    lam = lambda_client(standin)
    with pytest.raises(lam.exceptions.InvalidRequestContentException) as e:
        lam.invoke(FunctionName="plan-deployment", Payload=b"{not json")
    r = e.value.response
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert r["message"].startswith("Could not parse request body into json: Could not parse payload into json")
    assert standin.control("lambda-invocations", method="GET")["invocations"][-1]["status"] == 400
    # an empty payload is fine (Lambda passes {} / nothing)
    assert lam.invoke(FunctionName="plan-deployment")["StatusCode"] == 200


def test_aws_sdk_tasks_take_and_answer_pascal_case_as_aws_does(standin):
    """berth's ReadWhatRunsNow reads ECS with `aws-sdk:ecs:describeServices`, written for AWS:
    PascalCase parameters in, PascalCase fields out (sfn_patch)."""
    ecs = standin.client("ecs")
    ecs.create_cluster(clusterName="prod")
    definition = {
        "StartAt": "Describe",
        "States": {
            "Describe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:ecs:describeClusters",
                "Parameters": {"Clusters": ["prod"], "Include": ["SETTINGS"]},
                "ResultSelector": {"names.$": "$.Clusters[*].ClusterName", "statuses.$": "$.Clusters[*].Status"},
                "End": True,
            }
        },
    }
    done, _ = run_state_machine(standin, "sdk-casing", definition)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"names": ["prod"], "statuses": ["ACTIVE"]}


def test_a_child_execution_runs_and_answers_as_aws_does(standin):
    """berth's DeployService starts each service's execution with `states:startExecution.sync:2`,
    written for AWS: PascalCase parameters, the child's `Output` as JSON, its ARN in TaskSubmitted
    (sfn_patch)."""
    sfn = standin.client("stepfunctions")
    child = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "Parameters": {"got.$": "$.n"}, "End": True}}}
    arn = sfn.create_state_machine(
        name="child", definition=json.dumps(child), roleArn="arn:aws:iam::123456789012:role/x"
    )["stateMachineArn"]
    definition = {
        "StartAt": "Start",
        "States": {
            "Start": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": arn, "Name": "child-1", "Input": {"n": 7}},
                "OutputPath": "$.Output",
                "End": True,
            }
        },
    }
    done, events = run_state_machine(standin, "parent", definition)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"got": 7}
    submitted = [json.loads(e["taskSubmittedEventDetails"]["output"]) for e in events if e["type"] == "TaskSubmitted"]
    assert submitted and submitted[0]["ExecutionArn"].endswith(":child:child-1"), submitted
    children = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert [c["name"] for c in children] == ["child-1"]


def test_execution_history_pages_and_orders_as_step_functions_does(standin):
    """GetExecutionHistory: newest first under reverseOrder, pages of maxResults (default 100),
    a nextToken for this execution and order only (sfn_patch)."""
    definition = {
        "StartAt": "P0",
        "States": {
            **{f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} for i in range(60)},
            "P60": {"Type": "Pass", "End": True},
        },
    }
    done, _ = run_state_machine(standin, "paging", definition)
    sfn = standin.client("stepfunctions")
    arn = done["executionArn"]
    everything, token = [], None
    while True:
        page = sfn.get_execution_history(executionArn=arn, **({"nextToken": token} if token else {}))
        assert len(page["events"]) <= 100
        everything += page["events"]
        token = page.get("nextToken")
        if not token:
            break
    ids = [e["id"] for e in everything]
    # ExecutionStarted, entered + exited for each of the 61 states, ExecutionSucceeded
    assert ids == sorted(ids) and len(ids) == 1 + 2 * 61 + 1 > 100
    newest = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=3)
    assert [e["type"] for e in newest["events"]] == ["ExecutionSucceeded", "PassStateExited", "PassStateEntered"]
    assert [e["id"] for e in newest["events"]] == ids[::-1][:3]
    # a token is bound to its query
    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.get_execution_history(executionArn=arn, nextToken=newest["nextToken"])
    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.get_execution_history(executionArn=arn, nextToken="garbage")


def test_state_entered_time_is_written_and_compared_as_step_functions_does(standin):
    """berth's watch compares `$$.State.EnteredTime` with a rollout's deadline (TimestampLessThanPath)
    when a check could not be made (sfn_patch, "Timestamps")."""
    now = datetime.datetime.now(datetime.UTC)
    soon = (now + datetime.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    gone = (now - datetime.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cause = '{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out after {60} seconds"}'

    def looks(deadline: str) -> dict:
        definition = {
            "StartAt": "Noticed",
            "States": {
                "Noticed": {
                    "Type": "Pass",
                    "Parameters": {"at.$": "$$.State.EnteredTime"},
                    "ResultPath": "$.unanswered",
                    "Next": "BeforeDeadline",
                },
                "BeforeDeadline": {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$.unanswered.at", "TimestampLessThanPath": "$.deadline", "Next": "Again"}
                    ],
                    "Default": "Past",
                },
                "Again": {"Type": "Pass", "Result": "again", "ResultPath": "$.verdict", "End": True},
                "Past": {
                    "Type": "Pass",
                    "Parameters": {
                        "verdict": "past",
                        "Cause.$": (
                            "States.Format('no check before its deadline {}; the last attempt: {}', "
                            "$.deadline, $.cause)"
                        ),
                    },
                    "ResultPath": "$.error",
                    "End": True,
                },
            },
        }
        sfn = standin.client("stepfunctions")
        name = f"entered-{len(deadline)}-{deadline[-3:-1]}"
        sm = sfn.create_state_machine(
            name=name, definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/sfn"
        )["stateMachineArn"]
        ex = sfn.start_execution(stateMachineArn=sm, input=json.dumps({"deadline": deadline, "cause": cause}))[
            "executionArn"
        ]
        done = wait_for(
            lambda: (lambda d: d if d["status"] != "RUNNING" else None)(sfn.describe_execution(executionArn=ex)),
            timeout=30,
            what="execution",
        )
        assert done["status"] == "SUCCEEDED", done
        return json.loads(done["output"])

    before = looks(soon)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", before["unanswered"]["at"]), before
    assert before["verdict"] == "again", before
    past = looks(gone)
    assert "verdict" not in past and past["error"]["verdict"] == "past", past
    assert past["error"]["Cause"] == f"no check before its deadline {gone}; the last attempt: {cause}", past


@pytest.mark.parametrize(
    "text, ok",
    [
        ("2026-11-30T12:00:00Z", True),
        ("2026-11-30T12:00:00.5Z", True),
        ("2026-11-30T12:00:00.123456789Z", True),
        ("2026-11-30T12:00:00+01:00", True),
        ("2026-11-30t12:00:00Z", False),
        ("2026-11-30 12:00:00Z", False),
        ("2026-11-30T12:00:00", False),
        ("2026-13-30T12:00:00Z", False),
        ("t", False),
        (7, False),
    ],
)
def test_timestamps_parse_as_step_functions_reads_them(text, ok):
    from .sfn_patch import parse_timestamp

    assert (parse_timestamp(text) is not None) == ok


def test_fractions_and_offsets_compare_by_instant():
    from .sfn_patch import entered_time, parse_timestamp

    def instant(text: str) -> datetime.datetime:
        parsed = parse_timestamp(text)
        assert parsed is not None, text
        return parsed

    assert instant("2026-11-30T12:00:00.5Z") < instant("2026-11-30T12:00:00.6Z")
    assert parse_timestamp("2026-11-30T13:00:00+01:00") == parse_timestamp("2026-11-30T12:00:00Z")
    t = datetime.datetime(2026, 11, 30, 12, 0, 0, 987654, tzinfo=datetime.UTC)
    assert entered_time(t) == "2026-11-30T12:00:00.987Z"


def test_each_functions_last_invocations_are_kept_apart_from_the_shared_log(standin):
    lam = standin.client("lambda")
    lam.invoke(FunctionName=ARN.format("plan-deployment"), Payload=json.dumps({"first": True}))
    for i in range(55):
        lam.invoke(FunctionName="check-stability", Payload=json.dumps({"poll": i}))
    # by name or ARN, only that function's, oldest first
    for name in ("plan-deployment", ARN.format("plan-deployment")):
        (only,) = standin.control(f"lambda-invocations?function={name}", method="GET")["invocations"]
        assert only["function"] == "plan-deployment" and only["payload"] == {"first": True}, only
    # a busy function keeps its last 50
    polls = standin.control("lambda-invocations?function=check-stability", method="GET")["invocations"]
    assert [p["payload"]["poll"] for p in polls] == list(range(5, 55))
    assert standin.control("lambda-invocations?function=nobody", method="GET")["invocations"] == []
    standin.control("lambda-invocations", method="DELETE")
    assert standin.control("lambda-invocations?function=check-stability", method="GET")["invocations"] == []
