"""CloudWatch over Smithy RPCv2-CBOR: raw wire round trips with cbor2, and boto3 (whose botocore
speaks rpcv2Cbor to CloudWatch too)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import cbor2
import requests

from .conftest import make_service, settled, wait_for

PATH = "/service/GraniteServiceVersion20100801/operation/"
HEADERS = {
    "smithy-protocol": "rpc-v2-cbor",
    "Content-Type": "application/cbor",
    "Accept": "application/cbor",
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/monitoring/aws4_request, "
    "SignedHeaders=host, Signature=0",
}
DIMS = [{"Name": "TargetGroup", "Value": "targetgroup/web/abc"}, {"Name": "LoadBalancer", "Value": "app/lb/1"}]


def call(url: str, op: str, doc: dict):
    r = requests.post(url + PATH + op, data=cbor2.dumps(doc), headers=HEADERS, timeout=10)
    return r, (cbor2.loads(r.content) if r.content else None)


def test_put_and_get_metric_data_with_percentiles_and_math(standin):
    now = int(time.time())
    minute = now - now % 60 - 120  # a whole minute in the past
    ts = cbor2.CBORTag(1, minute + 10)
    r, body = call(
        standin.url,
        "PutMetricData",
        {
            "Namespace": "AWS/ApplicationELB",
            "MetricData": [
                {"MetricName": "RequestCount", "Dimensions": DIMS, "Timestamp": ts, "Value": 200.0, "Unit": "Count"},
                {"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": DIMS, "Timestamp": ts, "Value": 10.0},
                {
                    "MetricName": "TargetResponseTime",
                    "Dimensions": DIMS,
                    "Timestamp": ts,
                    "Values": [float(i) / 100 for i in range(1, 101)],
                },
            ],
        },
    )
    assert r.status_code == 200, body
    assert r.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert r.headers["Content-Type"] == "application/cbor"

    def q(qid, name, stat):
        return {
            "Id": qid,
            "MetricStat": {
                "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": name, "Dimensions": DIMS},
                "Period": 60,
                "Stat": stat,
            },
            "ReturnData": False,
        }

    queries = [
        q("m1", "HTTPCode_Target_5XX_Count", "Sum"),
        q("m2", "RequestCount", "Sum"),
        q("p99", "TargetResponseTime", "p99"),
        q("p95", "TargetResponseTime", "p95"),
        q("avg", "TargetResponseTime", "Average"),
        q("mx", "TargetResponseTime", "Maximum"),
        q("n", "TargetResponseTime", "SampleCount"),
        {"Id": "rate", "Expression": "100*m1/m2", "Label": "5xx rate"},
    ]
    for item in queries[2:7]:
        item["ReturnData"] = True
    r, body = call(
        standin.url,
        "GetMetricData",
        {
            "MetricDataQueries": queries,
            "StartTime": cbor2.CBORTag(1, minute - 300),
            "EndTime": datetime.fromtimestamp(now + 60, tz=UTC),  # cbor2 sends tag 1 too
        },
    )
    assert r.status_code == 200, body
    results = {m["Id"]: m for m in body["MetricDataResults"]}
    assert set(results) == {"p99", "p95", "avg", "mx", "n", "rate"}  # ReturnData False hidden
    rate = results["rate"]
    assert rate["Label"] == "5xx rate" and rate["StatusCode"] == "Complete"
    assert rate["Values"] == [5.0]
    assert results["p99"]["Values"] == [0.99] and results["p95"]["Values"] == [0.95]
    assert abs(results["avg"]["Values"][0] - 0.505) < 1e-9
    assert results["mx"]["Values"] == [1.0] and results["n"]["Values"] == [100.0]
    assert all(isinstance(v, float) for v in results["n"]["Values"])  # doubles stay float64
    (stamp,) = rate["Timestamps"]
    # cbor2 decodes tag 1 into an aware datetime: the wire value was an epoch-seconds tag.
    assert isinstance(stamp, datetime) and stamp.timestamp() == minute

    raw = requests.post(
        standin.url + PATH + "GetMetricData",
        headers=HEADERS,
        timeout=10,
        data=cbor2.dumps(
            {
                "MetricDataQueries": [queries[-1], queries[0], queries[1]],
                "StartTime": cbor2.CBORTag(1, minute - 300),
                "EndTime": cbor2.CBORTag(1, now + 60),
            }
        ),
    )
    # On the wire: tag 1 (0xc1) + uint32 (0x1a) epoch seconds, and Values as float64 (0xfb).
    assert b"\xc1\x1a" + minute.to_bytes(4, "big") in raw.content
    assert b"\xfb" + cbor2.dumps(5.0)[1:] in raw.content


def test_no_data_is_empty_not_zero(standin):
    now = int(time.time())
    r, body = call(
        standin.url,
        "GetMetricData",
        {
            "MetricDataQueries": [
                {
                    "Id": "m1",
                    "MetricStat": {
                        "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount", "Dimensions": DIMS},
                        "Period": 60,
                        "Stat": "Sum",
                    },
                },
                {"Id": "e", "Expression": "100*m1/m1"},
            ],
            "StartTime": cbor2.CBORTag(1, now - 600),
            "EndTime": cbor2.CBORTag(1, now),
        },
    )
    assert r.status_code == 200
    assert [(m["Id"], m["Values"], m["Timestamps"]) for m in body["MetricDataResults"]] == [
        ("m1", [], []),
        ("e", [], []),
    ]


def test_errors_carry_type_and_query_error_header(standin):
    r, body = call(standin.url, "SetAlarmState", {"AlarmName": "nope", "StateValue": "ALARM", "StateReason": "x"})
    assert r.status_code == 404
    assert body["__type"] == "com.amazonaws.cloudwatch#ResourceNotFound"
    assert r.headers["x-amzn-query-error"] == "ResourceNotFound;Sender"
    r, body = call(
        standin.url,
        "GetMetricData",
        {
            "MetricDataQueries": [{"Id": "e", "Expression": "100*(m1"}],
            "StartTime": cbor2.CBORTag(1, 10),
            "EndTime": cbor2.CBORTag(1, 20),
        },
    )
    assert r.status_code == 400
    assert body["__type"] == "com.amazonaws.cloudwatch#ValidationError" or body["__type"].startswith(
        "com.amazonaws.cloudwatch#"
    )
    assert r.headers["x-amzn-query-error"] == "ValidationError;Sender"


def test_boto3_alarms_and_metric_data(standin):
    cw = standin.client("cloudwatch")
    cw.put_metric_alarm(
        AlarmName="web-5xx",
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Dimensions=DIMS,
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
    )
    cw.set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="test")
    alarms = cw.describe_alarms(AlarmNames=["web-5xx"])["MetricAlarms"]
    assert alarms[0]["StateValue"] == "ALARM" and isinstance(alarms[0]["StateUpdatedTimestamp"], datetime)
    cw.put_metric_data(Namespace="Berth", MetricData=[{"MetricName": "X", "Value": 3.0}])
    now = datetime.now(UTC)
    out = cw.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "x",
                "MetricStat": {"Metric": {"Namespace": "Berth", "MetricName": "X"}, "Period": 60, "Stat": "Sum"},
            }
        ],
        StartTime=datetime.fromtimestamp(now.timestamp() - 300, tz=UTC),
        EndTime=datetime.fromtimestamp(now.timestamp() + 60, tz=UTC),
    )
    assert out["MetricDataResults"][0]["Values"] == [3.0]


def test_simulator_feeds_alb_metrics_by_behaviour(standin):
    standin.control("images", {"image": "repo/web:canary-bad", "behaviour": "canary-bad"})
    standin.control("load-balancers", {"targetGroupArn": "placeholder", "loadBalancer": "app/x/1"})  # unrelated TG
    svc = make_service(standin, images=("repo/web:v1", "repo/web:canary-bad"), desired=2)
    wait_for(lambda: settled(svc), what="initial deployment")
    svc["ecs"].update_service(cluster="prod", service="web", taskDefinition=svc["tds"][1])
    wait_for(
        lambda: (lambda s: s and s["deployments"][0]["taskDefinition"] == svc["tds"][1])(settled(svc)),
        what="canary-bad rollout",
    )
    tg_dim = svc["tg"].split(":")[-1]
    dims = [
        {"Name": "TargetGroup", "Value": tg_dim},
        {"Name": "LoadBalancer", "Value": "app/berth-local/0123456789abcdef"},
    ]
    cw = standin.client("cloudwatch")
    start = datetime.fromtimestamp(time.time(), tz=UTC)  # only datapoints of the bad tasks
    time.sleep(0.5)

    def metric(qid, name, stat):
        return {
            "Id": qid,
            "MetricStat": {
                "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": name, "Dimensions": dims},
                "Period": 60,
                "Stat": stat,
            },
        }

    out = cw.get_metric_data(
        MetricDataQueries=[
            metric("e", "HTTPCode_Target_5XX_Count", "Sum"),
            metric("r", "RequestCount", "Sum"),
            metric("lat", "TargetResponseTime", "p99"),
            {"Id": "rate", "Expression": "100*e/r"},
        ],
        StartTime=start,
        EndTime=datetime.fromtimestamp(time.time() + 60, tz=UTC),
    )
    res = {m["Id"]: m["Values"] for m in out["MetricDataResults"]}
    assert res["r"] and all(v > 0 for v in res["r"])
    assert all(25 <= v <= 35 for v in res["rate"]), res
    assert all(v >= 1.2 for v in res["lat"]), res


def cbor_client(standin, monkeypatch):
    """A boto3 CloudWatch client forced onto botocore's own rpcv2Cbor serializer/parser (botocore
    prefers awsJson1.0 for CloudWatch; the Rust SDK uses rpcv2Cbor)."""
    import botocore.model

    monkeypatch.setattr(botocore.model, "PRIORITY_ORDERED_SUPPORTED_PROTOCOLS", ("smithy-rpc-v2-cbor", "json", "query"))
    cw = standin.client("cloudwatch")
    assert cw.meta.service_model.resolved_protocol == "smithy-rpc-v2-cbor"
    seen = []
    cw.meta.events.register("before-send", lambda request, **_: seen.append(request.url))
    return cw, seen


def test_botocore_rpcv2cbor_client_round_trip(standin, monkeypatch):
    cw, seen = cbor_client(standin, monkeypatch)
    cw.put_metric_data(
        Namespace="Berth",
        MetricData=[{"MetricName": "Latency", "Dimensions": DIMS, "Values": [float(i) for i in range(1, 101)]}],
    )
    cw.put_metric_alarm(
        AlarmName="lat",
        Namespace="Berth",
        MetricName="Latency",
        Dimensions=DIMS,
        ExtendedStatistic="p99",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
    )
    cw.set_alarm_state(AlarmName="lat", StateValue="ALARM", StateReason="test")
    alarm = cw.describe_alarms(AlarmNames=["lat"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM" and isinstance(alarm["StateUpdatedTimestamp"], datetime)
    now = time.time()
    out = cw.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "p",
                "MetricStat": {
                    "Metric": {"Namespace": "Berth", "MetricName": "Latency", "Dimensions": DIMS},
                    "Period": 60,
                    "Stat": "p99",
                },
            },
            {"Id": "half", "Expression": "p/2"},
        ],
        StartTime=datetime.fromtimestamp(now - 300, tz=UTC),
        EndTime=datetime.fromtimestamp(now + 60, tz=UTC),
    )
    res = {m["Id"]: m for m in out["MetricDataResults"]}
    assert res["p"]["Values"] == [99.0] and res["half"]["Values"] == [49.5]
    assert isinstance(res["p"]["Timestamps"][0], datetime)
    try:
        cw.set_alarm_state(AlarmName="missing", StateValue="OK", StateReason="x")
        raise AssertionError("expected ResourceNotFound")
    except cw.exceptions.ResourceNotFound:
        pass
    assert seen and all("/service/GraniteServiceVersion20100801/operation/" in u for u in seen)
