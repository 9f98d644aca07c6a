"""Fixtures shared by every test directory."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from .e2e.harness import ROOT, build_lambda_binary, lambda_binary


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: an end-to-end scenario (tests/e2e/, marked by this file)")
    config.addinivalue_line("markers", "quick: one of the scenarios `scripts/test --quick` runs")
    config.addinivalue_line("markers", "release: needs the release artifact (left out by `scripts/test --quick`)")


def pytest_collection_modifyitems(config, items):
    e2e = Path(__file__).parent / "e2e"
    for item in items:
        if e2e in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def release_artifact() -> Path:
    """berth-lambda built as `sam build` builds it (cargo-lambda's release flags and the workspace's
    release profile; this machine's architecture), once per test run: the end-to-end scenarios run
    it. cargo-lambda copies the bootstrap again on every build, even one with nothing to compile,
    and a copy over a binary that a running stack executes fails ("text file busy") or swaps it
    under that stack; so scripts/test builds it before pytest (BERTH_RELEASE_BUILT=1), and a run
    on several workers without it builds once, the first worker under a lock, the rest reuse it."""
    artifact = lambda_binary("release")
    if os.environ.get("BERTH_RELEASE_BUILT") == "1":
        assert artifact.exists(), f"BERTH_RELEASE_BUILT=1 but there is no {artifact}"
        return artifact
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", f"pid{os.getpid()}")
    marker = ROOT / ".berth" / f"release-built-{run}"
    marker.parent.mkdir(exist_ok=True)
    with open(ROOT / ".berth" / "release-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            for old in marker.parent.glob("release-built-*"):
                old.unlink()
            build_lambda_binary("release", log=lambda line: print(f"[artifact] {line}", flush=True))
            marker.touch()
    return artifact
