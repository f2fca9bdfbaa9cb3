"""What the workflow tasks do to the table: own a bot for one request, record each step's progress,
and end the bot in its action's outcome or in ERROR with the reason.

A bot is owned by the request whose id is in its `intent`; every write here is conditioned on that
(and on the version read), so a task run twice, or a task of an execution that lost the bot to a
sweeper, changes nothing more. Steps are items keyed by bot, execution and step: a side-effecting
step that already SUCCEEDED returns its recorded output instead of running again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from clawster.domain import bots as machine
from clawster.domain.diff import diff
from clawster.domain.errors import Conflict, VersionConflict
from clawster.errors import PermanentError
from clawster.store.entities import (
    AuditEvent,
    Bot,
    DriftPolicy,
    DriftReport,
    Fleet,
    NameClaim,
    Revision,
    StepRecord,
    now,
)
from clawster.store.transaction import Change

log = logging.getLogger(__name__)

WORKFLOW_ACTOR = "clawster-workflow"
EDIT_ATTEMPTS = 5  # re-reads when a user edit (a rename, a tag) moved the bot's version meanwhile


class Superseded(PermanentError):
    """The bot is no longer owned by this request (finished, swept to ERROR, or deleted)."""

    code = "WORKFLOW_SUPERSEDED"


class DeadlineExceeded(PermanentError):
    code = "DEADLINE_EXCEEDED"


def load(workspace_id: str, bot_id: str) -> Bot:
    try:
        return Bot.get(*Bot.key(workspace_id, bot_id), consistent_read=True)
    except Bot.DoesNotExist:
        raise Superseded(f"bot {bot_id} no longer exists", {"bot_id": bot_id}) from None


def owner_of(bot: Bot) -> str | None:
    return bot.intent.as_dict().get("id") if bot.intent else None


def owned(state: dict[str, Any]) -> Bot:
    bot = load(state["workspace_id"], state["bot_id"])
    if owner_of(bot) != state["request_id"]:
        raise Superseded(f"bot {bot.id} is not owned by request {state['request_id']}",
                         {"bot_id": bot.id, "owner": owner_of(bot)})
    return bot


# -- steps ----------------------------------------------------------------------------------------
def _step(state: dict[str, Any], execution: str, step: str) -> StepRecord:
    record = StepRecord(workspace_id=state["workspace_id"], bot_id=state["bot_id"], execution=execution, step=step)
    record.derive_keys()
    return record


def run_once(state: dict[str, Any], execution: str, step: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`work()`'s output, recorded; when this step of this execution already succeeded, the recorded
    output without running `work` again (Step Functions may run a task twice: a retry after a timeout)."""
    record = _step(state, execution, step)
    try:
        done = StepRecord.get(record.pk, record.sk, consistent_read=True)
        if done.status == "SUCCEEDED":
            return json.loads(done.output or "{}")
        record = done
    except StepRecord.DoesNotExist:
        record.started_at = now()
    record.status, record.attempts = "RUNNING", (record.attempts or 0) + 1
    record.save()
    announce_step(state, record)
    try:
        output = work()
    except Exception as error:
        record.status, record.ended_at = "FAILED", now()
        record.error = f"{type(error).__name__}: {getattr(error, 'message', error)}"[:2000]
        record.save()
        announce_step(state, record)
        raise
    record.status, record.ended_at, record.output, record.error = "SUCCEEDED", now(), json.dumps(output), None
    record.save()
    announce_step(state, record)
    return output


def progress(state: dict[str, Any], execution: str, step: str, detail: str) -> None:
    """A polling step's latest observation (e.g. the gateway still STARTING), on its record."""
    record = _step(state, execution, step)
    try:
        record = StepRecord.get(record.pk, record.sk, consistent_read=True)
    except StepRecord.DoesNotExist:
        record.started_at, record.attempts = now(), 0
    record.status, record.detail, record.attempts = "RUNNING", detail[:500], (record.attempts or 0) + 1
    record.save()
    announce_step(state, record)


def finish_step(state: dict[str, Any], execution: str, step: str, detail: str = "") -> None:
    record = _step(state, execution, step)
    try:
        record = StepRecord.get(record.pk, record.sk, consistent_read=True)
    except StepRecord.DoesNotExist:
        record.started_at, record.attempts = now(), 1
    record.status, record.ended_at, record.detail = "SUCCEEDED", now(), detail[:500]
    record.save()
    announce_step(state, record)


def fail_open_steps(state: dict[str, Any], execution: str, reason: str) -> None:
    """Every step of this execution still RUNNING (a wait the workflow left for its Catch) ends FAILED
    with the reason, so GET .../provisioning never shows a step running in a workflow that has ended."""
    for record in steps_of(state["workspace_id"], state["bot_id"], execution):
        if record.status == "RUNNING":
            record.status, record.ended_at, record.error = "FAILED", now(), reason[:2000]
            record.save()
            announce_step(state, record)


def steps_of(workspace_id: str, bot_id: str, execution: str) -> list[StepRecord]:
    partition, prefix = StepRecord.prefix(workspace_id, bot_id, execution)
    items = StepRecord.query(partition, StepRecord.sk.startswith(prefix), consistent_read=True)
    return sorted(items, key=lambda r: r.started_at or now())


