"""What the rollout workflow (statemachines/rollout.asl.json) does, one step per task invocation.

Every bot is changed through the bots service, as an operator's PATCH / refresh / upgrade would: the bot is
owned by the apply (or upgrade) workflow the rollout starts on it, requested by `rollout/<id>`, and the bots
service's own rules hold (policy packs, one workflow per bot). A rollback is bots.rollback to the revision the
bot had before (an upgrade back to its version, for a version change), verified by the same health gate.

Progress is on the items (Rollout waves, RolloutBot states), written before and after each side effect, so a
step run again, or a whole execution started again, skips what is finished: a DONE bot is never applied twice.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from clawster.domain import gates as gate_rules
from clawster.domain import rollouts as domain
from clawster.domain.bots import Workflow
from clawster.domain.errors import ClawsterError, InvalidState, ValidationFailed, VersionConflict
from clawster.domain.roles import Role
from clawster.domain.rollouts import BotState, Reading, RolloutStatus, Verdict
from clawster.services import bots as bot_service
from clawster.services import executions, rollouts
from clawster.services.context import Access, Caller
from clawster.store.entities import Bot, Rollout, RolloutBot
from clawster.store.transaction import Change

POLL_S = 1  # between looks at a bot's workflow, and at a paused or waiting rollout
HOLD_POLL_S = 2
BAKE_POLL_S = 5  # the longest single Wait of a bake: a promote or an abort is seen within it
VERIFY_S = 300  # a rolled-back bot with nothing to apply: how long its gateway may take to pass the health gate
EDIT_ATTEMPTS = 5
LOG_TAIL_LINES = 5000  # the most logs.tail gives in one call
log = logging.getLogger(__name__)


def actor(rollout_id: str) -> str:
    return f"rollout/{rollout_id}"


def load(state: dict[str, Any]) -> Rollout:
    return Rollout.get(*Rollout.key(state["workspace_id"], state["rollout_id"]), consistent_read=True)


def _spec(rollout: Rollout) -> domain.RolloutSpec:
    return domain.parse(json.loads(rollout.spec))


def _save(rollout: Rollout, fields: list[str], waves: list[dict[str, Any]] | None = None, *,
          before: dict[str, Any] | None = None, action: str | None = None) -> bool:
    """Write the fields (and the waves) if no control landed since the read; False when one did. A change of
    the rollout's status (`action`) is audited in the same transaction, with the view `before` it."""
    if waves is not None:
        rollout.waves = json.dumps(waves)
        fields = [*fields, "waves"]
    change = Change().edit(rollout, fields, expected_version=rollout.version,
                           stale_error=lambda: InvalidState("the rollout changed meanwhile"))
    if action is not None:
        change.audit(rollouts.workflow_event(rollout, before, action, actor(rollout.id), rollout.status_reason))
    try:
        change.commit()
        return True
    except InvalidState:
        return False


# -- the waves -------------------------------------------------------------------------------------
def next_wave(state: dict[str, Any]) -> dict[str, Any]:
    """What to do next: run the next unfinished wave, hold (paused), wait for an approval, roll back, or end."""
    for _ in range(EDIT_ATTEMPTS):
        rollout = load(state)
        status = RolloutStatus(rollout.status)
        if status in (RolloutStatus.ABORTING, RolloutStatus.ROLLING_BACK):
            return {**state, "action": "rollback"}
        if status not in domain.ACTIVE:
            return {**state, "action": "done"}
        if status is RolloutStatus.PAUSED:  # a pause is polled (docs/decisions.md: why not a callback too)
            return {**state, "action": "wait", "poll_s": HOLD_POLL_S}
        waves = json.loads(rollout.waves)
        wave = next((w for w in waves if w["status"] != "DONE"), None)
        if wave is None:
            return {**state, "action": "done"}
        number = int(wave["number"])
        if status is RolloutStatus.AWAITING_APPROVAL:  # e.g. an execution started again after a restart
            return {**state, "action": "approval", "wave": number}
        if number in _spec(rollout).approval_before_waves and rollout.approved_wave != number:
            before = rollouts.audit_view(rollout)
            rollout.status, rollout.status_reason = RolloutStatus.AWAITING_APPROVAL.value, f"wave {number} needs an approval"
            if _save(rollout, ["status", "status_reason"], before=before, action="rollout.awaiting_approval"):
                rollouts.announce(rollout, "rollout.status", {"status": rollout.status, "wave": number})
                return {**state, "action": "approval", "wave": number}
            continue
        wave["status"], rollout.current_wave = "RUNNING", number
        if not _save(rollout, ["current_wave"], waves):
            continue
        rollouts.announce(rollout, "rollout.wave", {"wave": number, "status": "RUNNING"})
        # The wave's child execution (statemachines/rollout-wave.asl.json) makes each bot's item from its id.
        return {**state, "action": "run", "wave": number, "mode": "apply", "bot_ids": wave["bot_ids"],
                "max_concurrency": _spec(rollout).max_concurrency, "poll_s": POLL_S}
    raise InvalidState("the rollout kept changing; try the step again")


