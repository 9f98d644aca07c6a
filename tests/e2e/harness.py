"""berth end to end, locally: the stand-in (moto + ECS simulator), the real Lambda binary
(berth-lambda, one process per function of template.yaml) under cargo-lambda's runtime emulator,
and the real state machine executed by moto's ASL interpreter.

Used by the end-to-end tests (tests/e2e/test_scenarios.py) and by the demo (scripts/demo).
The product reaches the stand-in only through AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
import botocore.exceptions
import requests
import yaml

from tests.standin.clock import StackClock

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".berth" / "venv" / "bin"
REGION = "us-east-1"
ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
STATE_MACHINE = "berth-deploy"
STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STATE_MACHINE}"
# One service's deployment: each service of an execution runs in its own child execution of it.
SERVICE_STATE_MACHINE = "berth-service"
SERVICE_STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{SERVICE_STATE_MACHINE}"
# template.yaml's state machines: logical id -> (name, ARN, definition file)
MACHINES = {
    "DeployStateMachine": (STATE_MACHINE, STATE_MACHINE_ARN, "deploy.asl.json"),
    "ServiceStateMachine": (SERVICE_STATE_MACHINE, SERVICE_STATE_MACHINE_ARN, "service.asl.json"),
}
# Where `cargo lambda watch` serves the Lambda Runtime API under its invoke address
# (RUNTIME_EMULATOR_PATH in cargo-lambda-watch); lambda_runtime appends /2018-06-01/runtime/...
RUNTIME_EMULATOR_PATH = "/.rt"
# The function `cargo lambda watch` invokes when a name is no binary of the workspace: with
# --only-lambda-apis, whatever polls the bare Runtime API routes serves it.
DEFAULT_FUNCTION = "_"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Ports for the Lambda runtime emulators: below Linux's ephemeral range (32768-60999), so no
# outgoing connection takes one between its choice and the emulator's bind, and each held under a
# lock file for the stack's life, so stacks started side by side (pytest -n, several runs) never
# share one. With free_port alone two stacks once chose the same port, and a state's invocation
# reached the other stack's ecs-hook.
EMULATOR_PORTS = range(20000, 32000)
PORT_LOCKS = Path(tempfile.gettempdir()) / "berth-ports"


def reserve_ports(n: int, held: list) -> list[int]:
    """`n` distinct free ports of EMULATOR_PORTS, each locked (its open lock file appended to
    `held`; closing it frees the port for other stacks)."""
    PORT_LOCKS.mkdir(exist_ok=True)
    rng = random.Random(os.getpid() ^ time.time_ns())
    ports: list[int] = []
    while len(ports) < n:
        port = rng.choice(EMULATOR_PORTS)
        if port in ports:
            continue
        lock = open(PORT_LOCKS / f"{port}.lock", "w")  # noqa: SIM115 - held until the stack stops
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
        except OSError:  # another stack holds it, or something else listens there
            lock.close()
            continue
        held.append(lock)
        ports.append(port)
    return ports


def port_open(url: str) -> bool:
    """Whether something accepts TCP connections at the URL's host and port. (Not an HTTP request:
    `cargo lambda watch --only-lambda-apis` treats any unknown request, a GET / among them, as an
    invocation of its default function.)"""
    host, port = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
        return True
    except OSError:
        return False


# The release artifact, built as `sam build` builds it (cargo-lambda's release flags and the
# workspace's release profile: panic = "unwind"), for this machine's architecture so it runs here;
# `sam build` differs only in `--arm64`. scripts/test runs it once before pytest
# (`python -m tests.e2e.harness build-release`); every later call is a no-op that leaves the
# bootstrap untouched, so running stacks never see it rewritten.
RELEASE_BUILD = [
    str(VENV_BIN / "cargo-lambda"),
    "lambda",
    "build",
    "--release",
    "--compiler",
    "cargo",
    "--target",
    f"{platform.machine()}-unknown-linux-gnu",
    "-p",
    "berth-lambda",
]
# The guard's panicking example (tests/test_release_artifact.py), built the same way, by a command of
# its own: in one command with berth-lambda, the example's dev-dependency (tokio's test-util) joins
# tokio's features for the whole build, and every crate over tokio, the SDK among them, compiles
# again (327 s here); and cargo-lambda then copies only the example to target/lambda/. Alone it
# compiles tokio and futures-util once more, in seconds.
GUARD_RELEASE_BUILD = [*RELEASE_BUILD[:-2], "-p", "berth-guard", "--example", "panicking_check"]
# The one dev build of a test run (scripts/test): every crate, target and example of the workspace
# with its features unified, so the CLI, the debug Lambda and the benches' examples are all in it. A
# narrower `cargo build -p X` resolves other features and compiles the SDK crates a second time.
DEV_BUILD = ["cargo", "build", "--workspace", "--all-targets", "--quiet"]
DEBUG_BUILD = DEV_BUILD
BUILDS = ("release", "debug")


def build_lambda_binary(build: str = "debug", log=print) -> Path:
    """Build berth-lambda ("release" as `sam build` does, or "debug") and return its path."""
    command = RELEASE_BUILD if build == "release" else DEBUG_BUILD
    log(f"building the Lambda binary ({build}: {' '.join(command[1:] if build == 'release' else command)})")
    built = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if built.returncode != 0:
        raise RuntimeError(f"building berth-lambda failed:\n{built.stdout[-2000:]}{built.stderr[-6000:]}")
    return lambda_binary(build)


def lambda_binary(build: str = "debug") -> Path:
    """berth-lambda, the one binary behind every function: the release artifact (what `sam build`
    zips, cargo-lambda's `target/lambda/<bin>/bootstrap`) or the debug build."""
    target = Path(os.environ.get("CARGO_TARGET_DIR") or "target")
    target = target if target.is_absolute() else ROOT / target
    if build == "release":
        return target / "lambda" / "berth-lambda" / "bootstrap"
    return target / "debug" / "berth-lambda"


def wait_until(fn, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except Exception as e:  # noqa: BLE001 - keep polling until the deadline
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")


# An image of the stack's own ECR (the registry of the account and region Plan checks images in).
IMAGE_IN_REGISTRY = re.compile(
    rf"^{re.escape(REGISTRY)}/(?P<repo>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>\w[\w.-]{{0,127}}))?(?:@(?P<digest>sha256:[0-9a-f]{{64}}))?$"
)


def strings(doc) -> list[str]:
    """Every string in a JSON document (values, not keys)."""
    if isinstance(doc, str):
        return [doc]
    if isinstance(doc, dict):
        return [s for v in doc.values() for s in strings(v)]
    if isinstance(doc, (list, tuple)):
        return [s for v in doc for s in strings(v)]
    return []


def digest_of(label: str) -> str:
    """A valid, stable sha256 digest for a label (images in the tests are named, not built)."""
    import hashlib

    return "sha256:" + hashlib.sha256(label.encode()).hexdigest()


class Stack:
    """Starts and stops the stand-in and the Lambda runtime; creates the state machine.

    The Lambda runtime is, per function of template.yaml, one `cargo lambda watch
    --only-lambda-apis` (cargo-lambda's Runtime and Invoke APIs, no process of its own) and
    `instances` `berth-lambda` processes polling it with that function's environment (BERTH_STATE
    from the template): Lambda's concurrent execution environments, each taking one invocation at a
    time from the function's queue. One binary serves every state, so `cargo lambda watch` cannot tell the functions
    apart by binary name: each function gets its own emulator, invoked as its default function
    `_`, and the stand-in routes each function name to its emulator (`--lambda-urls`)."""

    def __init__(
        self,
        log=print,
        tick_seconds: float = 0.1,
        poll_seconds: int = 1,
        build: str = "debug",
        built: bool = False,
        fallback_seconds: int | None = None,
        wake: bool = True,
        instances: int = 1,
        time_scale: float = 1.0,
    ):
        """`build`: which berth-lambda runs ("release": the artifact `sam build` builds, or "debug");
        `built`: it is already built (the test session's `release_artifact` fixture), don't build;
        `fallback_seconds`: BERTH_FALLBACK_POLL_SECONDS (default: the template's); `wake`: ECS's
        deployment events reach wake-rollout (False: as if every event were lost); `instances`: how
        many processes serve each function at once (Lambda runs up to the account's concurrency; 1
        queues a function's invocations one behind another, and their queueing counts against
        their timeout); `time_scale`: simulated seconds per wall second, for the whole stack: its
        processes (the stand-in, every berth-lambda, the CLI) share one clock that runs this fast
        (`self.clock`), and Step Functions' waits, retries and waiting tasks' timeouts last
        1/time_scale of their seconds (tests/standin/README.md, "Simulated time")."""
        if build not in BUILDS:
            raise ValueError(f"build must be one of {BUILDS}, not {build!r}")
        if not 1 <= instances <= 16:
            raise ValueError(f"instances must be 1 to 16, not {instances!r}")
        self.instances = instances
        self.build = build
        self.built = built
        self.log = log
        self.tick_seconds = tick_seconds
        self.poll_seconds = poll_seconds
        self.fallback_seconds = fallback_seconds
        self.time_scale = time_scale
        self.clock = StackClock(origin=time.time(), scale=time_scale)
        self.wake = wake
        self.tmp = Path(tempfile.mkdtemp(prefix="berth-e2e-"))
        self.procs: list[subprocess.Popen] = []
        self.port_locks: list = []  # the emulators' ports (reserve_ports), freed by stop()
        self.url = ""
        self.functions: dict[str, dict] = {}  # state -> its template environment (literal values)
        self.lambda_urls: dict[str, str] = {}  # state -> base URL of its runtime emulator
        self.emulators: dict[str, subprocess.Popen] = {}
        # (state, instance) -> its process; instance 0 .. instances-1
        self.function_procs: dict[tuple[str, int], subprocess.Popen] = {}
        self._spawned_at: dict[tuple[str, int], float] = {}
        self._runtime_lock = threading.RLock()
        self._runtime_up = False
        self._closing = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._waker: threading.Thread | None = None
        self.woken: list[dict] = []  # what wake-rollout answered, one entry per ECS event delivered
        self.images: set[tuple[str, str, str | None]] = set()  # put in ECR by ensure_images since the reset
        self.env_overrides: dict[str, dict] = {}  # state -> variables over its template environment

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Stack:
        """Build berth-lambda, start the stand-in and the Lambda runtime, create the state machine.
        On failure, whatever was started is stopped before the error propagates."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> Stack:
        t0 = time.monotonic()
        if not self.built:
            build_lambda_binary(self.build, self.log)
        elif not lambda_binary(self.build).exists():
            raise RuntimeError(f"no {self.build} berth-lambda at {lambda_binary(self.build)}: build it first")
        self.functions = lambda_functions()
        ports = reserve_ports(len(self.functions), self.port_locks)
        self.lambda_urls = {
            state: f"http://127.0.0.1:{port}" for state, port in zip(self.functions, ports, strict=True)
        }
        urls = self.tmp / "lambda-urls.json"
        urls.write_text(json.dumps(self.lambda_urls, indent=1))

        ready = self.tmp / "standin.port"
        self.log("starting the AWS stand-in (moto + ECS simulator)")
        self.procs.append(
            self._spawn(
                [
                    str(VENV_BIN / "python"),
                    "-m",
                    "tests.standin.server",
                    "--port",
                    "0",
                    "--ready-file",
                    str(ready),
                    "--lambda-urls",
                    str(urls),
                    "--tick-seconds",
                    str(self.tick_seconds),
                    "--time-scale",
                    str(self.time_scale),
                ],
                "standin.log",
                env=self.clock.process_env(),
            )
        )
        # The emulators need nothing from the stand-in: they start while it imports moto.
        self.log(f"starting {len(self.functions)} Lambda runtime emulators (cargo lambda watch --only-lambda-apis)")
        self._spawn_emulators()
        wait_until(lambda: ready.exists() and ready.read_text().strip(), 60, "the stand-in")
        self.url = f"http://127.0.0.1:{ready.read_text().strip()}"

        self.log(f"starting {self.instances} berth-lambda per function (BERTH_STATE from template.yaml)")
        self._finish_lambda_runtime()
        self.create_state_machine()
        self.log(
            f"stack up in {time.monotonic() - t0:.1f}s: stand-in {self.url}, "
            f"{len(self.lambda_urls)} functions under cargo lambda watch, logs in {self.tmp}"
        )
        return self

    def lambda_env(self) -> dict:
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "BERTH_STATE_MACHINE_ARN": STATE_MACHINE_ARN,
            "BERTH_SERVICE_STATE_MACHINE_ARN": SERVICE_STATE_MACHINE_ARN,
            "BERTH_POLL_INTERVAL_SECONDS": str(self.poll_seconds),
            **({"BERTH_FALLBACK_POLL_SECONDS": str(self.fallback_seconds)} if self.fallback_seconds else {}),
            "BERTH_CANARY_INTERVAL_SECONDS": str(self.poll_seconds),
            "BERTH_TIMEOUT_SECONDS": "900",  # simulated: 90 s of wall time at scale 10
            "BERTH_ROLLBACK_TIMEOUT_SECONDS": "900",
            # what template.yaml sets: every AppSpec names the hook function
            "BERTH_CODEDEPLOY_HOOK_FUNCTION": "codedeploy-hook",
            "RUST_LOG": "info",
        }

    def function_env(self, state: str) -> dict:
        """What a function's process sees: the harness's own environment without any AWS_*/BERTH_*
        (nothing inherited may point a client at real AWS), the function's literal template
        variables (BERTH_STATE, ...), lambda_env(), `restart_function`'s overrides, and what Lambda
        sets for a runtime."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BERTH_"))}
        fn = self.functions[state]
        env.update(fn["environment"])
        env.update(self.lambda_env())
        env.update(self.env_overrides.get(state, {}))
        env.update(
            {
                "AWS_LAMBDA_RUNTIME_API": f"{self.lambda_urls[state]}{RUNTIME_EMULATOR_PATH}",
                "AWS_LAMBDA_FUNCTION_NAME": state,
                "AWS_LAMBDA_FUNCTION_VERSION": "1",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn["memory"]),
            }
        )
        assert env["BERTH_STATE"] == state, (state, env["BERTH_STATE"])
        return env

    def start_lambda_runtime(self) -> None:
        """Start every function's emulator and process (again, after stop_lambda_runtime), on the
        same ports. The stand-in is told its functions are cold: a process does its Init (SDK
        config, clients) as soon as it starts, before it polls for its first invocation, and an
        invocation sent meanwhile waits for it; that wait is not timed, as Lambda's Init phase is
        not part of the invocation's timeout."""
        self._spawn_emulators()
        self._finish_lambda_runtime()

    def _spawn_emulators(self) -> None:
        # `cargo lambda watch` looks for ignore files under its working directory at start-up
        # (even with --ignore-changes), which in the repository means walking target/: seconds per
        # emulator. Run from an empty directory, it reads the workspace through --manifest-path.
        cwd = self.tmp / "emulators"
        cwd.mkdir(exist_ok=True)
        with self._runtime_lock:
            for state, url in self.lambda_urls.items():
                port = url.rsplit(":", 1)[1]
                # --only-lambda-apis: the emulator starts no function; invocations of its default
                # function `_` go to whatever polls its bare Runtime API (our berth-lambda).
                proc = self._spawn(
                    [
                        str(VENV_BIN / "cargo-lambda"),
                        "lambda",
                        "watch",
                        "--only-lambda-apis",
                        "--invoke-address",
                        "127.0.0.1",
                        "--invoke-port",
                        port,
                        "--ignore-changes",
                        "--quiet",
                        "--manifest-path",
                        str(ROOT / "Cargo.toml"),
                    ],
                    f"emulator-{state}.log",
                    env={**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"},
                    mode="a",
                    cwd=cwd,
                )
                self.emulators[state] = proc
                self.procs.append(proc)

    def _finish_lambda_runtime(self) -> None:
        """Wait for every emulator, start every function process, tell the stand-in they are cold."""
        wait_until(lambda: all(map(port_open, self.lambda_urls.values())), 120, "cargo lambda watch (every function)")
        binary = lambda_binary(self.build)
        assert binary.exists(), f"{binary}: not built"
        with self._runtime_lock:
            for state in self.lambda_urls:
                for instance in range(self.instances):
                    self._spawn_function(state, instance, binary)
            self._runtime_up = True
        if self._supervisor is None:
            self._supervisor = threading.Thread(target=self._supervise, name="berth-lambda supervisor", daemon=True)
            self._supervisor.start()
        self.control("lambda-timeouts", {"cold": True})

    def _spawn_function(self, state: str, instance: int, binary: Path | None = None) -> None:
        # every instance appends to the function's one log, as its log group gathers every stream
        env = self.clock.process_env(self.function_env(state))
        proc = self._spawn([str(binary or lambda_binary(self.build))], f"lambda-{state}.log", env=env, mode="a")
        self.function_procs[(state, instance)] = proc
        self._spawned_at[(state, instance)] = time.monotonic()
        self.procs.append(proc)

    def _supervise(self) -> None:
        """A function process that exits while the runtime is up is started again (after 1 s), as
        Lambda replaces a crashed execution environment and as `cargo lambda watch` started a new
        instance for the next invocation; the exit is noted in the function's log."""
        while not self._closing.wait(0.25):
            with self._runtime_lock:
                if not self._runtime_up:
                    continue
                for (state, instance), proc in list(self.function_procs.items()):
                    if proc.poll() is None or time.monotonic() - self._spawned_at[(state, instance)] < 1:
                        continue
                    with open(self.tmp / f"lambda-{state}.log", "a") as out:
                        out.write(
                            f"[harness] berth-lambda ({state}, instance {instance}) exited with status "
                            f"{proc.returncode}; starting it again\n"
                        )
                    self.procs.remove(proc)
                    self._spawn_function(state, instance)

    def restart_function(self, state: str, env: dict | None = None) -> None:
        """Replace `state`'s berth-lambda processes by ones with `env` over its environment (None: back
        to the template's), as a stack update that changes the function's variables replaces its
        execution environments. Invocations sent meanwhile wait for the new processes."""
        with self._runtime_lock:
            if env:
                self.env_overrides[state] = {k: str(v) for k, v in env.items()}
            else:
                self.env_overrides.pop(state, None)
            for instance in range(self.instances):
                proc = self.function_procs[(state, instance)]
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
                self.procs.remove(proc)
                self._spawn_function(state, instance)

    def stop_lambda_runtime(self) -> None:
        """Kill every function's emulator and process (SIGKILL to each process group): to the state
        machine, the Lambda service is gone until start_lambda_runtime."""
        with self._runtime_lock:
            self._runtime_up = False
            procs = list(self.emulators.values()) + list(self.function_procs.values())
            for proc in procs:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            for proc in procs:
                proc.wait(10)
                self.procs.remove(proc)
            self.emulators.clear()
            self.function_procs.clear()
        wait_until(lambda: not any(map(port_open, self.lambda_urls.values())), 10, "the runtime emulators to stop")

    def _spawn(self, cmd, logname, env=None, mode: str = "w", cwd: Path = ROOT) -> subprocess.Popen:
        with open(self.tmp / logname, mode) as out:
            return subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def stop(self) -> None:
        self._closing.set()
        with self._runtime_lock:
            self._runtime_up = False
        for p in reversed(self.procs):
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)
        self.procs.clear()
        for lock in self.port_locks:
            lock.close()
        self.port_locks.clear()

    def logs(self, name: str | None = None, tail: int = 60) -> str:
        """The last `tail` lines of one log of self.tmp (`standin.log`, `lambda-<state>.log`,
        `emulator-<state>.log`); without a name, the last lines of every function's log."""
        if name is not None:
            path = self.tmp / name
            return "\n".join(path.read_text(errors="replace").splitlines()[-tail:]) if path.exists() else ""
        logs = [p for p in sorted(self.tmp.glob("lambda-*.log")) if p.stat().st_size]
        each = max(5, tail // max(1, len(logs)))
        return "\n".join(f"== {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-each:]) for p in logs)

    # ------------------------------------------------------------------ AWS clients

    def client(self, service: str):
        # boto3-stubs types client() per literal service name; this one is given at run time.
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def control(self, route: str, doc=None, method: str = "POST"):
        r = requests.request(method, f"{self.url}/_berth/{route}", json=doc, timeout=30)
        r.raise_for_status()
        return r.json()

    def create_state_machine(self) -> None:
        """The real statemachine/deploy.asl.json and service.asl.json, with the template's
        substitutions filled in; and the template's rule that hands ECS's deployment events to
        wake-rollout."""
        sfn = self.client("stepfunctions")
        existing = [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]]
        for logical, (name, arn, file) in MACHINES.items():
            definition = (ROOT / "statemachine" / file).read_text()
            for key, binary in function_substitutions(logical).items():
                definition = definition.replace(f"${{{key}}}", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{binary}")
            for key, value in parameter_substitutions(logical).items():
                definition = definition.replace(f"${{{key}}}", value)
            if arn not in existing:
                sfn.create_state_machine(
                    name=name, definition=definition, roleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}"
                )
        self._route_ecs_events()

    def _route_ecs_events(self) -> None:
        """The template's EcsDeployment rule on moto's EventBridge, its target an SQS queue the
        harness drains into wake-rollout (moto delivers to no Lambda of ours), as EventBridge
        would invoke the function. Without `wake`, no rule: every event is lost."""
        if not self.wake:
            return
        events, sqs = self.client("events"), self.client("sqs")
        queue = sqs.create_queue(QueueName="berth-ecs-rule")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for name, pattern in ecs_rule_patterns().items():
            events.put_rule(Name=f"berth-{name}", EventPattern=json.dumps(pattern))
            events.put_targets(Rule=f"berth-{name}", Targets=[{"Id": "wake-rollout", "Arn": queue_arn}])
        if self._waker is None:
            self._waker = threading.Thread(target=self._wake, name="ECS events -> wake-rollout", daemon=True)
            self._waker.start()

    def _wake(self) -> None:
        """Deliver each ECS event the rules matched to wake-rollout, at once; a failed invocation
        (the runtime down) is retried as EventBridge retries a Lambda target: with growing delays,
        up to the rule's MaximumRetryAttempts."""
        sqs = self.client("sqs")
        attempts = max(
            e["Properties"].get("RetryPolicy", {}).get("MaximumRetryAttempts", 185)
            for e in template()["Resources"]["WakeRolloutFunction"]["Properties"]["Events"].values()
        )
        retry: list[tuple[float, int, dict]] = []  # (when, attempt, event)
        from concurrent.futures import ThreadPoolExecutor

        with open(self.tmp / "wake-forwarder.log", "a") as log, ThreadPoolExecutor(8) as pool:
            while not self._closing.wait(0.05):
                due = [r for r in retry if r[0] <= time.monotonic()]
                retry = [r for r in retry if r[0] > time.monotonic()]
                batch = [(n, e) for _, n, e in due]
                try:
                    url = sqs.get_queue_url(QueueName="berth-ecs-rule")["QueueUrl"]
                    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
                except Exception as e:  # noqa: BLE001 - a reset removes the queue until the next create
                    if self.wake:
                        log.write(f"queue: {e}\n")
                        log.flush()
                    msgs = []
                    self._closing.wait(0.5)
                for m in msgs:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                    batch.append((0, json.loads(m["Body"])))
                # EventBridge invokes a Lambda target for many events at once: so does the harness.
                futures = [
                    (attempt, event, pool.submit(self.invoke, "wake-rollout", event)) for attempt, event in batch
                ]
                for attempt, event, future in futures:
                    try:
                        answer = future.result()
                    except Exception as e:  # noqa: BLE001 - retried as EventBridge would
                        answer = {"error": str(e), "attempt": attempt}
                        if attempt < attempts:
                            retry.append((time.monotonic() + min(2**attempt, 30), attempt + 1, event))
                    self.woken.append(answer)
                    log.write(json.dumps({"event": event.get("detail"), "answer": answer}) + "\n")
                    log.flush()

    def now(self) -> datetime.datetime:
        """Simulated now: what the stack's processes read from their clock at this instant."""
        return self.clock.now_datetime()

    def cli_env(self, env: dict | None = None) -> dict:
        """The environment to start the `berth` CLI in, now: the caller's own without AWS_*/BERTH_*,
        the stack's endpoint and state machine, and its clock (computed per process: call it just
        before starting the CLI)."""
        env = {k: v for k, v in (os.environ if env is None else env).items() if not k.startswith(("AWS_", "BERTH_"))}
        env.update({k: v for k, v in self.lambda_env().items() if k.startswith("AWS_")})
        env["BERTH_STATE_MACHINE_ARN"] = STATE_MACHINE_ARN
        return self.clock.process_env(env)

    def sleep(self, simulated_seconds: float) -> None:
        """Let `simulated_seconds` of the stand-in's time pass (Step Functions' waits and retries
        run at `time_scale`): for a test that holds a stand-in condition (an outage) that long."""
        time.sleep(simulated_seconds / self.time_scale)

    def reset(self) -> None:
        self.control("reset")
        self.control("config", {"tick_seconds": self.tick_seconds})
        self.woken.clear()
        self.images.clear()
        self.create_state_machine()

    # ------------------------------------------------------------------ the ECR rule, as the template declares it

    def deliver_ecr_event(self, event: dict) -> dict | None:
        """Deliver an event the way the template's EventBridge rule would: moto's EventBridge
        matches it against the rule's pattern (read from template.yaml) and, if it matches,
        start-deployment is invoked with it. Returns the Lambda's answer, or None if no match."""
        events, sqs = self.client("events"), self.client("sqs")
        queue = sqs.create_queue(QueueName="berth-ecr-rule")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="berth-ecr-push", EventPattern=json.dumps(ecr_rule_pattern()))
        events.put_targets(Rule="berth-ecr-push", Targets=[{"Id": "start-deployment", "Arn": queue_arn}])
        entry = {"Source": event["source"], "DetailType": event["detail-type"], "Detail": json.dumps(event["detail"])}
        events.put_events(Entries=[entry])
        msgs = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for m in msgs:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        if not msgs:
            return None
        # EventBridge hands the Lambda the event itself (ours, with its id, account and region).
        return self.invoke("start-deployment", event)

    def invoke(self, function: str, payload: dict) -> dict:
        self.ensure_images(payload)
        lam = self.client("lambda")
        out = lam.invoke(FunctionName=function, Payload=json.dumps(payload).encode())
        body = json.loads(out["Payload"].read() or b"null")
        if out.get("FunctionError"):
            raise RuntimeError(f"{function} failed: {body}")
        return body

    # ------------------------------------------------------------------ ECR without events, and the sweep

    def push_image_silently(self, repository: str, digest: str, tag: str | None = None) -> dict:
        """Put an image in moto's ECR (the repository created if missing) and deliver NO push event:
        a push EventBridge never delivered. Returns DescribeImages' entry (imagePushedAt: moto's
        whole seconds, so images meant to be ordered in time are pushed a second apart)."""
        ecr = self.client("ecr")
        with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
            ecr.create_repository(repositoryName=repository)
        # One manifest per digest (moto keys images by manifest).
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2, "digest": digest},
                "layers": [],
            }
        )
        kwargs = {"imageTag": tag} if tag else {}
        ecr.put_image(repositoryName=repository, imageManifest=manifest, imageDigest=digest, **kwargs)
        return ecr.describe_images(repositoryName=repository, imageIds=[{"imageDigest": digest}])["imageDetails"][0]

    def ensure_images(self, doc) -> None:
        """Put every image of the stack's ECR that `doc` names (a request, a payload, CLI arguments)
        in moto's ECR, as a pushed image: Plan refuses a console request whose image ECR does not
        have, as it would in AWS. A tag alone gets a digest of its own (digest_of the reference)."""
        for s in strings(doc):
            m = IMAGE_IN_REGISTRY.match(s)
            if not m:
                continue
            key = (m["repo"], m["digest"] or digest_of(s), m["tag"])
            if key in self.images:
                continue
            try:
                self.push_image_silently(*key)
            except botocore.exceptions.ClientError as e:
                if "AlreadyExists" not in e.response["Error"]["Code"]:
                    raise
            self.images.add(key)

    def alarm(self, name: str, state: str = "OK") -> None:
        """A CloudWatch alarm on a target group's 5xx count (more than 5 a minute), set to `state`
        (moto never evaluates alarms from data: a test sets the state it needs)."""
        cw = self.client("cloudwatch")
        cw.put_metric_alarm(
            AlarmName=name,
            MetricName="HTTPCode_Target_5XX_Count",
            Namespace="AWS/ApplicationELB",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=5,
            ComparisonOperator="GreaterThanThreshold",
        )
        cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason="e2e")

    def create_reconcile_schedule(self, minutes: str | None = None) -> dict | None:
        """The template's ReconcileSchedule in moto's Scheduler, as CloudFormation would create it
        for ReconcileMinutes=`minutes` (the stand-in validates the expression as Scheduler does).
        None when the parameter turns the sweep off; ValueError when CloudFormation would refuse the
        parameter, ValidationException (botocore ClientError) when Scheduler would refuse the
        schedule."""
        spec = reconcile_schedule(minutes)
        if spec is not None:
            self.client("scheduler").create_schedule(**spec)
        return spec

    def fire_reconcile(self) -> dict:
        """Fire the sweep's schedule now, as Scheduler does when it comes due; the firing record
        (`response`: the sweep's answer, `functionError` when it failed)."""
        from tests.standin.schedules import fire_schedule

        return fire_schedule(self.url, RECONCILE_SCHEDULE)

    # ------------------------------------------------------------------ executions

    def start_execution(self, request: dict, name: str | None = None) -> str:
        sfn = self.client("stepfunctions")
        import uuid

        # The console names an execution with a UUID when you give none; moto names them all
        # "None" (so a second unnamed start collides), hence always a name here.
        name = name or str(uuid.uuid4())
        self.ensure_images(request)
        return sfn.start_execution(stateMachineArn=STATE_MACHINE_ARN, name=name, input=json.dumps(request))[
            "executionArn"
        ]

    def executions(self) -> list[dict]:
        return self.client("stepfunctions").list_executions(stateMachineArn=STATE_MACHINE_ARN)["executions"]

    def wait_execution(self, arn: str, timeout: float = 180, progress=None) -> dict:
        """Poll until the execution ends; `progress(line)` gets one line per state entered."""
        sfn = self.client("stepfunctions")
        seen: set = set()
        deadline = time.monotonic() + timeout
        while True:
            desc = sfn.describe_execution(executionArn=arn)
            if progress:
                for e in self.history(arn):
                    if (e["execution"], e["id"]) in seen:
                        continue
                    seen.add((e["execution"], e["id"]))
                    line = describe_event(e)
                    if line:
                        progress(line)
            if desc["status"] != "RUNNING":
                return desc
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {arn} still RUNNING after {timeout}s\n{self.logs()}")
            time.sleep(0.5)

    def outcomes(self, arn: str) -> list[dict]:
        """Each service's report, read from the execution's history (the Map's result, or for a
        release the reports ReleaseDone hands to Summarize)."""
        events = self.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
        for e in events:
            d = e.get("mapStateExitedEventDetails") or e.get("stateExitedEventDetails")
            if d and d.get("name") in ("DeployEachService", "ReleaseDone"):
                return json.loads(d["output"])["results"]
        return []

    def children(self, arn: str) -> list[str]:
        """The service executions an execution started (DeployService's TaskSubmitted), in order."""
        return children_of(
            self.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
        )

    def history(self, arn: str) -> list[dict]:
        """An execution's history followed by each of its service executions' (their events keep
        their own ids; `execution` says whose each is)."""
        sfn = self.client("stepfunctions")

        def of(execution: str) -> list[dict]:
            out, token = [], None
            while True:
                page = sfn.get_execution_history(
                    executionArn=execution, maxResults=1000, **({"nextToken": token} if token else {})
                )
                out += [{**e, "execution": execution} for e in page["events"]]
                token = page.get("nextToken")
                if not token:
                    return out

        parent = of(arn)
        return parent + [e for child in children_of(parent) for e in of(child)]

    # ------------------------------------------------------------------ a sample service

    def network(self, name: str) -> tuple[str, str, str]:
        """VPC, subnet and security group (moto's create_service needs them)."""
        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        sg = ec2.create_security_group(GroupName=f"{name}-sg", Description="berth e2e", VpcId=vpc)["GroupId"]
        return vpc, subnet, sg

    def cluster_and_task_definition(self, cluster: str, family: str, image: str, logs: bool = False) -> str:
        """The cluster, and a Fargate task definition whose one container `app` runs `image` on 8080
        (with `logs`, to CloudWatch Logs: group /ecs/<family>, stream prefix <family>)."""
        ecs = self.client("ecs")
        ecs.create_cluster(clusterName=cluster)
        app = {"name": "app", "image": image, "essential": True, "portMappings": [{"containerPort": 8080}]}
        if logs:
            app["logConfiguration"] = {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": f"/ecs/{family}",
                    "awslogs-region": REGION,
                    "awslogs-stream-prefix": family,
                },
            }
        return ecs.register_task_definition(
            family=family,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole",
            containerDefinitions=[app],
        )["taskDefinition"]["taskDefinitionArn"]

    def make_service(
        self,
        name: str,
        image: str,
        *,
        cluster: str = "prod",
        desired: int = 2,
        repository: str | None = None,
        tags: dict | None = None,
        with_lb: bool = True,
        breaker: bool = True,
        logs: bool = False,
    ) -> dict:
        """VPC, subnet, SG and target group (moto's create_service needs them), a cluster, a task
        definition running `image` (`logs`: to CloudWatch Logs), and a Fargate service tagged for
        berth; waits until stable."""
        ecs, elb = self.client("ecs"), self.client("elbv2")
        vpc, subnet, sg = self.network(name)
        td = self.cluster_and_task_definition(cluster, name, image, logs=logs)
        all_tags = {"berth:repository": repository or name, "berth:container": "app", **(tags or {})}
        kwargs = dict(
            cluster=cluster,
            serviceName=name,
            taskDefinition=td,
            desiredCount=desired,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}},
            deploymentConfiguration={
                "deploymentCircuitBreaker": {"enable": breaker, "rollback": breaker},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
            },
            tags=[{"key": k, "value": v} for k, v in all_tags.items()],
        )
        tg = None
        if with_lb:
            tg = elb.create_target_group(Name=name, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip")[
                "TargetGroups"
            ][0]["TargetGroupArn"]
            kwargs["loadBalancers"] = [{"targetGroupArn": tg, "containerName": "app", "containerPort": 8080}]
        ecs.create_service(**kwargs)
        svc = {"cluster": cluster, "service": name, "task_definition": td, "target_group": tg}
        wait_until(lambda: self.steady(svc), 30, f"service {name} to start")
        return svc

    def make_bluegreen_service(
        self,
        name: str,
        image: str,
        *,
        cluster: str = "prod",
        desired: int = 2,
        config: str = "CodeDeployDefault.ECSAllAtOnce",
        tags: dict | None = None,
        application: str | None = None,
        deployment_group: str | None = None,
    ) -> dict:
        """A service on the CODE_DEPLOY controller behind a blue and a green target group, and its
        CodeDeploy application and deployment group (the ECS console's names unless given), with
        auto-rollback on failure and on a stop, as the console sets it up."""
        ecs, elb, cd = (self.client(c) for c in ("ecs", "elbv2", "codedeploy"))
        vpc, subnet, sg = self.network(name)
        tgs = {
            c: elb.create_target_group(Name=f"{name}-{c}", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip")[
                "TargetGroups"
            ][0]["TargetGroupArn"]
            for c in ("blue", "green")
        }
        td = self.cluster_and_task_definition(cluster, name, image)
        kwargs = dict(
            cluster=cluster,
            serviceName=name,
            taskDefinition=td,
            desiredCount=desired,
            launchType="FARGATE",
            deploymentController={"type": "CODE_DEPLOY"},
            networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}},
            loadBalancers=[{"targetGroupArn": tgs["blue"], "containerName": "app", "containerPort": 8080}],
        )
        if tags:
            kwargs["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        ecs.create_service(**kwargs)
        app = application or f"AppECS-{cluster}-{name}"
        group = deployment_group or f"DgpECS-{cluster}-{name}"
        listener = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/{name}/0123456789abcdef"
        cd.create_application(applicationName=app, computePlatform="ECS")
        cd.create_deployment_group(
            applicationName=app,
            deploymentGroupName=group,
            deploymentConfigName=config,
            serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ecsCodeDeployRole",
            ecsServices=[{"clusterName": cluster, "serviceName": name}],
            deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"]},
            blueGreenDeploymentConfiguration={
                "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 0},
                "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
            },
            loadBalancerInfo={
                "targetGroupPairInfoList": [
                    {
                        "targetGroups": [{"name": f"{name}-blue"}, {"name": f"{name}-green"}],
                        "prodTrafficRoute": {"listenerArns": [f"{listener}/1111111111111111"]},
                        "testTrafficRoute": {"listenerArns": [f"{listener}/2222222222222222"]},
                    }
                ]
            },
        )
        svc = {
            "cluster": cluster,
            "service": name,
            "task_definition": td,
            "target_groups": tgs,
            "application": app,
            "deployment_group": group,
        }
        wait_until(lambda: self.listener(svc, "prod").get("taskDefinition") == td, 30, f"service {name} to serve")
        return svc

    def listener(self, svc: dict, which: str) -> dict:
        """What the service's prod or test listener answers (the stand-in's ALB view), with its status."""
        r = requests.get(f"{self.url}/_berth/listener/{svc['cluster']}/{svc['service']}/{which}/health", timeout=30)
        try:
            body = r.json()
        except ValueError:
            body = {}
        return {"status": r.status_code, **(body if isinstance(body, dict) else {})}

    def set_checks(self, svc: dict, config: dict) -> None:
        """The codedeploy-hook configuration of a service, where the hook reads it (SSM)."""
        self.client("ssm").put_parameter(
            Name=f"/berth/checks/{svc['cluster']}/{svc['service']}",
            Value=json.dumps(config),
            Type="String",
            Overwrite=True,
        )

    def wait_steady(self, svc: dict, timeout: float = 60) -> dict:
        return wait_until(lambda: self.steady(svc), timeout, f"service {svc['service']} to be steady")

    def describe(self, svc: dict) -> dict:
        return self.client("ecs").describe_services(cluster=svc["cluster"], services=[svc["service"]])["services"][0]

    def steady(self, svc: dict) -> dict | None:
        s = self.describe(svc)
        deps = s["deployments"]
        ok = (
            len(deps) == 1
            and deps[0].get("rolloutState") == "COMPLETED"
            and deps[0]["runningCount"] == s["desiredCount"]
        )
        return s if ok else None

    def running_images(self, svc: dict) -> list[tuple[str, str, str]]:
        """(task definition, image, digest) of every RUNNING task of the service."""
        ecs = self.client("ecs")
        arns = ecs.list_tasks(cluster=svc["cluster"], serviceName=svc["service"], desiredStatus="RUNNING")["taskArns"]
        if not arns:
            return []
        tasks = ecs.describe_tasks(cluster=svc["cluster"], tasks=arns)["tasks"]
        return sorted(
            (t["taskDefinitionArn"], c["image"], c.get("imageDigest", "")) for t in tasks for c in t["containers"]
        )

    def task_definition_arns(self, family: str) -> list[str]:
        return self.client("ecs").list_task_definitions(familyPrefix=family)["taskDefinitionArns"]


# ---------------------------------------------------------------------- template and events


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node, deep=True)}
    return {suffix: loader.construct_mapping(node, deep=True)}


