"""What the rotate workflow (statemachines/rotate.asl.json) records: its plan (the affected bots in
batches), each bot's progress, and its end, SUCCEEDED with the new version current or FAILED with the
reason and the old version still current. The gateway calls are the task's (functions/tasks/rotation.py).

Per-bot progress: WAITING -> UPDATED (its gateway has the new value) -> VERIFIED (healthy on it);
on a stopped rotation the updated ones -> ROLLED_BACK (or ROLLBACK_FAILED, with the error).
"""

from __future__ import annotations

import json
from typing import Any

from clawster import secret_store
from clawster.domain.diff import diff
from clawster.domain.errors import Conflict, VersionConflict
from clawster.domain.secret_refs import CONFIG_KEY
from clawster.errors import RetryableError
from clawster.services import connectors
from clawster.services.workflow import WORKFLOW_ACTOR
from clawster.store.connectors import Connector, Rotation
from clawster.store.entities import AuditEvent, Bot, now
from clawster.store.transaction import Change

ATTEMPTS = 5


class BotBusy(RetryableError):
    """A bot to rotate is owned by another workflow (a provision, an apply...): tried again later, a
    bounded number of times (the ASL's Retry), then the rotation stops."""

    code = "BOT_BUSY"


def load(state: dict[str, Any]) -> tuple[Connector, Rotation]:
    connector = Connector.get(*Connector.key(state["workspace_id"], state["connector_id"]), consistent_read=True)
    rotation = Rotation.get(*Rotation.key(state["workspace_id"], state["connector_id"], state["rotation_id"]),
                            consistent_read=True)
    return connector, rotation


def _save(rotation: Rotation, fields: list[str]) -> None:
    """A progress write of the workflow (no audit: the start and the end of a rotation are audited)."""
    Change().edit(rotation, fields, expected_version=rotation.version,
                  stale_error=lambda: VersionConflict("rotation changed meanwhile")).commit()


def plan(state: dict[str, Any]) -> dict[str, Any]:
    """The affected bots (a live gateway whose applied config references the connector) in batches; the
    others that reference it are listed as skipped, with why."""
    connector, rotation = load(state)
    if rotation.batch_count or bot_progress(rotation) or _as_dict(rotation.skipped):  # planned by an earlier run
        return {"batches": _batches_of(rotation), "next": rotation.batches_done,
                "done": rotation.batches_done >= rotation.batch_count}
    live, skipped = [], {}
    for bot, config in connectors.referencing_bots(connector, applied_only=False):
        if bot.status in connectors.ROTATABLE and bot.target and config is not None:
            live.append(bot.id)
        else:
            skipped[bot.id] = f"{bot.status}{'' if bot.target else ', no gateway'}: gets the value at its next deploy"
    size = int(rotation.batch_size)
    batches = [live[i:i + size] for i in range(0, len(live), size)]
    rotation.bots = {bot_id: {"batch": n, "status": "WAITING"} for n, batch in enumerate(batches) for bot_id in batch}
    rotation.skipped, rotation.batch_count = skipped, len(batches)
    _save(rotation, ["bots", "skipped", "batch_count"])
    connectors.announce(rotation, "connector.rotation")
    return {"batches": batches, "next": 0, "done": not batches}


def _as_dict(value: Any) -> dict[str, Any]:
    """A raw MapAttribute as a dict (an empty MapAttribute object is truthy)."""
    if value is None:
        return {}
    return value.as_dict() if hasattr(value, "as_dict") else dict(value)


def _batches_of(rotation: Rotation) -> list[list[str]]:
    bots = bot_progress(rotation)
    batches: list[list[str]] = [[] for _ in range(int(rotation.batch_count))]
    for bot_id, progress in bots.items():
        batches[int(progress["batch"])].append(bot_id)
    return batches


def bot_progress(rotation: Rotation) -> dict[str, dict[str, Any]]:
    bots = _as_dict(rotation.bots)
    return {bot_id: dict(progress) for bot_id, progress in bots.items()}


def mark(state: dict[str, Any], bot_id: str, status: str, **extra: Any) -> None:
    for _ in range(ATTEMPTS):
        _, rotation = load(state)
        bots = bot_progress(rotation)
        bots[bot_id] = {**bots.get(bot_id, {}), "status": status, "at": now().isoformat(), **extra}
        rotation.bots = bots
        try:
            _save(rotation, ["bots"])
            return
        except VersionConflict:
            continue
    raise Conflict(f"rotation {state['rotation_id']} kept changing")


def batch_done(state: dict[str, Any]) -> None:
    _, rotation = load(state)
    rotation.batches_done = int(state["next"]) + 1
    _save(rotation, ["batches_done"])
    connectors.announce(rotation, "connector.rotation")


def free_bot(state: dict[str, Any], bot_id: str) -> Bot:
    """The bot, when no workflow owns it; else BotBusy (retried)."""
    bot = Bot.get(*Bot.key(state["workspace_id"], bot_id), consistent_read=True)
    if bot.intent:
        owner = bot.intent.as_dict()
        raise BotBusy(f"bot {bot_id} is owned by its '{owner.get('action')}' workflow; the rotation waits for it",
                      {"bot_id": bot_id, "owner": owner.get("id")})
    return bot


