"""A workspace's config layers (its own templates, profiles and overlays) and what bots get from them.

A bot's effective config is resolved (clawster.domain.resolver) from its template, the profiles of its
fleet, the overlays that select it, its own override and the secure defaults, then checked against the
config schema of its OpenClaw version. That config, with which layer set each path, is what a revision
keeps. The gateway's token is not in it: the target writes each gateway's own token (a provider-owned
secret) whatever the config says, so the resolver's token reference is dropped before storing.

A layer write is checked against every bot of the workspace it changes (at most MAX_BOTS): a change to a
path a profile locks is refused (409 LOCKED_PATH, naming the path, the lock's owner and the bot), as is a
config the schema refuses for some bot (422, naming the bot). Bots are not re-resolved by a layer write:
their desired revisions stay as they are until a new revision is made for them (a config change, a
refresh, a rollout), and `preview` shows beforehand what that would change on each (the blast radius).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from clawster import ids
from clawster.domain import config_policy, resolver
from clawster.domain.diff import config_diff
from clawster.domain.errors import Conflict, NotFound, PermanentError, ValidationFailed
from clawster.domain.templates import TEMPLATES, Template
from clawster.services import audit, policy_packs
from clawster.services.context import Access
from clawster.services.workspaces import check_version, stale
from clawster.store import cursor
from clawster.store.entities import Bot, ConfigLayer, Fleet, Revision, ws_pk
from clawster.store.transaction import Change

MAX_LAYERS = 300  # of all kinds, read for each resolve
MAX_BOTS = 1000  # bots of a workspace a layer write or a preview evaluates
MAX_FLEET_IDS = 50
PROVIDER_TOKEN = "clawster/gateway-token"  # stands for the token each gateway's target writes (dropped)
_TOKEN_PATH = "gateway.auth.token"


def layer_not_found(kind: str, layer_id: str) -> NotFound:
    return NotFound(f"{kind} {layer_id} not found", {"kind": kind, "layer_id": layer_id})


# -- reading ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProfileLayer:
    item: ConfigLayer
    profile: resolver.Profile
    fleet_ids: frozenset[str]  # empty: every fleet of the workspace

    def reaches(self, fleet_id: str) -> bool:
        return not self.fleet_ids or fleet_id in self.fleet_ids


@dataclass(frozen=True)
class WorkspaceLayers:
    templates: dict[str, tuple[ConfigLayer, Template]] = field(default_factory=dict)
    profiles: tuple[ProfileLayer, ...] = ()
    overlays: tuple[tuple[ConfigLayer, resolver.Overlay], ...] = ()

    def items(self) -> Iterator[ConfigLayer]:
        yield from (item for item, _ in self.templates.values())
        yield from (p.item for p in self.profiles)
        yield from (item for item, _ in self.overlays)

    def replaced(self, kind: str, layer_id: str, item: ConfigLayer | None) -> WorkspaceLayers:
        """These layers with one put in place (or removed, when `item` is None)."""
        kept = [i for i in self.items() if not (i.kind == kind and i.id == layer_id)]
        return _assemble([*kept, item] if item is not None else kept)


def read(workspace_id: str) -> WorkspaceLayers:
    items = ConfigLayer.query(ws_pk(workspace_id), ConfigLayer.sk.startswith("LAYER#"), consistent_read=True,
                              limit=MAX_LAYERS)
    return _assemble(items)


def _assemble(items: Iterable[ConfigLayer]) -> WorkspaceLayers:
    templates, profiles, overlays = {}, [], []
    for item in items:
        domain = to_domain(item)
        if item.kind == "template":
            templates[item.id] = (item, domain)
        elif item.kind == "profile":
            profiles.append(ProfileLayer(item, domain, frozenset(json.loads(item.fleet_ids or "[]"))))
        else:
            overlays.append((item, domain))
    return WorkspaceLayers(templates, tuple(profiles), tuple(overlays))


def to_domain(item: ConfigLayer) -> Template | resolver.Profile | resolver.Overlay:
    config = json.loads(item.config)
    if item.kind == "template":
        return Template(item.id, item.name, item.description, config)
    if item.kind == "profile":
        return resolver.Profile(item.id, item.name, int(item.priority), config,
                                tuple(json.loads(item.locked_paths or "[]")))
    selector = json.loads(item.selector or "{}")
    window = json.loads(item.window) if item.window else None
    return resolver.Overlay(
        item.id, item.name, int(item.priority),
        resolver.Selector(frozenset(selector.get("bot_ids") or ()), frozenset(selector.get("fleet_ids") or ()),
                          frozenset(selector.get("environments") or ()), dict(selector.get("tags") or {})),
        config,
        resolver.Window(*(datetime.fromisoformat(window[k]) if window.get(k) else None for k in ("start", "end")))
        if window else None)


# -- resolving a bot ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BotInputs:
    """What a bot's effective config depends on, besides the workspace's layers."""

    bot_id: str
    fleet_id: str
    environment: str
    tags: dict[str, str]
    template_id: str | None
    override: dict[str, Any]
    openclaw_version: str | None = None

    @classmethod
    def of(cls, bot: Bot, fleet: Fleet, **changes: Any) -> BotInputs:
        tags = bot.tags.as_dict() if hasattr(bot.tags, "as_dict") else dict(bot.tags or {})
        inputs = cls(bot.id, bot.fleet_id, fleet.environment, tags, bot.template_id,
                     override_of(bot), bot.openclaw_version)
        return replace(inputs, **changes)


@dataclass(frozen=True)
class Effective:
    canonical: str  # the config as a revision keeps it (checked against the schema)
    provenance: dict[str, str]  # path -> "<kind>:<id>"
    layers: list[dict[str, Any]]  # [{kind, id, version}] of the workspace's own layers used

    @property
    def config(self) -> dict[str, Any]:
        return json.loads(self.canonical)


def override_of(bot: Bot) -> dict[str, Any]:
    """The bot's own layer. A bot made before layers existed has none: its desired revision's config
    (its template merged with its config, as it was then) stands for it, so it resolves to what it ran."""
    if bot.override is not None:
        return json.loads(bot.override)
    revision = Revision.get(*Revision.key(bot.workspace_id, bot.id, bot.desired_revision_id), consistent_read=True)
    return json.loads(revision.config)


def template_of(layers: WorkspaceLayers, template_id: str | None) -> tuple[Template | None, dict[str, Any] | None]:
    """The template and its layer reference (None for a built-in); ValidationFailed when there is none."""
    if template_id is None:
        return None, None
    if template_id in TEMPLATES:
        return TEMPLATES[template_id], None
    if template_id in layers.templates:
        item, template = layers.templates[template_id]
        return template, {"kind": "template", "id": item.id, "version": item.version}
    raise ValidationFailed("template_id", f"unknown template '{template_id}' (GET /templates lists the built-in "
                                          "ones, GET /workspaces/{workspace_id}/templates the workspace's)")


def effective(layers: WorkspaceLayers, bot: BotInputs, *, now: datetime | None = None,
              field: str = "config") -> Effective:
    """The bot's effective config. LockViolation (409) for a layer changing a locked path; ConfigRefused
    or ValidationFailed (422) for a config the bot's OpenClaw version refuses."""
    template, template_ref = template_of(layers, bot.template_id)
    profiles = [p for p in layers.profiles if p.reaches(bot.fleet_id)]
    resolved = resolver.resolve(
        template, [p.profile for p in profiles], [o for _, o in layers.overlays],
        resolver.Override(bot.override),
        resolver.BotContext(bot.bot_id, bot.fleet_id, bot.environment, bot.tags),  # type: ignore[arg-type]
        now or datetime.now(timezone.utc), gateway_token_ref=PROVIDER_TOKEN)
    config = resolved.config
    config["gateway"]["auth"].pop("token", None)  # the target's own (see the module's docstring)
    canonical = config_policy.check_config(config, field, bot.openclaw_version)
    provenance = {path: f"{ref.kind}:{ref.id}" for path, ref in resolved.provenance.items() if path != _TOKEN_PATH}
    by_id = {(item.kind, item.id): item for item in layers.items()}
    used = [template_ref] if template_ref else []
    used += [{"kind": "profile", "id": p.item.id, "version": p.item.version} for p in profiles]
    used += [{"kind": "overlay", "id": o, "version": by_id[("overlay", o)].version} for o in resolved.applied_overlays]
    return Effective(canonical, provenance, used)


