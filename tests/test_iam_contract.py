"""The IAM contract: every AWS operation a Lambda's code calls is granted by its role, on a resource
type AWS's authorization data says that action supports, and nothing else is granted.

Three sources, none hand-kept:
  * which operations each function calls: read from the Rust source (the function runs the one
    binary berth-lambda: its `main`, then the `serve` of the crate its `states!` table names for
    the function's BERTH_STATE, functions/<state>/src/lib.rs, plus the workspace crates they reach,
    test code excluded), method names mapped to operations with the AWS service models botocore
    ships;
  * which resource types each IAM action supports and their ARN shapes: the AWS Service
    Authorization Reference as cfn-lint (pinned in requirements-dev.txt) bundles it in
    cfnlint/data/AdditionalSpecs/Policies.json; an action with no resource type must be granted
    on "*" (AWS denies it otherwise);
  * what each function is granted: template.yaml's `Policies` statements.

Permissions AWS requires that are not SDK operations (PassRole, tagging on create, CreateDeployment's
dependent actions) live in IMPLIED below, each with the AWS documentation that requires it.

Regenerate the table: `.berth/venv/bin/pytest tests/test_iam_contract.py -q -s -k table`
(or `.berth/venv/bin/python tests/test_iam_contract.py`); it is written to .berth/iam-contract.md.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import json
import re
import sys
from dataclasses import dataclass, field
from importlib import resources as importlib_resources
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"
TABLE_PATH = ROOT / ".berth" / "iam-contract.md"

# ============================================================================ AWS data

# The SDK crates berth links: crate -> (botocore service model, IAM service prefix). A crate used
# in the code but missing here fails loudly (Workspace._load_module).
SDK_CRATES = {
    "aws_sdk_ecs": ("ecs", "ecs"),
    # also the reconciliation sweep's image listing (functions/reconcile)
    "aws_sdk_ecr": ("ecr", "ecr"),
    "aws_sdk_codedeploy": ("codedeploy", "codedeploy"),
    "aws_sdk_cloudwatch": ("cloudwatch", "cloudwatch"),
    "aws_sdk_sfn": ("stepfunctions", "states"),
    "aws_sdk_ssm": ("ssm", "ssm"),
    # berth's deployment events (shared/src/events.rs)
    "aws_sdk_eventbridge": ("events", "events"),
    # the berth CLI's (cli/, not a Lambda: no role of the template runs it)
    "aws_sdk_cloudformation": ("cloudformation", "cloudformation"),
}


def authorization_data() -> dict:
    """AWS's Service Authorization Reference as cfn-lint bundles it:
    {prefix: {"Actions": {lowercase action: {"Resources": [type, ...]} or {}},
              "Resources": {type: {"ARNFormats": [...]}}}}."""
    policies = importlib_resources.files("cfnlint.data.AdditionalSpecs").joinpath("Policies.json")
    return json.loads(policies.read_text())


def snake_case(operation: str) -> str:
    """The Rust SDK's method name for an operation (smithy-rs: acronyms stay one word)."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", operation)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


@functools.cache
def sdk_operations() -> dict[str, dict[str, str]]:
    """crate -> {rust method name: "prefix:Operation"}, from botocore's service models."""
    import botocore.session

    session = botocore.session.get_session()
    out = {}
    for crate, (service, prefix) in SDK_CRATES.items():
        names = session.get_service_model(service).operation_names
        methods = {snake_case(op): f"{prefix}:{op}" for op in names}
        assert len(methods) == len(names), f"{service}: two operations share a snake_case name"
        out[crate] = methods
    return out


# ============================================================================ reading Rust


def mask(src: str) -> tuple[str, str]:
    """Two same-length copies of `src`: comments blanked (strings kept, for cfg attributes), and
    comments plus string/char literal contents blanked (for brace matching and call finding)."""
    no_comments, no_literals = list(src), list(src)
    i, n = 0, len(src)

    def blank(buf, a, b):
        for k in range(a, b):
            if buf[k] != "\n":
                buf[k] = " "

    raw = re.compile(r'b?r(#*)"')
    char = re.compile(r"'(\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'])'")
    while i < n:
        c = src[i]
        if c == "/" and src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            blank(no_comments, i, j), blank(no_literals, i, j)
            i = j
        elif c == "/" and src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(no_comments, i, j), blank(no_literals, i, j)
            i = j
        elif c in "br" and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")) and (m := raw.match(src, i)):
            close = '"' + m.group(1)
            j = src.find(close, m.end())
            j = n if j < 0 else j
            blank(no_literals, m.end(), j)
            i = j + len(close)
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            blank(no_literals, i + 1, j)
            i = j + 1
        elif c == "'" and (m := char.match(src, i)):
            blank(no_literals, i + 1, m.end() - 1)
            i = m.end()
        else:
            i += 1
    return "".join(no_comments), "".join(no_literals)


