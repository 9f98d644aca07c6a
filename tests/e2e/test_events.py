"""berth's deployment events end to end: the Lambdas publish to the stand-in's EventBridge (moto),
rules with SQS targets capture them, and moto's own pattern matching decides what a rule routes.

Each event must validate against schema/event.schema.json; the failures-only rule README shows must
route the failure and not the success.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from .harness import REGISTRY, ROOT, digest_of, ecr_push_event

OLD = digest_of("web v1")
NEW = digest_of("web v2")
SCHEMA = json.loads((ROOT / "schema" / "event.schema.json").read_text())
SOURCE, DETAIL_TYPE = "berth", "berth Deployment State Change"
EVERY_EVENT = {"source": [SOURCE]}


def readme_rule() -> dict:
    """The failures-only pattern README shows under "Deployment events" (its second ```json block)."""
    readme = Path(ROOT / "README.md").read_text()
    section = readme.split("## Deployment events", 1)[1]
    blocks = section.split("```json\n")
    return json.loads(blocks[2].split("\n```", 1)[0])


class Capture:
    """An EventBridge rule on the default bus whose target is an SQS queue, as a user would wire it."""

    def __init__(self, berth, name: str, pattern: dict):
        self.sqs = berth.client("sqs")
        events = berth.client("events")
        self.queue = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=name, Targets=[{"Id": name, "Arn": arn}])
        self.seen: list[dict] = []

    def drain(self) -> list[dict]:
        while True:
            msgs = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return self.seen
            for m in msgs:
                self.seen.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])

    def of(self, execution: str) -> list[dict]:
        return [e for e in self.drain() if e["detail"].get("execution") == execution]

    def wait_for_finished(self, execution: str, timeout: float = 20) -> list[dict]:
        """summarize publishes FINISHED just before the execution ends: give it a moment to land."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.of(execution)
            if any(e["detail"]["phase"] == "FINISHED" for e in got):
                return got
            time.sleep(0.2)
        raise AssertionError(f"no FINISHED event for {execution}; got {self.of(execution)}")


@pytest.fixture
def captured(berth):
    """(every berth event, the README's failures-only rule), each on its own queue."""
    return Capture(berth, "berth-every-event", EVERY_EVENT), Capture(berth, "berth-failures", readme_rule())


def push(berth, repo: str, digest: str) -> str:
    started = berth.deliver_ecr_event(ecr_push_event(repo, digest))
    assert started and started["started"], started
    return started["executionArn"]


def check_envelopes(events: list[dict], execution: str) -> None:
    validator = Draft202012Validator(SCHEMA)
    for e in events:
        assert (e["source"], e["detail-type"]) == (SOURCE, DETAIL_TYPE), e
        problems = [f"{'/'.join(map(str, x.absolute_path))}: {x.message}" for x in validator.iter_errors(e["detail"])]
        assert not problems, (e["detail"], problems)
        d = e["detail"]
        assert (d["cluster"], d["service"]) == ("prod", "web"), d
        # the pushed image: its tag and digest
        assert d["image"] == f"{REGISTRY}/web:latest@{NEW}", d
        assert d["execution"] == execution
        assert execution in e["resources"], e


def test_a_good_deploy_publishes_started_deploying_finished_and_the_failure_rule_stays_quiet(berth, captured):
    every, failures = captured
    svc = berth.make_service("web", f"{REGISTRY}/web@{OLD}")
    arn = push(berth, "web", NEW)
    assert berth.wait_execution(arn)["status"] == "SUCCEEDED"
    events = every.wait_for_finished(arn)
    check_envelopes(events, arn)
    details = [e["detail"] for e in events]
    assert [d["phase"] for d in details] == ["STARTED", "DEPLOYING", "FINISHED"], details
    new_revision = berth.describe(svc)["taskDefinition"]
    assert details[1]["revision"] == new_revision
    assert details[2]["outcome"] == "DEPLOYED" and details[2]["revision"] == new_revision
    assert "cause" not in details[2]
    assert len({d["deploymentId"] for d in details}) == 1
    assert failures.drain() == [], "the failures-only rule routed a success"


def test_a_failing_image_publishes_rolling_back_and_finished_with_a_cause_which_the_failure_rule_routes(
    berth, captured
):
    every, failures = captured
    svc = berth.make_service("web", f"{REGISTRY}/web@{OLD}")
    berth.control("images", {"image": NEW, "behaviour": "crashloop"})
    arn = push(berth, "web", NEW)
    done = berth.wait_execution(arn)
    assert done["status"] == "FAILED" and done["error"] == "DeploymentRolledBack", done
    events = every.wait_for_finished(arn)
    check_envelopes(events, arn)
    details = [e["detail"] for e in events]
    assert [d["phase"] for d in details] == ["STARTED", "DEPLOYING", "ROLLING_BACK", "FINISHED"], details
    rolling_back, finished = details[2], details[3]
    # the rollback names where it goes (the revision recorded before the deploy) and why
    assert rolling_back["revision"] == svc["task_definition"]
    assert rolling_back["cause"].startswith("rollout FAILED (RolledBack): ECS rolled back"), rolling_back
    assert finished["outcome"] == "ROLLED_BACK" and finished["revision"] == svc["task_definition"]
    assert "now running web:1" in finished["cause"] and finished["cause"] in done["cause"], finished
    # the README's rule routes exactly the failure
    routed = failures.drain()
    assert [e["detail"] for e in routed] == [finished], routed


def test_an_event_bus_that_refuses_every_event_changes_no_deployment(berth, captured):
    every, _ = captured
    svc = berth.make_service("web", f"{REGISTRY}/web@{OLD}")
    berth.control("throttle", method="DELETE")
    berth.control("throttle", {"events:PutEvents": 1.0})  # EventBridge throttles every PutEvents
    try:
        # started from the console: the harness delivers an ECR push through PutEvents itself
        arn = berth.start_execution({"cluster": "prod", "service": "web", "image": f"{REGISTRY}/web@{NEW}"})
        done = berth.wait_execution(arn)
        calls = berth.control("throttle", method="GET")["calls"].get("events:PutEvents", {})
    finally:
        berth.control("throttle", method="DELETE")
    # THEN the deployment went on as if nothing happened: deployed, no retried or failed state
    assert done["status"] == "SUCCEEDED", done
    assert berth.describe(svc)["taskDefinition"].endswith("task-definition/web:2")
    history = berth.history(arn)
    assert not [e for e in history if e["type"] in ("LambdaFunctionFailed", "TaskFailed")]
    # the Lambdas did try (three attempts each for STARTED, DEPLOYING, FINISHED), said so, and nothing was routed
    assert calls.get("throttled", 0) >= 3 and calls["throttled"] == calls["calls"], calls
    assert "deployment events not published" in berth.logs("lambda-summarize.log", tail=200)
    assert every.of(arn) == []
