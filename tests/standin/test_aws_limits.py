"""AWS's payload and size limits, enforced by the stand-in as AWS enforces them (aws_limits; README,
"AWS limits the stand-in enforces"): for each, the largest request or payload AWS takes is taken
and one byte (or character) more is refused with AWS's error. Sizes are built by hand here, from
the rule each AWS page states, not with aws_limits' own counting."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from .conftest import one_off_task_definition, wait_for

ROLE = "arn:aws:iam::123456789012:role/sfn"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:{}"
KIB_256 = 262_144  # Step Functions' payloads; EventBridge's PutEvents entries
OVERRIDES = 8_192  # ECS RunTask overrides, characters
TASK_DEFINITION = 65_536  # ECS task definition, bytes
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
TOO_LARGE_RESULT = "returned a result with a size exceeding the maximum number of bytes service limit."


def compact(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def object_of(size: int) -> str:
    """`{"s":"xx…x"}`, `size` bytes."""
    text = '{"s":"' + "x" * (size - 8) + '"}'
    assert len(text.encode()) == size
    return text


def output_bytes(done: dict) -> int:
    """The execution's output as compact JSON (moto's DescribeExecution writes it with spaces)."""
    return len(compact(json.loads(done["output"])).encode())


def result_of(size: int) -> dict:
    """`{"s":"xx…x"}` as a value, `size` bytes of JSON."""
    return json.loads(object_of(size))


def machine(standin, name: str, definition: dict) -> str:
    sfn = standin.client("stepfunctions")
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]


def finish(standin, execution_arn: str, timeout: float = 30) -> tuple[dict, list[dict]]:
    sfn = standin.client("stepfunctions")
    done = wait_for(
        lambda: (lambda d: d if d["status"] != "RUNNING" else None)(sfn.describe_execution(executionArn=execution_arn)),
        timeout=timeout,
        what="execution",
    )
    return done, sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]


def execute(standin, name: str, definition: dict, payload: str = "{}") -> tuple[dict, list[dict]]:
    sfn = standin.client("stepfunctions")
    arn = machine(standin, name, definition)
    return finish(standin, sfn.start_execution(stateMachineArn=arn, name=f"{name}-run", input=payload)["executionArn"])


def refused(call) -> dict:
    """The error of a call that must fail: {"Code", "Message"}."""
    with pytest.raises(ClientError) as e:
        call()
    return dict(e.value.response["Error"])


def invocations(standin, function: str) -> int:
    logged = standin.control("lambda-invocations", method="GET")["invocations"]
    return sum(1 for i in logged if i["function"] == function)


# ---------------------------------------------------------------- Step Functions: the API


def test_start_execution_takes_an_input_of_256_kib_and_refuses_a_byte_more(standin):
    sfn = standin.client("stepfunctions")
    arn = machine(standin, "input", PASS)
    started = sfn.start_execution(stateMachineArn=arn, name="fits", input=object_of(KIB_256))["executionArn"]
    error = refused(lambda: sfn.start_execution(stateMachineArn=arn, name="over", input=object_of(KIB_256 + 1)))
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        "1 validation error detected: Value at 'input' failed to satisfy constraint: "
        "Member must have length less than or equal to 262144"
    )
    # Bytes of UTF-8, not characters: 131,077 characters, 262,145 bytes.
    wide = '{"s":"' + "é" * 131_068 + 'x"}'
    assert (len(wide), len(wide.encode())) == (131_077, KIB_256 + 1)
    error = refused(lambda: sfn.start_execution(stateMachineArn=arn, name="wide", input=wide))
    assert error["Code"] == "ValidationException"
    assert [e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]] == ["fits"]
    done, _ = finish(standin, started)
    assert done["status"] == "SUCCEEDED", done  # and 256 KiB is a state output that fits
    assert output_bytes(done) == KIB_256


def test_an_execution_name_of_80_characters_is_taken_and_81_or_a_forbidden_character_refused(standin):
    sfn = standin.client("stepfunctions")
    arn = machine(standin, "names", PASS)
    sfn.start_execution(stateMachineArn=arn, name="n" * 80)
    error = refused(lambda: sfn.start_execution(stateMachineArn=arn, name="n" * 81))
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        f"1 validation error detected: Value '{'n' * 81}' at 'name' failed to satisfy constraint: "
        "Member must have length less than or equal to 80"
    )
    for bad in ("web deploy", "web/deploy", "web:1", "web\u0085", "tab\there"):
        error = refused(lambda bad=bad: sfn.start_execution(stateMachineArn=arn, name=bad))
        assert error["Code"] == "InvalidName", bad
    assert [e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]] == ["n" * 80]


def test_send_task_success_and_failure_are_held_to_their_lengths(standin):
    """SendTaskSuccess's output (256 KiB), SendTaskFailure's error (256) and cause (32,768): one
    over is refused and the task keeps waiting; at the limit the answer is taken."""
    standin.control("lambda-stubs", {"name": "gate", "result": {}})
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "gate", "Payload": {"token.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    sfn = standin.client("stepfunctions")
    arn = machine(standin, "gates", definition)

    def waiting(name: str) -> tuple[str, str]:
        execution = sfn.start_execution(stateMachineArn=arn, name=name)["executionArn"]

        def token():
            for e in sfn.get_execution_history(executionArn=execution)["events"]:
                if e["type"] == "TaskScheduled":
                    return json.loads(e["taskScheduledEventDetails"]["parameters"])["Payload"]["token"]
            return None

        return execution, wait_for(token, what="the task token")

    execution, token = waiting("success")
    error = refused(lambda: sfn.send_task_success(taskToken=token, output=object_of(KIB_256 + 1)))
    assert (error["Code"], error["Message"]) == (
        "ValidationException",
        "1 validation error detected: Value at 'output' failed to satisfy constraint: "
        "Member must have length less than or equal to 262144",
    )
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=token, output=object_of(KIB_256))
    done, _ = finish(standin, execution)
    assert done["status"] == "SUCCEEDED" and output_bytes(done) == KIB_256

    execution, token = waiting("failure")
    for kwargs, member, limit in (
        ({"error": "E" * 257, "cause": "c"}, "error", 256),
        ({"error": "E", "cause": "c" * 32_769}, "cause", 32_768),
    ):
        error = refused(lambda kwargs=kwargs: sfn.send_task_failure(taskToken=token, **kwargs))
        assert error["Code"] == "ValidationException"
        assert error["Message"].endswith(
            f"Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to {limit}"
        )
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    sfn.send_task_failure(taskToken=token, error="E" * 256, cause="c" * 32_768)
    done, _ = finish(standin, execution)
    assert done["status"] == "FAILED" and done["error"] == "E" * 256 and done["cause"] == "c" * 32_768


# ---------------------------------------------------------------- Step Functions: inside an execution


def test_a_state_output_of_256_kib_passes_and_a_byte_more_fails_the_execution(standin):
    """AWS (LocalStack's test_start_large_input, recorded against AWS): a Pass state whose output is
    over the quota ends the execution at once, ExecutionFailed States.DataLimitExceeded."""
    fits = {"StartAt": "Big", "States": {"Big": {"Type": "Pass", "Result": result_of(KIB_256), "End": True}}}
    done, _ = execute(standin, "fits", fits)
    assert done["status"] == "SUCCEEDED", done
    assert output_bytes(done) == KIB_256  # moto alone refused exactly 256 KiB

    over = {"StartAt": "Big", "States": {"Big": {"Type": "Pass", "Result": result_of(KIB_256 + 1), "End": True}}}
    done, events = execute(standin, "over", over)
    assert done["status"] == "FAILED"
    assert done["error"] == "States.DataLimitExceeded"
    assert done["cause"] == f"The state/task 'Big' {TOO_LARGE_RESULT}"
    assert [e["type"] for e in events] == ["ExecutionStarted", "PassStateEntered", "ExecutionFailed"]


def test_a_payload_is_counted_in_utf8_bytes_not_escaped_json(standin):
    """200,008 bytes of UTF-8 (100,000 é), under the quota; moto alone counted each é as the 6
    characters of `\\u00e9` and failed the state."""
    wide = {"s": "é" * 100_000}
    definition = {"StartAt": "Wide", "States": {"Wide": {"Type": "Pass", "Result": wide, "End": True}}}
    done, _ = execute(standin, "wide", definition)
    assert done["status"] == "SUCCEEDED", done.get("cause")
    assert output_bytes(done) == 200_008


@pytest.mark.parametrize("catcher", ["States.DataLimitExceeded", "States.ALL"])
def test_a_lambda_result_over_256_kib_is_states_data_limit_exceeded_which_retry_and_catch_see(standin, catcher):
    """The function's payload is the result (not the Invoke answer around it): 256 KiB is taken. A
    byte more: LambdaFunctionFailed States.DataLimitExceeded, cause as AWS words it, retried by a
    Retry on that name and caught by a Catch on it or on States.ALL (LocalStack's
    test_task_lambda_*_data_limit_exceeded_on_large_utf8_response, recorded against AWS: States.ALL
    catches it, though the guide says it does not)."""
    standin.control("config", {"time_scale": 20})
    definition = {
        "StartAt": "Report",
        "States": {
            "Report": {
                "Type": "Task",
                "Resource": LAMBDA.format("report"),
                "Retry": [{"ErrorEquals": ["States.DataLimitExceeded"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                "Catch": [{"ErrorEquals": [catcher], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    standin.control("lambda-stubs", {"name": "report", "result": result_of(KIB_256)})
    done, _ = execute(standin, "fits", definition)
    assert done["status"] == "SUCCEEDED", done.get("cause")
    assert output_bytes(done) == KIB_256

    standin.control("lambda-invocations", method="DELETE")
    standin.control("lambda-stubs", {"name": "report", "result": result_of(KIB_256 + 1)})
    done, events = execute(standin, "over", definition)
    assert done["status"] == "SUCCEEDED", done.get("cause")
    cause = f"The state/task '{LAMBDA.format('report')}' {TOO_LARGE_RESULT}"
    assert json.loads(done["output"]) == {"error": {"Error": "States.DataLimitExceeded", "Cause": cause}}
    failed = [e["lambdaFunctionFailedEventDetails"] for e in events if e["type"] == "LambdaFunctionFailed"]
    assert failed == [{"error": "States.DataLimitExceeded", "cause": cause}] * 2  # the first try and the retry
    assert invocations(standin, "report") == 2


def test_a_task_input_over_256_kib_after_parameters_fails_before_the_function_is_invoked(standin):
    """The state's input (131 KiB) fits; Parameters that use it twice make the function's payload
    `{"a":S,"b":S,"c":""}`: 262,144 bytes is invoked, 262,145 is States.DataLimitExceeded and the
    function never runs (Step Functions' guide: "after Parameters processing, the input of a state
    is larger than the payload size quota")."""
    standin.control("lambda-stubs", {"name": "plan", "result": {"ok": True}})
    size = 131_061  # 2 * size + 22 bytes of JSON = 262,144
    payload = json.dumps({"s": "x" * size})

    def definition(c: str) -> dict:
        parameters = {"a.$": "$.s", "b.$": "$.s", "c": c}
        task = {"Type": "Task", "Resource": LAMBDA.format("plan"), "Parameters": parameters, "End": True}
        task["Catch"] = [{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "Caught"}]
        return {"StartAt": "Plan", "States": {"Plan": task, "Caught": {"Type": "Pass", "End": True}}}

    assert len(compact({"a": "x" * size, "b": "x" * size, "c": ""}).encode()) == KIB_256
    done, _ = execute(standin, "fits", definition(""), payload)
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"ok": True}, done
    assert invocations(standin, "plan") == 1

    done, events = execute(standin, "over", definition("x"), payload)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"])["Error"] == "States.DataLimitExceeded"
    assert [e["type"] for e in events if e["type"].startswith("LambdaFunction")] == ["LambdaFunctionFailed"]
    assert invocations(standin, "plan") == 1  # not invoked again


def test_a_child_input_over_256_kib_fails_the_task_and_starts_no_child(standin):
    """`states:startExecution`: the task's parameters carry the child's input, so an input too large
    for the child is a task input too large: States.DataLimitExceeded, no StartExecution call.
    Parameters of exactly 256 KiB start the child."""
    sfn = standin.client("stepfunctions")
    child = machine(standin, "child", PASS)

    def parent(name: str) -> dict:
        start = {
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution",
            "Parameters": {"StateMachineArn": child, "Name": name, "Input": {"s.$": "$.s"}},
            # The state's input is nearly 256 KiB: its output is the result or the error alone.
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
            "ResultSelector": {"arn.$": "$.ExecutionArn"},
            "End": True,
        }
        return {"StartAt": "Start", "States": {"Start": start, "Caught": {"Type": "Pass", "End": True}}}

    base = len(compact({"StateMachineArn": child, "Name": "c1", "Input": {"s": ""}}).encode())
    done, _ = execute(standin, "fits", parent("c1"), json.dumps({"s": "x" * (KIB_256 - base)}))
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"])["arn"].endswith(":child:c1")

    done, events = execute(standin, "over", parent("c2"), json.dumps({"s": "x" * (KIB_256 - base + 1)}))
    assert json.loads(done["output"])["Error"] == "States.DataLimitExceeded", done
    [failed] = [e["taskFailedEventDetails"] for e in events if e["type"] == "TaskFailed"]
    assert (failed["error"], failed["resource"], failed["resourceType"]) == (
        "States.DataLimitExceeded",
        "startExecution",
        "states",
    )
    assert [e["name"] for e in sfn.list_executions(stateMachineArn=child)["executions"]] == ["c1"]


def test_a_child_name_over_80_characters_is_step_functions_validation_exception(standin):
    """StartExecution refuses the name (ValidationException); the integration names an API error
    after the SDK's exception class, here `StepFunctions.ValidationException` (moto alone:
    `StepFunctions.ValidationExceptionException`)."""
    child = machine(standin, "child", PASS)
    definition = {
        "StartAt": "Start",
        "States": {
            "Start": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": child, "Name": "n" * 81, "Input": {}},
                "Catch": [{"ErrorEquals": ["StepFunctions.ValidationException"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    done, _ = execute(standin, "named", definition)
    assert done["status"] == "SUCCEEDED", done
    error = json.loads(done["output"])
    assert error["Error"] == "StepFunctions.ValidationException"
    assert "Member must have length less than or equal to 80" in error["Cause"]
    assert "(Service: AWSStepFunctions; Status Code: 400; Error Code: ValidationException;" in error["Cause"]


def test_a_child_that_succeeds_with_a_large_output_fails_the_parent_task(standin):
    """`.sync:2`'s result is the child's description, its Input and Output with its ARNs and dates:
    a child output that fits the child (the parent caught nothing else) makes the parent's task
    result too large. berth's DeployService takes each service's report this way."""
    child = machine(
        standin,
        "child",
        {"StartAt": "Report", "States": {"Report": {"Type": "Pass", "Result": result_of(262_000), "End": True}}},
    )
    definition = {
        "StartAt": "Deploy",
        "States": {
            "Deploy": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": child, "Name": "svc", "Input": {}},
                "OutputPath": "$.Output",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    done, _ = execute(standin, "deploy", definition)
    sfn = standin.client("stepfunctions")
    [svc] = sfn.list_executions(stateMachineArn=child)["executions"]
    assert svc["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {
        "Error": "States.DataLimitExceeded",
        "Cause": f"The state/task 'states' {TOO_LARGE_RESULT}",
    }


# ---------------------------------------------------------------- ECS


def run_task_overrides(command_chars: int) -> dict:
    """`{"containerOverrides":[{"name":"migrate","command":["xx…x"]}]}`: its JSON is 58 characters
    around the command word."""
    return {"containerOverrides": [{"name": "migrate", "command": ["x" * command_chars]}]}


AROUND_COMMAND = len('{"containerOverrides":[{"name":"migrate","command":["') + len('"]}]}')


def test_run_task_takes_overrides_of_8192_characters_and_refuses_one_more(standin):
    td, subnet, sg = one_off_task_definition(standin, "repo/migrate:v2", "migrate")
    ecs = standin.client("ecs")

    def run(overrides: dict):
        return ecs.run_task(
            cluster="prod",
            taskDefinition=td,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}},
            overrides=overrides,
        )

    assert len(compact(run_task_overrides(OVERRIDES - AROUND_COMMAND))) == OVERRIDES
    [task] = run(run_task_overrides(OVERRIDES - AROUND_COMMAND))["tasks"]
    assert task["overrides"]["containerOverrides"][0]["command"] == ["x" * (OVERRIDES - AROUND_COMMAND)]
    error = refused(lambda: run(run_task_overrides(OVERRIDES - AROUND_COMMAND + 1)))
    assert (error["Code"], error["Message"]) == (
        "InvalidParameterException",
        "Container Overrides length must be at most 8192",
    )
    assert len(ecs.list_tasks(cluster="prod")["taskArns"]) == 1


def test_run_task_sync_refuses_overrides_over_8192_characters_as_run_task_does(standin):
    """berth's migration (`ecs:runTask.sync`, PascalCase Overrides): RunTask refuses, the state
    fails with RunTask's error in the cause (under the name the stand-in gives any RunTask API
    error, States.Runtime: test_ecs_sync) and no task runs; 8192 characters run the task."""
    td, subnet, sg = one_off_task_definition(standin, "repo/migrate:v2", "migrate")

    def migration(command_chars: int) -> dict:
        task = {
            "Type": "Task",
            "Resource": "arn:aws:states:::ecs:runTask.sync",
            "Parameters": {
                "Cluster": "prod",
                "TaskDefinition": td,
                "LaunchType": "FARGATE",
                "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": [subnet], "SecurityGroups": [sg]}},
                "Overrides": {"ContainerOverrides": [{"Name": "migrate", "Command": ["x" * command_chars]}]},
            },
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
            "End": True,
        }
        return {"StartAt": "Migrate", "States": {"Migrate": task, "Caught": {"Type": "Pass", "End": True}}}

    done, _ = execute(standin, "fits", migration(OVERRIDES - AROUND_COMMAND))
    assert json.loads(done["output"])["Containers"][0]["ExitCode"] == 0, done
    done, _ = execute(standin, "over", migration(OVERRIDES - AROUND_COMMAND + 1))
    error = json.loads(done["output"])
    assert error["Error"] == "States.Runtime"
    assert "InvalidParameterException" in error["Cause"]
    assert "Container Overrides length must be at most 8192" in error["Cause"]
    assert len(standin.client("ecs").list_tasks(cluster="prod", desiredStatus="STOPPED")["taskArns"]) == 1


def test_register_task_definition_takes_64_kib_and_refuses_a_byte_more(standin):
    """The request's task definition as JSON: 65,536 bytes registered, 65,537 refused with the
    ClientException ECS gives ("Actual length: '…'. Max allowed length is '65536' bytes.")."""
    ecs = standin.client("ecs")

    def request(value_chars: int) -> dict:
        container = {"name": "web", "image": "repo/web:v1", "memory": 512}
        container["environment"] = [{"name": "BIG", "value": "x" * value_chars}]
        return {"family": "web", "containerDefinitions": [container]}

    around = len(compact(request(0)).encode())
    fits, over = request(TASK_DEFINITION - around), request(TASK_DEFINITION - around + 1)
    assert len(compact(fits).encode()) == TASK_DEFINITION
    assert ecs.register_task_definition(**fits)["taskDefinition"]["revision"] == 1
    error = refused(lambda: ecs.register_task_definition(**over))
    assert (error["Code"], error["Message"]) == (
        "ClientException",
        f"Actual length: '{TASK_DEFINITION + 1}'. Max allowed length is '65536' bytes.",
    )
    assert ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"] == [
        "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
    ]


# ---------------------------------------------------------------- EventBridge


def test_entry_size_is_counted_as_the_eventbridge_guide_says():
    """Time 14 bytes if given; Source, DetailType, Detail and each resource their UTF-8 bytes."""
    from .aws_limits import events_entry_bytes

    entry = {"Source": "berth", "DetailType": "x", "Detail": '{"é":1}', "Resources": ["ab", "c"]}
    assert events_entry_bytes(entry) == 5 + 1 + 8 + 3
    assert events_entry_bytes({**entry, "Time": "2026-01-01T00:00:00Z"}) == 5 + 1 + 8 + 3 + 14


def test_put_events_refuses_the_call_when_its_entries_reach_256_kib(standin):
    """ "The total entry size must be less than 256KB": entries of 262,143 bytes together are put;
    262,144 (here across two entries) refuse the whole call with ValidationException, as AWS answers
    (aws-service-catalog-puppet#563), not one entry."""
    events = standin.client("events")
    source, detail_type = "berth", "berth Deployment State Change"  # 5 + 29 bytes

    def entry(detail_bytes: int, **more) -> dict:
        detail = object_of(detail_bytes)
        return {"Source": source, "DetailType": detail_type, "Detail": detail, **more}

    out = events.put_events(Entries=[entry(KIB_256 - 1 - 34)])
    assert out["FailedEntryCount"] == 0 and "EventId" in out["Entries"][0]
    half = KIB_256 // 2 - 34  # two entries of 131,072 bytes
    error = refused(lambda: events.put_events(Entries=[entry(half), entry(half)]))
    assert (error["Code"], error["Message"]) == (
        "ValidationException",
        "Total size of the entries in the request is over the limit.",
    )
    # Time counts 14 bytes, each resource its own.
    resources = ["arn:aws:states:us-east-1:123456789012:execution:deploy:x"]
    fits = entry(KIB_256 - 1 - 34 - 14 - len(resources[0]), Time="2026-01-01T00:00:00Z", Resources=resources)
    assert events.put_events(Entries=[fits])["FailedEntryCount"] == 0
    over = entry(KIB_256 - 34 - 14 - len(resources[0]), Time="2026-01-01T00:00:00Z", Resources=resources)
    assert refused(lambda: events.put_events(Entries=[over]))["Code"] == "ValidationException"


@pytest.mark.parametrize(
    "name, problem",
    [
        ("deploy-web-0123", None),
        ("n" * 80, None),
        ("n" * 81, "length"),
        ("", "length"),
        ("a b", "characters"),
        ("a\u00a0b", "characters"),  # whitespace beyond the space
        ("a\u0085b", "characters"),  # U+007F-009F
        ("a\ufffeb", "characters"),
        ("é-ünïcode", None),  # allowed (CloudWatch cannot log it, says the guide)
    ],
)
def test_execution_names_as_the_quotas_page_lists_them(name, problem):
    from .aws_limits import sfn_name_problem

    assert sfn_name_problem(name) == problem
