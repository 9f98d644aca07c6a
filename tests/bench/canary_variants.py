"""What other judgements of the same canary samples would give: the evidence behind README
"Statistical canary analysis", "What was tried". scripts/bench-canary measures berth's own decision
code; this re-implements that decision in Python (the two metrics of the bench: the 5xx rate,
critical, and the p99; Mann-Whitney U as shared/src/stats.rs, Hodges-Lehmann, the score rule of
canary::score) so that variants berth does not have can be measured on the very samples of
scripts/bench-canary (same seeds, same target groups, same minutes). Its row "today" must equal
scripts/bench-canary's analysis column (tests/bench/test_canary_bench.py checks that it does).

Variants (each a row, one column per seed):
- `baseline N min`: the old revision's datapoints over the last N minutes (reaching back before the
  deploy) instead of the canary's window (10 minutes): more baseline samples for the same 3 canary
  ones;
- `paired`: each canary datapoint divided by the old revision's datapoint of the same minute over
  the baseline's median, so that what moves both revisions together (the load of that minute) is
  taken out of the canary's spread;
- `alpha A`: a per-look significance A instead of 1 - confidence (spending the bake's false-rollback
  budget over its looks);
- `Brunner-Munzel`: a HIGH also needs Brunner-Munzel's test (scipy's, for samples of unequal
  spread) below the same alpha;
- `confirmed`: a non-critical metric (the p99) fails the canary only when HIGH at two consecutive
  evaluations (the critical 5xx rate still fails at once).

And with `--ideal`, a bound no judgement reaches: a test that knew the healthy canary's
distribution exactly (the mean of its first 3 log p99s against that distribution's quantile for the
false-rollback rate of that one look), and the share of +30 % p99 canaries it catches at the 3rd
interval.

    .berth/venv/bin/python -m tests.bench.canary_variants [--bakes N] [--seeds 1 2 3 4] [--ideal]
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import brunnermunzel, rankdata

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.canary import BAKE_MINUTES, BASELINE_TG, CANARY_TG, SCENARIOS, SHARE  # noqa: E402
from tests.standin.alb_noise import Noise, minute  # noqa: E402

RATE, P99 = 0, 1


@dataclass(frozen=True)
class Variant:
    label: str
    baseline_minutes: int = 10
    paired: bool = False
    alpha: float = 0.01
    confirmed: bool = False
    brunner_munzel: bool = False


VARIANTS = [
    Variant("today: baseline 10 min, alpha 0.01"),
    Variant("baseline 30 min", baseline_minutes=30),
    Variant("baseline 60 min", baseline_minutes=60),
    Variant("baseline 30 min, alpha 0.005", baseline_minutes=30, alpha=0.005),
    Variant("baseline 30 min, Brunner-Munzel too", baseline_minutes=30, brunner_munzel=True),
    Variant("confirmed (p99 HIGH twice running)", confirmed=True),
    Variant("baseline 30 min, confirmed", baseline_minutes=30, confirmed=True),
    Variant("baseline 30 min, paired", baseline_minutes=30, paired=True),
    Variant("baseline 20 min, paired, alpha 0.005", baseline_minutes=20, paired=True, alpha=0.005),
    Variant("baseline 30 min, paired, alpha 0.005", baseline_minutes=30, paired=True, alpha=0.005),
    Variant("baseline 60 min, paired, alpha 0.005", baseline_minutes=60, paired=True, alpha=0.005),
]


def samples(seed: int, bakes: int, before: int) -> dict:
    """scenario -> (baseline[bake, minute -before..9, (rate, p99)], canary[bake, minute 0..9, ...]),
    the samples tests/bench/canary.py's bake_samples draws (per-minute seeds: more minutes before
    the deploy leave the others as they are)."""
    out = {}
    for index, (name, profile) in enumerate(SCENARIOS.items()):
        base = np.full((bakes, before + BAKE_MINUTES, 2), np.nan)
        canary = np.full((bakes, BAKE_MINUTES, 2), np.nan)
        for i in range(bakes):
            noise = Noise(seed=seed * 1_000_003 + index * 100_000 + i)
            for slot in range(-before, BAKE_MINUTES):
                m = minute(noise, BASELINE_TG, slot, 1.0 if slot < 0 else 1.0 - SHARE)
                base[i, slot + before] = [np.nan if m[k] is None else m[k] for k in ("rate", "p99")]
                if slot >= 0:
                    m = minute(noise, CANARY_TG, slot, SHARE, [(profile, 1.0)])
                    canary[i, slot] = [np.nan if m[k] is None else m[k] for k in ("rate", "p99")]
        out[name] = (base, canary)
    return out


def mann_whitney_greater(x: np.ndarray, y: np.ndarray) -> float:
    """shared/src/stats.rs's p-value (tie-corrected normal approximation, continuity correction)."""
    n1, n2 = len(x), len(y)
    both = np.concatenate([x, y])
    ranks = rankdata(both)
    _, counts = np.unique(both, return_counts=True)
    ties = float((counts**3 - counts).sum())
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return 1.0
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(variance)
    return min(1.0, max(0.0, 0.5 * math.erfc(z / math.sqrt(2))))


