"""Fixtures shared by every test directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from .e2e.harness import build_lambda_binary


@pytest.fixture(scope="session")
def release_artifact() -> Path:
    """berth-lambda built as `sam build` builds it (cargo-lambda's release flags and the workspace's
    release profile; this machine's architecture), once per test session: the end-to-end scenarios
    run it, and building it again under their running processes would fail ("text file busy")."""
    return build_lambda_binary("release", log=lambda line: print(f"[artifact] {line}", flush=True))
