"""Narrow patches to moto 5.2.5's Step Functions interpreter (README, "Exact moto patches").

1. Lambda error names (below).
2. `arn:aws:states:::aws-sdk:SERVICE:action` tasks: AWS takes the API's parameters in PascalCase
   (`{"Cluster": ..., "Services": [...]}`) and answers in PascalCase (`Services[0].Deployments`);
   moto left both normalisations as no-ops (`pass`), so it wanted botocore's camelCase names and
   answered camelCase, and a definition written for AWS failed with `States.Runtime`. The patch
   maps both through the API's botocore model with moto's own (LocalStack's) helpers.
3. SendTaskFailure's `cause`, which moto's response handler dropped (`install_task_failure_cause`).
5. GetExecutionHistory's `reverseOrder`, `maxResults` and `nextToken` (`install_history_paging`):
   moto returned every event, oldest first, whatever was asked; code that reads "the newest
   events" (wake-rollout, `reverseOrder` + a small `maxResults`) read the oldest.
4. `arn:aws:states:::states:startExecution(.sync|.sync:2)` tasks: the same casing, for the Step
   Functions integration (`install_sfn_casing`): AWS takes `{"StateMachineArn", "Name", "Input"}`
   and answers `ExecutionArn`, `Output`, ...; moto passed the PascalCase names to botocore
   unchanged (the start failed with `States.Runtime: 'StateMachineArn'`).
6. Timestamps (`install_timestamps`): `$$.State.EnteredTime` was Python's `isoformat()`
   (`2026-11-30T12:00:00.123456+00:00`); Step Functions writes `2026-11-30T12:00:00.123Z`. And the
   Choice's Timestamp* comparisons parsed only `%Y-%m-%dT%H:%M:%SZ`, so a timestamp with fractional
   seconds (EnteredTime's own, or one written by a Lambda) compared false with anything, and a
   `TimestampLessThanPath` against it sent every execution down its Default. berth's watch compares
   EnteredTime with a rollout's deadline.
7. `arn:aws:states:::ecs:runTask(.sync)` (`install_ecs_sync`): moto sent the PascalCase parameters to
   botocore as they were (every RunTask failed with `States.Runtime: 'Cluster'`), indexed
   `Tasks[0]` of an answer with `Failures` and no task, succeeded whatever the task's containers
   exited with, and polled DescribeTasks through the front every 0.5 s (countable, and refusable by
   the throttle's buckets). Now as Step Functions: PascalCase in and out; a RunTask answer with
   failures (or no task) fails a `.sync` / `.waitForTaskToken` state with `AmazonECS.Unknown`; a
   task that STOPPED with an essential container that exited non-zero or never ran fails it with
   `States.TaskFailed`, the Cause the task's description as JSON; the wait reads the task
   in-process (never throttled, never counted), at most once a second per task.
8. Simulated time (`install_time_scale`, `clock.py`): a Wait state's `Seconds`/`SecondsPath`, a
   Retry's interval and the timeout of a Task that waits (`.waitForTaskToken`, `.sync`, `.sync:2`)
   last `1/clock.scale()` of their seconds in wall time, and so does a Wait until a `Timestamp`
   when the stack shares one clock (`clock.StackClock`); a Timestamp's distance keeps its
   fraction (moto cut it to whole seconds, ending the wait up to 2 s early). moto waited them in wall time (and
   rounded a Wait's elapsed time down to whole seconds, so a fractional wait would never end).
9. Parsing (`install_program_cache`), for speed only: moto parsed the definition again (ANTLR, in
   Python) for every execution it started: about 90 ms for deploy.asl.json and 190 ms for
   service.asl.json, half of the stand-in's CPU in a run of many short executions. Now each
   definition is parsed once and its program shared by the executions of it: the program is not
   changed by an evaluation (what an execution holds is in its `Environment`), but for each
   component's `heap_key`, a uid made on first use, which is made for every component before the
   program is shared.

A Task whose `Resource` is a Lambda function ARN (`StateTaskLambda`, what berth's ASL uses) names
every error answer of the Lambda Invoke API `Exception`, whatever Lambda said. Step Functions names
it `Lambda.<error code>` (`Lambda.ServiceException`, `Lambda.TooManyRequestsException`, ...), as
moto already does for `arn:aws:states:::lambda:invoke` (`StateTaskServiceLambda`). Without this, no
`Retry` on `Lambda.*` can ever match locally.

Each patch assigns to a moto method (or class), which mypy refuses: those assignments carry a
`# type: ignore[method-assign]` (`misc` for the class, `assignment` where the replacement's
signature is not moto's).
"""

