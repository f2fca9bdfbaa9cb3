"""A fake OpenClaw 2026.9.6 gateway for fast tests (see /work/shared/reference/openclaw-gateway.md).

A test double: it lives under tests/ and nothing shipped may import it. Where it and the real gateway
could differ, tests/contract/test_gateway_contract.py runs the same case against both.

One asyncio server on 127.0.0.1 serves both the WebSocket protocol v4 (path "/") and the plain HTTP
probes and admin RPC, like the real gateway, which shares one port. Frames, error codes, messages,
details and close codes copy the reference; where it is silent the choice is marked "fake:".
Everything runs on the server's event loop thread, so no state needs a lock.

    with FakeGateway("tok") as gw:          # gw.http_url, gw.ws_url, gw.config, gw.config_hash
        gw.set_config_externally({...})     # another writer: new hash, config.changed broadcast

Choices where the reference is silent (all "fake:"):
- With no `config` argument the admin-http-rpc plugin is enabled; a given config is used as is.
- HTTP status follows the admin-http-rpc plugin's table (read from its code): INVALID_REQUEST 400,
  APPROVAL_NOT_FOUND 404, NOT_PAIRED/NOT_LINKED 409, UNAVAILABLE 503, AGENT_TIMEOUT 504, anything else
  (FORBIDDEN included) 500. An unknown path, or the RPC path with the plugin off, is a plain-text 404.
- Control-plane writes (config.patch/apply, cron.add, update.run) are limited per method and caller:
  `write_limit` per `write_window_ms` (30 per 60 s like the real one; lower them in tests). The caller
  is the device id, else (admin HTTP RPC) the address 127.0.0.1, else the WebSocket connection, as
  the real gateway keys them on loopback. The budget is spent before the params are checked.
- While starting (`startup_unavailable_connects`, or `restart_ms` after gateway.restart.request)
  connect answers UNAVAILABLE startup-sidecars and /readyz is 503 failing ["startup-sidecars"].
- `unready(config) -> failing names` stands for what makes a running gateway not ready (a broken channel, a plugin
  that failed to reload): while it names anything for the current config, /readyz answers 503 with those names
  in `failing`, as the real one does, and the RPC keeps answering. E.g. "not ready while ui.seamColor is X": the
  change broke it, writing the old config back mends it.
- `raw` in config.patch/apply must be JSON (no JSON5). Arrays always replace; replacePaths is accepted and ignored.
- Secrets are redacted by key name (token, password, apiKey, ...). Validation knows top-level keys,
  ui.seamColor and gateway.port only. requiresRestart is true for gateway.port/gateway.bind; such a
  write then sends `shutdown` and closes every socket 1012 (new bootId); a gateway.auth change closes 4001.
- `agent` streams a completion from the model named by its `model`/`provider` params or else by
  agents.defaults.model.primary (default openai/gpt-6-astra), when that provider is configured with a
  baseUrl (e.g. a MockModel's provider_config()); otherwise the turn fails UNAVAILABLE like the real
  one with no key. agent/chat events go to the caller only.
- Not reproduced: bad-token throttling, JSON5, invalid-file states, remote pairing, the refused-
  connection gap of a real restart.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import datetime
import hashlib
import json
import os
import re
import secrets
import socket
import threading
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

VERSION, PROTOCOL, REDACTED = "2026.9.6", 4, "__OPENCLAW_REDACTED__"
ALL_SCOPES = ["operator.read", "operator.write", "operator.admin", "operator.approvals", "operator.questions",
              "operator.pairing", "operator.talk", "operator.talk.secrets"]
CLIENT_IDS = ("cli", "gateway-client", "openclaw-control-ui", "webchat-ui", "webchat", "openclaw-tui", "openclaw-macos",
              "openclaw-linux", "openclaw-ios", "openclaw-android", "openclaw-watchos", "node-host", "openclaw-worker", "test",
              "fingerprint", "openclaw-probe", "openclaw-browser-copilot")
CLIENT_MODES = ("cli", "ui", "backend", "node", "worker", "probe", "test", "webchat")
LOCAL_FULL_SCOPE_CLIENTS = {("gateway-client", "backend"), ("cli", "cli")}  # device-less loopback clients keeping scopes
TOP_LEVEL_KEYS = {"meta", "env", "wizard", "diagnostics", "logging", "update", "browser", "ui", "auth", "models", "agents",
                  "tools", "bindings", "broadcast", "audio", "media", "messages", "commands", "approvals", "session", "cron",
                  "hooks", "web", "channels", "discovery", "canvasHost", "talk", "gateway", "skills", "plugins", "memory",
                  "secrets", "nodeHost", "acp"}
SECRET_KEYS = {"token", "password", "apiKey", "secret", "botToken", "appToken"}  # fake: redacted by key name
# The admin-http-rpc plugin's allowlist and status table, as its code (extensions/admin-http-rpc) has them.
ADMIN_RPC_METHODS = {
    "health", "status", "logs.tail", "usage.status", "usage.cost", "gateway.restart.request", "gateway.suspend.prepare",
    "gateway.suspend.status", "gateway.suspend.resume", "commands.list", "config.get", "config.schema",
    "config.schema.lookup", "config.set", "config.patch", "config.apply", "channels.status", "channels.start", "channels.stop",
    "channels.logout", "web.login.start", "web.login.wait", "models.list", "models.authStatus", "agents.list",
    "agents.create", "agents.update", "agents.delete", "exec.approvals.get", "exec.approvals.set",
    "exec.approvals.node.get", "exec.approvals.node.set", "cron.status", "cron.list", "cron.get", "cron.runs", "cron.add",
    "cron.update", "cron.remove", "cron.run", "device.pair.list", "device.pair.approve", "device.pair.reject",
    "device.pair.remove", "node.list", "node.describe", "node.pair.list", "node.pair.approve", "node.pair.reject",
    "node.pair.remove", "node.rename", "tasks.list", "tasks.get", "tasks.cancel", "doctor.memory.status", "update.status"}
HTTP_STATUS = {"INVALID_REQUEST": 400, "APPROVAL_NOT_FOUND": 404, "NOT_LINKED": 409, "NOT_PAIRED": 409, "UNAVAILABLE": 503,
               "AGENT_TIMEOUT": 504}  # anything else (FORBIDDEN included) is 500
CONTROL_PLANE_WRITES = {"config.patch", "config.apply", "cron.add", "update.run"}
DEFAULT_MODEL = "openai/gpt-6-astra"
EVENTS = ["connect.challenge", "agent", "chat", "tick", "health", "presence", "config.changed", "shutdown"]
MS = lambda: int(time.time() * 1000)
LOG_LEVELS = {"SILLY": 0, "TRACE": 1, "DEBUG": 2, "INFO": 3, "WARN": 4, "ERROR": 5, "FATAL": 6}  # tslog's ids


class GatewayError(Exception):
    def __init__(self, code: str, message: str, details: dict | None = None, **extra: Any):
        super().__init__(message)
        self.error = {"code": code, "message": message, **({"details": details} if details else {}), **extra}


def invalid(message: str, details: dict | None = None) -> GatewayError:
    return GatewayError("INVALID_REQUEST", message, details)


# --- closed-schema validation (ajv-style messages, as the gateway formats them) ---
class Obj:
    def __init__(self, required: tuple = (), **fields: Any):
        self.fields, self.required = fields, required


ANY = object()
_TYPE_NAMES = {int: "integer", str: "string", bool: "boolean", dict: "object"}


class Str:
    """A string with TypeBox's bounds (NonEmptyString is Str(1))."""

    def __init__(self, min_length: int = 0, max_length: int | None = None):
        self.min_length, self.max_length = min_length, max_length


