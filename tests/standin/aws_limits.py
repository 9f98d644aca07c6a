"""AWS's payload and size limits that berth can hit, enforced by the stand-in as AWS enforces them
(README, "AWS limits the stand-in enforces"). Each number lives here once, with the page it is from.

moto 5.2.5 accepts every one of these requests (its Step Functions parser backend does not even
check an execution's name). Its Step Functions interpreter does fail a task result or a state
output over 256 KiB with `States.DataLimitExceeded`, but measures Python's `json.dumps` with spaces
and `\\uXXXX` escapes (a non-ASCII character counts 6 bytes, not 2 or 3) and refuses exactly
262,144 bytes; it measures a Lambda task's whole Invoke answer instead of its payload, and it
never checks a state's input after `Parameters`. `install()` patches all of that: requests are
checked in moto's response handlers (so the Step Functions interpreter's own calls, which come back
through the front, are checked too), payloads inside an execution in the interpreter.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

# ---------------------------------------------------------------- the limits

# Step Functions, "Maximum input or output size for a task, state, or execution: 256 KiB of data as
# a UTF-8 encoded string" (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html);
# StartExecution `input` and SendTaskSuccess `output`: "Maximum length of 262144", "expressed as bytes
# in UTF-8 encoding" (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html,
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html).
SFN_PAYLOAD_BYTES = 262_144
# Names of state machines, executions and activity tasks: at most 80 characters, none of whitespace,
# < > { } [ ], ? *, " # % \ ^ | ~ ` $ & , ; : /, control characters
# (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html; StartExecution `name`:
# "Minimum length of 1. Maximum length of 80.").
SFN_NAME_CHARS = 80
SFN_NAME_FORBIDDEN = frozenset(' <>{}[]?*"#%\\^|~`$&,;:/')
# SendTaskFailure `error` "Maximum length of 256", `cause` "Maximum length of 32768"
# (https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskFailure.html).
SFN_TASK_ERROR_CHARS = 256
SFN_TASK_CAUSE_CHARS = 32_768

# ECS RunTask `overrides`: "A total of 8192 characters are allowed for overrides. This limit includes
# the JSON formatting characters of the override structure."
# (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html)
ECS_OVERRIDES_CHARS = 8_192
# ECS "Task definition size limit: The maximum size, in KiB, of a task definition: 64"
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html).
ECS_TASK_DEFINITION_BYTES = 65_536

# EventBridge PutEvents: "The total entry size must be less than 256KB", the entry size computed as
# "Calculating PutEvents event entry size" says: Time 14 bytes if given, Source, DetailType, Detail
# and each Resources entry their UTF-8 bytes
# (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html).
EVENTS_ENTRIES_BYTES = 262_144
EVENTS_TIME_BYTES = 14


# ---------------------------------------------------------------- how AWS counts


def _json_default(value: Any) -> str:
    # What moto's interpreter writes for a value JSON has no type for (a task result's datetimes).
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


def json_bytes(value: Any) -> int:
    """UTF-8 bytes of `value` as compact JSON, the way Step Functions writes a state's data
    (`{"a":1}`, non-ASCII characters as themselves)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    return len(text.encode("utf-8"))


def sfn_payload_fits(value: Any) -> bool:
    """Whether a task result, a state's input or output fits Step Functions' 256 KiB."""
    return json_bytes(value) <= SFN_PAYLOAD_BYTES


def lambda_result_fits(value: Any) -> bool:
    """A Lambda-function Task's result is the function's payload, not the Invoke answer around it."""
    if isinstance(value, dict) and "Payload" in value:
        value = value["Payload"]
    return sfn_payload_fits(value)


def ecs_overrides_chars(overrides: Any) -> int:
    """Characters of RunTask's `overrides` as JSON, its formatting included (compact, as the SDKs send it)."""
    return len(json.dumps(overrides, separators=(",", ":"), ensure_ascii=False))


def events_entry_bytes(entry: dict) -> int:
    """One PutEventsRequestEntry's size as EventBridge calculates it."""
    size = EVENTS_TIME_BYTES if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        if entry.get(key) is not None:
            size += len(str(entry[key]).encode("utf-8"))
    for resource in entry.get("Resources") or []:
        if resource is not None:
            size += len(str(resource).encode("utf-8"))
    return size


def sfn_name_problem(name: str) -> str | None:
    """None when `name` is a valid execution name; else which check fails: "length" or "characters"."""
    if not 1 <= len(name) <= SFN_NAME_CHARS:
        return "length"
    for c in name:
        o = ord(c)
        if (
            c in SFN_NAME_FORBIDDEN
            or c.isspace()
            or o <= 0x1F
            or 0x7F <= o <= 0x9F
            or 0xD800 <= o <= 0xDFFF
            or o in (0xFFFE, 0xFFFF)
        ):
            return "characters"
    return None