def await_approval(state: dict[str, Any], token: str) -> dict[str, Any]:
    """The approval step (waitForTaskToken): keep its callback token on the rollout, where the control that
    ends the wait (approve, abort, pause) takes it and answers the step. A control that landed before the token
    was kept finds none: then this step answers itself, and NextWave reads what the control decided."""
    for _ in range(EDIT_ATTEMPTS):
        rollout = load(state)
        if rollout.status != RolloutStatus.AWAITING_APPROVAL.value:
            executions.answer_task(token, {"control": "already decided"})
            return {**state, "awaiting": False}
        rollout.approval_token = token  # a new execution's step replaces a dead one's token
        if _save(rollout, ["approval_token"]):
            return {**state, "awaiting": True}  # never the token: the answer is in the execution's history
    raise InvalidState("the rollout kept changing; try the step again")


def bake(state: dict[str, Any]) -> dict[str, Any]:
    """The wave's bake: its end is set at the first look; `baked` once it has passed, the wave was promoted,
    or the rollout is being aborted. `wait_s` is the next Wait (at most BAKE_POLL_S, so controls are seen)."""
    rollout = load(state)
    waves = json.loads(rollout.waves)
    wave = waves[int(state["wave"]) - 1]
    if "bake_until" not in wave:
        wave["status"], wave["bake_until"] = "BAKING", time.time() + _spec(rollout).bake_s
        _save(rollout, [], waves)
        rollouts.announce(rollout, "rollout.wave", {"wave": wave["number"], "status": "BAKING"})
    left = wave["bake_until"] - time.time()
    done = (left <= 0 or rollout.promoted_wave == wave["number"]
            or RolloutStatus(rollout.status) in (RolloutStatus.ABORTING, RolloutStatus.ROLLING_BACK))
    return {**state, "baked": done, "wait_s": max(1, min(BAKE_POLL_S, int(left + 0.999)))}


def evaluate(state: dict[str, Any], read: GateReader | None = None) -> dict[str, Any]:
    """The wave's gates after its bake, and the decision: continue, pause (no data, inconclusive), roll back.
    The measured gates (error rate, SLO burn, alarms) look at the bake window: from the bake's start to now."""
    read = read or GateReader()
    rollout = load(state)
    number = int(state["wave"])
    spec = _spec(rollout)
    wanted = {gate.kind: gate for gate in spec.gates}
    readings: dict[str, list[Reading]] = {kind: [] for kind in wanted if kind in PER_BOT_GATES}
    items = rollouts.bots_of(rollout)
    live: list[Bot] = []
    for item in items:
        if item.wave != number or item.state != BotState.DONE.value:
            continue
        bot = Bot.get(*Bot.key(item.workspace_id, item.bot_id), consistent_read=True)
        if bot.status not in bot_service.APPLIES_LIVE:  # stopped or paused: no gateway to read (no data)
            continue
        health = read.gateway_health(bot)
        item.health = health.value
        if health is Reading.FAIL:  # a bot whose gateway is unhealthy failed: the abort threshold counts it
            item.state, item.detail = BotState.FAILED.value, "the gateway health gate failed after the bake"
        item.save_progress()
        if health is not Reading.FAIL:
            live.append(bot)
        if "gateway_health" in readings and health is not Reading.FAIL:
            readings["gateway_health"].append(health)
        if "channel_health" in readings:
            readings["channel_health"].append(read.channel_health(bot))
    done = sum(1 for i in items if i.state in (BotState.DONE.value, BotState.FAILED.value))
    failed = sum(1 for i in items if i.state == BotState.FAILED.value)
    gates = {gate: domain.combine(values) for gate, values in readings.items()}  # none read: NO_DATA
    until = time.time()
    since = float(json.loads(rollout.waves)[number - 1].get("bake_until", until)) - spec.bake_s
    details = {kind: _measure(gate, read, live, since, until) for kind, gate in wanted.items()
               if kind not in PER_BOT_GATES}
    gates.update({kind: result.reading for kind, result in details.items()})
    decision = domain.decide(gates, spec.abort, done=done, failed=failed)
    return _record_decision(state, decision, gates, done, failed, {k: r.detail for k, r in details.items()})