class Int:
    def __init__(self, minimum: int | None = None):
        self.minimum = minimum


NONEMPTY = Str(1)


def schema_error(value: Any, schema: Any, path: str = "") -> str | None:
    where = f"at {path or 'root'}"
    if isinstance(schema, Obj):
        if not isinstance(value, dict):
            return f"{where}: must be object"
        missing = [k for k in schema.required if k not in value]
        extra = [k for k in value if k not in schema.fields]
        if missing:
            return f"{where}: must have required property '{missing[0]}'"
        if extra:
            return f"{where}: unexpected property '{extra[0]}'"
        return next((e for k, v in value.items() if (e := schema_error(v, schema.fields[k], f"{path}/{k}"))), None)
    if isinstance(schema, (Str, Int)):
        return _bounded_error(value, schema, where)
    if isinstance(schema, tuple):
        return None if value in schema else f"{where}: must be equal to one of the allowed values"
    if isinstance(schema, list):
        if not isinstance(value, list):
            return f"{where}: must be array"
        return next((e for i, v in enumerate(value) if (e := schema_error(v, schema[0], f"{path}/{i}"))), None)
    if schema is ANY or (isinstance(value, schema) and not (schema is int and isinstance(value, bool))):
        return None
    return f"{where}: must be {_TYPE_NAMES[schema]}"


def _bounded_error(value: Any, schema: Str | Int, where: str) -> str | None:
    if isinstance(schema, Str):
        if not isinstance(value, str):
            return f"{where}: must be string"
        if len(value) < schema.min_length:
            return f"{where}: must not have fewer than {schema.min_length} characters"
        if schema.max_length is not None and len(value) > schema.max_length:
            return f"{where}: must not have more than {schema.max_length} characters"
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        return f"{where}: must be integer"
    return f"{where}: must be >= {schema.minimum}" if schema.minimum is not None and value < schema.minimum else None


REQ_FRAME = Obj(("type", "id", "method"), type=("req",), id=str, method=str, params=ANY, traceparent=str, expectedProfileId=str)
# ConnectParamsSchema of 2026.9.6 (packages/gateway-protocol): NonEmptyString almost everywhere, any scope
# strings (unknown ones are kept, not refused), and a role checked after the schema ("invalid role").
CONNECT = Obj(("minProtocol", "maxProtocol", "client"), minProtocol=Int(1), maxProtocol=Int(1),
              client=Obj(("id", "version", "platform", "mode"), id=CLIENT_IDS, displayName=NONEMPTY, version=NONEMPTY,
                         buildId=Str(1, 96), platform=NONEMPTY, deviceFamily=NONEMPTY, modelIdentifier=NONEMPTY,
                         timeZone=Str(1, 64), mode=CLIENT_MODES, instanceId=NONEMPTY),
              caps=[NONEMPTY], commands=[NONEMPTY], computerUse=ANY, workerRuns=ANY, permissions=dict, pathEnv=str,
              role=NONEMPTY, scopes=[NONEMPTY], modelCatalog=dict,
              device=Obj(("id", "publicKey", "signature", "signedAt", "nonce"), id=NONEMPTY, publicKey=NONEMPTY,
                         signature=NONEMPTY, signedAt=Int(0), nonce=NONEMPTY),
              auth=Obj(token=str, bootstrapToken=str, deviceToken=str, password=str, approvalRuntimeToken=str,
                       agentRuntimeIdentityToken=str),
              locale=str, userAgent=str)


# --- config helpers ---
def config_hash(config: dict) -> str:
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, separators=(",", ":")).encode()).digest()
    return "hmac-sha256:v1:" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge, null deletes, anything else (arrays included) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def leaf_paths(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        return {p: v for k, sub in value.items() for p, v in leaf_paths(sub, f"{prefix}.{k}" if prefix else k).items()}
    return {prefix: value}


def changed_paths(old: dict, new: dict) -> list[str]:
    a, b = leaf_paths(old), leaf_paths(new)
    return sorted(p for p in a.keys() | b.keys() if a.get(p, ...) != b.get(p, ...))


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if k in SECRET_KEYS and isinstance(v, str) and v else redact(v) for k, v in value.items()}
    return [redact(v) for v in value] if isinstance(value, list) else value


def restore_redacted(new: Any, old: Any) -> Any:
    """The sentinel sent back by a client means "keep the stored secret" (reference G10)."""
    if isinstance(new, dict):
        restored = {k: restore_redacted(v, old.get(k) if isinstance(old, dict) else None) for k, v in new.items()}
        return {k: v for k, v in restored.items() if v is not REDACTED}
    return (old if old is not None else REDACTED) if new == REDACTED else new


def config_issues(config: dict) -> list[dict]:
    # The real gateway reports the root as path "" (and as "<root>" in the message).
    issues = [{"path": "", "message": f'Unrecognized key: "{k}"'} for k in config if k not in TOP_LEVEL_KEYS]
    color = (config.get("ui") or {}).get("seamColor")
    if color is not None and not (isinstance(color, str) and re.fullmatch(r"#?[0-9a-fA-F]{6}", color)):
        issues.append({"path": "ui.seamColor", "message": "expected hex color (RRGGBB)"})
    port = (config.get("gateway") or {}).get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool)):
        issues.append({"path": "gateway.port", "message": f"Invalid input: expected number, received {type(port).__name__}"})
    return issues


def reload_kind(path: str) -> str:
    if path.startswith(("gateway.port", "gateway.bind", "gateway.auth")):
        return "restart"
    return "hot" if path.startswith(("agents.", "update.", "models.", "plugins.")) else "none"


def parse_raw(raw: str, method: str) -> dict:
    """fake: `raw` must be JSON; the real gateway also accepts JSON5, which the stdlib cannot parse."""
    try:
        value = json.loads(raw)
    except ValueError as e:
        raise invalid(f"invalid {method} raw: {e}") from None
    if not isinstance(value, dict):
        raise invalid(f"invalid {method} raw: expected an object")
    return value


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Accepted:
    """An expectFinal answer (`agent`): sent at once, then `final()` gives the second res (payload, error)."""

    def __init__(self, payload: dict, final: Callable[[], Awaitable[tuple[dict, dict | None]]]):
        self.payload, self.final = payload, final


class _Client:
    def __init__(self, ws: ServerConnection | None, scopes: list[str], client_id: str = "gateway-client",
                 device_id: str | None = None, ip: str | None = None):
        self.ws, self.scopes, self.client_id, self.seq = ws, scopes, client_id, 0
        self.device_id, self.ip, self.conn_id = device_id, ip, str(uuid.uuid4())

    @property
    def rate_key(self) -> str:
        """Like resolveControlPlaneRateLimitKey: device|ip, or the connection when both are unknown."""
        device, ip = self.device_id or "unknown-device", self.ip or "unknown-ip"
        return f"{device}|{ip}|conn={self.conn_id}" if (device, ip) == ("unknown-device", "unknown-ip") else f"{device}|{ip}"

    def allows(self, scope: str | None) -> bool:
        have = set(self.scopes)  # admin satisfies every scope; write implies read
        return scope is None or bool({"operator.admin", scope} & have) or (scope == "operator.read" and "operator.write" in have)

    async def event(self, name: str, payload: dict, seq: bool = True) -> None:
        frame: dict = {"type": "event", "event": name, "payload": payload}
        if seq:
            self.seq += 1
            frame["seq"] = self.seq
        if self.ws is not None:
            try:
                await self.ws.send(json.dumps(frame))
            except ConnectionClosed:
                pass


