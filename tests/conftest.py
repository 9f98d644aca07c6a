"""Fixtures shared by every test directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from .e2e.harness import build_lambda_binary


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
    release profile; this machine's architecture), once per test session: the end-to-end scenarios
    run it, and building it again under their running processes would fail ("text file busy")."""
    return build_lambda_binary("release", log=lambda line: print(f"[artifact] {line}", flush=True))
