"""The provider interface every data plane implements, and the typed models it speaks.

Providers never import each other (import-linter); the control plane only sees `Provider`.
Secrets cross this boundary only as references in the one format (clawster.domain.secret_refs, e.g.
`token_ref`), resolved by clawster.secrets.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class GatewayState(enum.StrEnum):
    STARTING = "STARTING"  # process/task exists, not ready yet
    RUNNING = "RUNNING"  # ready (/readyz 200)
    STOPPED = "STOPPED"  # stopped on purpose; state kept
    FAILED = "FAILED"  # should run but does not (the provider may be restarting it)


@dataclass(frozen=True)
class SizeTier:
    name: str
    vcpu: float
    memory_mb: int
    description: str = ""


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
    detail: str = ""
    restarts: int = 0


@dataclass(frozen=True)
class LogChunk:
    lines: list[str]
    cursor: int  # pass back to continue after the last line returned


@runtime_checkable
class Provider(Protocol):
    name: str

    def capabilities(self) -> Capabilities: ...

    def provisioning_steps(self, spec: GatewaySpec) -> list[ProvisioningStep]: ...

    def create(self, spec: GatewaySpec) -> GatewayStatus: ...

    def describe(self, bot_id: str) -> GatewayStatus: ...

    def start(self, bot_id: str) -> GatewayStatus: ...

    def stop(self, bot_id: str) -> GatewayStatus: ...

    def restart(self, bot_id: str) -> GatewayStatus: ...

    def update(self, bot_id: str, change: GatewayUpdate) -> GatewayStatus: ...

    def delete(self, bot_id: str) -> None: ...

    def logs(self, bot_id: str, cursor: int | None = None, limit: int = 200) -> LogChunk: ...

    def endpoint(self, bot_id: str) -> Endpoint: ...