class _HttpAwareConnection(ServerConnection):
    """websockets refuses HTTP request bodies; buffer head + body here and hand it a body-less head."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.http_body, self._pending = b"", bytearray()

    def data_received(self, data: bytes) -> None:
        if self._pending is None:
            return super().data_received(data)
        self._pending += data
        end = self._pending.find(b"\r\n\r\n")
        if end < 0 and len(self._pending) > 65536:  # not HTTP we can frame: let websockets reject it
            end = len(self._pending) - 4
        elif end < 0:
            return None
        head, rest = bytes(self._pending[: end + 4]), bytes(self._pending[end + 4 :])
        match = re.search(rb"(?im)^content-length:\s*(\d+)\s*\r\n", head)
        length = int(match.group(1)) if match else 0
        if len(rest) < length:
            return None
        self._pending, self.http_body = None, rest[:length]
        super().data_received(re.sub(rb"(?im)^content-length:.*\r\n", b"", head) + rest[length:])


def _json_response(status: int, body: Any, headers: dict | None = None) -> Response:
    return _response(status, json.dumps(body).encode(), "application/json; charset=utf-8", headers)


def _text_response(status: int, text: str) -> Response:
    return _response(status, text.encode(), "text/plain; charset=utf-8")


def _response(status: int, data: bytes, content_type: str, headers: dict | None = None) -> Response:
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
              405: "Method Not Allowed", 409: "Conflict", 500: "Internal Server Error", 503: "Service Unavailable",
              504: "Gateway Timeout"}.get(status, "Error")
    h = Headers({"Content-Type": content_type, "Content-Length": str(len(data)), "Connection": "close"})
    for k, v in (headers or {}).items():
        h[k] = v
    return Response(status, reason, h, data)


class FakeGateway:
    def __init__(self, token: str = "fake-token", *, config: dict | None = None, tick_interval_ms: int = 30000,
                 startup_unavailable_connects: int = 0, retry_after_ms: int = 500, agent_delay_s: float = 0.05,
                 write_limit: int = 30, write_window_ms: int = 60_000, restart_ms: int = 300,
                 write_latency_s: float = 0.0):
        # fake: with no config the admin HTTP RPC plugin is enabled, so HTTP tests need no setup patch.
        base = {"gateway": {"mode": "local", "port": 18789, "bind": "loopback", "auth": {"mode": "token"}},
                "update": {"checkOnStart": False}, "plugins": {"entries": {"admin-http-rpc": {"enabled": True}}}}
        self._config = copy.deepcopy(config) if config is not None else base
        self._config.setdefault("gateway", {}).setdefault("auth", {}).setdefault("token", token)
        self.tick_interval_ms, self.retry_after_ms = tick_interval_ms, retry_after_ms
        self.startup_unavailable_connects, self.agent_delay_s = startup_unavailable_connects, agent_delay_s
        self.write_limit, self.write_window_ms, self.restart_ms = write_limit, write_window_ms, restart_ms
        self.write_latency_s = write_latency_s  # fake: a fixed delay before each config write answers (benchmarks)
        self.write_buckets: dict[str, dict] = {}  # "method|caller" -> {count, windowStartMs}
        self.starting_until = 0.0  # monotonic: after a restart request, starting until then
        self.injected: dict[str, dict] = {}  # method -> the error object its next call answers
        self.unready: Callable[[dict], list[str]] | None = None  # fake: config -> the readiness checks failing
        self.port, self.http_url, self.ws_url = 0, "", ""
        self.boot_id, self.started_ms = str(uuid.uuid4()), MS()
        self.config_path = f"/fake-openclaw/{uuid.uuid4().hex[:8]}/openclaw.json"
        self.clients: set[_Client] = set()
        self.logs: list[str] = []
        self.sessions: dict[str, dict] = {}
        self.runs: dict[str, dict] = {}
        self.runs_by_key: dict[str, str] = {}
        self.cron_jobs: dict[str, dict] = {}
        self.paired: dict[str, dict] = {}  # deviceId -> pairing record (with its deviceToken)
        self._tasks: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---
    def start(self, port: int = 0) -> FakeGateway:
        """Serve on loopback: on `port`, or one of the system's (a stopped fake starts again on its own port)."""
        self._loop = asyncio.new_event_loop()

        async def main() -> None:
            self._server = await serve(self._ws_handler, "127.0.0.1", port, process_request=self._process_request,
                                       create_connection=_HttpAwareConnection, max_size=26214400, compression=None)
            self.port = self._server.sockets[0].getsockname()[1]

        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-openclaw-gateway", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(main(), self._loop).result(10)
        self.http_url, self.ws_url = f"http://127.0.0.1:{self.port}", f"ws://127.0.0.1:{self.port}"
        self.log("gateway", "ready")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return

        async def shutdown() -> None:
            await self._close_all(1012, "service restart", {"reason": "gateway stopping"})
            self._server.close()
            await self._server.wait_closed()
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in pending:  # agent runs, agent.wait calls: end them so the loop closes without warnings
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> FakeGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def config(self) -> dict:
        return copy.deepcopy(self._config)

    @property
    def config_hash(self) -> str:
        return config_hash(self._config)

    @property
    def token(self) -> str:  # the live token: a config write rotating it takes effect at once
        return self._config.get("gateway", {}).get("auth", {}).get("token", "")

    @property
    def auth_mode(self) -> str:
        return self._config.get("gateway", {}).get("auth", {}).get("mode", "token")

    def set_config_externally(self, patch: dict) -> None:
        """Another writer changed the file: the hash moves on, so clients holding the old baseHash go stale."""
        async def apply() -> None:
            self._config = merge_patch(self._config, patch)
            await self._broadcast("config.changed", {"path": self.config_path, "hash": self.config_hash, "ts": MS()})

        if self._loop is None:
            self._config = merge_patch(self._config, patch)
        else:
            asyncio.run_coroutine_threadsafe(apply(), self._loop).result(10)

    def inject_error(self, method: str, code: str, message: str, details: dict | None = None) -> None:
        """The next call of `method` answers this gateway error (for codes the fake cannot provoke)."""
        self.injected[method] = {"code": code, "message": message, **({"details": details} if details else {})}

    def log(self, subsystem: str, message: str, level: str = "INFO") -> None:
        """One line of the gateway's file log as openclaw writes it (tslog JSON: the level in `_meta`, an ISO
        `time`); `level` lets a test make a gateway log errors (the rollout's error-rate gate reads them)."""
        moment = datetime.datetime.now(datetime.UTC)
        name = json.dumps({"subsystem": subsystem}, separators=(",", ":"))
        meta = {"runtime": "node", "runtimeVersion": "24.21.0", "hostname": socket.gethostname(),
                "date": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "logLevelId": LOG_LEVELS[level], "logLevelName": level, "name": name, "parentNames": ["openclaw"]}
        self.logs.append(json.dumps({"0": name, "1": message, "_meta": meta,
                                     "time": moment.isoformat(timespec="milliseconds"), "hostname": socket.gethostname(),
                                     "message": message}, separators=(",", ":"), ensure_ascii=False))

    async def _broadcast(self, name: str, payload: dict) -> None:
        for client in list(self.clients):
            await client.event(name, payload)

    async def _close_all(self, code: int, reason: str, shutdown: dict | None = None) -> None:
        async def close(client: _Client) -> None:
            if shutdown is not None:
                await client.event("shutdown", shutdown)
            await client.ws.close(code, reason)

        await asyncio.gather(*(close(c) for c in list(self.clients)))  # concurrently: one slow peer must not stall the rest

    # --- dispatcher shared by both transports ---
    async def call(self, client: _Client, method: str, params: Any) -> dict | _Accepted:
        entry = METHODS.get(method)
        if entry is None:
            raise invalid(f"unknown method: {method}")
        scope, schema, handler = entry
        if (injected := self.injected.pop(method, None)) is not None:
            raise GatewayError(**injected)
        if not client.allows(scope):
            raise GatewayError("FORBIDDEN", f"missing scope: {scope}",
                               {"code": "MISSING_SCOPE", "missingScope": scope, "requiredScopes": [scope]})
        if method in CONTROL_PLANE_WRITES:
            self._spend_write_budget(client, method)
        params = {} if params is None else params
        if schema is not None and (error := schema_error(params, schema)):
            raise invalid(f"invalid {method} params: {error}")
        result = handler(self, client, params)
        return await result if asyncio.iscoroutine(result) else result

    def _spend_write_budget(self, client: _Client, method: str) -> None:
        now, key = MS(), f"{method}|{client.rate_key}"
        bucket = self.write_buckets.get(key)
        if bucket is None or now - bucket["windowStartMs"] >= self.write_window_ms:
            self.write_buckets[key] = {"count": 1, "windowStartMs": now}
            return
        if bucket["count"] >= self.write_limit:
            retry_ms = max(0, bucket["windowStartMs"] + self.write_window_ms - now)
            raise GatewayError("UNAVAILABLE", f"rate limit exceeded for {method}; retry after {-(-retry_ms // 1000)}s",
                               {"method": method, "limit": f"{self.write_limit} per {self.write_window_ms // 1000}s"},
                               retryable=True, retryAfterMs=retry_ms)
        bucket["count"] += 1

    @property
    def starting(self) -> bool:
        return self.startup_unavailable_connects > 0 or time.monotonic() < self.starting_until

    # --- HTTP (same port) ---
    async def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path in ("/healthz", "/health"):
            return _json_response(200, {"ok": True, "status": "live"})
        if path in ("/readyz", "/ready"):  # not ready for exactly as long as connect answers "gateway starting"
            failing = (["startup-sidecars"] if self.starting else []) + (self.unready(self._config) if self.unready else [])
            return _json_response(503 if failing else 200, {"ready": not failing, "failing": failing,
                                                            "uptimeMs": MS() - self.started_ms, "eventLoop": {"degraded": False}})
        if path in ("/startupz", "/startup"):
            return _json_response(200, {"ok": True, "status": "started", "version": VERSION, "uptimeMs": MS() - self.started_ms})
        if path == "/api/v1/admin/rpc":
            return await self._admin_rpc(conn, request)
        if path == "/" and "websocket" in request.headers.get("Upgrade", "").lower():
            return None  # the WebSocket handshake proceeds
        return _text_response(404, "Not Found")

    async def _write_delay(self, method: str) -> None:
        if method in CONTROL_PLANE_WRITES and self.write_latency_s:
            await asyncio.sleep(self.write_latency_s)

    async def _admin_rpc(self, conn: ServerConnection, request: Request) -> Response:
        plugin = self._config.get("plugins", {}).get("entries", {}).get("admin-http-rpc", {})
        if plugin.get("enabled") is not True:  # no route registered: the server's plain 404
            return _text_response(404, "Not Found")
        if request.method != "POST":
            return _json_response(405, {"ok": False, "error": {"type": "method_not_allowed", "message": "Method Not Allowed"}},
                                  {"Allow": "POST"})
        if request.headers.get("Authorization", "") != f"Bearer {self.token}" or not self.token:
            return _json_response(401, {"error": {"message": "Unauthorized", "type": "unauthorized"}})
        raw = getattr(conn, "http_body", b"")
        try:
            body = json.loads(raw)
        except ValueError:
            message = "request body must be JSON" if not raw.strip() else "request body must be valid JSON"
            return _json_response(400, {"ok": False, "error": {"type": "invalid_request", "message": message}})
        if not isinstance(body, dict):
            return _json_response(400, {"ok": False, "error": {"type": "invalid_request",
                                                               "message": "request body must be an object"}})
        if not isinstance(body.get("method"), str) or not body["method"].strip():
            return _json_response(400, {"ok": False, "error": {"type": "invalid_request",
                                                               "message": "method must be a non-empty string"}})
        rid = body["id"].strip() if isinstance(body.get("id"), str) and body["id"].strip() else str(uuid.uuid4())
        method = body["method"].strip()
        try:
            if method not in ADMIN_RPC_METHODS:
                raise invalid(f"admin HTTP RPC method is not supported: {method}")
            if method == "commands.list":
                return _json_response(200, {"id": rid, "ok": True, "payload": {"methods": sorted(ADMIN_RPC_METHODS)}})
            await self._write_delay(method)
            result = await self.call(_Client(None, list(ALL_SCOPES), ip="127.0.0.1"), method, body.get("params"))
            if isinstance(result, _Accepted):
                payload, error = await result.final()
                if error:
                    raise GatewayError(**error)
                result = payload
            return _json_response(200, {"id": rid, "ok": True, "payload": result})
        except GatewayError as e:
            return _json_response(HTTP_STATUS.get(e.error["code"], 500), {"id": rid, "ok": False, "error": e.error})

    # --- WebSocket ---
    async def _ws_handler(self, ws: ServerConnection) -> None:
        nonce, ts = str(uuid.uuid4()), MS()
        await ws.send(json.dumps({"type": "event", "event": "connect.challenge",
                                  "payload": {"nonce": nonce, "ts": ts, "capabilities": ["model-catalog-snapshot"]}}))
        try:
            client = await self._handshake(ws, nonce)
        except ConnectionClosed:
            return
        if client is None:
            return
        self.clients.add(client)
        ticker = asyncio.create_task(self._tick(client))
        try:
            async for message in ws:
                task = asyncio.create_task(self._serve_frame(client, message))  # concurrent: responses may be out of order
                self._tasks.add(task)  # keep a reference so the task is not garbage-collected mid-flight
                task.add_done_callback(self._tasks.discard)
        except ConnectionClosed:
            pass
        finally:
            ticker.cancel()
            self.clients.discard(client)

    async def _tick(self, client: _Client) -> None:
        while True:
            await asyncio.sleep(self.tick_interval_ms / 1000)
            await client.event("tick", {"ts": MS()}, seq=False)

    async def _send_res(self, ws: ServerConnection, rid: Any, payload: dict | None = None, error: dict | None = None) -> None:
        frame = {"type": "res", "id": rid, "ok": error is None}
        frame.update({"payload": payload} if payload is not None else {})
        frame.update({"error": error} if error is not None else {})
        try:
            await ws.send(json.dumps(frame))
        except ConnectionClosed:
            pass

    async def _handshake(self, ws: ServerConnection, nonce: str) -> _Client | None:
        message = await ws.recv()
        try:
            frame = json.loads(message) if len(message) <= 65536 else None  # pre-auth frames are capped at 64 KiB
        except ValueError:
            frame = None
        rid = frame.get("id") if isinstance(frame, dict) else None
        try:
            if not isinstance(frame, dict) or schema_error(frame, REQ_FRAME) or frame["method"] != "connect":
                raise invalid("invalid handshake: first request must be connect")
            if self.starting:
                self.startup_unavailable_connects = max(0, self.startup_unavailable_connects - 1)
                await self._send_res(ws, rid, error={"code": "UNAVAILABLE", "message": "gateway starting; retry shortly",
                                                     "retryable": True, "retryAfterMs": self.retry_after_ms,
                                                     "details": {"reason": "startup-sidecars"}})
                await ws.close(1013, "gateway starting")
                return None
            hello, client = self._connect(ws, frame.get("params"), nonce)
        except GatewayError as e:
            protocol_error = (e.error.get("details") or {}).get("code") == "PROTOCOL_MISMATCH"
            await self._send_res(ws, rid, error=e.error)
            await ws.close(1002 if protocol_error else 1008, e.error["message"][:120])
            return None
        await self._send_res(ws, rid, hello)
        return client

    def _connect(self, ws: ServerConnection, params: Any, nonce: str) -> tuple[dict, _Client]:
        if error := schema_error(params, CONNECT):
            raise invalid(f"invalid connect params: {error}")
        if not params["minProtocol"] <= PROTOCOL <= params["maxProtocol"]:
            raise invalid("protocol mismatch", {"code": "PROTOCOL_MISMATCH", "expectedProtocol": PROTOCOL,
                                                "minimumProbeProtocol": 3})
        c, auth, device = params["client"], params.get("auth") or {}, params.get("device")
        role, requested = params.get("role", "operator"), list(params.get("scopes") or [])
        if role not in ("operator", "node"):
            raise invalid("invalid role")
        auth = {k: v for k, v in auth.items() if v}  # an empty secret counts as none given
        if "token" in auth and auth["token"] != self.token and self.auth_mode != "none":
            raise invalid("unauthorized: gateway token mismatch (provide gateway auth token)",
                          {"code": "AUTH_TOKEN_MISMATCH", "authReason": "token_mismatch", "canRetryWithDeviceToken": False,
                           "recommendedNextStep": "update_auth_credentials"})
        if device is not None:
            self._verify_device(device, c, role, requested, auth, nonce)
        if "token" in auth:
            method = "token"
        elif device is not None and "deviceToken" in auth:
            if self.paired.get(device["id"], {}).get("deviceToken") != auth["deviceToken"]:
                raise invalid("unauthorized: device token mismatch (rotate/reissue device token)",  # fake: invented wording
                              {"code": "AUTH_DEVICE_TOKEN_MISMATCH", "authReason": "device_token_mismatch"})
            method = "device-token"
        elif self.auth_mode == "none" and (device is not None or (c["id"], c["mode"]) in LOCAL_FULL_SCOPE_CLIENTS):
            method = "none"
        elif device is None:
            raise GatewayError("NOT_PAIRED", "device identity required", {"code": "DEVICE_IDENTITY_REQUIRED"})
        else:
            raise invalid("unauthorized: gateway token missing (provide gateway auth token)",  # fake: invented wording
                          {"code": "AUTH_TOKEN_MISSING", "authReason": "token_missing"})
        keeps = device is not None or (c["id"], c["mode"]) in LOCAL_FULL_SCOPE_CLIENTS
        client = _Client(ws, requested if keeps else [], c["id"], device_id=device["id"] if device else None)
        auth_out: dict = {"method": method, "role": role, "scopes": client.scopes}
        if device is not None and (c["id"], c["mode"]) != ("gateway-client", "backend"):  # backend self-pairing is skipped
            auth_out.update(self._pair(device, c, role, client.scopes))
        self.log("gateway/ws", f"connect client={c['id']} mode={c['mode']} auth={method}")
        return self._hello(ws, auth_out), client

    def _verify_device(self, device: dict, c: dict, role: str, scopes: list, auth: dict, nonce: str) -> None:
        def fail(message: str, code: str) -> GatewayError:  # fake: invented messages and codes
            return invalid(message, {"code": code})

        try:
            raw_key = b64url_decode(device["publicKey"])
            key = Ed25519PublicKey.from_public_bytes(raw_key)
        except ValueError:
            raise fail("device public key invalid", "DEVICE_AUTH_PUBLIC_KEY_INVALID") from None
        if hashlib.sha256(raw_key).hexdigest() != device["id"]:
            raise fail("device identity mismatch", "DEVICE_AUTH_DEVICE_ID_MISMATCH")
        if device["nonce"] != nonce:
            raise fail("device nonce mismatch", "DEVICE_AUTH_NONCE_MISMATCH")
        if abs(MS() - device["signedAt"]) > 120_000:
            raise fail("device signature expired", "DEVICE_AUTH_SIGNATURE_EXPIRED")
        secret = auth.get("token") or auth.get("deviceToken") or auth.get("bootstrapToken") or ""
        v2 = ["v2", device["id"], c["id"], c["mode"], role, ",".join(scopes), str(device["signedAt"]), secret, nonce]
        v3 = ["v3", *v2[1:], c["platform"].lower(), c.get("deviceFamily", "").lower()]
        for fields in (v3, v2):
            try:
                key.verify(b64url_decode(device["signature"]), "|".join(fields).encode())
                return
            except (InvalidSignature, ValueError):
                continue
        raise fail("device signature invalid", "DEVICE_AUTH_SIGNATURE_INVALID")

    def _pair(self, device: dict, c: dict, role: str, scopes: list) -> dict:
        """Loopback devices are auto-approved (autoApproveLocal) and get a reusable deviceToken."""
        record = self.paired.setdefault(device["id"], {
            "deviceId": device["id"], "publicKey": device["publicKey"], "clientId": c["id"], "clientMode": c["mode"],
            "role": role, "roles": [role], "scopes": scopes, "createdAtMs": MS(), "approvedAtMs": MS(),
            "deviceToken": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("="), "issuedAtMs": MS()})
        return {"deviceToken": record["deviceToken"], "issuedAtMs": record["issuedAtMs"]}

    def _hello(self, ws: ServerConnection, auth: dict) -> dict:
        return {
            "type": "hello-ok", "protocol": PROTOCOL,
            "server": {"version": VERSION, "buildId": f"{VERSION}-fake", "bootId": self.boot_id, "connId": str(uuid.uuid4())},
            "features": {"methods": sorted(METHODS), "events": EVENTS, "capabilities": []},
            "snapshot": {"suspension": {"phase": "accepting"}, "presence": [self._presence()], "health": _health(self, None, {}),
                         "stateVersion": {"presence": 1, "health": 1}, "uptimeMs": MS() - self.started_ms,
                         "appliedConfigHash": self.config_hash, "configPath": self.config_path,
                         "stateDir": os.path.dirname(self.config_path), "authMode": self.auth_mode,
                         "sessionDefaults": {"defaultAgentId": "main", "mainKey": "main", "mainSessionKey": "agent:main:main"}},
            "auth": auth,
            "policy": {"maxPayload": 26214400, "maxBufferedBytes": 52428800, "tickIntervalMs": self.tick_interval_ms,
                       "attachments": {"maxBytes": 19464192, "maxImageBytes": 6291456}},
        }

    def _presence(self) -> dict:
        return {"host": socket.gethostname(), "version": VERSION, "platform": "linux", "mode": "gateway", "reason": "self",
                "instanceId": self.boot_id, "ts": MS()}

    async def _serve_frame(self, client: _Client, message: str | bytes) -> None:
        try:
            frame = json.loads(message)
        except ValueError:
            frame = None
        rid = frame.get("id") if isinstance(frame, dict) else None
        try:
            if error := schema_error(frame, REQ_FRAME):
                raise invalid(f"invalid request frame: {error}")
            if frame["method"] == "connect":
                raise invalid("connect is only valid as the first request")  # fake: invented wording
            result = await self.call(client, frame["method"], frame.get("params"))
        except GatewayError as e:
            return await self._send_res(client.ws, rid, error=e.error)
        except Exception as e:  # a bug in the fake: answer instead of leaving the caller waiting
            return await self._send_res(client.ws, rid, error={"code": "UNAVAILABLE", "message": f"fake gateway error: {e!r}"})
        if isinstance(result, _Accepted):  # expectFinal: two res frames with the same id
            await self._send_res(client.ws, rid, result.payload)
            payload, error = await result.final()
            return await self._send_res(client.ws, rid, payload, error)
        await self._send_res(client.ws, rid, result)


