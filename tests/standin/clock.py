"""The stand-in's simulated time for Step Functions' waits: one scale, `SCALE` simulated seconds to
a wall second (README, "Simulated time").

What it scales is what the interpreter waits for and nothing computes: a Wait state's `Seconds` /
`SecondsPath`, a Retry's interval (after IntervalSeconds, BackoffRate, MaxDelaySeconds and jitter),
and the timeout of a Task that waits on something the stand-in simulates (`.waitForTaskToken`,
`.sync`, `.sync:2`: an ECS event, an approval, a task, a child execution). What it does not scale:
a Wait until a `Timestamp` (a wall-clock instant, compared with the Lambdas' own clock), the
timeout of a Task that runs a Lambda (its code runs in wall time) and the Lambda route's timeouts.
"""

from __future__ import annotations

import threading
import time

_lock = threading.Lock()
_scale = 1.0
# The scale the server started with (`--time-scale`); a reset goes back to it.
_start_scale = 1.0


def scale() -> float:
    return _scale


def set_scale(value: float, *, at_start: bool = False) -> float:
    """Set the scale (> 0, at most 1000); `at_start`: also the value a reset returns to."""
    global _scale, _start_scale
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value <= 1000):
        raise ValueError(f"time_scale must be > 0 and <= 1000, not {value!r}")
    value = float(value)
    with _lock:
        _scale = value
        if at_start:
            _start_scale = value
    return value


def reset() -> None:
    global _scale
    with _lock:
        _scale = _start_scale


def wall(simulated_seconds: float) -> float:
    """Wall seconds for a span of simulated seconds."""
    return max(0.0, float(simulated_seconds)) / _scale


def sleep(simulated_seconds: float) -> None:
    time.sleep(wall(simulated_seconds))
