"""Talking to OpenClaw gateways: one client over two transports (admin HTTP RPC, WebSocket v4)."""

from .client import AgentRun, ConfigSnapshot, ConfigWrite, GatewayClient
from .device import DeviceIdentity
from .errors import (
    AuthenticationFailed,
    BaseHashRequired,
    ConfigConflict,
    ConnectionLost,
    GatewayError,
    InvalidConfig,
    InvalidRequest,
    MethodNotSupported,
    MissingScope,
    PairingRequired,
    ProtocolMismatch,
    RateLimited,
    Unavailable,
)
from .http_rpc import AdminRpcTransport
from .websocket import WebSocketTransport

__all__ = [
    "AdminRpcTransport",
    "AgentRun",
    "AuthenticationFailed",
    "BaseHashRequired",
    "ConfigConflict",
    "ConfigSnapshot",
    "ConfigWrite",
    "ConnectionLost",
    "DeviceIdentity",
    "GatewayClient",
    "GatewayError",
    "InvalidConfig",
    "InvalidRequest",
    "MethodNotSupported",
    "MissingScope",
    "PairingRequired",
    "ProtocolMismatch",
    "RateLimited",
    "Unavailable",
    "WebSocketTransport",
]