from __future__ import annotations

import datetime
import re
import threading
import time
import types
from typing import Any

_ORIGINAL: dict = {}


def lambda_client_error_name(client_error) -> tuple[str, str]:
    """(error, cause) Step Functions reports for a Lambda API error answer."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
        StateTaskServiceLambda,
    )

    return StateTaskServiceLambda._error_cause_from_client_error(client_error)


def _operation_model(service: str, action: str):
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    return model.operation_model(action[:1].upper() + action[1:])


def install_aws_sdk_casing() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )

    def _normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None):
        op = _operation_model(self._get_boto_service_name(boto_service_name), self.resource.api_action)
        self._to_boto_request(parameters, op.input_shape)

    def _normalise_response(self, response, boto_service_name=None, service_action_name=None):
        op = _operation_model(self._get_boto_service_name(boto_service_name), self.resource.api_action)
        if op.output_shape is not None:
            self._from_boto_response(response, op.output_shape)

    _ORIGINAL["StateTaskServiceAwsSdk._normalise_parameters"] = StateTaskServiceAwsSdk._normalise_parameters
    _ORIGINAL["StateTaskServiceAwsSdk._normalise_response"] = StateTaskServiceAwsSdk._normalise_response
    StateTaskServiceAwsSdk._normalise_parameters = _normalise_parameters  # type: ignore[method-assign]
    StateTaskServiceAwsSdk._normalise_response = _normalise_response  # type: ignore[method-assign]


def _sfn_operation(action: str):
    """botocore's Step Functions operation for a snake_case action (`start_execution`)."""
    import botocore.session

    name = "".join(part.capitalize() for part in action.split("_"))
    return botocore.session.get_session().get_service_model("stepfunctions").operation_model(name)


def install_sfn_casing() -> None:
    """4. The Step Functions integration: PascalCase parameters in, PascalCase answers out."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    original = StateTaskServiceSfn._normalise_parameters

    def _normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None):
        original(self, parameters, boto_service_name, service_action_name)  # Input -> a JSON string
        op = _sfn_operation(service_action_name or self._get_boto_service_action())
        self._to_boto_request(parameters, op.input_shape)

    def _normalise_response(self, response, boto_service_name=None, service_action_name=None):
        op = _sfn_operation(service_action_name or self._get_boto_service_action())
        if op.output_shape is not None:
            self._from_boto_response(response, op.output_shape)

    _ORIGINAL["StateTaskServiceSfn._normalise_parameters"] = original
    _ORIGINAL["StateTaskServiceSfn._normalise_response"] = StateTaskServiceSfn._normalise_response
    StateTaskServiceSfn._normalise_parameters = _normalise_parameters  # type: ignore[method-assign]
    StateTaskServiceSfn._normalise_response = _normalise_response  # type: ignore[method-assign]


HISTORY_PAGE = 100  # GetExecutionHistory's default maxResults (Step Functions API reference)
HISTORY_MAX = 1000


def history_page(events: list, reverse: bool, max_results, token, arn: str) -> dict:
    """One GetExecutionHistory answer over `events` (oldest first) as Step Functions pages it: newest
    first under `reverseOrder`, at most `maxResults` (0 or absent: 100; above 1000 refused), and an
    opaque `nextToken` (the next offset, for this execution and order only) while more remain."""
    import base64
    import json

    from moto.stepfunctions.exceptions import InvalidToken, ValidationException

    size = int(max_results or 0) or HISTORY_PAGE
    if not 0 < size <= HISTORY_MAX:
        raise ValidationException(
            f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy constraint: "
            f"Member must have value less than or equal to {HISTORY_MAX}"
        )
    start = 0
    if token:
        try:
            cursor = json.loads(base64.urlsafe_b64decode(token.encode()))
            assert cursor["arn"] == arn and cursor["reverse"] == reverse
            start = int(cursor["offset"])
        except Exception:  # noqa: BLE001 - any token we did not write is invalid
            raise InvalidToken("'nextToken' is not valid") from None
    ordered = list(reversed(events)) if reverse else list(events)
    page: dict[str, Any] = {"events": ordered[start : start + size]}
    if start + size < len(ordered):
        cursor = {"arn": arn, "reverse": reverse, "offset": start + size}
        page["nextToken"] = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode()
    return page


def install_history_paging() -> None:
    """5. GetExecutionHistory pages and orders as Step Functions does."""
    from moto.core.responses import ActionResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def get_execution_history(self):
        arn = self._get_param("executionArn")
        history = self.stepfunction_backend.get_execution_history(arn)
        return ActionResult(
            history_page(
                history["events"],
                bool(self._get_param("reverseOrder", False)),
                self._get_param("maxResults"),
                self._get_param("nextToken"),
                arn,
            )
        )

    _ORIGINAL["StepFunctionResponse.get_execution_history"] = StepFunctionResponse.get_execution_history
    StepFunctionResponse.get_execution_history = get_execution_history  # type: ignore[method-assign]


def install_task_failure_cause() -> None:
    """3. SendTaskFailure: moto's response handler reads `error` and drops `cause`, which its own
    interpreter takes (`send_task_failure(task_token, error, cause)`); Step Functions puts the cause
    into the TaskFailed event and the caught error (berth reject's "rejected by …: reason")."""
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def send_task_failure(self):
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
        )
        return EmptyResult()

    _ORIGINAL["StepFunctionResponse.send_task_failure"] = StepFunctionResponse.send_task_failure
    StepFunctionResponse.send_task_failure = send_task_failure  # type: ignore[method-assign]


