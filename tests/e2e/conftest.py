"""One local stack (stand-in + Lambda runtime + state machine) for every end-to-end scenario,
reset before each one, and the `berth` CLI fixtures (`cli`, `berth_binary`) the CLI-driven
scenarios share. Scenario wall times are printed at the end (`-s` not needed).

The scenarios run the release artifact, built as `sam build` builds it (harness.RELEASE_BUILD):
what runs in AWS is what they prove. `BERTH_E2E_BUILD=debug` runs the debug build instead, for a
quicker edit-and-rerun loop."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import DEV_BUILD, ROOT, Stack

TIMES: dict[str, float] = {}
# Simulated seconds per wall second: the stack's one clock, which the stand-in, every berth-lambda and
# the CLI read, and Step Functions' waits, retries and waiting tasks' timeouts (tests/standin/README.md,
# "Simulated time"). The scenarios' bakes, windows and deadlines are in simulated seconds.
TIME_SCALE = float(os.environ.get("BERTH_TIME_SCALE", "10"))


@contextlib.contextmanager
def started_stack(request, label: str, **options) -> Iterator[Stack]:
    """A stack of the scenarios' build (the release artifact unless BERTH_E2E_BUILD=debug) at the
    suite's time scale (unless `options` names one), with `options` for Stack; stopped when the
    block ends."""
    build = os.environ.get("BERTH_E2E_BUILD", "release")
    if build == "release":
        request.getfixturevalue("release_artifact")  # built once per run (tests/conftest.py)
    s = Stack(
        log=lambda line: print(f"[{label}] {line}", flush=True),
        build=build,
        built=build == "release",
        **{"time_scale": TIME_SCALE, **options},
    ).start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def stack(request):
    # A 30 s fallback poll (the template's is 300 s; 3 s of wall time at scale 10): a scenario whose
    # ECS event is lost by design (the Lambda runtime gone) still ends in seconds; test_scale asserts
    # the events do the work, on a stack of its own with the template's poll.
    # Two processes per function: Lambda runs a function's invocations side by side.
    with started_stack(request, "e2e", fallback_seconds=30, instances=2) as s:
        yield s


@pytest.fixture
def berth(stack, request):
    stack.reset()
    t0 = time.monotonic()
    yield stack
    TIMES[request.node.name] = time.monotonic() - t0


@pytest.fixture(scope="session")
def berth_binary() -> Path:
    """The CLI (debug: it is not what the Lambdas run), from the test run's one dev build (a no-op
    once scripts/test has built it)."""
    subprocess.run(DEV_BUILD, cwd=ROOT, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or "target")
    return (target if target.is_absolute() else ROOT / target) / "debug" / "berth"


@pytest.fixture
def cli(berth, berth_binary):
    """Run `berth ARGS...` against the stack; returns the CompletedProcess (text)."""

    def run(*args: str, timeout: float = 240, env_overrides: dict | None = None) -> subprocess.CompletedProcess:
        # the images it names pushed, as `berth deploy --image` and a release file expect
        files = [Path(a) for a in args if a.endswith(".json") and Path(a).is_file()]
        berth.ensure_images([list(args), *(json.loads(f.read_text()) for f in files)])
        e = {**berth.cli_env(), **(env_overrides or {})}
        e = {k: v for k, v in e.items() if v is not None}
        done = subprocess.run([str(berth_binary), *args], env=e, capture_output=True, text=True, timeout=timeout)
        print(f"$ berth {' '.join(args)}  -> {done.returncode}\n{done.stderr}{done.stdout}")
        return done

    return run


def pytest_terminal_summary(terminalreporter):
    if TIMES:
        terminalreporter.section("end-to-end scenario wall times")
        for name, secs in TIMES.items():
            terminalreporter.write_line(f"{secs:7.1f}s  {name}")