def classify(canary, baseline, alpha: float, tolerance: float, min_shift: float, brunner_munzel: bool = False) -> str:
    """canary::judge_comparison for direction `increase`, minDataPoints 3."""
    canary, baseline = canary[np.isfinite(canary)], baseline[np.isfinite(baseline)]
    if len(canary) < 3 or len(baseline) < 3:
        return "NODATA"
    p = mann_whitney_greater(canary, baseline)
    shift = float(np.median(np.subtract.outer(canary, baseline)))
    base = float(np.median(baseline))
    relative = shift / abs(base) if base != 0 else (0.0 if shift == 0 else math.copysign(math.inf, shift))
    bad = p < alpha and abs(relative) > tolerance and abs(shift) > min_shift and shift > 0
    if bad and brunner_munzel:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            bm = brunnermunzel(canary, baseline, alternative="greater").pvalue
        # scipy answers NaN where the samples do not overlap at all: the strongest evidence
        bad = not np.isfinite(bm) or bm < alpha
    return "HIGH" if bad else "PASS"


def rolled_back_at(base, canary, before: int, v: Variant) -> int | None:
    """The minute of the bake's rollback (canary::score with the bench's two metrics), or None."""
    high_before = False
    for k in range(1, BAKE_MINUTES + 1):
        first = k - v.baseline_minutes
        rate = classify(canary[:k, RATE], base[first + before : k + before, RATE], v.alpha, 0.1, 0.5)
        p99_canary = canary[:k, P99]
        p99_base = base[first + before : k + before, P99]
        if v.paired:
            same_minute = base[before : k + before, P99]
            p99_canary = p99_canary * np.nanmedian(p99_base) / same_minute
        p99 = classify(p99_canary, p99_base, v.alpha, 0.2, 0.0, v.brunner_munzel)
        if rate == "HIGH":  # critical
            return k
        nodata = (rate, p99).count("NODATA")
        if nodata * 2 < 2 and p99 == "HIGH" and (high_before or not v.confirmed):  # score 50 < 75
            return k
        high_before = p99 == "HIGH"
    return None


def measure(data: dict, before: int, v: Variant) -> dict:
    out = {}
    for name, (base, canary) in data.items():
        minutes = [rolled_back_at(base[i], canary[i], before, v) for i in range(base.shape[0])]
        rolled = [m for m in minutes if m is not None]
        out[name] = {"rate": len(rolled) / len(minutes), "within3": sum(m <= 3 for m in rolled) / len(minutes)}
    return out


def ideal_at_third(data: dict, false_rollbacks: float, paired: bool, before: int) -> float:
    """The share of +30 % p99 canaries caught at the 3rd interval by the test that knows the healthy
    canary's distribution (its own samples here) and allows `false_rollbacks` at that look."""
    means = {}
    for name in ("healthy", "p99 +30%"):
        base, canary = data[name]
        x = np.log(canary[:, :3, P99])
        if paired:
            x = x - np.log(base[:, before : before + 3, P99])
        means[name] = x.mean(axis=1)
    line = np.quantile(means["healthy"], 1 - false_rollbacks)
    return float(np.mean(means["p99 +30%"] > line))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bakes", type=int, default=200)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    ap.add_argument("--ideal", action="store_true", help="only the bound at the 3rd interval")
    args = ap.parse_args(argv)
    before = max(v.baseline_minutes for v in VARIANTS)
    data = {s: samples(s, args.bakes, 10 if args.ideal else before) for s in args.seeds}
    if args.ideal:
        for s in args.seeds:
            for paired in (False, True):
                caught = ", ".join(
                    f"{100 * ideal_at_third(data[s], fr, paired, 10):.1f} % at {100 * fr:.1f} %"
                    for fr in (0.003, 0.005, 0.01)
                )
                print(
                    f"seed {s}, {'paired' if paired else 'unpaired'}: "
                    f"+30 % p99 caught at the 3rd interval: {caught} false rollbacks"
                )
        return 0
    print(
        f"{args.bakes} bakes per scenario and seed; each cell: false rollbacks / p99 +30 % within 3 "
        "intervals / 2 % 5xx within 3 intervals"
    )
    print()
    print("| variant | " + " | ".join(f"seed {s}" for s in args.seeds) + " |")
    print("|---|" + "---|" * len(args.seeds))
    for v in VARIANTS:
        cells = []
        for s in args.seeds:
            r = measure(data[s], before, v)
            cells.append(
                f"{100 * r['healthy']['rate']:.1f} / {100 * r['p99 +30%']['within3']:.1f} / "
                f"{100 * r['2% 5xx']['within3']:.1f}"
            )
        print(f"| {v.label} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