PER_BOT_GATES = ("gateway_health", "channel_health")  # read bot by bot, combined; the others are measured


def _measure(gate: domain.Gate, read: GateReader, bots: list[Bot], since: float, until: float) -> gate_rules.GateResult:
    """A measured gate over the wave's live bots (the ones whose gateway passed its health) in the window."""
    if gate.kind == "error_rate":
        return gate_rules.error_rate(gate, [read.log_count(bot, since) for bot in bots])
    if gate.kind == "slo":
        return gate_rules.slo_burn(gate, [read.probes(bot, since, until) for bot in bots])
    return gate_rules.alarms(gate, read.alarm_states(gate.alarms))


def _record_decision(state: dict[str, Any], decision: domain.Decision, gates: dict[str, Reading], done: int,
                     failed: int, details: dict[str, str] | None = None) -> dict[str, Any]:
    for _ in range(EDIT_ATTEMPTS):
        rollout = load(state)
        before = rollouts.audit_view(rollout)
        verdict = decision.verdict
        if RolloutStatus(rollout.status) in (RolloutStatus.ABORTING, RolloutStatus.ROLLING_BACK):
            verdict = Verdict.ROLLBACK
        waves = json.loads(rollout.waves)
        wave = waves[int(state["wave"]) - 1]
        wave.update(status="DONE" if verdict is not Verdict.ROLLBACK else "FAILED", verdict=verdict.value,
                    reason=decision.reason, readings={g: r.value for g, r in gates.items()}, done=done, failed=failed,
                    gate_details=details or {})
        fields = []
        if verdict is Verdict.PAUSE and rollout.status == RolloutStatus.RUNNING.value:
            rollout.status, rollout.status_reason, fields = RolloutStatus.PAUSED.value, decision.reason, ["status",
                                                                                                         "status_reason"]
        elif verdict is Verdict.ROLLBACK and rollout.status != RolloutStatus.ABORTING.value:
            rollout.status, rollout.status_reason, fields = RolloutStatus.ROLLING_BACK.value, decision.reason, [
                "status", "status_reason"]
        action = f"rollout.{rollout.status.lower()}" if fields else None  # paused, or rolling back: audited
        if _save(rollout, fields, waves, before=before, action=action):
            rollouts.announce(rollout, "rollout.wave", {"wave": wave["number"], "status": wave["status"],
                                                        "verdict": verdict.value, "reason": decision.reason,
                                                        "readings": wave["readings"],
                                                        "gate_details": wave["gate_details"]})
            if fields:  # the gates paused it, or started its rollback: a status change, said as every other one
                rollouts.announce(rollout, "rollout.status", {"status": rollout.status, "reason": rollout.status_reason})
            return {**state, "verdict": verdict.value}
    raise InvalidState("the rollout kept changing; try the step again")


# -- one bot ---------------------------------------------------------------------------------------
def _item(state: dict[str, Any]) -> RolloutBot:
    return RolloutBot.get(*RolloutBot.key(state["workspace_id"], state["rollout_id"], state["bot_id"]),
                          consistent_read=True)


def _access(state: dict[str, Any], action: str) -> Access:
    return Access(Caller(actor(state["rollout_id"]), state["rollout_id"]), state["workspace_id"], Role.OPERATOR, action)