# -- the bot's status ------------------------------------------------------------------------------
def settle(state: dict[str, Any], status: machine.BotStatus, *, reason: str | None = None,
           fields: dict[str, Any] | None = None) -> Bot:
    """Move the bot owned by this request to `status` (a legal transition) and release it: its intent
    is cleared and kept as `last_workflow`. Idempotent: once settled, the same call changes nothing."""
    for _ in range(EDIT_ATTEMPTS):
        bot = load(state["workspace_id"], state["bot_id"])
        if owner_of(bot) != state["request_id"]:
            last = bot.last_workflow.as_dict() if bot.last_workflow else {}
            if last.get("id") == state["request_id"]:
                return bot  # settled by an earlier run of this task
            raise Superseded(f"bot {bot.id} is not owned by request {state['request_id']}", {"bot_id": bot.id})
        machine.check_transition(bot.status, status)
        before = bot.public()
        bot.last_workflow = {**bot.intent.as_dict(), "status": status.value, "reason": reason,
                             "ended_at": now().isoformat()}
        bot.status, bot.status_reason, bot.intent = status.value, reason, None
        edited = ["status", "status_reason", "intent", "last_workflow"]
        for name, value in (fields or {}).items():
            setattr(bot, name, value)
            edited.append(name)
        change = Change().edit(bot, edited, expected_version=bot.version,
                               condition=Bot.intent["id"] == state["request_id"],
                               stale_error=lambda: VersionConflict("bot changed meanwhile"))
        change.audit(_event(bot, before, bot.public(), f"bot.{state['action']}.{status.value.lower()}",
                            state["request_id"]))
        try:
            change.commit()
        except VersionConflict:
            continue  # a user edit (name, tags) landed between the read and the write: read again
        announce(bot, "bot.status", {"status": bot.status, "reason": reason, "action": state["action"],
                                     "request_id": state["request_id"]})
        return bot
    raise Conflict(f"bot {state['bot_id']} kept changing; settle again")


def remove(state: dict[str, Any]) -> None:
    """The end of a deprovision: the bot, its name and its revisions go; its fleet counts one less."""
    try:
        bot = owned(state)
    except Superseded:
        if _bot_exists(state):
            raise
        return  # removed by an earlier run of this task
    revisions = list(Revision.query(bot.pk, Revision.sk.startswith(Revision.sk_prefix(bot.id))))
    change = Change().delete(bot, expected_version=bot.version, condition=Bot.intent["id"] == state["request_id"],
                             stale_error=lambda: VersionConflict("bot changed meanwhile"))
    change.adjust(Fleet(*Fleet.key(bot.workspace_id, bot.fleet_id)), Fleet.bot_count, -1,
                  error=lambda: Conflict(f"fleet {bot.fleet_id} is gone"))
    claim = NameClaim.of_bot(bot)
    try:
        if NameClaim.get(claim.pk, claim.sk, consistent_read=True).owner_id == bot.id:
            change.remove(claim, condition=NameClaim.owner_id == bot.id,
                          error=lambda: VersionConflict("name claim moved"))
    except NameClaim.DoesNotExist:
        pass
    change.audit(_event(bot, bot.public(), None, "bot.delete.done", state["request_id"]))
    change.commit()
    announce(bot, "bot.deleted", {"request_id": state["request_id"]})
    with Revision.batch_write() as batch:
        for revision in revisions:
            batch.delete(revision)
        batch.delete(DriftReport(*DriftReport.key(bot.workspace_id, bot.id)))  # its drift record and policy
        batch.delete(DriftPolicy(*DriftPolicy.key(bot.workspace_id, "BOT", bot.id)))


# -- the stream ------------------------------------------------------------------------------------
def announce(bot: Bot, event_type: str, data: dict[str, Any]) -> None:
    """Tell the bot's, its fleet's and its workspace's subscribers. Never fails the step: the table
    holds the truth, and a client that missed a message reads it there."""
    from clawster.services import stream

    try:
        stream.publish_bot(bot.workspace_id, bot.fleet_id, bot.id, event_type, data)
    except Exception as error:  # noqa: BLE001 - the stream is best effort by design
        log.warning("could not publish %s for bot %s: %s", event_type, bot.id, error)


def announce_step(state: dict[str, Any], record: StepRecord) -> None:
    fleet_id = state.get("fleet_id")
    if fleet_id is None:
        return
    from clawster.services import stream

    data = {"request_id": state["request_id"], "action": state["action"], "step": record.step,
            "status": record.status, "attempts": record.attempts, "detail": record.detail, "error": record.error}
    try:
        stream.publish_bot(state["workspace_id"], fleet_id, state["bot_id"], "bot.step", data)
    except Exception as error:  # noqa: BLE001 - as announce()
        log.warning("could not publish a step of bot %s: %s", state["bot_id"], error)


def _bot_exists(state: dict[str, Any]) -> bool:
    try:
        Bot.get(*Bot.key(state["workspace_id"], state["bot_id"]), consistent_read=True)
        return True
    except Bot.DoesNotExist:
        return False


def _event(bot: Bot, before: dict | None, after: dict | None, action: str, request_id: str) -> AuditEvent:
    before, after = (json.loads(json.dumps(v, default=str)) if v is not None else None for v in (before, after))
    return AuditEvent.new(workspace_id=bot.workspace_id, actor=WORKFLOW_ACTOR, role=None, action=action,
                          outcome="ALLOWED", target=f"bot/{bot.id}", before=before, after=after,
                          diff=diff(before, after), request_id=request_id)


def epoch(moment: datetime | None = None) -> int:
    return int((moment or datetime.now(timezone.utc)).timestamp())