# --- method handlers: handler(gateway, client, params) -> payload | awaitable | _Accepted ---
def _health(gw: FakeGateway, client: _Client | None, p: dict) -> dict:
    sessions = {"count": len(gw.sessions)}
    return {"ok": True, "ts": MS(), "durationMs": 0, "plugins": {"loaded": ["admin-http-rpc"], "errors": [], "unavailable": []},
            "configReload": {"hotReloadStatus": "active"}, "channels": {}, "channelOrder": [], "channelLabels": {},
            "heartbeatSeconds": 1800, "defaultAgentId": "main",
            "agents": [{"agentId": "main", "isDefault": True, "heartbeat": {"enabled": False}, "sessions": sessions}],
            "sessions": sessions, "eventLoop": {"degraded": False, "delayP99Ms": 1.0, "utilization": 0.01}}


def _status(gw: FakeGateway, client: _Client, p: dict) -> dict:
    return {"runtimeVersion": VERSION, "pid": os.getpid(), "heartbeat": {"enabled": False}, "channelSummary": [],
            "tasks": {"total": len(gw.runs)}, "sessions": {"count": len(gw.sessions), "defaults": _session_defaults(gw)},
            "processMemory": {"rssBytes": 0, "heapUsedBytes": 0, "heapTotalBytes": 0}, "eventLoop": {"degraded": False}}