_CfnLoader.add_multi_constructor("!", _tag)


def template() -> dict:
    return yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)


def function_state(resource: dict) -> str:
    """The state a function of template.yaml serves: its `BERTH_STATE`, which is also the name the
    harness invokes it by (the stand-in's Lambda route, the state machine's ARNs)."""
    return resource["Properties"]["Environment"]["Variables"]["BERTH_STATE"]


def lambda_functions() -> dict:
    """state -> {"logical", "environment", "memory"} for every function of template.yaml.
    `environment` holds the literal variables of Globals and of the function (BERTH_STATE among
    them); values that are intrinsics (`!Ref` a parameter, `!Sub`) are left out: Stack.lambda_env
    sets what the harness needs of those."""
    t = template()
    glob = t.get("Globals", {}).get("Function", {})

    def literal(variables: dict | None) -> dict:
        return {k: str(v) for k, v in (variables or {}).items() if isinstance(v, (str, int, float))}

    out: dict[str, dict] = {}
    for logical, res in t["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        state = function_state(res)
        assert state not in out, f"{logical} and {out[state]['logical']} both have BERTH_STATE {state}"
        props = res["Properties"]
        env = {**literal(glob.get("Environment", {}).get("Variables")), **literal(props["Environment"]["Variables"])}
        out[state] = {
            "logical": logical,
            "environment": env,
            "memory": int(props.get("MemorySize", glob.get("MemorySize", 128))),
        }
    return out


def function_substitutions(machine: str = "DeployStateMachine") -> dict:
    """DefinitionSubstitutions key -> the name of the function it names (its BERTH_STATE), from template.yaml."""
    t = template()
    resources = t["Resources"]
    subs = resources[machine]["Properties"]["DefinitionSubstitutions"]
    return {k: function_state(resources[v["GetAtt"].split(".")[0]]) for k, v in subs.items() if "GetAtt" in v}


def parameter_substitutions(machine: str = "DeployStateMachine") -> dict:
    """DefinitionSubstitutions key -> what its `!Ref` gives: a template parameter's default, or the
    ARN of one of the template's state machines."""
    t = template()
    subs = t["Resources"][machine]["Properties"]["DefinitionSubstitutions"]
    out = {}
    for k, v in subs.items():
        if "Ref" not in v:
            continue
        ref = v["Ref"]
        out[k] = MACHINES[ref][1] if ref in MACHINES else str(t["Parameters"][ref]["Default"])
    return out


def ecs_rule_patterns() -> dict:
    """The template's rules that invoke wake-rollout (event name -> pattern), for this account."""
    events = template()["Resources"]["WakeRolloutFunction"]["Properties"]["Events"]
    return {
        name: {k: ([ACCOUNT] if k == "account" else v) for k, v in e["Properties"]["Pattern"].items()}
        for name, e in events.items()
        if e["Type"] == "EventBridgeRule"
    }


def ecr_rule_pattern(repositories: list[str] | None = None, tag_pattern: str = "*") -> dict:
    """The template's EventBridge pattern, with its parameters and conditions resolved as a
    default install resolves them (any repository, any tag, this account)."""
    fn = template()["Resources"]["StartDeploymentFunction"]["Properties"]["Events"]["EcrPush"]["Properties"]["Pattern"]

    def resolve(v):
        if isinstance(v, dict) and len(v) == 1:
            ((k, arg),) = v.items()
            if k == "Ref":
                return {
                    "AWS::AccountId": ACCOUNT,
                    "Repositories": repositories or [],
                    "TagPattern": tag_pattern,
                    "AWS::NoValue": None,
                }[arg]
            if k == "If":
                cond, yes, no = arg
                on = {"HasRepositories": bool(repositories), "HasTagPattern": tag_pattern != "*"}[cond]
                return resolve(yes if on else no)
        if isinstance(v, dict):
            out = {k: resolve(x) for k, x in v.items()}
            return {k: x for k, x in out.items() if x is not None}
        if isinstance(v, list):
            return [resolve(x) for x in v]
        return v

    return resolve(fn)


def ecr_push_event(
    repository: str, digest: str, tag: str = "latest", action: str = "PUSH", result: str = "SUCCESS"
) -> dict:
    """An ECR Image Action event as EventBridge delivers it (AWS ECR user guide, 'Amazon ECR events')."""
    import uuid

    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "account": ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [],
        "detail": {
            "result": result,
            "repository-name": repository,
            "image-digest": digest,
            "action-type": action,
            "image-tag": tag,
            "manifest-media-type": "application/vnd.oci.image.manifest.v1+json",
        },
    }


