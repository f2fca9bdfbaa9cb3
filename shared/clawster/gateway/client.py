"""GatewayClient: the methods the control plane needs, over either transport.

Config writes always carry baseHash (take it from config_get). `update_config` does the
read-patch-retry loop callers usually want: a ConfigConflict escapes only after `attempts` tries, and
the gateway's write rate limit (30 config.patch per minute per device and address: RateLimited with
retry_after_ms) is waited out, within a deadline, instead of failing the caller.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import ConfigConflict, RateLimited

REDACTED = "__OPENCLAW_REDACTED__"
RATE_LIMIT_FALLBACK_WAIT_S = 1.0  # a RateLimited without retryAfterMs (the gateway always sends one)
RATE_LIMIT_MARGIN_S = 0.05  # past the window's end, not on it


class Transport(Protocol):
    def call(self, method: str, params: dict | None = None, *, expect_final: bool = False, timeout_s: float = ...) -> Any:
        ...

    def close(self) -> None:
        ...


@dataclass(frozen=True)
class ConfigSnapshot:
    hash: str
    config: dict
    valid: bool
    issues: list[dict] = field(default_factory=list)
    path: str = ""
    source: dict = field(default_factory=dict)  # the file as written (`sourceConfig`): no derived defaults

    @classmethod
    def from_payload(cls, payload: dict) -> ConfigSnapshot:
        return cls(
            hash=payload["hash"],
            config=payload.get("config") or payload.get("parsed") or {},
            valid=bool(payload.get("valid", True)),
            issues=list(payload.get("issues") or []),
            path=payload.get("path", ""),
            source=payload.get("sourceConfig") or payload.get("parsed") or {},
        )


@dataclass(frozen=True)
class ConfigWrite:
    hash: str
    changed_paths: list[str]
    requires_restart: bool

    @classmethod
    def from_payload(cls, payload: dict) -> ConfigWrite:
        stats = (((payload.get("sentinel") or {}).get("payload") or {}).get("stats")) or {}
        return cls(payload["hash"], list(payload.get("changedPaths") or []), bool(stats.get("requiresRestart")))


@dataclass(frozen=True)
class AgentRun:
    run_id: str
    status: str
    text: str
    payload: dict


class GatewayClient:
    def __init__(self, transport: Transport):
        self.transport = transport

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, method: str, params: dict | None = None, **kwargs) -> Any:
        return self.transport.call(method, params, **kwargs)

    # -- gateway ----------------------------------------------------------------------------------
    def health(self) -> dict:
        return self._call("health")

    def status(self) -> dict:
        return self._call("status")

    def system_info(self) -> dict:
        return self._call("system.info", {})

    def usage_cost(self) -> dict:
        return self._call("usage.cost", {})

    def logs_tail(self, cursor: int | None = None, limit: int = 200) -> dict:
        """{lines, cursor, reset, truncated}: pass the returned cursor back to follow the log."""
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        return self._call("logs.tail", params)

    # -- config -----------------------------------------------------------------------------------
    def config_get(self) -> ConfigSnapshot:
        return ConfigSnapshot.from_payload(self._call("config.get", {}))

    def config_patch(self, patch: dict, *, base_hash: str, note: str | None = None) -> ConfigWrite:
        """Merge-patch (objects merge, None deletes). Raises ConfigConflict if base_hash is stale."""
        params = {"raw": json.dumps(patch), "baseHash": base_hash}
        if note:
            params["note"] = note
        return ConfigWrite.from_payload(self._call("config.patch", params))

    def config_apply(self, config: dict, *, base_hash: str, note: str | None = None) -> ConfigWrite:
        """Replace the whole config; REDACTED values keep the stored secret."""
        params = {"raw": json.dumps(config), "baseHash": base_hash}
        if note:
            params["note"] = note
        return ConfigWrite.from_payload(self._call("config.apply", params))

    def update_config(
        self,
        patch: dict,
        *,
        note: str | None = None,
        attempts: int = 3,
        deadline_s: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> ConfigWrite:
        """config.get then config.patch, re-reading after a concurrent change (ConfigConflict).

        A RateLimited write is retried after the gateway's retry_after_ms (it does not count as an
        attempt); it escapes only when that wait would end after `deadline_s` from the call.
        """
        return self._write_on_base(lambda base: self.config_patch(patch, base_hash=base, note=note),
                                   attempts=attempts, deadline_s=deadline_s, sleep=sleep)

    def apply_config(
        self,
        config: dict,
        *,
        note: str | None = None,
        attempts: int = 3,
        deadline_s: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> ConfigWrite:
        """config.get then config.apply (the whole config), with update_config's conflict and rate-limit rules:
        a fleet rollout's writes wait as the gateway tells them, never failing for the limit alone."""
        return self._write_on_base(lambda base: self.config_apply(config, base_hash=base, note=note),
                                   attempts=attempts, deadline_s=deadline_s, sleep=sleep)

    def _write_on_base(self, write: Callable[[str], ConfigWrite], *, attempts: int, deadline_s: float,
                       sleep: Callable[[float], None]) -> ConfigWrite:
        deadline = time.monotonic() + deadline_s
        conflicts = 0
        while True:
            try:
                return write(self.config_get().hash)
            except ConfigConflict:
                conflicts += 1
                if conflicts >= attempts:
                    raise
            except RateLimited as limited:
                wait = (limited.retry_after_ms / 1000) if limited.retry_after_ms is not None else RATE_LIMIT_FALLBACK_WAIT_S
                if time.monotonic() + wait > deadline:
                    raise
                sleep(wait + RATE_LIMIT_MARGIN_S)

    def config_schema_lookup(self, path: str) -> dict:
        """{path, schema, reloadKind: none|hot|restart, children}."""
        return self._call("config.schema.lookup", {"path": path})

    # -- channels, sessions, models ---------------------------------------------------------------
    def channels_status(self, *, probe: bool = False, timeout_ms: int | None = None) -> dict:
        params: dict[str, Any] = {"probe": probe}
        if timeout_ms is not None:
            params["timeoutMs"] = timeout_ms
        return self._call("channels.status", params)

    def channels_pairing_list(self) -> dict:
        return self._call("channels.pairing.list", {})

    def channels_pairing_approve(self, params: dict) -> dict:
        return self._call("channels.pairing.approve", params)

    def sessions_list(self, limit: int = 50) -> dict:
        return self._call("sessions.list", {"limit": limit})

    def models_list(self, view: str | None = None, *, include_details: bool = False) -> dict:
        """{models[{id, name, provider, contextWindow, reasoning, tags, available, ...}]}; `input` and `local`
        only with include_details. Over the admin HTTP RPC the gateway adds `accountSelection`."""
        params: dict[str, Any] = {"view": view} if view else {}
        if include_details:
            params["includeDetails"] = True
        return self._call("models.list", params)

    # -- agent --------------------------------------------------------------------------------------
    def agent(
        self,
        message: str,
        *,
        session_key: str | None = None,
        timeout_s: int = 60,
        on_accepted: Callable[[dict], None] | None = None,
        **extra: Any,
    ) -> AgentRun:
        """One agent turn (WebSocket only); waits through the "accepted" reply for the final one."""
        params: dict[str, Any] = {"message": message, "idempotencyKey": str(uuid.uuid4()), "timeout": timeout_s, **extra}
        if session_key:
            params["sessionKey"] = session_key
        kwargs: dict[str, Any] = {"expect_final": True, "timeout_s": timeout_s + 15}
        if on_accepted is not None:
            kwargs["on_accepted"] = on_accepted
        payload = self._call("agent", params, **kwargs)
        texts = [p.get("text", "") for p in ((payload.get("result") or {}).get("payloads") or [])]
        return AgentRun(payload.get("runId", ""), payload.get("status", ""), "".join(texts), payload)

    def agent_wait(self, run_id: str, timeout_ms: int = 30_000) -> dict:
        return self._call("agent.wait", {"runId": run_id, "timeoutMs": timeout_ms}, timeout_s=timeout_ms / 1000 + 10)

    # -- cron ---------------------------------------------------------------------------------------
    def cron_list(self) -> dict:
        return self._call("cron.list", {})

    def cron_add(self, job: dict) -> dict:
        return self._call("cron.add", job)

    def cron_remove(self, job_id: str) -> dict:
        return self._call("cron.remove", {"id": job_id})

    # -- approvals ----------------------------------------------------------------------------------
    def approval_get(self, approval_id: str) -> dict:
        """{approval}; ApprovalNotFound when the id is unknown or expired (WebSocket only)."""
        return self._call("approval.get", {"id": approval_id})

    # -- devices ------------------------------------------------------------------------------------
    def device_pair_list(self) -> dict:
        return self._call("device.pair.list", {})

    def device_pair_approve(self, request_id: str) -> dict:
        return self._call("device.pair.approve", {"requestId": request_id})

    def device_pair_reject(self, request_id: str) -> dict:
        return self._call("device.pair.reject", {"requestId": request_id})
