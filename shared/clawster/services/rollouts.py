"""Rollouts as the API sees them: create (targets resolved, waves planned, each bot claimed, the workflow
started), list, get with per-wave and per-bot state, and the controls (pause, resume, approve, abort,
promote). What the workflow does to each bot is in services/rollout_run.py.

One active rollout per bot: each target bot gets a RolloutClaim item, created with attribute_not_exists in the
create's transaction; of two rollouts racing for one bot one commits and the other is a 409 naming the bot
and the rollout that holds it. The claims go when the rollout ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from clawster import ids
from clawster.domain import rollouts as domain
from clawster.domain.diff import diff
from clawster.domain.errors import Conflict, InvalidState, NotFound, ValidationFailed, VersionConflict
from clawster.domain.rollouts import RolloutStatus
from clawster.services import audit, executions
from clawster.services.bots import get as get_bot
from clawster.services.context import Access
from clawster.services.workspaces import stale
from clawster.store import cursor
from clawster.store.entities import AuditEvent, Bot, Fleet, Rollout, RolloutBot, RolloutClaim, now
from clawster.store.transaction import Change

CLAIMS_PER_TRANSACTION = 90  # with the rollout and its audit event, within the 100 items of one transaction


def rollout_not_found(rollout_id: str) -> NotFound:
    return NotFound(f"rollout {rollout_id} not found", {"rollout_id": rollout_id})


def create(access: Access, body: dict[str, Any]) -> Rollout:
    spec = domain.parse(body)
    if spec.change.kind is domain.ChangeKind.PROMOTE_FLEET:  # the source's revision, as it is now (a snapshot)
        body = {**body, "change": {**body["change"], "config": _fleet_revision(access, str(spec.change.source_fleet_id))}}
    bots = _targets(access, spec.targets)
    for bot in bots:
        if not bot.target:
            raise ValidationFailed("targets", f"bot {bot.id} has no gateway (no target): provision it first")
    waves = domain.plan_waves([b.id for b in bots], spec.plan)
    if any(n > len(waves) for n in spec.approval_before_waves):
        raise ValidationFailed("approval_before_waves", f"the plan has {len(waves)} waves")
    body = {**body, "approval_before_waves": _with_prod_approval(access, bots, waves, spec.approval_before_waves)}
    machine_arn = executions.machine_arn("rollout")  # 503 before anything is written
    rollout_id = ids.new_id()
    rollout = Rollout(id=rollout_id, workspace_id=access.workspace_id, status=RolloutStatus.RUNNING.value,
                      spec=json.dumps(body, sort_keys=True), bot_count=len(bots), created_by=access.caller.user_id,
                      waves=json.dumps([{"number": n, "bot_ids": wave, "status": "PENDING"}
                                        for n, wave in enumerate(waves, 1)]),
                      execution_arn=executions.execution_arn(machine_arn, rollout_id))
    _claim(access, rollout, [b.id for b in bots])
    with RolloutBot.batch_write() as batch:  # progress records: the workflow updates them
        for number, wave in enumerate(waves, 1):
            for bot_id in wave:
                item = RolloutBot(workspace_id=access.workspace_id, rollout_id=rollout_id, bot_id=bot_id, wave=number)
                item.stamp()
                batch.save(item)
    announce(rollout, "rollout.status", {"status": rollout.status})
    try:
        executions.start(machine_arn, rollout_id, {"workspace_id": access.workspace_id, "rollout_id": rollout_id})
    except executions.WorkflowsUnavailable:
        end(rollout, RolloutStatus.FAILED, "the rollout workflow could not start", actor=access.caller.user_id)
        raise
    return rollout


def _with_prod_approval(access: Access, bots: list[Bot], waves: list[list[str]], asked: tuple[int, ...]) -> list[int]:
    """The waves that wait for an approval: those asked for, and always the first wave that reaches a bot of a
    prod fleet (promotion to prod is a person's decision; the prod policy packs still check each bot's config)."""
    from clawster.services.fleets import get as get_fleet

    environments = {fleet_id: get_fleet(access, fleet_id).environment for fleet_id in {b.fleet_id for b in bots}}
    prod = {b.id for b in bots if environments[b.fleet_id] == "prod"}
    first = next((n for n, wave in enumerate(waves, 1) if prod.intersection(wave)), None)
    return sorted(set(asked) | ({first} if first else set()))


def _fleet_revision(access: Access, fleet_id: str) -> dict[str, Any]:
    """The own config layer the source fleet's bots share (domain.fleet_revision); 422 naming the field when
    the fleet is not one of the workspace's."""
    from clawster.services.fleets import get as get_fleet
    from clawster.services.layers import override_of

    try:
        fleet = get_fleet(access, fleet_id)
    except NotFound:
        raise ValidationFailed("change.source_fleet_id", f"no fleet {fleet_id} in this workspace") from None
    bots = Bot.by_fleet.query(Bot.fleet_partition(fleet.id), filter_condition=Bot.workspace_id == access.workspace_id)
    return domain.fleet_revision([override_of(bot) for bot in bots])


