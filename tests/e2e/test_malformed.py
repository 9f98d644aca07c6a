"""Malformed input generated from the contracts, not listed by hand (issue P12).

Two contracts say what berth accepts, and this file turns each into malformed cases, so that a new
field or tag gets its cases without anyone writing them:

- `schema/request.schema.json`, the console request. From one valid request per shape (a deploy
  with every optional block, a rollback by hand, a release in waves; every property with a default
  filled in), each field of the schema gets what applies to it: missing (when required), empty,
  blank, wrong type, out of range (1e999 sent as raw JSON where a number is expected), too long;
  `jsonschema` confirms each INVALID, and a case the schema accepts is skipped and counted. Then
  what a schema cannot say ("semantic" cases): foreign identity (an ARN of another account or
  region), duplicate (a release naming one service twice, by name and by ARN), reference (a
  cluster, service, container, alarm or task definition that does not exist), and a migration
  command over ECS's 8192-character override limit. A field is generated once: the same property,
  with the same schema, in the next item of a list or in a release entry, is the same field.
- `schema/tags.json`, the berth:* service tags. A service tagged berth:repository, the tag's `with`
  tags and the tag at its `example` must be valid (Plan accepts it, pushed); then every tag not set
  by berth gets: empty, blank, wrong kind, out of range, too long (within ECS's 256-character tag
  values), alone without its `needs`, a misspelt key, a reference to nothing. A small checker of
  the table's rules confirms each INVALID. Each runs as an ECR push to start-deployment, as the
  template's rule delivers it, of the repository of a service of its own, so Plan reads its tags.

Every case is a real execution of the real state machine, started in batches on the shared
stack, and must end FAILED with one of berth's error names (never `States.*` or an AWS
exception's) and change nothing: ECS, ECR, CodeDeploy, SSM and both state machines' executions
(no child execution) are compared around each batch. A change is the case's whose execution
started the child execution, or whose service changed; one no case owns by name has the batch's
cases run again one by one to name the culprit. Every valid input carries an approval gate
(berth:approval=required for the tags, but berth:approval's own cases), so a case wrongly let
through starts a child execution that waits at the gate instead of deploying under the others.
The assertion lists every case not refused as required, with its class and what happened; the
counts by class and by outcome are printed at the end.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from .harness import (
    ACCOUNT,
    REGION,
    REGISTRY,
    ROOT,
    STATE_MACHINE,
    STATE_MACHINE_ARN,
    aws_changes,
    aws_snapshot,
    berth_error_names,
    children_of,
    digest_of,
    ecr_push_event,
    wait_until,
)

SCHEMA: dict = json.loads((ROOT / "schema" / "request.schema.json").read_text())
TAG_TABLE: list[dict] = json.loads((ROOT / "schema" / "tags.json").read_text())["tags"]
VALIDATOR = Draft202012Validator(SCHEMA)

# Another account and another region than the installation's (harness ACCOUNT / REGION).
FOREIGN_ACCOUNT = "210987654321"
FOREIGN_REGION = "us-west-2"
# ECS: a RunTask's overrides hold at most 8192 characters; a tag value at most 256, of letters,
# digits, spaces and _ . : / = + - @.
ECS_OVERRIDE_LIMIT = 8192
ECS_TAG_VALUE = re.compile(r"[\w .:/=+\-@]{0,256}")
ECS_TAG_KEY_LIMIT = 128

CLASSES = (
    "missing",
    "empty",
    "blank",
    "wrong type",
    "out of range",
    "too long",
    "foreign identity",
    "duplicate",
    "misspelt key",
    "needs",
    "reference",
)
SEMANTIC = {"foreign identity", "duplicate", "reference"}
OUTCOMES = ("refused as required", "changed something", "foreign error", "accepted")

OLD = digest_of("malformed v1")
NEW = digest_of("malformed v2")
ALARM = "web-5xx"
DEPLOY_SERVICE = "web"
ROLLBACK_SERVICE = "web-rb"
RELEASE_SERVICES = ("shop-api", "shop-worker", "shop-jobs")
MIGRATION_FAMILY = "web-migrate"
DIMS = {"TargetGroup": "targetgroup/web/0123456789abcdef", "LoadBalancer": "app/berth-local/0123456789abcdef"}

# How long one batch may take (each execution should end at Plan in about a second), and one case
# run alone to name a culprit.
BATCH_DEADLINE_SECONDS = 45
SOLO_DEADLINE_SECONDS = 15
CONSOLE_BATCH = 120
# Services for the push cases (one case each per batch), and those of them behind a target group.
PUSH_SLOTS = 30
PUSH_SLOTS_LB = 6


# ---------------------------------------------------------------------- the valid requests


def spec(metric: str, stat: str = "Sum") -> dict:
    return {"namespace": "AWS/ApplicationELB", "metricName": metric, "stat": stat, "dimensions": dict(DIMS)}


def deploy_request() -> dict:
    """A deploy with every optional block: a canary with metric math, a single metric, a metric
    compared with the old revision (and so `analysis`), and an alarm; approval, migration, scan,
    overrideFreeze, stopThenStart. The approval gate also holds any case wrongly let through
    before it touches the service (it still starts a child execution: a change)."""
    return {
        "cluster": "prod",
        "service": DEPLOY_SERVICE,
        "container": "app",
        "image": f"{REGISTRY}/web@{NEW}",
        "forceNewDeployment": False,
        "timeoutSeconds": 120,
        "pollIntervalSeconds": 1,
        "rollbackTimeoutSeconds": 120,
        "canary": {
            "bakeSeconds": 2,
            "intervalSeconds": 1,
            "windowSeconds": 120,
            "onInconclusive": "promote",
            "analysis": {
                "baseline": {
                    "source": "dimensions",
                    "dimensions": {"TargetGroup": "targetgroup/web-old/0123456789abcdef"},
                },
                "confidence": 0.99,
                "passScore": 90,
                "marginalScore": 75,
            },
            "metrics": [
                {
                    "name": "5xx rate %",
                    "expression": "100 * FILL(errors, 0) / requests",
                    "metrics": {"errors": spec("HTTPCode_Target_5XX_Count"), "requests": spec("RequestCount")},
                    "threshold": 5,
                    "comparison": "GreaterThanThreshold",
                    "minDataPoints": 1,
                    "datapointsToFail": 1,
                    "period": 60,
                },
                {"name": "p99 latency", "metric": spec("TargetResponseTime", "p99"), "threshold": 1.0},
                {
                    "name": "p99 against the old revision",
                    "metric": spec("TargetResponseTime", "p99"),
                    "compare": {
                        "direction": "increase",
                        "tolerance": 0.2,
                        "minShift": 0.01,
                        "critical": True,
                        "mustHaveData": False,
                        "dryRun": False,
                        "weight": 2,
                    },
                },
            ],
            "alarms": [ALARM],
        },
        "approval": {"timeoutSeconds": 3600},
        "migration": {
            "command": ["bin/migrate", "up"],
            "taskDefinition": f"{MIGRATION_FAMILY}:1",
            "container": "app",
            "timeoutSeconds": 600,
        },
        "stopThenStart": {"timeoutSeconds": 900},
        "scan": {"threshold": "HIGH", "onNoScan": "allow", "maxWaitSeconds": 0},
        "overrideFreeze": {"reason": "hotfix", "by": "e2e"},
    }


def rollback_request() -> dict:
    """A rollback by hand to the service's previous revision (it runs :2), held at the approval
    gate like the deploy."""
    return {
        "cluster": "prod",
        "service": ROLLBACK_SERVICE,
        "container": "app",
        "taskDefinition": f"{ROLLBACK_SERVICE}:1",
        "approval": {"timeoutSeconds": 3600},
    }


def release_request() -> dict:
    """A release of three services in two waves, each held at the approval gate: the first with
    every block the deploy has, the last rolled back by hand."""
    first = {**deploy_request(), "service": RELEASE_SERVICES[0], "image": f"{REGISTRY}/shop@{NEW}", "wave": 1}
    worker = {
        "cluster": "prod",
        "service": RELEASE_SERVICES[1],
        "container": "app",
        "image": f"{REGISTRY}/shop@{NEW}",
        "wave": 2,
        "approval": {"timeoutSeconds": 3600},
    }
    # back to the revision it ran before, by hand, in the same wave
    jobs = {k: v for k, v in worker.items() if k != "image"}
    jobs |= {"service": RELEASE_SERVICES[2], "taskDefinition": f"{RELEASE_SERVICES[2]}:1"}
    return {"release": {"name": "shop", "services": [first, worker, jobs]}}


# ---------------------------------------------------------------------- reading the schema


def resolve(s: Any) -> dict:
    """A schema node with its `$ref` followed (the node's own keywords kept over the target's)."""
    if not isinstance(s, dict):
        return {}
    while "$ref" in s:
        name = s["$ref"].removeprefix("#/$defs/")
        s = {**SCHEMA["$defs"][name], **{k: v for k, v in s.items() if k != "$ref"}}
    return s


@cache
def _validator(text: str) -> Draft202012Validator:
    return Draft202012Validator({**json.loads(text), "$defs": SCHEMA["$defs"]})


def valid_for(value: Any, s: dict) -> bool:
    return _validator(json.dumps(s, sort_keys=True)).is_valid(value)


def alternatives(s: dict) -> list[dict]:
    """The branches of a node's anyOf/oneOf that are alternative types (`[X, null]`, one of two
    consts), each merged with the node's other keywords; [] when its branches only constrain (a
    `required` choice, a range)."""
    for keyword in ("anyOf", "oneOf"):
        branches = s.get(keyword) or []
        if any(isinstance(b, dict) and ("$ref" in b or "type" in b or "const" in b) for b in branches):
            rest = {k: v for k, v in s.items() if k != keyword}
            return [{**rest, **resolve(b)} for b in branches]
    return []


def pick(s: Any, value: Any) -> dict:
    """The node as it applies to `value`: the first alternative that accepts it."""
    s = resolve(s)
    alts = alternatives(s)
    for alt in alts:
        if valid_for(value, alt):
            return pick(alt, value)
    return s


def types_of(s: Any) -> set[str]:
    """The JSON types a node allows (its alternatives' too)."""
    s = resolve(s)
    kinds = s.get("type")
    out = {kinds} if isinstance(kinds, str) else set(kinds or [])
    for k in ("anyOf", "oneOf"):
        for b in s.get(k) or []:
            out |= types_of(b)
    return out


def allows_null(s: Any) -> bool:
    return "null" in types_of(s)


def required_names(s: dict) -> set[str]:
    """Names an object must have: `required`, and the `required` of its anyOf/oneOf/allOf
    branches and if/then/else (whether the schema then insists depends on the rest: the
    validator decides)."""
    out = set(s.get("required") or [])
    for k in ("anyOf", "oneOf", "allOf"):
        for b in s.get(k) or []:
            out |= required_names(resolve(b))
    for k in ("then", "else"):
        if isinstance(s.get(k), dict):
            out |= required_names(resolve(s[k]))
    return out


def bounds(s: dict) -> list[tuple[str, float]]:
    """(keyword, bound) of a number: the node's and its constraining branches' (a `period` is 1, 5,
    10, 30 or a multiple of 60 from 60 to 86400)."""
    nodes = [s] + [resolve(b) for k in ("anyOf", "oneOf") for b in s.get(k) or []]
    kinds = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
    return [(k, n[k]) for n in nodes for k in kinds if isinstance(n.get(k), int | float)]


def string_choices(s: dict) -> list[str]:
    """The strings an enum (or a oneOf of consts) allows."""
    out = [v for v in s.get("enum") or [] if isinstance(v, str)]
    if isinstance(s.get("const"), str):
        out.append(s["const"])
    for k in ("anyOf", "oneOf"):
        for b in s.get(k) or []:
            out += string_choices(resolve(b))
    return out


def definition_of(s: Any, value: Any) -> str | None:
    """The `$defs` entry a node names (itself, or the alternative that accepts `value`)."""
    if not isinstance(s, dict):
        return None
    if "$ref" in s:
        return s["$ref"].removeprefix("#/$defs/")
    for k in ("anyOf", "oneOf"):
        for b in s.get(k) or []:
            if isinstance(b, dict) and "$ref" in b and valid_for(value, resolve(b)):
                return b["$ref"].removeprefix("#/$defs/")
    return None


@dataclass
class Field:
    """One value of a valid request, with the schema that describes it."""

    path: tuple  # keys and list indexes from the request's root
    # the field of the schema: its definition and the path within it, list items and map values
    # as `[*]` and `.*` (`CanaryConfig.metrics[*]`, `MetricSpec.dimensions.*`)
    general: str
    schema: dict  # the value's node, resolved and picked for this value
    declared: dict  # the node as declared (before picking: whether null is allowed)
    value: Any
    required: bool
    keyed: bool  # a property of an object with fixed properties (not a map value or list item)


def walk(value: Any, s: Any = None, path: tuple = (), general: str | None = None) -> Iterator[Field]:
    """Every value of a request (from its root: `s` None), with the field of the schema it is."""
    if s is None:
        s, general = SCHEMA, definition_of(SCHEMA, value)
    s = pick(s, value)
    if isinstance(value, dict):
        props = s.get("properties") or {}
        required = required_names(s)
        for k, v in value.items():
            if k in props:
                sub, gen, keyed = props[k], f"{general}.{k}", True
            elif isinstance(s.get("additionalProperties"), dict):
                sub, gen, keyed = s["additionalProperties"], f"{general}.*", False
            else:
                continue
            yield Field(path + (k,), gen, pick(sub, v), resolve(sub), v, k in required, keyed)
            yield from walk(v, sub, path + (k,), definition_of(sub, v) or gen)
    elif isinstance(value, list) and isinstance(s.get("items"), dict):
        items = s["items"]
        for i, v in enumerate(value):
            gen = f"{general}[*]"
            yield Field(path + (i,), gen, pick(items, v), resolve(items), v, False, False)
            yield from walk(v, items, path + (i,), definition_of(items, v) or gen)


def schema_fields() -> set[str]:
    """Every field the schema describes, named as `walk` names them: the properties of each
    definition, and of the objects, lists and maps it holds inline."""
    out: set[str] = set()

    def inline(s: Any, general: str) -> None:
        if not isinstance(s, dict) or "$ref" in s:
            return
        for node in [s] + [b for k in ("anyOf", "oneOf") for b in s.get(k) or [] if isinstance(b, dict)]:
            for k, sub in (node.get("properties") or {}).items():
                if node is not s and k in (s.get("properties") or {}):
                    continue  # a branch's constraint on a property of the node itself
                out.add(f"{general}.{k}")
                inline(sub, f"{general}.{k}")
            if isinstance(node.get("additionalProperties"), dict):
                out.add(f"{general}.*")
                inline(node["additionalProperties"], f"{general}.*")
            if isinstance(node.get("items"), dict):
                out.add(f"{general}[*]")
                inline(node["items"], f"{general}[*]")

    for name, definition in SCHEMA["$defs"].items():
        inline(definition, name)
    return out


def fill_defaults(value: Any, s: Any) -> Any:
    """The request with every property the schema gives a (non-null) default and the request
    leaves out set to that default: a new field with a default is covered without anyone adding
    it to the valid requests."""
    s = pick(s, value)
    if isinstance(value, dict):
        props = s.get("properties") or {}
        out = {}
        for k, v in value.items():
            sub = props.get(k, s.get("additionalProperties"))
            out[k] = fill_defaults(v, sub) if isinstance(sub, dict) else v
        for k, sub in props.items():
            default = resolve(sub).get("default")
            if k not in out and default is not None and default != {} and default != []:
                out[k] = copy.deepcopy(default)
        return out
    if isinstance(value, list) and isinstance(s.get("items"), dict):
        return [fill_defaults(v, s["items"]) for v in value]
    return value


@cache
def baselines() -> dict[str, dict]:
    return {
        shape: fill_defaults(make(), SCHEMA)
        for shape, make in (("deploy", deploy_request), ("rollback", rollback_request), ("release", release_request))
    }


# ---------------------------------------------------------------------- request cases


@dataclass
class Case:
    contract: str  # "request" (schema/request.schema.json) or "tags" (schema/tags.json)
    shape: str  # deploy, rollback, release; push for the tags
    cls: str  # one of CLASSES
    what: str
    request: Any = None
    raw: str | None = None  # the request as text, for what json.dumps cannot write (1e999)
    tags: dict[str, str] | None = None  # the service's tags (push), REPOSITORY for its repository
    tag: str = ""  # the tag a push case is about
    semantic: bool = False  # what the contract cannot say: refused by Plan's own checks

    @property
    def name(self) -> str:
        return f"{self.shape} {self.what}"


def at(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def changed(doc: Any, path: tuple, value: Any = None, *, drop: bool = False, rename: str | None = None) -> Any:
    """A copy of `doc` with the value at `path` replaced, dropped, or its key renamed."""
    out = copy.deepcopy(doc)
    parent, last = at(out, path[:-1]), path[-1]
    if rename is not None:
        parent[rename] = parent.pop(last)
    elif drop:
        del parent[last]
    else:
        parent[last] = value
    return out


def show(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def short(value: Any, limit: int = 40) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def arn(kind: str, name: str, *, account: str = ACCOUNT, region: str = REGION) -> str:
    return f"arn:aws:ecs:{region}:{account}:{kind}/{name}"


# Fields whose value names an ECS resource, by key: the resource kind of its ARN.
IDENTITY_KEYS = {"cluster": "cluster", "service": "service", "taskDefinition": "task-definition"}


def identity_arn(doc: Any, f: Field, **where: str) -> str:
    """The field's resource as an ARN (`where`: another account or region)."""
    key = f.path[-1]
    name = str(f.value).rsplit("/", 1)[-1] if str(f.value).startswith("arn:") else str(f.value)
    if key == "service":
        cluster = str(at(doc, f.path[:-1] + ("cluster",))).rsplit("/", 1)[-1]
        name = f"{cluster}/{name}"
    return arn(IDENTITY_KEYS[str(key)], name, **where)


def references(doc: Any, f: Field) -> list[tuple[str, Any]]:
    """(what, value) naming something that does not exist, for fields that name a resource."""
    key = f.path[-1]
    if f.general.endswith("alarms[*]"):
        return [("an alarm that does not exist", "no-such-alarm")]
    if key == "cluster":
        return [("a cluster that does not exist", "no-such-cluster")]
    if key == "service":
        return [("a service that does not exist", "no-such-service")]
    if key == "container":
        return [("a container the task definition does not have", "no-such-container")]
    if key == "taskDefinition" and isinstance(f.value, str):
        family = f.value.rsplit("/", 1)[-1].split(":")[0]
        return [
            ("a revision that does not exist", f"{family}:999"),
            ("a family that does not exist", "no-such-family:1"),
        ]
    return []


def value_cases(f: Field) -> Iterator[tuple[str, str, Any]]:
    """(class, what, value) for one field's value, by its type and its schema."""
    v, s = f.value, f.schema
    if isinstance(v, str):
        if v:
            yield "empty", '""', ""
        if v.strip():
            yield "blank", '"   "', "   "
        yield "wrong type", "a number", 42
        choices = string_choices(f.declared)
        if choices:
            wrong = v[:-1] if v[:-1] not in choices else v + "x"
            yield "wrong type", f"{wrong!r}, not one of {choices}", wrong
        if isinstance(s.get("maxLength"), int):
            yield "too long", f"maxLength+1 ({s['maxLength'] + 1} chars)", longer(v, s["maxLength"] + 1)
    elif isinstance(v, bool):
        yield "wrong type", "a string", str(v).lower()
    elif isinstance(v, int | float):
        yield "wrong type", "a string", str(v)
        if isinstance(v, int) and "integer" in types_of(f.declared):
            yield "wrong type", "a fraction", v + 0.5
        for keyword, bound in bounds(s):
            edge = {"minimum": ("minimum-1", bound - 1), "maximum": ("maximum+1", bound + 1)}
            label, out = edge.get(keyword, (keyword, bound))
            yield "out of range", f"{label} ({out})", out
    elif isinstance(v, dict):
        if v:
            yield "empty", "{}", {}
        yield "wrong type", "a string", "x"
        if isinstance(s.get("maxProperties"), int) and v:
            first = next(iter(v.values()))
            grown = dict(v)
            for i in range(s["maxProperties"] + 1 - len(v)):
                grown[f"Extra{i}"] = copy.deepcopy(first)
            yield "too long", f"maxProperties+1 ({len(grown)} entries)", grown
        limit = (s.get("propertyNames") or {}).get("maxLength")
        if isinstance(limit, int) and v:
            first_key = next(iter(v))
            renamed = {("k" * (limit + 1) if k == first_key else k): x for k, x in v.items()}
            yield "too long", f"a name of maxLength+1 ({limit + 1} chars)", renamed
    elif isinstance(v, list):
        if v:
            yield "empty", "[]", []
        yield "wrong type", "a string", v[0] if v and isinstance(v[0], str) else "x"
        if isinstance(s.get("maxItems"), int) and v:
            grown_list = (v * (s["maxItems"] + 1))[: s["maxItems"] + 1]
            yield "too long", f"maxItems+1 ({len(grown_list)} items)", copy.deepcopy(grown_list)
    if f.required and not allows_null(f.declared):
        yield "wrong type", "null", None


def longer(v: str, n: int) -> str:
    """`v` grown to n characters, where its grammar allows more (an image's repository path)."""
    if "@sha256:" in v:
        repo, digest = v.split("@", 1)
        return repo + "/" + "a" * max(1, n - len(v) - 1) + "@" + digest
    return v + "x" * (n - len(v))


def semantic_cases(doc: Any, f: Field) -> Iterator[tuple[str, str, Any]]:
    """(class, what, value) for what a schema cannot say about one field."""
    key = f.path[-1]
    if key in IDENTITY_KEYS and isinstance(f.value, str):
        yield "foreign identity", f"ARN of account {FOREIGN_ACCOUNT}", identity_arn(doc, f, account=FOREIGN_ACCOUNT)
        yield "foreign identity", f"ARN of region {FOREIGN_REGION}", identity_arn(doc, f, region=FOREIGN_REGION)
    for what, value in references(doc, f):
        yield "reference", what, value
    if key == "command" and isinstance(f.value, list):
        word = "x" * (ECS_OVERRIDE_LIMIT + 1)
        yield "too long", f"a word of {len(word)} chars (ECS's override limit {ECS_OVERRIDE_LIMIT})", [*f.value, word]
        yield "too long", "200,000 chars", [*f.value, "y" * 200_000]


def duplicate_cases(doc: Any, f: Field) -> Iterator[tuple[str, Any]]:
    """(what, list) for a list of services: one named twice, as it is, by cluster ARN, by service ARN."""
    items = f.value
    if not (isinstance(items, list) and items and all(isinstance(i, dict) for i in items)):
        return
    first = items[0]
    if not {"cluster", "service"} <= set(first):
        return
    cluster = str(first["cluster"])
    again = copy.deepcopy(first)
    yield "the first service twice", [*items, again]
    yield (
        "the first service again by cluster ARN",
        [*items, {**again, "cluster": arn("cluster", cluster)}],
    )
    yield (
        "the first service again by service ARN",
        [*items, {**again, "service": arn("service", f"{cluster}/{first['service']}")}],
    )


def placeholder_raw(doc: Any, path: tuple, text: str) -> tuple[Any, str]:
    """The request with raw JSON `text` at `path` (1e999): (the value Python reads, the text sent)."""
    token = "@@raw@@"
    with_token = changed(doc, path, token)
    sent = json.dumps(with_token).replace(json.dumps(token), text, 1)
    return json.loads(sent), sent


@dataclass
class Generated:
    cases: list[Case] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "shape what" the contract accepts
    gaps: list[str] = field(default_factory=list)  # what the contract does not say that a case needs


class ShapeCases:
    """The cases of one valid request, each field of the schema once (`seen`, shared by the shapes):
    a field met again, in the next item of a list or in another request, is the same field; so is
    a property of the same name and schema in another definition (a release entry's `cluster` is a
    request's), but for what the schema cannot say, which depends on where the field is."""

    def __init__(self, shape: str, out: Generated, seen: set[tuple]):
        self.shape, self.out, self.seen = shape, out, seen

    def add(self, f: Field, cls: str, what: str, request: Any, raw: str | None = None) -> None:
        may_be_semantic = cls in SEMANTIC or (cls == "too long" and f.path[-1] == "command") or raw is not None
        same = (f.general,) if may_be_semantic or not f.keyed else (f.path[-1], json.dumps(f.declared, sort_keys=True))
        if (*same, cls, what) in self.seen:
            return
        self.seen.add((*same, cls, what))
        label = f"{show(f.path)}: {what}"
        # the schema accepts it: a semantic case if it is one (for the schema cannot say it),
        # else skipped and counted
        accepted = VALIDATOR.is_valid(request)
        if accepted and not may_be_semantic:
            self.out.skipped.append(f"{self.shape} {label}")
            return
        self.out.cases.append(Case("request", self.shape, cls, label, request=request, raw=raw, semantic=accepted))


@cache
def request_cases() -> Generated:
    out = Generated()
    seen: set[tuple] = set()
    for shape, doc in baselines().items():
        assert VALIDATOR.is_valid(doc), f"the {shape} request is not valid: {list(VALIDATOR.iter_errors(doc))[:1]}"
        add = ShapeCases(shape, out, seen).add
        for f in walk(doc):
            if f.required and f.keyed:
                add(f, "missing", "missing", changed(doc, f.path, drop=True))
            for cls, what, value in value_cases(f):
                add(f, cls, what, changed(doc, f.path, value))
            if isinstance(f.value, float | int) and "number" in types_of(f.declared):
                request, raw = placeholder_raw(doc, f.path, "1e999")
                add(f, "out of range", "1e999 (not finite)", request, raw)
            for cls, what, value in semantic_cases(doc, f):
                add(f, cls, what, changed(doc, f.path, value))
            for what, value in duplicate_cases(doc, f):
                add(f, "duplicate", what, changed(doc, f.path, value))
            # a grammar (an anchored pattern) or a list of choices bounds a string; `\S` (not blank) does not
            grammar = str(f.schema.get("pattern", "")).startswith("^")
            if isinstance(f.value, str) and not ("maxLength" in f.schema or grammar or string_choices(f.schema)):
                gap = f"{f.general}: a string without maxLength"
                if gap not in out.gaps:
                    out.gaps.append(gap)
    return out


# ---------------------------------------------------------------------- the tags contract

# The repository a case's service is tagged with (tags.json's example); each case runs on a
# service of its own, so the repository it pushes is that service's (`web-t007`).
REPOSITORY = "web"
NAME_CHARS = re.compile(r"[A-Za-z0-9\-_./:@+]+")
TAGS_BY_KEY = {t["key"]: t for t in TAG_TABLE}


def tag_problems(tags: dict[str, str]) -> list[str]:
    """What the tags contract (schema/tags.json's "//") refuses in a service's tags; [] when valid."""
    out = []
    for key, value in tags.items():
        if not key.startswith("berth:"):
            continue
        t = TAGS_BY_KEY.get(key)
        if t is None:
            out.append(f"{key}: no such berth:* tag")
            continue
        if t.get("setBy") == "berth":
            continue
        if value.strip() == "":
            out.append(f"{key}: empty or blank")
            continue
        if not kind_ok(t, value):
            out.append(f"{key}={value!r}: not a valid {t['value']}")
        for need in t.get("needs") or []:
            if need not in tags:
                out.append(f"{key} without {need}")
    return out


def kind_ok(t: dict, value: str) -> bool:
    def in_range(n: float) -> bool:
        return t.get("min", float("-inf")) <= n <= t.get("max", float("inf"))

    kind = t["value"]
    if kind == "integer":
        return bool(re.fullmatch(r"[0-9]+", value)) and in_range(int(value))
    if kind == "number":
        return bool(re.fullmatch(r"[0-9]+(\.[0-9]+)?", value)) and in_range(float(value))
    if kind == "enum":
        return value in t["values"]
    if kind == "word":
        return value in t["words"] or (bool(re.fullmatch(r"[0-9]+", value)) and in_range(int(value)))
    if kind == "name":
        return len(value) <= t["maxLength"] and bool(NAME_CHARS.fullmatch(value))
    if kind == "list":
        return len(value) <= t["maxLength"] and all(NAME_CHARS.fullmatch(n.strip()) for n in value.split(","))
    if kind == "text":
        return len(value) <= t["maxLength"]
    raise AssertionError(f"{t['key']}: unknown value kind {kind!r} (schema/tags.json's // lists the kinds)")


def hold(key: str) -> dict[str, str]:
    """berth:approval=required, on every service but berth:approval's own: a case wrongly let
    through waits at the approval gate before it changes the service (its child execution is still
    a change), instead of rolling it out under the other cases."""
    return {} if key == "berth:approval" else {"berth:approval": "required"}


def tag_baseline(t: dict) -> dict[str, str]:
    """A service that carries `t` validly: its repository, the tag's `with` tags and the tag at its
    example (for berth:repository itself, the repository); and the approval hold."""
    tags = {"berth:repository": REPOSITORY, **hold(t["key"]), **(t.get("with") or {})}
    if t["key"] != "berth:repository":
        tags[t["key"]] = t["example"]
    return tags


def tag_value_cases(t: dict) -> Iterator[tuple[str, str, str]]:
    """(class, what, value) of one tag's malformed values."""
    kind = t["value"]
    yield "empty", '""', ""
    yield "blank", '"   "', "   "
    if kind in ("integer", "number", "word"):
        yield "wrong type", "letters", "abc"
    if kind == "integer":
        yield "wrong type", "a fraction", "1.5"
    if kind == "number":
        yield "wrong type", "NaN", "NaN"
        yield "wrong type", "inf", "inf"
    if kind == "enum":
        yield "wrong type", "a word not in values", t["example"][:-1]
    if kind == "word":
        yield "wrong type", "a word not in words", t["words"][0][:-1]
    if kind in ("name", "list"):
        yield "wrong type", "a character outside names", f"{t['example']}=x"
    if isinstance(t.get("min"), int | float):
        yield "out of range", f"min-1 ({t['min'] - 1})", str(t["min"] - 1)
    if isinstance(t.get("max"), int | float):
        yield "out of range", f"max+1 ({t['max'] + 1})", str(t["max"] + 1)
    if isinstance(t.get("maxLength"), int):
        value = (t["example"] * (t["maxLength"] + 1))[: t["maxLength"] + 1]
        yield "too long", f"maxLength+1 ({t['maxLength'] + 1} chars)", value


@cache
def tag_cases() -> Generated:
    out = Generated()
    missing = {"container": "no-such-container", "alarm": "no-such-alarm", "task-definition": "no-such-task-definition"}
    for t in TAG_TABLE:
        if t.get("setBy") == "berth":
            continue
        key = t["key"]
        base = tag_baseline(t)
        assert tag_problems(base) == [], f"{key}'s baseline {base} breaks the tags contract: {tag_problems(base)}"

        def add(cls: str, what: str, tags: dict[str, str], key: str = key) -> None:
            label = f"{key}: {what}"
            too_long = [k for k, v in tags.items() if not ECS_TAG_VALUE.fullmatch(v) or len(k) > ECS_TAG_KEY_LIMIT]
            if too_long:
                out.skipped.append(f"push {label} (ECS refuses the tag)")
                return
            semantic = cls in SEMANTIC
            if not semantic and not tag_problems(tags):
                out.skipped.append(f"push {label}")
                return
            out.cases.append(Case("tags", "push", cls, label, tags=tags, tag=key, semantic=semantic))

        for cls, what, value in tag_value_cases(t):
            add(cls, what, {**base, key: value})
        if t.get("needs"):
            add(
                "needs",
                f"alone, without {', '.join(t['needs'])}",
                {"berth:repository": REPOSITORY, **hold(key), key: base[key]},
            )
        kept = {k: v for k, v in base.items() if k != key and key not in (TAGS_BY_KEY[k].get("needs") or [])}
        add("misspelt key", f"misspelt {key[:-1]!r}", {**kept, key[:-1]: base[key]})
        if t.get("references"):
            what = f"a{'n' if t['references'][0] in 'aeiou' else ''} {t['references']} that does not exist"
            add("reference", what, {**base, key: missing[t["references"]]})
        if t.get("references") == "task-definition":
            for where, kw in (("account", {"account": FOREIGN_ACCOUNT}), ("region", {"region": FOREIGN_REGION})):
                value = arn("task-definition", f"{t['example']}:1", **kw)
                add("foreign identity", f"ARN of another {where}", {**base, key: value})
    return out


def all_cases() -> list[Case]:
    return request_cases().cases + tag_cases().cases


# ---------------------------------------------------------------------- running the cases


def execution_ref(name: str) -> dict:
    return {
        "id": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{STATE_MACHINE}:{name}",
        "name": name,
        "startTime": "2026-11-29T00:00:00Z",
    }


def slot_repository(slot: str) -> str:
    return f"web-{slot}"


def mentions(line: str, name: str) -> bool:
    """Whether a change line is about the service (or task-definition family) `name`."""
    return re.search(rf"[/ :]{re.escape(name)}([:/ -]|$)", line) is not None


def normalised(line: str) -> str:
    """A change line without its ids, to match the same change made again."""
    return re.sub(r"[0-9a-f]{6,}|\d+", "#", line)


@dataclass
class Run:
    """One execution of one case."""

    case: Case
    slot: str | None = None  # the service a push case's tags are on
    digest: str = ""
    arn: str | None = None
    status: str = "NOT STARTED"
    error: str | None = None
    cause: str = ""
    past_plan: list[str] = field(default_factory=list)  # the states it entered after Plan
    children: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)  # what it changed

    def clean(self, names: set[str]) -> bool:
        """Refused at Plan with a berth error (what it changed is known only run alone)."""
        return self.status == "FAILED" and self.error in names and not self.past_plan and not self.children


class World:
    """The services the cases run against, on the shared stack, and how to run them."""

    def __init__(self, berth):
        self.berth = berth
        self.sfn = berth.client("stepfunctions")
        self.ecs = berth.client("ecs")
        self.ecr = berth.client("ecr")
        self.lam = berth.client("lambda")
        self.vpc, self.subnet, self.sg = berth.network("malformed")
        # services free for push cases: behind a target group (for berth:load-balancer) or not
        self.slots: dict[bool, list[str]] = {True: [], False: []}
        self.tagged: dict[str, dict[str, str]] = {}  # a slot's tags now
        self.retired: set[str] = set()  # services a case changed: left out of later batches
        self.created = 0
        self.counter = itertools.count(1)  # unique execution names and digests (runs start side by side)

    # ------------------------------------------------------------------ set-up

    def create(self, names: list[str], *, revisions: int = 1, lb: bool = False, slots: bool = False) -> None:
        """Services of one container `app`, each its own task-definition family (running its last
        revision), one task each; with `lb` behind a target group of its own; `slots` tagged
        berth:repository=web-NAME for the push cases, the repository created. Waits until all are
        steady."""
        elb = self.berth.client("elbv2")
        self.ecs.create_cluster(clusterName="prod")
        for name in names:
            td = ""
            for _ in range(revisions):
                td = self.berth.cluster_and_task_definition("prod", name, f"{REGISTRY}/web@{OLD}")
            kwargs: dict[str, Any] = dict(
                cluster="prod",
                serviceName=name,
                taskDefinition=td,
                desiredCount=1,
                launchType="FARGATE",
                networkConfiguration={"awsvpcConfiguration": {"subnets": [self.subnet], "securityGroups": [self.sg]}},
                deploymentConfiguration={
                    "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                    "maximumPercent": 200,
                    "minimumHealthyPercent": 100,
                },
            )
            if lb:
                tg = elb.create_target_group(Name=name, Protocol="HTTP", Port=8080, VpcId=self.vpc, TargetType="ip")
                arn_ = tg["TargetGroups"][0]["TargetGroupArn"]
                kwargs["loadBalancers"] = [{"targetGroupArn": arn_, "containerName": "app", "containerPort": 8080}]
            if slots:
                self.tagged[name] = {"berth:repository": slot_repository(name)}
                kwargs["tags"] = [{"key": k, "value": v} for k, v in self.tagged[name].items()]
                self.ecr.create_repository(repositoryName=slot_repository(name))
            self.ecs.create_service(**kwargs)
        wait_until(
            lambda: all(self.berth.steady({"cluster": "prod", "service": n}) for n in names),
            60,
            f"{len(names)} services to start",
        )

    def add_slots(self, n: int, lb: bool) -> None:
        names = [f"t{self.created + i:03d}" for i in range(n)]
        self.created += n
        self.create(names, lb=lb, slots=True)
        self.slots[lb] += names

    def retag(self, slot: str, tags: dict[str, str]) -> None:
        """The slot's tags become `tags` (berth:repository=web: the slot's own repository)."""
        arn_ = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/{slot}"
        mine = {
            k: (slot_repository(slot) if k == "berth:repository" and v == REPOSITORY else v) for k, v in tags.items()
        }
        gone = [k for k in self.tagged[slot] if k not in mine]
        if gone:
            self.ecs.untag_resource(resourceArn=arn_, tagKeys=gone)
        self.ecs.tag_resource(resourceArn=arn_, tags=[{"key": k, "value": v} for k, v in mine.items()])
        self.tagged[slot] = mine

    # ------------------------------------------------------------------ one execution

    def prepare(self, run: Run) -> None:
        """A push case: its tags on its slot, its image pushed to the slot's repository (no event)."""
        if run.case.contract != "tags":
            return
        assert run.slot and run.case.tags is not None
        self.retag(run.slot, run.case.tags)
        run.digest = digest_of(f"{run.case.name} {next(self.counter)}")
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2, "digest": run.digest},
            "layers": [],
        }
        self.ecr.put_image(
            repositoryName=slot_repository(run.slot),
            imageManifest=json.dumps(manifest),
            imageDigest=run.digest,
            imageTag=f"v{next(self.counter)}",
        )

    def start(self, run: Run) -> None:
        n = next(self.counter)
        case = run.case
        if case.contract == "request":
            text = case.raw if case.raw is not None else json.dumps(case.request)
            name = f"malformed-{n:04d}"
            run.arn = self.sfn.start_execution(stateMachineArn=STATE_MACHINE_ARN, name=name, input=text)["executionArn"]
            return
        # as EventBridge hands the push to start-deployment (the template's rule)
        assert run.slot
        event = ecr_push_event(slot_repository(run.slot), run.digest, "v2")
        out = self.lam.invoke(FunctionName="start-deployment", Payload=json.dumps(event).encode())
        answer = json.loads(out["Payload"].read() or b"null")
        if out.get("FunctionError") or not isinstance(answer, dict) or not answer.get("started"):
            run.status, run.cause = "NOT STARTED", f"start-deployment answered {short(answer, 300)}"
            return
        run.arn = answer["executionArn"]

    def history(self, arn_: str) -> list[dict]:
        return self.sfn.get_execution_history(executionArn=arn_, maxResults=1000)["events"]

    def settle(self, runs: list[Run], deadline: float) -> None:
        """Until each execution has ended, or gone past Plan (it then waits at a gate, or deploys:
        no need to wait for it); then each one's outcome, from its history."""
        t0 = time.monotonic()
        pending = {r.arn for r in runs if r.arn}
        looked: dict[str, float] = {}
        while pending and time.monotonic() - t0 < deadline:
            time.sleep(0.4)
            running = {
                e["executionArn"]
                for page in self.sfn.get_paginator("list_executions").paginate(
                    stateMachineArn=STATE_MACHINE_ARN, statusFilter="RUNNING"
                )
                for e in page["executions"]
            }
            pending &= running
            for arn_ in list(pending):
                if time.monotonic() - looked.get(arn_, t0) > 2:
                    looked[arn_] = time.monotonic()
                    if entered(self.history(arn_)) - {"Plan", "InvalidRequest"}:
                        pending.discard(arn_)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(self.conclude, [r for r in runs if r.arn]))
        for r in runs:
            if r.arn in pending:
                r.cause = f"still at Plan after {deadline:.0f} s"

    def conclude(self, run: Run) -> None:
        assert run.arn
        events = self.history(run.arn)
        run.status = "RUNNING"
        for e in events:
            if e["type"] in ("ExecutionFailed", "ExecutionSucceeded", "ExecutionAborted", "ExecutionTimedOut"):
                run.status = e["type"].removeprefix("Execution").upper().replace("TIMEDOUT", "TIMED_OUT")
                d = e.get("executionFailedEventDetails") or {}
                run.error, run.cause = d.get("error"), d.get("cause") or ""
        run.past_plan = [n for n in entered_in_order(events) if n not in ("Plan", "InvalidRequest")]
        run.children = children_of(events)

    def stop(self, runs: list[Run]) -> None:
        """Stop what still runs (a case let through, waiting at a gate or deploying)."""
        for r in runs:
            for arn_ in [*r.children, *([r.arn] if r.arn and r.status == "RUNNING" else [])]:
                with contextlib.suppress(Exception):
                    if self.sfn.describe_execution(executionArn=arn_)["status"] == "RUNNING":
                        self.sfn.stop_execution(executionArn=arn_, error="MalformedTest", cause="stopped by the test")

    def snapshot(self) -> dict:
        """What a case could change: ECS (task definitions without their tags: those are compared
        over the whole run, `tag_changes`), ECR, CodeDeploy, SSM, both machines' executions."""
        return aws_snapshot(self.berth, tags=False, ecr=True, children=True)

    # ------------------------------------------------------------------ batches

    def batch(self, runs: list[Run]) -> list[str]:
        """Start every run at once; each run's outcome; the batch's changes (but those of services
        a case changed before)."""
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(self.prepare, runs))
        before = self.snapshot()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(self.start, runs))
        self.settle(runs, BATCH_DEADLINE_SECONDS)
        self.stop(runs)  # what runs past Plan, before it goes on changing things
        time.sleep(1)  # one more ECS tick: a rollout started by a case would show
        after = self.snapshot()
        ours = {r.arn for r in runs}
        after["executions"] = [a for a in after["executions"] if a not in ours]
        return [c for c in aws_changes(before, after) if not any(mentions(c, s) for s in self.retired)]

    def alone(self, run: Run) -> Run:
        """The case run again by itself: what it changes."""
        again = Run(run.case, slot=run.slot)
        self.prepare(again)
        before = self.snapshot()
        self.start(again)
        self.settle([again], SOLO_DEADLINE_SECONDS)
        self.stop([again])
        time.sleep(1)
        after = self.snapshot()
        after["executions"] = [a for a in after["executions"] if a != again.arn]
        again.changes = aws_changes(before, after, strict=False)
        return again

    @staticmethod
    def attribute(runs: list[Run], changes: list[str]) -> list[str]:
        """Give each run the changes that are its own by name: the child executions its execution
        started, and what changed on a push case's own service. The rest is returned."""
        rest = []
        for c in changes:
            owners = [r for r in runs if any(child in c for child in r.children) or (r.slot and mentions(c, r.slot))]
            for r in owners:
                r.changes.append(c)
            if not owners:
                rest.append(c)
        return rest

    def name_culprits(self, runs: list[Run], changes: list[str], names: set[str]) -> list[str]:
        """Run a batch's cases one by one, those not refused cleanly first, until each of `changes`
        (what no case owns by name) is made again by one of them, which then has it. What no case
        made again is returned."""
        unexplained = {normalised(c) for c in changes}
        for r in sorted(runs, key=lambda r: r.clean(names)):
            if not unexplained:
                break
            again = self.alone(r)
            made = [c for c in changes if normalised(c) in {normalised(a) for a in again.changes}]
            r.changes += [c for c in made if c not in r.changes]
            unexplained -= {normalised(c) for c in made}
        return [c for c in changes if normalised(c) in unexplained]

    def retire_changed(self, runs: list[Run]) -> None:
        """Slots whose service a case changed (beyond starting a child execution, which the
        approval hold stops at the gate) are not used again: their rollout goes on. New ones
        replace them."""
        for lb, slots in self.slots.items():
            changed = {s for s in slots for r in runs for c in r.changes if mentions(c, s) and "execution" not in c}
            if changed:
                self.retired |= changed
                self.slots[lb] = [s for s in slots if s not in changed]
                self.add_slots(len(changed), lb)


