"""Provider errors, on the shared bases of clawster.errors: each is retryable or permanent, so the
Step Functions Retry/Catch (functions/errors.py names them) and the API never parse messages."""

from __future__ import annotations

from clawster.errors import ClawsterError, PermanentError, RetryableError


class ProviderError(ClawsterError):
    code = "PROVIDER_ERROR"


class ProviderFailed(ProviderError, PermanentError):
    """A failure the provider cannot classify further (e.g. no free port for another gateway)."""


class Throttled(ProviderError, RetryableError):
    """The target's API refused for rate or quota; `retry_after_ms` when it said how long to wait."""

    code = "PROVIDER_THROTTLED"


class GatewayNotFound(ProviderError, PermanentError):
    code = "GATEWAY_NOT_FOUND"


class GatewayExists(ProviderError, PermanentError):
    code = "GATEWAY_EXISTS"


class RuntimeMissing(ProviderError, PermanentError):
    """The data plane's runtime (e.g. node 24 + openclaw) is not installed or has the wrong version."""

    code = "RUNTIME_MISSING"


class ConfigRejected(ProviderError, PermanentError):
    """OpenClaw refused the config at startup (exit 78); `issues` are [{path, message}]."""

    code = "CONFIG_REJECTED"

    def __init__(self, message: str, issues: list[dict]):
        super().__init__(message, {"issues": issues})
        self.issues = issues


class StartFailed(ProviderError, RetryableError):
    """The gateway exited or never became ready; `log_tail` holds its last output."""

    code = "START_FAILED"

    def __init__(self, message: str, exit_code: int | None = None, log_tail: str = ""):
        super().__init__(message, {"exit_code": exit_code})
        self.exit_code = exit_code
        self.log_tail = log_tail


class CrashLooping(ProviderError, PermanentError):
    """The gateway was restarted again and again during one wait and never served: it will not start (as
    Kubernetes' CrashLoopBackOff). Permanent, so the workflow stops waiting (and an upgrade rolls back)."""

    code = "START_FAILED"


class PortInUse(StartFailed):
    """Another process listens on the gateway's port (the provider then picks another)."""


class UnsupportedChange(ProviderError, PermanentError):
    """A change this provider cannot make (e.g. a version or size it does not offer)."""

    code = "UNSUPPORTED_CHANGE"


class InvalidSpec(ProviderError, PermanentError):
    """The target's API refused the request as invalid (a malformed or impossible spec): retrying cannot help."""

    code = "INVALID_SPEC"


class ProviderBusy(ProviderError, RetryableError):
    """Another operation on the same bot holds its lock (e.g. a stop waiting for the gateway to exit)."""

    code = "PROVIDER_BUSY"


class UnknownTarget(ProviderFailed):
    """No provider serves this compute target (in this deployment)."""

    code = "UNKNOWN_TARGET"
