"""Provider errors, typed so callers (and Step Functions Retry/Catch) never parse messages."""

from __future__ import annotations


class ProviderError(Exception):
    retryable = False


class GatewayNotFound(ProviderError):
    pass


class GatewayExists(ProviderError):
    pass


class RuntimeMissing(ProviderError):
    """The data plane's runtime (e.g. node 24 + openclaw) is not installed or has the wrong version."""


class ConfigRejected(ProviderError):
    """OpenClaw refused the config at startup (exit 78); `issues` are [{path, message}]."""

    def __init__(self, message: str, issues: list[dict]):
        super().__init__(message)
        self.issues = issues


class StartFailed(ProviderError):
    """The gateway exited or never became ready; `log_tail` holds its last output."""

    retryable = True

    def __init__(self, message: str, exit_code: int | None = None, log_tail: str = ""):
        super().__init__(message)
        self.exit_code = exit_code
        self.log_tail = log_tail


class PortInUse(StartFailed):
    """Another process listens on the gateway's port (the provider then picks another)."""


class UnsupportedChange(ProviderError):
    """A change this provider cannot make (e.g. a version or size it does not offer)."""