def entered_in_order(events: list[dict]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def entered(events: list[dict]) -> set[str]:
    return set(entered_in_order(events))


def tag_changes(before: dict, after: dict) -> list[str]:
    """Task definitions retagged between two aws_snapshot(tags=True)."""
    tb, ta = before["taskDefinitions"], after["taskDefinitions"]
    return [
        f"task definition {arn_} retagged: {tb[arn_].get('tags')} -> {ta[arn_].get('tags')}"
        for arn_ in sorted(set(tb) & set(ta))
        if tb[arn_].get("tags") != ta[arn_].get("tags")
    ]


def selects_nothing(run: Run) -> bool:
    """A broken berth:repository tag (empty, blank, not a name, misspelt key) makes the service one
    no push selects: the push of its repository deploys nothing (NothingToDeploy), which is the
    refusal here. A push is refused only for the services it deploys: refusing every push for any
    service's broken tag would stop every repository's deploys for one typo."""
    return (
        run.case.contract == "tags"
        and run.case.name.startswith("push berth:repository:")
        and run.status == "SUCCEEDED"
        and not run.children
        and set(run.past_plan) <= {"AnythingToDeploy", "NothingToDeploy"}
    )


def outcome(run: Run, names: set[str]) -> str:
    if run.changes:
        return "changed something"
    if run.status == "FAILED" and run.error not in names:
        return "foreign error"
    if selects_nothing(run):
        return "refused as required"
    if run.status != "FAILED" or run.past_plan or run.children:
        return "accepted"
    return "refused as required"


def happened(run: Run, names: set[str]) -> str:
    parts = [run.status]
    if run.error:
        parts[0] += f" {run.error}" + ("" if run.error in names else " (not a berth error name)")
    if run.past_plan:
        parts.append(f"past Plan: {' > '.join(dict.fromkeys(run.past_plan))}")
    if run.children:
        parts.append(f"{len(run.children)} child execution(s)")
    if run.changes:
        shown = "; ".join(c.replace(f"arn:aws:ecs:{REGION}:{ACCOUNT}:", "") for c in run.changes[:4])
        parts.append(f"changed: {shown}" + (f" (+{len(run.changes) - 4} more)" if len(run.changes) > 4 else ""))
    if run.cause:
        parts.append(f"cause: {run.cause[:160]!r}")
    return "; ".join(parts)


def set_up(berth, world: World) -> None:
    """The services, the alarm and the migration task definition the valid requests and tags
    name; the slots for the push cases."""
    world.create([DEPLOY_SERVICE, *RELEASE_SERVICES[:2]])
    world.create([ROLLBACK_SERVICE, RELEASE_SERVICES[2]], revisions=2)
    berth.cluster_and_task_definition("prod", MIGRATION_FAMILY, f"{REGISTRY}/web@{OLD}")
    berth.alarm(ALARM)


# ---------------------------------------------------------------------- the tests


def test_the_valid_inputs_cover_both_contracts_and_each_case_breaks_one():
    """Every field of the request schema is in a valid request (a new field without a default needs
    a value there), every tag of the table has its cases, and each case is refused by its contract
    (or is semantic: what the contract cannot say)."""
    walked = {f.general for doc in baselines().values() for f in walk(doc)}
    assert schema_fields() - walked == set(), "fields no valid request has: add them to one"
    requests_, tags = request_cases(), tag_cases()
    for case in requests_.cases:
        doc = json.loads(case.raw) if case.raw is not None else case.request
        assert case.semantic or not VALIDATOR.is_valid(doc), case.name
    for case in tags.cases:
        assert case.tags is not None
        assert case.semantic or tag_problems(case.tags), case.name
        assert all(ECS_TAG_VALUE.fullmatch(v) and len(k) <= ECS_TAG_KEY_LIMIT for k, v in case.tags.items()), case.name
    for t in TAG_TABLE:
        assert t.get("setBy") == "berth" or any(c.what.startswith(f"{t['key']}: ") for c in tags.cases), t["key"]
    by_class = Counter(c.cls for c in requests_.cases)
    assert set(by_class) == set(CLASSES) - {"needs", "misspelt key"}, by_class
    assert {c.cls for c in tags.cases} >= {"empty", "blank", "wrong type", "out of range", "needs", "misspelt key"}
    assert len({c.name for c in all_cases()}) == len(all_cases()), "two cases of one name"


def needs_lb(case: Case) -> bool:
    """A push case whose service must be behind a target group (berth:load-balancer's checks)."""
    return "berth:load-balancer" in (case.tags or {})


def push_batches(cases: list[Case], plain: int, lb: int) -> list[list[Run]]:
    """Push cases in batches that fit the slots: `plain` without a target group, `lb` with one."""
    queues = {False: [c for c in cases if not needs_lb(c)], True: [c for c in cases if needs_lb(c)]}
    out = []
    while queues[False] or queues[True]:
        out.append([Run(c) for c in queues[False][:plain] + queues[True][:lb]])
        queues = {False: queues[False][plain:], True: queues[True][lb:]}
    return out


@pytest.mark.e2e
def test_malformed_inputs_generated_from_the_contracts_fail_at_plan_and_change_nothing(berth):
    t0 = time.monotonic()
    names = berth_error_names()
    cases = all_cases()
    world = World(berth)
    set_up(berth, world)
    world.add_slots(PUSH_SLOTS, lb=False)
    world.add_slots(PUSH_SLOTS_LB, lb=True)

    # GIVEN valid inputs Plan accepts (so each case is refused for its own defect): each request...
    expected = {"deploy": [DEPLOY_SERVICE], "rollback": [ROLLBACK_SERVICE], "release": list(RELEASE_SERVICES)}
    for shape, doc in baselines().items():
        plan = berth.invoke("plan-deployment", {"request": doc, "execution": execution_ref(f"valid-{shape}")})
        assert [d["service"] for d in plan["deployments"]] == expected[shape], (shape, plan)

    # ... and each tag, on a service of its own, pushed
    def plan_push(pair: tuple[dict, str]) -> str | None:
        t, slot = pair
        world.retag(slot, tag_baseline(t))
        event = ecr_push_event(slot_repository(slot), digest_of(f"valid {t['key']}"), "v2")
        try:
            plan = berth.invoke("plan-deployment", {"request": event, "execution": execution_ref("valid-push")})
        except RuntimeError as e:
            return f"{t['key']}: Plan refuses the valid service {tag_baseline(t)}: {str(e)[:300]}"
        if [d["service"] for d in plan["deployments"]] != [slot] or plan.get("skipped"):
            return f"{t['key']}: {tag_baseline(t)} planned {plan}"
        return None

    refused: dict[str, str] = {}
    for lb in (False, True):
        mine = [t for t in TAG_TABLE if t.get("setBy") != "berth" and ("berth:load-balancer" in tag_baseline(t)) == lb]
        for i in range(0, len(mine), len(world.slots[lb])):
            chunk = mine[i : i + len(world.slots[lb])]
            with ThreadPoolExecutor(4) as pool:
                answers = list(pool.map(plan_push, zip(chunk, world.slots[lb], strict=False)))
            refused |= {t["key"]: p for t, p in zip(chunk, answers, strict=True) if p}
    # a tag whose valid service Plan refuses cannot have its cases (each would be refused for that)
    not_run = [c for c in cases if c.tag in refused]
    invalid_valid = [
        f"- [valid tags] {p}; its {sum(c.tag == k for c in cases)} cases not run" for k, p in refused.items()
    ]
    cases = [c for c in cases if c.tag not in refused]
    set_up_seconds = time.monotonic() - t0

    # WHEN every case runs as a real execution, in batches
    console = [c for c in cases if c.contract == "request"]
    batches = [[Run(c) for c in console[i : i + CONSOLE_BATCH]] for i in range(0, len(console), CONSOLE_BATCH)]
    batches += push_batches([c for c in cases if c.contract == "tags"], PUSH_SLOTS, PUSH_SLOTS_LB)
    runs: list[Run] = []
    unattributed: list[str] = []
    first = aws_snapshot(berth)
    for batch in batches:
        free = {lb: list(slots) for lb, slots in world.slots.items()}  # changed slots are replaced
        for r in batch:
            if r.case.contract == "tags":
                r.slot = free[needs_lb(r.case)].pop(0)
        t_batch = time.monotonic()
        changes = world.batch(batch)
        took = time.monotonic() - t_batch
        berth.log(f"{len(batch)} cases ({batch[0].case.name} ...) in {took:.1f}s: {len(changes)} change(s)")
        changes = world.attribute(batch, changes)
        if changes:
            where = f"(batch of {batch[0].case.name} ...)"
            unattributed += [f"{c} {where}" for c in world.name_culprits(batch, changes, names)]
        world.retire_changed(batch)
        runs += batch
    unattributed += tag_changes(first, aws_snapshot(berth))
    elapsed = time.monotonic() - t0

    # THEN each failed at Plan with a berth error, and changed nothing
    table: Counter = Counter()
    wrong = []
    for r in runs:
        o = outcome(r, names)
        table[(r.case.contract, r.case.cls, o)] += 1
        if o != "refused as required":
            wrong.append(f"- [{r.case.cls}] {r.case.name}: {o}: {happened(r, names)}")
    print(report(runs, table, len(not_run), elapsed, set_up_seconds))
    message = "\n".join(invalid_valid + wrong)
    if unattributed:
        message += "\nchanged while the cases ran, by no case alone:\n" + "\n".join(f"  {c}" for c in unattributed)
    assert not wrong and not unattributed and not invalid_valid, (
        f"{len(wrong)} of {len(runs)} malformed inputs not refused as required"
        f"{f', {len(not_run)} not run' if not_run else ''}:\n{message}"
    )


def report(runs: list[Run], table: Counter, not_run: int, elapsed: float, set_up_seconds: float) -> str:
    requests_, tags = request_cases(), tag_cases()
    lines = [
        f"{len(runs)} malformed inputs ({len(requests_.cases)} generated from the request schema,"
        f" {len(tags.cases)} from the tags table; {sum(r.case.semantic for r in runs)} semantic;"
        f" {not_run} not run: their valid service is refused) in {elapsed:.1f}s ({set_up_seconds:.1f}s set-up);"
        f" skipped as valid by their contract: {len(requests_.skipped)} request, {len(tags.skipped)} tag cases",
        f"{'class':<18}{'contract':<9}" + "".join(f"{o:>22}" for o in OUTCOMES),
    ]
    for cls in CLASSES:
        for contract in ("request", "tags"):
            counts = [table[(contract, cls, x)] for x in OUTCOMES]
            if any(counts):
                lines.append(f"{cls:<18}{contract:<9}" + "".join(f"{n:>22}" for n in counts))
    totals = [sum(n for (_, _, o), n in table.items() if o == x) for x in OUTCOMES]
    lines.append(f"{'all':<27}" + "".join(f"{n:>22}" for n in totals))
    lines.append("skipped (the contract accepts them): " + "; ".join(requests_.skipped + tags.skipped))
    lines.append("strings the schema bounds by no maxLength: " + "; ".join(requests_.gaps))
    return "\n".join(lines)
