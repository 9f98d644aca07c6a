"""The approval gate end to end (P7): `berth deploy --approval` waits at AwaitApproval (the ASL's
events:putEvents.waitForTaskToken) before anything is registered; `berth approve` lets it deploy,
`berth reject` or no answer in time ends it NotApproved with nothing changed. Through the real
state machine, Lambdas and CLI against the local stack."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from .harness import REGISTRY, ROOT, STATE_MACHINE_ARN, aws_changes, aws_snapshot, wait_until
from .test_cli import digest_of, lines

OLD = digest_of("gate v1")
NEW = digest_of("gate v2")

# The exit codes (cli/src/exit.rs, `Exit`).
DONE, FAILED, REFUSED = 0, 1, 5


def image(digest: str) -> str:
    return f"{REGISTRY}/web@{digest}"


def start_gated(cli, *extra: str) -> str:
    """`berth deploy --approval --no-wait`: the execution's name."""
    done = cli(
        "deploy", "--cluster", "prod", "--service", "web", "--image", image(NEW), "--no-wait", "--approval", *extra
    )
    assert done.returncode == DONE, done.stderr
    return done.stdout.strip().rsplit(":", 1)[-1]


def at_the_gate(berth, name: str) -> dict:
    """Wait until the execution sits at AwaitApproval; the gate's event detail (its parameters)."""
    arn = f"{STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:{name}"

    def scheduled():
        for e in berth.history(arn):
            d = e.get("taskScheduledEventDetails")
            if d and "waitForTaskToken" in d["resource"] and "Entries" in d["parameters"]:
                return json.loads(d["parameters"])["Entries"][0]["Detail"]
        return None

    return wait_until(scheduled, 60, f"{name} at its approval gate")


def queue_for_approval_events(berth) -> str:
    """An SQS queue behind a rule for the gate's events on the default bus."""
    events, sqs = berth.client("events"), berth.client("sqs")
    queue = sqs.create_queue(QueueName="berth-approval-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="berth-approval",
        EventPattern=json.dumps({"source": ["berth"], "detail": {"phase": ["AWAITING_APPROVAL"]}}),
    )
    events.put_targets(Rule="berth-approval", Targets=[{"Id": "q", "Arn": arn}])
    return queue


def test_approve_lets_the_deployment_go_on(berth, cli):
    svc = berth.make_service("web", image(OLD))
    queue = queue_for_approval_events(berth)
    before = aws_snapshot(berth)
    name = start_gated(cli, "--approval-timeout-seconds", "120")
    gate = at_the_gate(berth, name)

    # THEN the gate's event says what waits and how to answer, with the task token
    assert gate["phase"] == "AWAITING_APPROVAL" and gate["service"] == "web" and gate["cluster"] == "prod"
    assert gate["image"] == image(NEW) and gate["execution"].endswith(f":{name}")
    assert gate["approval"]["timeoutSeconds"] == 120 and gate["approval"]["taskToken"]
    assert gate["approval"]["answer"] == f"berth approve {name} | berth reject {name}"
    msgs = berth.client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=2)["Messages"]
    published = json.loads(msgs[0]["Body"])
    assert published["detail-type"] == "berth Deployment State Change" and published["source"] == "berth"
    assert published["detail"]["approval"]["taskToken"] == gate["approval"]["taskToken"]
    # (berth's deployment events, of which this is one, have one schema: schema/event.schema.json)
    jsonschema.validate(published["detail"], json.loads((ROOT / "schema" / "event.schema.json").read_text()))
    # AND nothing is registered or changed while it waits
    assert [c for c in aws_changes(before, aws_snapshot(berth)) if not c.startswith("execution started")] == []

    # WHEN approved by the execution's name
    done = cli("approve", name, "--reason", "release 42")
    assert done.returncode == DONE, done.stderr
    assert re.match(
        rf"approved prod/web <- {re.escape(image(NEW))} by \S+: release 42; the deployment goes on: "
        rf"berth watch {name}$",
        done.stdout.strip(),
    ), done.stdout

    # THEN it deploys, and its progress shows the gate and the answer
    watched = cli("watch", name, "--refresh-seconds", "0.3")
    assert watched.returncode == DONE, watched.stderr
    progress = lines(watched.stderr)
    assert f"web: waiting for approval (up to 120s): berth approve {name} | berth reject {name}" in progress
    assert any(p.startswith("web: approved by ") and p.endswith(": release 42") for p in progress), progress
    assert "web: DEPLOYED" in progress
    assert {d for _, _, d in berth.running_images(svc)} == {NEW}
    # AND a second answer finds nothing waiting (exit 1, said so)
    again = cli("approve", name)
    assert again.returncode == FAILED and "nothing waits for approval" in again.stderr, again.stderr


@pytest.mark.quick
def test_reject_ends_not_approved_with_nothing_changed(berth, cli):
    svc = berth.make_service("web", image(OLD))
    before = aws_snapshot(berth)
    name = start_gated(cli)
    assert at_the_gate(berth, name)["approval"]["timeoutSeconds"] == 3600, "the default timeout"

    # WHEN rejected by service (the gate waiting in any running execution of it)
    done = cli("reject", "web", "--cluster", "prod", "--reason", "not during the sale", "--output", "json")
    assert done.returncode == DONE, done.stderr
    [answer] = json.loads(done.stdout)
    assert answer["decision"] == "rejected" and answer["service"] == "web" and answer["execution"].endswith(name)
    assert "taskToken" not in answer

    # THEN the execution ends NotApproved (the refused exit code), the cause says who and why
    watched = cli("watch", name, "--refresh-seconds", "0.3", "--output", "json")
    assert watched.returncode == REFUSED, watched.stderr
    verdict = json.loads(watched.stdout)
    assert verdict["error"] == "NotApproved", verdict
    assert re.search(
        r"prod/web: not started, nothing changed: NotApproved rejected by \S+: not during the sale", verdict["cause"]
    ), verdict["cause"]
    assert verdict["services"] == [{"cluster": "prod", "service": "web", "outcome": "NOT_STARTED"}]
    # AND nothing was registered or changed: same revisions, same service
    assert [c for c in aws_changes(before, aws_snapshot(berth)) if not c.startswith("execution started")] == []
    assert berth.describe(svc)["taskDefinition"] == svc["task_definition"]


def test_a_gate_nobody_answers_times_out_not_approved(berth, cli):
    berth.make_service("web", image(OLD))
    before = aws_snapshot(berth)
    # WHEN the gate waits 2 s and nobody answers (deploy follows it to its end)
    done = cli(
        "deploy",
        "--cluster",
        "prod",
        "--service",
        "web",
        "--image",
        image(NEW),
        "--approval-timeout-seconds",
        "2",
        "--refresh-seconds",
        "0.3",
    )
    # THEN it ends NotApproved, refused, with the timeout in the cause, and nothing changed
    assert done.returncode == REFUSED, done.stderr
    progress = lines(done.stderr)
    assert any(p.startswith("web: waiting for approval (up to 2s): berth approve ") for p in progress), progress
    assert "web: not approved: nobody answered the approval gate within 2 s (timed out)" in progress, progress
    assert "error: NotApproved" in done.stdout, done.stdout
    assert [c for c in aws_changes(before, aws_snapshot(berth)) if not c.startswith("execution started")] == []