# template.yaml names the schedule ${AWS::StackName}-reconcile; the harness's stack is "berth".
STACK_NAME = "berth"
RECONCILE_SCHEDULE = f"{STACK_NAME}-reconcile"


def reconcile_schedule(minutes: str | None = None) -> dict | None:
    """CreateSchedule's arguments for the template's ReconcileSchedule with ReconcileMinutes =
    `minutes` (default: the parameter's default), its conditions, !If and !Sub resolved as
    CloudFormation resolves them; None when its Condition is false (the sweep turned off). Raises
    ValueError for a value the parameter's AllowedPattern refuses (CloudFormation refuses the stack)."""
    import re

    t = template()
    param = t["Parameters"]["ReconcileMinutes"]
    value = str(param["Default"]) if minutes is None else str(minutes)
    if not re.fullmatch(param["AllowedPattern"], value):
        raise ValueError(f"CloudFormation refuses ReconcileMinutes={value!r}: {param['ConstraintDescription']}")
    params = {
        "ReconcileMinutes": value,
        "AWS::StackName": STACK_NAME,
        "AWS::AccountId": ACCOUNT,
        "AWS::Region": REGION,
        "AWS::Partition": "aws",
    }
    resources = t["Resources"]

    def resolve(v):
        if isinstance(v, dict) and len(v) == 1:
            ((k, arg),) = v.items()
            if k == "Ref":
                return params[arg]
            if k == "Not":
                return not resolve(arg[0])
            if k == "Equals":
                return resolve(arg[0]) == resolve(arg[1])
            if k == "Condition":
                return resolve(t["Conditions"][arg])
            if k == "If":
                cond, yes, no = arg
                return resolve(yes if resolve(t["Conditions"][cond]) else no)
            if k == "Sub":
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(params[m.group(1)]), arg)
            if k == "GetAtt":
                logical = arg.split(".")[0]
                res = resources[logical]
                if res["Type"] == "AWS::Serverless::Function":  # the harness names functions by state
                    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_state(res)}"
                return f"arn:aws:iam::{ACCOUNT}:role/{STACK_NAME}-{logical}"
        if isinstance(v, dict):
            return {k: resolve(x) for k, x in v.items()}
        if isinstance(v, list):
            return [resolve(x) for x in v]
        return v

    res = resources["ReconcileSchedule"]
    if not resolve(t["Conditions"][res["Condition"]]):
        return None
    return resolve(res["Properties"])


