"""The provider interface every data plane implements, and the typed models it speaks.

Providers never import each other (import-linter); the control plane only sees `Provider`.
Secrets cross this boundary only as references in the one format (clawster.domain.secret_refs, e.g.
`token_ref`), resolved by clawster.secrets.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from .errors import ConfigRejected, PortInUse, ProviderError, StartFailed


class GatewayState(enum.StrEnum):
    STARTING = "STARTING"  # process/task exists, not ready yet
    RUNNING = "RUNNING"  # ready (/readyz 200)
    STOPPED = "STOPPED"  # stopped on purpose; state kept
    FAILED = "FAILED"  # should run but does not (the provider may be restarting it); see GatewayStatus.failure


class Failure(enum.StrEnum):
    """Why a FAILED gateway is not running: what a workflow needs to choose Retry or Catch."""

    CONFIG_REJECTED = "CONFIG_REJECTED"  # openclaw refused its config at startup (exit 78): permanent
    PORT_IN_USE = "PORT_IN_USE"  # another process held its port: retryable (the provider picks another)
    START_FAILED = "START_FAILED"  # it exited or vanished for another reason: retryable


@dataclass(frozen=True)
class SizeTier:
    name: str
    vcpu: float
    memory_mb: int
    description: str = ""
    hourly_usd: float | None = None  # list price of running one gateway of this size (cloud targets' price tables)


@dataclass(frozen=True)
class Capabilities:
    persistent_storage: bool
    sandbox: bool
    tls_endpoint: bool
    log_streaming: bool
    size_tiers: tuple[SizeTier, ...]
    openclaw_versions: tuple[str, ...]


@dataclass(frozen=True)
class ProvisioningStep:
    key: str
    description: str
    estimate_s: float


@dataclass(frozen=True)
class GatewaySpec:
    bot_id: str
    config: dict = field(default_factory=dict)  # the bot's OpenClaw config; the provider adds what it enforces
    openclaw_version: str = "2026.9.6"
    size: str = "small"


@dataclass(frozen=True)
class GatewayUpdate:
    openclaw_version: str | None = None
    size: str | None = None
    config: dict | None = None  # full replacement of the bot's config (provider-enforced keys re-applied)


@dataclass(frozen=True)
class Endpoint:
    http_url: str
    ws_url: str
    token_ref: str  # a secret reference (clawster.domain.secret_refs) for clawster.secrets.resolve, never the token


@dataclass(frozen=True)
class GatewayStatus:
    bot_id: str
    state: GatewayState
    openclaw_version: str
    endpoint: Endpoint | None = None
    detail: str = ""  # human-readable: why STARTING/FAILED, with the exit code when known
    restarts: int = 0
    failure: Failure | None = None  # set when state is FAILED
    issues: tuple[dict, ...] = ()  # [{path, message}] from openclaw when failure is CONFIG_REJECTED
    exit_code: int | None = None  # the gateway's last exit code when known (negative: killed by that signal)

    def error(self) -> ProviderError | None:
        """The typed error a FAILED status stands for (ConfigRejected is permanent; the others are
        retryable), or None when the gateway is not FAILED. A workflow raises it from its describe loop."""
        if self.state is not GatewayState.FAILED:
            return None
        message = f"gateway of bot {self.bot_id} failed: {self.detail}"
        if self.failure is Failure.CONFIG_REJECTED:
            return ConfigRejected(message, list(self.issues))
        kind = PortInUse if self.failure is Failure.PORT_IN_USE else StartFailed
        return kind(message, self.exit_code)


@dataclass(frozen=True)
class LiveConfig:
    """The config a running gateway holds, as it shows it (secrets redacted as "__OPENCLAW_REDACTED__"), for
    drift detection (clawster.domain.drift)."""

    config: dict  # the gateway's config file as it reads it, without what it derives (defaults)
    hash: str  # the gateway's own hash of it (the one a config write's baseHash names)
    enforced: dict = field(default_factory=dict)  # what the provider writes over every bot's config, redacted
    #                                               as the gateway shows it: not the bot's to drift from


@dataclass(frozen=True)
class LogChunk:
    lines: list[str]
    cursor: int  # pass back to continue after the last line returned


@runtime_checkable
class Provider(Protocol):
    """One compute target's adapter. The rules every provider keeps, so Step Functions can own the waiting
    and retry any call after a timeout:

    - **Nothing blocks on a gateway start.** create/start/restart start the work and return at once
      (state STARTING, or whatever the gateway is already in); the caller polls describe() until RUNNING
      or FAILED, with its own deadline. Blocking helpers (e.g. a provider's `wait_ready`) are for tests
      and the CLI, never for a task Lambda.
    - **Every call is idempotent under retry**, as written per method below: a call repeated after a
      timeout finds the work the first one started instead of failing or doing it twice.
    - **Errors are typed** (layers.providers.errors): retryable or permanent, never a bare exception.
    - A FAILED status says why in `failure` (and `issues` for a refused config); `status.error()` is the
      typed error to raise: ConfigRejected (permanent) or StartFailed/PortInUse (retryable).
    """

    name: str

    def capabilities(self) -> Capabilities: ...

    def provisioning_steps(self, spec: GatewaySpec) -> list[ProvisioningStep]: ...

    def create(self, spec: GatewaySpec) -> GatewayStatus:
        """Create the bot's gateway and start it; returns at once (normally STARTING).

        Again for a bot whose gateway this provider created from the same spec: nothing is done and the
        current status is returned (a create that died half-way is finished: its gateway is launched).
        For a bot that has a gateway created from another spec: GatewayExists (permanent).
        UnsupportedChange (permanent) for a version or size the provider does not offer."""
        ...

    def describe(self, bot_id: str) -> GatewayStatus:
        """The gateway's state now (STARTING → RUNNING once ready and our token is accepted; FAILED with
        `failure`, `issues`, `exit_code`; STOPPED). Reads only. GatewayNotFound when there is none."""
        ...

    def start(self, bot_id: str) -> GatewayStatus:
        """Ask for the gateway to run; returns at once. On a gateway that is running or starting it
        changes nothing and returns its status; a stopped or failed one is launched again (STARTING).
        GatewayNotFound when there is none."""
        ...

    def stop(self, bot_id: str) -> GatewayStatus:
        """Stop the gateway and keep its state (returns STOPPED once the process is gone). On a stopped
        gateway it changes nothing. GatewayNotFound when there is none."""
        ...

    def restart(self, bot_id: str, *, request_id: str | None = None) -> GatewayStatus:
        """Stop and start again; returns at once (STARTING). Restarting is not idempotent by nature:
        pass `request_id` (e.g. the execution and step) and a retry with the same id changes nothing and
        returns the current status. GatewayNotFound when there is none."""
        ...

    def update(self, bot_id: str, change: GatewayUpdate) -> GatewayStatus:
        """Apply a change (live when the gateway runs). The same change again changes nothing more.
        Another OpenClaw version relaunches the gateway on the same state and returns at once (STARTING).
        ConfigRejected when openclaw refuses the config (nothing is changed); UnsupportedChange for a
        version or size the provider does not offer (nothing is changed)."""
        ...

    def backup(self, bot_id: str, key: str) -> str:
        """Keep a copy of the gateway's state, config and OpenClaw version, named `key` (an upgrade's
        execution), to restore() after a failed change; returns the key. Consistent as after a crash at
        one instant. Again with the same key: the backup taken stands. GatewayNotFound when there is none."""
        ...

    def restore(self, bot_id: str, key: str, *, request_id: str | None = None) -> GatewayStatus:
        """Put backup `key` back (state, config, version) and start the gateway on it; returns at once.
        A retry with the same `request_id` changes nothing more. GatewayNotFound when the gateway or the
        backup does not exist."""
        ...

    def delete(self, bot_id: str) -> None:
        """Stop the gateway and remove it with its state. Deleting a gateway that does not exist (or no
        longer does) succeeds and does nothing, so a deprovision can be retried."""
        ...

    def live_config(self, bot_id: str) -> LiveConfig:
        """What the running gateway's config is now, from the gateway itself (its config.get). Reads only.
        GatewayNotFound when there is none; a gateway that does not answer raises its typed error
        (clawster.gateway.errors) or ProviderBusy."""
        ...

    def logs(self, bot_id: str, cursor: int | None = None, limit: int = 200) -> LogChunk: ...

    def endpoint(self, bot_id: str) -> Endpoint: ...
