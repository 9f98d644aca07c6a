"""The release profile by numbers: build time, artifact size and init time, side by side.

    scripts/bench-release-profile [--runs N] [--only NAME ...] [--keep]

For each candidate profile, the release artifact is built from cold (its own target directory,
with the profile's settings as CARGO_PROFILE_RELEASE_* overrides of the workspace's) by the test
run's own command (tests/e2e/harness.py, RELEASE_BUILD: cargo-lambda's release flags, this
machine's architecture), then each artifact's init time is taken as tests/bench/init_time.py takes
it (process start to its first request for an invocation, AWS calls at init to the local stand-in).
Prints one line per profile: cold build wall time, raw and zipped (deflate, as SAM zips) size, and
the median (p90) init time over the states. Each cold build takes minutes: run it on an idle machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.init_time import init_once, standin_and_runtime, states, zipped_size
from tests.e2e.harness import RELEASE_BUILD, ROOT

# name -> (lto, codegen-units, opt-level); the first is the workspace's profile as committed.
CANDIDATES: dict[str, tuple[str, str, str]] = {
    "fat-cgu1-s": ("fat", "1", "s"),
    "thin-cgu16-s": ("thin", "16", "s"),
    "off-cgu16-s": ("off", "16", "s"),
    "thin-cgu16-3": ("thin", "16", "3"),
}


def build(name: str, target: Path) -> float:
    lto, cgu, opt = CANDIDATES[name]
    env = {
        **os.environ,
        "CARGO_TARGET_DIR": str(target),
        "CARGO_PROFILE_RELEASE_LTO": lto,
        "CARGO_PROFILE_RELEASE_CODEGEN_UNITS": cgu,
        "CARGO_PROFILE_RELEASE_OPT_LEVEL": opt,
    }
    shutil.rmtree(target, ignore_errors=True)
    t0 = time.monotonic()
    subprocess.run(RELEASE_BUILD, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="starts per state (default 5)")
    ap.add_argument("--only", nargs="+", choices=sorted(CANDIDATES), help="these profiles only")
    ap.add_argument("--keep", action="store_true", help="keep each profile's target directory")
    args = ap.parse_args(argv)
    names = args.only or list(CANDIDATES)
    root = ROOT / ".berth" / "bench-release-profile"

    built: dict[str, tuple[float, Path]] = {}
    for name in names:
        print(f"building {name} from cold ...", flush=True)
        target = root / name
        secs = build(name, target)
        artifact = root / f"{name}.bootstrap"
        shutil.copy2(target / "lambda" / "berth-lambda" / "bootstrap", artifact)
        if not args.keep:
            shutil.rmtree(target, ignore_errors=True)
        built[name] = (secs, artifact)
        print(f"  {secs:.0f} s", flush=True)

    with standin_and_runtime() as (base, api):
        print(f"\n{'profile':<14} {'cold build':>10} {'raw':>12} {'zipped':>12} {'init ms, median (p90)':>24}")
        for name, (secs, artifact) in built.items():
            samples = [
                init_once([str(artifact)], {**base, "BERTH_STATE": state, "AWS_LAMBDA_FUNCTION_NAME": state}, api)
                for state in states()
                for _ in range(args.runs)
            ]
            p90 = statistics.quantiles(samples, n=10)[-1]
            print(
                f"{name:<14} {secs:>8.0f} s {artifact.stat().st_size / 2**20:>9.2f} MiB "
                f"{zipped_size(artifact) / 2**20:>9.2f} MiB {statistics.median(samples):>14.1f} ({p90:.1f})",
                flush=True,
            )
        print(f"\n(x86_64, {os.cpu_count()} cores; lto / codegen-units / opt-level in each name)")
        return 0


if __name__ == "__main__":
    sys.exit(main())
