"""One narrow patch to moto 5.2.5's Step Functions interpreter (README, "Exact moto patches").

A Task whose `Resource` is a Lambda function ARN (`StateTaskLambda`, what berth's ASL uses) names
every error answer of the Lambda Invoke API `Exception`, whatever Lambda said. Step Functions names
it `Lambda.<error code>` (`Lambda.ServiceException`, `Lambda.TooManyRequestsException`, ...), as
moto already does for `arn:aws:states:::lambda:invoke` (`StateTaskServiceLambda`). Without this, no
`Retry` on `Lambda.*` can ever match locally.
"""

from __future__ import annotations

_ORIGINAL: dict = {}


def lambda_client_error_name(client_error) -> tuple[str, str]:
    """(error, cause) Step Functions reports for a Lambda API error answer."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
        StateTaskServiceLambda,
    )

    return StateTaskServiceLambda._error_cause_from_client_error(client_error)


def install() -> None:
    if _ORIGINAL:
        return
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
