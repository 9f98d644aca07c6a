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

moto accepts any ScheduleExpression, time zone and flexible window; `install()` makes CreateSchedule
and UpdateSchedule refuse what Scheduler refuses (`validate`: `at(yyyy-mm-ddThh:mm:ss)`,
`rate(N minute[s]|hour[s]|day[s])`, six-field `cron(...)` with `?` in day-of-month or day-of-week,
an IANA `ScheduleExpressionTimezone`, `FlexibleTimeWindow` OFF or FLEXIBLE with
`MaximumWindowInMinutes` 1..1440) with a ValidationException, and CreateSchedule in a group that
does not exist with ResourceNotFoundException (moto: 500).
"""

from __future__ import annotations

import re
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

DEFAULT_ACCOUNT = "123456789012"
# Context attributes Scheduler substitutes in a templated target's Input (Scheduler user guide,
# "Adding context attributes").
CONTEXT = (
    "<aws.scheduler.schedule-arn>",
    "<aws.scheduler.scheduled-time>",
    "<aws.scheduler.execution-id>",
    "<aws.scheduler.attempt-number>",
)


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
            raise FireError(
                409,
                f"schedule {group}/{schedule.name} is {schedule.state}: "
                "Scheduler would not run it (force: true fires it anyway)",
            )
        invocation_type = doc.get("invocationType", "RequestResponse")
        if invocation_type not in ("RequestResponse", "Event"):
            raise ValueError("invocationType must be RequestResponse or Event")
        target = schedule.target or {}
        arn = target.get("Arn", "")
        scheduled = doc.get("scheduledTime") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        execution_id = str(uuid.uuid4())
        payload = fill_context(target.get("Input"), schedule.arn, scheduled, execution_id)
        record: dict[str, Any] = {
            "schedule": schedule.arn,
            "name": schedule.name,
            "group": group,
            "target": arn,
            "input": payload,
            "scheduledTime": scheduled,
            "executionId": execution_id,
        }
        if ":lambda:" in arn and ":function:" in arn:
            record.update(invoke_lambda(port, arn, payload, invocation_type))
        elif ":states:" in arn and ":stateMachine:" in arn:
            record.update(start_execution(port, region, arn, payload))
        else:
            raise FireError(
                400, f"target {arn!r}: the stand-in fires Lambda function and Step Functions state machine targets only"
            )
        with self.lock:
            self.fired.append(record)
            del self.fired[:-500]
        return record


SCHEDULES = Schedules()


# ---------------------------------------------------------------- validation (moto checks nothing)

_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_RATE = re.compile(r"^rate\(([1-9]\d*) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_MONTHS = {
    m: i + 1 for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])
}
_DAYS = {d: i + 1 for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
# (low, high, names) per cron field: minutes hours day-of-month month day-of-week year
_FIELDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}),
    (0, 23, {}),
    (1, 31, {}),
    (1, 12, _MONTHS),
    (1, 7, _DAYS),
    (1970, 2199, {}),
)


def _cron_value(text: str, field: int) -> bool:
    low, high, names = _FIELDS[field]
    if text in names:
        return True
    return text.isdigit() and low <= int(text) <= high


def _cron_item(item: str, field: int) -> bool:
    """One comma-separated item: *, N, N-M, */S, N/S, N-M/S; L, NW, LW (day of month); L, NL, N#K (day of week)."""
    if field == 2 and (item in ("L", "LW") or (item.endswith("W") and _cron_value(item[:-1], 2))):
        return True
    if field == 4 and (item == "L" or (item.endswith("L") and _cron_value(item[:-1], 4))):
        return True
    if field == 4 and "#" in item:
        day, _, nth = item.partition("#")
        return _cron_value(day, 4) and nth in ("1", "2", "3", "4", "5")
    base, _, step = item.partition("/")
    if step and not (step.isdigit() and int(step) >= 1):
        return False
    if base == "*":
        return True
    first, _, last = base.partition("-")
    return _cron_value(first, field) and (not last or _cron_value(last, field))


def validate_expression(expr: str | None) -> str | None:
    """Why Scheduler would refuse `expr`, or None when it is valid."""
    from datetime import datetime as dt

    expr = expr or ""
    if m := _AT.match(expr):
        try:
            dt.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return "not a date and time"
        return None
    if m := _RATE.match(expr):
        singular = not m.group(2).endswith("s")
        return None if (m.group(1) == "1") == singular else "the unit must be singular for 1 and plural otherwise"
    if m := _CRON.match(expr):
        fields = m.group(1).split(" ")
        if len(fields) != 6:
            return "cron() takes six fields: minutes hours day-of-month month day-of-week year"
        dom, dow = fields[2], fields[4]
        if (dom == "?") == (dow == "?"):
            return "one of day-of-month and day-of-week must be ?"
        for i, f in enumerate(fields):
            if f == "?" and i in (2, 4):
                continue
            if not f or not all(_cron_item(item, i) for item in f.split(",")):
                return f"field {i + 1} ({f!r}) is not valid"
        return None
    return "not at(...), rate(...) or cron(...)"