def too_long(member: str, limit: int) -> str:
    """The validation message AWS's front end gives for a member over its maximum length (a
    sensitive member, such as StartExecution's `input`, is not quoted)."""
    return (
        f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
        f"Member must have length less than or equal to {limit}"
    )


# ---------------------------------------------------------------- Step Functions API

_ORIGINAL: dict[str, Any] = {}


def check_start_execution(name: str | None, execution_input: str | None) -> None:
    """StartExecution's `name` and `input`, refused as Step Functions refuses them."""
    from moto.stepfunctions.exceptions import InvalidName, ValidationException

    if name is not None:
        problem = sfn_name_problem(name)
        if problem == "length":
            raise ValidationException(
                f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
                f"Member must have length less than or equal to {SFN_NAME_CHARS}"
            )
        if problem:
            raise InvalidName(f"Invalid Name: '{name}'")
    if execution_input is not None and len(execution_input.encode("utf-8")) > SFN_PAYLOAD_BYTES:
        raise ValidationException(too_long("input", SFN_PAYLOAD_BYTES))


def install_sfn_api() -> None:
    """StartExecution's name and input; SendTaskSuccess's output; SendTaskFailure's error and cause."""
    from moto.stepfunctions.exceptions import ValidationException
    from moto.stepfunctions.responses import StepFunctionResponse

    start, success, failure = (
        StepFunctionResponse.start_execution,
        StepFunctionResponse.send_task_success,
        StepFunctionResponse.send_task_failure,  # sfn_patch's, when it is installed first
    )

    def start_execution(self):
        check_start_execution(self._get_param("name"), self._get_param("input"))
        return start(self)

    def send_task_success(self):
        output = self._get_param("output")
        if output is not None and len(output.encode("utf-8")) > SFN_PAYLOAD_BYTES:
            raise ValidationException(too_long("output", SFN_PAYLOAD_BYTES))
        return success(self)

    def send_task_failure(self):
        for member, limit in (("error", SFN_TASK_ERROR_CHARS), ("cause", SFN_TASK_CAUSE_CHARS)):
            value = self._get_param(member)
            if value is not None and len(value) > limit:
                raise ValidationException(too_long(member, limit))
        return failure(self)

    _ORIGINAL["StepFunctionResponse.start_execution"] = start
    _ORIGINAL["StepFunctionResponse.send_task_success"] = success
    _ORIGINAL["StepFunctionResponse.send_task_failure"] = failure
    StepFunctionResponse.start_execution = start_execution  # type: ignore[method-assign]
    StepFunctionResponse.send_task_success = send_task_success  # type: ignore[method-assign]
    StepFunctionResponse.send_task_failure = send_task_failure  # type: ignore[method-assign]


# ---------------------------------------------------------------- Step Functions interpreter


