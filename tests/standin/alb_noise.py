"""Seeded, noisy ALB traffic per target group: what a real service's AWS/ApplicationELB metrics look
like minute by minute, so that canary judgements can be measured (scripts/bench-canary) and shown
end to end on data that is not a flat line.

Each (seed, target group, time slot) has its own random stream, so the same seed gives the same
samples whatever else is generated, in any order, and two target groups (the canary and its
baseline, or the old revision's tasks and the new one's) differ only by their own noise and their
profile. Model, per slot:
- requests ~ Poisson(rate x share of the traffic);
- each request's latency ~ lognormal(median x profile.latency_factor x load, sigma), where `load` is a
  per-slot factor shared by every target group of the seed (traffic peaks slow everyone down);
- 5xx ~ Binomial(requests, profile.error_rate).
The p99 is computed as the stand-in's GetMetricData computes it (nearest rank).

Used by ecs_sim.feed_metrics when `POST /_berth/config {"metric_noise": {...}}` turns it on, and by
tests/bench/canary.py directly (no server: thousands of simulated bakes in seconds).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Noise:
    """The service's healthy traffic. Defaults: 3,000 requests a minute, median latency 100 ms with
    p99 near 400 ms, 0.1 % 5xx, and a load factor that moves latency by ~8 % from minute to minute."""

    seed: int = 1
    requests_per_minute: float = 3000.0
    latency_median: float = 0.1
    latency_sigma: float = 0.6
    load_sigma: float = 0.08
    error_rate: float = 0.001

    @classmethod
    def from_doc(cls, doc: dict) -> Noise:
        known = set(cls.__dataclass_fields__)
        unknown = set(doc) - known
        if unknown:
            raise ValueError(f"metric_noise: unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**{k: type(getattr(cls, k))(v) for k, v in doc.items()})


@dataclass(frozen=True)
class Profile:
    """What a revision does to its requests: latency x factor, and its own 5xx rate (None = the
    service's)."""

    latency_factor: float = 1.0
    error_rate: float | None = None


HEALTHY = Profile()


def _rng(*key) -> np.random.Generator:
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


def load_factor(noise: Noise, slot: int) -> float:
    """The load factor of one slot, shared by every target group of the seed."""
    return float(math.exp(_rng(noise.seed, "load", slot).normal(0.0, noise.load_sigma)))


def requests_in(
    noise: Noise,
    target_group: str,
    slot: int,
    share: float,
    slot_seconds: float = 60.0,
    profiles: list[tuple[Profile, float]] | None = None,
):
    """One slot of one target group's traffic: (requests, errors, latencies as a numpy array).
    `share` is the target group's part of the service's traffic (0-1); `profiles` splits it between
    revisions [(profile, fraction)] (default: all healthy)."""
    rng = _rng(noise.seed, target_group, slot)
    mean = noise.requests_per_minute * share * slot_seconds / 60.0
    requests = int(rng.poisson(mean)) if mean > 0 else 0
    load = load_factor(noise, slot)
    profiles = profiles or [(HEALTHY, 1.0)]
    latencies = []
    errors = 0
    left = requests
    for i, (profile, fraction) in enumerate(profiles):
        n = left if i == len(profiles) - 1 else min(left, int(round(requests * fraction)))
        left -= n
        if n <= 0:
            continue
        lat = rng.lognormal(math.log(noise.latency_median * profile.latency_factor * load), noise.latency_sigma, n)
        latencies.append(np.round(lat, 4))
        rate = noise.error_rate if profile.error_rate is None else profile.error_rate
        errors += int(rng.binomial(n, rate))
    lat = np.concatenate(latencies) if latencies else np.array([])
    return requests, errors, lat


def percentile(values, p: float) -> float | None:
    """Nearest-rank percentile, as tests/standin/cloudwatch_cbor.py answers GetMetricData's pNN."""
    n = len(values)
    if n == 0:
        return None
    ordered = np.sort(values)
    rank = max(1, math.ceil(p / 100.0 * n))
    return float(ordered[min(rank, n) - 1])


def minute(noise: Noise, target_group: str, slot: int, share: float, profiles=None) -> dict:
    """One minute of a target group as GetMetricData (period 60) returns it: RequestCount and
    HTTPCode_Target_5XX_Count sums, TargetResponseTime p99, and the 5xx rate % berth's tag canary
    computes (100 * FILL(errors, 0) / requests; None without requests)."""
    requests, errors, lat = requests_in(noise, target_group, slot, share, 60.0, profiles)
    return {
        "requests": requests,
        "errors": errors,
        "p99": percentile(lat, 99),
        "rate": 100.0 * errors / requests if requests else None,
    }
