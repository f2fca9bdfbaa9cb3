"""Bots, their immutable config revisions and lifecycle intents."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from clawster import ids
from clawster.domain import config_policy
from clawster.domain.bots import INITIAL_STATUS, BotAction, Workflow, begin, intent_deadline
from clawster.domain.diff import config_diff
from clawster.domain.errors import Conflict, InvalidState, NotFound, ValidationFailed
from clawster.services import audit, executions, names, policy_packs, targets
from clawster.services import layers as config_layers
from clawster.services.context import Access
from clawster.services.fleets import fleet_not_found
from clawster.services.fleets import get as get_fleet
from clawster.services.workspaces import check_version, stale
from clawster.store import cursor
from clawster.store.entities import Bot, Fleet, NameClaim, Revision, now
from clawster.store.transaction import Change


def bot_not_found(bot_id: str) -> NotFound:
    return NotFound(f"bot {bot_id} not found", {"bot_id": bot_id})


def _resolved(access: Access, bot: Bot, fleet: Fleet, number: int, source: str, *,
              target: str | None = None, openclaw_version: str | None = None,
              layers: config_layers.WorkspaceLayers | None = None) -> Revision:
    """A new revision of the bot (not saved): its effective config from the workspace's layers and its own
    override, checked against the config schema of its OpenClaw version, with the provenance of each path."""
    version = openclaw_version or bot.openclaw_version
    resolved = config_layers.effective(layers or config_layers.read(access.workspace_id),
                                       config_layers.BotInputs.of(bot, fleet, openclaw_version=version))
    return Revision.new(
        workspace_id=access.workspace_id, bot_id=bot.id, number=number, config=resolved.canonical,
        config_hash=config_policy.config_hash(resolved.canonical), source=source,
        template_id=bot.template_id, created_by=access.caller.user_id, openclaw_version=version,
        target=target or bot.target, provenance=json.dumps(resolved.provenance, sort_keys=True),
        layers=json.dumps(resolved.layers), override=bot.override,
    )


def create(access: Access, fleet_id: str, *, name: str, template_id: str | None,
           config: dict[str, Any] | None, tags: dict[str, str], target: str | None = None,
           ready_timeout_s: int | None = None, openclaw_version: str | None = None,
           target_settings: dict[str, Any] | None = None) -> Bot:
    """A new bot and its first revision. With a target it is provisioned at once: created CREATING and
    owned by its provision request in the same transaction, then the workflow starts. If the workflow
    cannot start, the bot stays, PENDING with the reason, and `provision` retries it."""
    fleet = get_fleet(access, fleet_id)
    if target_settings and not target:
        raise ValidationFailed("target_settings", "settings belong to a target: name the target too")
    settings = targets.settings_for(target, _fleet_settings(fleet, target), target_settings) if target else None
    bot = Bot.new(workspace_id=access.workspace_id, fleet_id=fleet.id, name=name, status=INITIAL_STATUS.value,
                  tags=tags, template_id=template_id, desired_revision_id="", revision_count=1,
                  override=config_policy.check_layer(config or {}, workspace_id=access.workspace_id),
                  openclaw_version=None if target else openclaw_version,  # without a target: for its provision
                  target_settings=settings)
    revision = _resolved(access, bot, fleet, 1, "template" if template_id else "raw", target=target,
                         openclaw_version=openclaw_version)
    if target and openclaw_version:
        _check_offered(target, openclaw_version)
    warnings = _check_policy(access, fleet, revision.config) if target else None
    bot.desired_revision_id = revision.id
    bot.ready_timeout_s = ready_timeout_s
    bot.policy_warnings = warnings  # not stored: the create's answer shows them
    version = {"openclaw_version": openclaw_version} if openclaw_version else None
    request_id, start = _own(access, bot, Workflow.PROVISION, target, version) if target else (None, None)
    change = Change().create(bot, exists_error=lambda: Conflict("bot id collision"))
    names.claim(change, NameClaim.of_bot(bot))
    change.create(revision, exists_error=lambda: Conflict("revision id collision"))
    change.adjust(fleet, Fleet.bot_count, 1, error=lambda: fleet_not_found(fleet_id))
    change.audit(audit.event(access, f"bot/{bot.id}", None, _audit_view(bot, revision)))
    change.commit()
    if start:
        _announce(bot, Workflow.PROVISION, request_id)
        try:
            start()
        except executions.WorkflowsUnavailable as error:
            _release(bot, INITIAL_STATUS.value, request_id, reason=f"{error.message}; POST .../provision to try again")
            _announce(bot, Workflow.PROVISION, request_id)
    return bot


def get(access: Access, bot_id: str) -> Bot:
    if not ids.is_id(bot_id):
        raise bot_not_found(bot_id)
    try:
        return Bot.get(*Bot.key(access.workspace_id, bot_id))
    except Bot.DoesNotExist:
        raise bot_not_found(bot_id) from None


def own_layer(bot: Bot) -> dict[str, Any]:
    """The bot's own config layer: what a PATCH `config` replaces."""
    return config_layers.override_of(bot)


