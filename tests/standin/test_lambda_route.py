"""Lambda Invoke route (to a cargo-lambda-shaped upstream) and moto's Step Functions interpreter
calling back into it through MOTO_PORT."""

from __future__ import annotations

import json

from .conftest import wait_for

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
            "Plan": {"Type": "Task", "Resource": ARN.format("plan-deployment"), "ResultPath": "$.plan", "Next": "Invoke"},
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
    sm = sfn.create_state_machine(name="t", definition=json.dumps(definition),
                                  roleArn="arn:aws:iam::123456789012:role/sfn")["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=sm, name="run-1", input=json.dumps({"x": 1}))["executionArn"]
    done = wait_for(lambda: (lambda d: d if d["status"] != "RUNNING" else None)(sfn.describe_execution(executionArn=ex)),
                    timeout=30, what="execution")
    assert done["status"] == "SUCCEEDED", done
    out = json.loads(done["output"])
    assert out["plan"] == {"function": "plan-deployment", "echo": {"x": 1}}
    assert out["error"]["Error"] == "BerthTestError"
    called = [i["function"] for i in standin.control("lambda-invocations", method="GET")["invocations"]]
    assert called == ["plan-deployment", "fails"]
