"""The provider for a bot's compute target, as the workflows' task Lambdas get it.

    provider_for("local")  → the local provider over $CLAWSTER_LOCAL_PROVIDER_ROOT, supervise=False:
                             a task worker only starts and describes gateways; the local stack's own
                             long-lived LocalProvider(root, supervise=True) keeps them running.
    provider_for("ecs", {"size": "medium"})  → the ECS Fargate adapter with the deployment's settings under
                             the bot's (layers/providers/cloud/targets.py); likewise "cloudrun" and "aci".

One instance per process, target and settings (a worker process reuses it while warm; a forked child builds
its own). Unknown or unavailable targets are UnknownTarget (permanent). Each provider is imported only when
asked for, so a Lambda bundle need not ship the others.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
from typing import Any

from .base import Provider
from .errors import UnknownTarget

LOCAL_ROOT_ENV = "CLAWSTER_LOCAL_PROVIDER_ROOT"
LOOPBACK_ENV = "CLAWSTER_LOOPBACK_INVENTORY"  # gateways run by someone else, by address (layers/providers/loopback.py)
TARGETS_ENV = "CLAWSTER_TARGETS"  # the cloud targets this deployment serves, e.g. "ecs" (CDK) or "ecs,cloudrun,aci"
CLOUD = {"ecs": "layers.providers.ecs", "cloudrun": "layers.providers.cloudrun", "aci": "layers.providers.aci"}
TARGETS = ("local", "loopback", *CLOUD)

_cache: dict[tuple[int, str, str], Provider] = {}
_guard = threading.Lock()


def provider_for(target: str, settings: dict[str, Any] | None = None) -> Provider:
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
    if target in CLOUD:
        reason = unavailable(target)
        if reason:
            raise UnknownTarget(f"target {target!r} is not available here: {reason}")
        from .cloud.targets import settings as merged

        model = merged(target, settings)
        return _cached(target, model.model_dump_json(), lambda: importlib.import_module(CLOUD[target]).provider(model))
    raise UnknownTarget(f"no provider for target {target!r} (known: {', '.join(TARGETS)})")


def unavailable(target: str) -> str | None:
    """None when this deployment serves `target`, else why not."""
    if target == "local":
        return None if os.environ.get(LOCAL_ROOT_ENV) else f"{LOCAL_ROOT_ENV} is not set (the local stack sets it)"
    if target == "loopback":
        return None if os.environ.get(LOOPBACK_ENV) else f"{LOOPBACK_ENV} is not set"
    served = [t.strip() for t in os.environ.get(TARGETS_ENV, "").split(",") if t.strip()]
    if target not in served:
        return f"this deployment does not serve it ({TARGETS_ENV}={','.join(served) or 'unset'})"
    return None


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


def settings_key(settings: dict[str, Any] | None) -> str:
    return json.dumps(settings or {}, sort_keys=True)
