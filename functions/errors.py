"""The one translation of clawster errors at the edges: to an HTTP status (API handlers) and to a Step
Functions error name (task Lambdas). Ordered most specific first; the first class the error is an
instance of decides. Anything that is not a ClawsterError is a defect: 500, and States.TaskFailed's
own name in a workflow (no Retry matches it, so it fails loudly instead of being retried)."""

from __future__ import annotations

import json
import math

from clawster.domain import errors as domain
from clawster.errors import ClawsterError, RetryableError
from clawster.gateway import errors as gateway
from layers.providers import errors as providers

HTTP_STATUS: tuple[tuple[type[ClawsterError], int], ...] = (
    (domain.BadRequest, 400),
    (domain.Unauthorized, 401),
    (domain.Forbidden, 403),
    (domain.NotFound, 404),
    (domain.Conflict, 409),
    (domain.PayloadTooLarge, 413),
    (domain.UnsupportedMediaType, 415),
    (domain.ValidationFailed, 422),
    (domain.PreconditionRequired, 428),
    # A gateway's or a provider's answer reaches an API caller only through the control plane.
    (gateway.InvalidConfig, 422),  # the gateway's schema refused the caller's config
    (gateway.ConfigConflict, 409),  # the gateway's config moved on: re-read and retry
    (providers.ConfigRejected, 422),
    (providers.UnsupportedChange, 422),
    (providers.GatewayNotFound, 409),  # the bot exists, its gateway does not: a state, not a missing resource
    (providers.GatewayExists, 409),
    (providers.InvalidSpec, 502),  # the cloud's API refused what the control plane asked: the request was checked first
    (RetryableError, 503),  # Unavailable, throttling, a gateway starting, a start that failed
    (gateway.GatewayError, 502),  # the gateway refused the control plane itself (auth, scope, protocol)
    (ClawsterError, 500),
)

RETRYABLE = "Clawster.Retryable"
PERMANENT = "Clawster.Permanent"


def http_status(error: ClawsterError) -> int:
    return next(status for kind, status in HTTP_STATUS if isinstance(error, kind))


def retry_after_seconds(error: ClawsterError) -> int | None:
    """The Retry-After header for a retryable answer, when whoever refused said how long to wait."""
    if error.retryable and error.retry_after_ms is not None:
        return max(1, math.ceil(error.retry_after_ms / 1000))
    return None


def step_functions_error_name(error: ClawsterError) -> str:
    """The name a task Lambda's failure carries, matched by the state machines' Retry (RETRYABLE,
    with backoff) and Catch (PERMANENT, to the failure path)."""
    return RETRYABLE if error.retryable else PERMANENT


# Lambda reports a failure's errorType as the exception class's name, and Step Functions matches
# Retry/Catch on that name: one class per name, raised in place of the domain error.
_TASK_ERRORS = {name: type(name, (Exception,), {"__module__": __name__}) for name in (RETRYABLE, PERMANENT)}


def task_failure(error: ClawsterError) -> Exception:
    """The exception a task Lambda raises for `error`: named for Step Functions, with the code,
    message and details as its JSON cause, so the Catch path can record why."""
    cause = {"code": error.code, "message": error.message, "details": error.details}
    if error.retry_after_ms is not None:
        cause["retry_after_ms"] = error.retry_after_ms
    return _TASK_ERRORS[step_functions_error_name(error)](json.dumps(cause))
