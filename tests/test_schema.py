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
EXAMPLES = [ROOT / "examples" / "request.json", ROOT / "examples" / "request-minimal.json"]
REFUSED = json.loads((ROOT / "schema" / "refused.json").read_text())["cases"]


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def problems(validator: Draft202012Validator, request) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(request)]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_the_examples_are_valid(validator, example):
    assert problems(validator, json.loads(example.read_text())) == []


def test_the_readme_request_is_valid(validator):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Starting a deployment by hand", 1)[1]
    block = re.search(r"```json\n(.*?)\n```", section, re.S).group(1)
    assert problems(validator, json.loads(block)) == []


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
