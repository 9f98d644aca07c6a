"""Every berth Lambda, fed mutated input through the real Lambda runtime (issues P5, P12).

Each of template.yaml's functions is invoked directly at cargo lambda's Invoke API (raw bytes, so
invalid JSON, deep nesting and `1e999` reach the runtime's own deserialisation) with inputs mutated
deterministically from seeds: dropped and misspelt fields, unknown fields, wrong types, edge and
overflowing numbers, odd and oversized strings, uppercase digests, nesting deeper than 128,
non-object roots, invalid JSON bytes.

The seeds are captured, not written: the test first drives real passing executions on its stack
(`SCENARIOS`: a rolling deploy with a canary and both release gates, one with a migration task,
one stop-then-start, a release of two services in two waves, one whose canary fails and rolls back,
a CodeDeploy blue/green deploy, an ECS BLUE_GREEN deploy with ecs-hook as its lifecycle hook, a
reconcile sweep) and keeps each Lambda's input as it was invoked: the state machine's from the
executions' histories (LambdaFunctionScheduled's input, TaskScheduled's Payload after Parameters),
the others' (start-deployment, reconcile, wake-rollout, the two hooks) from what the stand-in's
Lambda route received (`/_berth/lambda-invocations?function=NAME`). `SEEDS` says which invocations
become seeds, several per function where the scenarios give them; every seed, replayed unmodified,
must answer successfully (else the seed, not the product, is wrong). CodeDeploy's hook is fuzzed
while the blue/green deployment waits in its last hook (AfterAllowTraffic): its earlier hooks'
payloads then find a hook in progress and run its checks, as a late retry of them would; the held
hook is answered afterwards with its own payload, and the execution ends.

Every answer must be

- a valid result (a JSON object with the handler's result fields, sane deadlines; for a state's
  Lambda, small enough for Step Functions: where the ASL merges it, or the error, into the state's
  input, both within 256 KiB), or
- an error whose `errorType` is one of berth's names (`ERROR_NAMES` in shared/src/error.rs, read
  here at test time), never a Rust type name, a panic or `Runtime.*`;

and an error must leave AWS as it was (ECS task definitions, services and deployments, CodeDeploy
deployments, SSM parameters, executions): checked around every call of a handler that may change
something on success (bodies that are no JSON object: around each run of them), leaving out what a
CodeDeploy deployment does by itself (`changes_of`) and the verdict codedeploy-hook records before a
status report CodeDeploy refuses (`verdict_before_report`); and around each whole batch of a
read-only handler (those run first, with every scenario ended and ECS steady, two calls at a time).

Inputs the README's rules refuse (unknown fields where berth refuses them (the request schema,
schema/request.schema.json, read at test time), numbers outside their documented range
(`model::limits`, read at test time; never above 10^9), bad statistics, periods (or a period longer
than the window) or expressions, unknown alarms at Plan, digests that are not lowercase hex, names
longer than documented, anything that is not a JSON object of depth <= 128) must be refused, not
answered.

BERTH_FUZZ_SEED (default 5) and BERTH_FUZZ_COUNT (default 1600, the total over all handlers,
shared equally by the 17: each seed with an unknown field, then targeted mutations up to 60 % of
the share (a sample where a handler's seeds give more), the rest random) change the run;
BERTH_FUZZ_LOG=FILE writes every call (input, answer, AWS changes) as JSON lines. The report printed
at the end (and in a failure's message) gives per handler its seeds, calls, the share of calls that
succeeded (answered a valid result that is no refusal) and the share refused; a handler none of
whose mutated calls succeeded fails the test: its happy path is not being fuzzed.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import random
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import requests

from .harness import (
    ACCOUNT,
    REGION,
    REGISTRY,
    ROOT,
    SERVICE_STATE_MACHINE_ARN,
    STATE_MACHINE_ARN,
    Stack,
    aws_changes,
    aws_snapshot,
    berth_error_names,
    digest_of,
    ecr_push_event,
    function_substitutions,
    invoke_raw,
    lambda_functions,
    wait_until,
)

SEED = int(os.environ.get("BERTH_FUZZ_SEED", "5"))
COUNT = int(os.environ.get("BERTH_FUZZ_COUNT", "1600"))
LOG = os.environ.get("BERTH_FUZZ_LOG")  # a file to write every call to, one JSON line each
STEP_FUNCTIONS_LIMIT = 256 * 1024
CALL_TIMEOUT = 45
TARGETED_SHARE = 0.6  # of each handler's calls at most; random mutations make the rest

OLD = digest_of("fuzz v1")
NEW = digest_of("fuzz v2")
ALARM = "web-5xx"
LOAD_BALANCER = "app/berth-local/0123456789abcdef"
# Every function of template.yaml, by the name the harness invokes it by (its BERTH_STATE).
HANDLERS = list(lambda_functions())
# What a successful answer of each handler carries.
RESULT_KEYS = {
    "plan-deployment": {"source", "deployments"},
    "acquire-turn": {"decision", "detail", "others"},
    "register-revision": {"taskDefinitionArn", "previousTaskDefinitionArn", "container", "image", "previousImages"},
    "update-service": {"ecsDeploymentId", "taskDefinitionArn", "startedAt", "deadline", "desiredCount"},
    "run-migration": {"runTask", "taskDefinitionArn", "container", "essential", "timeoutSeconds", "status", "done"},
    "stop-service": {
        "desiredCount",
        "taskDefinitionArn",
        "deadline",
        "timeoutSeconds",
        "scaledDown",
        "running",
        "drained",
    },
    "release": {"wave", "results", "items", "rollback", "rolledBack"},
    "check-stability": {"status", "detail", "ecsDeploymentId", "taskDefinitionArn", "checkedAt"},
    "evaluate-canary": {"verdict", "decision", "detail", "checks", "bakeStartedAt", "bakeEndsAt", "evaluatedAt"},
    "rollback": {"taskDefinitionArn", "previousTaskDefinitionArn", "rollout", "detail"},
    # the deployment's summary ({"reports": …}) or one service's report ({"service": …}): both say why
    "summarize": {"cause"},
    "start-deployment": {"started", "duplicate", "detail"},
    "reconcile": {"summary", "tagPattern", "services"},
    "wake-rollout": {"service", "event", "checked"},
    "codedeploy-hook": {"deploymentId", "lifecycleEventHookExecutionId", "status", "verdict"},
    "ecs-hook": {"hookStatus"},
    # CheckFreeze answers {decision, detail, …}, CheckScan {verdict, image, …}: both say when
    "check-gates": {"checkedAt"},
}
# Handlers whose answer has one of several shapes: every field of one of them.
RESULT_SHAPES = {
    "summarize": [{"status", "error", "cause", "services"}, {"cluster", "service", "outcome", "cause"}],
}
# The handlers whose success may change AWS: checked around every call, after the read-only ones.
MUTATING = {
    "register-revision",
    "update-service",
    "rollback",
    "start-deployment",
    "codedeploy-hook",
    "stop-service",
    "reconcile",
}


def schema_objects() -> dict[str, set[str]]:
    """Each closed object of the request schema (schema/request.schema.json, generated from the
    Rust's serde types) -> its fields: the objects whose unknown fields berth refuses."""
    doc = json.loads((ROOT / "schema" / "request.schema.json").read_text())
    out = {
        name: set(d.get("properties", {})) for name, d in doc["$defs"].items() if d.get("additionalProperties") is False
    }
    release = doc["$defs"]["ReleaseRequest"]["properties"]["release"]
    out["Release"] = set(release["properties"])
    return out


SCHEMA = schema_objects()
REQUEST_KEYS = SCHEMA["ConsoleRequest"]
CANARY_KEYS = SCHEMA["CanaryConfig"]
CHECK_KEYS = SCHEMA["MetricCheck"]
SPEC_KEYS = SCHEMA["MetricSpec"]
# a request's nested objects, each closed: field -> its schema object
REQUEST_OBJECTS = {
    "migration": "MigrationConfig",
    "stopThenStart": "StopThenStart",
    "scan": "ScanPolicy",
    "overrideFreeze": "FreezeOverride",
    "approval": "ApprovalConfig",
}
HOOK_CONFIG_KEYS = {"deadlineSeconds", "hooks", "berthState"}
CHECK_SET_KEYS = {"probes", "canary"}
PROBE_KEYS = {"name", "url", "expectStatus", "latencyBudgetMs", "requests"}
ECS_STAGES = {
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
}
# No documented range reaches 10^9 (31 years in seconds): the rules' bound where none is declared.
MAX_SECONDS = 10**9


def merged_by_the_asl() -> dict[str, tuple[bool, bool]]:
    """function -> (result merged into the state's input, error merged into it), read from
    statemachine/deploy.asl.json: a `ResultPath` (or a Catch's) of `$.x` adds the answer to the
    document, whose size Step Functions caps at 256 KiB (States.DataLimitExceeded)."""
    machines = {"DeployStateMachine": "deploy.asl.json", "ServiceStateMachine": "service.asl.json"}
    binaries = {k: v for m in machines for k, v in function_substitutions(m).items()}
    out: dict[str, tuple[bool, bool]] = {}

    def visit(states: dict):
        for state in states.values():
            if state.get("Type") == "Map":
                visit((state.get("ItemProcessor") or state.get("Iterator"))["States"])
            if state.get("Type") != "Task":
                continue
            key = re.fullmatch(r"\$\{(\w+)\}", state.get("Resource", ""))
            if not key or key.group(1) not in binaries:
                continue
            merges = lambda rp: isinstance(rp, str) and rp != "$"  # noqa: E731
            result = merges(state.get("ResultPath", "$"))
            error = any(merges(c.get("ResultPath", "$")) for c in state.get("Catch", []))
            was = out.get(binaries[key.group(1)], (False, False))
            out[binaries[key.group(1)]] = (was[0] or result, was[1] or error)

    for file in machines.values():
        visit(json.loads((ROOT / "statemachine" / file).read_text())["States"])
    return out


def documented_limits() -> dict[str, tuple[int, int]]:
    """field -> (low, high) from `model::limits` in shared/src/model.rs (what the README documents),
    capped at 10^9 - 1: any sensible range is inside it. Fields without a declared range get
    [low, 10^9)."""
    text = (ROOT / "shared" / "src" / "model.rs").read_text()
    declared = {
        name: (int(lo.replace("_", "")), int(hi.replace("_", "")))
        for name, lo, hi in re.findall(r"pub const (\w+): RangeInclusive<\w+> = ([\d_]+)..=([\d_]+);", text)
    }
    fields = {
        "timeoutSeconds": ("TIMEOUT_SECONDS", 1),
        "rollbackTimeoutSeconds": ("TIMEOUT_SECONDS", 1),
        "pollIntervalSeconds": ("POLL_INTERVAL_SECONDS", 1),
        "bakeSeconds": ("BAKE_SECONDS", 0),
        "intervalSeconds": ("INTERVAL_SECONDS", 1),
        "windowSeconds": ("WINDOW_SECONDS", 1),
        "deadlineSeconds": ("HOOK_DEADLINE_SECONDS", 1),
        "minDataPoints": ("DATA_POINTS", 1),
        "datapointsToFail": ("DATA_POINTS", 1),
    }
    out = {}
    for f, (const, low) in fields.items():
        lo, hi = declared.get(const, (low, MAX_SECONDS - 1))
        out[f] = (lo, min(hi, MAX_SECONDS - 1))
    # lengths, only where declared
    for f, const in (
        ("cluster", "NAME_CHARS"),
        ("service", "NAME_CHARS"),
        ("container", "NAME_CHARS"),
        ("image", "IMAGE_CHARS"),
    ):
        m = re.search(rf"pub const {const}: usize = ([\d_]+);", text)
        if m:
            out[f"{f}.length"] = (0, int(m.group(1).replace("_", "")))
    return out


LIMITS = documented_limits()
MERGED = merged_by_the_asl()


# ---------------------------------------------------------------------- raw JSON text


class Raw:
    """Raw JSON text standing in a document where a string placeholder is, for what json.dumps
    cannot write (1e999, nesting deeper than Python's encoder allows)."""

    refused: bool  # berth must refuse any input that still contains it

    def __init__(self, text: str, refused: bool):
        self.text, self.refused = text, refused
        self.token = f"\u0001raw{id(self)}\u0001"


def encode(doc, raws: list[Raw]) -> bytes:
    text = json.dumps(doc, ensure_ascii=False)
    for r in raws:
        text = text.replace(json.dumps(r.token, ensure_ascii=False), r.text)
    return text.encode()


def deep_text(levels: int) -> str:
    return "[" * levels + "0" + "]" * levels


# ---------------------------------------------------------------------- paths in a document


def walk(doc, path=()):
    """(path, value) of every node below the root."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield path + (k,), v
            yield from walk(v, path + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield path + (i,), v
            yield from walk(v, path + (i,))


def get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def lookup(doc, path, default=None):
    try:
        return get(doc, path)
    except (KeyError, IndexError, TypeError):
        return default


def put(doc, path, value):
    get(doc, path[:-1])[path[-1]] = value


def rename(doc, path, new_key):
    parent = get(doc, path[:-1])
    items = list(parent.items())
    parent.clear()
    for k, v in items:
        parent[new_key if k == path[-1] else k] = v


def match(pattern, path) -> bool:
    return len(pattern) == len(path) and all(p == "*" or p == q for p, q in zip(pattern, path, strict=True))


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# ---------------------------------------------------------------------- the reference rules

STATS = {"SampleCount", "Average", "Sum", "Minimum", "Maximum", "IQM"}
PERCENTILE = re.compile(r"^(p|tm|wm|tc|ts)(\d{1,2}(\.\d+)?|100(\.0+)?)$")
RANGE_STAT = re.compile(r"^(TM|WM|TC|TS|PR)\(.*\)$")
TOKEN = re.compile(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[A-Za-z_][A-Za-z0-9_]*|\S")
DIGEST = re.compile(r"@(sha256|sha512):([^@]*)$", re.I)


def invalid_stat(s) -> bool:
    """Certainly not a CloudWatch statistic (the rule only ever demands refusals, so it is lenient
    where CloudWatch's own spelling rules are unclear, e.g. `P99` or `sum`)."""
    return isinstance(s, str) and not (
        s.lower() in {x.lower() for x in STATS} or PERCENTILE.match(s.lower()) or RANGE_STAT.match(s.upper())
    )


def valid_period(p) -> bool:
    return is_int(p) and (p in (1, 5, 10, 30) or (0 < p <= 86_400 and p % 60 == 0))


def expression_problem(expr, ids) -> str | None:
    """Why CloudWatch metric math would refuse `expr` over `ids` (None: maybe fine)."""
    if not isinstance(expr, str):
        return None
    if not expr.strip():
        return "blank expression"
    bare = re.sub(r"'[^']*'|\"[^\"]*\"", "''", expr)  # SEARCH('…') strings may hold anything
    if re.search(r"[^A-Za-z0-9_ .+\-*/^(),\t'\"\[\]{}:=<>!&|%]", bare):
        return "characters metric math has not"
    depth = 0
    tokens = TOKEN.findall(bare)
    for i, t in enumerate(tokens):
        depth += (t == "(") - (t == ")")
        if depth < 0:
            return "unbalanced parentheses"
        called = i + 1 < len(tokens) and tokens[i + 1] == "("
        if re.match(r"[A-Za-z_]", t) and not called and t not in ids:
            return f"unknown id {t!r}"
    if depth:
        return "unbalanced parentheses"
    return None


def seconds_problem(obj: dict, key: str, low: int) -> str | None:
    if key not in obj:
        return None
    v = obj[key]
    if v is None:  # absent for an optional field; refused or defaulted otherwise: not demanded
        return None
    lo, hi = LIMITS.get(key, (low, MAX_SECONDS - 1))
    if not is_int(v) or not lo <= v <= hi:
        return f"{key}={str(v)[:40]!r} outside [{lo}, {hi}]"
    return None


def digest_problem(image) -> str | None:
    if not isinstance(image, str):
        return None
    m = DIGEST.search(image)
    if not m:
        return None
    algo, hexpart = m.group(1), m.group(2)
    size = 64 if algo.lower() == "sha256" else 128
    if algo != algo.lower() or not re.fullmatch(rf"[0-9a-f]{{{size}}}", hexpart):
        return f"digest {algo}:{hexpart[:20]}… is not lowercase hex"
    return None


def as_list(value) -> list:
    """`value` if it is a list, else [] (a field of another type has no items to check)."""
    return value if isinstance(value, list) else []


def as_dict(value) -> dict:
    """`value` if it is an object, else {}."""
    return value if isinstance(value, dict) else {}


def canary_problems(c, alarms: set[str] | None) -> list[str]:
    """What berth must refuse in a canary configuration (README: 'canary'; issue P5)."""
    if not isinstance(c, dict):
        return []
    out = [f"unknown canary field {k!r}" for k in c if k not in CANARY_KEYS]
    analysis = as_dict(c.get("analysis"))
    out += [f"analysis: unknown field {k!r}" for k in analysis if k not in SCHEMA["Analysis"]]
    out += [
        f"analysis.baseline: unknown field {k!r}"
        for k in as_dict(analysis.get("baseline"))
        if k not in SCHEMA["Baseline"]
    ]
    out += [
        p
        for p in (
            seconds_problem(c, "bakeSeconds", 0),
            seconds_problem(c, "intervalSeconds", 1),
            seconds_problem(c, "windowSeconds", 1),
        )
        if p
    ]
    for i, m in enumerate(as_list(c.get("metrics"))):
        if not isinstance(m, dict):
            continue
        out += [f"metrics[{i}]: unknown field {k!r}" for k in m if k not in CHECK_KEYS]
        out += [
            f"metrics[{i}].compare: unknown field {k!r}"
            for k in as_dict(m.get("compare"))
            if k not in SCHEMA["Compare"]
        ]
        out += [
            f"metrics[{i}]: {p}"
            for p in (seconds_problem(m, "minDataPoints", 1), seconds_problem(m, "datapointsToFail", 1))
            if p
        ]
        if "period" in m and not valid_period(m["period"]):
            out.append(f"metrics[{i}]: period {str(m['period'])[:30]!r}")
        window, period = c.get("windowSeconds", 300), m.get("period", 60)
        if is_int(window) and is_int(period) and 0 < window < period:
            out.append(f"metrics[{i}]: period {period} longer than windowSeconds {window}")
        specs = []
        if isinstance(m.get("metric"), dict):
            specs.append(("metric", m["metric"]))
        ids = as_dict(m.get("metrics"))
        specs += [(f"metrics.{k}", v) for k, v in ids.items() if isinstance(v, dict)]
        for where, spec in specs:
            out += [f"metrics[{i}].{where}: unknown field {k!r}" for k in spec if k not in SPEC_KEYS]
            if "stat" in spec and invalid_stat(spec["stat"]):
                out.append(f"metrics[{i}].{where}: stat {str(spec['stat'])[:30]!r}")
        if "expression" in m and ids:
            why = expression_problem(m["expression"], set(ids))
            if why:
                out.append(f"metrics[{i}]: expression {str(m['expression'])[:60]!r}: {why}")
    if alarms is not None and isinstance(c.get("alarms"), list):
        out += [f"alarm {a[:40]!r} does not exist" for a in c["alarms"] if isinstance(a, str) and a not in alarms]
    return out


def request_problems(r, alarms: set[str], keys: set[str] = REQUEST_KEYS) -> list[str]:
    """What Plan must refuse in a console request (or, with `keys`, a release's entry)."""
    if not isinstance(r, dict):
        return []
    out = [f"unknown request field {k!r}" for k in r if k not in keys]
    for f, obj in REQUEST_OBJECTS.items():
        out += [f"{f}: unknown field {k!r}" for k in as_dict(r.get(f)) if k not in SCHEMA[obj]]
    out += [
        p
        for p in (seconds_problem(r, k, 1) for k in ("timeoutSeconds", "pollIntervalSeconds", "rollbackTimeoutSeconds"))
        if p
    ]
    if problem := digest_problem(r.get("image")):
        out.append(problem)
    for f in ("cluster", "service", "container", "image"):
        limit = LIMITS.get(f"{f}.length")
        if limit and isinstance(r.get(f), str) and len(r[f]) > limit[1]:
            out.append(f"{f} is {len(r[f])} characters, at most {limit[1]}")
    return out + canary_problems(r.get("canary"), alarms)


def release_problems(r, alarms: set[str]) -> list[str]:
    """What Plan must refuse in a release request: its own unknown fields, and each entry's
    problems as a console request's (with its `wave`)."""
    if not isinstance(r, dict):
        return []
    out = [f"unknown request field {k!r}" for k in r if k != "release"]
    release = as_dict(r.get("release"))
    out += [f"release: unknown field {k!r}" for k in release if k not in SCHEMA["Release"]]
    for i, entry in enumerate(as_list(release.get("services"))):
        out += [f"release.services[{i}]: {p}" for p in request_problems(entry, alarms, SCHEMA["ReleaseEntry"])]
    return out


def hook_config_problems(d) -> list[str]:
    if not isinstance(d, dict):
        return []
    out = [f"unknown hookDetails field {k!r}" for k in d if k not in HOOK_CONFIG_KEYS]
    p = seconds_problem(d, "deadlineSeconds", 1)
    out += [p] if p else []
    hooks = as_dict(d.get("hooks"))
    out += [f"unknown stage {k!r}" for k in hooks if k not in ECS_STAGES]
    for stage, s in hooks.items():
        if not isinstance(s, dict):
            continue
        out += [f"{stage}: unknown field {k!r}" for k in s if k not in CHECK_SET_KEYS]
        for j, probe in enumerate(as_list(s.get("probes"))):
            if isinstance(probe, dict):
                out += [f"{stage}: probes[{j}]: unknown field {k!r}" for k in probe if k not in PROBE_KEYS]
        out += [f"{stage}: {p}" for p in canary_problems(s.get("canary"), None)]
    return out


# ---------------------------------------------------------------------- bases


@dataclass
class Base:
    name: str
    function: str
    doc: Any
    # doc -> reasons berth must refuse it (beyond the generic ones); "skip" answers (a push that
    # deploys nothing) count as a refusal when `skip_ok`.
    rules: Callable[[Any], list[str]] | None = None
    skip_ok: bool = False
    # paths whose numbers are not mutated to huge values (the checks would legitimately run that long)
    slow: tuple = ()
    # where the targeted mutations go (path prefixes; empty: everywhere): the fields the handler reads
    focus: tuple = ()

    def problems(self, doc) -> list[str]:
        return self.rules(doc) if self.rules else []


@dataclass
class Case:
    base: Base
    what: str
    body: bytes
    must_refuse: list[str] = field(default_factory=list)


def image_of(repository: str, digest: str) -> str:
    return f"{REGISTRY}/{repository}@{digest}"


def image(digest: str) -> str:
    return image_of("web", digest)


def call(berth, function: str, doc) -> dict:
    status, answer = invoke_raw(berth, function, json.dumps(doc).encode())
    assert status == 200 and isinstance(answer, dict), (function, status, answer)
    return answer


# ---------------------------------------------------------------------- the scenarios that give the seeds
#
# Each drives one real execution (or, for the sweep, a schedule firing) on a service of its own,
# side by side with the others, and answers [(execution ARN, the status it must end in)]. Their
# Lambdas' inputs, as invoked, are what the fuzz starts from.


# The requests' poll interval (2 s of wall time at the suite's time scale): where berth looks at a
# rollout itself (CodeDeploy, ECS's strategies), each look is a check-stability invocation, and the
# scenarios run side by side on two instances per function.
POLL = 20


def v1(name: str) -> str:
    return digest_of(f"fuzz {name} v1")


def v2(name: str) -> str:
    return digest_of(f"fuzz {name} v2")


# The harness's ECR rule delivery reads back from one queue: one push at a time.
PUSHES = threading.Lock()


def push(berth: Stack, repository: str, digest: str) -> str:
    with PUSHES:
        started = berth.deliver_ecr_event(ecr_push_event(repository, digest, "v2"))
    assert started and started["started"], started
    return started["executionArn"]


def canary_for(svc: dict) -> dict:
    """A short canary on the service's own target group: a 5xx rate by metric math, a p99, an alarm."""
    tg = "targetgroup/" + svc["target_group"].split(":targetgroup/")[1]
    dims = {"TargetGroup": tg, "LoadBalancer": LOAD_BALANCER}

    def spec(metric: str, stat: str = "Sum") -> dict:
        return {"namespace": "AWS/ApplicationELB", "metricName": metric, "stat": stat, "dimensions": dict(dims)}

    return {
        "bakeSeconds": 3,
        "intervalSeconds": 10,
        "windowSeconds": 60,
        "onInconclusive": "promote",
        "metrics": [
            {
                "name": "5xx rate %",
                "expression": "100 * FILL(errors, 0) / requests",
                "metrics": {"errors": spec("HTTPCode_Target_5XX_Count"), "requests": spec("RequestCount")},
                "threshold": 5.0,
                "comparison": "GreaterThanThreshold",
                "minDataPoints": 1,
                "datapointsToFail": 1,
                "period": 5,
            },
            {"name": "p99 latency", "metric": spec("TargetResponseTime", "p99"), "threshold": 1.0, "period": 5},
        ],
        "alarms": [ALARM],
    }


def scenario_canary(berth: Stack) -> list[tuple[str, str]]:
    """A console request: a rolling deploy with a canary, the scan gate (a LOW finding under a HIGH
    threshold) and a freeze calendar (the service's tags) that freezes another day."""
    day = (berth.now() + timedelta(days=3)).strftime("%a")
    svc = berth.make_service(
        "web",
        image(OLD),
        tags={"berth:freeze": f"{day} 02:00 - {day} 03:00", "berth:freeze-time-zone": "Europe/Berlin"},
    )
    berth.control(
        "scan-findings",
        {
            "repository": "web",
            "digest": NEW,
            "tag": "v2",
            "findings": [{"id": "CVE-2026-0009", "severity": "LOW", "package": "zlib"}],
        },
    )
    request = {
        "cluster": "prod",
        "service": "web",
        "container": "app",
        "image": image(NEW),
        "forceNewDeployment": False,
        "timeoutSeconds": 120,
        "pollIntervalSeconds": POLL,
        "rollbackTimeoutSeconds": 120,
        "canary": canary_for(svc),
        "scan": {"threshold": "HIGH", "onNoScan": "refuse", "maxWaitSeconds": 60},
    }
    return [(berth.start_execution(request, name="fuzz-canary"), "SUCCEEDED")]


def scenario_migration(berth: Stack) -> list[tuple[str, str]]:
    """An ECR push to a service whose tags ask for a migration command (it exits 0)."""
    berth.make_service("mig", image_of("mig", v1("mig")), tags={"berth:migration-command": "bin/migrate up --verbose"})
    berth.control("task-behaviours", {"image": v2("mig"), "behaviour": "exit", "exitCode": 0, "runTicks": 3})
    return [(push(berth, "mig", v2("mig")), "SUCCEEDED")]


def scenario_stop(berth: Stack) -> list[tuple[str, str]]:
    """A console request for stop-then-start."""
    berth.make_service("fifo", image_of("fifo", v1("fifo")), desired=2)
    request = {
        "cluster": "prod",
        "service": "fifo",
        "image": image_of("fifo", v2("fifo")),
        # (long enough that its stop, replayed during the fuzz, is still within its deadline: the
        # fuzz lasts minutes of wall time, most of an hour on the stack's clock at scale 10)
        "stopThenStart": {"timeoutSeconds": 86400},
        "timeoutSeconds": 120,
        "pollIntervalSeconds": POLL,
    }
    return [(berth.start_execution(request, name="fuzz-stop"), "SUCCEEDED")]


def scenario_release(berth: Stack) -> list[tuple[str, str]]:
    """A release by request: two services of one repository, in two waves."""
    for name in ("api", "worker"):
        berth.make_service(name, image_of("shop", v1("shop")), repository="shop")
    request = {
        "release": {
            "name": "shop",
            "services": [
                {
                    "cluster": "prod",
                    "service": "api",
                    "image": image_of("shop", v2("shop")),
                    "pollIntervalSeconds": POLL,
                    "wave": 1,
                },
                {
                    "cluster": "prod",
                    "service": "worker",
                    "image": image_of("shop", v2("shop")),
                    "pollIntervalSeconds": POLL,
                    "wave": 2,
                },
            ],
        }
    }
    return [(berth.start_execution(request, name="fuzz-release"), "SUCCEEDED")]


def scenario_rollback(berth: Stack) -> list[tuple[str, str]]:
    """An ECR push whose canary (the service's tags) fails: the deploy is rolled back, as it should."""
    berth.make_service(
        "bad",
        image_of("bad", v1("bad")),
        tags={"berth:bake-seconds": "60", "berth:load-balancer": LOAD_BALANCER, "berth:max-5xx-percent": "5"},
    )
    berth.control("images", {"image": v2("bad"), "behaviour": "canary-bad"})
    return [(push(berth, "bad", v2("bad")), "FAILED")]


@dataclass
class Held:
    """The blue/green deployment kept waiting in its last hook while codedeploy-hook is fuzzed."""

    execution: str
    deployment: str
    payload: dict  # what CodeDeploy sent for the hook it waits in (AfterAllowTraffic)


HELD: dict[str, Held] = {}  # "bluegreen" -> the held deployment, once scenario_bluegreen has it


def codedeploy_record(berth: Stack, deployment: str) -> dict:
    return requests.get(f"{berth.url}/_berth/codedeploy/{deployment}", timeout=30).json()


def scenario_bluegreen(berth: Stack) -> list[tuple[str, str]]:
    """A console request for a service on the CODE_DEPLOY controller (canary traffic config). The
    simulator invokes the real codedeploy-hook through the Lambda route for each hook; while the
    production traffic shifts, a stub takes the hook's name, so the last hook (AfterAllowTraffic)
    is invoked but not answered: the deployment waits there until the test answers it (`Held`)."""
    svc = berth.make_bluegreen_service(
        "bg", image_of("bg", v1("bg")), config="CodeDeployDefault.ECSCanary10Percent5Minutes"
    )
    listener = f"{berth.url}/_berth/listener/prod/bg"
    berth.set_checks(
        svc,
        {
            "deadlineSeconds": 20,
            "hooks": {
                "AfterAllowTestTraffic": {
                    "probes": [{"name": "test-listener", "url": f"{listener}/test/health", "expectStatus": 200}]
                },
                "AfterAllowTraffic": {
                    "probes": [{"name": "prod-listener", "url": f"{listener}/prod/health", "requests": 2}],
                    "canary": {"bakeSeconds": 0, "alarms": [ALARM]},
                },
            },
        },
    )
    arn = berth.start_execution(
        {
            "cluster": "prod",
            "service": "bg",
            "image": image_of("bg", v2("bg")),
            "timeoutSeconds": 900,
            "pollIntervalSeconds": POLL,
        },
        name="fuzz-bluegreen",
    )
    deployment = wait_until(
        lambda: next(
            (
                d["deploymentId"]
                for d in berth.control("codedeploy", method="GET")["deployments"]
                if d["service"] == "bg"
            ),
            None,
        ),
        120,
        "the blue/green deployment",
    )
    deadline = time.monotonic() + 120
    while True:  # AllowTraffic holds the canary's 10 % for 5 simulated minutes: the stub goes in then
        events = {
            e["lifecycleEventName"]: e["status"]
            for e in (codedeploy_record(berth, deployment).get("target") or {}).get("lifecycleEvents", [])
        }
        if events.get("AllowTraffic") == "InProgress":
            break
        assert events.get("AllowTraffic") in (None, "Pending"), f"the traffic shift passed unseen: {events}"
        assert time.monotonic() < deadline, f"no traffic shift in 120 s: {events}"
        time.sleep(0.1)
    berth.control("lambda-stubs", {"name": "codedeploy-hook", "result": {}})
    try:

        def held() -> dict | None:
            ex = codedeploy_record(berth, deployment).get("hookInvocations", [])
            return next((h for h in ex if h["event"] == "AfterAllowTraffic"), None)

        hook = wait_until(held, 120, "CodeDeploy's AfterAllowTraffic hook")
    finally:
        berth.control("lambda-stubs", {"name": "codedeploy-hook"}, method="DELETE")
    payload = next(
        r["payload"]
        for r in route_invocations(berth, "codedeploy-hook")
        if r["payload"].get("LifecycleEventHookExecutionId") == hook["executionId"]
    )
    HELD["bluegreen"] = Held(arn, deployment, payload)
    return []  # its execution ends once the held hook is answered, after the hook's fuzz


ECS_HOOK_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ecs-hook"


def scenario_native(berth: Stack) -> list[tuple[str, str]]:
    """A console request for a service on ECS's BLUE_GREEN strategy whose lifecycle hook is
    ecs-hook: listener probes after the test shift, probes and a 2 s canary after the production
    shift (answered IN_PROGRESS, then SUCCEEDED)."""
    berth.make_service("blue", image_of("blue", v1("blue")), breaker=False)
    listener = f"{berth.url}/_berth/listener/prod/blue"
    hook = {
        "hookTargetArn": ECS_HOOK_ARN,
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/ecsLambdaHooks",
        "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"],
        "hookDetails": {
            "deadlineSeconds": 20,
            "hooks": {
                "POST_TEST_TRAFFIC_SHIFT": {
                    "probes": [
                        {
                            "name": "test-listener",
                            "url": f"{listener}/test/health",
                            "expectStatus": 200,
                            "latencyBudgetMs": 2000,
                            "requests": 2,
                        }
                    ]
                },
                "POST_PRODUCTION_TRAFFIC_SHIFT": {
                    "probes": [{"name": "prod-listener", "url": f"{listener}/prod/health", "expectStatus": 200}],
                    "canary": {"bakeSeconds": 2, "intervalSeconds": 30, "alarms": [ALARM]},
                },
            },
        },
    }
    berth.client("ecs").update_service(
        cluster="prod",
        service="blue",
        deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0, "lifecycleHooks": [hook]},
    )
    request = {
        "cluster": "prod",
        "service": "blue",
        "image": image_of("blue", v2("blue")),
        "timeoutSeconds": 300,
        "pollIntervalSeconds": POLL,
    }
    return [(berth.start_execution(request, name="fuzz-native"), "SUCCEEDED")]


