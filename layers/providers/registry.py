"""The provider for a bot's compute target, as the workflows' task Lambdas get it.

    provider_for("local")  → the local provider over $CLAWSTER_LOCAL_PROVIDER_ROOT, supervise=False:
                             a task worker only starts and describes gateways; the local stack's own
                             long-lived LocalProvider(root, supervise=True) keeps them running.

One instance per process and root (a worker process reuses it while warm; a forked child builds its
own). Unknown targets are UnknownTarget (permanent): cloud targets come with their own providers.
Each provider is imported only when asked for, so a Lambda bundle need not ship the others.
"""

from __future__ import annotations

import os
import threading

from .base import Provider
from .errors import UnknownTarget

LOCAL_ROOT_ENV = "CLAWSTER_LOCAL_PROVIDER_ROOT"
LOOPBACK_ENV = "CLAWSTER_LOOPBACK_INVENTORY"  # gateways run by someone else, by address (layers/providers/loopback.py)
TARGETS = ("local", "loopback")

_cache: dict[tuple[int, str, str], Provider] = {}
_guard = threading.Lock()


def provider_for(target: str) -> Provider:
    if target == "local":
        root = os.environ.get(LOCAL_ROOT_ENV)
        if not root:
            raise UnknownTarget(f"target 'local' is not available here: {LOCAL_ROOT_ENV} is not set")
        return _cached(target, root, lambda: _local(root))
    if target == "loopback":
        inventory = os.environ.get(LOOPBACK_ENV)
        if not inventory:
            raise UnknownTarget(f"target 'loopback' is not available here: {LOOPBACK_ENV} is not set")
        return _cached(target, inventory, lambda: _loopback(inventory))
    raise UnknownTarget(f"no provider for target {target!r} (known: {', '.join(TARGETS)})")


def _cached(target: str, key: str, build) -> Provider:
    with _guard:
        slot = (os.getpid(), target, key)
        if slot not in _cache:
            _cache[slot] = build()
        return _cache[slot]


def _local(root: str) -> Provider:
    from .local import LocalProvider  # not in the Lambda bundle: only where the local target exists

    return LocalProvider(root, supervise=False)


def _loopback(inventory: str) -> Provider:
    from .loopback import LoopbackProvider

    return LoopbackProvider(inventory)
