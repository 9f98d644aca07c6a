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

A Task whose `Resource` is a Lambda function ARN (`StateTaskLambda`, what berth's ASL uses) names
every error answer of the Lambda Invoke API `Exception`, whatever Lambda said. Step Functions names
it `Lambda.<error code>` (`Lambda.ServiceException`, `Lambda.TooManyRequestsException`, ...), as
moto already does for `arn:aws:states:::lambda:invoke` (`StateTaskServiceLambda`). Without this, no
`Retry` on `Lambda.*` can ever match locally.
"""

from __future__ import annotations

import datetime
import re

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
    StateTaskServiceAwsSdk._normalise_parameters = _normalise_parameters
    StateTaskServiceAwsSdk._normalise_response = _normalise_response


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
    StateTaskServiceSfn._normalise_parameters = _normalise_parameters
    StateTaskServiceSfn._normalise_response = _normalise_response


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
        raise ValidationException(f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to {HISTORY_MAX}")
    start = 0
    if token:
        try:
            cursor = json.loads(base64.urlsafe_b64decode(token.encode()))
            assert cursor["arn"] == arn and cursor["reverse"] == reverse
            start = int(cursor["offset"])
        except Exception:  # noqa: BLE001 - any token we did not write is invalid
            raise InvalidToken("'nextToken' is not valid")
    ordered = list(reversed(events)) if reverse else list(events)
    page = {"events": ordered[start:start + size]}
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
        return ActionResult(history_page(history["events"], bool(self._get_param("reverseOrder", False)),
                                         self._get_param("maxResults"), self._get_param("nextToken"), arn))

    _ORIGINAL["StepFunctionResponse.get_execution_history"] = StepFunctionResponse.get_execution_history
    StepFunctionResponse.get_execution_history = get_execution_history


def install_task_failure_cause() -> None:
    """3. SendTaskFailure: moto's response handler reads `error` and drops `cause`, which its own
    interpreter takes (`send_task_failure(task_token, error, cause)`); Step Functions puts the cause
    into the TaskFailed event and the caught error (berth reject's "rejected by …: reason")."""
    from moto.stepfunctions.responses import StepFunctionResponse
    from moto.core.responses import EmptyResult

    def send_task_failure(self):
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause"))
        return EmptyResult()

    _ORIGINAL["StepFunctionResponse.send_task_failure"] = StepFunctionResponse.send_task_failure
    StepFunctionResponse.send_task_failure = send_task_failure


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
    utc = now.astimezone(datetime.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def install_timestamps() -> None:
    from moto.stepfunctions.parser.asl.component.state import state as state_module
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.is_operator import (
        IsTimestamp,
    )

    _ORIGINAL["IsTimestamp.string_to_timestamp"] = IsTimestamp.string_to_timestamp
    IsTimestamp.string_to_timestamp = staticmethod(parse_timestamp)
    original = state_module.StateData
    _ORIGINAL["state.StateData"] = original

    def state_data(**fields):
        if "EnteredTime" in fields:
            fields["EnteredTime"] = entered_time(datetime.datetime.fromisoformat(fields["EnteredTime"]))
        return original(**fields)

    state_module.StateData = state_data


def install() -> None:
    if _ORIGINAL:
        return
    install_timestamps()
    install_aws_sdk_casing()
    install_sfn_casing()
    install_history_paging()
    install_task_failure_cause()
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
                event_details=EventDetails(
                    lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(error=error, cause=cause)
                ),
            )
        return original(self, env, ex)

    StateTaskLambda._from_error = _from_error