def list_page(access: Access, fleet_id: str, *, status: str | None, tags: dict[str, str | None],
              limit: int, cursor_in: str | None) -> tuple[list[Bot], str | None]:
    get_fleet(access, fleet_id)  # 404 for a fleet outside the caller's workspace
    partition = Bot.fleet_partition(fleet_id)
    condition = Bot.gsi1sk.startswith(Bot.status_prefix(status)) if status else None
    filters = Bot.workspace_id == access.workspace_id
    for key, value in tags.items():
        filters &= Bot.tags[key].exists() if value is None else Bot.tags[key] == value
    return cursor.page(
        Bot.by_fleet.query, partition, condition, filter_condition=filters, limit=limit,
        last_evaluated_key=cursor.decode(cursor_in, {"gsi1pk": partition},
                                         {"gsi1sk": Bot.status_prefix(status)} if status else None),
    )


def update(access: Access, bot_id: str, *, expected_version: int, changes: dict[str, Any],
           inline: bool = False) -> Bot:
    """Edit a bot. A new config is a new revision, the desired one; on a bot whose gateway runs (RUNNING or
    DEGRADED) the same transaction gives the bot to an `apply` workflow, which puts it on the gateway. On
    a bot a workflow owns, a config change is refused (409): it would race that workflow.

    `inline`: the caller runs that apply itself (a rollout, functions/tasks/inline_apply.py): the bot is owned
    by the request as for any apply, but no execution is started. The same holds for refresh and rollback."""
    bot = get(access, bot_id)
    check_version("bot", bot_id, bot.version, expected_version)
    before, old_name = _audit_view(bot), NameClaim.of_bot(bot)
    change = Change()
    edited = [field for field in ("name", "tags", "ready_timeout_s", "template_id") if field in changes]
    for field in edited:
        setattr(bot, field, changes[field])
    if "config" in changes:
        bot.override = config_policy.check_layer(changes["config"], workspace_id=access.workspace_id)
        edited.append("override")
    revision = None
    if {"config", "template_id", "tags"} & changes.keys():
        # What the bot's config depends on changed: a new revision, when the config changes (a new config
        # or template always makes one: the caller asked for it; new tags only if overlays make them count).
        revision = _next_revision(access, bot, "update", always="config" in changes or "template_id" in changes)
        if revision is not None:
            edited += ["revision_count", "desired_revision_id"]
            change.create(revision, exists_error=lambda: Conflict("revision id collision"))
    request_id, start = _own_for_apply(access, bot, edited, revision.config) if revision is not None else (None, None)
    change.edit(bot, edited, expected_version=expected_version, stale_error=lambda: stale("bot", bot_id))
    names.rename(change, old_name, NameClaim.of_bot(bot), stale_error=lambda: stale("bot", bot_id))
    change.audit(audit.event(access, f"bot/{bot_id}", before, _audit_view(bot, revision)))
    change.commit()
    _start_apply(bot, request_id, start, before["status"], run=not inline)
    return bot


def _next_revision(access: Access, bot: Bot, source: str, *, always: bool) -> Revision | None:
    """The bot's next revision, made its desired one (the bot is not saved), or None when the effective
    config is the desired revision's already and `always` is false."""
    revision = _resolved(access, bot, get_fleet(access, bot.fleet_id), bot.revision_count + 1, source)
    if not always:
        desired = Revision.get(*Revision.key(bot.workspace_id, bot.id, bot.desired_revision_id), consistent_read=True)
        if desired.config_hash == revision.config_hash:
            return None
    bot.revision_count += 1
    bot.desired_revision_id = revision.id
    return revision


