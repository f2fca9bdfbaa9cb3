"""The admin HTTP RPC transport: `POST /api/v1/admin/rpc` with a bearer token, one call per request.

What Lambdas use: no socket to keep, no handshake. The gateway's allowlist excludes some methods
(agent, sessions.list, system.info, ...): those raise MethodNotSupported; use the WebSocket for them.
"""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from typing import Any

from .errors import AuthenticationFailed, GatewayFailed, GatewayUnavailable, MethodNotSupported, from_error

RPC_PATH = "/api/v1/admin/rpc"


class AdminRpcTransport:
    def __init__(self, base_url: str, token: str, *, timeout_s: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout_s = timeout_s
        self._ids = itertools.count(1)

    def __repr__(self) -> str:  # never the token
        return f"AdminRpcTransport({self.base_url!r})"

    def call(self, method: str, params: dict | None = None, *, expect_final: bool = False, timeout_s: float | None = None) -> Any:
        """The method's payload. `expect_final` is accepted for symmetry: HTTP replies only with the final result."""
        body: dict[str, Any] = {"id": f"h{next(self._ids)}", "method": method}
        if params is not None:
            body["params"] = params
        request = urllib.request.Request(
            self.base_url + RPC_PATH,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s or self.timeout_s) as response:
                return _payload(response.status, response.read())
        except urllib.error.HTTPError as error:
            return _payload(error.code, error.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            raise GatewayUnavailable(f"gateway unreachable at {self.base_url}: {getattr(error, 'reason', error)}") from error

    def close(self) -> None:
        pass


def _payload(status: int, raw: bytes) -> Any:
    """The payload of one admin RPC reply, or the typed error it carries.

    The body decides, not the status: the plugin maps gateway error codes to statuses
    (INVALID_REQUEST 400, APPROVAL_NOT_FOUND 404, NOT_PAIRED 409, UNAVAILABLE 503, AGENT_TIMEOUT 504,
    anything else 500), so a 404 carrying an RPC reply is that reply's error. Only a 404 without one
    (the route's plain "Not Found") means the admin-http-rpc plugin is not enabled.
    """
    try:
        reply = json.loads(raw or b"null")
    except ValueError:
        reply = None
    if status == 401:
        raise AuthenticationFailed("gateway refused the admin RPC token", code="UNAUTHORIZED", details={"status": 401})
    if isinstance(reply, dict) and isinstance(reply.get("ok"), bool):
        if reply["ok"]:
            return reply.get("payload")
        error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
        if not error.get("code") and error.get("type") == "invalid_request":  # the plugin's own body checks
            error = {**error, "code": "INVALID_REQUEST"}
        raise from_error(error, http_status=status)
    if status == 404:
        raise MethodNotSupported("admin HTTP RPC is not enabled on this gateway (plugin admin-http-rpc)", code="NOT_FOUND")
    if status == 429 or status >= 500:
        raise GatewayUnavailable(f"gateway answered HTTP {status}", code="UNAVAILABLE")
    raise GatewayFailed(f"unexpected admin RPC reply (HTTP {status}): {raw[:200]!r}")
