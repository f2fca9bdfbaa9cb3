"""The config resolver: a bot's layers in, its effective OpenClaw config out, with who set each path.

Layers, lowest first (a later layer wins where two set the same path):
  template < profiles (by priority, then id) < overlays that select the bot and are active now (by priority,
  then id) < the bot's override < the enforced secure defaults.
A higher priority is applied later, so it wins. Ties break by id, so the order never depends on input order.

Merging is OpenClaw's own `config patch` rule: objects merge key by key, any other value replaces, and null
deletes the key. A secret reference {"$secretRef": ...} is a value: replaced whole, one leaf of the provenance.
Lists are values too, replaced whole: OpenClaw's lists (tools.deny, model fallbacks, bindings, allowFrom) have
no item identity to merge by, merging by index would pair unrelated items, and appending would leave a higher
layer no way to remove an item a lower one added.

Locks: a profile's locked path (with everything under it) may not be changed by any layer applied after that
profile: higher-priority profiles, overlays, the override. "Changed" means the value there after the layer
differs from before it; writing the same value is not a change. A change raises LockViolation (409), naming
the path, the lock, its owner and the layer that tried. Secure defaults are not a layer a user controls and
are applied regardless of locks.

Secure defaults (every environment): gateway auth mode "token" with a token given by secret reference;
gateway bind "loopback", or "lan" when the target says its network is private; OpenClaw's built-in log
redaction in force (a custom logging.redactPatterns replaces the built-in list in OpenClaw 2026.9.6, so it is
removed). In prod also: every agent sandboxed (mode "all" unless "non-main" is chosen), elevated tools off,
file tools confined to the workspace. What they write is attributed to ("secure-default", <rule>) in the
provenance; what they remove is listed in `removed`.

Pure: no I/O.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

from clawster.domain import secret_refs
from clawster.domain.errors import Conflict, ValidationFailed
from clawster.domain.templates import Template

Environment = Literal["dev", "staging", "prod"]
Path = tuple[str, ...]
SECURE_DEFAULT = "secure-default"
_MISSING = object()
_LOCK_PATH = re.compile(r"[^.\s]+(?:\.[^.\s]+)*")


class LayerRef(NamedTuple):
    kind: str  # "template" | "profile" | "overlay" | "override" | "secure-default"
    id: str  # the layer's id; for a secure default, the rule's name


class LockViolation(Conflict):
    """A layer tried to change a path a profile below it locked (409)."""

    code = "LOCKED_PATH"

    def __init__(self, path: str, lock: str, owner: str, layer: LayerRef):
        super().__init__(f"{path} is locked by profile {owner} ({lock}); {layer.kind} {layer.id} may not change it",
                         {"path": path, "locked_by": owner, "lock": lock, "layer": {"kind": layer.kind, "id": layer.id}})


@dataclass(frozen=True)
class Profile:
    """Defaults for fleets. `locked_paths` are dot paths ("gateway.auth" locks everything under it)."""

    id: str
    name: str
    priority: int
    config: dict[str, Any]
    locked_paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for path in self.locked_paths:
            if not _LOCK_PATH.fullmatch(path):
                raise ValidationFailed("locked_paths", f"{path!r} is not a dot path such as gateway.auth")


@dataclass(frozen=True)
class Selector:
    """Every criterion given must hold, by any of its values (tags: every pair); an empty selector selects
    every bot (as a Kubernetes label selector does)."""

    bot_ids: frozenset[str] = frozenset()
    fleet_ids: frozenset[str] = frozenset()
    environments: frozenset[str] = frozenset()
    tags: Mapping[str, str] = field(default_factory=dict)

    def matches(self, bot: BotContext) -> bool:
        return ((not self.bot_ids or bot.bot_id in self.bot_ids)
                and (not self.fleet_ids or bot.fleet_id in self.fleet_ids)
                and (not self.environments or bot.environment in self.environments)
                and all(bot.tags.get(key) == value for key, value in self.tags.items()))


@dataclass(frozen=True)
class Window:
    """Active from `start` (included) until `end` (excluded); either may be open. Times are zone-aware."""

    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if any(t is not None and t.tzinfo is None for t in (self.start, self.end)):
            raise ValidationFailed("window", "start and end need a time zone")
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValidationFailed("window", "start must be before end")

    def contains(self, now: datetime) -> bool:
        return (self.start is None or self.start <= now) and (self.end is None or now < self.end)


@dataclass(frozen=True)
class Overlay:
    id: str
    name: str
    priority: int
    selector: Selector
    config: dict[str, Any]
    window: Window | None = None

    def applies(self, bot: BotContext, now: datetime) -> bool:
        return self.selector.matches(bot) and (self.window is None or self.window.contains(now))


@dataclass(frozen=True)
class Override:
    """The bot's own config."""

    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BotContext:
    bot_id: str
    fleet_id: str
    environment: Environment
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Resolved:
    config: dict[str, Any]
    provenance: dict[str, LayerRef]  # every leaf path of `config` (a value, a list, an empty object)
    removed: dict[str, LayerRef]  # paths the secure defaults removed
    applied_overlays: tuple[str, ...]  # in the order applied