def scenario_reconcile(berth: Stack) -> list[tuple[str, str]]:
    """A push whose event never came, deployed by the sweep (the template's schedule, fired). The
    sweep runs as an install with Repositories=recon runs it (see `the_sweep_deploys_recon_only`)."""
    berth.push_image_silently("recon", v1("recon"), "v1")
    berth.make_service("recon", image_of("recon", v1("recon")))
    time.sleep(1.1)  # moto records imagePushedAt in whole seconds
    berth.push_image_silently("recon", v2("recon"), "v2")
    assert berth.create_reconcile_schedule() is not None
    fired = berth.fire_reconcile()
    assert fired["status"] == 200 and not fired["functionError"], fired
    started = [s for s in fired["response"]["services"] if s["outcome"] == "started"]
    assert [s["service"] for s in started] == ["recon"], fired["response"]["summary"]
    arn = STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:") + f":{started[0]['executionName']}"
    return [(arn, "SUCCEEDED")]


SCENARIOS: dict[str, Callable[[Stack], list[tuple[str, str]]]] = {
    "canary": scenario_canary,
    "migration": scenario_migration,
    "stop": scenario_stop,
    "release": scenario_release,
    "rollback": scenario_rollback,
    "bluegreen": scenario_bluegreen,
    "native": scenario_native,
    "reconcile": scenario_reconcile,
}
# the repository each scenario's pushes and services name
REPOSITORIES = {
    "web": "canary",
    "mig": "migration",
    "fifo": "stop",
    "shop": "release",
    "bad": "rollback",
    "bg": "bluegreen",
    "blue": "native",
    "recon": "reconcile",
}
SERVICES = {"web", "mig", "fifo", "api", "worker", "bad", "bg", "blue", "recon"}


