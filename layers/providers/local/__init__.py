"""The local provider: real OpenClaw gateways as supervised processes on loopback."""

from .provider import LocalProvider
from .runtime import OpenClawRuntime

__all__ = ["LocalProvider", "OpenClawRuntime"]
