"""The one error taxonomy. Every error the control plane raises on purpose is a ClawsterError and
either a RetryableError (the same call may succeed later: throttling, a busy gateway, a transaction
conflict) or a PermanentError (it will fail the same way until the input changes). The domain, the
gateway client and the providers all build on these bases, so a caller (an API handler, a Step
Functions task) decides what to do from the base class alone. The translation to HTTP statuses
and to Step Functions error names is written once, in functions/errors.py.
"""

from __future__ import annotations

from typing import Any


class ClawsterError(Exception):
    """`code` is stable (clients branch on it); `message` is for people; `details` is structured."""

    code = "INTERNAL"
    retryable = False

    def __init__(self, message: str, details: dict[str, Any] | None = None, *, retry_after_ms: int | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.retry_after_ms = retry_after_ms  # a hint from whoever refused, when they gave one

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class RetryableError(ClawsterError):
    retryable = True


class PermanentError(ClawsterError):
    retryable = False


class Unavailable(RetryableError):
    """Try again later: the one 'unavailable' (the gateway's own is a subclass of it)."""

    code = "UNAVAILABLE"
