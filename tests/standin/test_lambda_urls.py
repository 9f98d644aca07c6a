"""`--lambda-urls`: each function has its own runtime emulator (`cargo lambda watch
--only-lambda-apis` serving one berth-lambda process), which the Lambda route invokes as its default
function `_`; names not in the map still go to `--lambda-url` by name. A second stand-in, started
for this module with both."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.config import Config

from .conftest import REGION, ROOT, Standin, running_standin, send_json, wait_for


class Emulator(BaseHTTPRequestHandler):
    """One function's emulator: records what it was sent, answers `{"served": port, "path", "echo"}`,
    or cargo-lambda's handler error (500 + errorType) when the payload says `{"fail": true}`."""

    server: EmulatorServer

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        payload = json.loads(body or b"null")
        self.server.calls.append((self.path, payload))
        out: dict[str, object]
        if isinstance(payload, dict) and payload.get("fail"):
            status, out = 500, {"errorType": "BerthTestError", "errorMessage": f"failed at {self.server.server_port}"}
        else:
            status, out = 200, {"served": self.server.server_port, "path": self.path, "echo": payload}
        send_json(self, status, out)


class EmulatorServer(ThreadingHTTPServer):
    """One emulator on a free port, with what it was sent: [(path, payload)]."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Emulator)
        self.calls: list[tuple[str, object]] = []


def emulator() -> EmulatorServer:
    httpd = EmulatorServer()
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def routed(fake_runtime, tmp_path_factory):
    plan, stability = emulator(), emulator()
    dead = f"http://127.0.0.1:{closed_port()}"
    urls = {
        "plan-deployment": f"http://127.0.0.1:{plan.server_port}",
        "check-stability": f"http://127.0.0.1:{stability.server_port}/",  # a trailing / is fine
        "ecs-hook": dead,
    }
    path = tmp_path_factory.mktemp("lambda-urls") / "urls.json"
    path.write_text(json.dumps(urls))
    with running_standin("--lambda-urls", str(path), "--lambda-url", fake_runtime) as url:
        yield Standin(url), plan, stability, dead
    for httpd in (plan, stability):
        httpd.shutdown()
        httpd.server_close()


def lambda_client(standin):
    return boto3.client(
        "lambda",
        endpoint_url=standin.url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


def test_each_function_goes_to_its_own_emulator_as_its_default_function(routed):
    standin, plan, stability, _ = routed
    lam = lambda_client(standin)
    for name, httpd in (
        ("plan-deployment", plan),
        ("arn:aws:lambda:us-east-1:123456789012:function:check-stability:$LATEST", stability),
    ):
        out = lam.invoke(FunctionName=name, Payload=json.dumps({"n": 1}))
        assert out["StatusCode"] == 200 and "FunctionError" not in out
        assert json.loads(out["Payload"].read()) == {
            "served": httpd.server_port,
            "path": "/2015-03-31/functions/_/invocations",
            "echo": {"n": 1},
        }
    assert [p for p, _ in plan.calls] == ["/2015-03-31/functions/_/invocations"]
    assert [p for p, _ in stability.calls] == ["/2015-03-31/functions/_/invocations"]
    assert (
        standin.control("health", method="GET")["lambdaUrls"]["plan-deployment"]
        == f"http://127.0.0.1:{plan.server_port}"
    )


def test_a_name_not_in_the_map_goes_to_the_one_emulator_by_name(routed):
    standin, plan, stability, _ = routed
    before = len(plan.calls) + len(stability.calls)
    out = lambda_client(standin).invoke(FunctionName="summarize", Payload=b'{"x": 2}')
    assert json.loads(out["Payload"].read()) == {"function": "summarize", "echo": {"x": 2}}
    assert len(plan.calls) + len(stability.calls) == before


def test_a_handler_error_of_a_mapped_function_is_200_with_function_error(routed):
    standin, plan, _, _ = routed
    out = lambda_client(standin).invoke(FunctionName="plan-deployment", Payload=b'{"fail": true}')
    assert out["StatusCode"] == 200 and out["FunctionError"] == "Unhandled"
    assert json.loads(out["Payload"].read()) == {
        "errorType": "BerthTestError",
        "errorMessage": f"failed at {plan.server_port}",
    }


def test_an_asynchronous_invocation_reaches_the_functions_own_emulator(routed):
    """What the CodeDeploy simulator does to run a lifecycle hook (through this same route)."""
    standin, _, stability, _ = routed
    out = lambda_client(standin).invoke(FunctionName="check-stability", InvocationType="Event", Payload=b'{"async": 1}')
    assert out["StatusCode"] == 202
    wait_for(
        lambda: ("/2015-03-31/functions/_/invocations", {"async": 1}) in stability.calls,
        timeout=10,
        what="the Event invocation at check-stability's emulator",
    )


def test_a_mapped_emulator_that_is_down_is_a_service_exception_for_that_function_only(routed):
    standin, _, _, dead = routed
    lam = lambda_client(standin)
    lam.invoke(FunctionName="plan-deployment", Payload=b"{}")
    with pytest.raises(lam.exceptions.ServiceException) as e:
        lam.invoke(FunctionName="ecs-hook", Payload=b"{}")
    assert "refused" in e.value.response["Message"] and dead in e.value.response["Message"]
    warm = standin.control("lambda-timeouts", method="GET")["warm"]
    assert "plan-deployment" in warm and "ecs-hook" not in warm  # the other emulators are up


def test_a_map_that_is_not_a_json_object_of_urls_is_refused_at_start_up():
    for bad in ('["http://127.0.0.1:1"]', '{"plan-deployment": 9000}', "/nonexistent/urls.json"):
        t0 = time.monotonic()
        out = subprocess.run(
            [sys.executable, "-m", "tests.standin.server", "--port", "0", "--lambda-urls", bad],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 2 and "--lambda-urls" in out.stderr, (bad, out.returncode, out.stderr)
        assert time.monotonic() - t0 < 30