@contextlib.contextmanager
def the_sweep_deploys_recon_only(berth: Stack):
    """reconcile as an install with the template parameter Repositories=recon runs it: the other
    scenarios' services (whose repositories are not in the stand-in's ECR) are skipped, not read."""
    berth.restart_function("reconcile", {"BERTH_REPOSITORIES": "recon"})
    try:
        yield
    finally:
        berth.restart_function("reconcile", None)


# ---------------------------------------------------------------------- capturing what the Lambdas were invoked with


@dataclass
class Invocation:
    function: str
    scenario: str
    state: str  # the state that invoked it, or what invoked it outside Step Functions
    doc: Any


def function_name(arn: str) -> str:
    """`arn:aws:lambda:REGION:ACCOUNT:function:NAME[:qualifier]` (or a bare name) -> NAME."""
    return arn.split(":function:", 1)[-1].split(":")[0]


def invoked_by(berth: Stack, scenario: str, arn: str) -> list[Invocation]:
    """Every Lambda an execution and its service executions invoked, with its input as invoked
    (after Parameters), in order."""
    out = []
    state: dict[str, str] = {}
    for e in berth.history(arn):
        if d := e.get("stateEnteredEventDetails"):
            state[e["execution"]] = d["name"]
        elif d := e.get("lambdaFunctionScheduledEventDetails"):
            out.append(
                Invocation(function_name(d["resource"]), scenario, state[e["execution"]], json.loads(d["input"]))
            )
        elif (d := e.get("taskScheduledEventDetails")) and d.get("resourceType") == "lambda":
            params = json.loads(d["parameters"])
            out.append(
                Invocation(function_name(params["FunctionName"]), scenario, state[e["execution"]], params["Payload"])
            )
    return out