def _claim(access: Access, rollout: Rollout, bot_ids: list[str]) -> None:
    """Claim every bot for the rollout; the last chunk of claims commits with the rollout and its audit event.
    A claim held by another rollout is a 409 naming it; the claims this call made are released. Claimed in bot-id
    order (one order for every rollout): of two racing over more than one chunk, one always wins, never both lose."""
    bot_ids = sorted(bot_ids)
    chunks = [bot_ids[i:i + CLAIMS_PER_TRANSACTION] for i in range(0, len(bot_ids), CLAIMS_PER_TRANSACTION)]
    made: list[str] = []
    try:
        for index, chunk in enumerate(chunks):
            change = Change()
            for bot_id in chunk:
                claim = RolloutClaim.of(access.workspace_id, bot_id, rollout.id)
                change.create(claim, exists_error=_taken(access.workspace_id, bot_id))
            if index == len(chunks) - 1:
                change.create(rollout, exists_error=lambda: Conflict("rollout id collision"))
                change.audit(audit.event(access, f"rollout/{rollout.id}", None, audit_view(rollout)))
            change.commit()
            made += chunk
    except Exception:
        _release_claims(access.workspace_id, rollout.id, made)
        raise


def _taken(workspace_id: str, bot_id: str) -> Callable[[], Conflict]:
    def error() -> Conflict:
        try:
            holder = RolloutClaim.get(*RolloutClaim.key(workspace_id, bot_id), consistent_read=True).rollout_id
        except RolloutClaim.DoesNotExist:
            holder = None
        return Conflict(f"bot {bot_id} is in active rollout {holder}; one active rollout per bot",
                        {"bot_id": bot_id, "rollout_id": holder})
    return error


def _release_claims(workspace_id: str, rollout_id: str, bot_ids: list[str]) -> None:
    for bot_id in bot_ids:
        claim = RolloutClaim.of(workspace_id, bot_id, rollout_id)
        try:
            claim.delete(condition=RolloutClaim.rollout_id == rollout_id)
        except Exception:  # noqa: BLE001,S110 - held by another rollout (not ours to remove) or gone already
            pass


def _targets(access: Access, targets: domain.Targets) -> list[Bot]:
    if targets.is_explicit():
        return [get_bot(access, bot_id) for bot_id in targets.bot_ids]  # 404 names a bot outside the workspace
    partition = Fleet.key(access.workspace_id, "")[0]
    fleets = list(Fleet.query(partition, Fleet.sk.startswith(Fleet.sk_prefix())))
    found = []
    for fleet in fleets:
        if targets.fleet_ids and fleet.id not in targets.fleet_ids:
            continue
        for bot in Bot.by_fleet.query(Bot.fleet_partition(fleet.id), filter_condition=Bot.workspace_id == access.workspace_id):
            if targets.matches(bot_id=bot.id, fleet_id=fleet.id, environment=fleet.environment,
                               tags=bot.tags.as_dict() if bot.tags else {}):
                found.append(bot)
    return sorted(found, key=lambda b: b.id)


def _prefix(workspace_id: str, prefix: str) -> tuple[str, Any]:
    partition = Rollout.key(workspace_id, "")[0]
    return partition, Rollout.sk.startswith(prefix)