# -- the layers' own API ---------------------------------------------------------------------------------
def get(access: Access, kind: str, layer_id: str) -> ConfigLayer:
    if not ids.is_id(layer_id):
        raise layer_not_found(kind, layer_id)
    try:
        return ConfigLayer.get(*ConfigLayer.key(access.workspace_id, kind, layer_id))
    except ConfigLayer.DoesNotExist:
        raise layer_not_found(kind, layer_id) from None


def list_page(access: Access, kind: str, *, limit: int, cursor_in: str | None) -> tuple[list[ConfigLayer], str | None]:
    partition, prefix = ws_pk(access.workspace_id), ConfigLayer.sk_prefix(kind)
    return cursor.page(ConfigLayer.query, partition, ConfigLayer.sk.startswith(prefix), limit=limit,
                       last_evaluated_key=cursor.decode(cursor_in, {"pk": partition}, {"sk": prefix}))


def view(item: ConfigLayer) -> dict[str, Any]:
    data = item.public()
    for key in ("config", "locked_paths", "fleet_ids", "selector", "window"):
        if data.get(key) is not None:
            data[key] = json.loads(data[key])
    return data


def create(access: Access, kind: str, fields: dict[str, Any]) -> ConfigLayer:
    item = ConfigLayer.new(workspace_id=access.workspace_id, kind=kind, **_stored(access, kind, fields))
    to_domain(item)  # checks the lock paths and the window
    _check_bots(access, read(access.workspace_id).replaced(kind, item.id, item))
    change = audit.audited(access, f"{kind}/{item.id}", None, item.public())
    change.create(item, exists_error=lambda: Conflict(f"{kind} id collision")).commit()
    return item