def route_invocations(berth: Stack, function: str) -> list[dict]:
    """What the stand-in's Lambda route received for `function` (its last 50), answered without error."""
    records = berth.control(f"lambda-invocations?function={function}", method="GET")["invocations"]
    return [r for r in records if r.get("status") in (200, 202) and not r.get("functionError")]


def invoked_outside_step_functions(berth: Stack) -> list[Invocation]:
    """The hooks', the push's, the sweep's and the ECS events' invocations, from the Lambda route."""
    out = []
    for r in route_invocations(berth, "start-deployment"):
        repository = r["payload"]["detail"]["repository-name"]
        out.append(Invocation("start-deployment", REPOSITORIES[repository], "ECR push", r["payload"]))
    for r in route_invocations(berth, "reconcile"):
        out.append(Invocation("reconcile", "reconcile", "Scheduler", r["payload"]))
    for r in route_invocations(berth, "wake-rollout"):
        e = r["payload"]
        what = e.get("detail", {}).get("eventName") or e.get("detail", {}).get("lastStatus")
        out.append(Invocation("wake-rollout", "ECS events", f"{e.get('detail-type')}: {what}", e))
    if "bluegreen" in HELD:
        record = codedeploy_record(berth, HELD["bluegreen"].deployment)
        event_of = {h["executionId"]: h["event"] for h in record.get("hookInvocations", [])}
        for r in route_invocations(berth, "codedeploy-hook"):
            event = event_of.get(r["payload"].get("LifecycleEventHookExecutionId"), "?")
            out.append(Invocation("codedeploy-hook", "bluegreen", event, r["payload"]))
    for r in route_invocations(berth, "ecs-hook"):
        p = r["payload"]
        call = 1 + ((p.get("hookDetails") or {}).get("berthState") or {}).get("evaluations", 0)
        out.append(Invocation("ecs-hook", "native", f"{p['lifecycleStage']} call {call}", p))
    return out


def alarm(berth: Stack) -> None:
    berth.alarm(ALARM)


def capture(berth: Stack, took: dict[str, float]) -> list[Invocation]:
    """Run every scenario, side by side, to its end (the blue/green one to its held hook); every
    Lambda input they gave. `took`: each scenario's wall time."""
    alarm(berth)
    # CodeDeploy's canary holds 10 % for 5 s; the hooks wait for their status long enough for the
    # fuzz; ECS's callBackDelay (2 s at most here) lasts 1 s
    berth.control("config", {"codedeploy_minute_seconds": 1, "hook_timeout_seconds": 900, "ecs_minute_seconds": 30})
    HELD.clear()

    def run(name: str) -> list[Invocation]:
        t0 = time.monotonic()
        executions = SCENARIOS[name](berth)
        out = []
        for arn, status in executions:
            done = berth.wait_execution(arn, timeout=240)
            assert done["status"] == status, (
                f"scenario {name}: {done['status']} {done.get('error')}: {done.get('cause')}"
            )
            out += invoked_by(berth, name, arn)
        took[name] = time.monotonic() - t0
        return out

    with ThreadPoolExecutor(len(SCENARIOS)) as pool:
        futures = [pool.submit(run, name) for name in SCENARIOS]
        invoked = [i for f in futures for i in f.result()]
    held = HELD["bluegreen"]
    invoked += invoked_by(berth, "bluegreen", held.execution)  # so far: it waits in WatchRollout
    return invoked + invoked_outside_step_functions(berth)


