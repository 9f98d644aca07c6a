"""Fixtures: one stand-in server per test session (on a free loopback port), reset before each test,
and a fake Lambda runtime upstream that answers like `cargo lambda watch`."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


class FakeRuntime(BaseHTTPRequestHandler):
    """cargo-lambda's Invoke API shape: 200 + result, or 500 + {errorType, errorMessage}.
    `sleeps` answers after payload["seconds"]; `drops` closes the connection without an answer."""

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        parts = self.path.split("/")
        name = parts[3] if len(parts) > 3 else ""
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        payload = json.loads(body or b"null")
        if name == "drops":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if name == "sleeps":
            time.sleep(float((payload or {}).get("seconds", 0)))
            status, out = 200, {"function": name, "slept": (payload or {}).get("seconds", 0)}
        elif name == "fails":
            status, out = 500, {"errorType": "BerthTestError", "errorMessage": "boom"}
        elif name == "missing":
            status, out = 404, {"message": "function not found"}
        else:
            status, out = 200, {"function": name, "echo": payload}
        send_json(self, status, out)


def send_json(handler: BaseHTTPRequestHandler, status: int, out) -> None:
    """Answer a request as the runtime emulator does: a JSON body with its length."""
    data = json.dumps(out).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class RuntimeServer:
    """The fake runtime on a fixed port, which a test can stop (connections refused) and start again."""

    def __init__(self):
        self.port = 0
        self.httpd = None
        self.start()

    def start(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), FakeRuntime)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="session")
def runtime_server():
    server = RuntimeServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_runtime(runtime_server):
    return runtime_server.url


@pytest.fixture
def runtime_down(runtime_server):
    """The Lambda runtime stopped for the test (connections refused), started again after it."""
    runtime_server.stop()
    try:
        yield runtime_server
    finally:
        if runtime_server.httpd is None:
            runtime_server.start()


@contextlib.contextmanager
def running_standin(*args: str, env: dict[str, str] | None = None):
    """`python -m tests.standin.server --port 0 ... <args>` on a free port (in `env`, default this
    process's environment); yields its URL."""
    tmp = tempfile.mkdtemp(prefix="berth-standin-")
    ready = os.path.join(tmp, "port")
    with open(os.path.join(tmp, "server.log"), "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.standin.server",
                "--port",
                "0",
                "--ready-file",
                ready,
                "--tick-seconds",
                "0.05",
                *args,
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + 60
        while not os.path.exists(ready):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("stand-in did not start:\n" + Path(tmp, "server.log").read_text())
            time.sleep(0.1)
        url = f"http://127.0.0.1:{Path(ready).read_text().strip()}"
        try:
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="session")
def standin_url(fake_runtime):
    """Start `python -m tests.standin.server` (or reuse BERTH_STANDIN_URL if set)."""
    if os.environ.get("BERTH_STANDIN_URL"):
        yield os.environ["BERTH_STANDIN_URL"].rstrip("/")
        return
    with running_standin("--lambda-url", fake_runtime) as url:
        yield url


@pytest.fixture
def standin(standin_url):
    """A freshly reset stand-in; returns a small helper."""
    r = requests.post(f"{standin_url}/_berth/reset", timeout=30)
    r.raise_for_status()
    requests.post(f"{standin_url}/_berth/config", json={"tick_seconds": 0.05}, timeout=10).raise_for_status()
    return Standin(standin_url)


class Standin:
    def __init__(self, url: str):
        self.url = url

    def client(self, service: str):
        # boto3-stubs types client() per literal service name; this one is given at run time.
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def control(self, route: str, doc=None, method: str = "POST"):
        r = requests.request(method, f"{self.url}/_berth/{route}", json=doc, timeout=30)
        r.raise_for_status()
        return r.json()

    def state(self):
        return self.control("state", method="GET")


def wait_for(fn, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


def one_off_task_definition(standin, image: str, name: str, cidr: str = "10.1", **container):
    """A subnet and security group, cluster `prod`, and an awsvpc FARGATE task definition of one
    essential container `name` running `image` (`container`: more of its fields); returns
    (task definition ARN, subnet, security group)."""
    ec2, ecs = standin.client("ec2"), standin.client("ecs")
    vpc = ec2.create_vpc(CidrBlock=f"{cidr}.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{cidr}.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName=f"{name}-sg", Description="x", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName="prod")
    td = ecs.register_task_definition(
        family=name,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": name, "image": image, "essential": True, **container}],
    )["taskDefinition"]["taskDefinitionArn"]
    return td, subnet, sg


def make_service(
    standin: Standin,
    images=("repo/web:v1",),
    desired: int = 2,
    breaker: dict | None = None,
    with_lb: bool = True,
    name: str = "web",
    cluster: str = "prod",
):
    """VPC + subnet + SG (moto's create_service needs them for awsvpc), a target group, a cluster,
    one task definition revision per image and a FARGATE service on revision 1.
    Returns dict(ecs, tds, tg, cluster, service)."""
    ec2, ecs, elb = standin.client("ec2"), standin.client("ecs"), standin.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName=f"{name}-sg", Description="x", VpcId=vpc)["GroupId"]
    tg = None
    if with_lb:
        tg = elb.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")["TargetGroups"][
            0
        ]["TargetGroupArn"]
    ecs.create_cluster(clusterName=cluster)
    tds = []
    for image in images:
        tds.append(
            ecs.register_task_definition(
                family=name,
                networkMode="awsvpc",
                requiresCompatibilities=["FARGATE"],
                cpu="256",
                memory="512",
                containerDefinitions=[
                    {"name": name, "image": image, "essential": True, "portMappings": [{"containerPort": 80}]}
                ],
            )["taskDefinition"]["taskDefinitionArn"]
        )
    kwargs = dict(
        cluster=cluster,
        serviceName=name,
        taskDefinition=tds[0],
        desiredCount=desired,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}},
        deploymentConfiguration={
            "deploymentCircuitBreaker": breaker or {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
    )
    if tg:
        kwargs["loadBalancers"] = [{"targetGroupArn": tg, "containerName": name, "containerPort": 80}]
    ecs.create_service(**kwargs)
    return {"ecs": ecs, "tds": tds, "tg": tg, "cluster": cluster, "service": name}


def describe(svc) -> dict:
    return svc["ecs"].describe_services(cluster=svc["cluster"], services=[svc["service"]])["services"][0]


def settled(svc):
    """The service when it has one deployment whose rollout is no longer IN_PROGRESS."""
    s = describe(svc)
    deps = s["deployments"]
    return s if len(deps) == 1 and deps[0]["rolloutState"] != "IN_PROGRESS" else None
