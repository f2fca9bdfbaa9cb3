"""Talking to OpenClaw gateways: one client over two transports (admin HTTP RPC, WebSocket v4).

Names resolve lazily (PEP 562): the API Lambdas import only `clawster.gateway.errors` (for the one
error mapping in functions/errors.py) and must not pay ~190 ms for the WebSocket stack at cold start.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {
    "AgentRun": "client", "ConfigSnapshot": "client", "ConfigWrite": "client", "GatewayClient": "client",
    "DeviceIdentity": "device",
    "AdminRpcTransport": "http_rpc",
    "WebSocketTransport": "websocket",
    **{name: "errors" for name in (
        "ApprovalNotFound", "AuthenticationFailed", "BaseHashRequired", "ConfigConflict", "ConnectionLost", "GatewayError",
        "GatewayFailed", "GatewayTimeout", "GatewayUnavailable", "InvalidConfig", "InvalidRequest", "MethodNotSupported",
        "MissingScope", "PairingRequired", "ProtocolMismatch", "RateLimited",
    )},
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value