def _system_info(gw: FakeGateway, client: _Client, p: dict) -> dict:
    return {"hostname": socket.gethostname(), "platform": "linux", "nodeVersion": "v24.21.0", "pid": os.getpid(),
            "port": gw.port, "uptimeMs": MS() - gw.started_ms, "cpuCount": os.cpu_count() or 1}


def _config_get(gw: FakeGateway, client: _Client, p: dict) -> dict:
    red, h = redact(gw._config), gw.config_hash
    return {"path": gw.config_path, "includedPaths": [], "exists": True, "raw": json.dumps(red, indent=2), "parsed": red,
            "sourceConfig": red, "resolved": red, "valid": True, "runtimeConfig": red, "config": red, "hash": h,
            "issues": [], "warnings": [], "legacyIssues": [], "configRevisionHash": h, "appliedConfigHash": h}


async def _write_config(gw: FakeGateway, p: dict, new: dict, mode: str) -> dict:
    """Shared tail of config.patch / config.apply: baseHash, validation, commit, events, restart side effects."""
    old = gw._config
    new = restore_redacted(new, old)
    changed = changed_paths(old, new)
    if "baseHash" not in p:
        first = changed[0] if changed else "<root>"
        raise invalid(f"config base hash required for {first}; re-run config.get and retry with baseHash")
    if p["baseHash"] != gw.config_hash:
        raise invalid("config changed since last load; re-run config.get and retry")
    if issues := config_issues(new):
        summary = "; ".join(f"{i['path'] or '<root>'}: {i['message']}" for i in issues)
        raise invalid(f"invalid config: {summary}", {"issues": issues})
    gw._config = new
    requires_restart = any(path.startswith(("gateway.port", "gateway.bind")) for path in changed)
    gw.log("gateway/config", f"{mode} applied: {', '.join(changed) or 'no changes'}")
    await gw._broadcast("config.changed", {"path": gw.config_path, "hash": gw.config_hash, "ts": MS()})
    if old.get("gateway", {}).get("auth") != new.get("gateway", {}).get("auth"):  # token rotation kicks every client
        asyncio.get_running_loop().call_later(0.05, lambda: asyncio.ensure_future(gw._close_all(4001, "gateway auth changed")))
    elif requires_restart:  # in-process restart: shutdown event, close 1012, new bootId
        asyncio.get_running_loop().call_later(0.05, lambda: asyncio.ensure_future(_restart(gw)))
    stats = {"mode": mode, "root": gw.config_path, "requiresRestart": requires_restart}
    sentinel_payload = {"kind": mode.replace(".", "-"), "status": "ok", "ts": MS(), "stats": stats,
                        **({"message": p["note"]} if "note" in p else {})}
    return {"ok": True, "path": gw.config_path, "hash": gw.config_hash, "config": redact(new), "changedPaths": changed,
            "sentinel": {"persisted": True, "payload": sentinel_payload}}


