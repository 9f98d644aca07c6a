"""One HTTP/TLS stack in the Lambdas: the SDK's default client (hyper 1, rustls 0.23, aws-lc-rs).

The AWS SDK crates' default `rustls` feature adds the legacy client (hyper 0.14, h2 0.3, rustls 0.21,
ring) beside it, and aws-config's defaults add SSO providers a Lambda never uses. The workspace
manifest turns both off; this keeps it so, from what cargo resolves for the shipped code (normal
dependencies, no dev-dependencies)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# crate -> why it must not be linked into a Lambda
FORBIDDEN = {
    "hyper": (lambda v: v.startswith("0."), "the legacy HTTP client (hyper 0.14)"),
    "h2": (lambda v: v.startswith("0.3."), "the legacy client's HTTP/2 (h2 0.3)"),
    "rustls": (lambda v: not v.startswith("0.23."), "a second rustls (the legacy client's 0.21)"),
    "ring": (lambda v: True, "a second crypto provider (ring) beside aws-lc-rs"),
    "hyper-rustls": (lambda v: v.startswith("0.24."), "the legacy client's TLS connector"),
    "aws-sdk-sso": (lambda v: True, "aws-config's SSO provider (Lambda credentials come from the environment)"),
    "aws-sdk-ssooidc": (lambda v: True, "aws-config's SSO provider"),
}


def shipped_packages() -> set[tuple[str, str]]:
    out = subprocess.run(
        ["cargo", "tree", "--workspace", "-e", "normal", "--prefix", "none", "--format", "{p}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = set()
    for line in out.splitlines():
        m = re.match(r"^(\S+) v(\S+)", line.strip())
        if m:
            found.add((m.group(1), m.group(2)))
    return found


def test_the_lambdas_link_one_http_and_tls_stack():
    packages = shipped_packages()
    assert any(n == "hyper" and v.startswith("1.") for n, v in packages), "no hyper 1 at all?"
    assert any(n == "aws-lc-rs" for n, _ in packages), "no aws-lc-rs: which TLS provider then?"
    bad = sorted(f"{n} {v}: {FORBIDDEN[n][1]}" for n, v in packages if n in FORBIDDEN and FORBIDDEN[n][0](v))
    assert not bad, "\n".join(bad)
    print(
        "\nTLS/HTTP crates in the Lambdas:",
        ", ".join(
            sorted(
                f"{n} {v}" for n, v in packages if n in {"hyper", "h2", "rustls", "aws-lc-rs", "ring", "hyper-rustls"}
            )
        ),
    )