def start_bot(state: dict[str, Any]) -> dict[str, Any]:
    """Start the bot's change (or its rollback, by `mode`), once: a bot already started or finished is not
    started again. A bot some other workflow owns right now is waited for (`bot_state` stays the working one)."""
    item = _item(state)
    rollout = Rollout.get(*Rollout.key(state["workspace_id"], state["rollout_id"]), consistent_read=True)
    if state["mode"] == "rollback":
        return _start_rollback(state, item, rollout)
    if item.state != BotState.PENDING.value or item.request_id:
        return _again(state, item)
    bot = Bot.get(*Bot.key(item.workspace_id, item.bot_id), consistent_read=True)
    if item.previous_revision_id is None:
        item.previous_revision_id, item.previous_version = bot.desired_revision_id, bot.openclaw_version
        item.save_progress()
    if bot.desired_revision_id != item.previous_revision_id:  # a run of this step before us changed it already
        return _started(state, item, bot)
    try:
        bot = _change(_spec(rollout).change, _access(state, "rollout.apply"), bot)
    except InvalidState as error:
        if _owned_by_a_workflow(item):  # another workflow (a drift revert, a restart) owns it now: wait
            return {**state, "bot_state": BotState.PENDING.value, "poll_s": POLL_S}
        return _failed(state, item, error)  # a status that does not take the change (e.g. an upgrade when stopped)
    except ClawsterError as error:
        return _failed(state, item, error)
    if bot is None:  # nothing to change on this bot
        item.state, item.detail = BotState.DONE.value, "already up to date"
        item.save_progress()
        _announce_bot(item)
        return {**state, "bot_state": item.state}
    return _started(state, item, bot)


def _again(state: dict[str, Any], item: RolloutBot) -> dict[str, Any]:
    """A bot step run again (a retry, or the whole rollout started again): an apply this rollout runs inline
    whose task died is handed to its durable execution (`inline` without `fresh`); else it is waited for."""
    again = {**state, "bot_state": item.state, "poll_s": POLL_S}
    if item.state in (BotState.APPLYING.value, BotState.ROLLING_BACK.value) and item.request_id:
        bot = Bot.get(*Bot.key(item.workspace_id, item.bot_id), consistent_read=True)
        if _inline_apply(bot, item.request_id):
            again["inline"] = {"workflow": bot_service.workflow_input(bot), "fresh": False}
    return again


def _inline_apply(bot: Bot, request_id: str | None) -> bool:
    """Is the bot owned by this request's apply (the one kind a rollout runs inline)?"""
    intent = bot.intent.as_dict() if bot.intent else {}
    return bool(request_id) and intent.get("id") == request_id and intent.get("action") == Workflow.APPLY.value


def _owned_by_a_workflow(item: RolloutBot) -> bool:
    return Bot.get(*Bot.key(item.workspace_id, item.bot_id), consistent_read=True).intent is not None


def _failed(state: dict[str, Any], item: RolloutBot, error: ClawsterError) -> dict[str, Any]:
    item.state, item.detail = BotState.FAILED.value, f"{error.code}: {error.message}"[:500]
    item.save_progress()
    _announce_bot(item)
    return {**state, "bot_state": item.state}


def _started(state: dict[str, Any], item: RolloutBot, bot: Bot) -> dict[str, Any]:
    item.state, item.new_revision_id = BotState.APPLYING.value, bot.desired_revision_id
    item.request_id = bot.intent.as_dict().get("id") if bot.intent else None
    if item.request_id is None:  # not live (stopped, paused): the revision is recorded for its next start
        item.state, item.detail = BotState.DONE.value, f"recorded; the bot is {bot.status}"
    item.save_progress()
    _announce_bot(item)
    return _with_inline({**state, "bot_state": item.state, "poll_s": POLL_S}, bot, item.request_id)


def _with_inline(state: dict[str, Any], bot: Bot, request_id: str | None) -> dict[str, Any]:
    """An apply this step just gave the bot is run inline by the task (functions/tasks/inline_apply.py)."""
    if _inline_apply(bot, request_id):
        state["inline"] = {"workflow": bot_service.workflow_input(bot), "fresh": True}
    return state