def children_of(events: list[dict]) -> list[str]:
    """The child executions a history's DeployService states started (their TaskSubmitted output)."""
    out = []
    for e in events:
        d = e.get("taskSubmittedEventDetails")
        if d and d.get("resource", "").startswith("startExecution"):
            arn = json.loads(d["output"]).get("ExecutionArn")
            if arn and arn not in out:
                out.append(arn)
    return out


def describe_event(e: dict) -> str | None:
    """One readable line for the history events a person wants to follow."""
    kind = e["type"]
    if kind == "TaskStateEntered" or kind == "ChoiceStateEntered" or kind == "WaitStateEntered":
        return None
    if kind.endswith("StateExited"):
        d = e["stateExitedEventDetails"]
        name = d["name"]
        try:
            out = json.loads(d.get("output") or "null")
        except ValueError:
            out = None
        return summarize_state(name, out)
    if kind == "TaskFailed" or kind == "LambdaFunctionFailed":
        d = e.get("taskFailedEventDetails") or e.get("lambdaFunctionFailedEventDetails") or {}
        return f"  ! {d.get('error')}: {d.get('cause', '')[:300]}"
    if kind == "ExecutionFailed":
        d = e["executionFailedEventDetails"]
        return f"execution FAILED {d.get('error')}: {d.get('cause')}"
    if kind == "ExecutionSucceeded":
        return "execution SUCCEEDED"
    return None