def refresh(access: Access, bot_id: str, *, expected_version: int, inline: bool = False) -> tuple[Bot, bool]:
    """Resolve the bot's config again from the workspace's layers as they are now: a new desired revision
    (applied at once when its gateway runs) if it differs from the desired one. Returns (bot, changed)."""
    bot = get(access, bot_id)
    check_version("bot", bot_id, bot.version, expected_version)
    before = _audit_view(bot)
    revision = _next_revision(access, bot, "refresh", always=False)
    if revision is None:
        return bot, False
    edited = ["revision_count", "desired_revision_id"]
    request_id, start = _own_for_apply(access, bot, edited, revision.config)
    change = Change().create(revision, exists_error=lambda: Conflict("revision id collision"))
    change.edit(bot, edited, expected_version=expected_version, stale_error=lambda: stale("bot", bot_id))
    change.audit(audit.event(access, f"bot/{bot_id}", before, _audit_view(bot, revision), action="bot.refresh"))
    change.commit()
    _start_apply(bot, request_id, start, before["status"], run=not inline)
    return bot, True


def effective_config(access: Access, bot_id: str) -> dict[str, Any]:
    """The bot's config as its layers resolve now, with which layer set each path, and whether it differs
    from its desired revision (a refresh would make a new one)."""
    bot = get(access, bot_id)
    resolved = config_layers.effective(config_layers.read(access.workspace_id),
                                       config_layers.BotInputs.of(bot, get_fleet(access, bot.fleet_id)))
    desired = get_revision(access, bot_id, bot.desired_revision_id)
    return {"bot_id": bot.id, "config": resolved.config, "provenance": resolved.provenance, "layers": resolved.layers,
            "desired_revision_id": desired.id,
            "up_to_date": desired.config_hash == config_policy.config_hash(resolved.canonical)}


def rollback(access: Access, bot_id: str, revision_id: str, *, inline: bool = False) -> Bot:
    """Point the bot's desired revision back at an older one (revisions are immutable: none is written),
    applied to its gateway at once when it runs, as a config change is."""
    bot = get(access, bot_id)
    revision = get_revision(access, bot_id, revision_id)  # 404 if it is not one of this bot's
    if revision.id == bot.desired_revision_id:
        raise ValidationFailed("revision_id", "it is the bot's desired revision already")
    config_policy.check_config(json.loads(revision.config), openclaw_version=bot.openclaw_version)  # still valid?
    before, expected = _audit_view(bot), bot.version
    bot.desired_revision_id = revision.id
    edited = ["desired_revision_id"]
    if revision.override is not None and revision.override != bot.override:
        # The bot's own layer as it was then: a later refresh resolves to this revision again, not to the
        # config rolled back from. (A revision made before revisions kept it leaves the layer as it is.)
        bot.override = revision.override
        edited.append("override")
    request_id, start = _own_for_apply(access, bot, edited, revision.config)
    change = Change().edit(bot, edited, expected_version=expected, stale_error=lambda: stale("bot", bot_id))
    change.audit(audit.event(access, f"bot/{bot_id}", before, _audit_view(bot, revision), action="bot.rollback"))
    change.commit()
    _start_apply(bot, request_id, start, before["status"], run=not inline)
    return bot


def _own_for_apply(access: Access, bot: Bot, edited: list[str],
                   canonical: str) -> tuple[str | None, Callable[[], str] | None]:
    """A new desired revision: the bot is given to an `apply` workflow when its gateway runs (its fields
    join `edited`, one transaction), once the policy packs allow the config (a deploy, as a provision
    is); refused while a workflow owns the bot; else only recorded."""
    if bot.target and bot.status in APPLIES_LIVE:
        bot.policy_warnings = _check_policy(access, get_fleet(access, bot.fleet_id), canonical)  # the answer shows them
        request_id, start = _own(access, bot, Workflow.APPLY, bot.target)  # 409 if a workflow owns the bot
        edited += ["intent", "status"]
        return request_id, start
    if bot.intent is not None:
        raise InvalidState(f"bot has a pending '{bot.intent.as_dict().get('action')}' workflow; change its "
                           "config once it has ended", {"status": bot.status, "allowed_actions": []})
    return None, None


