"""The console request's JSON Schema (schema/request.schema.json, generated from the Rust types by
`BERTH_BLESS=1 cargo test -p berth-schema`): the examples and README's request pass it, and the
requests berth refuses (schema/refused.json, each also checked against Plan's checks in
schema/src/requests.rs) are refused by it too."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "schema" / "request.schema.json"
EXAMPLES = [
    ROOT / "examples" / "request.json",
    ROOT / "examples" / "request-minimal.json",
    ROOT / "examples" / "request-analysis.json",
    ROOT / "examples" / "request-release.json",
]
REFUSED = json.loads((ROOT / "schema" / "refused.json").read_text())["cases"]


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def problems(validator: Draft202012Validator, request) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(request)]


def json_block(section: str) -> str:
    """The first ```json block of a README section."""
    m = re.search(r"```json\n(.*?)\n```", section, re.S)
    assert m, f"no ```json block in {section[:80]!r}"
    return m.group(1)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_the_examples_are_valid(validator, example):
    assert problems(validator, json.loads(example.read_text())) == []


def test_the_readme_request_is_valid(validator):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Starting a deployment by hand", 1)[1]
    assert problems(validator, json.loads(json_block(section))) == []


def test_the_readme_analysis_request_is_valid(validator):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Statistical canary analysis", 1)[1]
    assert problems(validator, json.loads(json_block(section))) == []


@pytest.mark.parametrize("case", REFUSED, ids=[c["why"] for c in REFUSED])
def test_what_berth_refuses_the_schema_refuses(validator, case):
    assert problems(validator, case["request"]), f"the schema accepts {case['why']} (berth: {case['rust']})"


def test_the_refused_requests_cover_the_usual_mistakes():
    whys = " | ".join(c["why"] for c in REFUSED)
    for mistake in ("comparision", "unknown top-level key", "a number as a string", "a string as a number"):
        assert mistake in whys, mistake


def test_a_misspelt_field_is_named_where_it_is(validator):
    misspelt = next(c["request"] for c in REFUSED if "comparision" in c["why"])
    error = best_match(validator.iter_errors(misspelt))
    assert list(error.absolute_path) == ["canary", "metrics", 0]
    assert "'comparision' was unexpected" in error.message


# ---------------------------------------------------------------- deployment events

EVENT_SCHEMA_PATH = ROOT / "schema" / "event.schema.json"


@pytest.fixture(scope="module")
def event_validator() -> Draft202012Validator:
    schema = json.loads(EVENT_SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_the_readme_event_is_valid(event_validator):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deployment events", 1)[1]
    event = json.loads(json_block(section))
    assert (event["source"], event["detail-type"]) == ("berth", "berth Deployment State Change")
    assert problems(event_validator, event["detail"]) == []


def test_the_approval_event_the_state_machine_puts_is_valid(event_validator):
    """AWAITING_APPROVAL is built in the ASL (AwaitApproval's PutEvents entry), not in Rust: fill
    its paths with what they read and check it against the schema the Lambdas' events follow."""
    asl = json.loads((ROOT / "statemachine" / "service.asl.json").read_text())
    states = asl["States"]
    entries = [
        s["Parameters"]["Entries"]
        for s in states.values()
        if s.get("Resource", "").startswith("arn:aws:states:::events:putEvents")
    ]
    assert entries, "no PutEvents state in the service machine"
    sample = {
        "$.cluster": "prod",
        "$.service": "web",
        "$.image": "repo/web@sha256:aa",
        "$.deploymentId": "d",
        "$$.Execution.Id": "arn:aws:states:r:1:execution:m:x",
        "$$.Task.Token": "token",
        "$.approval.timeoutSeconds": 3600,
        "$.execution.id": "arn:aws:states:r:1:execution:m:x",
    }

    def fill(v):
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                if k.endswith(".$"):
                    out[k[:-2]] = sample.get(x, "berth approve x | berth reject x" if "Format" in x else None)
                else:
                    out[k] = fill(x)
            return out
        return v

    for entry in [e for es in entries for e in es]:
        assert (entry["Source"], entry["DetailType"]) == ("berth", "berth Deployment State Change")
        detail = fill(entry["Detail"])
        assert problems(event_validator, detail) == [], detail
        assert detail["phase"] == "AWAITING_APPROVAL"