# function -> the invocations that become its seeds: (scenario, state (a prefix of it), which one of
# those: 0 the first, -1 the last). Every one must be found, and answer successfully as it is.
SEEDS: dict[str, list[tuple[str, str, int]]] = {
    "plan-deployment": [("canary", "Plan", 0), ("migration", "Plan", 0), ("stop", "Plan", 0), ("release", "Plan", 0)],
    "check-gates": [("canary", "CheckFreeze", 0), ("canary", "CheckScan", 0)],
    "acquire-turn": [("canary", "AcquireTurn", 0), ("release", "AcquireTurn", -1), ("bluegreen", "AcquireTurn", 0)],
    "register-revision": [("canary", "RegisterRevision", 0), ("migration", "RegisterRevision", 0)],
    "update-service": [
        ("canary", "UpdateService", 0),
        ("stop", "StartNewTasks", 0),
        ("bluegreen", "UpdateService", 0),
        ("native", "UpdateService", 0),
    ],
    "run-migration": [("migration", "PrepareMigration", 0), ("migration", "JudgeMigration", 0)],
    # (replayed, StopOldTasks scales the service to 0 again: a mutating handler's success)
    "stop-service": [("stop", "RecordDesiredCount", 0), ("stop", "StopOldTasks", 0)],
    "release": [("release", "NextWave", 0), ("release", "NextWave", 1), ("release", "NextWave", -1)],
    "check-stability": [
        ("canary", "WatchRollout", 0),
        ("canary", "WatchRollout", -1),
        ("bluegreen", "WatchRollout", 0),
        ("native", "WatchRollout", -1),
        ("rollback", "WatchRollback", -1),
    ],
    "evaluate-canary": [
        ("canary", "EvaluateCanary", 0),
        ("canary", "EvaluateCanary", -1),
        ("rollback", "EvaluateCanary", -1),
    ],
    "rollback": [("rollback", "Rollback", 0)],
    "summarize": [
        ("canary", "Summarize", 0),
        ("canary", "Report", 0),
        ("release", "Summarize", 0),
        ("rollback", "Summarize", 0),
    ],
    "start-deployment": [("migration", "ECR push", 0), ("rollback", "ECR push", 0)],
    "reconcile": [("reconcile", "Scheduler", 0)],
    "wake-rollout": [
        ("ECS events", "ECS Deployment State Change: SERVICE_DEPLOYMENT_IN_PROGRESS", 0),
        ("ECS events", "ECS Deployment State Change: SERVICE_DEPLOYMENT_COMPLETED", -1),
        ("ECS events", "ECS Task State Change", 0),
    ],
    # AfterAllowTraffic, the fifth, is held (`Held`): answered after the fuzz
    "codedeploy-hook": [
        ("bluegreen", "BeforeInstall", 0),
        ("bluegreen", "AfterInstall", 0),
        ("bluegreen", "AfterAllowTestTraffic", 0),
        ("bluegreen", "BeforeAllowTraffic", 0),
    ],
    "ecs-hook": [
        ("native", "POST_TEST_TRAFFIC_SHIFT call 1", 0),
        ("native", "POST_PRODUCTION_TRAFFIC_SHIFT call 1", 0),
        ("native", "POST_PRODUCTION_TRAFFIC_SHIFT call 2", 0),
    ],
}


def pick_seeds(invoked: list[Invocation]) -> list[Invocation]:
    assert set(SEEDS) == set(HANDLERS) == set(RESULT_KEYS), (
        "SEEDS and RESULT_KEYS must name every function of template.yaml",
        sorted(set(HANDLERS) ^ set(SEEDS)),
        sorted(set(HANDLERS) ^ set(RESULT_KEYS)),
    )
    out: list[Invocation] = []
    missing = []
    for function, wanted in SEEDS.items():
        for scenario, state, which in wanted:
            found = [
                i for i in invoked if i.function == function and i.scenario == scenario and i.state.startswith(state)
            ]
            if not found:
                seen = sorted({f"{i.scenario}: {i.state}" for i in invoked if i.function == function})
                missing.append(f"{function}: no {scenario}: {state} among {seen}")
                continue
            seed = found[which]
            if len(found) > 1:  # which of them, for the report
                nth = which % len(found)
                place = "last" if nth == len(found) - 1 else f"#{nth + 1}"
                seed = Invocation(seed.function, seed.scenario, f"{seed.state} ({place} of {len(found)})", seed.doc)
            if all(s.doc != seed.doc for s in out if s.function == function):
                out.append(seed)
    assert not missing, "seeds not captured:\n" + "\n".join(missing)
    return out


# ---------------------------------------------------------------------- seeds -> bases


def push_rules(d) -> list[str]:
    """A push's digest must be lowercase hex (Plan's request, or the event itself)."""
    detail = (
        lookup(d, ("request", "detail")) if "request" in (d if isinstance(d, dict) else {}) else lookup(d, ("detail",))
    )
    if isinstance(detail, dict) and isinstance(detail.get("image-digest"), str):
        p = digest_problem("x@" + detail["image-digest"])
        return [p] if p else []
    return []


def ecs_hook_rules(seed: dict) -> Callable[[Any], list[str]]:
    """The seed's hook configuration is checked as long as the call is the seed's forward shift: a
    rollback is answered before the configuration is read."""
    fixed = {k: copy.deepcopy(seed.get(k)) for k in ("executionDetails", "lifecycleStage", "executionId")}

    def rules(d) -> list[str]:
        if not isinstance(d, dict) or any(d.get(k) != v for k, v in fixed.items()):
            return []
        return hook_config_problems(d.get("hookDetails"))

    return rules


def top_level(*keys: str) -> tuple:
    return tuple((k,) for k in keys)


# the fields each handler reads, where its targeted mutations go (and 3 random ones in 4)
FOCUS: dict[str, tuple] = {
    "register-revision": top_level("deploymentId", "cluster", "service", "container", "image"),
    "update-service": top_level(
        "deploymentId",
        "cluster",
        "service",
        "register",
        "forceNewDeployment",
        "timeoutSeconds",
        "pollIntervalSeconds",
        "stopping",
        "stopThenStart",
    ),
    "rollback": top_level(
        "deploymentId", "cluster", "service", "register", "update", "rollbackTimeoutSeconds", "error", "stopping"
    ),
    "check-gates": (("gate",),)
    + tuple(
        ("document", k)
        for k in (
            "cluster",
            "service",
            "image",
            "freeze",
            "overrideFreeze",
            "scan",
            "scanResult",
            "pollIntervalSeconds",
        )
    ),
    "evaluate-canary": top_level("canary", "canaryResult", "stability", "update"),
    "run-migration": top_level(
        "deploymentId", "cluster", "service", "container", "register", "migration", "migrationTask"
    ),
    "stop-service": top_level(
        "deploymentId", "cluster", "service", "stopThenStart", "stopping", "execution", "rollingBack"
    ),
}


def base_of(seed: Invocation, alarms: set[str], taken: set[str]) -> Base:
    f, doc = seed.function, seed.doc
    name = f"{f} ({seed.scenario}: {seed.state})"
    while name in taken:
        name += "'"
    taken.add(name)
    base = Base(name, f, doc, focus=FOCUS.get(f, ()))
    if f == "plan-deployment":
        request = doc.get("request")
        if isinstance(request, dict) and "detail-type" in request:
            base.rules, base.skip_ok = push_rules, True
        elif isinstance(request, dict) and "release" in request:
            base.rules = lambda d: release_problems(d.get("request"), alarms) if isinstance(d, dict) else []
        else:
            base.rules = lambda d: request_problems(d.get("request"), alarms) if isinstance(d, dict) else []
    elif f == "start-deployment":
        base.rules, base.skip_ok = push_rules, True
    elif f == "evaluate-canary":
        base.rules = lambda d: canary_problems(d.get("canary"), None) if isinstance(d, dict) else []
    elif f == "register-revision":
        base.rules = lambda d: [p for p in [digest_problem(d.get("image"))] if p] if isinstance(d, dict) else []
    elif f == "ecs-hook":
        base.rules = ecs_hook_rules(doc)
        base.slow = (("hookDetails", "hooks", "*", "probes", "*", "requests"),)
    elif f == "acquire-turn":
        base.focus = tuple((k,) for k in doc if k != "canary")
    return base


def bases_of(seeds: list[Invocation]) -> list[Base]:
    taken: set[str] = set()
    bases = [base_of(s, {ALARM}, taken) for s in seeds]
    for b in bases:
        assert not b.problems(b.doc), (b.name, b.problems(b.doc))
    return bases


# ---------------------------------------------------------------------- mutations

EDGE_NUMBERS = [
    0,
    -1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64 - 1,
    2**64,
    10**9,
    10**12,
    -(2**63) - 1,
    1.5,
    -0.0,
    1e308,
    0.1,
]
RAW_NUMBERS = [
    ("1e999", True),
    ("-1e999", True),
    ("1e-999", False),
    ("123456789012345678901234567890", False),
    ("1E400", True),
]
TYPE_VALUES = [None, True, False, "x", "", 0, -1, 1.5, [], {}, [1, 2], {"a": 1}]
STRINGS = ["", " ", "\u0000", "é", "😀", "null", "true", "1", "${x}", "../../x", "a" * 300, "\ud7ff", "\t\n"]


def typo(rng: random.Random, key: str) -> str:
    for _ in range(10):
        kind = rng.randrange(6)
        i = rng.randrange(len(key)) if key else 0
        if kind == 0 and len(key) > 1:
            k = key[:i] + key[i + 1 :]
        elif kind == 1 and len(key) > 1:
            i = min(i, len(key) - 2)
            k = key[:i] + key[i + 1] + key[i] + key[i + 2 :]
        elif kind == 2:
            k = key[:i] + key[i : i + 1] * 2 + key[i + 1 :]
        elif kind == 3:
            k = key[:i] + key[i : i + 1].swapcase() + key[i + 1 :]
        elif kind == 4:
            k = key[:-1] if key.endswith("s") else key + "s"
        else:
            k = key + "_"
        if k != key:
            return k
    return key + "x"


