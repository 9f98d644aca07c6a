"""CloudWatch over Smithy RPCv2-CBOR, answered from moto's CloudWatch backend.

aws-sdk-cloudwatch (Rust) and botocore >= 1.40 speak `smithy.protocols#rpcv2Cbor` to CloudWatch:

    POST /service/GraniteServiceVersion20100801/operation/{Operation}
    smithy-protocol: rpc-v2-cbor
    Content-Type: application/cbor          (body: CBOR map of the input structure)

Responses carry `smithy-protocol: rpc-v2-cbor`, `Content-Type: application/cbor` and a CBOR map of
the output structure; timestamps are CBOR tag 1 (epoch seconds, int or float); errors are a CBOR map
`{"__type": "<shape id>", "message": ...}` with a 4xx/5xx status. CloudWatch is `awsQueryCompatible`,
so errors also carry `x-amzn-query-error: Code;Sender`.

moto 5.2.5 does not speak CBOR (404), returns empty values for metric math and 500 for `pNN` stats.
So: GetMetricData is computed here from moto's raw datapoints (all stats incl. percentiles, and
arithmetic metric math). Every other operation is transcoded to moto's awsJson1.0 CloudWatch API
and the JSON answer re-encoded to CBOR along the botocore output shape (so integers stay integers,
doubles are float64 and timestamps are tag 1).
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import botocore.session
import cbor2

TARGET_PREFIX = "GraniteServiceVersion20100801"
SHAPE_NAMESPACE = "com.amazonaws.cloudwatch"
CBOR_CONTENT_TYPE = "application/cbor"

_MODEL = None


def service_model():
    global _MODEL
    if _MODEL is None:
        _MODEL = botocore.session.get_session().get_service_model("cloudwatch")
    return _MODEL


class CloudWatchError(Exception):
    def __init__(self, code: str, message: str, status: int = 400, fault: str = "Sender"):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fault = fault


# ---------------------------------------------------------------- time helpers


def to_epoch(value: Any) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    raise CloudWatchError("ValidationError", f"not a timestamp: {value!r}")


def epoch_tag(seconds: float) -> cbor2.CBORTag:
    """CBOR tag 1 (epoch-based date/time): int when whole, else float64."""
    if float(seconds).is_integer():
        return cbor2.CBORTag(1, int(seconds))
    return cbor2.CBORTag(1, float(seconds))


# ---------------------------------------------------------------- CBOR <-> shapes


def cbor_to_json(value: Any) -> Any:
    """Decoded CBOR request -> the awsJson document moto's JSON handlers read."""
    if isinstance(value, dict):
        return {k: cbor_to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [cbor_to_json(v) for v in value]
    if isinstance(value, datetime):
        return to_epoch(value)
    if isinstance(value, cbor2.CBORTag) and value.tag == 1:
        return float(value.value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    return value


def shape_to_cbor_value(value: Any, shape) -> Any:
    """A JSON-ish value (from moto's JSON answer or computed here) -> CBOR-ready value per shape."""
    if value is None:
        return None
    t = shape.type_name
    if t == "structure":
        out = {}
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                out[name] = shape_to_cbor_value(value[name], member)
        return out
    if t == "list":
        return [shape_to_cbor_value(v, shape.member) for v in value]
    if t == "map":
        return {k: shape_to_cbor_value(v, shape.value) for k, v in value.items()}
    if t == "timestamp":
        return epoch_tag(to_epoch(value))
    if t in ("double", "float"):
        return float(value)
    if t in ("integer", "long", "short", "byte"):
        return int(value)
    if t == "boolean":
        return bool(value)
    if t == "blob":
        return base64.b64decode(value) if isinstance(value, str) else bytes(value)
    return value


def encode_output(operation: str, result: dict) -> bytes:
    op = service_model().operation_model(operation)
    if op.output_shape is None:
        return cbor2.dumps({})
    return cbor2.dumps(shape_to_cbor_value(result, op.output_shape))


def error_shape_name(code: str) -> str:
    """Query error code (e.g. ResourceNotFound) -> the error shape's name in the model."""
    model = service_model()
    if code in model.shape_names:
        return code
    for name in model.shape_names:
        shape = model.shape_for(name)
        if shape.metadata.get("exception") and shape.metadata.get("error", {}).get("code") == code:
            return name
    return code


def error_response(err: CloudWatchError) -> tuple[int, dict, bytes]:
    body = {"__type": f"{SHAPE_NAMESPACE}#{error_shape_name(err.code)}", "message": err.message}
    headers = {
        "Content-Type": CBOR_CONTENT_TYPE,
        "smithy-protocol": "rpc-v2-cbor",
        "x-amzn-query-error": f"{err.code};{err.fault}",
    }
    return err.status, headers, cbor2.dumps(body)


# ---------------------------------------------------------------- GetMetricData

_PCT = re.compile(r"^p(\d+(?:\.\d+)?)$")


def _stat(values: list[float], aggregated: list[Any], stat: str) -> float | None:
    """values: raw samples; aggregated: moto MetricAggregatedDatum (statistic sets)."""
    n = len(values) + sum(a.sample_count for a in aggregated)
    if n == 0:
        return None
    total = sum(values) + sum(a.sum for a in aggregated)
    if stat == "Sum":
        return total
    if stat == "SampleCount":
        return float(n)
    if stat == "Average":
        return total / n
    if stat == "Minimum":
        return min(values + [a.min for a in aggregated])
    if stat == "Maximum":
        return max(values + [a.max for a in aggregated])
    m = _PCT.match(stat)
    if m:
        if not values:  # statistic sets carry no distribution
            return None
        p = float(m.group(1))
        ordered = sorted(values)
        rank = max(1, math.ceil(p / 100.0 * len(ordered)))  # nearest-rank percentile
        return ordered[min(rank, len(ordered)) - 1]
    raise CloudWatchError("InvalidParameterValue", f"The value {stat} for parameter Stat is not supported.")


def _dims_key(dims: list) -> frozenset:
    out = set()
    for d in dims or []:
        if isinstance(d, dict):
            out.add((d["Name"], d.get("Value")))
        else:  # moto Dimension object
            out.add((d.name, d.value))
    return frozenset(out)


def metric_stat_series(backend, ms: dict, start: float, end: float, period_override: int | None):
    metric = ms["Metric"]
    period = int(ms.get("Period") or period_override or 60)
    stat = ms["Stat"]
    unit = ms.get("Unit")
    want_dims = _dims_key(metric.get("Dimensions"))
    buckets: dict[int, tuple[list[float], list[Any]]] = {}  # period start (epoch s) -> data
    for datum in backend.get_all_metrics():
        if datum.namespace != metric.get("Namespace") or datum.name != metric.get("MetricName"):
            continue
        if _dims_key(datum.dimensions) != want_dims:
            continue
        if unit and datum.unit and datum.unit != unit:
            continue
        ts = to_epoch(datum.timestamp)
        if ts < start or ts >= end:
            continue
        b = math.floor(ts / period) * period
        raw, agg = buckets.setdefault(b, ([], []))
        if hasattr(datum, "value"):
            raw.append(float(datum.value))
        else:
            agg.append(datum)
    series = {}
    for b, (raw, agg) in buckets.items():
        v = _stat(raw, agg, stat)
        if v is not None:
            series[b] = float(v)
    return series


# A tiny metric-math evaluator: numbers, query ids, + - * /, parentheses, unary minus,
# FILL(series, number), ABS(x). Series op series keeps timestamps present in both; division by
# zero drops the point.
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(.))")


def _tokens(expr: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    expr = expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            break
        pos = m.end()
        if m.group(1):
            out.append(("num", m.group(1)))
        elif m.group(2):
            out.append(("id", m.group(2)))
        elif m.group(3) and not m.group(3).isspace():
            out.append(("op", m.group(3)))
    return out


def evaluate_expression(expr: str, env: dict[str, dict[float, float]]):
    toks = _tokens(expr)
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else ("end", "")

    def take(kind=None, val=None):
        nonlocal pos
        t = peek()
        if (kind and t[0] != kind) or (val and t[1] != val):
            raise CloudWatchError("ValidationError", f"Error in expression '{expr}': unexpected '{t[1]}'")
        pos += 1
        return t

    def binop(a, b, f: Callable[[float, float], float | None]):
        if isinstance(a, dict) and isinstance(b, dict):
            keys = a.keys() & b.keys()
            res = {k: f(a[k], b[k]) for k in keys}
        elif isinstance(a, dict):
            res = {k: f(v, b) for k, v in a.items()}
        elif isinstance(b, dict):
            res = {k: f(a, v) for k, v in b.items()}
        else:
            return f(a, b)
        return {k: v for k, v in res.items() if v is not None}

    def div(x, y):
        return None if y == 0 else x / y

    def primary():
        t = peek()
        if t[0] == "num":
            take()
            return float(t[1])
        if t == ("op", "("):
            take()
            v = expr_sum()
            take("op", ")")
            return v
        if t == ("op", "-"):
            take()
            return binop(-1.0, primary(), lambda x, y: x * y)
        if t[0] == "id":
            take()
            name = t[1]
            if peek() == ("op", "("):
                take()
                args = [expr_sum()]
                while peek() == ("op", ","):
                    take()
                    args.append(expr_sum())
                take("op", ")")
                fn = name.upper()
                if fn == "FILL" and len(args) == 2 and isinstance(args[0], dict):
                    fill = args[1]
                    if isinstance(fill, dict):
                        raise CloudWatchError("ValidationError", "FILL value must be a number")
                    # Fill over every timestamp any series in the query has.
                    stamps = set().union(*[set(s) for s in env.values()]) if env else set()
                    return {k: args[0].get(k, fill) for k in stamps | set(args[0])}
                if fn == "ABS" and len(args) == 1:
                    return binop(args[0], 0.0, lambda x, _y: abs(x))
                raise CloudWatchError("ValidationError", f"Unsupported function {name} in '{expr}' (stand-in)")
            if name not in env:
                raise CloudWatchError("ValidationError", f"Error in expression '{expr}': Unrecognized id {name}")
            return env[name]
        raise CloudWatchError("ValidationError", f"Error in expression '{expr}': unexpected '{t[1]}'")

    def term():
        v = primary()
        while peek() in (("op", "*"), ("op", "/")):
            op = take()[1]
            rhs = primary()
            v = binop(v, rhs, (lambda x, y: x * y) if op == "*" else div)
        return v

    def expr_sum():
        v = term()
        while peek() in (("op", "+"), ("op", "-")):
            op = take()[1]
            rhs = term()
            v = binop(v, rhs, (lambda x, y: x + y) if op == "+" else (lambda x, y: x - y))
        return v

    result = expr_sum()
    if peek()[0] != "end":
        raise CloudWatchError("ValidationError", f"Error in expression '{expr}': unexpected '{peek()[1]}'")
    return result


def get_metric_data(backend, params: dict) -> dict:
    queries = params.get("MetricDataQueries") or []
    if not queries:
        raise CloudWatchError("ValidationError", "MetricDataQueries must not be empty")
    start = to_epoch(params["StartTime"])
    end = to_epoch(params["EndTime"])
    if start >= end:
        raise CloudWatchError("ValidationError", "The parameter EndTime must be greater than StartTime.")
    descending = params.get("ScanBy", "TimestampDescending") != "TimestampAscending"
    env: dict[str, dict[float, float]] = {}
    results = []
    pending = []
    for q in queries:
        if "MetricStat" in q:
            env[q["Id"]] = metric_stat_series(backend, q["MetricStat"], start, end, q.get("Period"))
        else:
            pending.append(q)
    # Expressions may refer to expressions: evaluate in order, retrying until no progress.
    while pending:
        progressed = False
        for q in list(pending):
            try:
                value = evaluate_expression(q["Expression"], env)
            except CloudWatchError as e:
                if "Unrecognized id" in e.message:
                    continue
                raise
            if not isinstance(value, dict):  # a constant: CloudWatch needs a time series
                value = {}
            env[q["Id"]] = value
            pending.remove(q)
            progressed = True
        if not progressed:
            evaluate_expression(pending[0]["Expression"], env)  # raises the id error
    for q in queries:
        if q.get("ReturnData") is False:
            continue
        series = env.get(q["Id"], {})
        stamps = sorted(series, reverse=descending)
        label = q.get("Label")
        if not label:
            label = q["MetricStat"]["Metric"]["MetricName"] if "MetricStat" in q else q["Id"]
        results.append(
            {
                "Id": q["Id"],
                "Label": label,
                "Timestamps": stamps,
                "Values": [series[s] for s in stamps],
                "StatusCode": "Complete",
                "Messages": [],
            }
        )
    return {"MetricDataResults": results, "Messages": []}


# ---------------------------------------------------------------- dispatch


def handle_json_get_metric_data(body: bytes, region: str, account: str) -> tuple[int, dict, bytes]:
    """GetMetricData over awsJson1.0 (what botocore/boto3 send): same computation as the CBOR path."""
    from moto.cloudwatch.models import cloudwatch_backends

    try:
        params = json.loads(body or b"{}")
        result = get_metric_data(cloudwatch_backends[account][region], params)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(result).encode()
    except CloudWatchError as e:
        err = e
    except (ValueError, KeyError, TypeError) as e:
        err = CloudWatchError("ValidationError", f"{type(e).__name__}: {e}")
    error = {"__type": f"{SHAPE_NAMESPACE}#{error_shape_name(err.code)}", "message": err.message}
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-query-error": f"{err.code};{err.fault}"}
    return err.status, headers, json.dumps(error).encode()


def handle(operation: str, body: bytes, region: str, account: str, moto_json_call) -> tuple[int, dict, bytes]:
    """Answer one rpcv2Cbor CloudWatch call. moto_json_call(operation, params) -> (status, headers, bytes)."""
    from moto.cloudwatch.models import cloudwatch_backends

    ok_headers = {"Content-Type": CBOR_CONTENT_TYPE, "smithy-protocol": "rpc-v2-cbor"}
    try:
        try:
            service_model().operation_model(operation)
        except Exception:
            raise CloudWatchError("UnknownOperationException", f"Unknown operation {operation}", 404) from None
        params = cbor2.loads(body) if body else {}
        if not isinstance(params, dict):
            raise CloudWatchError("SerializationException", "body is not a CBOR map")
        if operation == "GetMetricData":
            result = get_metric_data(cloudwatch_backends[account][region], params)
            return 200, ok_headers, encode_output(operation, result)
        status, headers, raw = moto_json_call(operation, cbor_to_json(params))
        doc = json.loads(raw or b"{}") if raw else {}
        if status >= 400:
            code = (
                headers.get("x-amzn-query-error", "").split(";")[0]
                or str(doc.get("__type", "InternalFailure")).split("#")[-1]
            )
            fault = "Receiver" if status >= 500 else "Sender"
            raise CloudWatchError(code, doc.get("message") or doc.get("Message") or "error", status, fault)
        return 200, ok_headers, encode_output(operation, doc)
    except CloudWatchError as e:
        return error_response(e)
    except (ValueError, KeyError, TypeError, cbor2.CBORDecodeError) as e:
        return error_response(CloudWatchError("ValidationError", f"{type(e).__name__}: {e}"))
