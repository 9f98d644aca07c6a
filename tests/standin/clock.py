"""The stand-in's simulated time (README, "Simulated time"): one scale, simulated seconds to a wall
second, and one clock that every process of a stack reads.

**The scale** is what moto's interpreter waits by: a Wait state's `Seconds` / `SecondsPath`, a
Retry's interval (after IntervalSeconds, BackoffRate, MaxDelaySeconds and jitter), the timeout of a
Task that waits on something the stand-in simulates (`.waitForTaskToken`, `.sync`, `.sync:2`: an
ECS event, an approval, a task, a child execution) and, when the stack shares a clock, a Wait until
a `Timestamp`. Not scaled: the timeout of a Task that runs a Lambda and the Lambda route's timeouts
(the function's code runs in wall time).

**The stack's clock** (`StackClock`): every process of a stack (the stand-in, each berth-lambda,
the CLI) reads the same system clock, `origin + scale × (wall − origin)`, through libfaketime
(`LD_PRELOAD`, CLOCK_REALTIME only: CLOCK_MONOTONIC stays wall time, so sleeps, `Event.wait` and
tokio's timers keep their wall meaning and the scale above stays the one place waits are shortened).
So a bake, a rollout deadline, a freeze window or a CloudWatch window that the Lambdas compute from
their clock passes at the stand-in's pace, and the timestamps the stand-in writes (ECS events,
metric datapoints, executions) are on the same clock as the Lambdas that compare them.
"""

from __future__ import annotations

import datetime
import importlib.util
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_lock = threading.Lock()
_scale = 1.0
# The scale the server started with (`--time-scale`); a reset goes back to it.
_start_scale = 1.0


def scale() -> float:
    return _scale


def set_scale(value: float, *, at_start: bool = False) -> float:
    """Set the scale (> 0, at most 1000); `at_start`: also the value a reset returns to. Under a
    shared clock (`StackClock.from_env()`) the scale is the clock's and cannot change: the other
    processes' clocks run at it."""
    global _scale, _start_scale
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value <= 1000):
        raise ValueError(f"time_scale must be > 0 and <= 1000, not {value!r}")
    value = float(value)
    shared = StackClock.from_env()
    if shared is not None and value != shared.scale:
        raise ValueError(
            f"time_scale is {shared.scale:g}, fixed at start-up: the stack's processes share one clock "
            f"({SCALE_ENV}) that runs at it, so {value:g} cannot be set"
        )
    with _lock:
        _scale = value
        if at_start:
            _start_scale = value
    return value


def reset() -> None:
    global _scale
    with _lock:
        _scale = _start_scale


def clock_rate() -> float:
    """Seconds of this process's clock per wall second: the shared clock's scale, else 1 (a
    stand-in started alone reads the wall's clock, whatever its `time_scale`)."""
    shared = StackClock.from_env()
    return shared.scale if shared is not None else 1.0


def wall(simulated_seconds: float) -> float:
    """Wall seconds for a span of simulated seconds."""
    return max(0.0, float(simulated_seconds)) / _scale


def sleep(simulated_seconds: float) -> None:
    time.sleep(wall(simulated_seconds))


# ---------------------------------------------------------------- the stack's one clock

ORIGIN_ENV = "BERTH_CLOCK_ORIGIN"
SCALE_ENV = "BERTH_CLOCK_SCALE"


def libfaketime() -> Path:
    """The libfaketime shared library that PyPI's `libfaketime` package ships (requirements-dev.txt)."""
    spec = importlib.util.find_spec("libfaketime")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the libfaketime package is not installed (scripts/bootstrap installs it)")
    path = Path(next(iter(spec.submodule_search_locations))) / "vendor" / "libfaketime" / "src" / "libfaketime.so.1"
    if not path.exists():
        raise RuntimeError(f"the libfaketime package has no {path}")
    return path


@dataclass(frozen=True)
class StackClock:
    """Simulated time = `origin + scale × (wall − origin)` (epoch seconds): the wall instant
    `origin` is the same instant simulated, and from there the clock runs `scale` times as fast."""

    origin: float
    scale: float

    def __post_init__(self) -> None:
        if not (0 < self.scale <= 1000) or self.origin <= 0:
            raise ValueError(f"a clock needs 0 < scale <= 1000 and an origin, not {self!r}")

    def at(self, wall: float) -> float:
        return self.origin + self.scale * (wall - self.origin)

    def now(self) -> float:
        """Simulated now, read from a process whose own clock is the wall's (the test runner)."""
        return self.at(time.time())

    def now_datetime(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.now(), datetime.UTC)

    def process_env(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """What a process started now needs in its environment to read this clock: libfaketime
        preloaded, starting at simulated now and running `scale` times as fast (libfaketime counts
        from its own start, so the start is computed per process, just before it is spawned; a
        process it spawns in turn would start behind). CLOCK_MONOTONIC is left alone."""
        env = dict(os.environ if env is None else env)
        stamp = self.now_datetime().strftime("%Y-%m-%d %H:%M:%S.%f")
        preload = " ".join(p for p in (str(libfaketime()), env.get("LD_PRELOAD", "")) if p)
        env.update(
            {
                "LD_PRELOAD": preload,
                "FAKETIME": f"@{stamp} x{self.scale:g}",
                "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                # libfaketime's "monotonic fix" reroutes pthread_cond_timedwait: with it, every
                # request to the stand-in took ~20-80 ms instead of ~2 (Python's waits are on it)
                "FAKETIME_FORCE_MONOTONIC_FIX": "0",
                "TZ": "UTC",  # libfaketime reads the start in local time; Lambda's TZ is UTC
                ORIGIN_ENV: repr(self.origin),
                SCALE_ENV: repr(self.scale),
            }
        )
        return env

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StackClock | None:
        """The clock this process was started on (`process_env`), or None: its clock is the wall's."""
        env = os.environ if env is None else env
        if ORIGIN_ENV not in env:
            return None
        return cls(float(env[ORIGIN_ENV]), float(env[SCALE_ENV]))