class Mutator:
    def __init__(self, base: Base, rng: random.Random):
        self.base, self.rng = base, rng
        self.doc = copy.deepcopy(base.doc)
        self.raws: list[Raw] = []
        self.notes: list[str] = []

    def raw(self, text: str, refused: bool) -> str:
        r = Raw(text, refused)
        self.raws.append(r)
        return r.token

    def nodes(self, want=lambda p, v: True):
        """The nodes `want` picks; three times in four only those the handler reads (its focus)."""
        found = [(p, v) for p, v in walk(self.doc) if want(p, v)]
        if self.base.focus and self.rng.random() < 0.75:
            return [(p, v) for p, v in found if in_focus(self.base, p)] or found
        return found

    def slow(self, path) -> bool:
        return any(match(s, path) for s in self.base.slow)

    # each returns False when it found nothing to mutate
    def drop(self):
        nodes = self.nodes()
        if not nodes:
            return False
        p, _ = self.rng.choice(nodes)
        parent = get(self.doc, p[:-1])
        del parent[p[-1]]
        self.notes.append(f"drop {fmt(p)}")
        return True

    def misspell(self, path=None):
        nodes = [path] if path else [p for p, _ in self.nodes(lambda p, v: isinstance(p[-1], str))]
        if not nodes:
            return False
        p = self.rng.choice(nodes)
        k = typo(self.rng, p[-1])
        if k in get(self.doc, p[:-1]):
            return False
        rename(self.doc, p, k)
        self.notes.append(f"rename {fmt(p)} -> {k!r}")
        return True

    def unknown(self):
        objects = [()] + [p for p, v in self.nodes(lambda p, v: isinstance(v, dict))]
        p = self.rng.choice(objects)
        key = self.rng.choice(
            [
                "x",
                "extra",
                "Cluster",
                "comparision",
                "hook",
                "dimension",
                "bakeSecond",
                "onInconclusve",
                "__proto__",
                "é",
            ]
        ) + ("" if self.rng.random() < 0.5 else str(self.rng.randrange(99)))
        get(self.doc, p)[key] = self.rng.choice([1, "x", None, {}, []])
        self.notes.append(f"add {fmt(p + (key,))}")
        return True

    def retype(self, path=None):
        nodes = [path] if path else [p for p, _ in self.nodes()]
        if not nodes:
            return False
        p = self.rng.choice(nodes)
        old = get(self.doc, p)
        choices = [v for v in TYPE_VALUES if type(v) is not type(old)]
        put(self.doc, p, copy.deepcopy(self.rng.choice(choices)))
        self.notes.append(f"{fmt(p)} = {short(get(self.doc, p))}")
        return True

    def number(self, path=None, value=None):
        nodes = (
            [path]
            if path
            else [p for p, v in self.nodes(lambda p, v: is_int(v) or isinstance(v, float)) if not self.slow(p)]
        )
        if not nodes:
            return False
        p = self.rng.choice(nodes)
        if value is None:
            if self.rng.random() < 0.2:
                text, refused = self.rng.choice(RAW_NUMBERS)
                value = self.raw(text, refused)
                self.notes.append(f"{fmt(p)} = {text}")
                put(self.doc, p, value)
                return True
            value = self.rng.choice(EDGE_NUMBERS)
        put(self.doc, p, value)
        self.notes.append(f"{fmt(p)} = {short(value)}")
        return True

    def string(self, path=None, value=None):
        nodes = [path] if path else [p for p, v in self.nodes(lambda p, v: isinstance(v, str) and "\u0001" not in v)]
        if not nodes:
            return False
        p = self.rng.choice(nodes)
        old = get(self.doc, p)
        if value is None:
            value = self.rng.choice(STRINGS + [old.upper(), old + " ", old[:-1], old * 2])
        put(self.doc, p, value)
        self.notes.append(f"{fmt(p)} = {short(value)}")
        return True

    def digest(self):
        nodes = [p for p, v in self.nodes(lambda p, v: isinstance(v, str) and re.search(r"sha256:[0-9a-f]{64}", v))]
        if not nodes:
            return False
        p = self.rng.choice(nodes)
        old = get(self.doc, p)
        m = re.search(r"sha256:([0-9a-f]{64})", old)
        assert m, old  # nodes holds the strings with a digest
        hexpart = m.group(1)
        new = self.rng.choice(
            [hexpart.upper(), hexpart[:63], hexpart + "0", "g" * 64, hexpart[:32].upper() + hexpart[32:]]
        )
        algo = self.rng.choice(["sha256", "sha256", "SHA256"])
        put(self.doc, p, old[: m.start()] + f"{algo}:{new}" + old[m.end() :])
        self.notes.append(f"{fmt(p)}: digest {algo}:{new[:12]}…")
        return True

    def deep(self, path=None, levels=None):
        nodes = [path] if path else [p for p, _ in self.nodes()]
        if not nodes:
            return False
        p = self.rng.choice(nodes)
        levels = levels or self.rng.choice([129, 200, 1000, 5000])
        put(self.doc, p, self.raw(deep_text(levels), True))
        self.notes.append(f"{fmt(p)} = {levels} nested arrays")
        return True

    def oversize(self, path=None):
        nodes = [path] if path else [p for p, v in self.nodes(lambda p, v: isinstance(v, str) and "\u0001" not in v)]
        if not nodes:
            return False
        p = self.rng.choice(nodes)
        size = self.rng.choice([200_000, 250_000])
        put(self.doc, p, get(self.doc, p) + "a" * size)
        self.notes.append(f"{fmt(p)} += {size // 1000} KB")
        return True

    def case(self) -> Case:
        body = encode(self.doc, self.raws)
        must = [
            r.text[:20] + (" (deep)" if r.text.startswith("[") else "")
            for r in self.raws
            if r.refused and r.text.encode() in body
        ]
        must += self.base.problems(self.doc)
        return Case(self.base, "; ".join(self.notes), body, must)