async def _restart(gw: FakeGateway) -> None:
    await gw._close_all(1012, "service restart", {"reason": "gateway restarting", "restartExpectedMs": 1500})
    gw.boot_id = str(uuid.uuid4())


def _config_patch(gw: FakeGateway, client: _Client, p: dict) -> Awaitable[dict]:
    return _write_config(gw, p, merge_patch(gw._config, parse_raw(p["raw"], "config.patch")), "config.patch")


def _config_apply(gw: FakeGateway, client: _Client, p: dict) -> Awaitable[dict]:
    return _write_config(gw, p, parse_raw(p["raw"], "config.apply"), "config.apply")


def _schema_lookup(gw: FakeGateway, client: _Client, p: dict) -> dict:
    path, node = p["path"], gw._config
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    types = {str: "string", bool: "boolean", int: "integer", float: "number", dict: "object", list: "array"}
    schema: dict = {"type": types.get(type(node), "string")}
    if path == "ui.seamColor":
        schema.update(pattern="^#?[0-9a-fA-F]{6}$", title="Seam color", description="Accent color (hex RRGGBB)")
    elif node is None and path.split(".")[0] not in TOP_LEVEL_KEYS:
        raise invalid(f"config schema path not found: {path}")  # fake: invented wording
    return {"path": path, "schema": schema, "reloadKind": reload_kind(path), "children": []}


def _logs_tail(gw: FakeGateway, client: _Client, p: dict) -> dict:
    offsets, total = [], 0
    for line in gw.logs:
        offsets.append(total)
        total += len(line) + 1
    cursor, reset = p.get("cursor"), False
    if cursor is not None and cursor > total:  # the file shrank or rotated: start over
        cursor, reset = None, True
    picked = [line for off, line in zip(offsets, gw.logs, strict=True) if cursor is None or off >= cursor]
    limit, max_bytes = p.get("limit", 500), p.get("maxBytes", 250_000)
    kept = picked[-limit:]
    while kept and sum(len(x) + 1 for x in kept) > max_bytes:
        kept = kept[1:]
    return {"file": os.path.join(os.path.dirname(gw.config_path), "logs", "gateway.log"), "cursor": total, "size": total,
            "lines": kept, "truncated": len(kept) < len(picked), "reset": reset}