def summarize_state(name: str, out) -> str | None:
    if not isinstance(out, dict):
        return None
    svc = out.get("service", "")
    pick = {
        "Plan": lambda: (
            f"plan: {len(out['plan']['deployments'])} service(s) "
            f"{[d['service'] for d in out['plan']['deployments']]}"
            + (f" skipped: {out['plan'].get('skipped')}" if out["plan"].get("skipped") else "")
        ),
        "CheckFreeze": lambda: f"[{svc}] freeze {out['freezeCheck']['decision']}: {out['freezeCheck']['detail']}",
        "CheckScan": lambda: (
            f"[{svc}] image scan {out['scanResult']['verdict']}: "
            f"{out['scanResult'].get('reason') or out['scanResult'].get('status')}"
        ),
        "AcquireTurn": lambda: f"[{svc}] turn {out['turn']['decision']}: {out['turn']['detail']}",
        "RegisterRevision": lambda: (
            f"[{svc}] registered {out['register']['taskDefinitionArn'].split('/')[-1]} "
            f"image {out['register']['image'].split('/')[-1][:40]} "
            f"(previous {out['register']['previousTaskDefinitionArn'].split('/')[-1]})"
        ),
        "UpdateService": lambda: f"[{svc}] rollout {out['update']['ecsDeploymentId']} started",
        "JudgeMigration": lambda: (
            f"[{svc}] migration task {out['migrationTask']['taskArn'].split('/')[-1]} passed (exit 0)"
        ),
        "StopOldTasks": lambda: (
            f"[{svc}] stop-then-start: {out['stopping']['running']} old task(s) may still run"
            f"{' (none: starting the new revision)' if out['stopping']['drained'] else ''}"
        ),
        "StopFailedTasks": lambda: (
            f"[{svc}] stop-then-start rollback: {out['rollbackStop']['running']} new task(s) may still run"
            f"{' (none: starting the previous revision)' if out['rollbackStop']['drained'] else ''}"
        ),
        "WatchRollout": lambda: f"[{svc}] stability {out['stability']['status']}: {out['stability']['detail']}",
        "EvaluateCanary": lambda: (
            f"[{svc}] canary {out['canaryResult']['verdict']} -> {out['canaryResult']['decision']}: "
            f"{out['canaryResult']['detail'][:200]}"
        ),
        "Rollback": lambda: f"[{svc}] ROLLBACK: {out['rollback']['detail']}",
        "WatchRollback": lambda: (
            f"[{svc}] rollback stability {out['rollbackStability']['status']}: {out['rollbackStability']['detail']}"
        ),
        "Summarize": lambda: f"summary {out['summary']['status']}: {out['summary']['cause']}",
    }.get(name)
    if not pick:
        return None
    try:
        return pick()
    except (KeyError, TypeError, IndexError):
        return None