def matching_brace(text: str, open_at: int) -> int:
    """Index just past the `}` that closes the `{` at `open_at`."""
    depth = 0
    for k in range(open_at, len(text)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return k + 1
    raise ValueError("unbalanced braces")


# Items compiled only for tests (or for the `testing` feature, which only dev-dependencies enable).
TEST_ONLY_ATTR = re.compile(r'#\[cfg\((?:test|feature\s*=\s*"testing")\)\]')


def drop_test_items(no_comments: str, code: str) -> str:
    """Blank every item behind a test-only cfg attribute (`mod tests;`, `mod tests { .. }`)."""
    out = list(code)
    for m in TEST_ONLY_ATTR.finditer(no_comments):
        semi, brace = code.find(";", m.end()), code.find("{", m.end())
        end = semi + 1 if semi >= 0 and (brace < 0 or semi < brace) else matching_brace(code, brace)
        for k in range(m.start(), end):
            if out[k] != "\n":
                out[k] = " "
    return "".join(out)


@dataclass
class RustFn:
    crate: str
    module: tuple
    name: str
    is_method: bool
    body: str
    path: Path
    line: int  # line of the body's start in `path`


@dataclass
class Module:
    crate: str
    path: tuple
    file: Path
    code: str  # comments, literals and test items blanked
    uses: dict = field(default_factory=dict)  # local name -> absolute path tuple (crate, ...)
    globs: list = field(default_factory=list)  # `use a::b::*;` -> ["a", "b"]
    inline_mods: set = field(default_factory=set)
    sdk_crates: set = field(default_factory=set)
    clients: dict = field(default_factory=dict)  # identifier -> sdk crate, or None (not an SDK client)


def expand_use(tree: str) -> list[tuple[list[str], str]]:
    """`a::b::{c, d::e as f, self}` -> [(['a','b','c'], 'c'), (['a','b','d','e'], 'f'), (['a','b'], 'b')]."""
    tree = re.sub(r"\s*(::|,|\{|\})\s*", r"\1", re.sub(r"\s+", " ", tree.strip()))
    out = []

    def walk(prefix: list[str], t: str):
        if "{" in t and t.endswith("}"):
            head, inner = t[: t.index("{")], t[t.index("{") + 1 : -1]
            base = prefix + [p for p in head.split("::") if p]
            parts, depth, cur = [], 0, ""
            for ch in inner:
                if ch == "," and depth == 0:
                    parts.append(cur)
                    cur = ""
                    continue
                depth += ch == "{"
                depth -= ch == "}"
                cur += ch
            parts.append(cur)
            for p in parts:
                if p:
                    walk(base, p)
            return
        alias = None
        if " as " in t:
            t, alias = t.split(" as ", 1)
        segs = prefix + [p for p in t.split("::") if p]
        if segs and segs[-1] == "self":
            segs = segs[:-1]
        if segs:
            out.append((segs, alias or segs[-1]))

    walk([], tree)
    return out


def lambda_packages(root: Path = ROOT) -> set[str]:
    """The workspace packages linked into the Lambda binary (berth-lambda and what it depends on,
    normal dependencies only): the code the template's roles run. The CLI and the test-only crates
    are not among them."""
    import subprocess

    out = subprocess.run(
        ["cargo", "tree", "-p", "berth-lambda", "-e", "normal", "--prefix", "none", "--format", "{p}"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {m.group(1) for m in re.finditer(rf"^(\S+) v\S+ \({re.escape(str(root))}[/)]", out, re.M)}


class Workspace:
    """The workspace's crates linked into the Lambda, as modules and functions, enough to follow
    calls between them."""

    def __init__(self, root: Path = ROOT):
        self.root = root
        self.ops = sdk_operations()
        self.crate_dirs = {}  # crate name (underscored) -> dir
        # a synthetic workspace (the reader's own tests) is read whole
        linked = lambda_packages(root) if root == ROOT else None
        for manifest in sorted(root.glob("*/Cargo.toml")) + sorted(root.glob("functions/*/Cargo.toml")):
            m = re.search(r'^name\s*=\s*"([^"]+)"', manifest.read_text(), re.M)
            if m and (linked is None or m.group(1) in linked):
                self.crate_dirs[m.group(1).replace("-", "_")] = manifest.parent
        self.modules: dict[tuple, Module] = {}
        self.free: dict[tuple, list[RustFn]] = {}  # (crate, module, name) -> fns (inline modules share their file's)
        self.methods: dict[str, list[RustFn]] = {}  # name -> methods of any impl or trait
        for crate in self.crate_dirs:
            self._load_crate(crate)

    # ---------------------------------------------------------------- loading
    def _load_crate(self, crate: str):
        src = self.crate_dirs[crate] / "src"
        for file in sorted(src.rglob("*.rs")):
            rel = file.relative_to(src).with_suffix("").parts
            if "tests" in rel or (rel and rel[-1] == "tests"):
                continue  # `mod tests;` files: test code
            path: tuple[str, ...]
            if rel in (("main",), ("lib",)):
                path = ()
            elif rel[-1] == "mod":
                path = rel[:-1]
            else:
                path = rel
            if path and not self._declared(crate, path):
                continue  # not compiled into the crate (a test-only or feature-gated module)
            self._load_module(crate, path, file)

    def _declared(self, crate: str, path: tuple) -> bool:
        """Whether the parent module declares `mod <last>;` outside test-only items."""
        src = self.crate_dirs[crate] / "src"
        parent = path[:-1]
        candidates = (
            [src / "lib.rs", src / "main.rs"]
            if not parent
            else [src.joinpath(*parent).with_suffix(".rs"), src.joinpath(*parent, "mod.rs")]
        )
        for c in candidates:
            if c.exists():
                no_comments, code = mask(c.read_text())
                code = drop_test_items(no_comments, code)
                if re.search(rf"\bmod\s+{re.escape(path[-1])}\s*;", code):
                    return True
        return False

    def _load_module(self, crate: str, path: tuple, file: Path):
        text = file.read_text()
        no_comments, code = mask(text)
        code = drop_test_items(no_comments, code)
        mod = Module(crate, path, file, code)
        self.modules[(crate, path)] = mod
        for m in re.finditer(r"\buse\s+([^;]+);", code):
            for segs, alias in expand_use(m.group(1)):
                if segs[-1] == "*":
                    mod.globs.append(segs[:-1])
                else:
                    mod.uses[alias] = tuple(segs)
        mod.inline_mods = set(re.findall(r"\bmod\s+(\w+)\s*\{", code))
        mentioned = set(re.findall(r"\b(aws_sdk_[a-z0-9]+)", code))
        mod.sdk_crates = mentioned & set(SDK_CRATES)
        unknown = mentioned - set(SDK_CRATES)
        assert not unknown, f"{file}: uses {sorted(unknown)}; add them to SDK_CRATES"
        # Which identifiers hold which SDK client: `x: &aws_sdk_ecs::Client`, `x: &Client` with
        # `use aws_sdk_ecs::Client`, `let x = aws_sdk_ecs::Client::new(..)`.
        for m in re.finditer(r"\b(\w+)\s*:\s*&?\s*(?:'\w+\s+)?(?:mut\s+)?((?:\w+::)*)Client\b", code):
            ident, qual = m.group(1), m.group(2).rstrip(":").split("::")[0] if m.group(2) else ""
            if qual:
                krate = qual if qual in SDK_CRATES else None
            else:
                imported = mod.uses.get("Client", ())
                krate = imported[0] if imported and imported[0] in SDK_CRATES else None
            self._bind_client(mod, ident, krate)
        for m in re.finditer(r"\blet\s+(?:mut\s+)?(\w+)\s*=\s*(aws_sdk_\w+)::Client::", code):
            self._bind_client(mod, m.group(1), m.group(2))
        # Functions and whether they sit in an impl or trait block.
        blocks = []
        for m in re.finditer(r"(?m)^[ \t]*(?:pub(?:\([^)]*\))?\s+)?(?:unsafe\s+)?(?:impl|trait)\b[^{;]*\{", code):
            blocks.append((m.end() - 1, matching_brace(code, m.end() - 1)))
        for m in re.finditer(r"\bfn\s+(\w+)", code):
            sig_end = self._body_start(code, m.end())
            if sig_end is None:
                continue  # a declaration without a body (trait method)
            end = matching_brace(code, sig_end)
            fn = RustFn(
                crate,
                path,
                m.group(1),
                any(a < m.start() < b for a, b in blocks),
                code[sig_end:end],
                file,
                code.count("\n", 0, sig_end) + 1,
            )
            if fn.is_method:
                self.methods.setdefault(fn.name, []).append(fn)
            else:
                self.free.setdefault((crate, path, fn.name), []).append(fn)

    @staticmethod
    def _bind_client(mod: Module, ident: str, krate):
        if ident in mod.clients and mod.clients[ident] != krate:
            mod.clients[ident] = "ambiguous"
        else:
            mod.clients[ident] = krate

    @staticmethod
    def _body_start(code: str, pos: int):
        depth = 0
        for k in range(pos, len(code)):
            ch = code[k]
            if ch in "(<[":
                depth += 1
            elif ch in ")>]" and not (ch == ">" and code[k - 1] == "-"):
                depth -= 1
            elif ch == "{" and depth <= 0:
                return k
            elif ch == ";" and depth <= 0:
                return None
        return None

    # ---------------------------------------------------------------- resolving names
    def resolve_path(self, mod: Module, segs: list[str]):
        """A path written in `mod` -> (crate, module path, item), or None (outside the workspace)."""
        crate, here = mod.crate, tuple(mod.path)
        first, rest = segs[0], segs[1:]
        if not rest:  # a bare name: imported, or an item of this module
            target = mod.uses.get(first)
            if target is not None and target != (first,):
                return self.resolve_path(mod, list(target))
            return (crate, here, first)
        if first == "crate":
            base = ()
        elif first == "self":
            base = here
        elif first == "super":
            base = here[:-1]
            while rest and rest[0] == "super":
                base, rest = base[:-1], rest[1:]
        elif first in mod.uses and mod.uses[first] != (first,):
            return self.resolve_path(mod, list(mod.uses[first]) + rest)
        elif (crate, here + (first,)) in self.modules:
            base = here + (first,)
        elif first in mod.inline_mods:
            base = here  # an inline module's items are attributed to its file
        elif first in self.crate_dirs:
            crate, base = first, ()
        else:
            return None
        if not rest:
            return None
        *mods, item = rest
        return (crate, base + tuple(mods), item)

    def free_fns(self, mod: Module, segs: list[str], seen=None) -> list[RustFn]:
        """The workspace free functions a path names, following `use` and `pub use` re-exports
        and glob imports."""
        seen = seen if seen is not None else set()
        r = self.resolve_path(mod, segs)
        if r is None or r in seen:
            return []
        seen.add(r)
        crate, path, item = r
        if (crate, path, item) in self.free:
            return self.free[(crate, path, item)]
        target = self.modules.get((crate, path))
        if target is not None and item in target.uses:
            return self.free_fns(target, list(target.uses[item]), seen)
        if len(segs) == 1:  # a bare name may come from a glob import
            for glob in mod.globs:
                found = self.free_fns(mod, glob + [item], seen)
                if found:
                    return found
        return []

    # ---------------------------------------------------------------- calls
    def calls(self, fn: RustFn):
        """(sdk calls [(crate, method, line)], free fns, method names) found in `fn`'s body."""
        mod = self.modules[(fn.crate, fn.module)]
        body = fn.body
        sdk, free, methods = [], [], set()
        for m in re.finditer(r"\.\s*(\w+)\s*(?:::\s*<[^()]*>)?\s*\(", body):
            name = m.group(1)
            line = fn.line + body.count("\n", 0, m.start())
            receiver = re.search(r"([\w.]+)\s*$", body[: m.start()])
            recv = receiver.group(1).split(".")[-1] if receiver else None
            bound = mod.clients.get(recv, "unbound") if recv else "unbound"
            if bound == "ambiguous":
                raise AssertionError(f"{fn.path}:{line}: `{recv}` names clients of several services")
            if bound not in ("unbound", None):
                if name in self.ops[bound]:
                    sdk.append((bound, name, line))
                    continue
            elif bound == "unbound":
                candidates = {c for c, ops in self.ops.items() if name in ops}
                if candidates:
                    used = candidates & mod.sdk_crates
                    if len(used) != 1:
                        raise AssertionError(
                            f"{fn.path}:{line}: `.{name}(` is an operation of {sorted(candidates)} and the "
                            f"file uses {sorted(mod.sdk_crates) or 'no SDK crate'}: cannot tell which; "
                            "name the receiver's type (x: &aws_sdk_*::Client) so the contract can"
                        )
                    sdk.append((used.pop(), name, line))
                    continue
            methods.add(name)
        for m in re.finditer(r"(?<![\w.:])((?:\w+\s*::\s*)*)([a-z_]\w*)\b(?!\s*!)", body):
            if body[max(0, m.start() - 3) : m.start()].endswith("fn "):
                continue
            segs = [s for s in re.split(r"\s*::\s*", m.group(1)) if s] + [m.group(2)]
            if len(segs) > 1 and segs[-2][:1].isupper():
                methods.add(segs[-1])  # Type::method(..)
                continue
            free += [f for f in self.free_fns(mod, segs) if f is not fn]
        return sdk, free, methods

    def reachable_sdk_calls(self, crate: str, entry: str = "main") -> dict[str, list[str]]:
        """IAM action -> ["file:line", ...] for everything the free fn `entry` at the root of crate
        `crate` reaches (a binary's `main`, a function crate's `serve`)."""
        starts = self.free.get((crate, (), entry))
        assert starts, f"{crate}: no fn {entry}"
        todo, seen = list(starts), {id(s) for s in starts}
        found: dict[str, list[str]] = {}
        while todo:
            fn = todo.pop()
            sdk, free, method_names = self.calls(fn)
            for krate, method, line in sdk:
                action = self.ops[krate][method]
                where = f"{fn.path.relative_to(self.root)}:{line}"
                found.setdefault(action, []).append(where)
            nexts = list(free)
            for name in method_names:
                nexts += self.methods.get(name, [])
            for n in nexts:
                if id(n) not in seen:
                    seen.add(id(n))
                    todo.append(n)
        return found


# ============================================================================ implied permissions

# Permissions AWS requires beyond the operation's own action. (trigger action, implied action, why)
IMPLIED = [
    # berth registers every revision with tags (berth:deployment-id, berth:previous + the user's).
    (
        "ecs:RegisterTaskDefinition",
        "ecs:TagResource",
        "a tag-on-create action (RegisterTaskDefinition with tags) is also authorized as "
        "ecs:TagResource, optionally limited by the ecs:CreateAction condition key (ECS Developer "
        "Guide, 'Grant permission to tag resources on creation')",
    ),
    # The copied revision keeps the original's taskRoleArn / executionRoleArn.
    (
        "ecs:RegisterTaskDefinition",
        "iam:PassRole",
        "a task definition naming a task role or execution role passes that role to ECS "
        "(ECS Developer Guide, 'Task IAM role'; the aws-actions/amazon-ecs-deploy-task-definition "
        "README's minimum policy pairs RegisterTaskDefinition with iam:PassRole on those roles)",
    ),
    # The migration task runs a revision that names a task role or execution role.
    (
        "ecs:RunTask",
        "iam:PassRole",
        "RunTask passes the task definition's task role and execution role to ECS (ECS Developer "
        "Guide, 'Task IAM role' and 'Task execution IAM role'; Step Functions' policy for its ECS "
        "RunTask integration grants iam:PassRole on those roles with ecs:RunTask)",
    ),
    # berth's AppSpec goes in CreateDeployment as AppSpecContent; CodeDeploy registers it.
    (
        "codedeploy:CreateDeployment",
        "codedeploy:RegisterApplicationRevision",
        "CreateDeployment registers the revision it deploys with the application (the "
        "aws-actions/amazon-ecs-deploy-task-definition README's minimum CodeDeploy policy: "
        "RegisterApplicationRevision on the application, though the action never calls it)",
    ),
    (
        "codedeploy:CreateDeployment",
        "codedeploy:GetDeploymentConfig",
        "CreateDeployment reads the deployment group's deployment configuration (same README: "
        "GetDeploymentConfig on deploymentconfig:*)",
    ),
]


def implied_by(called: set[str]) -> dict[str, str]:
    """implied action -> the called action that implies it."""
    return {implied: trigger for trigger, implied, _ in IMPLIED if trigger in called}


# ============================================================================ reading the template


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, ...) as {"Ref": ..}, {"Sub": ..}."""


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix: value}


CfnLoader.add_multi_constructor("!", _tag)


def load_template(text: str | None = None) -> dict:
    return yaml.load(text if text is not None else TEMPLATE_PATH.read_text(), Loader=CfnLoader)


def intrinsic(v):
    """(name, argument) for {"Ref": x} / {"Fn::Sub": x} / {"Sub": x}, else (None, None)."""
    if isinstance(v, dict) and len(v) == 1:
        ((k, arg),) = v.items()
        k = k[4:] if k.startswith("Fn::") else k
        if k in ("Ref", "Sub", "If", "GetAtt", "Join", "Select", "Split", "Condition"):
            return k, arg
    return None, None


PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "berth",
    "AWS::URLSuffix": "amazonaws.com",
}
# Example values for parameters without a usable default; each must satisfy its parameter's own
# AllowedPattern (test_parameter_examples_are_valid), so the shapes checked are installable ones.
PARAMETER_EXAMPLES: dict[str, str | list[str]] = {
    "ClusterName": "prod",
    "TaskRoleArns": ["arn:aws:iam::123456789012:role/web-task", "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"],
    "CodeDeployApplications": "web-*",
    "CodeDeployDeploymentGroups": "web-blue-green",
}
# What !GetAtt X.Arn looks like, by resource type (for resources referenced in policies).
GETATT_ARN = {
    "AWS::SQS::Queue": "arn:aws:sqs:eu-west-1:123456789012:queue",
    "AWS::SNS::Topic": "arn:aws:sns:eu-west-1:123456789012:topic",
    "AWS::Logs::LogGroup": "arn:aws:logs:eu-west-1:123456789012:log-group:group:*",
    "AWS::Serverless::Function": "arn:aws:lambda:eu-west-1:123456789012:function:fn",
    "AWS::Serverless::StateMachine": "arn:aws:states:eu-west-1:123456789012:stateMachine:sm",
}


def parameter_value(template: dict, name: str):
    if name in PSEUDO:
        return PSEUDO[name]
    if name in PARAMETER_EXAMPLES:
        return PARAMETER_EXAMPLES[name]
    param = template.get("Parameters", {}).get(name)
    if param is None:
        resource = template["Resources"].get(name)
        assert resource is not None, f"!Ref {name}: neither a parameter nor a resource"
        return {
            "AWS::SNS::Topic": GETATT_ARN["AWS::SNS::Topic"],
            "AWS::SQS::Queue": "https://sqs.eu-west-1.amazonaws.com/123456789012/queue",
        }.get(resource["Type"], name)
    default = param.get("Default")
    assert default not in (None, ""), f"parameter {name} has no default: add it to PARAMETER_EXAMPLES"
    if param.get("Type") == "CommaDelimitedList":
        return [x.strip() for x in str(default).split(",")]
    return str(default)


def resolve(template: dict, v) -> list[str]:
    """Every string `v` can be once deployed (both branches of an !If), parameters replaced by
    their defaults or PARAMETER_EXAMPLES; unknown intrinsics fail loudly."""
    if isinstance(v, str):
        return [v]
    if isinstance(v, list):
        return [s for x in v for s in resolve(template, x)]
    k, arg = intrinsic(v)
    if k == "Ref":
        if arg == "AWS::NoValue":
            return []
        value = parameter_value(template, arg)
        return value if isinstance(value, list) else [value]
    if k == "Sub":
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        outs = [""]
        for part in re.split(r"(\$\{[^}]+\})", text):
            if part.startswith("${!"):
                vals = ["${" + part[3:]]
            elif part.startswith("${"):
                name = part[2:-1]
                if name in extra:
                    vals = resolve(template, extra[name])
                elif "." in name:
                    vals = resolve(template, {"GetAtt": name})
                else:
                    vals = [
                        str(x) for x in (lambda p: p if isinstance(p, list) else [p])(parameter_value(template, name))
                    ]
            else:
                vals = [part]
            outs = [o + x for o in outs for x in vals]
        return outs
    if k == "If":
        _, yes, no = arg
        return resolve(template, yes) + resolve(template, no)
    if k == "GetAtt":
        logical, attr = arg.split(".", 1) if isinstance(arg, str) else arg
        rtype = template["Resources"][logical]["Type"]
        assert attr == "Arn" and rtype in GETATT_ARN, f"!GetAtt {logical}.{attr}: teach GETATT_ARN its shape"
        return [GETATT_ARN[rtype]]
    raise AssertionError(f"cannot resolve {v!r} in a policy: teach resolve() this intrinsic")


@dataclass
class Grant:
    sid: str
    actions: list[str]
    resources: list[tuple[str, list[str]]]  # (as written, every ARN it can resolve to)


def label(written) -> str:
    """A resource as the template writes it, short: `service/${ClusterName}/${ServiceNames}`."""
    k, arg = intrinsic(written)
    if k == "Ref" and not isinstance(arg, str):
        return str(arg)
    if k == "Sub":

        def inner(x) -> str:
            """A substituted value: a Ref as `${Name}`, anything else as label() shows it."""
            return f"${{{intrinsic(x)[1]}}}" if intrinsic(x)[0] == "Ref" else label(x)

        text, extra = (arg, {}) if isinstance(arg, str) else arg
        for name, value in extra.items():
            vk, varg = intrinsic(value)
            shown = "{" + " or ".join(inner(x) for x in varg[1:]) + "}" if vk == "If" else inner(value)
            text = text.replace(f"${{{name}}}", shown)
        return re.sub(r"^arn:\$\{AWS::Partition\}:[a-z0-9-]+:(\$\{AWS::Region\})?:(\$\{AWS::AccountId\})?:", "", text)
    if k == "Ref":
        return f"!Ref {arg}"
    return str(written)


def function_grants(template: dict, policies: list) -> list[Grant]:
    grants = []
    for policy in policies or []:
        assert isinstance(policy, dict) and set(policy) == {"Statement"}, (
            f"policy {policy!r}: the contract reads inline Statement documents only; a SAM policy "
            "template or managed policy would grant what it cannot check"
        )
        for st in policy["Statement"]:
            assert st.get("Effect") == "Allow", f"statement {st.get('Sid')}: only Allow statements are read"
            assert "NotAction" not in st and "NotResource" not in st, (
                f"statement {st.get('Sid')}: NotAction/NotResource"
            )
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            written = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            grants.append(Grant(st.get("Sid", "?"), actions, [(label(w), resolve(template, w)) for w in written]))
    return grants


def functions(template: dict) -> dict[str, dict]:
    """state -> {"logical": id, "binary": name, "grants": [Grant]} for every
    AWS::Serverless::Function. Every function runs the same binary (`Metadata.BuildProperties.Binary`,
    berth-lambda); its `Environment.Variables.BERTH_STATE` picks the state it serves."""
    out: dict[str, dict] = {}
    for logical, res in template["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        state = ((res["Properties"].get("Environment") or {}).get("Variables") or {}).get("BERTH_STATE")
        assert isinstance(state, str) and state, f"{logical}: no literal Environment.Variables.BERTH_STATE"
        assert state not in out, f"{logical} and {out[state]['logical']} both serve BERTH_STATE {state}"
        out[state] = {
            "logical": logical,
            "binary": res["Metadata"]["BuildProperties"]["Binary"],
            "grants": function_grants(template, res["Properties"].get("Policies")),
        }
    return out


def lambda_states(main_rs: Path) -> list[tuple[str, str]]:
    """[(BERTH_STATE name, crate whose `serve` runs it)] as the `states!` table of the binary's
    main.rs (lambda/src/main.rs) lists them, in order, duplicates kept."""
    text = main_rs.read_text()
    table = re.search(r"^states!\s*\{(.*?)^\}", text, re.S | re.M)
    assert table, f"{main_rs}: no `states! {{ ... }}` table"
    pairs = re.findall(r'"([^"]+)"\s*=>\s*(\w+)', table.group(1))
    assert pairs, f'{main_rs}: no "state" => crate entry in the states! table'
    return pairs


def function_sdk_calls(template: dict, workspace: Workspace) -> dict[str, dict[str, list[str]]]:
    """state -> IAM action -> sites, for every function of the template: what its binary's `main`
    reaches (it runs in every function, before the state is chosen) and what the `serve` of the
    crate the binary's `states!` table names for the function's BERTH_STATE reaches."""
    out = {}
    for state, fn in sorted(functions(template).items()):
        binary = fn["binary"].replace("-", "_")
        assert binary in workspace.crate_dirs, f"{fn['logical']}: Binary {fn['binary']} is no workspace crate"
        main_rs = workspace.crate_dirs[binary] / "src" / "main.rs"
        assert main_rs.exists(), f"{fn['logical']}: Binary {fn['binary']} has no src/main.rs"
        states = dict(lambda_states(main_rs))
        assert state in states, (
            f"{fn['logical']}: BERTH_STATE {state} is no state of {main_rs.relative_to(workspace.root)}"
        )
        crate = states[state]
        assert crate in workspace.crate_dirs, f"{fn['logical']}: state {state} runs {crate}, no workspace crate"
        called: dict[str, list[str]] = {}
        for krate, entry in ((binary, "main"), (crate, "serve")):
            for action, sites in workspace.reachable_sdk_calls(krate, entry).items():
                called.setdefault(action, []).extend(sites)
        out[state] = called
    return out


# ============================================================================ the checker


def arn_format_regex(fmt: str) -> re.Pattern:
    """cfn-lint's ARN formats keep `${Partition}`/`${Region}`/`${Account}` and turn the
    variable tail into `.*`."""
    parts = re.split(r"(\$\{[^}]+\})", fmt)
    rx = "".join(
        {"${Partition}": "[^:]+", "${Region}": "[^:]*", "${Account}": "[^:]*"}.get(p, "[^:]*")
        if p.startswith("${")
        else re.escape(p).replace(r"\.\*", ".*")
        for p in parts
    )
    return re.compile(rx + r"\Z", re.I)


def resource_types_matching(auth: dict, action: str, resource: str) -> list[str]:
    """The action's resource types whose ARN shape the granted resource has (IAM wildcards in the
    grant stand for any text)."""
    prefix, name = action.split(":", 1)
    service = auth[prefix]
    types = service["Actions"][name.lower()].get("Resources", [])
    sample = resource.replace("*", "x").replace("?", "x")
    found = [
        t
        for t in types
        if any(arn_format_regex(f).match(sample) for f in service["Resources"][t.lower()]["ARNFormats"])
    ]
    # cfn-lint's formats are coarse (task-definition and daemon-task-definition are both
    # `ecs:...:.*`): for the table, prefer the types the ARN names literally.
    named = [t for t in found if re.search(rf"[:/]{re.escape(t)}[:/]", resource, re.I)]
    return named or found


@dataclass
class Row:
    function: str
    action: str
    resource: str
    status: str
    evidence: str


def canonical(auth: dict, action: str) -> str:
    """`ecs:updateservice` -> `ecs:UpdateService` (botocore's spelling; the data is lowercase)."""
    prefix, name = action.split(":", 1)
    for crate, (_, p) in SDK_CRATES.items():
        if p == prefix:
            for full in sdk_operations()[crate].values():
                if full.lower() == action.lower():
                    return full
    return action


def check(auth: dict, function: str, called: dict[str, list[str]], grants: list[Grant]) -> tuple[list[str], list[Row]]:
    """Problems (empty = the contract holds) and the table rows for one function:
    (a) every called or implied action is granted; (b) each granted resource has the shape of one
    of the action's resource types, and an action with none is granted on "*" only; (c) nothing is
    granted that is neither called nor implied."""
    problems, rows = [], []
    needed = {a: f"called at {', '.join(w[:2])}{' …' if len(w) > 2 else ''}" for a, w in called.items()}
    needed.update({a: f"implied by {t}" for a, t in implied_by(set(called)).items() if a not in needed})

    def data_for(action: str):
        prefix, name = action.split(":", 1)
        return auth.get(prefix, {}).get("Actions", {}).get(name.lower())

    for action in sorted(needed):
        if data_for(action) is None:
            problems.append(
                f"{function}: {action} is not in AWS's authorization data (cfn-lint's "
                "Policies.json): update cfn-lint or check the action's IAM name"
            )
    # Expand each statement's action patterns over the data's actions.
    granted: dict[str, list[tuple[str, list[str], str]]] = {}
    for g in grants:
        for pattern in g.actions:
            prefix = pattern.split(":", 1)[0]
            matches = [
                f"{prefix}:{a}"
                for a in auth.get(prefix, {}).get("Actions", {})
                if fnmatch.fnmatchcase(f"{prefix}:{a}", pattern.lower())
            ]
            if not matches:
                problems.append(
                    f"{function}: statement {g.sid} grants {pattern}, which matches no action "
                    "in AWS's authorization data"
                )
            for a in matches:
                action = next((n for n in needed if n.lower() == a), None) or canonical(auth, a)
                if not any(ch in pattern for ch in "*?"):
                    action = next((n for n in needed if n.lower() == a), pattern)
                for written, alternatives in g.resources:
                    granted.setdefault(action, []).append((written, alternatives, g.sid))
    # (c) and (b)
    for action, grants_of in sorted(granted.items()):
        if action not in needed:
            problems.append(
                f"{function}: {action} is granted (statement {grants_of[0][2]}) but no code of "
                f"{function} calls it and nothing implies it"
            )
            continue
        types = data_for(action).get("Resources", []) if data_for(action) is not None else []
        for _written, alternatives, sid in grants_of:
            for r in alternatives:
                if r == "*":
                    continue
                if not types:
                    problems.append(
                        f"{function}: {action} supports no resource-level permissions; statement "
                        f"{sid} grants it on {r}, which AWS denies: grant it on '*'"
                    )
                elif not resource_types_matching(auth, action, r):
                    problems.append(
                        f"{function}: {action} on {r} (statement {sid}) matches none of its resource types {types}"
                    )
    # (a), and the table
    for action in sorted(needed):
        grants_of = granted.get(action, [])
        if not grants_of:
            problems.append(f"{function}: calls {action} ({needed[action]}) but its role does not grant it")
            rows.append(Row(function, action, "-", "MISSING", needed[action]))
            continue
        types = (data_for(action) or {}).get("Resources", [])
        for written, alternatives, _sid in grants_of:
            if alternatives == ["*"]:
                note = f"* (could be {', '.join(types)})" if types else "* (no resource type: must be *)"
                rows.append(Row(function, action, note, "OK", needed[action]))
                continue
            kinds = [resource_types_matching(auth, action, r) if types else [] for r in alternatives]
            ok = all(kinds) and bool(types)
            kind = ", ".join(sorted({k for ks in kinds for k in ks})) or ("none supported" if not types else "no match")
            rows.append(Row(function, action, f"{kind}: `{written}`", "OK" if ok else "DENIED", needed[action]))
    return problems, rows


def contract(template: dict | None = None, workspace: Workspace | None = None):
    """(problems, rows) for every function of the template."""
    template = template or load_template()
    workspace = workspace or Workspace()
    auth = authorization_data()
    problems, rows = [], []
    calls = function_sdk_calls(template, workspace)
    for state, fn in sorted(functions(template).items()):
        p, r = check(auth, state, calls[state], fn["grants"])
        problems += p
        rows += r
        if not r:
            rows.append(Row(state, "(no AWS calls)", "-", "OK", "-"))
    return problems, rows


def render(rows: list[Row]) -> str:
    lines = [
        "# berth IAM contract",
        "",
        "Generated by tests/test_iam_contract.py from the Rust source, template.yaml and AWS's",
        "authorization data (cfn-lint's Policies.json). Regenerate:",
        "`.berth/venv/bin/pytest tests/test_iam_contract.py -q -s -k table`.",
        "",
        "| function | action | resource type (granted resource) | granted | why needed |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {r.function} | {r.action} | {r.resource} | {r.status} | {r.evidence} |" for r in rows]
    lines += ["", "Implied permissions (not SDK operations; tests/test_iam_contract.py IMPLIED):", ""]
    lines += [f"- {implied} with {trigger}: {why}" for trigger, implied, why in IMPLIED]
    return "\n".join(lines) + "\n"


# ============================================================================ tests


@pytest.fixture(scope="module")
def workspace():
    return Workspace()


@pytest.fixture(scope="module")
def auth():
    return authorization_data()


def test_every_function_is_granted_exactly_what_its_code_calls(workspace):
    problems, _ = contract(workspace=workspace)
    assert not problems, "\n".join(problems)


def test_table(workspace):
    """Writes .berth/iam-contract.md and prints it (visible with -s)."""
    problems, rows = contract(workspace=workspace)
    TABLE_PATH.parent.mkdir(exist_ok=True)
    TABLE_PATH.write_text(render(rows))
    print("\n" + render(rows))
    assert rows


def test_the_authorization_data_knows_every_sdk_operation_berth_calls(auth, workspace):
    """No silent pass: an operation whose IAM action the data lacks fails here (e.g. an ECS
    operation newer than the pinned cfn-lint's data)."""
    called = set()
    for actions in function_sdk_calls(load_template(), workspace).values():
        called |= set(actions)
    assert called, "found no SDK call at all: the Rust reader is broken"
    missing = [a for a in sorted(called) if a.split(":")[1].lower() not in auth[a.split(":")[0]]["Actions"]]
    assert not missing, f"not in cfn-lint's Policies.json: {missing}"


def test_every_sdk_call_in_the_product_is_reached_by_some_function(workspace):
    """An SDK call no function reaches (from berth-lambda's main or its state's serve) is dead
    code, or a call path the reader cannot follow (which would leave its permission ungranted
    unnoticed)."""
    reached = set()
    for actions in function_sdk_calls(load_template(), workspace).values():
        for sites in actions.values():
            reached |= set(sites)
    everywhere = set()
    for fn in [f for fs in workspace.free.values() for f in fs] + [m for ms in workspace.methods.values() for m in ms]:
        for _, method, line in workspace.calls(fn)[0]:
            everywhere.add(f"{fn.path.relative_to(workspace.root)}:{line} {method}")
    unreached = sorted(e for e in everywhere if e.split(" ")[0] not in reached)
    assert not unreached, f"SDK calls no Lambda reaches: {unreached}"


def test_the_rust_reader_sees_calls_through_shared_modules_and_init(workspace):
    """Guards the reader: calls made in shared modules, in a function's init (its crate's `serve`,
    which berth-lambda's main runs for the function's BERTH_STATE), and through a trait object are
    attributed to the functions that reach them, and only to those."""
    calls = function_sdk_calls(load_template(), workspace)
    plan = calls["plan-deployment"]
    assert "ecs:ListClusters" in plan  # berth::aws::warm_up_ecs at init, and mapped_services
    assert any("shared/src/aws.rs" in w for w in plan["ecs:ListClusters"])
    hook = calls["codedeploy-hook"]
    assert "cloudwatch:GetMetricData" in hook  # LiveChecker::canary via &dyn Checker
    assert "codedeploy:PutLifecycleEventHookExecutionStatus" in hook
    stability = calls["check-stability"]
    assert "ssm:GetParameter" in stability  # codedeploy::read_verdict
    assert "ssm:PutParameter" not in stability  # record_verdict sits in the same module, unreached
    assert "codedeploy:CreateDeployment" not in stability
    # reads what runs, last, and publishes each service's FINISHED event (shared/src/events.rs)
    assert set(calls["summarize"]) == {"ecs:DescribeServices", "events:PutEvents"}
    assert any("shared/src/events.rs" in w for w in calls["summarize"]["events:PutEvents"])
    assert "events:PutEvents" not in calls["check-stability"]  # publishes nothing
    # one binary serves every state: its main reaches no state's calls (they are each state's own)
    assert workspace.reachable_sdk_calls("berth_lambda") == {}
    assert set(workspace.reachable_sdk_calls("summarize", "serve")) == {"ecs:DescribeServices", "events:PutEvents"}


def test_every_function_is_read_from_the_crate_its_berth_state_runs(workspace):
    """The contract follows BERTH_STATE through berth-lambda's `states!` table; a function whose
    state the binary does not serve, or two functions serving one state, are refused."""
    template = load_template()
    assert set(function_sdk_calls(template, workspace)) == set(functions(template))
    typo = copy.deepcopy(template)
    typo["Resources"]["SummarizeFunction"]["Properties"]["Environment"]["Variables"]["BERTH_STATE"] = "sumarize"
    with pytest.raises(AssertionError, match="BERTH_STATE sumarize is no state of lambda/src/main.rs"):
        function_sdk_calls(typo, workspace)
    twice = copy.deepcopy(template)
    twice["Resources"]["SummarizeFunction"]["Properties"]["Environment"]["Variables"]["BERTH_STATE"] = "rollback"
    with pytest.raises(AssertionError, match="both serve BERTH_STATE rollback"):
        functions(twice)


# ---------------------------------------------------------------- the checker can fail

SYNTHETIC = """
Resources:
  F:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: berth-lambda}}
    Properties:
      Environment: {Variables: {BERTH_STATE: f}}
      Policies:
        - Statement:
            - Sid: S
              Effect: Allow
              Action: [%s]
              Resource: %s
"""


def synthetic(actions: str, resource: str) -> list[Grant]:
    t = load_template(SYNTHETIC % (actions, resource))
    return functions(t)["f"]["grants"]


def test_checker_catches_a_resource_on_an_action_that_supports_none(auth):
    grants = synthetic(
        "codedeploy:PutLifecycleEventHookExecutionStatus",
        "!Sub arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:*",
    )
    problems, rows = check(auth, "f", {"codedeploy:PutLifecycleEventHookExecutionStatus": ["x.rs:1"]}, grants)
    assert any("supports no resource-level permissions" in p for p in problems), problems
    assert rows[0].status == "DENIED"
    fixed = synthetic("codedeploy:PutLifecycleEventHookExecutionStatus", "'*'")
    assert check(auth, "f", {"codedeploy:PutLifecycleEventHookExecutionStatus": ["x.rs:1"]}, fixed)[0] == []


def test_checker_catches_a_resource_of_the_wrong_type(auth):
    grants = synthetic(
        "codedeploy:RegisterApplicationRevision, codedeploy:CreateDeployment",
        "!Sub arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:*",
    )
    problems, _ = check(auth, "f", {"codedeploy:CreateDeployment": ["x.rs:1"]}, grants)
    assert any("RegisterApplicationRevision on" in p and "matches none" in p for p in problems), problems


def test_checker_catches_a_granted_but_uncalled_action(auth):
    grants = synthetic(
        "ecs:DescribeServices, ecs:UpdateService",
        "'*'",
    )
    problems, _ = check(auth, "f", {"ecs:DescribeServices": ["x.rs:1"]}, grants)
    assert problems == [
        "f: ecs:UpdateService is granted (statement S) but no code of f calls it and nothing implies it"
    ]


def test_checker_catches_a_called_but_ungranted_action(auth):
    grants = synthetic("ecs:DescribeServices", "'*'")
    problems, rows = check(
        auth, "f", {"ecs:DescribeServices": ["a.rs:1"], "cloudwatch:DescribeAlarms": ["b.rs:2"]}, grants
    )
    assert problems == ["f: calls cloudwatch:DescribeAlarms (called at b.rs:2) but its role does not grant it"]
    assert [r.status for r in rows if r.action == "cloudwatch:DescribeAlarms"] == ["MISSING"]


def test_checker_requires_what_an_operation_implies(auth):
    grants = synthetic(
        "ecs:RegisterTaskDefinition",
        "!Sub arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-definition/web:*",
    )
    problems, _ = check(auth, "f", {"ecs:RegisterTaskDefinition": ["a.rs:1"]}, grants)
    assert any("ecs:TagResource" in p and "does not grant" in p for p in problems), problems
    assert any("iam:PassRole" in p and "does not grant" in p for p in problems), problems


def test_checker_catches_an_action_unknown_to_the_authorization_data(auth):
    problems, _ = check(auth, "f", {"ecs:DescribeUnicorns": ["a.rs:1"]}, synthetic("ecs:DescribeServices", "'*'"))
    assert any("ecs:DescribeUnicorns is not in AWS's authorization data" in p for p in problems), problems
    problems, _ = check(auth, "f", {}, synthetic("ecs:DescribeUnicorns", "'*'"))
    assert any("grants ecs:DescribeUnicorns, which matches no action" in p for p in problems), problems


def test_reader_finds_calls_by_receiver_type_and_ignores_test_code(tmp_path):
    """A tiny workspace: a function crate (a library: `serve` is its entry) calling through a
    shared crate; calls inside #[cfg(test)] and in an unreached shared function do not count."""
    (tmp_path / "lib" / "src").mkdir(parents=True)
    (tmp_path / "functions" / "fx" / "src").mkdir(parents=True)
    (tmp_path / "lib" / "Cargo.toml").write_text('[package]\nname = "lib"\n')
    (tmp_path / "functions" / "fx" / "Cargo.toml").write_text('[package]\nname = "fx"\n')
    (tmp_path / "lib" / "src" / "lib.rs").write_text("pub mod cw;\n#[cfg(test)]\nmod tests;\n")
    (tmp_path / "lib" / "src" / "cw.rs").write_text(
        "use aws_sdk_cloudwatch::Client;\n"
        "pub async fn alarms(cw: &Client) { cw.describe_alarms().send().await; }\n"
        "pub async fn unused(cw: &Client) { cw.put_metric_data().send().await; }\n"
        "#[cfg(test)]\nmod tests { fn t(cw: &Client) { cw.delete_alarms(); } }\n"
    )
    (tmp_path / "lib" / "src" / "tests.rs").write_text("fn t(cw: &aws_sdk_cloudwatch::Client) { cw.list_metrics(); }\n")
    (tmp_path / "functions" / "fx" / "src" / "lib.rs").write_text(
        "mod handler;\npub async fn serve() {\n    // ecs.list_clusters() in a comment\n"
        '    let s = "x.describe_services()";\n    let ecs = aws_sdk_ecs::Client::new(&c);\n'
        "    ecs.list_clusters().send().await;\n    handler::run(&ecs).await;\n}\n"
    )
    (tmp_path / "functions" / "fx" / "src" / "handler.rs").write_text(
        "use lib::cw::*;\npub async fn run(ecs: &aws_sdk_ecs::Client, cw: &aws_sdk_cloudwatch::Client) {\n"
        "    alarms(cw).await;\n}\n"
    )
    ws = Workspace(tmp_path)
    assert set(ws.reachable_sdk_calls("fx", "serve")) == {"ecs:ListClusters", "cloudwatch:DescribeAlarms"}
    with pytest.raises(AssertionError, match="fx: no fn main"):
        ws.reachable_sdk_calls("fx")


def test_parameter_examples_are_valid():
    params = load_template()["Parameters"]
    for name, value in PARAMETER_EXAMPLES.items():
        pattern = params[name].get("AllowedPattern")
        assert pattern, f"{name} has no AllowedPattern to check the example against"
        for v in value if isinstance(value, list) else [value]:
            assert re.fullmatch(pattern, v), f"{name} example {v!r} does not match {pattern}"


if __name__ == "__main__":
    found, table = contract()
    TABLE_PATH.parent.mkdir(exist_ok=True)
    TABLE_PATH.write_text(render(table))
    print(render(table))
    print("\n".join(found) or "contract holds")
    sys.exit(1 if found else 0)
