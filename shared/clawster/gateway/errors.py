"""Typed gateway errors. The gateway's error objects are interpreted here, once; callers catch types.

The gateway answers `{code, message, details?, retryable?, retryAfterMs?}`. Its docs say to branch
on `code` and `details.code`; a few conditions (stale baseHash, unsupported admin RPC method) carry
no details code, so their stable message prefixes are matched here and nowhere else.
"""

from __future__ import annotations

from typing import Any

from clawster.errors import ClawsterError, PermanentError, RetryableError
from clawster.errors import Unavailable as _Unavailable


class GatewayError(ClawsterError):
    """Anything the gateway refused or could not do. Each concrete type below is also a RetryableError
    or a PermanentError; `gateway_code` is the gateway's own error code, `code` ours."""

    code = "GATEWAY_ERROR"

    def __init__(self, message: str, *, code: str = "", details: dict | None = None, retry_after_ms: int | None = None):
        super().__init__(message, details, retry_after_ms=retry_after_ms)
        self.gateway_code = code


class GatewayFailed(GatewayError, PermanentError):
    """An error the gateway gave that none of the types below describes."""


class AuthenticationFailed(GatewayError, PermanentError):
    """Bad or missing token / device identity. Retrying with the same credentials will not help."""


class PairingRequired(AuthenticationFailed):
    """A new device must be approved (device.pair.approve) before it may connect."""

    @property
    def request_id(self) -> str | None:
        return self.details.get("requestId")


class MissingScope(GatewayError, PermanentError):
    @property
    def missing_scope(self) -> str | None:
        return self.details.get("missingScope")

    @property
    def required_scopes(self) -> list[str]:
        return list(self.details.get("requiredScopes") or [])


class ProtocolMismatch(GatewayError, PermanentError):
    """The gateway speaks another protocol version than this client (v4)."""


class InvalidRequest(GatewayError, PermanentError):
    """The request was malformed or refused; `issues` lists [{path, message}] when the gateway gave them."""

    @property
    def issues(self) -> list[dict]:
        return list(self.details.get("issues") or [])


class InvalidConfig(InvalidRequest):
    """A config write the gateway's schema rejects (issues name each bad path)."""


class MethodNotSupported(InvalidRequest):
    """Unknown method, or one the admin HTTP RPC allowlist does not expose (use the WebSocket)."""


class ApprovalNotFound(GatewayError, PermanentError):
    """The approval (or pairing request) named is unknown or expired: re-request the action.

    The gateway's code APPROVAL_NOT_FOUND (HTTP 404 on the admin RPC), or INVALID_REQUEST with
    `details.reason` APPROVAL_NOT_FOUND (approval.get/resolve)."""


class ConfigConflict(GatewayError, RetryableError):
    """The config changed since the caller's config.get: re-read it and retry with the new hash."""


class BaseHashRequired(ConfigConflict):
    """A config write without baseHash once a config file exists."""


class GatewayUnavailable(GatewayError, _Unavailable):
    """Starting, restarting, busy or unreachable: retry after `retry_after_ms` (or a backoff)."""

    code = "GATEWAY_UNAVAILABLE"


class RateLimited(GatewayUnavailable):
    """Control-plane writes are limited (30 per 60 s per method); wait `retry_after_ms`."""


class GatewayTimeout(GatewayUnavailable):
    """The gateway gave up waiting for an agent (AGENT_TIMEOUT, HTTP 504 on the admin RPC)."""

    code = "GATEWAY_TIMEOUT"


class ConnectionLost(GatewayUnavailable):
    """The link died (closed, or silent for twice the tick interval) before the answer came."""


# Conditions the gateway gives no details code for: its stable message prefixes, matched here only.
_BY_MESSAGE: tuple[tuple[tuple[str, ...], type[GatewayError]], ...] = (
    (("config changed since last load",), ConfigConflict),
    (("config base hash required",), BaseHashRequired),
    (("unknown method", "admin HTTP RPC method is not supported"), MethodNotSupported),
    (("invalid config",), InvalidConfig),
)


def from_error(error: dict[str, Any], *, http_status: int | None = None) -> GatewayError:
    """The typed exception for one gateway error object."""
    code = str(error.get("code") or "")
    message = str(error.get("message") or code or "gateway error")
    details = error.get("details") if isinstance(error.get("details"), dict) else {}
    detail_code = str(details.get("code") or "")
    kwargs = {"code": code, "details": details, "retry_after_ms": error.get("retryAfterMs")}
    if code == "APPROVAL_NOT_FOUND" or details.get("reason") == "APPROVAL_NOT_FOUND":
        return ApprovalNotFound(message, **kwargs)
    if code == "AGENT_TIMEOUT":
        return GatewayTimeout(message, **kwargs)
    if detail_code == "PROTOCOL_MISMATCH":
        return ProtocolMismatch(message, **kwargs)
    if detail_code == "PAIRING_REQUIRED" or code == "PAIRING_REQUIRED":
        return PairingRequired(message, **kwargs)
    if detail_code in {"AUTH_TOKEN_MISMATCH", "DEVICE_IDENTITY_REQUIRED"} or code in {"NOT_PAIRED", "NOT_LINKED"} \
            or http_status == 401:
        return AuthenticationFailed(message, **kwargs)
    if detail_code == "MISSING_SCOPE" or code == "FORBIDDEN":
        return MissingScope(message, **kwargs)
    if code == "UNAVAILABLE" or error.get("retryable") or http_status in {429, 503, 504}:
        limited = message.startswith("rate limit exceeded") or http_status == 429
        return (RateLimited if limited else GatewayUnavailable)(message, **kwargs)
    kind = next((k for prefixes, k in _BY_MESSAGE if message.startswith(prefixes)), None)
    if kind is None:
        kind = InvalidRequest if code == "INVALID_REQUEST" else GatewayFailed
    return kind(message, **kwargs)