# ---------------------------------------------------------------------- bad input and fuzzing helpers


def berth_error_names(include_execution: bool = False) -> set[str]:
    """berth's error names (`ErrorName` in shared/src/error.rs, and with `include_execution` also
    `ExecutionErrorName`), from statemachine/error-names.json, which the Rust test that renders the
    ASL writes and keeps current, so the tests never copy them."""
    listed = json.loads((ROOT / "statemachine" / "error-names.json").read_text())
    out = {n for names in listed["lambda"].values() for n in names}
    if include_execution:
        out |= set(listed["execution"])
    assert out, "no error names in statemachine/error-names.json"
    return out


def invoke_raw(stack: Stack, function: str, body: bytes, timeout: float = 60) -> tuple[int, object]:
    """POST `body` as it is (any bytes) to the Invoke API of `function`'s runtime emulator (its
    default function `_`, which that function's berth-lambda serves). Returns (HTTP status, parsed
    JSON answer or the raw text). cargo lambda answers a handler error with HTTP 500 and
    `{errorType, errorMessage}`; a result with 200."""
    r = requests.post(
        f"{stack.lambda_urls[function]}/2015-03-31/functions/{DEFAULT_FUNCTION}/invocations",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=timeout,
    )
    try:
        return r.status_code, r.json()
    except ValueError:
        return r.status_code, r.text


