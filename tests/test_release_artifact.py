"""The deployed artifact is the tested artifact: the hook guard, built exactly as `sam build` builds
the Lambdas (cargo-lambda's release flags, which add `panic = "abort"` unless the workspace's
release profile names a strategy), still turns a panicking check into a reported Failed; and
berth-lambda, built the same way, refuses to start without a valid BERTH_STATE. (The end-to-end
scenarios run that same release artifact: tests/e2e/conftest.py.)"""

from __future__ import annotations

import subprocess

import pytest

from .e2e.harness import GUARD_RELEASE_BUILD, ROOT

# Both need the release build (scripts/test --quick leaves them out).
pytestmark = pytest.mark.release


def test_a_panicking_check_is_reported_failed_in_the_release_build():
    # GIVEN the guard's example built by cargo-lambda in release mode (its flags, not ours); the
    # host triple with the local linker, since the flags, not the architecture, decide the panic
    # strategy
    # (tests/e2e/harness.py's GUARD_RELEASE_BUILD, which scripts/test ran before pytest; `-v` for
    # cargo-lambda's account of its flags)
    build = subprocess.run(
        [*GUARD_RELEASE_BUILD, "-v"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert build.returncode == 0, build.stderr[-4000:]
    # cargo-lambda's own account of the release flags it added (with `-v`): the workspace's
    # profile names a panic strategy, so cargo-lambda adds no `panic="abort"` of its own
    flags = [line for line in (build.stdout + build.stderr).splitlines() if "release optimizations config=" in line]
    assert flags, build.stderr[-4000:]
    assert "panic" not in flags[0], flags[0]
    binary = ROOT / "target" / "lambda" / "panicking_check" / "bootstrap"
    assert binary.exists(), f"no {binary}"
    # WHEN the check panics
    run = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60)
    # THEN the process survives and reports Failed, naming the panic (abort would exit 134 first)
    assert run.returncode == 0, f"exit {run.returncode}: {run.stderr[-2000:]}"
    assert run.stdout.strip() == ("REPORT Failed: AfterAllowTestTraffic: a check panicked (the probe got no status)"), (
        run.stdout
    )


def test_the_artifact_refuses_a_missing_or_misspelt_state_at_init(release_artifact):
    # GIVEN berth-lambda as `sam build` builds it (for this machine's architecture)
    binary = release_artifact
    for env, said in (
        ({}, "BERTH_STATE is not set"),
        ({"BERTH_STATE": "plan-deploymnet"}, 'BERTH_STATE="plan-deploymnet" names no berth state'),
    ):
        # WHEN a function's template names no state, or a misspelt one
        run = subprocess.run(
            [str(binary)],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9"} | env,
        )
        # THEN it stops at init (Lambda: Runtime.ExitError) saying what is wrong and what is valid,
        # before any Runtime API call
        assert run.returncode == 1, (run.returncode, run.stderr)
        assert said in run.stderr, run.stderr
        assert "use one of: plan-deployment" in run.stderr or "set it to one of: plan-deployment" in run.stderr, (
            run.stderr
        )
