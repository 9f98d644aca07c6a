"""Each Lambda function's timeout, read from the SAM template, as the Lambda route enforces it
(README, "Lambda timeouts").

The template's `Globals.Function.Timeout` and each `AWS::Serverless::Function`'s own `Timeout` (SAM's
default is 3 s) are known under every name the function is invoked by here: its logical id, its
`Environment.Variables.BERTH_STATE` (the state the one binary `berth-lambda` serves there, and the
name the harness, the state machine's ARNs and the stand-in's `--lambda-urls` use) and its
`FunctionName` (a `!Sub` with `${...}` matches any value there). `Metadata.BuildProperties.Binary`
names no function: every function builds the same binary.
"""

from __future__ import annotations

import fnmatch
import re
import threading
from pathlib import Path
from typing import Any

SAM_DEFAULT_TIMEOUT = 3


class _CfnLoader:
    """yaml.SafeLoader that keeps CloudFormation tags as one-key dicts ({"Ref": ...}, {"Sub": ...})."""

    @staticmethod
    def load(text: str) -> dict:
        import yaml

        class Loader(yaml.SafeLoader):
            pass

        def tag(loader, suffix, node):
            if isinstance(node, yaml.ScalarNode):
                return {suffix: loader.construct_scalar(node)}
            if isinstance(node, yaml.SequenceNode):
                return {suffix: loader.construct_sequence(node, deep=True)}
            return {suffix: loader.construct_mapping(node, deep=True)}

        Loader.add_multi_constructor("!", tag)
        return yaml.load(text, Loader=Loader) or {}


def _number(value: Any, parameters: dict) -> float | None:
    if isinstance(value, dict) and "Ref" in value:
        value = (parameters.get(value["Ref"]) or {}).get("Default")
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def timeouts_from_template(path: str | Path) -> tuple[dict[str, float], dict[str, float]]:
    """(exact name -> seconds, glob pattern -> seconds) for every serverless function."""
    doc = _CfnLoader.load(Path(path).read_text())
    parameters = doc.get("Parameters") or {}
    global_timeout = _number(((doc.get("Globals") or {}).get("Function") or {}).get("Timeout"), parameters)
    names: dict[str, float] = {}
    patterns: dict[str, float] = {}
    for logical_id, res in (doc.get("Resources") or {}).items():
        if not isinstance(res, dict) or res.get("Type") not in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            continue
        props = res.get("Properties") or {}
        timeout = _number(props.get("Timeout"), parameters)
        if timeout is None:
            timeout = (
                global_timeout if res["Type"] == "AWS::Serverless::Function" and global_timeout else SAM_DEFAULT_TIMEOUT
            )
        names[logical_id] = timeout
        state = ((props.get("Environment") or {}).get("Variables") or {}).get("BERTH_STATE")
        if isinstance(state, str) and state:
            names[state] = timeout
        fn = props.get("FunctionName")
        if isinstance(fn, str):
            names[fn] = timeout
        elif isinstance(fn, dict) and isinstance(fn.get("Sub"), str):
            patterns[re.sub(r"\$\{[^}]+\}", "*", fn["Sub"])] = timeout
    return names, patterns


class LambdaLimits:
    """Timeouts per function name, a scale for tests, and which functions are warm.

    The first invocation of a function after the runtime (re)started is not timed: it may wait
    for the function's process to start and initialise (or, under a `cargo lambda watch` that
    starts the binary itself, to be built), which real Lambda does in the Init phase, outside the
    invocation's timeout (README)."""

    def __init__(self, template: str | Path | None, scale: float = 1.0):
        self.lock = threading.Lock()
        self.template = str(template) if template else None
        self.base_scale = scale
        self.template_names: dict[str, float] = {}
        self.template_patterns: dict[str, float] = {}
        if self.template:
            self.template_names, self.template_patterns = timeouts_from_template(self.template)
        self.warm: set[str] = set()
        self.timed_out = 0
        self.reset()

    def reset(self) -> None:
        """Back to the template's timeouts and the start-up scale (warm functions stay warm: the
        runtime emulator's processes outlive a stand-in reset)."""
        with self.lock:
            self.scale = self.base_scale
            self.overrides: dict[str, float | None] = {}
            self.untimed_cold_starts = True
            self.timed_out = 0

    def configure(self, doc: dict) -> dict:
        with self.lock:
            if "scale" in doc:
                scale = float(doc["scale"])
                if scale <= 0:
                    raise ValueError("scale must be > 0")
                self.scale = scale
            for name, seconds in (doc.get("timeouts") or {}).items():
                if seconds is not None and float(seconds) <= 0:
                    raise ValueError(f"timeout of {name} must be > 0 (null: no limit)")
                self.overrides[name] = None if seconds is None else float(seconds)
            if "untimedColdStarts" in doc:
                self.untimed_cold_starts = bool(doc["untimedColdStarts"])
            if doc.get("cold"):
                self.warm.clear()
        return self.view()

    def view(self) -> dict:
        with self.lock:
            base = {**self.template_names, **self.overrides}
            return {
                "template": self.template,
                "scale": self.scale,
                "timeouts": base,
                "patterns": dict(self.template_patterns),
                "effective": {k: (None if v is None else round(v * self.scale, 3)) for k, v in base.items()},
                "untimedColdStarts": self.untimed_cold_starts,
                "warm": sorted(self.warm),
                "timedOut": self.timed_out,
            }

    def base_timeout(self, name: str) -> float | None:
        if name in self.overrides:
            return self.overrides[name]
        if name in self.template_names:
            return self.template_names[name]
        for pattern, seconds in self.template_patterns.items():
            if fnmatch.fnmatchcase(name, pattern):
                return seconds
        return None

    def timeout_for(self, name: str) -> float | None:
        """Seconds the invocation of `name` may run now; None = not timed."""
        with self.lock:
            base = self.base_timeout(name)
            if base is None:
                return None
            if self.untimed_cold_starts and name not in self.warm:
                return None
            return base * self.scale

    def configured_timeout(self, name: str) -> float | None:
        with self.lock:
            base = self.base_timeout(name)
            return None if base is None else base * self.scale

    def mark_warm(self, name: str) -> None:
        with self.lock:
            self.warm.add(name)

    def mark_cold(self, name: str | None = None) -> None:
        with self.lock:
            if name is None:
                self.warm.clear()
            else:
                self.warm.discard(name)

    def count_timeout(self) -> None:
        with self.lock:
            self.timed_out += 1