def _start_apply(bot: Bot, request_id: str | None, start: Callable[[], str] | None, previous: str, *,
                 run: bool = True) -> None:
    if start is None or request_id is None:
        return
    _announce(bot, Workflow.APPLY, request_id)
    if not run:  # the caller drives the apply itself
        return
    try:
        start()
    except executions.WorkflowsUnavailable:
        _release(bot, previous, request_id, reason="the new config is not applied yet: workflows are unavailable; "
                                                   "change it again to retry")
        _announce(bot, Workflow.APPLY, request_id)


def revision_diff(access: Access, bot_id: str, revision_id: str, against: str | None) -> dict[str, Any]:
    """What changes from `against` (default: the applied revision; none: an empty config) to the revision."""
    bot = get(access, bot_id)
    to = get_revision(access, bot_id, revision_id)
    base_id = against or bot.applied_revision_id
    base = get_revision(access, bot_id, base_id) if base_id else None
    return {"bot_id": bot_id, "from_revision_id": base.id if base else None, "to_revision_id": to.id,
            "changes": config_diff(json.loads(base.config) if base else {}, json.loads(to.config))}


APPLIES_LIVE = frozenset({"RUNNING", "DEGRADED"})  # a new config goes onto the gateway at once


def delete(access: Access, bot_id: str, *, expected_version: int) -> Bot | None:
    """A bot that never got a gateway goes at once (None). One with a target is deprovisioned first:
    it is DELETING while its workflow removes the gateway, then the bot (returned, for a 202)."""
    bot = get(access, bot_id)
    check_version("bot", bot_id, bot.version, expected_version)
    begin(Workflow.DELETE, bot.status)
    if bot.target:
        return launch(access, bot, Workflow.DELETE)
    revisions = list(Revision.query(bot.pk, Revision.sk.startswith(Revision.sk_prefix(bot_id))))
    change = Change().delete(bot, expected_version=expected_version, stale_error=lambda: stale("bot", bot_id))
    change.adjust(Fleet(*Fleet.key(access.workspace_id, bot.fleet_id)), Fleet.bot_count, -1,
                  error=lambda: fleet_not_found(bot.fleet_id))
    names.release(change, NameClaim.of_bot(bot), stale_error=lambda: stale("bot", bot_id))
    change.audit(audit.event(access, f"bot/{bot_id}", _audit_view(bot), None))
    change.commit()
    # Revisions are unreachable once the bot is gone; removing them after the commit keeps the
    # transaction within its 100-item limit however long the history is.
    with Revision.batch_write() as batch:
        for revision in revisions:
            batch.delete(revision)


def request_intent(access: Access, bot_id: str, action: BotAction) -> Bot:
    """Start a lifecycle workflow on the bot (202): it is CREATING or RECONCILING until the workflow ends."""
    bot = get(access, bot_id)
    if action is BotAction.PROVISION and not bot.target:
        fleet = get_fleet(access, bot.fleet_id)
        if not fleet.target:
            # The request is valid; the bot's state refuses it (no target): a conflict, not a 422.
            raise InvalidState("this bot has no target to provision on; create it with one, or give its fleet one",
                               {"errors": [{"field": "target", "reason": "neither the bot nor its fleet has a target"}]})
        bot.target = fleet.target  # provisioned where its fleet's bots run, with the fleet's settings for it
        bot.target_settings = targets.settings_for(fleet.target, _fleet_settings(fleet, fleet.target), None)
    extra = None
    starts_pending = action in (BotAction.START, BotAction.RESUME, BotAction.RESTART) and \
        bot.applied_revision_id not in (None, bot.desired_revision_id)  # the workflow applies it: a deploy
    if action is BotAction.PROVISION or starts_pending:
        desired = Revision.get(*Revision.key(bot.workspace_id, bot.id, bot.desired_revision_id), consistent_read=True)
        _check_policy(access, get_fleet(access, bot.fleet_id), desired.config)
        if bot.openclaw_version and bot.applied_revision_id is None:  # the version asked for at its create
            _check_offered(bot.target, bot.openclaw_version)
            extra = {"openclaw_version": bot.openclaw_version}
    return launch(access, bot, Workflow(action.value), extra=extra)


