"""Typed errors. Each carries its HTTP status and a stable code; they are mapped to responses once,
in functions/api/_resolver.py. Callers match on the type, never on the message."""

from __future__ import annotations

from typing import Any


class ClawsterError(Exception):
    status = 500
    code = "INTERNAL"
    retryable = False

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class BadRequest(ClawsterError):
    status, code = 400, "BAD_REQUEST"


class Unauthorized(ClawsterError):
    status, code = 401, "UNAUTHORIZED"


class Forbidden(ClawsterError):
    status, code = 403, "FORBIDDEN"


class NotFound(ClawsterError):
    status, code = 404, "NOT_FOUND"


class Conflict(ClawsterError):
    status, code = 409, "CONFLICT"


class VersionConflict(Conflict):
    code = "VERSION_CONFLICT"


class InvalidState(Conflict):
    code = "INVALID_STATE"


class UnsupportedMediaType(ClawsterError):
    status, code = 415, "UNSUPPORTED_MEDIA_TYPE"


class PayloadTooLarge(ClawsterError):
    status, code = 413, "PAYLOAD_TOO_LARGE"


class PreconditionRequired(ClawsterError):
    status, code = 428, "PRECONDITION_REQUIRED"


class ValidationFailed(ClawsterError):
    """422: names the field and the reason."""

    status, code = 422, "VALIDATION_FAILED"

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}", {"errors": [{"field": field, "reason": reason}]})


class Unavailable(ClawsterError):
    status, code, retryable = 503, "UNAVAILABLE", True
