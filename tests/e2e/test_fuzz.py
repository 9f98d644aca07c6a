"""Every berth Lambda, fed mutated input through the real Lambda runtime (issue P5).

Each handler is invoked directly at cargo lambda's Invoke API (raw bytes, so invalid JSON, deep
nesting and `1e999` reach the runtime's own deserialisation) with valid inputs taken from a live
deployment (plan -> turn -> register -> update -> check -> canary), mutated deterministically from a
seed: dropped and misspelt fields, unknown fields, wrong types, edge and overflowing numbers,
odd and oversized strings, uppercase digests, nesting deeper than 128, non-object roots, invalid
JSON bytes. Every answer must be

- a valid result (a JSON object with the handler's result fields, sane deadlines; for a state's
  Lambda, small enough for Step Functions: where the ASL merges it, or the error, into the state's
  input, both within 256 KiB), or
- an error whose `errorType` is one of berth's names (`ERROR_NAMES` in shared/src/error.rs, read
  here at test time), never a Rust type name, a panic or `Runtime.*`;

and an error must leave AWS as it was (ECS task definitions, services and deployments, CodeDeploy
deployments, SSM parameters, executions): checked around every call of a handler that may change
something on success, and around each whole batch of a read-only handler.

Inputs the README's rules refuse (unknown fields where berth refuses them, numbers outside their
documented range (`model::limits`, read at test time; never above 10^9), bad statistics, periods
(or a period longer than the window) or expressions, unknown alarms at Plan, digests that are not
lowercase hex, names longer than documented, anything that is not a JSON object of depth <= 128)
must be refused, not answered.

BERTH_FUZZ_SEED (default 5) and BERTH_FUZZ_COUNT (default 1600, the total over all handlers: about
900 targeted mutations, the rest random, shared equally by the handlers) change the run;
BERTH_FUZZ_LOG=FILE writes every call (input, answer, AWS changes) as JSON lines. The per-handler
counts are printed at the end.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import requests

from .harness import (
    ACCOUNT,
    REGION,
    REGISTRY,
    ROOT,
    STATE_MACHINE,
    aws_changes,
    aws_snapshot,
    berth_error_names,
    digest_of,
    ecr_push_event,
    function_substitutions,
    invoke_raw,
)

SEED = int(os.environ.get("BERTH_FUZZ_SEED", "5"))
COUNT = int(os.environ.get("BERTH_FUZZ_COUNT", "1600"))
LOG = os.environ.get("BERTH_FUZZ_LOG")  # a file to write every call to, one JSON line each
STEP_FUNCTIONS_LIMIT = 256 * 1024
CALL_TIMEOUT = 45

OLD = digest_of("fuzz v1")
NEW = digest_of("fuzz v2")
ALARM = "web-5xx"
DIMS = {"TargetGroup": "targetgroup/web/0123456789abcdef", "LoadBalancer": "app/berth-local/0123456789abcdef"}
HANDLERS = [
    "plan-deployment",
    "acquire-turn",
    "register-revision",
    "update-service",
    "check-stability",
    "evaluate-canary",
    "rollback",
    "summarize",
    "start-deployment",
    "codedeploy-hook",
    "ecs-hook",
    "check-gates",
]
# What a successful answer of each handler carries.
RESULT_KEYS = {
    "plan-deployment": {"source", "deployments"},
    "acquire-turn": {"decision", "detail", "others"},
    "register-revision": {"taskDefinitionArn", "previousTaskDefinitionArn", "container", "image", "previousImages"},
    "update-service": {"ecsDeploymentId", "taskDefinitionArn", "startedAt", "deadline", "desiredCount"},
    "check-stability": {"status", "detail", "ecsDeploymentId", "taskDefinitionArn", "checkedAt"},
    "evaluate-canary": {"verdict", "decision", "detail", "checks", "bakeStartedAt", "bakeEndsAt", "evaluatedAt"},
    "rollback": {"taskDefinitionArn", "previousTaskDefinitionArn", "rollout", "detail"},
    "summarize": {"status", "error", "cause", "services"},
    "start-deployment": {"started", "duplicate", "detail"},
    "codedeploy-hook": {"deploymentId", "lifecycleEventHookExecutionId", "status", "verdict"},
    "ecs-hook": {"hookStatus"},
    # CheckFreeze answers {decision, detail, …}, CheckScan {verdict, image, …}: both say when
    "check-gates": {"checkedAt"},
}


# The README's schema where berth refuses unknown fields.
REQUEST_KEYS = {
    "cluster",
    "service",
    "container",
    "image",
    "forceNewDeployment",
    "timeoutSeconds",
    "pollIntervalSeconds",
    "rollbackTimeoutSeconds",
    "canary",
}
CANARY_KEYS = {"bakeSeconds", "intervalSeconds", "windowSeconds", "onInconclusive", "metrics", "alarms"}
CHECK_KEYS = {
    "name",
    "metric",
    "expression",
    "metrics",
    "threshold",
    "comparison",
    "minDataPoints",
    "datapointsToFail",
    "period",
}
SPEC_KEYS = {"namespace", "metricName", "dimensions", "stat"}
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


def request_problems(r, alarms: set[str]) -> list[str]:
    if not isinstance(r, dict):
        return []
    out = [f"unknown request field {k!r}" for k in r if k not in REQUEST_KEYS]
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
    doc: dict
    # doc -> reasons berth must refuse it (beyond the generic ones); "skip" answers (a push that
    # deploys nothing) count as a refusal when `skip_ok`.
    rules: Callable[[dict], list[str]] | None = None
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


def spec(metric: str, stat: str = "Sum") -> dict:
    return {"namespace": "AWS/ApplicationELB", "metricName": metric, "stat": stat, "dimensions": dict(DIMS)}


def canary_config() -> dict:
    return {
        "bakeSeconds": 60,
        "intervalSeconds": 10,
        "windowSeconds": 300,
        "onInconclusive": "rollback",
        "metrics": [
            {
                "name": "5xx rate %",
                "expression": "100 * FILL(errors, 0) / requests",
                "metrics": {"errors": spec("HTTPCode_Target_5XX_Count"), "requests": spec("RequestCount")},
                "threshold": 5.0,
                "comparison": "GreaterThanThreshold",
                "minDataPoints": 1,
                "datapointsToFail": 1,
                "period": 60,
            },
            {"name": "p99 latency", "metric": spec("TargetResponseTime", "p99"), "threshold": 1.0},
        ],
        "alarms": [ALARM],
    }


def image(digest: str) -> str:
    return f"{REGISTRY}/web@{digest}"


def call(berth, function: str, doc) -> dict:
    status, answer = invoke_raw(berth, function, json.dumps(doc).encode())
    assert status == 200 and isinstance(answer, dict), (function, status, answer)
    return answer


def build_bases(berth) -> list[Base]:
    """A live deployment of `web` by hand, state by state, whose real inputs become the bases."""
    svc = berth.make_service("web", image(OLD))
    cw = berth.client("cloudwatch")
    cw.put_metric_alarm(
        AlarmName=ALARM,
        MetricName="HTTPCode_Target_5XX_Count",
        Namespace="AWS/ApplicationELB",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
    )
    cw.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="fuzz")
    alarms = {ALARM}
    # pushed, as Plan requires of an image of the account's ECR
    berth.ensure_images([image(OLD), image(NEW)])
    execution = {
        "id": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{STATE_MACHINE}:fuzz-1",
        "name": "fuzz-1",
        "startTime": "2026-11-29T00:00:00Z",
    }
    request = {
        "cluster": "prod",
        "service": "web",
        "container": "app",
        "image": image(NEW),
        "forceNewDeployment": False,
        "timeoutSeconds": 120,
        "pollIntervalSeconds": 1,
        "rollbackTimeoutSeconds": 120,
        "canary": canary_config(),
    }
    plan_console = {"request": request, "execution": execution}
    plan = call(berth, "plan-deployment", plan_console)
    # Plan writes what every item shares once (plan.common): the Map merges it back, so does this
    item = {**plan["deployments"][0], **plan.get("common", {})}
    turn = call(berth, "acquire-turn", item)
    assert turn["decision"] == "GO", turn
    doc = {**item, "turn": turn}
    register = call(berth, "register-revision", doc)
    doc["register"] = register
    update = call(berth, "update-service", doc)
    doc["update"] = update
    berth.wait_steady(svc)
    check = {"cluster": "prod", "service": "web", "rollout": update}
    stability = call(berth, "check-stability", check)
    assert stability["status"] == "COMPLETED", stability
    doc["stability"] = stability
    canary_first = {**doc, "canary": canary_config()}
    canary_result = call(berth, "evaluate-canary", canary_first)
    canary_next = {**canary_first, "canaryResult": canary_result}
    rollback = {
        **doc,
        "canaryResult": canary_result,
        "error": {"Error": "States.TaskFailed", "Cause": "canary FAIL"},
        "rollbackTimeoutSeconds": 120,
    }
    summarize = {
        "results": [
            {"cluster": "prod", "service": "web", "outcome": "DEPLOYED", "detail": doc},
            {
                "cluster": "prod",
                "service": "api",
                "outcome": "ROLLED_BACK",
                "detail": {**doc, "error": {"Error": "DeploymentRolledBack", "Cause": "canary FAIL"}},
            },
        ]
    }
    codedeploy_check = {
        "cluster": "prod",
        "service": "web",
        "rollout": {
            **update,
            "ecsDeploymentId": "d-FUZZ00001",
            "codeDeploy": {
                "application": "AppECS-prod-web",
                "deploymentGroup": "DgpECS-prod-web",
                "deploymentId": "d-FUZZ00001",
                "rollback": False,
            },
        },
    }
    prefix = f"arn:aws:ecs:{REGION}:{ACCOUNT}"
    green = f"{prefix}:service-revision/prod/web/2637021523716452836"
    blue = f"{prefix}:service-revision/prod/web/4980306466373577095"
    ecs_hook = {
        "executionId": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
        "lifecycleStage": "POST_PRODUCTION_TRAFFIC_SHIFT",
        "resourceArn": f"{prefix}:service-deployment/prod/web/Jx3gHK0LuZSSIN3ZqAnYn",
        "executionDetails": {
            "serviceArn": f"{prefix}:service/prod/web",
            "targetServiceRevisionArn": green,
            "testTrafficWeights": {},
            "productionTrafficWeights": {green: 100.0, blue: 0.0},
        },
        "hookDetails": {
            "deadlineSeconds": 20,
            "hooks": {
                "POST_PRODUCTION_TRAFFIC_SHIFT": {
                    "probes": [
                        {
                            "name": "health",
                            "url": f"{berth.url}/_berth/health",
                            "expectStatus": 200,
                            "latencyBudgetMs": 2000,
                            "requests": 1,
                        }
                    ],
                    "canary": canary_config(),
                }
            },
        },
    }
    ecs_hook_details = copy.deepcopy(ecs_hook["executionDetails"])

    def ecs_hook_rules(d):
        # a rollback is answered before the configuration is read: only forward shifts must refuse
        if (
            not isinstance(d, dict)
            or d.get("executionDetails") != ecs_hook_details
            or d.get("lifecycleStage") != ecs_hook["lifecycleStage"]
            or d.get("executionId") != ecs_hook["executionId"]
        ):
            return []
        return hook_config_problems(d.get("hookDetails"))

    def push_rules(d):
        detail = lookup(d, ("request", "detail")) if "request" in (d or {}) else lookup(d, ("detail",))
        if isinstance(detail, dict) and isinstance(detail.get("image-digest"), str):
            p = digest_problem("x@" + detail["image-digest"])
            return [p] if p else []
        return []

    # the release gates (check-gates): a weekend freeze in Berlin and a scan with one LOW finding
    berth.control(
        "scan-findings",
        {
            "repository": "web",
            "digest": NEW,
            "tag": "v2",
            "findings": [{"id": "CVE-2026-0009", "severity": "LOW", "package": "zlib"}],
        },
    )
    freeze = [
        {
            "source": "service web tag berth:freeze",
            "timeZone": "Europe/Berlin",
            "windows": ["Fri 18:00 - Mon 06:00", "2026-12-24T00:00 - 2027-01-02T00:00"],
            "onFreeze": "wait",
        }
    ]
    gates = [
        Base(
            "check-gates (freeze)",
            "check-gates",
            {
                "gate": "freeze",
                "document": {**item, "freeze": freeze, "overrideFreeze": {"reason": "fuzz", "by": "fuzz"}},
            },
            focus=(
                ("gate",),
                ("document", "cluster"),
                ("document", "service"),
                ("document", "freeze"),
                ("document", "overrideFreeze"),
            ),
        ),
        Base(
            "check-gates (scan)",
            "check-gates",
            {
                "gate": "scan",
                "document": {**item, "scan": {"threshold": "HIGH", "onNoScan": "refuse", "maxWaitSeconds": 60}},
            },
            focus=(
                ("gate",),
                ("document", "image"),
                ("document", "scan"),
                ("document", "scanResult"),
                ("document", "pollIntervalSeconds"),
            ),
        ),
    ]
    bases = gates + [
        Base(
            "plan-deployment (console)",
            "plan-deployment",
            plan_console,
            rules=lambda d: request_problems(d.get("request"), alarms) if isinstance(d, dict) else [],
        ),
        Base(
            "plan-deployment (ECR push)",
            "plan-deployment",
            {"request": ecr_push_event("web", NEW, "v2"), "execution": execution},
            rules=push_rules,
            skip_ok=True,
        ),
        Base("acquire-turn", "acquire-turn", item, focus=tuple((k,) for k in item if k != "canary")),
        Base("check-stability (ECS)", "check-stability", check),
        Base("check-stability (CodeDeploy)", "check-stability", codedeploy_check),
        Base(
            "evaluate-canary (first)",
            "evaluate-canary",
            canary_first,
            rules=lambda d: canary_problems(d.get("canary"), None) if isinstance(d, dict) else [],
            focus=(("canary",),),
        ),
        Base(
            "evaluate-canary (next)",
            "evaluate-canary",
            canary_next,
            rules=lambda d: canary_problems(d.get("canary"), None) if isinstance(d, dict) else [],
            focus=(("canaryResult",), ("canary", "bakeSeconds")),
        ),
        Base(
            "summarize",
            "summarize",
            summarize,
            focus=tuple(("results", "*", k) for k in ("cluster", "service", "outcome"))
            + (("results", "*", "detail", "error"),),
        ),
        Base(
            "ecs-hook",
            "ecs-hook",
            ecs_hook,
            rules=ecs_hook_rules,
            slow=(("hookDetails", "hooks", "*", "probes", "*", "requests"),),
        ),
        Base(
            "register-revision",
            "register-revision",
            doc_without(doc, "register", "update", "stability"),
            rules=lambda d: [p for p in [digest_problem(d.get("image"))] if p] if isinstance(d, dict) else [],
            focus=tuple((k,) for k in ("deploymentId", "cluster", "service", "container", "image")),
        ),
        Base(
            "update-service",
            "update-service",
            doc_without(doc, "update", "stability"),
            focus=tuple(
                (k,) for k in ("deploymentId", "cluster", "service", "register", "forceNewDeployment", "timeoutSeconds")
            ),
        ),
        Base(
            "rollback",
            "rollback",
            rollback,
            focus=tuple(
                (k,) for k in ("deploymentId", "cluster", "service", "register", "update", "rollbackTimeoutSeconds")
            ),
        ),
        Base(
            "codedeploy-hook",
            "codedeploy-hook",
            {"DeploymentId": "d-FUZZ00001", "LifecycleEventHookExecutionId": "4d8a2d0c-fuzz-hook-execution"},
        ),
        Base(
            "start-deployment",
            "start-deployment",
            ecr_push_event("fuzz-unmapped", digest_of("fuzz push"), "v1"),
            rules=push_rules,
            skip_ok=True,
        ),
    ]
    for b in bases:
        assert not b.problems(b.doc), (b.name, b.problems(b.doc))
    return bases


def doc_without(doc: dict, *keys: str) -> dict:
    return {k: v for k, v in doc.items() if k not in keys}


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


def targeted(base: Base, rng: random.Random) -> list[Case]:
    """The same mutations for every base: roots, invalid JSON, depth, 1e999, size; then every
    number, every key of an object berth reads strictly, every digest and every special field."""
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


@dataclass
class Tally:
    calls: int = 0
    ok: int = 0
    changed: int = 0  # successful calls that changed AWS (register, update, rollback, start: expected)
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

MUTATING = {"register-revision", "update-service", "rollback", "start-deployment", "codedeploy-hook"}


def test_every_handler_answers_mutated_input_with_a_result_or_a_berth_error_and_changes_nothing_on_error(berth, capsys):
    names = berth_error_names()
    rng = random.Random(SEED)
    bases = build_bases(berth)
    plan = {b.name: targeted(b, rng) for b in bases}
    n_targeted = sum(len(c) for c in plan.values())
    per_handler = max(20, math.ceil((COUNT - n_targeted) / len(HANDLERS)))
    for f in HANDLERS:
        mine = [b for b in bases if b.function == f]
        for i in range(per_handler):
            plan[mine[i % len(mine)].name].append(random_case(mine[i % len(mine)], rng))
    total = sum(len(c) for c in plan.values())
    assert total >= min(COUNT, 1000), total

    tallies: dict[str, Tally] = defaultdict(Tally)
    with open(LOG, "w") if LOG else contextlib.nullcontext() as log:
        t0 = time.monotonic()
        # read-only handlers first, with ECS steady: any change at all during their batch is theirs
        ordered = sorted(bases, key=lambda b: b.function in MUTATING)
        for base in ordered:
            tally = tallies[base.function]
            mutating = base.function in MUTATING
            batch_before = aws_snapshot(berth, tags=False)
            before = batch_before
            started = time.monotonic()
            for case in plan[base.name]:
                t_call = time.monotonic()
                try:
                    status, answer = invoke_raw(berth, base.function, case.body, timeout=CALL_TIMEOUT)
                except requests.RequestException as e:
                    status, answer = 0, f"{type(e).__name__}: {e}"
                took = time.monotonic() - t_call
                if took > tally.slowest[0]:
                    tally.slowest = (took, f"{base.name}: {case.what[:80] or '(as is)'}")
                tally.calls += 1
                if status == 200:
                    tally.ok += 1
                else:
                    tally.errors[answer.get("errorType") if isinstance(answer, dict) else f"HTTP {status}"] += 1
                problems = judge(case, status, answer, names)
                if mutating:
                    after = aws_snapshot(berth, tags=False)
                    changes = aws_changes(before, after, strict=False)
                    if status != 200 and changes:
                        problems.append("error after changing AWS: " + "; ".join(changes)[:400])
                    tally.changed += status == 200 and bool(changes)
                    before = after
                for p in problems:
                    tally.violations.append((base.name, case.what or "(as is)", p, describe_answer(status, answer)))
                if log:
                    log.write(
                        json.dumps(
                            {
                                "base": base.name,
                                "input": case.what,
                                "bytes": len(case.body),
                                "mustRefuse": case.must_refuse,
                                "status": status,
                                "answer": describe_answer(status, answer),
                                "changes": changes if mutating else None,
                                "problems": problems,
                                "seconds": round(took, 3),
                            }
                        )
                        + "\n"
                    )
            if not mutating:
                changes = aws_changes(batch_before, aws_snapshot(berth, tags=False), strict=True)
                for c in changes:
                    tally.violations.append((base.name, "(the batch)", f"a read-only handler changed AWS: {c}", ""))
            tally.seconds += time.monotonic() - started
        elapsed = time.monotonic() - t0

    lines = [
        f"fuzz: seed {SEED}, {total} inputs ({n_targeted} targeted + {total - n_targeted} random) in {elapsed:.1f}s"
    ]
    lines.append(f"{'handler':<20}{'calls':>6}{'ok':>6}{'ok+chg':>7}{'viol.':>7}{'secs':>7}{'max s':>7}  errors")
    for f in HANDLERS:
        t = tallies[f]
        errs = ", ".join(f"{k} {v}" for k, v in t.errors.most_common())
        lines.append(
            f"{f:<20}{t.calls:>6}{t.ok:>6}{t.changed:>7}{len(t.violations):>7}{t.seconds:>7.1f}"
            f"{t.slowest[0]:>7.2f}  {errs}"
        )
    slow = max((tallies[f].slowest for f in HANDLERS), default=(0.0, ""))
    lines.append(f"slowest call: {slow[0]:.2f}s ({slow[1]})")
    violations = [v for f in HANDLERS for v in tallies[f].violations]
    grouped: dict[tuple, list] = defaultdict(list)
    for base, what, problem, answer in violations:
        key = (base, re.sub(r"'[^']*'|\d+", "_", problem)[:120])
        grouped[key].append((what, problem, answer))
    report = []
    for (base, _), items in sorted(grouped.items()):
        what, problem, answer = items[0]
        report.append(
            f"- [{base}] x{len(items)} {problem[:300]}\n    e.g. input: {what[:200]}\n    answer: {answer[:300]}"
        )
    with capsys.disabled():
        print("\n" + "\n".join(lines), flush=True)
        if report:
            print(f"{len(violations)} violation(s) in {len(grouped)} group(s):\n" + "\n".join(report), flush=True)
    assert sum(t.calls for t in tallies.values()) == total
    assert not violations, f"{len(violations)} violation(s) in {len(grouped)} group(s):\n" + "\n".join(report)


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