def resolve(template: Template | None, profiles: Iterable[Profile], overlays: Iterable[Overlay],
            override: Override | None, context: BotContext, now: datetime, *,
            gateway_token_ref: str, private_network: bool = False) -> Resolved:
    """The effective config. `gateway_token_ref` names the secret holding the gateway token (used when the
    layers give no reference); `private_network` is the target's word that "lan" reaches no public address."""
    if now.tzinfo is None:
        raise ValueError("now needs a time zone")
    active = sorted((o for o in overlays if o.applies(context, now)), key=lambda o: (o.priority, o.id))
    layers: list[tuple[LayerRef, dict[str, Any], tuple[str, ...]]] = []
    if template is not None:
        layers.append((LayerRef("template", template.id), template.config, ()))
    layers += [(LayerRef("profile", p.id), p.config, p.locked_paths) for p in sorted(profiles, key=lambda p: (p.priority, p.id))]
    layers += [(LayerRef("overlay", o.id), o.config, ()) for o in active]
    if override is not None:
        layers.append((LayerRef("override", context.bot_id), override.config, ()))

    config: dict[str, Any] = {}
    provenance: dict[Path, LayerRef] = {}
    locks: list[tuple[Path, str]] = []  # (path, owning profile), in the order applied
    for ref, patch, locked_paths in layers:
        before = [_copy(_at(config, path)) for path, _ in locks]
        _patch(config, patch, ref, provenance)
        for (path, owner), old in zip(locks, before, strict=True):
            new = _at(config, path)
            if _canonical(old) != _canonical(new):
                raise LockViolation(_first_change(path, old, new), _render(path), owner, ref)
        locks += [(tuple(p.split(".")), ref.id) for p in locked_paths]

    removed = _enforce(config, provenance, context, gateway_token_ref=gateway_token_ref, private_network=private_network)
    return Resolved(config, {_render(p): provenance[p] for p in sorted(provenance)}, removed,
                    tuple(o.id for o in active))


