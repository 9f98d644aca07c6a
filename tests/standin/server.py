"""berth's local AWS stand-in: one process, one HTTP endpoint on loopback.

    .berth/venv/bin/python -m tests.standin.server --port 5055 --lambda-url http://127.0.0.1:9000
    .berth/venv/bin/python -m tests.standin.server --port 5055 --lambda-urls urls.json

Routes (first match wins):
  POST /2015-03-31/functions/{name}/invocations  Lambda Invoke -> the function's own runtime emulator
                                                 (--lambda-urls: name -> a `cargo lambda watch
                                                 --only-lambda-apis`, invoked as its function `_`),
                                                 else --lambda-url (one emulator, invoked by name),
                                                 or a stub registered through the control API.
                                                 A handler error (cargo-lambda: HTTP 500) becomes
                                                 200 + X-Amz-Function-Error: Unhandled, as in AWS;
                                                 the template's Timeout is enforced (Sandbox.Timedout);
                                                 an unreachable runtime is a 500 ServiceException.
  POST /service/GraniteServiceVersion20100801/operation/{Op}
                                                 CloudWatch over Smithy RPCv2-CBOR (cloudwatch_cbor).
  X-Amz-Target: CodeDeploy_20141006.*            CodeDeploy blue/green simulator for ECS (codedeploy_sim);
                                                 moto's CodeDeploy backend is never used.
  /_berth/listener/{cluster}/{service}/{prod|test}[/...]
                                                 answers like the service's ALB listener would.
  /_berth/...                                    JSON control API for tests (see README.md).
  everything else                                moto 5.2.5, in this process, with the ECS
                                                 simulator patched in (ecs_sim).

moto's Step Functions interpreter is switched on and calls Lambda at http://localhost:$MOTO_PORT;
MOTO_PORT is set to this server's port, so those calls come back to the Lambda route above.
Any awsJson/rpcv2Cbor/query API and Lambda Invoke can be throttled on demand (POST /_berth/throttle).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import re
import sys
import threading
import time
import traceback
import urllib.parse
from pathlib import Path
from typing import Any

from . import clock

DEFAULT_ACCOUNT = "123456789012"
LAMBDA_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
CBOR_PATH = re.compile(r"^/service/(?P<service>[^/]+)/operation/(?P<op>[^/]+)/?$")
ECS_TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
CW_TARGET_PREFIX = "GraniteServiceVersion20100801."
CD_TARGET_PREFIX = "CodeDeploy_20141006."
LISTENER_PATH = re.compile(r"^/listener/(?P<cluster>[^/]+)/(?P<service>[^/]+)/(?P<listener>[^/]+)(?:/.*)?$")
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
DEFAULT_TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
UPSTREAM_TIMEOUT = 900  # seconds; the first `cargo lambda watch` call of a function compiles it
INVOCATION_LOG = 500  # the last invocations of every function, together (/_berth/lambda-invocations)
# ... and of each function on its own (?function=NAME): a busy function (a rollout's polls, ECS's
# events) cannot push another's out of this one
INVOCATIONS_PER_FUNCTION = 50
# What a per-function emulator (--lambda-urls) is invoked as: `cargo lambda watch` refuses names
# that are no binary of the workspace, but serves its default function `_` to whatever polls its
# bare Runtime API routes (with --only-lambda-apis, the berth-lambda process started for it).
DEFAULT_FUNCTION = "_"


def load_lambda_urls(value: str | None) -> dict[str, str]:
    """--lambda-urls: a JSON object {function name: emulator base URL}, inline or in a file."""
    if not value:
        return {}
    text = value if value.lstrip().startswith("{") else Path(value).read_text()
    urls = json.loads(text)
    if not isinstance(urls, dict) or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in urls.items()):
        raise ValueError("--lambda-urls must be a JSON object of function name -> URL")
    return {k: v.rstrip("/") for k, v in urls.items()}


def function_name(raw: str) -> str:
    """`NAME`, `NAME:qualifier`, `ACCOUNT:function:NAME` or a full ARN -> NAME."""
    raw = urllib.parse.unquote(raw)
    if raw.startswith("arn:"):
        parts = raw.split(":")
        return parts[6] if len(parts) > 6 else raw
    parts = raw.split(":")
    if len(parts) >= 3 and parts[1] == "function":
        return parts[2]
    return parts[0]


def region_from_auth(headers: dict) -> str:
    auth = headers.get("authorization", "")
    m = re.search(r"Credential=[^/]+/\d+/([^/]+)/", auth)
    return m.group(1) if m else os.environ.get("AWS_DEFAULT_REGION", "us-east-1")


class Front:
    def __init__(
        self,
        lambda_url: str | None,
        port: int,
        template: str | Path | None = None,
        timeout_scale: float = 1.0,
        lambda_urls: dict[str, str] | None = None,
    ):
        from moto.server import DomainDispatcherApplication, create_backend_app

        from . import aws_limits, codedeploy_sim, ecs_sim, sfn_patch
        from .lambda_limits import LambdaLimits
        from .throttle import Throttler

        self.port = port
        self.lambda_url = (lambda_url or "").rstrip("/") or None
        self.lambda_urls = dict(lambda_urls or {})
        self.moto_app = DomainDispatcherApplication(create_backend_app)
        self.sim = ecs_sim.SIM
        self.cd = codedeploy_sim.SIM
        self.cd.port = port
        self.stubs: dict[str, dict] = {}
        self.invocations: list[dict] = []
        self.invocations_by_function: dict[str, collections.deque] = {}
        self.inv_lock = threading.Lock()
        self.throttle = Throttler()
        self.limits = LambdaLimits(template, timeout_scale)
        ecs_sim.install()
        sfn_patch.install()
        self.install_release_pieces()
        aws_limits.install()  # after sfn_patch and ecs_oneoff: it wraps what they installed
        self.configure_moto()

    # ------------------------------------------------------------ moto

    def configure_moto(self) -> None:
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.set_config(MOTO_CONFIG)

    def install_release_pieces(self) -> None:
        """P9's stand-ins: ECR scan findings, one-off ECS tasks, EventBridge Scheduler firing."""
        from . import ecr_scan, ecs_oneoff, schedules

        ecr_scan.install()
        ecs_oneoff.install()
        schedules.install()
        self.scans, self.oneoff, self.schedules = ecr_scan.SCANS, ecs_oneoff.RUNNER, schedules.SCHEDULES

    def reset_all(self) -> None:
        from moto.moto_api._internal.models import moto_api_backend

        with self.sim.lock:
            moto_api_backend.reset()
            self.sim.reset()
            self.cd.reset()
            self.stubs.clear()
            self.throttle.reset()
            self.limits.reset()
            self.scans.reset()
            self.oneoff.reset()
            self.schedules.reset()
            clock.reset()
            with self.inv_lock:
                self.invocations.clear()
                self.invocations_by_function.clear()
            self.configure_moto()

    def moto_json(self, target: str, params: dict, auth: str) -> tuple[int, dict, bytes]:
        from werkzeug.test import Client

        resp = Client(self.moto_app).post(
            "/",
            data=json.dumps(params),
            headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target, "Authorization": auth},
        )
        headers = {k.lower(): v for k, v in resp.headers.items()}
        return resp.status_code, headers, resp.get_data()

    # ------------------------------------------------------------ WSGI

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            throttled = self.maybe_throttle(environ, path, method)
            if throttled:
                return self.respond(start_response, *throttled)
            m = LAMBDA_INVOKE.match(path)
            if m and method == "POST":
                return self.respond(start_response, *self.lambda_invoke(environ, m.group("name")))
            m = CBOR_PATH.match(path)
            if m and method == "POST":
                return self.respond(start_response, *self.cbor(environ, m.group("service"), m.group("op")))
            if path.startswith("/_berth/"):
                return self.respond(start_response, *self.control(environ, path, method))
            if path.rstrip("/") == "/moto-api/reset" and method == "POST":
                self.reset_all()
                return self.respond(start_response, 200, {"Content-Type": "application/json"}, b'{"status": "ok"}')
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if target.startswith(CD_TARGET_PREFIX):
                # CodeDeploy is entirely the simulator's (codedeploy_sim); moto's backend is never used.
                region = region_from_auth(self.headers_of(environ))
                return self.respond(
                    start_response, *self.cd.handle(target[len(CD_TARGET_PREFIX) :], self.body_of(environ), region)
                )
            if target == "GraniteServiceVersion20100801.GetMetricData":
                return self.respond(start_response, *self.json_get_metric_data(environ))
            if target.startswith(ECS_TARGET_PREFIX) or target.startswith(CW_TARGET_PREFIX):
                # Buffer the body so the simulator lock is not held while a client is slow to send.
                with self.sim.lock:
                    return list(self.moto_app(environ, start_response))
            return self.moto_app(environ, start_response)
        except Exception as e:
            traceback.print_exc()
            body = json.dumps({"__type": "InternalFailure", "message": f"stand-in error: {e!r}"}).encode()
            return self.respond(start_response, 500, {"Content-Type": "application/json"}, body)

    def maybe_throttle(self, environ, path: str, method: str) -> tuple[int, dict, bytes] | None:
        """Count the AWS call and, if a /_berth/throttle rule picks it, answer as the service
        does when it throttles (throttle.throttled_response)."""
        from . import throttle

        if path.startswith("/_berth/") or path.startswith("/moto-api/") or method != "POST":
            return None
        if LAMBDA_INVOKE.match(path):
            api, protocol = "lambda:InvokeFunction", "lambda"
        elif m := CBOR_PATH.match(path):
            api, protocol = throttle.cbor_api(m.group("service"), m.group("op")), "cbor"
        else:
            body = None
            if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
                # The query protocol names its operation in the body: read it, then put it back.
                body = self.body_of(environ)
                environ["wsgi.input"] = io.BytesIO(body)
                environ["CONTENT_LENGTH"] = str(len(body))
            found = throttle.identify(environ, body)
            if not found:
                return None
            api, protocol = found
        if not self.throttle.decide(api):
            return None
        if "CONTENT_LENGTH" in environ and not isinstance(environ.get("wsgi.input"), io.BytesIO):
            self.body_of(environ)  # drain the unread request so a kept-alive connection stays in step
        return throttle.throttled_response(api, protocol, environ)

    @staticmethod
    def respond(start_response, status: int, headers: dict, body: bytes):
        from http import HTTPStatus

        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        hdrs = [(k, str(v)) for k, v in headers.items()]
        hdrs.append(("Content-Length", str(len(body))))
        start_response(f"{status} {reason}", hdrs)
        return [body]

    @staticmethod
    def body_of(environ) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        stream = environ["wsgi.input"]
        if length:
            return stream.read(length)
        if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" or environ.get("wsgi.input_terminated"):
            return stream.read()
        return b""

    @staticmethod
    def headers_of(environ) -> dict:
        out = {}
        for k, v in environ.items():
            if k.startswith("HTTP_"):
                out[k[5:].replace("_", "-").lower()] = v
        if environ.get("CONTENT_TYPE"):
            out["content-type"] = environ["CONTENT_TYPE"]
        return out

    # ------------------------------------------------------------ Lambda

    def lambda_invoke(self, environ, raw_name: str) -> tuple[int, dict, bytes]:
        import uuid

        name = function_name(raw_name)
        headers = self.headers_of(environ)
        body = self.body_of(environ)
        inv_type = headers.get("x-amz-invocation-type", "RequestResponse")
        request_id = str(uuid.uuid4())
        record: dict[str, Any] = {
            "function": name,
            "invocationType": inv_type,
            "at": time.time(),
            "requestId": request_id,
        }
        payload_error = None
        try:
            record["payload"] = json.loads(body or b"null")
        except ValueError as e:
            record["payload"] = body.decode("utf-8", "replace")
            payload_error = e
        started = time.monotonic()

        def done(status: int, hdrs: dict, out: bytes) -> tuple[int, dict, bytes]:
            hdrs = {**hdrs, "x-amzn-RequestId": request_id}
            record["status"] = status
            record["functionError"] = hdrs.get("X-Amz-Function-Error")
            record["errorType"] = hdrs.get("x-amzn-ErrorType")
            record["ms"] = round((time.monotonic() - started) * 1000)
            try:
                record["response"] = json.loads(out or b"null")
            except ValueError:
                record["response"] = out.decode("utf-8", "replace")
            with self.inv_lock:
                self.invocations.append(record)
                del self.invocations[:-INVOCATION_LOG]
                self.invocations_by_function.setdefault(
                    name, collections.deque(maxlen=INVOCATIONS_PER_FUNCTION)
                ).append(record)
            return status, hdrs, out

        def api_error(status: int, error_type: str, kind: str, message: str) -> tuple[int, dict, bytes]:
            # Lambda's REST-JSON error: the code in x-amzn-ErrorType, {"Type", "message"} in the body
            # (the member is spelled "Message" in ServiceException and ResourceNotFoundException).
            key = "Message" if error_type in ("ServiceException", "ResourceNotFoundException") else "message"
            body = json.dumps({"Type": kind, key: message}).encode()
            return done(status, {"Content-Type": "application/json", "x-amzn-ErrorType": error_type}, body)

        if payload_error is not None:
            # Lambda refuses a payload that is not JSON before anything runs.
            return api_error(
                400,
                "InvalidRequestContentException",
                "User",
                f"Could not parse request body into json: Could not parse payload into json: {payload_error}",
            )
        if inv_type not in ("RequestResponse", "Event", "DryRun"):
            return api_error(
                400,
                "InvalidParameterValueException",
                "User",
                f"1 validation error detected: Value '{inv_type}' at 'invocationType' failed to satisfy "
                "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
            )
        if inv_type == "DryRun":
            return done(204, {}, b"")
        base = {"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST"}

        def timed_out(seconds: float) -> tuple[int, dict, bytes]:
            # What Lambda answers when the function runs past its Timeout (provided.al2023 runtimes).
            self.limits.count_timeout()
            record["timedOut"] = True
            out = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {request_id} Error: Task timed out after {seconds:.2f} seconds",
            }
            return done(200, {**base, "X-Amz-Function-Error": "Unhandled"}, json.dumps(out).encode())

        stub = self.stubs.get(name)
        if stub is not None:
            if inv_type == "Event":
                # Real Lambda answers an asynchronous invocation with 202 and no payload.
                return done(202, {"Content-Type": "application/json"}, b"")
            delay = float(stub.get("delaySeconds") or 0)
            if delay:
                limit = self.limits.configured_timeout(name)
                if limit is not None and delay > limit:
                    time.sleep(limit)
                    return timed_out(limit)
                time.sleep(delay)
            if "error" in stub:
                return done(200, {**base, "X-Amz-Function-Error": "Unhandled"}, json.dumps(stub["error"]).encode())
            result = record["payload"] if stub.get("echo") else stub.get("result")
            return done(200, base, json.dumps(result).encode())

        upstream = self.upstream(name)
        if upstream is None:
            return api_error(
                404,
                "ResourceNotFoundException",
                "User",
                f"Function not found: {name} (stand-in has no --lambda-urls entry, no --lambda-url and no stub)",
            )
        runtime, url = upstream
        fwd_headers = {"Content-Type": headers.get("content-type", "application/json")}
        for h in ("x-amz-client-context", "x-amz-log-type"):
            if h in headers:
                fwd_headers[h] = headers[h]

        if inv_type == "Event":

            def fire():
                import requests

                try:
                    requests.post(url, data=body, headers=fwd_headers, timeout=UPSTREAM_TIMEOUT)
                    self.limits.mark_warm(name)
                except Exception as e:  # noqa: BLE001 - asynchronous, nobody to tell but the log
                    print(f"standin: async invoke of {name} failed: {e!r}", flush=True)

            threading.Thread(target=fire, daemon=True).start()
            return done(202, {"Content-Type": "application/json"}, b"")

        limit = self.limits.timeout_for(name)
        record["timeoutSeconds"] = limit
        outcome = self.call_upstream(url, body, fwd_headers, limit)
        if outcome is None:
            # Past the function's Timeout. The runtime emulator keeps running the invocation
            # (README): the function counts as cold again, as Lambda replaces a timed-out sandbox.
            assert limit is not None, "only a timed invocation times out"
            self.limits.mark_cold(name)
            return timed_out(limit)
        if isinstance(outcome, Exception):
            import requests

            # The Lambda service side failed (the runtime emulator is down or dropped the call):
            # Lambda answers 500 ServiceException, which Step Functions names Lambda.ServiceException.
            # Every function that emulator serves starts cold when it is back.
            self.limits.mark_cold(name if name in self.lambda_urls else None)
            record["upstreamError"] = repr(outcome)
            if isinstance(outcome, requests.ConnectionError) and "refused" in str(outcome).lower():
                why = "the Lambda runtime refused the connection"
            else:
                why = f"the Lambda runtime failed mid-invocation ({type(outcome).__name__})"
            return api_error(
                500,
                "ServiceException",
                "Service",
                f"Lambda encountered an internal error: {why} (stand-in: runtime emulator at {runtime})",
            )
        self.limits.mark_warm(name)
        status_code, content_type, out = outcome
        if status_code == 200:
            return done(200, base, out)
        parsed = None
        with contextlib.suppress(ValueError):
            parsed = json.loads(out)
        if status_code >= 500 and isinstance(parsed, dict) and ("errorType" in parsed or "errorMessage" in parsed):
            # cargo-lambda: handler error = HTTP 500 {errorType, errorMessage}; AWS: 200 + header.
            return done(200, {**base, "X-Amz-Function-Error": "Unhandled"}, out)
        hdrs = {"Content-Type": content_type or "application/json"}
        if status_code == 404:
            hdrs["x-amzn-ErrorType"] = "ResourceNotFoundException"
        return done(status_code, hdrs, out)

    def upstream(self, name: str) -> tuple[str, str] | None:
        """(emulator base URL, Invoke URL) for function `name`: its own emulator (--lambda-urls),
        invoked as its default function; else the one emulator of --lambda-url, invoked by name."""
        if name in self.lambda_urls:
            base = self.lambda_urls[name]
            return base, f"{base}/2015-03-31/functions/{DEFAULT_FUNCTION}/invocations"
        if self.lambda_url:
            return (
                self.lambda_url,
                f"{self.lambda_url}/2015-03-31/functions/{urllib.parse.quote(name, safe='')}/invocations",
            )
        return None

    @staticmethod
    def call_upstream(url: str, body: bytes, headers: dict, limit: float | None):
        """POST to the runtime emulator. (status, content type, body); an exception if it could not
        be reached or dropped the call; None if it did not answer within `limit` seconds (the call
        is left running in a daemon thread: nothing can cancel an invocation in the emulator)."""
        import requests

        result: list = []
        finished = threading.Event()

        def call():
            try:
                resp = requests.post(url, data=body, headers=headers, timeout=UPSTREAM_TIMEOUT)
                result.append((resp.status_code, resp.headers.get("Content-Type"), resp.content))
            except requests.RequestException as e:
                result.append(e)
            finished.set()

        if limit is None:
            call()
        else:
            threading.Thread(target=call, daemon=True, name="lambda-upstream").start()
            if not finished.wait(limit):
                return None
        return result[0]

    # ------------------------------------------------------------ CloudWatch CBOR

    def cbor(self, environ, service: str, op: str) -> tuple[int, dict, bytes]:
        from . import cloudwatch_cbor

        headers = self.headers_of(environ)
        body = self.body_of(environ)
        if service != cloudwatch_cbor.TARGET_PREFIX:
            err = cloudwatch_cbor.CloudWatchError(
                "UnknownOperationException", f"stand-in: no rpcv2Cbor service {service}", 404
            )
            return cloudwatch_cbor.error_response(err)
        region = region_from_auth(headers)
        auth = headers.get("authorization") or (
            f"AWS4-HMAC-SHA256 Credential=test/20250101/{region}/monitoring/aws4_request, "
            "SignedHeaders=host, Signature=0"
        )

        def moto_call(operation: str, params: dict):
            return self.moto_json(f"{cloudwatch_cbor.TARGET_PREFIX}.{operation}", params, auth)

        with self.sim.lock:
            status, hdrs, out = cloudwatch_cbor.handle(op, body, region, DEFAULT_ACCOUNT, moto_call)
        hdrs.setdefault("x-amzn-requestid", os.urandom(16).hex())
        return status, hdrs, out

    def json_get_metric_data(self, environ) -> tuple[int, dict, bytes]:
        from . import cloudwatch_cbor

        region = region_from_auth(self.headers_of(environ))
        body = self.body_of(environ)
        with self.sim.lock:
            return cloudwatch_cbor.handle_json_get_metric_data(body, region, DEFAULT_ACCOUNT)

    # ------------------------------------------------------------ control API

    def control(self, environ, path: str, method: str) -> tuple[int, dict, bytes]:
        body = self.body_of(environ)
        try:
            doc = json.loads(body) if body else {}
        except ValueError:
            return self.json(400, {"error": "body must be JSON"})
        route = path[len("/_berth") :].rstrip("/")
        sim = self.sim
        try:
            if route == "/health":
                return self.json(
                    200, {"ok": True, "port": self.port, "lambdaUrl": self.lambda_url, "lambdaUrls": self.lambda_urls}
                )
            if route == "/state" and method == "GET":
                state = sim.snapshot()
                state["lambdaStubs"] = sorted(self.stubs)
                state["codedeploy"] = {
                    "settings": dict(self.cd.settings),
                    "deployments": self.cd.summaries(),
                    "errors": self.cd.errors[-5:],
                    "liveThreads": self.cd.live_threads(),
                }
                state["throttle"] = self.throttle.view()
                state["lambdaTimeouts"] = self.limits.view()
                return self.json(200, state)
            if route == "/throttle":
                if method == "POST":
                    return self.json(200, self.throttle.configure(doc))
                if method == "DELETE":
                    self.throttle.reset()
                return self.json(200, self.throttle.view())
            if route == "/lambda-timeouts":
                if method == "POST":
                    return self.json(200, self.limits.configure(doc))
                if method == "DELETE":
                    self.limits.reset()
                return self.json(200, self.limits.view())
            if route == "/clock" and method == "GET":
                # the stand-in's own reading of the system clock: the stack's simulated clock when
                # it shares one (clock.StackClock), else the wall's
                shared = clock.StackClock.from_env()
                return self.json(
                    200,
                    {
                        "now": time.time(),
                        "scale": clock.scale(),
                        "shared": shared is not None,
                        "origin": shared.origin if shared else None,
                    },
                )
            if route == "/reset" and method == "POST":
                self.reset_all()
                return self.json(200, {"ok": True})
            if route == "/config":
                if method == "POST":
                    known = {*sim.SETTINGS, "metric_noise", *self.cd.settings, "time_scale"}
                    unknown = sorted(set(doc) - known)
                    if unknown:
                        # a misspelt setting would otherwise be dropped and the test run without it
                        raise ValueError(f"unknown config setting(s) {unknown}; known: {sorted(known)}")
                    if "time_scale" in doc:
                        clock.set_scale(doc["time_scale"])
                    out = sim.configure(doc)
                    out.update(self.cd.configure(doc))
                    return self.json(200, out | {"time_scale": clock.scale()})
                return self.json(200, {**sim.settings(), **self.cd.settings, "time_scale": clock.scale()})
            if route == "/codedeploy" and method == "GET":
                return self.json(200, {"deployments": self.cd.summaries()})
            if route.startswith("/codedeploy/") and method == "GET":
                rec = self.cd.record(urllib.parse.unquote(route[len("/codedeploy/") :]))
                return self.json(200, rec) if rec else self.json(404, {"error": "no such deployment"})
            if route.startswith("/traffic/") and method == "GET":
                parts = [urllib.parse.unquote(x) for x in route[len("/traffic/") :].split("/")]
                view = (
                    self.cd.traffic_view(parts[0], parts[1], self.query(environ).get("region"))
                    if len(parts) == 2
                    else None
                )
                return self.json(200, view) if view else self.json(404, {"error": f"no ECS service {'/'.join(parts)}"})
            m = LISTENER_PATH.match(route)
            if m and method in ("GET", "HEAD", "POST"):
                q = self.query(environ)
                status, out, hang = self.cd.probe(
                    urllib.parse.unquote(m.group("cluster")),
                    urllib.parse.unquote(m.group("service")),
                    m.group("listener"),
                    q.get("region"),
                    q.get("pick"),
                )
                if hang:
                    time.sleep(hang)
                hdrs = {"Content-Type": "application/json"}
                if out.get("taskDefinition"):
                    hdrs["X-Berth-Task-Definition"] = out["taskDefinition"]
                return status, hdrs, json.dumps(out).encode()
            if route == "/images" and method == "POST":
                items = doc.get("images", [doc])
                for it in items:
                    sim.set_behaviour(
                        it["image"], it.get("behaviour", "healthy"), it.get("slow_ticks"), it.get("digest")
                    )
                return self.json(200, {"behaviours": sim.behaviours, "digests": sim.digests})
            if route == "/digests" and method == "POST":
                with sim.lock:
                    sim.digests[doc["image"]] = doc["digest"]
                return self.json(200, {"digests": sim.digests})
            if route == "/tick" and method == "POST":
                for _ in range(int(doc.get("count", 1))):
                    sim.tick()
                return self.json(200, sim.settings())
            if route in ("/services/disable", "/services/enable") and method == "POST":
                with sim.lock:
                    (sim.disabled.add if route.endswith("disable") else sim.disabled.discard)(doc["service"])
                return self.json(200, {"disabled": sorted(sim.disabled)})
            if route == "/load-balancers" and method == "POST":
                with sim.lock:
                    sim.load_balancers[doc["targetGroupArn"]] = doc["loadBalancer"]
                return self.json(200, {"loadBalancers": sim.load_balancers})
            if route == "/lambda-stubs":
                if method == "POST":
                    self.stubs[doc["name"]] = {k: v for k, v in doc.items() if k != "name"}
                elif method == "DELETE":
                    if doc.get("name"):
                        self.stubs.pop(doc["name"], None)
                    else:
                        self.stubs.clear()
                return self.json(200, {"stubs": self.stubs})
            if route == "/lambda-invocations":
                function = self.query(environ).get("function")
                with self.inv_lock:
                    if method == "DELETE":
                        self.invocations.clear()
                        self.invocations_by_function.clear()
                    if function is not None:
                        # by any name Invoke takes (name, name:qualifier, ARN), as the log keys them
                        kept = self.invocations_by_function.get(function_name(function), ())
                        return self.json(200, {"invocations": list(kept)})
                    return self.json(200, {"invocations": list(self.invocations)})
            if route == "/register-lambdas" and method == "POST":
                return self.json(
                    200, {"functions": self.register_lambdas(doc.get("names", []), doc.get("region", "us-east-1"))}
                )
            answer = self.release_control(environ, route, method, doc)
            if answer is not None:
                return answer
        except (KeyError, ValueError, TypeError) as e:
            return self.json(400, {"error": f"{type(e).__name__}: {e}"})
        return self.json(404, {"error": f"no control route {method} {path}"})

    def release_control(self, environ, route: str, method: str, doc: dict) -> tuple[int, dict, bytes] | None:
        """Control routes of P9's stand-ins (README: "ECR image scan findings", "One-off
        tasks and the live-revision record", "EventBridge Scheduler"); None when the route is not one of them."""
        from .schedules import FireError

        if route == "/scan-findings":
            if method == "POST":
                return self.json(200, self.scans.configure(doc))
            if method == "DELETE":
                self.scans.reset()
            return self.json(200, self.scans.view())
        if route == "/task-behaviours":
            if method == "POST":
                for it in doc.get("images", [doc]):
                    self.oneoff.set_behaviour(it)
            elif method == "DELETE":
                self.oneoff.behaviours.clear()
            return self.json(200, {"behaviours": self.oneoff.behaviours})
        if route == "/task-history" and method == "GET":
            q = self.query(environ)
            groups = [g for g in q.get("groups", "").split(",") if g] or None
            if q.get("service"):
                groups = [f"service:{q['service']}"]
            return self.json(200, {"runs": self.oneoff.history_view(q.get("cluster"), groups, q.get("region"))})
        if route == "/task-history/overlap" and method == "POST":
            groups = doc.get("groups") or ([f"service:{doc['service']}"] if doc.get("service") else [doc["group"]])
            a, b = doc["taskDefinitions"]
            with self.sim.lock:
                return self.json(200, self.oneoff.overlaps(doc["cluster"], groups, a, b, doc.get("region")))
        if route == "/schedules/fire" and method == "POST":
            try:
                return self.json(200, self.schedules.fire(self.port, doc))
            except FireError as e:
                return self.json(e.status, {"error": str(e)})
        if route == "/schedules/fired" and method == "GET":
            return self.json(200, self.schedules.view())
        return None

    @staticmethod
    def query(environ) -> dict:
        return {k: v[-1] for k, v in urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).items()}

    @staticmethod
    def json(status: int, doc: Any) -> tuple[int, dict, bytes]:
        return status, {"Content-Type": "application/json"}, json.dumps(doc, default=str).encode()

    def register_lambdas(self, names: list[str], region: str = "us-east-1") -> list[str]:
        """Create placeholder functions in moto's Lambda backend (for code that calls GetFunction or
        lists functions). Invocations never reach them: the front routes Invoke to --lambda-urls/--lambda-url."""
        import io
        import zipfile

        import boto3

        client_args: dict[str, Any] = dict(
            endpoint_url=f"http://127.0.0.1:{self.port}",
            region_name=region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        iam = boto3.client("iam", **client_args)
        lam = boto3.client("lambda", **client_args)
        trust = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        )
        try:
            role = iam.get_role(RoleName="berth-standin-lambda")["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            role = iam.create_role(RoleName="berth-standin-lambda", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("bootstrap", "#!/bin/sh\n")
        arns = []
        for name in names:
            try:
                arns.append(lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"])
            except lam.exceptions.ResourceNotFoundException:
                arns.append(
                    lam.create_function(
                        FunctionName=name,
                        Runtime="provided.al2023",
                        Role=role,
                        Handler="bootstrap",
                        Code={"ZipFile": buf.getvalue()},
                        Architectures=["arm64"],
                    )["FunctionArn"]
                )
        return arns


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="berth local AWS stand-in (moto + ECS simulator + Lambda/CBOR routes)")
    ap.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=5055, help="front port; 0 picks a free one")
    ap.add_argument(
        "--lambda-url",
        default=os.environ.get("BERTH_LAMBDA_URL"),
        help="Lambda runtime emulator, e.g. http://127.0.0.1:9000",
    )
    ap.add_argument(
        "--lambda-urls",
        default=os.environ.get("BERTH_LAMBDA_URLS"),
        help="JSON object (inline or a file) of function name -> its own runtime emulator "
        "(`cargo lambda watch --only-lambda-apis`), invoked as its function `_`; "
        "names not in it go to --lambda-url",
    )
    ap.add_argument("--ready-file", help="write the chosen port here once serving")
    ap.add_argument("--tick-seconds", type=float, default=None, help="ECS simulator tick (default 0.25)")
    ap.add_argument("--no-sim", action="store_true", help="do not start the ECS simulator ticker")
    ap.add_argument("--verbose", action="store_true", help="log every request")
    ap.add_argument(
        "--template",
        default=os.environ.get("BERTH_TEMPLATE", str(DEFAULT_TEMPLATE)),
        help="SAM template whose function Timeouts the Lambda route enforces ('' = none)",
    )
    ap.add_argument(
        "--lambda-timeout-scale",
        type=float,
        default=float(os.environ.get("BERTH_LAMBDA_TIMEOUT_SCALE", "1")),
        help="multiply every function timeout (tests; default 1)",
    )
    ap.add_argument(
        "--time-scale",
        type=float,
        default=float(os.environ.get("BERTH_TIME_SCALE") or os.environ.get(clock.SCALE_ENV) or "1"),
        help="simulated seconds per wall second for Step Functions' waits, retries and waiting "
        "tasks' timeouts; under a shared clock (BERTH_CLOCK_SCALE) it must be the clock's "
        "(README, 'Simulated time'; default 1)",
    )
    args = ap.parse_args(argv)
    try:
        clock.set_scale(args.time_scale, at_start=True)
    except ValueError as e:
        ap.error(f"--time-scale: {e}")
    try:
        lambda_urls = load_lambda_urls(args.lambda_urls)
    except (OSError, ValueError) as e:
        ap.error(f"--lambda-urls: {e}")

    if not (args.host.startswith("127.") or args.host in ("localhost", "::1")):
        ap.error("bind a loopback address only")

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")

    import logging

    from werkzeug.serving import make_server

    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    server = make_server(args.host, args.port, None, threaded=True)  # type: ignore[arg-type]
    port = server.server_port
    # moto's Step Functions interpreter calls Lambda at http://localhost:$MOTO_PORT: point it here.
    os.environ["MOTO_PORT"] = str(port)
    template = args.template or None
    if template and not Path(template).exists():
        if Path(template) != DEFAULT_TEMPLATE:
            ap.error(f"--template {template}: no such file")
        template = None
    front = Front(args.lambda_url, port, template, args.lambda_timeout_scale, lambda_urls)
    server.app = front
    if args.tick_seconds is not None:
        front.sim.tick_seconds = args.tick_seconds
    if not args.no_sim:
        front.sim.start()

    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.ready_file)
    lambdas = f" lambdas={len(lambda_urls)}" if lambda_urls else ""
    print(f"READY http://{args.host}:{port} lambda={args.lambda_url or '-'}{lambdas}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        front.sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