def _change(change: domain.Change, access: Access, bot: Bot) -> Bot | None:
    """The rollout's change on one bot, by the bots service (its rules hold); a config change's apply is left
    for the task to run inline (`inline=True`), an upgrade is its own workflow."""
    if change.kind is domain.ChangeKind.CONFIG_PATCH:
        from clawster.services.layers import override_of

        config = domain.merge_patch(override_of(bot), change.patch)
        return bot_service.update(access, bot.id, expected_version=bot.version, changes={"config": config},
                                  inline=True)
    if change.kind is domain.ChangeKind.PROMOTE_FLEET:
        from clawster.services.layers import override_of

        if change.config is None:
            raise ValidationFailed("change.config", "the promotion has no snapshot of its source fleet's config")
        if override_of(bot) == change.config:
            return None  # this bot has the fleet's revision already
        return bot_service.update(access, bot.id, expected_version=bot.version, changes={"config": dict(change.config)},
                                  inline=True)
    if change.kind is domain.ChangeKind.REFRESH:
        updated, changed = bot_service.refresh(access, bot.id, expected_version=bot.version, inline=True)
        return updated if changed else None
    if bot.openclaw_version == change.openclaw_version:
        return None
    return bot_service.upgrade(access, bot.id, str(change.openclaw_version))


def check_bot(state: dict[str, Any]) -> dict[str, Any]:
    """Has the workflow the rollout started on the bot ended? Its outcome decides the bot's state."""
    item = _item(state)
    working = BotState.ROLLING_BACK if state["mode"] == "rollback" else BotState.APPLYING
    if item.state != working.value:
        return {**state, "bot_state": item.state, "poll_s": POLL_S}
    if item.request_id is None:
        return start_bot(state)
    bot = Bot.get(*Bot.key(item.workspace_id, item.bot_id), consistent_read=True)
    intent = bot.intent.as_dict() if bot.intent else {}
    if intent.get("id") == item.request_id:
        return {**state, "bot_state": item.state, "poll_s": POLL_S}
    last = bot.last_workflow.as_dict() if bot.last_workflow else {}
    ok = last.get("id") == item.request_id and last.get("status") == "RUNNING"
    if state["mode"] == "rollback":
        healthy = ok and _verified(bot)
        item.state = (BotState.ROLLED_BACK if healthy else BotState.ROLLBACK_FAILED).value
    else:
        item.state = (BotState.DONE if ok else BotState.FAILED).value
    item.detail = (last.get("reason") or ("ok" if ok else f"its workflow ended {last.get('status')}"))[:500]
    item.save_progress()
    _announce_bot(item)
    return {**state, "bot_state": item.state, "poll_s": POLL_S}


# -- rolling back ------------------------------------------------------------------------------------
def rollback_plan(state: dict[str, Any]) -> dict[str, Any]:
    """The bots the rollout changed, for the rollback's Map; the rollout is ROLLING_BACK."""
    rollout = load(state)
    if rollout.status != RolloutStatus.ROLLING_BACK.value:
        before = rollouts.audit_view(rollout)
        rollout.status = RolloutStatus.ROLLING_BACK.value
        rollout.status_reason = rollout.status_reason or "rolling back"
        _save(rollout, ["status", "status_reason"], before=before, action="rollout.rolling_back")
        rollouts.announce(rollout, "rollout.status", {"status": rollout.status, "reason": rollout.status_reason})
    changed = [i for i in rollouts.bots_of(rollout) if i.new_revision_id or i.request_id
               or i.state in (BotState.ROLLING_BACK.value, BotState.ROLLED_BACK.value, BotState.ROLLBACK_FAILED.value)]
    return {**state, "mode": "rollback", "wave": int(state.get("wave") or 0), "bot_ids": [i.bot_id for i in changed],
            "max_concurrency": _spec(rollout).max_concurrency, "poll_s": POLL_S}


def _start_rollback(state: dict[str, Any], item: RolloutBot, rollout: Rollout) -> dict[str, Any]:
    if item.state in (BotState.ROLLED_BACK.value, BotState.ROLLBACK_FAILED.value) or \
            (item.state == BotState.ROLLING_BACK.value and item.request_id):
        return _again(state, item)
    bot = Bot.get(*Bot.key(item.workspace_id, item.bot_id), consistent_read=True)
    if bot.intent and bot.intent.as_dict().get("id") == item.request_id:
        return {**state, "bot_state": BotState.ROLLING_BACK.value, "poll_s": POLL_S}  # its apply is still running
    access = _access(state, "rollout.rollback")
    change = _spec(rollout).change
    try:
        if change.kind is domain.ChangeKind.VERSION:
            moved = bot.openclaw_version != item.previous_version and item.previous_version
            bot = bot_service.upgrade(access, bot.id, str(item.previous_version)) if moved else bot
        elif bot.desired_revision_id != item.previous_revision_id:
            bot = bot_service.rollback(access, bot.id, str(item.previous_revision_id), inline=True)
    except InvalidState:  # another workflow owns it now: wait for it
        return {**state, "bot_state": BotState.ROLLING_BACK.value, "poll_s": POLL_S}
    except ValidationFailed as error:
        item.state, item.detail = BotState.ROLLBACK_FAILED.value, f"{error.code}: {error.message}"[:500]
        item.save_progress()
        _announce_bot(item)
        return {**state, "bot_state": item.state}
    intent = bot.intent.as_dict() if bot.intent else {}
    item.state, item.request_id = BotState.ROLLING_BACK.value, intent.get("id")
    if item.request_id is None:  # nothing to apply (not live, or never changed): its health decides
        _verify_in_time(item, bot)
    item.save_progress()
    _announce_bot(item)
    return _with_inline({**state, "bot_state": item.state, "poll_s": POLL_S}, bot, item.request_id)