def aws_snapshot(stack: Stack, tags: bool = True, ecr: bool = False, children: bool = False) -> dict:
    """Everything in the stand-in a berth Lambda could change: task definitions (ACTIVE and
    INACTIVE, with their tags when `tags`), every service (task definition, desired count,
    deployments, task sets, tags, number of events), CodeDeploy deployments, SSM parameters and the
    state machine's executions; with `ecr`, every ECR repository's images and their tags; with
    `children`, the service state machine's executions too (one per service an execution deploys)."""
    ecs, ssm, sfn, cd = (stack.client(c) for c in ("ecs", "ssm", "stepfunctions", "codedeploy"))
    snap: dict = {"taskDefinitions": {}, "services": {}, "codedeploy": {}, "ssm": {}, "executions": []}
    for status in ("ACTIVE", "INACTIVE"):
        for page in ecs.get_paginator("list_task_definitions").paginate(status=status):
            for arn in page["taskDefinitionArns"]:
                entry: dict[str, object] = {"status": status}
                if tags:
                    out = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
                    entry["tags"] = sorted((t["key"], t["value"]) for t in out.get("tags", []))
                snap["taskDefinitions"][arn] = entry
    for cluster in ecs.list_clusters()["clusterArns"]:
        arns = [a for page in ecs.get_paginator("list_services").paginate(cluster=cluster) for a in page["serviceArns"]]
        for i in range(0, len(arns), 10):
            for s in ecs.describe_services(cluster=cluster, services=arns[i : i + 10], include=["TAGS"])["services"]:
                snap["services"][s["serviceArn"]] = {
                    "status": s.get("status"),
                    "taskDefinition": s.get("taskDefinition"),
                    "desiredCount": s.get("desiredCount"),
                    "deployments": [
                        {"id": d["id"], "status": d.get("status"), "taskDefinition": d.get("taskDefinition")}
                        for d in s.get("deployments", [])
                    ],
                    "taskSets": sorted(
                        (t["id"], t.get("taskDefinition"), t.get("status")) for t in s.get("taskSets", [])
                    ),
                    "tags": sorted((t["key"], t["value"]) for t in s.get("tags", [])),
                    "events": len(s.get("events", [])),
                }
    for d in stack.control("codedeploy", method="GET")["deployments"]:
        snap["codedeploy"][d["deploymentId"]] = d.get("status")
    for page in ssm.get_paginator("describe_parameters").paginate():
        for p in page["Parameters"]:
            snap["ssm"][p["Name"]] = p.get("Version")
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=STATE_MACHINE_ARN):
        snap["executions"] += [e["executionArn"] for e in page["executions"]]
    snap["executions"].sort()
    if children:
        snap["serviceExecutions"] = sorted(
            e["executionArn"]
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=SERVICE_STATE_MACHINE_ARN)
            for e in page["executions"]
        )
    if ecr:
        registry = stack.client("ecr")
        snap["ecr"] = {}
        for page in registry.get_paginator("describe_repositories").paginate():
            for repo in page["repositories"]:
                name = repo["repositoryName"]
                snap["ecr"][name] = sorted(
                    (image["imageDigest"], tuple(sorted(image.get("imageTags", []))))
                    for images in registry.get_paginator("describe_images").paginate(repositoryName=name)
                    for image in images["imageDetails"]
                )
    return snap