def fmt(path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(root)"


def short(v) -> str:
    s = json.dumps(v, ensure_ascii=False) if not isinstance(v, str) or "\u0001" not in v else "<raw>"
    return s if len(s) <= 40 else s[:30] + f"…({len(s)} chars)"


RANDOM_KINDS = [
    ("drop", 14),
    ("misspell", 14),
    ("unknown", 8),
    ("retype", 14),
    ("number", 16),
    ("string", 14),
    ("digest", 5),
    ("deep", 3),
    ("oversize", 2),
]


def in_focus(base: Base, path) -> bool:
    return not base.focus or any(len(f) <= len(path) and match(f, path[: len(f)]) for f in base.focus)


def generic_cases(base: Base, rng: random.Random) -> list[Case]:
    """The mutations that do not depend on the document: roots, invalid JSON, trailing data, depth,
    1e999, size (one base of each handler gets them)."""
    cases = []
    body = json.dumps(base.doc).encode()
    for root in ([], "x", 42, None, True, [base.doc], 1.5):
        cases.append(Case(base, f"root {short(root)}", json.dumps(root).encode(), ["not an object"]))
    for what, raw in [
        ("empty body", b""),
        ("truncated", body[: len(body) // 2]),
        ("trailing comma", body[:-1] + b",}"),
        ("single quotes", body.replace(b'"', b"'")),
        ("NaN", b"NaN"),
        ("bytes ff fe", b"\xff\xfe" + body),
        ("BOM", b"\xef\xbb\xbf" + body),
        ("unterminated string", b'{"a": "x'),
    ]:
        cases.append(Case(base, f"invalid JSON: {what}", raw, ["not JSON"]))
    # lambda_runtime reads the body's first JSON value and ignores what follows (AWS's Invoke API
    # refuses such a body before any function runs): a berth error or a valid result, either is fine
    for what, raw in [("trailing }", body + b"}"), ("two documents", body + b" " + body)]:
        cases.append(Case(base, f"trailing data: {what}", raw))
    for levels in (129, 1000):
        cases.append(Case(base, f"root: {levels} nested arrays", deep_text(levels).encode(), ["deep"]))
    m = Mutator(base, rng)
    m.doc["fuzzDeep"] = m.raw(deep_text(200), True)
    m.notes.append("fuzzDeep = 200 nested arrays")
    cases.append(m.case())
    m = Mutator(base, rng)
    m.doc["fuzzNumber"] = m.raw("1e999", True)
    m.notes.append("fuzzNumber = 1e999")
    cases.append(m.case())
    m = Mutator(base, rng)
    m.doc["fuzzPad"] = "p" * 300_000
    m.notes.append("fuzzPad = 300 KB string")
    cases.append(m.case())
    return cases


def unknown_field_case(base: Base, rng: random.Random) -> Case:
    """The seed with one field no schema has, at its root (every base gets it: most handlers read
    past it, so it is the seed's happy path, changed)."""
    m = Mutator(base, rng)
    m.doc["fuzzExtra"] = "x"
    m.notes.append("add fuzzExtra")
    return m.case()


def specific_cases(base: Base, rng: random.Random) -> list[Case]:
    """The mutations of this document: one oversized string, every number, every key of an object
    berth reads strictly, every digest and every special field (within the base's focus)."""
    cases = []
    for p, v in list(walk(base.doc)):
        if isinstance(v, str) and len(v) > 0 and in_focus(base, p):
            m = Mutator(base, rng)
            m.oversize(p)
            cases.append(m.case())
            break
    for p, v in walk(base.doc):
        if not in_focus(base, p):
            continue
        numeric = is_int(v) or isinstance(v, float)
        if numeric and not any(match(s, p) for s in base.slow):
            for value in (2**64 - 1, 2**63, 10**9, 0, -1, 1.5, "60"):
                m = Mutator(base, rng)
                m.number(p, value)
                cases.append(m.case())
            m = Mutator(base, rng)
            m.number(p, m.raw("1e999", True))
            cases.append(m.case())
        if isinstance(v, str) and (digest := re.search(r"sha256:([0-9a-f]{64})", v)):
            m = Mutator(base, rng)
            hexpart = digest.group(1)
            m.string(p, v.replace(hexpart, hexpart.upper()))
            cases.append(m.case())
        if p[-1] == "stat":
            for s in ("p999x", "", "Sum ", "p101"):
                m = Mutator(base, rng)
                m.string(p, s)
                cases.append(m.case())
        if p[-1] == "period":
            for n in (7, 61, 45):
                m = Mutator(base, rng)
                m.number(p, n)
                cases.append(m.case())
        if p[-1] == "expression":
            for e in ("100 * (FILL(errors, 0) / requests", "100 * FILL(errrors, 0) / requests", "errors +", "100 * x"):
                m = Mutator(base, rng)
                m.string(p, e)
                cases.append(m.case())
        if p[-1] == "alarms" and isinstance(v, list):
            m = Mutator(base, rng)
            get(m.doc, p).append("no-such-alarm")
            m.notes.append(f"{fmt(p)} += 'no-such-alarm'")
            cases.append(m.case())
    # every key whose misspelling the rules refuse (strict objects, metric ids), misspelt
    for p, _ in walk(base.doc):
        if isinstance(p[-1], str) and in_focus(base, p) and _misspelling_refused(base, p):
            m = Mutator(base, rng)
            if m.misspell(p):
                cases.append(m.case())
    for p, v in walk(base.doc):
        if not in_focus(base, p):
            continue
        # the issue's own typos, in the canary and in each metric check
        if isinstance(v, dict) and (
            p[-1] == "canary" or (len(p) >= 2 and p[-2] == "metrics" and isinstance(p[-1], int))
        ):
            for k in ("comparision", "bakeSecond", "onInconclusve", "dimension"):
                m = Mutator(base, rng)
                get(m.doc, p)[k] = 1
                m.notes.append(f"add {fmt(p + (k,))}")
                cases.append(m.case())
        if p == ("hookDetails",):
            m = Mutator(base, rng)
            get(m.doc, p)["hook"] = {"POST_PRODUCTION_TRAFFIC_SHIFT": {"probes": []}}
            m.notes.append("add hookDetails.hook")
            cases.append(m.case())
    return cases


def _misspelling_refused(base: Base, path) -> bool:
    """Would the rules refuse the key at `path` renamed to a key no schema has?"""
    doc = copy.deepcopy(base.doc)
    rename(doc, path, "zzUnknownKey")
    return bool(set(base.problems(doc)) - set(base.problems(base.doc)))


def random_case(base: Base, rng: random.Random) -> Case:
    m = Mutator(base, rng)
    n = rng.choices([1, 2, 3], weights=[6, 3, 1])[0]
    done = 0
    for _ in range(n * 4):
        if done == n:
            break
        kind = rng.choices([k for k, _ in RANDOM_KINDS], weights=[w for _, w in RANDOM_KINDS])[0]
        try:
            if getattr(m, kind)():
                done += 1
        except (KeyError, IndexError, TypeError, AttributeError):
            continue
    if not done:
        m.drop()
    return m.case()


# ---------------------------------------------------------------------- judging answers


def parse_time(s) -> datetime | None:
    try:
        return datetime.fromisoformat(str(s).replace("Z", "+00:00"))
    except ValueError:
        return None


def result_problems(function: str, result) -> list[str]:
    if not isinstance(result, dict):
        return [f"result is not an object: {short(result)}"]
    missing = RESULT_KEYS[function] - set(result)
    out = [f"result lacks {sorted(missing)}"] if missing else []
    shapes = RESULT_SHAPES.get(function, [])
    if shapes and not any(shape <= set(result) for shape in shapes):
        out.append(f"result has none of the shapes {[sorted(s) for s in shapes]}")
    pairs = {"update-service": [("startedAt", "deadline")], "evaluate-canary": [("bakeStartedAt", "bakeEndsAt")]}
    checked = [(result, a, b) for a, b in pairs.get(function, [])]
    rollout = result.get("rollout") if function == "rollback" else None
    if isinstance(rollout, dict):
        checked.append((rollout, "startedAt", "deadline"))
    for src, a, b in checked:
        ta, tb = parse_time(src.get(a)), parse_time(src.get(b))
        if ta is None or tb is None:
            out.append(f"{a}/{b} not RFC 3339: {src.get(a)!r} / {src.get(b)!r}")
        elif tb < ta.replace(microsecond=0):  # berth's times are whole seconds
            out.append(f"{b} {src.get(b)} is before {a} {src.get(a)} (wrapped)")
    if function == "ecs-hook":
        if result.get("hookStatus") not in ("SUCCEEDED", "FAILED", "IN_PROGRESS"):
            out.append(f"hookStatus {result.get('hookStatus')!r}")
        if result.get("hookStatus") == "IN_PROGRESS" and not (
            is_int(result.get("callBackDelay")) and 1 <= result["callBackDelay"] < MAX_SECONDS
        ):
            out.append(f"callBackDelay {result.get('callBackDelay')!r}")
    return out


def refused(case: Case, status: int, answer) -> bool:
    """An error answer, a failed hook status, or (where allowed) a push that deploys nothing."""
    if status != 200:
        return True
    if not isinstance(answer, dict):
        return False
    f = case.base.function
    if f == "ecs-hook":
        return answer.get("hookStatus") == "FAILED"
    if f == "codedeploy-hook":
        return answer.get("status") == "Failed"
    if case.base.skip_ok:
        return answer.get("started") is False or (answer.get("skipped") is not None and not answer.get("deployments"))
    return False


def succeeded(function: str, status: int, answer) -> bool:
    """The happy path: a valid result that is no refusal (not a hook's failed status, not a Plan or
    a push that deploys nothing; a re-delivered push's duplicate is its happy path)."""
    if status != 200 or result_problems(function, answer):
        return False
    if function == "ecs-hook":
        return answer["hookStatus"] != "FAILED"
    if function == "codedeploy-hook":
        return answer["status"] == "Succeeded"
    if function == "plan-deployment":
        return bool(answer.get("deployments"))
    if function == "start-deployment":
        return answer.get("started") is True or answer.get("duplicate") is True
    return True


@dataclass
class Tally:
    seeds: int = 0
    calls: int = 0  # mutated calls (each seed's unmodified replay is not one)
    ok: int = 0  # ... that succeeded
    refused: int = 0  # ... answered with a berth error or a refusing result
    changed: int = 0  # successful calls that changed AWS (register, update, rollback, start, …: expected)
    errors: Counter = field(default_factory=Counter)
    violations: list = field(default_factory=list)
    seconds: float = 0.0
    slowest: tuple = (0.0, "")


def judge(case: Case, status: int, answer, names: set[str]) -> list[str]:
    f = case.base.function
    out = []
    size = len(json.dumps(answer)) if not isinstance(answer, str) else len(answer)
    if status == 200:
        out += result_problems(f, answer)
        if case.must_refuse and not refused(case, status, answer):
            out.append(f"answered instead of refusing ({'; '.join(case.must_refuse)[:200]})")
    elif status == 500 and isinstance(answer, dict) and "errorType" in answer:
        if answer["errorType"] not in names:
            out.append(f"errorType {answer['errorType']!r} is not a berth error name")
    else:
        out.append(f"no Lambda answer: HTTP {status}")
    # only what the state machine reads is held to its limit (the hooks answer CodeDeploy and ECS,
    # start-deployment answers EventBridge)
    merges = MERGED.get(f, (False, False))[0 if status == 200 else 1]
    if (
        f in MERGED
        and len(case.body) <= STEP_FUNCTIONS_LIMIT
        and (len(case.body) if merges else 0) + size > STEP_FUNCTIONS_LIMIT
    ):
        out.append(
            f"input {len(case.body)} B + {'result' if status == 200 else 'error'} {size} B exceed "
            f"Step Functions' {STEP_FUNCTIONS_LIMIT} B (States.DataLimitExceeded)"
        )
    return out


def describe_answer(status: int, answer) -> str:
    if status == 500 and isinstance(answer, dict):
        return f"{answer.get('errorType')}: {str(answer.get('errorMessage'))[:220]}"
    return f"HTTP {status} {short(answer) if not isinstance(answer, str) else answer[:200]}"


# ---------------------------------------------------------------------- the test


def plan_cases(bases: list[Base], rng: random.Random) -> tuple[dict[str, list[Case]], int]:
    """Each handler's equal share of COUNT: an unknown field on each base, the document-independent
    mutations once (on its first base), its bases' own targeted mutations up to TARGETED_SHARE of
    the share (a sample when there are more), random mutations of its bases in turn for the rest.
    (base name -> cases, how many are targeted)"""
    per_handler = max(20, COUNT // len(HANDLERS))
    plan: dict[str, list[Case]] = {b.name: [] for b in bases}
    n_targeted = 0
    for f in HANDLERS:
        mine = [b for b in bases if b.function == f]
        generic = [unknown_field_case(b, rng) for b in mine] + generic_cases(mine[0], rng)
        specific = [c for b in mine for c in specific_cases(b, rng)]
        room = max(0, round(TARGETED_SHARE * per_handler) - len(generic))
        if len(specific) > room:
            specific = [specific[i] for i in sorted(rng.sample(range(len(specific)), room))]
        for c in generic + specific:
            plan[c.base.name].append(c)
        n_targeted += len(generic) + len(specific)
        for i in range(per_handler - len(generic) - len(specific)):
            b = mine[i % len(mine)]
            plan[b.name].append(random_case(b, rng))
    return plan, n_targeted


# What a CodeDeploy deployment does by itself once started (a replayed UpdateService of the blue/green
# service starts one): its Install creates the green task set, and it invokes codedeploy-hook for each
# hook, which records the verdict in SSM. No berth call creates a task set, and only codedeploy-hook
# writes a verdict: in another handler's call such a change is that deployment's, not the call's.
VERDICTS = "SSM parameter /berth/hook-verdicts/"
TASK_SETS = re.compile(r"^service \S+: new task sets ")


def changes_of(function: str, changes: list[str]) -> list[str]:
    """The changes a call of `function` may have made."""
    return [
        c for c in changes if not TASK_SETS.match(c) and (function == "codedeploy-hook" or not c.startswith(VERDICTS))
    ]


def verdict_before_report(function: str, answer, changes: list[str]) -> bool:
    """codedeploy-hook writes its verdict to SSM before it reports the status (README, "The hook
    Lambdas": each verdict is also written to SSM; the handler: "Recorded before the status goes
    out, so whoever sees CodeDeploy fail can read why"), so a report CodeDeploy refuses (an
    execution ID it does not know) fails after the verdict is written. By design: not counted."""
    return (
        function == "codedeploy-hook"
        and isinstance(answer, dict)
        and str(answer.get("errorMessage", "")).startswith("PutLifecycleEventHookExecutionStatus ")
        and all(c.startswith(VERDICTS) for c in changes)
    )


def object_root(body: bytes) -> bool:
    """Whether the body is a JSON object (else the handler refuses it unread)."""
    try:
        return isinstance(json.loads(body), dict)
    except (ValueError, RecursionError):
        return False


class Snapshots:
    """aws_snapshot with the stack's boto3 clients made once: it makes four per snapshot otherwise,
    a third of its time, and a mutating handler's every call takes one."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.clients: dict[str, Any] = {}

    def client(self, service: str):
        if service not in self.clients:
            self.clients[service] = self.stack.client(service)
        return self.clients[service]

    def control(self, route: str, doc=None, method: str = "POST"):
        return self.stack.control(route, doc, method)

    def take(self) -> dict:
        return aws_snapshot(cast(Stack, self), tags=False)


class Fuzz:
    """Runs bases' batches: each seed replayed as it was invoked (it must succeed), then its cases,
    judged; AWS compared around every call of a mutating handler, around a read-only one's batch."""

    def __init__(self, berth: Stack, names: set[str], log):
        self.berth, self.names, self.log = berth, names, log
        self.snapshots = Snapshots(berth)
        self.tallies: dict[str, Tally] = defaultdict(Tally)
        self.seed_failures: list[str] = []

    def batch(self, base: Base, cases: list[Case]) -> None:
        tally = self.tallies[base.function]
        tally.seeds += 1
        mutating = base.function in MUTATING
        batch_before = self.snapshots.take()
        before = batch_before
        # a mutating handler's calls of bodies that are no JSON object, since the last snapshot:
        # compared together, once the next object comes (refused unread, they change nothing)
        unread: list[tuple[Case, int]] = []

        def compare(after: dict) -> list[str]:
            return changes_of(base.function, aws_changes(before, after, strict=False))

        def unread_changes(changes: list[str]) -> None:
            if changes and all(status != 200 for _, status in unread):
                what = f"(one of {len(unread)} bodies that are no JSON object: {unread[0][0].what[:60]}, …)"
                tally.violations.append((base.name, what, "error after changing AWS: " + "; ".join(changes)[:400], ""))

        def invoke(case: Case) -> tuple[int, Any, float]:
            t_call = time.monotonic()
            try:
                status, answer = invoke_raw(self.berth, base.function, case.body, timeout=CALL_TIMEOUT)
            except requests.RequestException as e:
                status, answer = 0, f"{type(e).__name__}: {e}"
            return status, answer, time.monotonic() - t_call

        started = time.monotonic()
        seed = Case(base, "(the seed, as invoked)", json.dumps(base.doc).encode())
        # a read-only handler's calls go two at a time (Lambda runs a function's invocations side by
        # side; the stack runs two of each): AWS is compared around the whole batch anyway
        answered = None
        if not mutating:
            with ThreadPoolExecutor(2) as pool:
                answered = iter(list(pool.map(invoke, [seed, *cases])))
        for case in [seed, *cases]:
            if mutating and unread and object_root(case.body):
                after = self.snapshots.take()
                unread_changes(compare(after))
                before, unread = after, []
            status, answer, took = next(answered) if answered else invoke(case)
            problems = judge(case, status, answer, self.names)
            changes: list[str] | None = None
            if mutating and not object_root(case.body):
                unread.append((case, status))
            elif mutating:
                after = self.snapshots.take()
                changes = compare(after)
                if status != 200 and changes and not verdict_before_report(base.function, answer, changes):
                    problems.append("error after changing AWS: " + "; ".join(changes)[:400])
                before = after
            ok = succeeded(base.function, status, answer)
            if case is seed:
                if not ok:
                    self.seed_failures.append(f"- [{base.name}] {describe_answer(status, answer)[:400]}")
            else:
                tally.calls += 1
                tally.ok += ok
                tally.refused += not ok and (status != 200 or not result_problems(base.function, answer))
                tally.changed += ok and bool(changes)
                if status != 200:
                    tally.errors[answer.get("errorType") if isinstance(answer, dict) else f"HTTP {status}"] += 1
                if took > tally.slowest[0]:
                    tally.slowest = (took, f"{base.name}: {case.what[:80] or '(as is)'}")
            for p in problems:
                tally.violations.append((base.name, case.what or "(as is)", p, describe_answer(status, answer)))
            if self.log:
                self.log.write(
                    json.dumps(
                        {
                            "base": base.name,
                            "input": case.what,
                            "bytes": len(case.body),
                            "mustRefuse": case.must_refuse,
                            "status": status,
                            "succeeded": ok,
                            "answer": describe_answer(status, answer),
                            "changes": changes,
                            "problems": problems,
                            "seconds": round(took, 3),
                        }
                    )
                    + "\n"
                )
        after = self.snapshots.take()
        if unread:
            unread_changes(compare(after))
        if not mutating:
            for c in aws_changes(batch_before, after, strict=True):
                tally.violations.append((base.name, "(the batch)", f"a read-only handler changed AWS: {c}", ""))
        tally.seconds += time.monotonic() - started


def answer_the_held_hook(berth: Stack) -> None:
    """CodeDeploy's last hook, answered with its own payload: the blue/green execution succeeds."""
    held = HELD["bluegreen"]
    status, answer = invoke_raw(berth, "codedeploy-hook", json.dumps(held.payload).encode(), timeout=CALL_TIMEOUT)
    assert status == 200 and isinstance(answer, dict) and answer.get("status") == "Succeeded", (status, answer)
    done = berth.wait_execution(held.execution, timeout=120)
    assert done["status"] == "SUCCEEDED", f"{done['status']} {done.get('error')}: {done.get('cause')}"


def settle(berth: Stack, timeout: float = 120) -> None:
    """Every execution ended, no CodeDeploy deployment active, every rolling service steady."""
    sfn = berth.client("stepfunctions")

    def quiet() -> bool:
        for machine in (STATE_MACHINE_ARN, SERVICE_STATE_MACHINE_ARN):
            if sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]:
                return False
        deployments = berth.control("codedeploy", method="GET")["deployments"]
        if any(d["status"] not in ("Succeeded", "Failed", "Stopped") for d in deployments):
            return False
        # (bg runs on CodeDeploy's task sets, not ECS deployments)
        return all(berth.steady({"cluster": "prod", "service": s}) for s in SERVICES - {"bg"})

    wait_until(quiet, timeout, "every scenario to end and ECS to be steady", interval=0.5)


def test_every_handler_answers_mutated_input_with_a_result_or_a_berth_error_and_changes_nothing_on_error(berth, capsys):
    names = berth_error_names()
    rng = random.Random(SEED)
    phases: dict[str, float] = {}  # wall time of each phase
    scenarios: dict[str, float] = {}
    mark = time.monotonic()
    with the_sweep_deploys_recon_only(berth):
        bases = bases_of(pick_seeds(capture(berth, scenarios)))
        phases["capture"], mark = time.monotonic() - mark, time.monotonic()
        assert {b.function for b in bases} == set(HANDLERS), sorted(set(HANDLERS) - {b.function for b in bases})
        plan, n_targeted = plan_cases(bases, rng)
        total = sum(len(c) for c in plan.values())
        assert total >= min(COUNT, 1000) - len(HANDLERS), total

        with open(LOG, "w") if LOG else contextlib.nullcontext() as log:
            fuzz = Fuzz(berth, names, log)
            # 1. CodeDeploy's hook while the blue/green deployment waits in its last hook; then that
            # hook is answered and the blue/green execution ends
            for base in bases:
                if base.function == "codedeploy-hook":
                    fuzz.batch(base, plan[base.name])
            phases["codedeploy-hook"], mark = time.monotonic() - mark, time.monotonic()
            answer_the_held_hook(berth)
            settle(berth)
            phases["settle"], mark = time.monotonic() - mark, time.monotonic()
            # 2. read-only handlers, every scenario ended and ECS steady: any change during a batch is its
            for base in bases:
                if base.function not in MUTATING:
                    fuzz.batch(base, plan[base.name])
            phases["read-only"], mark = time.monotonic() - mark, time.monotonic()
            # 3. the other mutating handlers, those that start executions last (those run on)
            rest = [b for b in bases if b.function in MUTATING and b.function != "codedeploy-hook"]
            for base in sorted(rest, key=lambda b: b.function in ("start-deployment", "reconcile")):
                fuzz.batch(base, plan[base.name])
            phases["mutating"] = time.monotonic() - mark

    tallies = fuzz.tallies

    def share(n: int, t: Tally) -> str:
        return f"{100 * n / t.calls:.0f}" if t.calls else "-"

    lines = [
        f"fuzz: seed {SEED}, {total} mutated inputs ({n_targeted} targeted + {total - n_targeted} random) from "
        f"{len(bases)} seeds of {len(SCENARIOS)} scenarios, in {sum(phases.values()):.1f}s: "
        + ", ".join(f"{k} {v:.1f}s" for k, v in phases.items()),
        "scenarios (side by side): " + ", ".join(f"{k} {v:.1f}s" for k, v in scenarios.items()),
        f"{'handler':<18}{'seeds':>6}{'calls':>6}{'ok%':>6}{'refused%':>9}{'ok+chg':>7}{'viol.':>6}{'secs':>6}"
        f"{'max s':>6}  errors",
    ]
    for f in HANDLERS:
        t = tallies[f]
        errs = ", ".join(f"{k} {v}" for k, v in t.errors.most_common())
        lines.append(
            f"{f:<18}{t.seeds:>6}{t.calls:>6}{share(t.ok, t):>6}{share(t.refused, t):>9}{t.changed:>7}"
            f"{len(t.violations):>6}{t.seconds:>6.1f}{t.slowest[0]:>6.2f}  {errs}"
        )
    slow = max((tallies[f].slowest for f in HANDLERS), default=(0.0, ""))
    lines.append(f"slowest call: {slow[0]:.2f}s ({slow[1]})")
    report = "\n".join(lines)

    failures = []
    if fuzz.seed_failures:
        failures.append(
            f"{len(fuzz.seed_failures)} seed(s) did not succeed as invoked (the seed is wrong):\n"
            + "\n".join(fuzz.seed_failures)
        )
    # A handler none of whose mutated calls succeeded is fuzzed on its refusals only: its happy path
    # is not. None is exempt: every handler has inputs near its seeds that it must answer (most
    # ignore an unknown field, each ignores fields it does not read or takes other values in range).
    unfuzzed = [f for f in HANDLERS if tallies[f].ok == 0]
    if unfuzzed:
        failures.append(f"no mutated call succeeded, the happy path is not fuzzed: {', '.join(unfuzzed)}")
    violations = [v for f in HANDLERS for v in tallies[f].violations]
    grouped: dict[tuple, list] = defaultdict(list)
    for base, what, problem, answer in violations:
        key = (base, re.sub(r"'[^']*'|\d+", "_", problem)[:120])
        grouped[key].append((what, problem, answer))
    if grouped:
        failures.append(
            f"{len(violations)} violation(s) in {len(grouped)} group(s):\n"
            + "\n".join(
                f"- [{base}] x{len(items)} {items[0][1][:300]}\n    e.g. input: {items[0][0][:200]}\n"
                f"    answer: {items[0][2][:300]}"
                for (base, _), items in sorted(grouped.items())
            )
        )
    with capsys.disabled():
        print("\n" + report + "".join("\n" + f for f in failures), flush=True)
    assert sum(t.calls for t in tallies.values()) == total
    assert not failures, report + "\n" + "\n".join(failures)


def test_update_service_retried_with_force_after_the_rollout_completed_starts_no_second_deployment(berth):
    svc = berth.make_service("web", image(OLD))
    item = {
        "deploymentId": "retry/prod/web",
        "cluster": "prod",
        "service": "web",
        "container": "app",
        "image": image(NEW),
    }
    register = call(berth, "register-revision", item)
    update_input = {**item, "register": register, "forceNewDeployment": True, "timeoutSeconds": 120}
    first = call(berth, "update-service", update_input)
    berth.wait_steady(svc)
    before = aws_snapshot(berth)
    again = call(berth, "update-service", update_input)
    assert aws_changes(before, aws_snapshot(berth)) == [], "a retry started a second deployment"
    assert again["ecsDeploymentId"] == first["ecsDeploymentId"], (first, again)