def _verify_in_time(item: RolloutBot, bot: Bot) -> None:
    """ROLLED_BACK once the bot passes the health gate; ROLLBACK_FAILED if it has not within VERIFY_S (a gateway
    its provider says is starting, restarted by its supervisor, gets that long); else it stays ROLLING_BACK, looked at
    again."""
    item.verify_by = item.verify_by or time.time() + VERIFY_S
    back = f"back on revision {item.previous_revision_id}"
    if _verified(bot):
        item.state, item.detail = BotState.ROLLED_BACK.value, back
    elif time.time() >= item.verify_by or not _starting(bot):
        item.state, item.detail = BotState.ROLLBACK_FAILED.value, f"{back}; its gateway is not healthy"
    else:
        item.state, item.detail = BotState.ROLLING_BACK.value, f"{back}; waiting for its gateway to be healthy"


def _starting(bot: Bot) -> bool:
    """Is the bot's gateway coming back (its provider says STARTING: a supervisor restarting it)?"""
    from clawster.services.targets import provider_of
    from layers.providers.base import GatewayState
    from layers.providers.errors import ProviderError

    try:
        return provider_of(bot).describe(bot.id).state is GatewayState.STARTING
    except (ProviderError, ClawsterError):
        return False


def _verified(bot: Bot) -> bool:
    """A rolled-back bot passes the same health gate; one that is stopped or paused on purpose has no gateway
    running to verify (it starts on its previous revision)."""
    if bot.status in ("STOPPED", "PAUSED"):
        return True
    return GateReader().gateway_health(bot) is Reading.PASS


def finish(state: dict[str, Any]) -> dict[str, Any]:
    """The rollout's end: SUCCEEDED after its last wave; after a rollback ROLLED_BACK when every changed bot is
    back and healthy, else FAILED (a person must look). Its claims are released."""
    for _ in range(EDIT_ATTEMPTS):
        rollout = load(state)
        if RolloutStatus(rollout.status) not in domain.ACTIVE:
            return {**state, "status": rollout.status}
        if rollout.status in (RolloutStatus.ROLLING_BACK.value, RolloutStatus.ABORTING.value):
            stuck = [i.bot_id for i in rollouts.bots_of(rollout) if i.state == BotState.ROLLBACK_FAILED.value]
            status = RolloutStatus.FAILED if stuck else RolloutStatus.ROLLED_BACK
            reason = (rollout.status_reason or "") + (f"; not rolled back healthy: {', '.join(stuck)}" if stuck else "")
        else:
            status, reason = RolloutStatus.SUCCEEDED, None
        try:
            rollouts.end(rollout, status, reason, actor=actor(rollout.id))
        except VersionConflict:
            continue  # a control landed between the read and the write: read again
        return {**state, "status": status.value}
    raise InvalidState("the rollout kept changing; try the step again")


