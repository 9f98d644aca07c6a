"""Throttling on demand: the stand-in refuses a chosen share of the calls to an API, with the answer
the real service gives when it throttles (see README, "Throttling").

Rules are keyed like IAM actions, `service:Operation` (`ecs:DescribeServices`), `service:*` or `*`;
the most specific rule wins. Decisions come from one seeded random stream per API, so a run with
the same seed and the same sequence of calls to an API throttles the same calls.

Token buckets, as AWS throttles (ECS's documented "burst" and "sustained" rates): an API with a
bucket is throttled whenever its bucket is empty, whatever the share rules say.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import urllib.parse
import uuid

# X-Amz-Target prefix -> IAM service prefix (the first part of a rule key).
TARGET_SERVICES = {
    "AmazonEC2ContainerServiceV20141113": "ecs",
    "CodeDeploy_20141006": "codedeploy",
    "GraniteServiceVersion20100801": "cloudwatch",
    "AWSStepFunctions": "states",
    "AmazonSSM": "ssm",
    "AWSEvents": "events",
    "Logs_20140328": "logs",
    "DynamoDB_20120810": "dynamodb",
    "AmazonSQS": "sqs",
}
# SigV4 signing name -> IAM service prefix, where they differ.
SIGNING_SERVICES = {"monitoring": "cloudwatch"}
# awsQueryCompatible services answer with the query error code (x-amzn-query-error) and this code.
QUERY_COMPATIBLE_CODE = {"cloudwatch": "Throttling", "sqs": "RequestThrottled"}
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/")


class Throttler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rules: dict[str, float] = {}
        self.seed: int | str = 0
        self.calls: dict[str, dict[str, int]] = {}
        self._streams: dict[str, random.Random] = {}
        # api -> [burst, per second, tokens, monotonic time of the last refill]
        self.buckets: dict[str, list[float]] = {}
        self.clock = time.monotonic

    # ------------------------------------------------------------ control

    def reset(self) -> None:
        with self.lock:
            self.rules = {}
            self.seed = 0
            self.calls = {}
            self._streams = {}
            self.buckets = {}

    def configure(self, doc: dict) -> dict:
        """`{"ecs:*": 0.6, "ecs:DescribeServices": 1.0, "seed": 7}` (or the same under "rules"),
        and `"buckets": {"ecs:DescribeServices": [100, 20]}` (burst, refill per second; full at
        first). Replaces the rules and the buckets (a share of 0 exempts an API from a wildcard
        rule). Counts are kept (DELETE /_berth/throttle and reset clear them)."""
        rules = dict(doc.get("rules", {}))
        rules.update({k: v for k, v in doc.items() if k not in ("rules", "seed", "buckets")})
        buckets: dict[str, list[float]] = {}
        for key, spec in dict(doc.get("buckets", {})).items():
            if not isinstance(key, str) or not re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", key):
                raise ValueError(f"bucket key {key!r}: use 'service:Operation'")
            if not (
                isinstance(spec, list) and len(spec) == 2 and all(isinstance(x, (int, float)) and x > 0 for x in spec)
            ):
                raise ValueError(f"bucket {key}: {spec!r} is not [burst, per second], both above 0")
            burst, rate = float(spec[0]), float(spec[1])
            buckets[key] = [burst, rate, burst, self.clock()]
        clean: dict[str, float] = {}
        for key, share in rules.items():
            if not isinstance(key, str) or not (key == "*" or re.fullmatch(r"[a-z0-9-]+:(\*|[A-Za-z0-9]+)", key)):
                raise ValueError(f"rule key {key!r}: use 'service:Operation', 'service:*' or '*'")
            share = float(share)
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"rule {key}: share {share} is not between 0 and 1")
            clean[key] = share
        with self.lock:
            self.rules = clean
            self.buckets = buckets
            if "seed" in doc:
                self.seed = doc["seed"]
            self._streams = {}
        return self.view()

    def view(self) -> dict:
        with self.lock:
            return {
                "rules": dict(self.rules),
                "seed": self.seed,
                "buckets": {k: b[:2] for k, b in sorted(self.buckets.items())},
                "calls": {k: dict(v) for k, v in sorted(self.calls.items())},
            }

    # ------------------------------------------------------------ decisions

    def share_for(self, api: str) -> float:
        service = api.split(":", 1)[0]
        for key in (api, f"{service}:*", "*"):
            if key in self.rules:
                return self.rules[key]
        return 0.0

    def decide(self, api: str) -> bool:
        """Count one call to `api`; True if it is to be throttled."""
        with self.lock:
            counts = self.calls.setdefault(api, {"calls": 0, "throttled": 0})
            counts["calls"] += 1
            bucket = self.buckets.get(api)
            if bucket is not None:
                burst, rate, tokens, last = bucket
                now = self.clock()
                tokens = min(burst, tokens + (now - last) * rate)
                bucket[2:] = [tokens - 1 if tokens >= 1 else tokens, now]
                if tokens < 1:
                    counts["throttled"] += 1
                    return True
            share = self.share_for(api)
            if share <= 0:
                return False
            stream = self._streams.get(api)
            if stream is None:
                stream = self._streams[api] = random.Random(f"{self.seed}:{api}")
            if stream.random() < share:
                counts["throttled"] += 1
                return True
            return False


def cbor_api(service_id: str, op: str) -> str:
    """Rule key of an rpcv2Cbor call (POST /service/{service_id}/operation/{op})."""
    return f"{TARGET_SERVICES.get(service_id, service_id)}:{op}"


def identify(environ, body: bytes | None) -> tuple[str, str] | None:
    """(api, protocol) of an awsJson (X-Amz-Target) or query (Action=) request, e.g.
    ("ecs:DescribeServices", "json"); None for anything else (REST APIs are not identified)."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if "." in target:
        prefix, op = target.rsplit(".", 1)
        return f"{TARGET_SERVICES.get(prefix, prefix.lower())}:{op}", "json"
    action = None
    if environ.get("QUERY_STRING"):
        action = urllib.parse.parse_qs(environ["QUERY_STRING"]).get("Action", [None])[-1]
    if action is None and body and "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action", [None])[-1]
    if action:
        m = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = m.group(1) if m else "unknown"
        return f"{SIGNING_SERVICES.get(service, service)}:{action}", "query"
    return None