# RFC 3339 as Step Functions reads it: an uppercase T between date and time, fractional seconds
# allowed, Z or a numeric offset.
_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(value) -> datetime.datetime | None:
    """A Choice's timestamp, as Step Functions parses it; None for anything else."""
    m = _RFC3339.match(value) if isinstance(value, str) else None
    if not m:
        return None
    fraction = (m.group(2) or ".0")[1:7].ljust(6, "0")
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    try:
        return datetime.datetime.fromisoformat(f"{m.group(1)}.{fraction}{zone}")
    except ValueError:
        return None


def entered_time(now: datetime.datetime) -> str:
    """`$$.State.EnteredTime` as Step Functions writes it: UTC, milliseconds, Z."""
    utc = now.astimezone(datetime.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def install_timestamps() -> None:
    from moto.stepfunctions.parser.asl.component.state import state as state_module
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.is_operator import (
        IsTimestamp,
    )

    _ORIGINAL["IsTimestamp.string_to_timestamp"] = IsTimestamp.string_to_timestamp
    IsTimestamp.string_to_timestamp = staticmethod(parse_timestamp)  # type: ignore[method-assign,assignment]
    original = state_module.StateData
    _ORIGINAL["state.StateData"] = original

    def state_data(**fields):
        if "EnteredTime" in fields:
            fields["EnteredTime"] = entered_time(datetime.datetime.fromisoformat(fields["EnteredTime"]))
        return original(**fields)

    state_module.StateData = state_data  # type: ignore[misc,assignment]


# ---------------------------------------------------------------- 7. ecs:runTask(.sync)

ECS_SYNC_POLL_SECONDS = 1.0  # at most one DescribeTasks a second per waiting task (moto: every 0.5 s)
_ECS_MOTO_APP: list = []


def _ecs_operation(action: str):
    """botocore's ECS operation for `run_task`, `runTask` or `RunTask`."""
    import botocore.session

    name = "".join(part[:1].upper() + part[1:] for part in action.split("_"))
    return botocore.session.get_session().get_service_model("ecs").operation_model(name)


def ecs_task_failed(task: dict, essential: dict) -> bool:
    """Whether Step Functions fails a `.sync` state on this STOPPED task (PascalCase description):
    an essential container (`essential`: container name -> flag from the task definition; a name
    not in it counts as essential, ECS's default) that exited non-zero, or has no exit code at all
    (it never ran: TaskFailedToStart, CannotPullContainerError, stopped before it started)."""
    for container in task.get("Containers") or []:
        if not essential.get(container.get("Name"), True):
            continue
        if container.get("ExitCode") != 0:
            return True
    return False


def run_task_failed(answer: dict) -> bool:
    """A RunTask answer (PascalCase) that a `.sync` / `.waitForTaskToken` state fails on with
    `AmazonECS.Unknown`: non-empty `Failures` (AWS), or no task at all (moto answers
    `{"tasks": [], "failures": []}` where ECS would list why, e.g. an EC2 task it cannot place)."""
    return bool(answer.get("Failures")) or not answer.get("Tasks")


def paced(resolver, interval: float = ECS_SYNC_POLL_SECONDS, clock=None):
    """`resolver` called at most once per `interval` seconds (the first time `interval` after this
    call); in between the wrapper answers None ("not done yet") without calling it. moto's `.sync`
    loop (`StateTaskServiceCallback._eval_sync`) calls its resolver every 0.5 s."""
    import time

    clock = clock or time.monotonic
    last = [clock()]

    def _paced():
        now = clock()
        if now - last[0] < interval:
            return None
        last[0] = now
        return resolver()

    return _paced


def _send_in_process(request, **_kwargs):
    """botocore `before-send` hook: answer the request from moto in this process (as the front's
    `moto_json` does, under the ECS simulator's lock) instead of over HTTP through the front."""
    import urllib.parse

    from botocore.awsrequest import AWSResponse
    from moto.core.botocore_stubber import MockRawResponse
    from werkzeug.test import Client

    from .ecs_sim import SIM

    if not _ECS_MOTO_APP:
        from moto.server import DomainDispatcherApplication, create_backend_app

        _ECS_MOTO_APP.append(DomainDispatcherApplication(create_backend_app))
    url = urllib.parse.urlsplit(request.url)
    headers = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
    body = request.body
    if hasattr(body, "read"):
        body = body.read()
    with SIM.lock:
        resp = Client(_ECS_MOTO_APP[0]).open(
            url.path or "/", method=request.method, headers=headers, data=body or b"", query_string=url.query
        )
        status, out_headers, out = resp.status_code, dict(resp.headers), resp.get_data()
    # botocore keeps any mapping of headers (HeadersDict); its stubs ask for an HTTPHeaders.
    return AWSResponse(request.url, status, out_headers, MockRawResponse(out))  # type: ignore[arg-type]


def ecs_reader(region: str, state_credentials=None):
    """An ECS client for what Step Functions learns without calling your account's API (AWS: an
    EventBridge rule tells it the task stopped): its calls go to moto in-process, so the front's
    throttle neither counts nor refuses them."""
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

    client = boto_client_for(region=region, service="ecs", state_credentials=state_credentials)
    client.meta.events.register("before-send.ecs", _send_in_process)
    return client


def install_ecs_sync() -> None:
    """7. The optimized ECS integration (`arn:aws:states:::ecs:runTask`, `.sync`, `.waitForTaskToken`)."""
    import json

    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs import (
        StateTaskServiceEcs,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    def _normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None):
        op = _ecs_operation(service_action_name or self.resource.api_action)
        self._to_boto_request(parameters, op.input_shape)

    def _normalise_response(self, response, boto_service_name=None, service_action_name=None):
        op = _ecs_operation(service_action_name or self.resource.api_action)
        if op.output_shape is not None:
            self._from_boto_response(response, op.output_shape)

    def _fail(self, env, error_name, error: str, cause: str):
        raise FailureEventException(
            failure_event=FailureEvent(
                env=env,
                error_name=error_name,
                event_type=HistoryEventType.TaskFailed,
                # moto declares EventDetails total (every key) yet builds it, as here, with one key
                event_details=EventDetails(  # type: ignore[typeddict-item]
                    taskFailedEventDetails=TaskFailedEventDetails(
                        resourceType=self._get_sfn_resource_type(),
                        resource=self._get_sfn_resource(),
                        error=error,
                        cause=cause,
                    )
                ),
            )
        )

    original_eval = StateTaskServiceEcs._eval_service_task

    def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        if self._get_boto_service_action() != "run_task":
            return original_eval(self, env, resource_runtime_part, normalised_parameters, state_credentials)
        # RunTask itself is a call Step Functions makes with the state machine's role: through the
        # front like any other (the throttle may refuse it, as ECS may).
        # A botocore client: its operations (run_task) are made at run time, unknown to mypy.
        ecs: Any = boto_client_for(
            region=resource_runtime_part.region, service="ecs", state_credentials=state_credentials
        )
        answer = ecs.run_task(**normalised_parameters)
        answer.pop("ResponseMetadata", None)
        self._normalise_response(answer, service_action_name="run_task")
        answer = json.loads(to_json_str(answer))  # timestamps as moto writes them in events: ISO 8601
        if self.resource.condition is not None and run_task_failed(answer):
            _fail(
                self,
                env,
                CustomErrorName("AmazonECS.Unknown"),
                "AmazonECS.Unknown",
                to_json_str({"Failures": answer.get("Failures") or [], "Tasks": answer.get("Tasks") or []}),
            )
        # AWS: the TaskSubmitted event (and a request-response state's output) is RunTask's answer.
        env.stack.append(answer)

    def _build_sync_resolver(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        reader = ecs_reader(resource_runtime_part.region, state_credentials)
        submitted: dict = env.stack.pop()
        task_arn: str = submitted["Tasks"][0]["TaskArn"]
        cluster_arn: str = submitted["Tasks"][0]["ClusterArn"]

        def _resolver():
            described = reader.describe_tasks(cluster=cluster_arn, tasks=[task_arn])
            if not described.get("tasks"):  # gone (a reset): end the wait rather than poll forever
                raise RuntimeError(f"DescribeTasks does not know {task_arn}: {described.get('failures')}")
            if described["tasks"][0].get("lastStatus") != "STOPPED":
                return None
            described.pop("ResponseMetadata", None)
            self._normalise_response(described, service_action_name="describe_tasks")
            task = json.loads(to_json_str(described["Tasks"][0]))  # datetimes would break DescribeExecution
            td = reader.describe_task_definition(taskDefinition=task["TaskDefinitionArn"])["taskDefinition"]
            essential = {c.get("name"): c.get("essential", True) for c in td.get("containerDefinitions") or []}
            if ecs_task_failed(task, essential):
                _fail(
                    self,
                    env,
                    StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                    StatesErrorNameType.StatesTaskFailed.to_name(),
                    to_json_str(task),
                )
            return task

        return paced(_resolver)

    for name, fn in (
        ("_normalise_parameters", _normalise_parameters),
        ("_normalise_response", _normalise_response),
        ("_eval_service_task", _eval_service_task),
        ("_build_sync_resolver", _build_sync_resolver),
    ):
        _ORIGINAL[f"StateTaskServiceEcs.{name}"] = getattr(StateTaskServiceEcs, name)
        setattr(StateTaskServiceEcs, name, fn)


_LOCAL = threading.local()


def _waits_on_simulation(state) -> bool:
    """A Task whose end is a callback, an ECS task or a child execution: simulated, not computed."""
    resource = getattr(state, "resource", None)
    return getattr(resource, "condition", None) is not None


def install_time_scale() -> None:
    """Waits and Retry intervals, and waiting Tasks' timeouts, in the stand-in's simulated time."""
    if "time_scale" in _ORIGINAL:
        return
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import Timeout
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.seconds import Seconds
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.seconds_path import SecondsPath
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    from . import clock

    _ORIGINAL["time_scale"] = True

    # The Retrier's only use of `time` is its sleep between attempts.
    retrier_decl.time = types.SimpleNamespace(sleep=clock.sleep)  # type: ignore[assignment]

    # Under the stack's shared clock a Timestamp is a simulated instant (the Lambdas wrote it from
    # their clock, which is the stand-in's): its distance from now is simulated seconds, too.
    timestamps_simulated = clock.StackClock.from_env() is not None

    def _wait_interval(self, env, wait_seconds):
        scaled = isinstance(self, (Seconds, SecondsPath)) or timestamps_simulated
        # (else a Timestamp on a stand-in alone: a wall-clock instant, waited unscaled)
        deadline = time.monotonic() + (clock.wall(wait_seconds) if scaled else max(0.0, wait_seconds))
        while env.is_running():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            env.program_state_event.wait(left)

    WaitFunction._wait_interval = _wait_interval  # type: ignore[method-assign]

    # moto dropped a Timestamp's fraction and truncated its distance to whole seconds, so a Wait
    # until an instant ended up to 2 s early (a freeze gate's thaw re-checked inside the window).
    def _timestamp_wait_seconds(self, env):
        self.string.eval(env=env)
        text = env.stack.pop()
        at = parse_timestamp(text)
        if at is None:
            raise FailureEventException(self._create_failure_event(env, text))
        return max(0.0, (at - datetime.datetime.now(datetime.UTC)).total_seconds())

    Timestamp._get_wait_seconds = _timestamp_wait_seconds  # type: ignore[method-assign]

    original_timeout = Timeout._eval_body

    def _timeout_eval_body(self, env):
        original_timeout(self, env)
        if getattr(_LOCAL, "simulated", False):
            env.stack.append(clock.wall(env.stack.pop()))

    Timeout._eval_body = _timeout_eval_body  # type: ignore[method-assign]

    original_with_timeout = ExecutionState._evaluate_with_timeout

    def _evaluate_with_timeout(self, env):
        # The flag is read by the Timeout evaluated first thing, on this thread.
        _LOCAL.simulated = _waits_on_simulation(self)
        try:
            return original_with_timeout(self, env)
        finally:
            _LOCAL.simulated = False

    ExecutionState._evaluate_with_timeout = _evaluate_with_timeout  # type: ignore[method-assign]


def install_quiet_after_timeout() -> None:
    """A Task whose state timed out records nothing more. moto runs a Task in a thread and, on
    timeout, records TaskTimedOut and moves on, but the thread goes on (a `.sync` poll notices
    that its frame ended at its next read) and then records TaskSucceeded for a task that never
    finished: after TaskTimedOut, under load, as the last Task event. Step Functions records no
    event for a task after TaskTimedOut."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )

    original = StateTaskService._after_eval_execution
    _ORIGINAL["StateTaskService._after_eval_execution"] = original

    def _after_eval_execution(self, env, *args, **kwargs):
        if not env.is_running():
            return None
        return original(self, env, *args, **kwargs)

    StateTaskService._after_eval_execution = _after_eval_execution  # type: ignore[method-assign]


def _settle_heap_keys(program) -> None:
    """Make every component's `heap_key` (made on first use) before executions share the program:
    two executions that made it at once could each key their heap with a different one."""
    from moto.stepfunctions.parser.asl.component.component import Component
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    seen: set[int] = set()
    todo: list[Any] = [program]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, EvalComponent):
            _ = obj.heap_key
        if isinstance(obj, Component):
            todo.extend(vars(obj).values())
        elif isinstance(obj, list | tuple | set | frozenset):
            todo.extend(obj)
        elif isinstance(obj, dict):
            todo.extend(obj.values())


def install_program_cache() -> None:
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original = ExecutionWorker._get_evaluation_entrypoint
    _ORIGINAL["ExecutionWorker._get_evaluation_entrypoint"] = original
    programs: dict[str, Any] = {}
    lock = threading.Lock()

    def _get_evaluation_entrypoint(self):
        definition = self._evaluation_details.state_machine_details.definition
        with lock:
            program = programs.get(definition)
            if program is None:
                program = original(self)
                _settle_heap_keys(program)
                programs[definition] = program
        return program

    ExecutionWorker._get_evaluation_entrypoint = _get_evaluation_entrypoint  # type: ignore[method-assign]


def install() -> None:
    if _ORIGINAL:
        return
    install_timestamps()
    install_aws_sdk_casing()
    install_sfn_casing()
    install_history_paging()
    install_task_failure_cause()
    install_ecs_sync()
    install_time_scale()
    install_quiet_after_timeout()
    install_program_cache()
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    original = StateTaskLambda._from_error
    _ORIGINAL["StateTaskLambda._from_error"] = original

    def _from_error(self, env, ex):
        if isinstance(ex, ClientError):
            error, cause = lambda_client_error_name(ex)
            return FailureEvent(
                env=env,
                error_name=CustomErrorName(error),
                event_type=HistoryEventType.LambdaFunctionFailed,
                # moto declares EventDetails total (every key) yet builds it, as here, with one key
                event_details=EventDetails(  # type: ignore[typeddict-item]
                    lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(error=error, cause=cause)
                ),
            )
        return original(self, env, ex)

    StateTaskLambda._from_error = _from_error  # type: ignore[method-assign]