# -- gates -----------------------------------------------------------------------------------------
class GateReader:
    """Reads a bot's gates from its live gateway (the provider's view, then the gateway's own answers)."""

    def gateway_health(self, bot: Bot) -> Reading:
        from clawster.services.health import gateway_health
        from layers.providers.registry import provider_for

        health = gateway_health(provider_for, bot)
        return Reading.NO_DATA if health.healthy is None else Reading.PASS if health.healthy else Reading.FAIL

    def channel_health(self, bot: Bot) -> Reading:
        """channels.status: an issue fails it; a gateway with no channel has no data (pause, never pass)."""
        payload = self._call(bot, "channels_status")
        return Reading.NO_DATA if payload is None else domain.channel_reading(payload)

    def log_count(self, bot: Bot, since: float) -> gate_rules.LogCount | None:
        """The gateway's log events since `since`, from `logs.tail` (its newest LOG_TAIL_LINES lines: a busier
        window is judged on its latest part). None: the log could not be read."""
        payload = self._call(bot, "logs_tail", limit=LOG_TAIL_LINES)
        lines = payload.get("lines") if isinstance(payload, dict) else None
        return gate_rules.count_log_lines(lines, since) if isinstance(lines, list) else None

    def probes(self, bot: Bot, since: float, until: float) -> list[bool]:
        """Clawster's own health probes of the bot (the health job's history) in the window."""
        from clawster.services import probe_history

        return probe_history.window(bot.workspace_id, bot.id, since, until)

    def alarm_states(self, names: tuple[str, ...]) -> dict[str, str | None]:
        """Each named CloudWatch alarm's state (metric and composite alarms); None for a name with no alarm, and
        for every name when CloudWatch could not be asked (no data: pause)."""
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        states: dict[str, str | None] = dict.fromkeys(names)
        try:
            pages = boto3.client("cloudwatch").get_paginator("describe_alarms").paginate(
                AlarmNames=list(names), AlarmTypes=["MetricAlarm", "CompositeAlarm"])
            for page in pages:
                for alarm in (*page.get("MetricAlarms", ()), *page.get("CompositeAlarms", ())):
                    if alarm.get("AlarmName") in states:
                        states[alarm["AlarmName"]] = alarm.get("StateValue")
        except (BotoCoreError, ClientError) as error:
            log.warning("describe_alarms failed: %s", error)
            return dict.fromkeys(names)
        return states

    @staticmethod
    def _call(bot: Bot, method: str, **params: Any) -> Any:
        """One admin RPC call on the bot's gateway; None when it or its provider did not answer."""
        from clawster.gateway.client import GatewayClient
        from clawster.gateway.errors import GatewayError
        from clawster.gateway.http_rpc import AdminRpcTransport
        from clawster.secrets import resolve
        from clawster.services.targets import provider_of
        from layers.providers.errors import ProviderError

        try:
            endpoint = provider_of(bot).endpoint(bot.id)
            with GatewayClient(AdminRpcTransport(endpoint.http_url, resolve(endpoint.token_ref), timeout_s=3.0)) as client:
                return getattr(client, method)(**params)
        except (GatewayError, ProviderError):
            return None


def _announce_bot(item: RolloutBot) -> None:
    rollout = Rollout(id=item.rollout_id, workspace_id=item.workspace_id)
    rollouts.announce(rollout, "rollout.bot", rollouts.bot_view(item))


def fail_bot(state: dict[str, Any]) -> dict[str, Any]:
    """A bot step failed past its retries: the bot is FAILED (or ROLLBACK_FAILED) with the reason; the wave goes
    on, and the abort threshold counts it."""
    item = _item(state)
    item.state = (BotState.ROLLBACK_FAILED if state["mode"] == "rollback" else BotState.FAILED).value
    item.detail = _reason(state.get("error") or {})
    item.save_progress()
    _announce_bot(item)
    return {**state, "bot_state": item.state}


def fail(state: dict[str, Any]) -> dict[str, Any]:
    """A rollout step failed past its retries: the rollout is FAILED with the reason (its claims released)."""
    rollout = load(state)
    if RolloutStatus(rollout.status) in domain.ACTIVE:
        rollouts.end(rollout, RolloutStatus.FAILED, _reason(state.get("error") or {}), actor=actor(rollout.id))
    return state


def _reason(error: dict[str, Any]) -> str:
    cause = error.get("Cause") or ""
    try:
        parsed = json.loads(cause)
        if isinstance(parsed, dict) and "errorMessage" in parsed:
            parsed = json.loads(parsed["errorMessage"])
        if isinstance(parsed, dict) and "message" in parsed:
            return f"{parsed.get('code', 'ERROR')}: {parsed['message']}"[:500]
    except (TypeError, ValueError):
        pass
    return f"{error.get('Error', 'error')}: {cause}"[:500]
