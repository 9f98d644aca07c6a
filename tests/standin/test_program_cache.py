"""Parsed programs (sfn_patch, patch 9; README "Exact moto patches"): each definition is parsed once
and its program shared by every execution of it, each execution keeping its own state."""

from __future__ import annotations

import json
import re

from .conftest import wait_for

ROOT_DEFINITION = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Hold",
                "States": {
                    "Hold": {"Type": "Wait", "Seconds": 1, "Next": "Keep"},
                    "Keep": {"Type": "Pass", "Parameters": {"item.$": "$"}, "End": True},
                },
            },
            "ResultPath": "$.kept",
            "Next": "Pick",
        },
        "Pick": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"}],
            "Default": "Small",
        },
        "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "End": True},
        "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "End": True},
    },
}


def test_executions_of_one_definition_run_side_by_side_each_with_its_own_state(standin):
    # GIVEN a machine whose Map, Wait and Choice hold per-execution state, sped up
    standin.control("config", {"time_scale": 10})
    sfn = standin.client("stepfunctions")
    sm = sfn.create_state_machine(
        name="shared-program", definition=json.dumps(ROOT_DEFINITION), roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    # WHEN twenty executions with different inputs start at once
    inputs: dict[str, dict] = {f"x{n}": {"n": n, "items": [f"{n}-{i}" for i in range(n % 4 + 1)]} for n in range(20)}
    arns = {
        name: sfn.start_execution(stateMachineArn=sm, name=name, input=json.dumps(doc))["executionArn"]
        for name, doc in inputs.items()
    }

    def ended():
        done = {name: sfn.describe_execution(executionArn=arn) for name, arn in arns.items()}
        return done if all(d["status"] != "RUNNING" for d in done.values()) else None

    done = wait_for(ended, timeout=60, what="twenty executions")
    # THEN each ends with its own input's result, none with another's
    for name, doc in inputs.items():
        assert done[name]["status"] == "SUCCEEDED", done[name]
        out = json.loads(done[name]["output"])
        assert out["kept"] == [{"item": i} for i in doc["items"]], (name, out)
        assert out["size"] == ("big" if doc["n"] > 10 else "small"), (name, out)


def test_a_shared_program_has_every_heap_key_made_before_it_is_shared():
    # GIVEN a program parsed as moto parses one (definition substitutions filled in)
    from moto.stepfunctions.parser.asl.component.component import Component
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    from .conftest import ROOT
    from .sfn_patch import _settle_heap_keys

    text = (ROOT / "statemachine" / "deploy.asl.json").read_text()
    text = re.sub(r"\$\{(\w+)\}", "arn:aws:lambda:us-east-1:123456789012:function:f", text)
    program = AmazonStateLanguageParser.parse(text)[0]
    # WHEN it is settled
    _settle_heap_keys(program)
    # THEN no component makes its heap key on first use any more (two executions could each make one)
    seen: set[int] = set()
    todo: list = [program]
    components, unset = 0, []
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, EvalComponent):
            components += 1
            if obj.__dict__.get("_EvalComponent__heap_key") is None:
                unset.append(type(obj).__name__)
        if isinstance(obj, Component):
            todo.extend(vars(obj).values())
        elif isinstance(obj, list | tuple | set | dict):
            todo.extend(obj.values() if isinstance(obj, dict) else obj)
    assert components > 100 and unset == [], (components, unset[:10])
