"""scripts/bench-canary's core with a handful of bakes, so the benchmark cannot rot: both modes judge
every scenario with berth's own decisions, and the report has every number (the numbers themselves
are measured by hand: scripts/bench-canary, README "Statistical canary analysis")."""

from __future__ import annotations

from tests.bench import canary
from tests.standin.alb_noise import Noise, Profile, minute


def test_the_noise_is_seeded_per_target_group_and_minute():
    noise = Noise(seed=7)
    a = minute(noise, "targetgroup/green/1", 3, 0.1)
    # the same seed, target group and minute give the same samples, whatever ran before
    minute(noise, "targetgroup/blue/1", 3, 0.9)
    assert minute(noise, "targetgroup/green/1", 3, 0.1) == a
    # another seed or target group gives other samples
    assert minute(Noise(seed=8), "targetgroup/green/1", 3, 0.1) != a
    assert minute(noise, "targetgroup/blue/1", 3, 0.1) != a
    # a profile shifts what it says: 30 % slower, 2 % errors
    slow = minute(noise, "targetgroup/green/1", 3, 0.1, [(Profile(latency_factor=1.3), 1.0)])
    assert abs(slow["p99"] / a["p99"] - 1.3) < 0.01
    bad = [minute(noise, "g", m, 1.0, [(Profile(error_rate=0.02), 1.0)])["rate"] for m in range(10)]
    assert 1.5 < sum(bad) / len(bad) < 2.5, bad
    # no traffic: no rate, no p99 (not zero)
    assert minute(noise, "g", 1, 0.0) == {"requests": 0, "errors": 0, "p99": None, "rate": None}


def test_the_canary_benchmark_reports_both_modes():
    report = canary.run(bakes=6, seed=3, confidence=0.99, log=lambda _: None)
    s = report["scenarios"]
    assert set(s) == {"healthy", "p99 +30%", "2% 5xx"}
    for scenario in s.values():
        for mode in ("threshold", "analysis"):
            assert 0 <= scenario[mode]["rate"] <= 1
    # a 2 % 5xx canary is caught by both, the analysis with its evidence in the detail
    assert s["2% 5xx"]["threshold"]["rolledBack"] == 6
    assert s["2% 5xx"]["analysis"]["rolledBack"] == 6
    assert "target 5xx rate % HIGH [critical]: canary median" in s["2% 5xx"]["analysis"]["example"]
    assert s["p99 +30%"]["analysis"]["minutes"]["median"] is not None
    text = canary.render(report)
    for label in ("false rollbacks", "minutes to detect", "caught within 3 intervals", "today's thresholds"):
        assert label in text, text


def test_the_variants_reimplementation_judges_as_berth_does():
    """tests/bench/canary_variants.py re-implements berth's decision to measure judgements berth
    does not have (README, "What was tried"); its row for today's rule is only evidence if it
    rolls back the same bakes at the same minute as berth's own code does."""
    from tests.bench import canary_variants as cv

    # GIVEN the samples of a few bakes per scenario, as scripts/bench-canary draws them
    bakes, seed = 12, 5
    data = cv.samples(seed, bakes, before=10)
    binary = canary.build_judge()
    modes = canary.configs(0.99)
    for index, (name, profile) in enumerate(canary.SCENARIOS.items()):
        base, canary_samples = data[name]
        expected = []
        for i in range(bakes):
            b, c = canary.bake_samples(seed * 1_000_003 + index * 100_000 + i, profile, 10)
            # WHEN berth's judge decides each evaluation of the bake
            decisions = canary.judge(binary, modes, canary.evaluations(b, c, 10))
            decision, minute_no, _ = canary.outcome(decisions, "analysis")
            expected.append(minute_no if decision == "ROLLBACK" else None)
        # THEN the Python re-implementation rolls back at the same minute (or not at all)
        got = [cv.rolled_back_at(base[i], canary_samples[i], 10, cv.VARIANTS[0]) for i in range(bakes)]
        assert got == expected, (name, got, expected)
        if name != "healthy":
            assert any(m is not None for m in expected), name