def _enforce(config: dict[str, Any], provenance: dict[Path, LayerRef], context: BotContext, *,
             gateway_token_ref: str, private_network: bool) -> dict[str, LayerRef]:
    removed: dict[str, LayerRef] = {}

    def put(path: Path, value: Any, rule: str) -> None:
        _patch(config, _nested(path, value), LayerRef(SECURE_DEFAULT, rule), provenance)

    def drop(path: Path, rule: str) -> None:
        if _at(config, path) is not _MISSING:
            put(path, None, rule)
            removed[_render(path)] = LayerRef(SECURE_DEFAULT, rule)

    put(("gateway", "auth", "mode"), "token", "gateway.auth")
    if not secret_refs.is_config_ref(_at(config, ("gateway", "auth", "token"))):
        put(("gateway", "auth", "token"), secret_refs.SecretRef.parse(gateway_token_ref).for_config(), "gateway.auth")
    put(("gateway", "bind"), "lan" if private_network else "loopback", "gateway.bind")
    drop(("gateway", "customBindHost"), "gateway.bind")  # meaningful only with bind "custom"
    drop(("logging", "redactPatterns"), "logging.redaction")
    if context.environment == "prod":
        entries = _at(config, ("agents", "entries"))
        agents = [("agents", "entries", agent) for agent in entries] if isinstance(entries, dict) else []
        if _at(config, ("agents", "defaults", "sandbox", "mode")) not in ("all", "non-main"):
            put(("agents", "defaults", "sandbox", "mode"), "all", "prod.sandbox")
        for agent in agents:
            if _at(config, (*agent, "sandbox", "mode")) == "off":
                put((*agent, "sandbox", "mode"), "all", "prod.sandbox")
        put(("tools", "elevated", "enabled"), False, "prod.tools")
        put(("tools", "fs", "workspaceOnly"), True, "prod.tools")
        for agent in agents:
            if _at(config, (*agent, "tools", "elevated", "enabled")) is True:
                put((*agent, "tools", "elevated", "enabled"), False, "prod.tools")
            if _at(config, (*agent, "tools", "fs", "workspaceOnly")) is False:
                put((*agent, "tools", "fs", "workspaceOnly"), True, "prod.tools")
    return removed


def _patch(node: dict[str, Any], patch: dict[str, Any], ref: LayerRef, provenance: dict[Path, LayerRef],
           path: Path = ()) -> None:
    """Merge `patch` into `node` in place, keeping `provenance` equal to the leaves of the result."""
    for key, value in patch.items():
        here = (*path, key)
        if value is None:
            if key in node:
                del node[key]
                _forget(provenance, here)
        elif _is_object(value):
            if not _is_object(node.get(key)):
                if not _writes(value):
                    continue  # only deletions, under a path that holds no object: nothing to delete
                _forget(provenance, here)
                node[key] = {}
            _patch(node[key], value, ref, provenance, here)
        else:
            _forget(provenance, here)
            node[key] = copy.deepcopy(value)
            provenance[here] = ref
    if path and not node:
        provenance[path] = ref  # an empty object is a leaf too
    elif path:
        provenance.pop(path, None)


def _is_object(value: Any) -> bool:
    """An object merged key by key; a secret reference {"$secretRef": ...} is a value, replaced whole."""
    return isinstance(value, dict) and secret_refs.CONFIG_KEY not in value


def _writes(patch: dict[str, Any]) -> bool:
    return not patch or any(v is not None and (not _is_object(v) or _writes(v)) for v in patch.values())


def _forget(provenance: dict[Path, LayerRef], path: Path) -> None:
    for known in [p for p in provenance if p[:len(path)] == path]:
        del provenance[known]


def _at(config: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(config, dict) or key not in config:
            return _MISSING
        config = config[key]
    return config


def _copy(value: Any) -> Any:
    """A deep copy, but the _MISSING sentinel itself (a copy of it would no longer be it)."""
    return value if value is _MISSING else copy.deepcopy(value)


def _nested(path: Path, value: Any) -> dict[str, Any]:
    for key in reversed(path):
        value = {key: value}
    return value


def _leaves(value: Any, path: Path) -> dict[Path, str]:
    if value is _MISSING:
        return {}
    if _is_object(value) and value:
        return {p: v for key, child in value.items() for p, v in _leaves(child, (*path, key)).items()}
    return {path: _canonical(value)}


def _first_change(lock: Path, old: Any, new: Any) -> str:
    """The first leaf that changed under the lock, or the lock itself when it stopped or started being an object."""
    if not (_is_object(old) and old and _is_object(new) and new):
        return _render(lock)
    before, after = _leaves(old, lock), _leaves(new, lock)
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    return _render(changed[0] if changed else lock)


def _canonical(value: Any) -> str:
    return "<missing>" if value is _MISSING else json.dumps(value, sort_keys=True)


def _render(path: Path) -> str:
    """Keys joined by "."; a key that holds a "." (a model id such as "openai/gpt-5.1") is quoted."""
    return ".".join(key if key and "." not in key and '"' not in key else json.dumps(key) for key in path)
