"""The canary's statistics agree with scipy: Mann-Whitney U and its p-value (scipy.stats.mannwhitneyu,
method="asymptotic", use_continuity=True: tie-corrected normal approximation) and the Hodges-Lehmann
shift (the median of every pairwise difference, computed here with numpy).

The pairs come from a fixed seed; scipy's answers are checked in as shared/fixtures/mannwhitneyu-scipy.json,
which the Rust test `stats::tests::agrees_with_scipy_on_the_reference_pairs` (`cargo test -p berth stats`)
compares with berth's own computation to 1e-6. This test regenerates the fixture with scipy and fails
when it differs, so neither side can drift. BERTH_BLESS=1 rewrites the fixture.
"""

from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path

import numpy as np
from scipy.stats import mannwhitneyu

FIXTURE = Path(__file__).resolve().parent.parent / "shared" / "fixtures" / "mannwhitneyu-scipy.json"
SEED = 20261130
ALTERNATIVES = ("greater", "less", "two-sided")


def sample_pairs(seed: int = SEED) -> list[tuple[list[float], list[float], str]]:
    """64 pairs: small n (1-4), medium and canary-sized n; integer values from a narrow range (many
    ties), rounded latencies (some ties), shifted pairs, zero-heavy error rates, and one all-tied pair
    (scipy's z is then -inf: p = 1)."""
    rng = random.Random(seed)
    pairs = []
    for i in range(63):
        kind = i % 4
        if kind == 0:  # small n, integers: ties everywhere
            n1, n2 = rng.randint(1, 4), rng.randint(1, 4)
            x = [float(rng.randint(0, 3)) for _ in range(n1)]
            y = [float(rng.randint(0, 3)) for _ in range(n2)]
        elif kind == 1:  # latencies rounded to 10 ms, the canary maybe shifted
            n1, n2 = rng.randint(3, 30), rng.randint(3, 30)
            shift = rng.choice([0.0, 0.05, 0.2])
            x = [round(rng.lognormvariate(math.log(0.25), 0.2) + shift, 2) for _ in range(n1)]
            y = [round(rng.lognormvariate(math.log(0.25), 0.2), 2) for _ in range(n2)]
        elif kind == 2:  # error rates: mostly zero
            n1, n2 = rng.randint(2, 20), rng.randint(2, 20)
            x = [round(rng.random() * 3, 1) if rng.random() < 0.4 else 0.0 for _ in range(n1)]
            y = [round(rng.random() * 2, 1) if rng.random() < 0.3 else 0.0 for _ in range(n2)]
        else:  # continuous, unequal sizes, no ties expected
            n1, n2 = rng.randint(1, 40), rng.randint(5, 60)
            x = [round(rng.gauss(100.0, 15.0), 6) for _ in range(n1)]
            y = [round(rng.gauss(95.0, 15.0), 6) for _ in range(n2)]
        pairs.append((x, y, ALTERNATIVES[i % 3]))
    pairs.append(([0.0, 0.0, 0.0], [0.0, 0.0], "greater"))
    return pairs


def reference(pairs) -> list[dict]:
    cases = []
    for x, y, alt in pairs:
        r = mannwhitneyu(x, y, alternative=alt, method="asymptotic", use_continuity=True)
        p = float(r.pvalue)
        hl = float(np.median(np.subtract.outer(np.array(x), np.array(y)).ravel()))
        cases.append(
            {
                "x": x,
                "y": y,
                "alternative": alt,
                "u": float(r.statistic),
                "p": None if math.isnan(p) else p,
                "hodges_lehmann": hl,
                "median_x": float(np.median(x)),
                "median_y": float(np.median(y)),
            }
        )
    return cases


def test_reference_has_enough_pairs_with_ties_and_small_n():
    pairs = sample_pairs()
    assert len(pairs) >= 50
    assert sum(1 for x, y, _ in pairs if len(set(x + y)) < len(x + y)) >= 10
    assert sum(1 for x, y, _ in pairs if min(len(x), len(y)) <= 3) >= 10


def test_fixture_is_what_scipy_computes():
    want = reference(sample_pairs())
    if os.environ.get("BERTH_BLESS") == "1":
        FIXTURE.write_text("[\n" + ",\n".join(json.dumps(c) for c in want) + "\n]\n")
    got = json.loads(FIXTURE.read_text())
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert (g["x"], g["y"], g["alternative"]) == (w["x"], w["y"], w["alternative"]), f"pair {i}"
        for key in ("u", "hodges_lehmann", "median_x", "median_y"):
            assert math.isclose(g[key], w[key], rel_tol=0, abs_tol=1e-12), f"pair {i} {key}: {g[key]} vs scipy {w[key]}"
        if w["p"] is None:
            assert g["p"] is None, f"pair {i}"
        else:
            assert math.isclose(g["p"], w["p"], rel_tol=0, abs_tol=1e-12), f"pair {i} p: {g['p']} vs scipy {w['p']}"
