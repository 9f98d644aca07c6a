"""scripts/bench-init's peer knows every state the template declares, and what each one's init builds."""

from __future__ import annotations

import re

from ..e2e.harness import ROOT
from .boto3_peer import CLIENTS, WARMS_ECS
from .init_time import states

SDK_TO_BOTO3 = {
    "ecs": "ecs",
    "sfn": "stepfunctions",
    "codedeploy": "codedeploy",
    "cloudwatch": "cloudwatch",
    "ssm": "ssm",
    "ecr": "ecr",
}


def test_the_peer_has_an_init_for_every_state_of_the_template():
    assert sorted(CLIENTS) == sorted(states())


def test_the_peer_builds_the_clients_each_states_init_builds():
    for state, clients in CLIENTS.items():
        lib = (ROOT / "functions" / state / "src" / "lib.rs").read_text()
        built = {SDK_TO_BOTO3[m] for m in re.findall(r"aws_sdk_(\w+)::Client::new", lib)}
        if "berth::aws::ecs_client" in lib:
            built.add("ecs")
        if "Publisher::from_env" in lib:
            built.add("events")
        assert sorted(clients) == sorted(built), state
        assert (state in WARMS_ECS) == ("berth::aws::ecs_client" in lib), state
