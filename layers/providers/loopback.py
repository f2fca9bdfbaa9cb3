"""The loopback provider: gateways someone else runs and hands over by address (a lab's gateways, a benchmark's
loopback fakes). An inventory file (JSON {bot_id: {http_url, ws_url, token_ref}}, path in
$CLAWSTER_LOOPBACK_INVENTORY) says where each bot's gateway answers; the provider describes it (/readyz) and
writes its config (config.apply on its base hash, waiting out the write limit as the local provider does). It
creates, starts, stops and removes nothing: those are the owner's."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from pathlib import Path

from clawster.gateway.client import REDACTED, GatewayClient
from clawster.gateway.errors import ConfigConflict, InvalidConfig
from clawster.gateway.http_rpc import AdminRpcTransport

from .base import (
    Capabilities,
    Endpoint,
    GatewaySpec,
    GatewayState,
    GatewayStatus,
    GatewayUpdate,
    LiveConfig,
    LogChunk,
    ProvisioningStep,
)
from .errors import ConfigRejected, GatewayNotFound, ProviderBusy, UnsupportedChange

INVENTORY_ENV = "CLAWSTER_LOOPBACK_INVENTORY"
VERSION = "2026.9.6"
APPLY_WAIT_S = 40.0
READY_TIMEOUT_S = 3.0


class LoopbackProvider:
    def __init__(self, inventory: str | Path):
        self.inventory = Path(inventory)
        self._entries: dict[str, dict] | None = None

    def _entry(self, bot_id: str) -> dict:
        if self._entries is None or bot_id not in self._entries:
            self._entries = json.loads(self.inventory.read_text())  # read again: the owner adds gateways
        try:
            return self._entries[bot_id]
        except KeyError:
            raise GatewayNotFound(f"no loopback gateway for bot {bot_id}", {"bot_id": bot_id}) from None

    def capabilities(self) -> Capabilities:
        return Capabilities(persistent_storage=False, sandbox=False, tls_endpoint=False, log_streaming=False,
                            size_tiers=(), openclaw_versions=(VERSION,))

    def provisioning_steps(self, spec: GatewaySpec) -> list[ProvisioningStep]:
        return []

    def endpoint(self, bot_id: str) -> Endpoint:
        entry = self._entry(bot_id)
        return Endpoint(entry["http_url"], entry["ws_url"], entry["token_ref"])

    def describe(self, bot_id: str) -> GatewayStatus:
        endpoint = self.endpoint(bot_id)
        try:
            with urllib.request.urlopen(endpoint.http_url + "/readyz", timeout=READY_TIMEOUT_S) as answer:
                ready = answer.status == 200
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            if isinstance(getattr(error, "reason", error), ConnectionRefusedError):  # nothing listens: its owner's stop
                return GatewayStatus(bot_id, GatewayState.STOPPED, VERSION, endpoint, detail=f"not serving: {error}")
            return GatewayStatus(bot_id, GatewayState.STARTING, VERSION, endpoint, detail=f"not ready: {error}")
        return GatewayStatus(bot_id, GatewayState.RUNNING if ready else GatewayState.STARTING, VERSION, endpoint)

    def update(self, bot_id: str, change: GatewayUpdate) -> GatewayStatus:
        if change.openclaw_version not in (None, VERSION) or change.size is not None:
            raise UnsupportedChange("a loopback gateway's version and size are its owner's")
        if change.config is not None:
            with self._client(bot_id) as client:
                try:
                    client.apply_config(_with_access(change.config), note="clawster: loopback update", deadline_s=APPLY_WAIT_S)
                except InvalidConfig as error:
                    raise ConfigRejected(error.message, error.issues) from error
                except ConfigConflict as conflict:
                    raise ProviderBusy(f"the config of bot {bot_id} kept changing: {conflict}") from conflict
        return self.describe(bot_id)

    def live_config(self, bot_id: str) -> LiveConfig:
        with self._client(bot_id) as client:
            snapshot = client.config_get()
        return LiveConfig(config=snapshot.config, hash=snapshot.hash)

    def logs(self, bot_id: str, cursor: int | None = None, limit: int = 200) -> LogChunk:
        return LogChunk([], cursor or 0)

    def _client(self, bot_id: str) -> GatewayClient:
        from clawster.secrets import resolve

        endpoint = self.endpoint(bot_id)
        return GatewayClient(AdminRpcTransport(endpoint.http_url, resolve(endpoint.token_ref)))

    def _owners(self, what: str) -> UnsupportedChange:
        return UnsupportedChange(f"a loopback gateway is {what} by its owner, not by Clawster")

    def create(self, spec: GatewaySpec) -> GatewayStatus:
        raise self._owners("created")

    def start(self, bot_id: str) -> GatewayStatus:
        raise self._owners("started")

    def stop(self, bot_id: str) -> GatewayStatus:
        raise self._owners("stopped")

    def restart(self, bot_id: str, *, request_id: str | None = None) -> GatewayStatus:
        raise self._owners("restarted")

    def backup(self, bot_id: str, key: str) -> str:
        raise self._owners("backed up")

    def restore(self, bot_id: str, key: str, *, request_id: str | None = None) -> GatewayStatus:
        raise self._owners("restored")

    def delete(self, bot_id: str) -> None:
        raise self._owners("removed")




def _with_access(config: dict) -> dict:
    """The bot's config with what keeps the gateway reachable by its owner's token (sent back redacted: the
    gateway keeps its stored secret) and its admin RPC on, as the local provider enforces its own."""
    gateway = dict(config.get("gateway") or {})
    gateway["auth"] = {**(gateway.get("auth") or {}), "mode": "token", "token": REDACTED}
    plugins = dict(config.get("plugins") or {})
    plugins["entries"] = {**(plugins.get("entries") or {}), "admin-http-rpc": {"enabled": True}}
    return {**config, "gateway": gateway, "plugins": plugins}
