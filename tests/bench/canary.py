"""Canary judgement measured: today's fixed thresholds against the statistical analysis (new
revision against old), on the same seeded, noisy ALB samples (tests/standin/alb_noise.py), judged
by berth's own decision code (shared/examples/canary_bench.rs: canary::judge_metric,
judge_comparison, verdict, decide).

Each simulated bake: a service with 3,000 requests a minute (--requests-per-minute) (p99 ~0.4 s,
0.1 % 5xx); for 10 minutes before the deploy the old revision's target group takes all of it, then
the canary's target group takes 10 % for a 10-minute bake, evaluated every minute (interval 60 s,
period 60 s, as CloudWatch's ALB metrics come). Scenarios: a healthy canary; a canary whose latency
is 30 % higher (p99 +30 %); a canary answering 2 % 5xx. Reported per mode: the false-rollback rate
(healthy canaries rolled back), and for the bad canaries the share rolled back, the minutes to
detect (median, 90th percentile) and the share caught within 3 intervals.

Thresholds are those a service gets from its tags today (berth:max-5xx-percent 1, berth:max-p99-seconds
1, window 300 s, one breaching data point fails). The analysis compares the canary's target group
with the old revision's over a 600 s window (direction increase; 5xx rate critical with minShift 0.5
points; p99 with tolerance 0.2), at confidence 0.99. The old revision's samples cover the whole
window (it served before the deploy too); the canary's start when it got traffic.

    scripts/bench-canary [--bakes N] [--seed S] [--confidence C] [--tolerance T] [--window-minutes W]
                         [--requests-per-minute R] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.harness import DEV_BUILD  # noqa: E402
from tests.standin.alb_noise import Noise, Profile, minute  # noqa: E402

CANARY_TG = "targetgroup/web-green/0123456789abcdef"
BASELINE_TG = "targetgroup/web-blue/0123456789abcdef"
LB = "app/web/0123456789abcdef"
RATE, P99 = "target 5xx rate %", "target p99 latency s"
BAKE_MINUTES, SHARE = 10, 0.10
SCENARIOS = {
    "healthy": Profile(),
    "p99 +30%": Profile(latency_factor=1.3),
    "2% 5xx": Profile(error_rate=0.02),
}


def spec(metric: str, stat: str, tg: str = CANARY_TG) -> dict:
    return {
        "namespace": "AWS/ApplicationELB",
        "metricName": metric,
        "stat": stat,
        "dimensions": {"TargetGroup": tg, "LoadBalancer": LB},
    }


def rate_metric() -> dict:
    return {
        "name": RATE,
        "expression": "100 * FILL(errors, 0) / requests",
        "metrics": {"errors": spec("HTTPCode_Target_5XX_Count", "Sum"), "requests": spec("RequestCount", "Sum")},
    }


def configs(confidence: float, tolerance: float = 0.2, window_minutes: int = 10) -> dict:
    threshold = {
        "bakeSeconds": 600,
        "intervalSeconds": 60,
        "windowSeconds": 300,
        "metrics": [
            {**rate_metric(), "threshold": 1.0},
            {"name": P99, "metric": spec("TargetResponseTime", "p99"), "threshold": 1.0},
        ],
    }
    analysis = {
        "bakeSeconds": 600,
        "intervalSeconds": 60,
        "windowSeconds": 60 * window_minutes,
        "analysis": {
            "baseline": {"source": "dimensions", "dimensions": {"TargetGroup": BASELINE_TG}},
            "confidence": confidence,
        },
        "metrics": [
            {**rate_metric(), "compare": {"direction": "increase", "minShift": 0.5, "critical": True}},
            {
                "name": P99,
                "metric": spec("TargetResponseTime", "p99"),
                "compare": {"direction": "increase", "tolerance": tolerance},
            },
        ],
    }
    return {"threshold": threshold, "analysis": analysis}


def bake_samples(
    seed: int, profile: Profile, before_minutes: int, requests_per_minute: float = 3000.0
) -> tuple[dict, dict]:
    """Per-minute samples of one bake: slot -> {rate, p99} for each target group."""
    noise = Noise(seed=seed, requests_per_minute=requests_per_minute)
    base, canary = {}, {}
    for slot in range(-before_minutes, BAKE_MINUTES):
        base[slot] = minute(noise, BASELINE_TG, slot, 1.0 if slot < 0 else 1.0 - SHARE)
        if slot >= 0:
            canary[slot] = minute(noise, CANARY_TG, slot, SHARE, [(profile, 1.0)])
    return base, canary


def values(samples: dict, key: str, first: int, last: int) -> list[float]:
    return [samples[s][key] for s in range(first, last + 1) if s in samples and samples[s][key] is not None]


def evaluations(base: dict, canary: dict, window_minutes: int) -> list[dict]:
    """One evaluation a minute, at the end of minutes 0..9 of the bake, each with its windows."""
    out = []
    for k in range(1, BAKE_MINUTES + 1):
        # windows of 300 s (thresholds, today's default) and window_minutes (the analysis)
        t_first, a_first = k - 5, k - window_minutes
        out.append(
            {
                "bakeOver": k == BAKE_MINUTES,
                # thresholds read the canary's last 300 s; the analysis its last 600 s (one line per
                # evaluation: the canary samples differ by window, so each mode gets its own line below)
                "threshold": {RATE: values(canary, "rate", t_first, k - 1), P99: values(canary, "p99", t_first, k - 1)},
                "canary": {RATE: values(canary, "rate", a_first, k - 1), P99: values(canary, "p99", a_first, k - 1)},
                "baseline": {RATE: values(base, "rate", a_first, k - 1), P99: values(base, "p99", a_first, k - 1)},
            }
        )
    return out


def build_judge() -> Path:
    # The test run's one dev build (tests/e2e/harness.py, DEV_BUILD): a no-op once scripts/test built it.
    subprocess.run(DEV_BUILD, cwd=ROOT, check=True)
    return ROOT / "target" / "debug" / "examples" / "canary_bench"


def judge(binary: Path, modes: dict, lines: list[dict]) -> list[dict]:
    """Run berth's decisions over every evaluation. Each evaluation is sent twice, once with the
    thresholds' window and once with the analysis's, and the matching mode is read from each."""
    feed = [json.dumps(modes)]
    for e in lines:
        feed.append(json.dumps({"bakeOver": e["bakeOver"], "canary": e["threshold"], "baseline": {}}))
        feed.append(json.dumps({"bakeOver": e["bakeOver"], "canary": e["canary"], "baseline": e["baseline"]}))
    out = subprocess.run([str(binary)], input="\n".join(feed) + "\n", capture_output=True, text=True, check=True)
    answers = [json.loads(x) for x in out.stdout.splitlines()]
    return [
        {
            "threshold": t["threshold"],
            "analysis": a["analysis"],
            "thresholdDetail": t["thresholdDetail"],
            "analysisDetail": a["analysisDetail"],
        }
        for t, a in zip(answers[0::2], answers[1::2], strict=True)
    ]


def outcome(decisions: list[dict], mode: str) -> tuple[str, int | None, str]:
    """(PROMOTE|ROLLBACK, the minute of the decision, its detail)."""
    for minute_no, d in enumerate(decisions, start=1):
        if d[mode] != "CONTINUE":
            return d[mode], minute_no, d[f"{mode}Detail"]
    return "CONTINUE", None, decisions[-1][f"{mode}Detail"]


def run(
    bakes: int,
    seed: int,
    confidence: float,
    tolerance: float = 0.2,
    window_minutes: int = 10,
    binary: Path | None = None,
    log=print,
    requests_per_minute: float = 3000.0,
) -> dict:
    binary = binary or build_judge()
    modes = configs(confidence, tolerance, window_minutes)
    report: dict = {
        "bakes": bakes,
        "seed": seed,
        "confidence": confidence,
        "tolerance": tolerance,
        "windowMinutes": window_minutes,
        "requestsPerMinute": requests_per_minute,
        "scenarios": {},
    }
    for index, (name, profile) in enumerate(SCENARIOS.items()):
        lines: list[dict] = []
        spans: list[tuple[int, int]] = []  # (first evaluation, evaluations) per bake
        for i in range(bakes):
            base, canary = bake_samples(
                seed * 1_000_003 + index * 100_000 + i, profile, window_minutes, requests_per_minute
            )
            ev = evaluations(base, canary, window_minutes)
            spans.append((len(lines), len(ev)))
            lines.extend(ev)
        decisions = judge(binary, modes, lines)
        per_mode = {}
        for mode in ("threshold", "analysis"):
            results = [outcome(decisions[s : s + n], mode) for s, n in spans]
            rolled = [m for d, m, _ in results if d == "ROLLBACK" and m is not None]  # a decision has its minute
            entry: dict[str, Any] = {"rolledBack": len(rolled), "rate": len(rolled) / bakes}
            if name == "healthy":
                entry["example"] = next((detail for d, _, detail in results if d == "ROLLBACK"), None)
            else:
                entry["minutes"] = {
                    "median": statistics.median(rolled) if rolled else None,
                    "p90": sorted(rolled)[max(0, math.ceil(0.9 * len(rolled)) - 1)] if rolled else None,
                }
                entry["within3"] = sum(1 for m in rolled if m <= 3) / bakes
                entry["example"] = next((detail for d, _, detail in results if d == "ROLLBACK"), None)
            per_mode[mode] = entry
        report["scenarios"][name] = per_mode
        log(f"  {name}: done")
    return report


def pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def render(report: dict) -> str:
    s = report["scenarios"]
    rows = [
        f"canary judgement over {report['bakes']} simulated bakes per scenario (seed {report['seed']}, "
        f"analysis confidence {report['confidence']}, p99 tolerance {report['tolerance']}, "
        f"window {report['windowMinutes']} min), "
        f"10 % of {report.get('requestsPerMinute', 3000.0):,.0f} req/min on the canary, 1-minute interval",
        "",
        "| | today's thresholds (5xx > 1 %, p99 > 1 s) | statistical analysis (vs old revision) |",
        "|---|---|---|",
        f"| healthy canary: false rollbacks | {pct(s['healthy']['threshold']['rate'])} "
        f"| {pct(s['healthy']['analysis']['rate'])} |",
    ]
    for name in ("p99 +30%", "2% 5xx"):
        for label, fmt in (
            ("rolled back", lambda e: pct(e["rate"])),
            (
                "minutes to detect (median / p90)",
                lambda e: (
                    f"{e['minutes']['median']} / {e['minutes']['p90']}"
                    if e["minutes"]["median"] is not None
                    else "never"
                ),
            ),
            ("caught within 3 intervals", lambda e: pct(e["within3"])),
        ):
            rows.append(f"| {name}: {label} | {fmt(s[name]['threshold'])} | {fmt(s[name]['analysis'])} |")
    rows.append("")
    for name in SCENARIOS:
        ex = s[name]["analysis"].get("example")
        if ex:
            rows.append(f"analysis, {name}, first rollback's evidence: {ex[:400]}")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bakes", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--confidence", type=float, default=0.99)
    ap.add_argument(
        "--tolerance",
        type=float,
        default=0.2,
        help="the p99's compare.tolerance (0.1 rolls back ~3 %% of healthy canaries)",
    )
    ap.add_argument("--window-minutes", type=int, default=10, help="the analysis's windowSeconds / 60")
    ap.add_argument(
        "--requests-per-minute",
        type=float,
        default=3000.0,
        help="the service's traffic (the canary takes 10 %%); "
        "the canary's per-minute p99 is as precise as its requests allow",
    )
    ap.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    report = run(
        args.bakes,
        args.seed,
        args.confidence,
        args.tolerance,
        args.window_minutes,
        log=lambda m: print(m, file=sys.stderr, flush=True),
        requests_per_minute=args.requests_per_minute,
    )
    report["seconds"] = round(time.monotonic() - t0, 1)
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