def _session_defaults(gw: FakeGateway) -> dict:
    primary = gw._config.get("agents", {}).get("defaults", {}).get("model", {}).get("primary", "openai/gpt-6-astra")
    return {"modelProvider": primary.split("/")[0], "model": primary.split("/", 1)[-1], "contextTokens": 32000}


def _sessions_list(gw: FakeGateway, client: _Client, p: dict) -> dict:
    rows = sorted(gw.sessions.values(), key=lambda s: -s["updatedAt"])
    offset, limit = p.get("offset", 0), p.get("limit", 100)
    page = rows[offset : offset + limit]
    more = offset + len(page) < len(rows)
    return {"ts": MS(), "path": gw.config_path, "count": len(page), "totalCount": len(rows), "sessions": page,
            "hasMore": more, "nextOffset": offset + len(page) if more else None, "defaults": _session_defaults(gw)}


def _agent(gw: FakeGateway, client: _Client, p: dict) -> _Accepted:
    if p.get("agentId", "main") != "main":
        raise invalid(f'unknown agent id "{p["agentId"]}"')
    session_key = f"agent:main:{p.get('sessionKey') or 'main'}"
    run_id = gw.runs_by_key.get(p["idempotencyKey"])
    if run_id is None:  # a repeated idempotencyKey joins the existing run instead of starting another
        run_id = gw.runs_by_key[p["idempotencyKey"]] = str(uuid.uuid4())
        run = gw.runs[run_id] = {"sessionKey": session_key, "acceptedAt": MS(), "done": asyncio.Event(), "final": None}
        run["task"] = asyncio.create_task(_run_agent(gw, client, run_id, p["message"], _turn_model(gw, p)))
    run = gw.runs[run_id]

    async def final() -> tuple[dict, dict | None]:
        await run["done"].wait()
        return run["final"]

    return _Accepted({"runId": run_id, "sessionKey": run["sessionKey"], "agentId": "main", "status": "accepted",
                      "acceptedAt": run["acceptedAt"]}, final)


def _turn_model(gw: FakeGateway, p: dict) -> str:
    """provider/model for one turn: the call's `model` (and `provider`), else the configured default."""
    model = p.get("model") or ""
    if p.get("provider") and model and "/" not in model:
        return f"{p['provider']}/{model}"
    if "/" in model:
        return model
    return gw._config.get("agents", {}).get("defaults", {}).get("model", {}).get("primary") or DEFAULT_MODEL


async def _run_agent(gw: FakeGateway, client: _Client, run_id: str, message: str, primary: str) -> None:
    run, started = gw.runs[run_id], MS()
    key = run["sessionKey"]

    async def emit(stream: str, data: dict) -> None:  # agent events go to the connection that started the run
        await client.event("agent", {"runId": run_id, "sessionKey": key, "stream": stream, "data": data, "ts": MS()})

    await emit("lifecycle", {"phase": "start"})
    await asyncio.sleep(gw.agent_delay_s)
    try:
        text = await _model_reply(gw, message, primary)
        error = None
    except GatewayError as e:
        text, error = None, e.error
    gw.sessions.setdefault(key, {"key": key, "sessionId": str(uuid.uuid4()), "kind": "direct", "agentId": "main"})
    gw.sessions[key].update(updatedAt=MS(), lastRunId=run_id)
    run["endedAt"], run["text"] = MS(), text
    if error is None:
        await emit("assistant", {"text": text})
        run["final"] = ({"runId": run_id, "status": "ok", "summary": "completed",
                         "result": {"payloads": [{"text": text}], "meta": {"durationMs": MS() - started}}}, None)
    else:
        run["final"] = ({"runId": run_id, "status": "error", "summary": error["message"]}, error)
    await emit("lifecycle", {"phase": "end" if error is None else "error"})
    await client.event("chat", {"runId": run_id, "sessionKey": key, "state": "final" if error is None else "error",
                                "message": {"role": "assistant", "content": [{"type": "text", "text": text or ""}]}})
    run["done"].set()


async def _model_reply(gw: FakeGateway, message: str, primary: str) -> str:
    """A completion from the configured provider; none configured fails as the real gateway does with no key."""
    name, _, model = primary.partition("/")
    provider = gw._config.get("models", {}).get("providers", {}).get(name)
    if not provider or not provider.get("baseUrl"):
        raise GatewayError("UNAVAILABLE", f"No route-compatible authentication source is configured for {name}.")
    return await asyncio.to_thread(_stream_completion, provider, model, message)


def _stream_completion(provider: dict, model: str, message: str) -> str:
    body = json.dumps({"model": model, "stream": True, "messages": [{"role": "user", "content": message}]}).encode()
    request = urllib.request.Request(provider["baseUrl"].rstrip("/") + "/chat/completions", data=body, method="POST", headers={
        "Authorization": f"Bearer {provider.get('apiKey', '')}", "Content-Type": "application/json"})
    parts = []
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            for line in response:
                data = line.decode().strip().removeprefix("data:").strip()
                if data and data != "[DONE]":
                    parts += [c.get("delta", {}).get("content") or "" for c in json.loads(data).get("choices", [])]
    except OSError as e:
        raise GatewayError("UNAVAILABLE", f"model request failed: {e}") from None
    return "".join(parts)


async def _agent_wait(gw: FakeGateway, client: _Client, p: dict) -> dict:
    run = gw.runs.get(p["runId"])
    try:
        if run is None:
            raise TimeoutError  # fake: an unknown run never ends, like waiting for events that never come
        await asyncio.wait_for(run["done"].wait(), p.get("timeoutMs", 30000) / 1000)
    except TimeoutError:
        if run is None:
            await asyncio.sleep(p.get("timeoutMs", 30000) / 1000)
        return {"runId": p["runId"], "status": "timeout"}
    payload, error = run["final"]
    if error:
        return {"runId": p["runId"], "status": "error", "endedAt": run["endedAt"], "error": error["message"]}
    return {"runId": p["runId"], "status": "ok", "startedAt": run["acceptedAt"], "endedAt": run["endedAt"], "stopReason": "stop",
            "terminalReply": {"text": run["text"]}}


def _cron_add(gw: FakeGateway, client: _Client, p: dict) -> dict:
    job = {"id": str(uuid.uuid4()), "enabled": True, "createdAtMs": MS(), "updatedAtMs": MS(), **p}
    gw.cron_jobs[job["id"]] = job
    return job


def _cron_remove(gw: FakeGateway, client: _Client, p: dict) -> dict:
    job_id = p.get("id") or p.get("jobId")
    return {"ok": True, "removed": gw.cron_jobs.pop(job_id, None) is not None}


def _pair_list(gw: FakeGateway, client: _Client, p: dict) -> dict:
    return {"pending": [], "paired": [{k: v for k, v in r.items() if k != "deviceToken"} for r in gw.paired.values()]}


def _no_request(kind: str) -> Callable[..., dict]:
    def handler(gw: FakeGateway, client: _Client, p: dict) -> dict:  # nothing is ever pending in the fake
        raise invalid(f"unknown {kind}: {p.get('requestId') or p.get('code')}")  # fake: invented wording
    return handler


def _approval_get(gw: FakeGateway, client: _Client, p: dict) -> dict:
    """No approval is ever pending in the fake: the real gateway's answer for an unknown id."""
    raise invalid("approval not found", {"reason": "APPROVAL_NOT_FOUND",
                                         "remediation": "Re-request the action; pending approvals are cleared after "
                                                        "expiry or restart."})