def throttled_response(api: str, protocol: str, environ) -> tuple[int, dict, bytes]:
    """The answer of a throttled call, as the real service (and protocol) gives it."""
    service = api.split(":", 1)[0]
    request_id = str(uuid.uuid4())
    if protocol == "lambda":
        # Lambda Invoke: 429 TooManyRequestsException (Type/message/Reason members, botocore's model).
        body = {"Reason": "ConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."}
        headers = {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": "TooManyRequestsException",
            "x-amzn-RequestId": request_id,
        }
        return 429, headers, json.dumps(body).encode()
    if protocol == "cbor":
        from . import cloudwatch_cbor

        status, headers, out = cloudwatch_cbor.error_response(
            cloudwatch_cbor.CloudWatchError("Throttling", "Rate exceeded", 400, "Sender")
        )
        headers["x-amzn-requestid"] = request_id
        return status, headers, out
    if protocol == "json":
        content_type = environ.get("CONTENT_TYPE") or "application/x-amz-json-1.1"
        headers = {"Content-Type": content_type, "x-amzn-RequestId": request_id}
        code = QUERY_COMPATIBLE_CODE.get(service)
        if code:
            headers["x-amzn-query-error"] = f"{code};Sender"
            body = {"__type": f"com.amazonaws.{service}#{code}", "message": "Rate exceeded"}
        else:
            body = {"__type": "ThrottlingException", "message": "Rate exceeded"}
        return 400, headers, json.dumps(body).encode()
    # query protocol (form-encoded), e.g. CloudWatch as the AWS CLI v1 / old SDKs send it
    code = QUERY_COMPATIBLE_CODE.get(service, "Throttling")
    xml = (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{code}</Code><Message>Rate exceeded</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return 400, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, xml.encode()