def update(access: Access, kind: str, layer_id: str, *, expected_version: int, changes: dict[str, Any]) -> ConfigLayer:
    item = get(access, kind, layer_id)
    check_version(kind, layer_id, item.version, expected_version)
    before = item.public()  # the config as its JSON text: any key a config may hold is not a valid map key
    stored = _stored(access, kind, changes)
    for key, value in stored.items():
        setattr(item, key, value)
    to_domain(item)
    _check_bots(access, read(access.workspace_id).replaced(kind, layer_id, item))
    change = Change().edit(item, list(stored), expected_version=expected_version,
                           stale_error=lambda: stale(kind, layer_id))
    change.audit(audit.event(access, f"{kind}/{layer_id}", before, item.public())).commit()
    return item


def delete(access: Access, kind: str, layer_id: str, *, expected_version: int) -> None:
    item = get(access, kind, layer_id)
    check_version(kind, layer_id, item.version, expected_version)
    if kind == "template":
        users = [b.id for b in _bots(access.workspace_id) if b.template_id == layer_id]
        if users:
            raise Conflict(f"template {layer_id} is used by {len(users)} bot(s)", {"bot_ids": users[:20]})
    else:
        _check_bots(access, read(access.workspace_id).replaced(kind, layer_id, None))
    change = Change().delete(item, expected_version=expected_version, stale_error=lambda: stale(kind, layer_id))
    change.audit(audit.event(access, f"{kind}/{layer_id}", item.public(), None)).commit()


