"""Throttling on demand (POST /_berth/throttle): the share, the determinism, the counts, and the
wire answer of each service as botocore parses it (the Rust SDK classifies the same codes:
ThrottlingException, Throttling, TooManyRequestsException)."""

from __future__ import annotations

import json

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from .conftest import REGION, wait_for
from .test_cloudwatch_cbor import cbor_client

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def client(standin, service: str):
    # boto3-stubs types client() per literal service name; this one is given at run time.
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=standin.url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=NO_RETRY,
    )


def error_of(call) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as e:
        call()
    r = e.value.response
    return r["Error"]["Code"], r["Error"].get("Message", ""), r["ResponseMetadata"]["HTTPStatusCode"]


def test_ecs_throttled_call_is_400_throttling_exception_rate_exceeded_and_others_pass(standin):
    ecs = client(standin, "ecs")
    standin.control("throttle", {"ecs:DescribeServices": 1.0})
    assert error_of(lambda: ecs.describe_services(cluster="default", services=["web"])) == (
        "ThrottlingException",
        "Rate exceeded",
        400,
    )
    ecs.list_clusters()  # not throttled
    raw = requests.post(
        standin.url + "/",
        data=b"{}",
        headers={
            "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeServices",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    assert raw.status_code == 400 and raw.json() == {"__type": "ThrottlingException", "message": "Rate exceeded"}
    assert raw.headers["x-amzn-RequestId"]
    calls = standin.state()["throttle"]["calls"]
    assert calls["ecs:DescribeServices"] == {"calls": 2, "throttled": 2}
    assert calls["ecs:ListClusters"] == {"calls": 1, "throttled": 0}


def test_share_is_honoured_and_a_seed_repeats_the_same_decisions(standin):
    ecs = client(standin, "ecs")

    def run() -> list[bool]:
        standin.control("throttle", {"ecs:*": 0.6, "seed": 42})
        out = []
        for _ in range(200):
            try:
                ecs.list_clusters()
                out.append(False)
            except ClientError:
                out.append(True)
        return out

    first = run()
    assert 95 <= sum(first) <= 145, sum(first)  # 120 expected
    standin.control("reset")
    assert run() == first
    standin.control("throttle", {"ecs:*": 0.6, "seed": 43})
    # counts survive a change of rules; DELETE and reset clear them
    assert standin.control("throttle", method="GET")["calls"]["ecs:ListClusters"]["calls"] == 200
    assert standin.control("throttle", method="DELETE") == {"rules": {}, "seed": 0, "buckets": {}, "calls": {}}


def test_the_most_specific_rule_wins_and_zero_exempts(standin):
    ecs = client(standin, "ecs")
    standin.control("throttle", {"*": 1.0, "ecs:*": 1.0, "ecs:ListClusters": 0})
    ecs.list_clusters()
    assert error_of(lambda: ecs.list_services())[0] == "ThrottlingException"
    assert error_of(lambda: client(standin, "codedeploy").list_applications())[0] == "ThrottlingException"


def test_bad_rules_are_refused(standin):
    for doc in ({"ecs": 0.5}, {"ecs:*": 1.5}, {"ecs:Describe Services": 0.1}):
        r = requests.post(f"{standin.url}/_berth/throttle", json=doc, timeout=10)
        assert r.status_code == 400, doc


def test_a_token_bucket_allows_its_burst_then_its_rate():
    from .throttle import Throttler

    now = [100.0]
    t = Throttler()
    t.clock = lambda: now[0]
    t.configure({"buckets": {"ecs:UpdateService": [3, 2]}})
    # the burst: 3 calls at once pass, the 4th is throttled, other APIs are untouched
    assert [t.decide("ecs:UpdateService") for _ in range(4)] == [False, False, False, True]
    assert t.decide("ecs:DescribeServices") is False
    # refilled at 2 tokens a second: after 0.5 s one call passes, the next does not
    now[0] += 0.5
    assert [t.decide("ecs:UpdateService") for _ in range(2)] == [False, True]
    # never above the burst, however long it rested
    now[0] += 60
    assert [t.decide("ecs:UpdateService") for _ in range(4)] == [False, False, False, True]
    assert t.view()["calls"]["ecs:UpdateService"] == {"calls": 10, "throttled": 3}
    assert t.view()["buckets"] == {"ecs:UpdateService": [3.0, 2.0]}


def test_a_bucket_throttles_on_the_wire_and_bad_buckets_are_refused(standin):
    ecs = client(standin, "ecs")
    standin.control("throttle", {"buckets": {"ecs:ListTaskDefinitions": [2, 0.01]}})
    ecs.list_task_definitions()
    ecs.list_task_definitions()
    assert error_of(lambda: ecs.list_task_definitions()) == ("ThrottlingException", "Rate exceeded", 400)
    ecs.list_clusters()
    for doc in (
        {"buckets": {"ecs:*": [1, 1]}},
        {"buckets": {"ecs:ListTaskDefinitions": [0, 1]}},
        {"buckets": {"ecs:ListTaskDefinitions": 5}},
        {"buckets": {"ecs:ListTaskDefinitions": [1, "x"]}},
    ):
        r = requests.post(f"{standin.url}/_berth/throttle", json=doc, timeout=10)
        assert r.status_code == 400, doc
    standin.control("reset")


def test_reset_clears_rules_and_counts(standin):
    standin.control("throttle", {"ecs:*": 1.0})
    standin.control("reset")
    client(standin, "ecs").list_clusters()
    assert standin.state()["throttle"] == {
        "rules": {},
        "seed": 0,
        "buckets": {},
        "calls": {"ecs:ListClusters": {"calls": 1, "throttled": 0}},
    }


def test_codedeploy_throttling_exception(standin):
    standin.control("throttle", {"codedeploy:GetDeployment": 1.0})
    cd = client(standin, "codedeploy")
    assert error_of(lambda: cd.get_deployment(deploymentId="d-ABCDEFGHI")) == (
        "ThrottlingException",
        "Rate exceeded",
        400,
    )


def test_cloudwatch_throttling_over_json_and_rpcv2cbor_is_the_query_code_throttling(standin, monkeypatch):
    standin.control("throttle", {"cloudwatch:GetMetricData": 1.0, "cloudwatch:DescribeAlarms": 1.0})
    cw = client(standin, "cloudwatch")  # boto3 speaks awsJson1.0 to CloudWatch
    assert error_of(lambda: cw.describe_alarms()) == ("Throttling", "Rate exceeded", 400)
    cbor, seen = cbor_client(standin, monkeypatch)  # what the Rust SDK speaks (botocore retries: all throttled)
    code, message, status = error_of(lambda: cbor.describe_alarms())
    assert (code, message, status) == ("Throttling", "Rate exceeded", 400)
    assert seen and "/operation/DescribeAlarms" in seen[-1]
    calls = standin.state()["throttle"]["calls"]
    assert calls["cloudwatch:DescribeAlarms"]["throttled"] >= 2


def test_cloudwatch_query_protocol_throttling(standin):
    standin.control("throttle", {"cloudwatch:ListMetrics": 1.0})
    r = requests.post(
        standin.url + "/",
        data={"Action": "ListMetrics", "Version": "2010-08-01"},
        headers={
            "Authorization": (
                "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/monitoring/aws4_request, "
                "SignedHeaders=host, Signature=0"
            )
        },
    )
    assert r.status_code == 400 and "<Code>Throttling</Code>" in r.text and "<Message>Rate exceeded</Message>" in r.text
    # an unthrottled query call still reaches moto with its body intact
    standin.control("throttle", {"cloudwatch:ListMetrics": 0})
    r = requests.post(
        standin.url + "/",
        data={"Action": "ListMetrics", "Version": "2010-08-01"},
        headers={
            "Authorization": (
                "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/monitoring/aws4_request, "
                "SignedHeaders=host, Signature=0"
            )
        },
    )
    assert r.status_code == 200 and "ListMetricsResponse" in r.text


def test_lambda_invoke_throttled_is_429_too_many_requests(standin):
    standin.control("throttle", {"lambda:InvokeFunction": 1.0})
    lam = client(standin, "lambda")
    with pytest.raises(lam.exceptions.TooManyRequestsException) as e:
        lam.invoke(FunctionName="plan-deployment", Payload=b"{}")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert e.value.response["Reason"] == "ConcurrentInvocationLimitExceeded"
    assert standin.control("lambda-invocations", method="GET")["invocations"] == [], "a throttled call runs nothing"


def test_step_functions_sees_a_throttled_lambda_as_lambda_too_many_requests(standin):
    """Through moto's interpreter (and sfn_patch): the Retry on Lambda.TooManyRequestsException runs."""
    standin.control("throttle", {"lambda:InvokeFunction": 1.0})
    sfn = standin.client("stepfunctions")
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:plan-deployment",
                "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                "End": True,
            }
        },
    }
    sm = sfn.create_state_machine(
        name="thr", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=sm, name="t1", input="{}")["executionArn"]
    done = wait_for(
        lambda: (lambda d: d if d["status"] != "RUNNING" else None)(sfn.describe_execution(executionArn=ex)),
        timeout=30,
        what="execution",
    )
    assert done["status"] == "FAILED" and done["error"] == "Lambda.TooManyRequestsException", done
    failures = [
        e["lambdaFunctionFailedEventDetails"]
        for e in sfn.get_execution_history(executionArn=ex)["events"]
        if e["type"] == "LambdaFunctionFailed"
    ]
    assert len(failures) == 2, "one attempt and one retry"
    assert "Status Code: 429; Error Code: TooManyRequestsException" in failures[0]["cause"]