def upgrade(access: Access, bot_id: str, version: str) -> Bot:
    """Start the upgrade workflow of the bot to OpenClaw `version` (202): it backs up the gateway's state,
    runs the version, waits for health, and restores the backup when the version fails."""
    bot = get(access, bot_id)
    if not bot.target:
        raise InvalidState("this bot has no gateway to upgrade; provision it first",
                           {"status": bot.status, "errors": [{"field": "target", "reason": "the bot has no target"}]})
    if version == bot.openclaw_version:
        raise ValidationFailed("openclaw_version", f"the bot runs openclaw {version} already")
    _check_offered(bot.target, version)
    # The config it runs must be one the new version accepts: a key only a newer version knows would be
    # refused by the older gateway (exit 78) after its state was backed up, for nothing.
    desired = Revision.get(*Revision.key(bot.workspace_id, bot.id, bot.desired_revision_id), consistent_read=True)
    config_policy.check_config(json.loads(desired.config), openclaw_version=version)
    return launch(access, bot, Workflow.UPGRADE, extra={"target_version": version})


def _check_policy(access: Access, fleet: Fleet, canonical: str) -> list[dict[str, str]]:
    """Before a provision: the policy packs on the config, for the fleet's environment. An ERROR finding
    refuses it (422 POLICY_VIOLATION, nothing written); the WARNING findings are returned."""
    return policy_packs.check_deploy(access.workspace_id, json.loads(canonical), fleet.environment)


def _check_offered(target: str, version: str) -> None:
    offered = _versions_of(target)
    if offered is not None and version not in offered:
        raise ValidationFailed("openclaw_version", f"target {target!r} does not offer openclaw {version} "
                                                   f"(it offers {', '.join(offered)})")


def _versions_of(target: str) -> tuple[str, ...] | None:
    """The OpenClaw versions `target` offers, or None where its provider is not reachable from here (the
    workflow's own set_version step then refuses a version the target does not offer)."""
    from layers.providers.errors import ProviderError
    from layers.providers.registry import provider_for

    try:
        return provider_for(target).capabilities().openclaw_versions
    except ProviderError:
        return None


def launch(access: Access, bot: Bot, action: Workflow, *, extra: dict[str, Any] | None = None) -> Bot:
    """Put the bot in `action`'s working status, owned by a new request, then start its workflow.

    The write comes first, conditioned on the version read, so of two racing requests one owns the bot
    and the other is a 409. If the workflow cannot start at all, the bot is put back as it was and the
    caller gets a 503."""
    before, expected, previous = _audit_view(bot), bot.version, bot.status
    request_id, start = _own(access, bot, action, bot.target, extra)
    change = Change().edit(bot, ["intent", "status", "target", "target_settings"], expected_version=expected,
                           stale_error=lambda: stale("bot", bot.id))
    change.audit(audit.event(access, f"bot/{bot.id}", before, _audit_view(bot), action=f"bot.{action.value}"))
    change.commit()
    _announce(bot, action, request_id)  # before the start: the workflow's own messages come after this one
    try:
        start()
    except executions.WorkflowsUnavailable:
        _release(bot, previous, request_id)
        _announce(bot, action, request_id)
        raise
    return bot


def _announce(bot: Bot, action: Workflow, request_id: str) -> None:
    from clawster.services.workflow import announce

    announce(bot, "bot.status", {"status": bot.status, "reason": bot.status_reason, "action": action.value,
                                 "request_id": request_id})