def record_hash(state: dict[str, Any], bot_id: str, config_hash: str) -> None:
    """The gateway's own hash of the config it now runs (the new value in it) on the bot, so drift detection
    does not take the rotation for a change made behind the control plane's back. Audited; only while no
    workflow owns the bot (else BotBusy)."""
    for _ in range(ATTEMPTS):
        bot = free_bot(state, bot_id)
        if bot.applied_config_hash == config_hash:
            return
        before = bot.public()
        bot.applied_config_hash = config_hash
        change = Change().edit(bot, ["applied_config_hash"], expected_version=bot.version,
                               condition=Bot.intent.does_not_exist(),
                               stale_error=lambda: VersionConflict("bot changed meanwhile"))
        change.audit(_workflow_event(bot.workspace_id, f"bot/{bot_id}", "bot.secret.rotated", before, bot.public(),
                                     state["rotation_id"]))
        try:
            change.commit()
            return
        except VersionConflict:
            continue  # an edit (a rename) or a workflow's start landed meanwhile: read again
    raise Conflict(f"bot {bot_id} kept changing during the rotation")


def _workflow_event(workspace_id: str, target: str, action: str, before: dict[str, Any] | None,
                    after: dict[str, Any] | None, request_id: str) -> AuditEvent:
    before, after = (json.loads(json.dumps(v, default=str)) if v is not None else None for v in (before, after))
    return AuditEvent.new(workspace_id=workspace_id, actor=WORKFLOW_ACTOR, role=None, action=action,
                          outcome="ALLOWED", target=target, before=before, after=after, diff=diff(before, after),
                          request_id=request_id)


def check_unchanged(state: dict[str, Any]) -> None:
    """Before the new version becomes current: every updated bot still runs what the rotation gave it (no
    workflow wrote its config since, with the value then current)."""
    _, rotation = load(state)
    for bot_id, progress in bot_progress(rotation).items():
        bot = free_bot(state, bot_id)
        if bot.applied_revision_id != progress.get("applied_revision_id"):
            raise Conflict(f"bot {bot_id} was deployed again during the rotation", {"bot_id": bot_id})


def pinned(config: Any, refs: set[str], value: str) -> Any:
    """The config with this connector's references replaced by `value`; the other references stay for the
    resolver."""
    if isinstance(config, dict):
        if set(config) == {CONFIG_KEY} and config[CONFIG_KEY] in refs:
            return value
        return {key: pinned(item, refs, value) for key, item in config.items()}
    if isinstance(config, list):
        return [pinned(item, refs, value) for item in config]
    return config


def succeed(state: dict[str, Any]) -> None:
    """AWSCURRENT onto the new version, the old one retired; the connector records it (audited)."""
    connector, rotation = load(state)
    if rotation.status == "SUCCEEDED":
        return
    secret_store.promote(connector.secret_name, rotation.new_version_id, rotation.old_version_id)
    secret_store.retire(connector.secret_name, rotation.old_version_id)
    _end(state, "SUCCEEDED", None, {"current_version_id": rotation.new_version_id, "rotated_at": now()})


def fail(state: dict[str, Any], reason: str) -> None:
    """The new version loses AWSPENDING; AWSCURRENT never moved (the old value stays valid)."""
    connector, rotation = load(state)
    if rotation.status == "FAILED":
        return
    secret_store.discard_pending(connector.secret_name, rotation.new_version_id)
    _end(state, "FAILED", reason, {})


def _end(state: dict[str, Any], status: str, reason: str | None, fields: dict[str, Any]) -> None:
    for _ in range(ATTEMPTS):
        connector, rotation = load(state)
        before = connectors.view(connector)
        rotation.status, rotation.reason, rotation.ended_at = status, reason, now()
        connector.rotation_id = None
        connector.last_rotation = {"id": rotation.id, "status": status, "reason": reason,
                                   "ended_at": rotation.ended_at.isoformat()}
        for name, value in fields.items():
            setattr(connector, name, value)
        change = Change().edit(rotation, ["status", "reason", "ended_at"], expected_version=rotation.version,
                               stale_error=lambda: VersionConflict("rotation changed meanwhile"))
        change.edit(connector, ["rotation_id", "last_rotation", *fields], expected_version=connector.version,
                    stale_error=lambda: VersionConflict("connector changed meanwhile"))
        change.audit(_workflow_event(connector.workspace_id, f"connector/{connector.id}",
                                     f"connector.rotate.{status.lower()}", before, connectors.view(connector),
                                     rotation.id))
        try:
            change.commit()
        except VersionConflict:
            continue  # a rename landed meanwhile: read again
        connectors.announce(rotation, "connector.rotation")
        return
    raise Conflict(f"connector {state['connector_id']} kept changing; end the rotation again")