def aws_changes(before: dict, after: dict, strict: bool = True) -> list[str]:
    """What differs between two `aws_snapshot`s, one line each. `strict=False` ignores what the
    stand-in's simulators change on their own while an earlier rollout progresses (deployments
    draining, rollout and CodeDeploy statuses, events): it reports only what a berth call makes,
    i.e. new or deregistered revisions, retagged revisions, a service pointed elsewhere, new ECS or
    CodeDeploy deployments, stopped CodeDeploy deployments, written SSM parameters, new executions;
    and, when both snapshots hold them, new child executions and ECR images pushed, deleted or
    retagged."""
    out: list[str] = []
    tb, ta = before["taskDefinitions"], after["taskDefinitions"]
    for arn in sorted(set(ta) - set(tb)):
        out.append(f"task definition registered: {arn}")
    for arn in sorted(set(tb) - set(ta)):
        out.append(f"task definition gone: {arn}")
    for arn in sorted(set(ta) & set(tb)):
        if ta[arn] != tb[arn]:
            out.append(f"task definition {arn} changed: {tb[arn]} -> {ta[arn]}")
    sb, sa = before["services"], after["services"]
    for arn in sorted(set(sa) ^ set(sb)):
        out.append(f"service {'created' if arn in sa else 'gone'}: {arn}")
    for arn in sorted(set(sa) & set(sb)):
        b, a = sb[arn], sa[arn]
        name = arn.split("/", 1)[-1]
        if b["taskDefinition"] != a["taskDefinition"]:
            out.append(f"service {name}: taskDefinition {b['taskDefinition']} -> {a['taskDefinition']}")
        new = [d for d in a["deployments"] if d["id"] not in {x["id"] for x in b["deployments"]}]
        for d in new:
            out.append(f"service {name}: new deployment {d['id']} of {d['taskDefinition']}")
        if b["tags"] != a["tags"] or b["desiredCount"] != a["desiredCount"]:
            out.append(
                f"service {name}: tags/desiredCount {b['tags']}/{b['desiredCount']} -> {a['tags']}/{a['desiredCount']}"
            )
        new_sets = sorted({t[0] for t in a["taskSets"]} - {t[0] for t in b["taskSets"]})
        if new_sets:
            out.append(f"service {name}: new task sets {new_sets}")
        if (
            strict
            and not new
            and (
                b["deployments"] != a["deployments"]
                or b["events"] != a["events"]
                or b["taskSets"] != a["taskSets"]
                or b["status"] != a["status"]
            )
        ):
            out.append(
                f"service {name}: deployments/events {b['deployments']} ({b['events']} events) -> "
                f"{a['deployments']} ({a['events']} events)"
            )
    cb, ca = before["codedeploy"], after["codedeploy"]
    for d in sorted(set(ca) - set(cb)):
        out.append(f"CodeDeploy deployment created: {d} ({ca[d]})")
    for d in sorted(set(ca) & set(cb)):
        if ca[d] != cb[d] and (strict or ca[d] == "Stopped"):
            out.append(f"CodeDeploy deployment {d}: {cb[d]} -> {ca[d]}")
    pb, pa = before["ssm"], after["ssm"]
    for name in sorted(set(pa) | set(pb)):
        if pa.get(name) != pb.get(name):
            out.append(f"SSM parameter {name}: version {pb.get(name)} -> {pa.get(name)}")
    for arn in sorted(set(after["executions"]) - set(before["executions"])):
        out.append(f"execution started: {arn}")
    # what aws_snapshot(children=True, ecr=True) adds, when both snapshots have it
    if "serviceExecutions" in before and "serviceExecutions" in after:
        for arn in sorted(set(after["serviceExecutions"]) - set(before["serviceExecutions"])):
            out.append(f"execution started: {arn}")
    if "ecr" in before and "ecr" in after:
        rb, ra = before["ecr"], after["ecr"]
        for repo in sorted(set(rb) | set(ra)):
            if repo not in ra or repo not in rb:
                out.append(f"ECR repository {'created' if repo in ra else 'deleted'}: {repo}")
                continue
            ib, ia = dict(rb[repo]), dict(ra[repo])
            for digest in sorted(set(ib) | set(ia)):
                if ib.get(digest) != ia.get(digest):
                    out.append(f"ECR image {repo}@{digest}: tags {ib.get(digest)} -> {ia.get(digest)}")
    return out


if __name__ == "__main__":
    # `python -m tests.e2e.harness build-release`: scripts/test's release phase.
    if sys.argv[1:] != ["build-release"]:
        sys.exit("usage: python -m tests.e2e.harness build-release")
    print(build_lambda_binary("release"))
    print("building the guard's panicking example (release: " + " ".join(GUARD_RELEASE_BUILD[1:]) + ")")
    subprocess.run(GUARD_RELEASE_BUILD, cwd=ROOT, check=True)
