"""EventBridge Scheduler on the stand-in: moto keeps the schedules, a test fires one now.

moto 5.2.5 implements the `scheduler` API's CRUD (CreateSchedule, GetSchedule, ListSchedules,
UpdateSchedule, DeleteSchedule, schedule groups, tags; GetSchedule answers `Target` with `Arn`,
`RoleArn`, `Input`, `RetryPolicy` as given) but never runs a schedule. Here
`POST /_berth/schedules/fire {"name": "nightly", "group": "default"}` does what Scheduler does when
the schedule comes due, at once: the target's `Input` (context attributes such as
`<aws.scheduler.scheduled-time>` filled in) goes to its target:

- a Lambda function ARN: invoked through this stand-in's own Lambda route (so the function's
  `--lambda-urls` emulator or a stub answers, the invocation is logged in /_berth/lambda-invocations
  and can be throttled), the same way the harness's ECR rule forwarding invokes start-deployment;
- a Step Functions state machine ARN: StartExecution in moto (its interpreter runs it).

`fire_schedule(url, name)` below is the client a harness calls. Firings are recorded
(`GET /_berth/schedules/fired`).
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone
from typing import Any

DEFAULT_ACCOUNT = "123456789012"
# Context attributes Scheduler substitutes in a templated target's Input (Scheduler user guide,
# "Adding context attributes").
CONTEXT = ("<aws.scheduler.schedule-arn>", "<aws.scheduler.scheduled-time>", "<aws.scheduler.execution-id>",
           "<aws.scheduler.attempt-number>")


class FireError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Schedules:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fired: list[dict] = []

    def reset(self) -> None:
        with self.lock:
            self.fired.clear()

    def view(self) -> dict:
        with self.lock:
            return {"fired": list(self.fired)}

    def fire(self, port: int, doc: dict) -> dict:
        """Fire one schedule now. `doc`: name, group (default "default"), region (us-east-1),
        invocationType (RequestResponse: wait for the answer; Event: as Scheduler, asynchronous),
        force (fire a DISABLED schedule too), scheduledTime (ISO 8601, default now)."""
        from moto.scheduler.exceptions import ScheduleNotFound
        from moto.scheduler.models import scheduler_backends

        allowed = {"name", "group", "region", "account", "invocationType", "force", "scheduledTime"}
        unknown = set(doc) - allowed
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
        region = doc.get("region", "us-east-1")
        group = doc.get("group") or "default"
        backend = scheduler_backends[doc.get("account", DEFAULT_ACCOUNT)][region]
        try:
            schedule = backend.get_schedule(group, doc["name"])
        except ScheduleNotFound:
            raise FireError(404, f"Schedule {doc['name']} does not exist in group {group}.") from None
        except Exception as e:  # noqa: BLE001 - moto raises ResourceNotFound for an unknown group
            raise FireError(404, f"schedule {group}/{doc['name']}: {e}") from None
        if schedule.state != "ENABLED" and not doc.get("force"):
            raise FireError(409, f"schedule {group}/{schedule.name} is {schedule.state}: Scheduler would not run it (force: true fires it anyway)")
        invocation_type = doc.get("invocationType", "RequestResponse")
        if invocation_type not in ("RequestResponse", "Event"):
            raise ValueError("invocationType must be RequestResponse or Event")
        target = schedule.target or {}
        arn = target.get("Arn", "")
        scheduled = doc.get("scheduledTime") or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        execution_id = str(uuid.uuid4())
        payload = fill_context(target.get("Input"), schedule.arn, scheduled, execution_id)
        record: dict[str, Any] = {"schedule": schedule.arn, "name": schedule.name, "group": group, "target": arn,
                                  "input": payload, "scheduledTime": scheduled, "executionId": execution_id}
        if ":lambda:" in arn and ":function:" in arn:
            record.update(invoke_lambda(port, arn, payload, invocation_type))
        elif ":states:" in arn and ":stateMachine:" in arn:
            record.update(start_execution(port, region, arn, payload))
        else:
            raise FireError(400, f"target {arn!r}: the stand-in fires Lambda function and Step Functions state machine targets only")
        with self.lock:
            self.fired.append(record)
            del self.fired[:-500]
        return record


SCHEDULES = Schedules()


def fill_context(text: str | None, schedule_arn: str, scheduled: str, execution_id: str) -> str:
    """The target Input with Scheduler's context attributes filled in; no Input is `{}`
    (what Scheduler sends a templated target without one is not verified here)."""
    if text is None:
        return "{}"
    values = dict(zip(CONTEXT, (schedule_arn, scheduled, execution_id, "1")))
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def invoke_lambda(port: int, arn: str, payload: str, invocation_type: str) -> dict:
    import urllib.parse

    import requests

    resp = requests.post(
        f"http://127.0.0.1:{port}/2015-03-31/functions/{urllib.parse.quote(arn, safe='')}/invocations",
        data=payload.encode(), headers={"X-Amz-Invocation-Type": invocation_type, "Content-Type": "application/json"},
        timeout=900,
    )
    try:
        body = resp.json() if resp.content else None
    except ValueError:
        body = resp.text
    return {"status": resp.status_code, "functionError": resp.headers.get("X-Amz-Function-Error"), "response": body}


def start_execution(port: int, region: str, arn: str, payload: str) -> dict:
    import boto3

    sfn = boto3.client("stepfunctions", endpoint_url=f"http://127.0.0.1:{port}", region_name=region,
                       aws_access_key_id="test", aws_secret_access_key="test")
    out = sfn.start_execution(stateMachineArn=arn, input=payload)
    return {"status": 200, "executionArn": out["executionArn"]}


def fire_schedule(url: str, name: str, group: str = "default", **options) -> dict:
    """What a harness calls: fire schedule `group/name` on the stand-in at `url` now. Returns the
    firing record (`response` is the Lambda's answer for RequestResponse; `executionArn` for a
    state machine). Raises RuntimeError with the stand-in's message when it cannot fire."""
    import requests

    r = requests.post(f"{url.rstrip('/')}/_berth/schedules/fire", json={"name": name, "group": group, **options}, timeout=900)
    if r.status_code != 200:
        raise RuntimeError(f"fire {group}/{name}: HTTP {r.status_code}: {r.text}")
    return r.json()
