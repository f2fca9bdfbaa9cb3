"""AWS's answers as the provider's typed errors, once for every call the ECS adapter makes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import GatewayNotFound, InvalidSpec, ProviderFailed, Throttled

T = TypeVar("T")

THROTTLED = {"ThrottlingException", "TooManyRequestsException", "Throttling", "RequestLimitExceeded",
             "LimitExceededException", "LimitExceeded", "ServiceUnavailable", "ServiceUnavailableException",
             "ServerException", "InternalServiceError", "InternalFailure"}  # rate, quota, or AWS's own trouble
INVALID = {"ClientException", "InvalidParameterException", "InvalidParameterValue", "ValidationException",
           "MalformedPolicyDocument", "MalformedPolicyDocumentException", "InvalidInput", "BadRequest",
           "IncorrectFileSystemLifeCycleState", "UnsupportedFeatureException", "PlatformUnknownException",
           "PlatformTaskDefinitionIncompatibilityException", "InvalidParameterCombination"}
MISSING = {"ServiceNotFoundException", "ServiceNotActiveException", "ResourceNotFoundException", "NoSuchEntity",
           "AccessPointNotFound"}
# A missing piece of the deployment itself: no retry finds it, and the error names the setting to fix.
SETTING_MISSING = {"ClusterNotFoundException": "cluster", "FileSystemNotFound": "file_system_id"}


def call(what: str, action: Callable[[], T], *, ok: tuple[str, ...] = ()) -> T | None:
    """`action()`, its AWS error typed; None when AWS answered one of the `ok` codes (e.g. "already exists")."""
    try:
        return action()
    except ClientError as error:
        code = error_code(error)
        if code in ok:
            return None
        raise typed(error, what) from error
    except BotoCoreError as error:  # no answer (connection, timeout): try again later
        raise Throttled(f"AWS did not answer about {what}: {type(error).__name__}") from error


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def typed(error: ClientError, what: str) -> Exception:
    code, message = error_code(error), error.response.get("Error", {}).get("Message", "")
    details: dict[str, Any] = {"aws_code": code}
    if code in THROTTLED:
        return Throttled(f"AWS throttled a request about {what} ({code}); retry", details)
    if code in SETTING_MISSING:
        field = SETTING_MISSING[code]
        return InvalidSpec(f"the ECS target's {field} does not exist ({code}: {message})", {**details, "field": field})
    if code in MISSING:
        return GatewayNotFound(f"{what} does not exist ({code})", details)
    if code in INVALID:
        return InvalidSpec(f"AWS refused the request about {what} as invalid ({code}: {message})", details)
    return ProviderFailed(f"AWS refused the request about {what} ({code}: {message})", details)
