"""The domain's errors: client mistakes and refusals (permanent) and Unavailable (retryable), on the
shared bases of clawster.errors. Their HTTP statuses are in functions/errors.py, the one mapping.
Callers match on the type, never on the message."""

from __future__ import annotations

# Re-exported, so domain code needs one import.
from clawster.errors import ClawsterError, PermanentError, RetryableError, Unavailable  # noqa: F401


class BadRequest(PermanentError):
    code = "BAD_REQUEST"


class Unauthorized(PermanentError):
    code = "UNAUTHORIZED"


class Forbidden(PermanentError):
    code = "FORBIDDEN"


class NotFound(PermanentError):
    code = "NOT_FOUND"


class Conflict(PermanentError):
    code = "CONFLICT"


class VersionConflict(Conflict):
    code = "VERSION_CONFLICT"


class InvalidState(Conflict):
    code = "INVALID_STATE"


class UnsupportedMediaType(PermanentError):
    code = "UNSUPPORTED_MEDIA_TYPE"


class PayloadTooLarge(PermanentError):
    code = "PAYLOAD_TOO_LARGE"


class PreconditionRequired(PermanentError):
    code = "PRECONDITION_REQUIRED"


class ValidationFailed(PermanentError):
    """422: names the field and the reason."""

    code = "VALIDATION_FAILED"

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}", {"errors": [{"field": field, "reason": reason}]})