def install_sfn_payloads() -> None:
    """Task results and state outputs measured as AWS measures them; a Task's input after
    `Parameters` checked too; API errors of the Step Functions integration named as AWS names them."""
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.api import (
        HistoryEventType,
        LambdaFunctionFailedEventDetails,
        TaskFailedEventDetails,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state import state as state_module
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_lambda
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    # moto's modules imported `is_within_size_quota` by name: the name each module calls is replaced.
    _ORIGINAL["is_within_size_quota"] = state_module.is_within_size_quota
    state_module.is_within_size_quota = sfn_payload_fits  # type: ignore[attr-defined]
    state_task_service.is_within_size_quota = sfn_payload_fits  # type: ignore[attr-defined]
    state_task_lambda.is_within_size_quota = lambda_result_fits  # type: ignore[attr-defined]

    limit_error = StatesErrorNameType.StatesStatesDataLimitExceeded

    def input_too_large(self, env) -> FailureEventException:
        cause = (
            f"The state/task '{self.name}' has an input, after Parameters, with a size exceeding the "
            "maximum number of bytes service limit."
        )
        if isinstance(self, state_task_lambda.StateTaskLambda):
            details = EventDetails(  # type: ignore[typeddict-item]
                lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(
                    error=limit_error.to_name(), cause=cause
                )
            )
            event_type = HistoryEventType.LambdaFunctionFailed
        else:
            failed = TaskFailedEventDetails(error=limit_error.to_name(), cause=cause)
            if isinstance(self, state_task_service.StateTaskService):
                failed["resource"] = self._get_sfn_resource()
                failed["resourceType"] = self._get_sfn_resource_type()
            details = EventDetails(taskFailedEventDetails=failed)  # type: ignore[typeddict-item]
            event_type = HistoryEventType.TaskFailed
        return FailureEventException(
            FailureEvent(
                env=env, error_name=StatesErrorName(typ=limit_error), event_type=event_type, event_details=details
            )
        )

    task_parameters = StateTask._eval_parameters
    lambda_parameters = state_task_lambda.StateTaskLambda._eval_parameters

    def eval_task_parameters(self, env):
        parameters = task_parameters(self, env)
        if not sfn_payload_fits(parameters):
            raise input_too_large(self, env)
        return parameters

    def eval_lambda_parameters(self, env):
        parameters = lambda_parameters(self, env)
        if not sfn_payload_fits(parameters["Payload"]):
            raise input_too_large(self, env)
        return parameters

    _ORIGINAL["StateTask._eval_parameters"] = task_parameters
    _ORIGINAL["StateTaskLambda._eval_parameters"] = lambda_parameters
    StateTask._eval_parameters = eval_task_parameters  # type: ignore[method-assign]
    state_task_lambda.StateTaskLambda._eval_parameters = eval_lambda_parameters  # type: ignore[method-assign]

    # moto names an API error of `states:startExecution` `StepFunctions.<code>Exception`, also when
    # the code already ends in Exception (`StepFunctions.ValidationExceptionException`). Step
    # Functions names it after the SDK's exception class: `StepFunctions.StateMachineDoesNotExistException`
    # for StateMachineDoesNotExist, `StepFunctions.ValidationException` for ValidationException.
    sfn_from_error = StateTaskServiceSfn._from_error

    def _from_error(self, env, ex):
        event = sfn_from_error(self, env, ex)
        code = ex.response["Error"]["Code"] if isinstance(ex, ClientError) else ""
        if not code.endswith("Exception"):
            return event
        name = f"StepFunctions.{code}"
        details: dict = dict(event.event_details or {})
        failed: dict = dict(details.get("taskFailedEventDetails") or {})
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(name),
            event_type=event.event_type,
            event_details=EventDetails(taskFailedEventDetails={**failed, "error": name}),  # type: ignore[typeddict-item]
        )

    _ORIGINAL["StateTaskServiceSfn._from_error"] = sfn_from_error
    StateTaskServiceSfn._from_error = _from_error  # type: ignore[method-assign]


# ---------------------------------------------------------------- ECS


def install_ecs() -> None:
    """RunTask's overrides (8192 characters) and RegisterTaskDefinition's size (64 KiB)."""
    from moto.ecs.exceptions import EcsClientException, InvalidParameterException
    from moto.ecs.responses import EC2ContainerServiceResponse

    run_task, register = EC2ContainerServiceResponse.run_task, EC2ContainerServiceResponse.register_task_definition

    def run_task_checked(self):
        overrides = self._get_param("overrides")
        if overrides is not None and ecs_overrides_chars(overrides) > ECS_OVERRIDES_CHARS:
            raise InvalidParameterException(f"Container Overrides length must be at most {ECS_OVERRIDES_CHARS}")
        return run_task(self)

    def register_checked(self):
        size = json_bytes(json.loads(self.body or "{}"))
        if size > ECS_TASK_DEFINITION_BYTES:
            raise EcsClientException(
                f"Actual length: '{size}'. Max allowed length is '{ECS_TASK_DEFINITION_BYTES}' bytes."
            )
        return register(self)

    _ORIGINAL["EC2ContainerServiceResponse.run_task"] = run_task
    _ORIGINAL["EC2ContainerServiceResponse.register_task_definition"] = register
    EC2ContainerServiceResponse.run_task = run_task_checked  # type: ignore[method-assign]
    EC2ContainerServiceResponse.register_task_definition = register_checked  # type: ignore[method-assign]


# ---------------------------------------------------------------- EventBridge


def install_events() -> None:
    """PutEvents: the whole call is refused when its entries together are 256 KiB or more."""
    from moto.events.exceptions import ValidationException
    from moto.events.responses import EventsHandler

    put_events = EventsHandler.put_events

    def put_events_checked(self):
        entries = self._get_param("Entries") or []
        if sum(events_entry_bytes(e) for e in entries if isinstance(e, dict)) >= EVENTS_ENTRIES_BYTES:
            raise ValidationException("Total size of the entries in the request is over the limit.")
        return put_events(self)

    _ORIGINAL["EventsHandler.put_events"] = put_events
    EventsHandler.put_events = put_events_checked  # type: ignore[method-assign]


def install() -> None:
    """After sfn_patch.install(): wraps what is there (its SendTaskFailure among them)."""
    if _ORIGINAL:
        return
    install_sfn_api()
    install_sfn_payloads()
    install_ecs()
    install_events()