def get(access: Access, rollout_id: str) -> Rollout:
    if not ids.is_id(rollout_id):
        raise rollout_not_found(rollout_id)
    try:
        return Rollout.get(*Rollout.key(access.workspace_id, rollout_id), consistent_read=True)
    except Rollout.DoesNotExist:
        raise rollout_not_found(rollout_id) from None


def bots_of(rollout: Rollout) -> list[RolloutBot]:
    items = RolloutBot.query(rollout.pk, RolloutBot.sk.startswith(RolloutBot.sk_prefix(rollout.id)),
                             consistent_read=True)
    return sorted(items, key=lambda b: (b.wave, b.bot_id))


def detail(access: Access, rollout_id: str) -> dict[str, Any]:
    """The rollout with each wave's state and each bot's, for GET .../rollouts/{id}."""
    rollout = get(access, rollout_id)
    by_wave: dict[int, list[dict[str, Any]]] = {}
    for item in bots_of(rollout):
        by_wave.setdefault(int(item.wave), []).append(bot_view(item))
    view = api_view(rollout)
    view["waves"] = [{**{k: v for k, v in wave.items() if k != "bot_ids"}, "bots": by_wave.get(wave["number"], [])}
                     for wave in json.loads(rollout.waves)]
    return view


def bot_view(item: RolloutBot) -> dict[str, Any]:
    return {"bot_id": item.bot_id, "wave": int(item.wave), "state": item.state, "health": item.health,
            "previous_revision_id": item.previous_revision_id, "new_revision_id": item.new_revision_id,
            "request_id": item.request_id, "detail": item.detail}


def public(rollout: Rollout) -> dict[str, Any]:
    waves = json.loads(rollout.waves)
    return {"id": rollout.id, "workspace_id": rollout.workspace_id, "status": rollout.status,
            "status_reason": rollout.status_reason, "spec": json.loads(rollout.spec), "bot_count": int(rollout.bot_count),
            "wave_count": len(waves), "current_wave": int(rollout.current_wave or 0), "created_by": rollout.created_by,
            "created_at": rollout.created_at, "updated_at": rollout.updated_at, "ended_at": rollout.ended_at,
            "version": int(rollout.version)}


def api_view(rollout: Rollout) -> dict[str, Any]:
    """What the API answers: the public fields and the controls the rollout's status takes now (not audited:
    they follow from the status)."""
    return {**public(rollout), "allowed_actions": domain.allowed_actions(rollout.status)}


def list_page(access: Access, *, limit: int, cursor_in: str | None) -> tuple[list[Rollout], str | None]:
    partition, condition = _prefix(access.workspace_id, Rollout.sk_prefix())
    return cursor.page(Rollout.query, partition, condition, limit=limit, scan_index_forward=False,
                       last_evaluated_key=cursor.decode(cursor_in, {"pk": partition}, {"sk": Rollout.sk_prefix()}))


# -- controls ----------------------------------------------------------------------------------------
CONTROL_ATTEMPTS = 5


def control(access: Access, rollout_id: str, action: str) -> Rollout:
    """pause / resume / approve / abort / promote: one conditioned write of the rollout, with its audit event.
    The workflow reads the status at its next step: a pause holds before the next wave, an abort rolls back,
    resume and approve let the next wave start, promote ends the current bake now. A control that ends an
    awaited approval (approve, abort, pause) also takes the approval step's callback token, in the same write,
    and answers the step: the workflow moves on at once. A second approve finds the rollout RUNNING: 409.

    The caller names no version: a write of the workflow's (a wave's progress) that lands between the read
    and the write is not the caller's conflict, so the control is read and decided again (bounded)."""
    for _ in range(CONTROL_ATTEMPTS - 1):
        try:
            return _control_once(access, rollout_id, action)
        except VersionConflict:
            continue
    return _control_once(access, rollout_id, action)