def validate(expression: str | None, timezone_name: str | None, window: dict | None) -> None:
    from moto.scheduler.exceptions import ValidationException

    why = validate_expression(expression)
    if why:
        raise ValidationException(f"Invalid Schedule Expression {expression}: {why}.")
    if timezone_name:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(timezone_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationException(f"Invalid ScheduleExpressionTimezone {timezone_name}.") from None
    window = window or {}
    mode = window.get("Mode")
    if mode not in ("OFF", "FLEXIBLE"):
        raise ValidationException("FlexibleTimeWindow.Mode must be OFF or FLEXIBLE.")
    maximum = window.get("MaximumWindowInMinutes")
    if mode == "FLEXIBLE" and not (isinstance(maximum, int) and 1 <= maximum <= 1440):
        raise ValidationException("FlexibleTimeWindow.MaximumWindowInMinutes must be 1 to 1440 when Mode is FLEXIBLE.")


_ORIGINALS: dict[str, Any] = {}


def _create_schedule(self, **kw):
    from moto.scheduler.exceptions import ScheduleGroupNotFound

    validate(kw.get("schedule_expression"), kw.get("schedule_expression_timezone"), kw.get("flexible_time_window"))
    group = kw.get("group_name") or "default"
    if group not in self.schedule_groups:
        raise ScheduleGroupNotFound(group)
    return _ORIGINALS["create"](self, **kw)


def _update_schedule(self, **kw):
    validate(kw.get("schedule_expression"), kw.get("schedule_expression_timezone"), kw.get("flexible_time_window"))
    return _ORIGINALS["update"](self, **kw)


def install() -> None:
    from moto.scheduler.models import EventBridgeSchedulerBackend

    if _ORIGINALS:
        return
    _ORIGINALS["create"] = EventBridgeSchedulerBackend.create_schedule
    _ORIGINALS["update"] = EventBridgeSchedulerBackend.update_schedule
    # Monkeypatching moto (mypy: method-assign); moto calls these with keywords only, as **kw takes them.
    EventBridgeSchedulerBackend.create_schedule = _create_schedule  # type: ignore[method-assign,assignment]
    EventBridgeSchedulerBackend.update_schedule = _update_schedule  # type: ignore[method-assign,assignment]


def fill_context(text: str | None, schedule_arn: str, scheduled: str, execution_id: str) -> str:
    """The target Input with Scheduler's context attributes filled in; no Input is `{}`
    (what Scheduler sends a templated target without one is not verified here)."""
    if text is None:
        return "{}"
    values = dict(zip(CONTEXT, (schedule_arn, scheduled, execution_id, "1"), strict=True))
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def invoke_lambda(port: int, arn: str, payload: str, invocation_type: str) -> dict:
    import urllib.parse

    import requests

    resp = requests.post(
        f"http://127.0.0.1:{port}/2015-03-31/functions/{urllib.parse.quote(arn, safe='')}/invocations",
        data=payload.encode(),
        headers={"X-Amz-Invocation-Type": invocation_type, "Content-Type": "application/json"},
        timeout=900,
    )
    try:
        body = resp.json() if resp.content else None
    except ValueError:
        body = resp.text
    return {"status": resp.status_code, "functionError": resp.headers.get("X-Amz-Function-Error"), "response": body}


def start_execution(port: int, region: str, arn: str, payload: str) -> dict:
    import boto3

    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    out = sfn.start_execution(stateMachineArn=arn, input=payload)
    return {"status": 200, "executionArn": out["executionArn"]}


def fire_schedule(url: str, name: str, group: str = "default", **options) -> dict:
    """What a harness calls: fire schedule `group/name` on the stand-in at `url` now. Returns the
    firing record (`response` is the Lambda's answer for RequestResponse; `executionArn` for a
    state machine). Raises RuntimeError with the stand-in's message when it cannot fire."""
    import requests

    r = requests.post(
        f"{url.rstrip('/')}/_berth/schedules/fire", json={"name": name, "group": group, **options}, timeout=900
    )
    if r.status_code != 200:
        raise RuntimeError(f"fire {group}/{name}: HTTP {r.status_code}: {r.text}")
    return r.json()