def _own(access: Access, bot: Bot, action: Workflow, target: str | None,
         extra: dict[str, Any] | None = None) -> tuple[str, Callable[[], str]]:
    """Give the (unsaved) bot to a new request for `action`; returns the request id and what starts its
    execution once the bot is saved. The execution is named by the request id: a repeated start finds
    the first."""
    if bot.ready_timeout_s:  # the bot's own bound on a gateway start, for every workflow that starts one
        extra = {"ready_deadline_s": int(bot.ready_timeout_s), **(extra or {})}
    pending = bot.intent.as_dict().get("action") if bot.intent else None
    if pending:  # one workflow at a time on a bot
        raise InvalidState(f"bot already has a pending '{pending}' workflow",
                           {"pending_intent": pending, "status": bot.status, "allowed_actions": []})
    working = begin(action, bot.status)
    machine_arn = executions.state_machine_arn(action)  # 503 before anything is written
    request_id, moment = ids.new_id(), now()
    bot.intent = {"id": request_id, "action": action.value, "requested_by": access.caller.user_id,
                  "requested_at": moment.isoformat(), "execution_arn": executions.execution_arn(machine_arn, request_id),
                  "deadline_at": intent_deadline(action, moment, (extra or {}).get("ready_deadline_s")).isoformat(),
                  **_version_of(extra),
                  **({"extra": extra} if extra else {})}  # kept so a resumed workflow gets the same input
    bot.status, bot.target, bot.status_reason = working.value, target, None
    state = {"bot_id": bot.id, "workspace_id": bot.workspace_id, "request_id": request_id,
             "fleet_id": bot.fleet_id, "action": action.value, "target": target,
             **_settings_input(bot), **(extra or {})}
    return request_id, lambda: executions.start(machine_arn, request_id, state)


def workflow_input(bot: Bot) -> dict[str, Any]:
    """The input of the workflow the bot's intent names, as `_own` gave it: what resumes or drives it again."""
    intent = bot.intent.as_dict()
    return {"bot_id": bot.id, "workspace_id": bot.workspace_id, "request_id": intent["id"], "fleet_id": bot.fleet_id,
            "action": intent["action"], "target": bot.target, **_settings_input(bot), **(intent.get("extra") or {})}


def _settings_input(bot: Bot) -> dict[str, Any]:
    """The target settings a workflow's provider is built with, when the bot's target has any."""
    settings = targets.settings_of(bot)
    return {"target_settings": settings} if settings else {}


def _fleet_settings(fleet: Fleet, target: str) -> dict[str, Any] | None:
    stored = fleet.target_settings.as_dict() if fleet.target_settings is not None else {}
    return stored.get(target)


def _version_of(extra: dict[str, Any] | None) -> dict[str, str]:
    """The version the workflow puts the gateway on, for the intent: an upgrade's, or a provision's own."""
    version = (extra or {}).get("target_version") or (extra or {}).get("openclaw_version")
    return {"openclaw_version": version} if version else {}


def _release(bot: Bot, status: str, request_id: str, reason: str | None = None) -> None:
    """Undo the ownership of a request whose execution never started (only while it still owns the bot)."""
    bot.status, bot.intent, bot.status_reason = status, None, reason
    Change().edit(bot, ["status", "intent", "status_reason"], expected_version=bot.version,
                  condition=Bot.intent["id"] == request_id, stale_error=lambda: stale("bot", bot.id)).commit()


def list_revisions(access: Access, bot_id: str, *, limit: int, cursor_in: str | None):
    bot = get(access, bot_id)
    return cursor.page(
        Revision.query, bot.pk, Revision.sk.startswith(Revision.sk_prefix(bot_id)), scan_index_forward=False,
        limit=limit,
        last_evaluated_key=cursor.decode(cursor_in, {"pk": bot.pk}, {"sk": Revision.sk_prefix(bot_id)}),
    )


def get_revision(access: Access, bot_id: str, revision_id: str) -> Revision:
    get(access, bot_id)
    try:
        return Revision.get(*Revision.key(access.workspace_id, bot_id, revision_id))
    except Revision.DoesNotExist:
        raise NotFound(f"revision {revision_id} not found", {"revision_id": revision_id}) from None


def _audit_view(bot: Bot, revision: Revision | None = None) -> dict[str, Any]:
    """What the audit trail keeps of a bot: its fields, and the config hash rather than the config."""
    view = bot.public()
    if revision is not None:
        view["config_hash"] = revision.config_hash
    return json.loads(json.dumps(view, default=str))


def provisioning(access: Access, bot_id: str) -> dict[str, Any]:
    """The bot's running workflow (or its last one) and that execution's steps, oldest first."""
    from clawster.services.workflow import steps_of

    bot = get(access, bot_id)
    current = bot.intent.as_dict() if bot.intent else None
    last = bot.last_workflow.as_dict() if bot.last_workflow else None
    shown = current or last
    steps = steps_of(bot.workspace_id, bot.id, shown["id"]) if shown else []
    return {"bot_id": bot.id, "status": bot.status, "workflow": shown, "running": current is not None,
            "steps": [s.public() for s in steps]}