def _stored(access: Access, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The API's fields in their stored form, checked."""
    stored: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "config":
            stored["config"] = config_policy.check_layer(value, workspace_id=access.workspace_id)
        elif key in ("locked_paths", "selector"):
            stored[key] = json.dumps(value, sort_keys=True)
        elif key == "fleet_ids":
            stored[key] = json.dumps(_known_fleets(access, value, "fleet_ids"))
        elif key == "window":
            stored[key] = json.dumps({k: v.isoformat() for k, v in value.items() if v is not None}) if value else None
        else:
            stored[key] = value
    if kind == "overlay" and "selector" in fields:
        _known_fleets(access, fields["selector"].get("fleet_ids") or [], "selector.fleet_ids")
    return stored


def _known_fleets(access: Access, fleet_ids: list[str], where: str) -> list[str]:
    for index, fleet_id in enumerate(fleet_ids):
        if not ids.is_id(fleet_id) or not _fleet_exists(access.workspace_id, fleet_id):
            raise ValidationFailed(f"{where}[{index}]", f"no fleet {fleet_id[:64]!r} in this workspace")
    return sorted(set(fleet_ids))


def _fleet_exists(workspace_id: str, fleet_id: str) -> bool:
    try:
        Fleet.get(*Fleet.key(workspace_id, fleet_id))
    except Fleet.DoesNotExist:
        return False
    return True


# -- what a change would do to the bots (checked on write; shown by preview) -----------------------------
def _bots(workspace_id: str) -> list[Bot]:
    return list(Bot.query(ws_pk(workspace_id), Bot.sk.startswith("BOT#"), limit=MAX_BOTS))


def _fleets(workspace_id: str) -> dict[str, Fleet]:
    return {f.id: f for f in Fleet.query(ws_pk(workspace_id), Fleet.sk.startswith("FLEET#"))}


def _check_bots(access: Access, proposed: WorkspaceLayers) -> None:
    """Refuse a layer change that some bot of the workspace could not take (409 locked path, 422 schema)."""
    fleets = _fleets(access.workspace_id)
    for bot in _bots(access.workspace_id):
        if bot.fleet_id not in fleets:
            continue  # its fleet is being deleted
        try:
            effective(proposed, BotInputs.of(bot, fleets[bot.fleet_id]))
        except PermanentError as error:
            error.details = {**(error.details or {}), "bot_id": bot.id}
            error.message = f"bot {bot.id}: {error.message}"
            raise


def preview(access: Access, kind: str, layer_id: str | None, fields: dict[str, Any] | None) -> dict[str, Any]:
    """The blast radius of a proposed layer change (a new layer when `layer_id` is None, a removal when
    `fields` is None), nothing saved: each bot whose effective config it changes, with the changes, the
    policy findings on its new config, or why that bot could not take it."""
    current = read(access.workspace_id)
    if layer_id is None:
        item = ConfigLayer.new(workspace_id=access.workspace_id, kind=kind, **_stored(access, kind, fields or {}))
    else:
        item = get(access, kind, layer_id)
        if fields is not None:
            for key, value in _stored(access, kind, fields).items():
                setattr(item, key, value)
    to_domain(item)
    proposed = current.replaced(kind, item.id, None if fields is None else item)
    fleets = _fleets(access.workspace_id)
    now = datetime.now(timezone.utc)
    touched, evaluated = [], 0
    for bot in _bots(access.workspace_id):
        fleet = fleets.get(bot.fleet_id)
        if fleet is None:
            continue
        evaluated += 1
        inputs = BotInputs.of(bot, fleet)
        entry = {"bot_id": bot.id, "name": bot.name, "fleet_id": bot.fleet_id, "environment": fleet.environment}
        try:
            before = effective(current, inputs, now=now).config
        except PermanentError:
            before = None  # it cannot resolve today either; the change may fix it
        try:
            after = effective(proposed, inputs, now=now).config
        except PermanentError as error:
            touched.append(entry | {"changes": [], "findings": [], "error": error.body()})
            continue
        changes = config_diff(before or {}, after)
        if before is not None and not changes:
            continue
        evaluation = policy_packs.evaluate(access, after, fleet.environment)
        touched.append(entry | {"changes": changes, "error": None,
                                "findings": [f.as_dict() for f in evaluation.errors + evaluation.warnings]})
    return {"kind": kind, "layer_id": layer_id, "bots": touched, "evaluated": evaluated,
            "truncated": evaluated >= MAX_BOTS}
