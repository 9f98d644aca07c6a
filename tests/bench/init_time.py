"""Init time and artifact size of berth's Lambda binary, side by side with a boto3 peer.

    scripts/bench-init [--runs N] [--no-build]

Init is what Lambda bills as Init Duration: from the process's start to its first request for an
invocation (`GET /2018-06-01/runtime/invocation/next`). For each state the template declares
(`BERTH_STATE`), the release artifact built as `sam build` builds it (cargo-lambda's release flags,
here for x86_64 so it runs on this machine) is started N times against a Runtime API endpoint that
only notes when that request arrives; AWS calls made at init go to the local stand-in. The peer is
the same init in Python with boto3 (tests/bench/boto3_peer.py). Prints medians and the 90th
percentile, and the artifact's size, raw and zipped as SAM zips it (deflate).
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import io
import os
import statistics
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

from tests.e2e.harness import REGION, RELEASE_BUILD, ROOT, VENV_BIN, free_port, wait_until
from tests.test_iam_contract import load_template

ARTIFACT = ROOT / "target" / "lambda" / "berth-lambda" / "bootstrap"
# The test run's release build (tests/e2e/harness.py): the same artifact, the same compiled dependencies.
BUILD = RELEASE_BUILD


class RuntimeApi(http.server.ThreadingHTTPServer):
    """Notes the moment each process asks for its first invocation, and never answers it."""

    daemon_threads = True

    def __init__(self):
        self.asked = threading.Event()
        self.asked_at = 0.0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                if self.path.endswith("/runtime/invocation/next"):
                    outer.asked_at = time.perf_counter()
                    outer.asked.set()
                    time.sleep(30)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", free_port()), Handler)


def states() -> list[str]:
    doc = load_template()
    return [
        res["Properties"]["Environment"]["Variables"]["BERTH_STATE"]
        for res in doc["Resources"].values()
        if res.get("Type") == "AWS::Serverless::Function"
    ]


def init_once(cmd: list[str], env: dict, api: RuntimeApi) -> float:
    api.asked.clear()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None  # stderr=PIPE
    try:
        if not api.asked.wait(30):
            raise SystemExit(f"{cmd[0]} never asked for an invocation: {proc.stderr.read().decode()[-2000:]}")
        return (api.asked_at - t0) * 1000
    finally:
        proc.kill()
        proc.wait()


def zipped_size(path: Path) -> int:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(path, "bootstrap")
    return len(buf.getvalue())


@contextlib.contextmanager
def standin_and_runtime() -> Iterator[tuple[dict, RuntimeApi]]:
    """The stand-in (for AWS calls made at init) and a Runtime API that notes first requests; yields
    the environment a Lambda process starts with there, and the API."""
    ready = Path(os.environ.get("TMPDIR", "/tmp")) / f"berth-bench-{os.getpid()}.port"
    standin = subprocess.Popen(
        [str(VENV_BIN / "python"), "-m", "tests.standin.server", "--port", "0", "--ready-file", str(ready)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    api = RuntimeApi()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    try:
        wait_until(lambda: ready.exists() and ready.read_text().strip(), 60, "the stand-in")
        yield (
            {
                "PATH": os.environ.get("PATH", ""),
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{ready.read_text().strip()}",
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.server_address[1]}",
                "AWS_LAMBDA_FUNCTION_VERSION": "1",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
                "BERTH_STATE_MACHINE_ARN": f"arn:aws:states:{REGION}:123456789012:stateMachine:berth-deploy",
            },
            api,
        )
    finally:
        standin.terminate()
        standin.wait(10)
        api.shutdown()
        ready.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--no-build", action="store_true", help="use the artifact already in target/lambda")
    ap.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="also time per-state binaries DIR/<state>/bootstrap (cargo-lambda's layout, as "
        "berth built one binary per function before berth-lambda), in a column of their own",
    )
    args = ap.parse_args(argv)
    if not args.no_build:
        print("building the release artifact:", " ".join(BUILD[1:]), flush=True)
        subprocess.run(BUILD, cwd=ROOT, check=True)

    with standin_and_runtime() as (base, api):
        peer = [str(VENV_BIN / "python"), str(ROOT / "tests" / "bench" / "boto3_peer.py")]
        print(f"\ninit time in ms, median (p90) of {args.runs} starts; AWS calls at init go to the local stand-in")
        baseline = f" {'baseline':>16}" if args.baseline else ""
        print(f"{'state':<20} {'berth-lambda':>16}{baseline} {'boto3 peer':>16}")
        medians = []
        for state in states():
            env = {**base, "BERTH_STATE": state, "AWS_LAMBDA_FUNCTION_NAME": state}
            ours = [init_once([str(ARTIFACT)], env, api) for _ in range(args.runs)]
            column = ""
            if args.baseline:
                old = args.baseline / state / "bootstrap"
                column = (
                    f" {fmt([init_once([str(old)], env, api) for _ in range(args.runs)]) if old.exists() else '-':>16}"
                )
            theirs = [init_once(peer, env, api) for _ in range(max(3, args.runs // 3))]
            medians.append(statistics.median(ours))
            print(f"{state:<20} {fmt(ours):>16}{column} {fmt(theirs):>16}", flush=True)
        print(f"{'all states':<20} {statistics.median(medians):>10.1f} median of medians")
        size = ARTIFACT.stat().st_size
        print(f"\nartifact {ARTIFACT.relative_to(ROOT)} (x86_64): {size:,} B, {zipped_size(ARTIFACT):,} B zipped")
        for built in sorted((ROOT / ".aws-sam" / "build").glob("*/bootstrap")):
            print(f"sam build {built.parent.name} (arm64): {built.stat().st_size:,} B, {zipped_size(built):,} B zipped")
        return 0


def fmt(samples: list[float]) -> str:
    p90 = statistics.quantiles(samples, n=10)[-1] if len(samples) > 1 else samples[0]
    return f"{statistics.median(samples):.1f} ({p90:.1f})"


if __name__ == "__main__":
    sys.exit(main())