def _usage_cost(days: int) -> dict:
    """Like the real gateway: one zero row per day of the window, oldest first."""
    today = datetime.date.today()
    zero = {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0, "totalTokens": 0, "totalCost": 0}
    daily = [{"date": str(today - datetime.timedelta(days=n)), **zero} for n in range(days - 1, -1, -1)]
    return {"updatedAt": MS(), "days": days, "daily": daily, "totals": dict(zero)}


def _models_list(gw: FakeGateway, client: _Client, p: dict) -> dict:
    """Configured models; `input` and `local` only with includeDetails; accountSelection only over HTTP."""
    providers = gw._config.get("models", {}).get("providers", {})
    primary = gw._config.get("agents", {}).get("defaults", {}).get("model", {}).get("primary") or DEFAULT_MODEL
    models = []
    for name, prov in providers.items():
        if p.get("provider") and p["provider"] != name:
            continue
        for m in prov.get("models", []):
            row = {"id": m["id"], "name": m.get("name", m["id"]), "provider": name, "contextWindow": m.get("contextWindow")}
            if p.get("includeDetails"):
                row["local"] = bool(re.match(r"https?://(127\.|localhost|\[::1\])", prov.get("baseUrl", "")))
                row["input"] = m.get("input", ["text"])
            row.update(reasoning=m.get("reasoning", False), tags=["default"] if f"{name}/{m['id']}" == primary else [],
                       thinkingLevels=[{"id": "off", "label": "off"}], thinkingDefault="off", available=True)
            models.append(row)
    result: dict = {"models": models}
    if client.ws is None:  # the admin HTTP RPC's caller has no profile: the gateway adds its account choice
        result["accountSelection"] = {"kind": "automatic", "label": "Automatic account selection"}
    return result


def _channels_pairing_list(gw: FakeGateway, client: _Client, p: dict) -> dict:
    """No channel account uses DM pairing in the fake (channels are skipped), so nothing is ever pending."""
    return {"accounts": [], "requests": [], "commandOwnerConfigured": False,
            "limits": {"pendingPerAccount": 3, "ttlMs": 3_600_000}}


def _channels_pairing_approve(gw: FakeGateway, client: _Client, p: dict) -> dict:
    raise invalid(f"Error: unknown pairing channel: {p['channel']}")


def _restart_request(gw: FakeGateway, client: _Client, p: dict) -> dict:
    """An in-process restart: shutdown event, close 1012, then starting for restart_ms (new bootId)."""
    async def restart() -> None:
        gw.starting_until = time.monotonic() + 60  # starting from the moment the sockets close ...
        await _restart(gw)
        gw.starting_until = time.monotonic() + gw.restart_ms / 1000  # ... until restart_ms later

    asyncio.get_running_loop().call_later(0.05, lambda: asyncio.ensure_future(restart()))
    return {"ok": True, "status": "scheduled", "restart": {"ok": True, "pid": os.getpid(), "signal": "SIGUSR2",
                                                           "reason": p.get("reason"), "mode": "emit", "delayMs": 0}}


READ, WRITE, ADMIN, PAIRING = "operator.read", "operator.write", "operator.admin", "operator.pairing"
APPROVALS = "operator.approvals"
EMPTY = Obj()
# method -> (required scope, closed params schema or None for open, handler)
METHODS: dict[str, tuple[str | None, Any, Callable[..., Any]]] = {
    "health": (None, None, _health),
    "status": (READ, None, _status),
    "system.info": (READ, EMPTY, _system_info),
    "config.get": (READ, EMPTY, _config_get),
    "config.patch": (ADMIN, Obj(("raw",), raw=str, baseHash=str, note=str, replacePaths=[str], restartDelayMs=int,
                                sessionKey=str), _config_patch),
    "config.apply": (ADMIN, Obj(("raw",), raw=str, baseHash=str, note=str, restartDelayMs=int, sessionKey=str), _config_apply),
    "config.schema.lookup": (READ, Obj(("path",), path=str), _schema_lookup),
    "channels.status": (READ, Obj(probe=bool, timeoutMs=int, channel=str),
                        lambda gw, c, p: {"ts": MS(), "channelOrder": [], "channelLabels": {}, "channelAccounts": {},
                                          "statusIssues": []}),
    "usage.cost": (READ, Obj(startDate=str, endDate=str, days=int),
                   lambda gw, c, p: _usage_cost(p.get("days", 30))),
    "logs.tail": (READ, Obj(cursor=int, limit=int, maxBytes=int), _logs_tail),
    "sessions.list": (READ, Obj(limit=int, offset=int, activeOnly=bool, activeMinutes=int, sortBy=str, agentId=str,
                                search=str, includeGlobal=bool, includeUnknown=bool, label=str), _sessions_list),
    "agent": (WRITE, Obj(("message", "idempotencyKey"), message=str, idempotencyKey=str, agentId=str, sessionKey=str,
                         sessionId=str, model=str, provider=str, thinking=str, timeout=int, deliver=bool, channel=str, to=str,
                         accountId=str, replyTo=str, label=str, lane=str, extraSystemPrompt=str, attachments=[ANY]), _agent),
    "agent.wait": (WRITE, Obj(("runId",), runId=str, timeoutMs=int), _agent_wait),
    "cron.list": (READ, None, lambda gw, c, p: {"jobs": list(gw.cron_jobs.values()), "total": len(gw.cron_jobs),
                                                "hasMore": False, "nextOffset": None}),
    "cron.status": (READ, EMPTY, lambda gw, c, p: {"enabled": True, "jobs": len(gw.cron_jobs), "nextWakeAtMs": None}),
    "cron.add": (ADMIN, Obj(("name", "schedule"), name=str, schedule=dict, payload=dict, description=str, enabled=bool,
                            agentId=str, sessionTarget=str, wakeMode=str, delivery=dict, deleteAfterRun=bool), _cron_add),
    "cron.remove": (ADMIN, Obj(id=str, jobId=str), _cron_remove),
    "approval.get": (APPROVALS, Obj(("id",), id=NONEMPTY), _approval_get),
    "device.pair.list": (PAIRING, EMPTY, _pair_list),
    "device.pair.approve": (PAIRING, Obj(("requestId",), requestId=str), _no_request("requestId")),
    "device.pair.reject": (PAIRING, Obj(("requestId",), requestId=str), _no_request("requestId")),
    "channels.pairing.list": (PAIRING, Obj(channel=NONEMPTY, accountId=NONEMPTY), _channels_pairing_list),
    "channels.pairing.approve": (PAIRING, Obj(("channel", "accountId", "requestId"), channel=NONEMPTY, accountId=NONEMPTY,
                                              requestId=NONEMPTY, notify=bool, bootstrapCommandOwner=bool),
                                 _channels_pairing_approve),
    "models.list": (READ, Obj(agentId=NONEMPTY, sessionKey=NONEMPTY, authProfileId=NONEMPTY, provider=NONEMPTY,
                              includeDetails=bool, includeProviderCapabilities=bool, includeDefaultModels=bool,
                              preparedOnly=bool, refresh=bool, view=("default", "configured", "provider-config", "all")),
                    _models_list),
    "gateway.restart.request": (ADMIN, Obj(reason=str, skipDeferral=bool, safe=bool, target=ANY, restartIntent=ANY),
                                _restart_request),
}