def _control_once(access: Access, rollout_id: str, action: str) -> Rollout:
    if action not in domain.CONTROLS:
        raise ValidationFailed("action", f"one of {', '.join(domain.CONTROLS)}")
    rollout = get(access, rollout_id)
    allowed = domain.allowed_actions(rollout.status)
    if action not in allowed:
        raise InvalidState(f"a {rollout.status} rollout does not take '{action}'",
                           {"status": rollout.status, "allowed_actions": allowed})
    before, expected = audit_view(rollout), rollout.version
    edited = ["status", "status_reason"]
    token = rollout.approval_token if action in ("approve", "abort", "pause") else None
    if token:  # taken: of two controls racing, the one whose write commits answers the step
        rollout.approval_token = None
        edited.append("approval_token")
    if action == "pause":
        rollout.status, rollout.status_reason = RolloutStatus.PAUSED.value, f"paused by {access.caller.user_id}"
    elif action in ("resume", "approve"):
        rollout.status, rollout.status_reason = RolloutStatus.RUNNING.value, None
        if action == "approve":
            rollout.approved_wave = _next_wave(rollout)
            edited.append("approved_wave")
    elif action == "abort":
        rollout.status, rollout.status_reason = RolloutStatus.ABORTING.value, f"aborted by {access.caller.user_id}"
    else:
        rollout.promoted_wave, edited = int(rollout.current_wave or 0), ["promoted_wave"]
    change = Change().edit(rollout, edited, expected_version=expected, stale_error=lambda: stale("rollout", rollout_id))
    change.audit(audit.event(access, f"rollout/{rollout.id}", before, audit_view(rollout), action=f"rollout.{action}"))
    change.commit()
    if token:
        _answer_approval_step(rollout, token, action)
    announce(rollout, "rollout.status", {"status": rollout.status, "reason": rollout.status_reason, "control": action})
    return rollout


def _answer_approval_step(rollout: Rollout, token: str, action: str) -> None:
    """Wake the approval step; its NextWave reads the status this control wrote. Not reaching Step Functions
    is not this request's failure (its write is the decision): the step times out within the hour and NextWave
    reads the decision then (docs/decisions.md)."""
    import logging

    try:
        executions.answer_task(token, {"control": action})
    except executions.WorkflowsUnavailable as error:
        logging.getLogger(__name__).warning("rollout %s: the approval step was not answered (%s); it re-reads "
                                            "the rollout at its timeout", rollout.id, error.message)


def _next_wave(rollout: Rollout) -> int:
    for wave in json.loads(rollout.waves):
        if wave["status"] != "DONE":
            return int(wave["number"])
    return len(json.loads(rollout.waves))


def end(rollout: Rollout, status: RolloutStatus, reason: str | None, *, actor: str) -> None:
    """The rollout ends in `status`: its claims are released, so its bots may join another rollout."""
    before = audit_view(rollout)
    rollout.status, rollout.status_reason, rollout.ended_at = status.value, reason, now()
    rollout.approval_token = None  # no step waits on it any more
    change = Change().edit(rollout, ["status", "status_reason", "ended_at", "approval_token"],
                           expected_version=rollout.version,
                           stale_error=lambda: stale("rollout", rollout.id))
    change.audit(workflow_event(rollout, before, f"rollout.{status.value.lower()}", actor, reason))
    change.commit()
    bot_ids = [b for wave in json.loads(rollout.waves) for b in wave["bot_ids"]]
    _release_claims(rollout.workspace_id, rollout.id, bot_ids)
    announce(rollout, "rollout.status", {"status": rollout.status, "reason": reason})


def workflow_event(rollout: Rollout, before: dict[str, Any] | None, action: str, actor: str,
                   reason: str | None) -> AuditEvent:
    after = audit_view(rollout)
    return AuditEvent.new(workspace_id=rollout.workspace_id, actor=actor, role=None, action=action, outcome="ALLOWED",
                          target=f"rollout/{rollout.id}", before=before, after=after, diff=diff(before, after),
                          reason=reason, request_id=rollout.id)


def audit_view(rollout: Rollout) -> dict[str, Any]:
    return json.loads(json.dumps(public(rollout), default=str))


def announce(rollout: Rollout, event_type: str, data: dict[str, Any]) -> None:
    """On the workspace's topic (best effort, as services/workflow.announce)."""
    from clawster.domain.topics import workspace_topic
    from clawster.services import stream

    try:
        stream.publish(workspace_topic(rollout.workspace_id), event_type, {"rollout_id": rollout.id, **data})
    except Exception:  # noqa: BLE001 - the table holds the truth
        pass
