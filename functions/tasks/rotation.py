"""The steps of the rotate workflow (statemachines/rotate.asl.json), served by the bot workflow task
(functions/tasks/bot_workflow.py dispatches them by name): a connector's new value goes to the affected
bots' gateways batch by batch, each batch verified healthy before the next; then the new version becomes
current and the old one is retired. Any failure stops the rotation: the bots already updated get the old
value back and the old version stays current (services/rotation.py records all of it).

Values are read from Secrets Manager by version id here, put into the config given to the provider,
and never returned in the workflow state, logged or recorded.
"""

from __future__ import annotations

import time
from typing import Any

from clawster import secret_store
from clawster.errors import ClawsterError
from clawster.services import rotation
from clawster.services.connectors import revision_config
from clawster.services.targets import settings_of
from clawster.services.workflow import DeadlineExceeded
from functions.tasks.bot_workflow import READY_DEADLINE_S, _reason, _verify, _with_secrets, step
from layers.providers.base import GatewayState, GatewayUpdate
from layers.providers.registry import provider_for

POLL_S = 1


@step
def plan_rotation(state: dict[str, Any], execution: str) -> dict[str, Any]:
    return state | rotation.plan(state) | {"poll_s": state.get("poll_s", POLL_S)}


@step
def update_batch(state: dict[str, Any], execution: str) -> dict[str, Any]:
    """Each bot of the batch gets its applied config with the new value (the provider writes it on the
    gateway's base hash; a restart-class change restarts it in place)."""
    connector, record = rotation.load(state)
    new_value = secret_store.value(connector.secret_name, record.new_version_id)
    progress = rotation.bot_progress(record)
    for bot_id in state["batches"][state["next"]]:
        if progress.get(bot_id, {}).get("status") in ("UPDATED", "VERIFIED"):
            continue  # done by an earlier run of this step
        bot = rotation.free_bot(state, bot_id)
        config = revision_config(bot.workspace_id, bot.id, bot.applied_revision_id)
        live = _with_secrets(rotation.pinned(config, connector.references(), new_value), bot.workspace_id)
        rotation.mark(state, bot_id, "UPDATING", applied_revision_id=bot.applied_revision_id, target=bot.target,
                      target_settings=settings_of(bot))
        provider_for(bot.target, settings_of(bot)).update(bot_id, GatewayUpdate(config=live))
        rotation.mark(state, bot_id, "UPDATED")
    return state | {"deadline_at": time.time() + state.get("ready_deadline_s", READY_DEADLINE_S), "batch_ok": False}


@step
def check_batch(state: dict[str, Any], execution: str) -> dict[str, Any]:
    """Every bot of the batch serving again and healthy by its gateway's own health call; past the
    deadline, a permanent failure (the rotation stops)."""
    _, record = rotation.load(state)
    progress = rotation.bot_progress(record)
    waiting = []
    for bot_id in state["batches"][state["next"]]:
        if progress[bot_id]["status"] == "VERIFIED":
            continue
        provider = provider_for(progress[bot_id]["target"], progress[bot_id].get("target_settings"))
        status = provider.describe(bot_id)
        if status.state is not GatewayState.RUNNING:
            failure = status.error()
            if failure is not None:
                raise failure
            waiting.append(f"{bot_id} {status.state.value}")
            continue
        verified = _verify({"bot_id": bot_id, "target": progress[bot_id]["target"],
                            "target_settings": progress[bot_id].get("target_settings")})  # the gateway's health call
        rotation.record_hash(state, bot_id, verified["applied_config_hash"])  # what drift compares the gateway with
        rotation.mark(state, bot_id, "VERIFIED")
    if waiting:
        if time.time() > state["deadline_at"]:
            raise DeadlineExceeded(f"deadline passed: still not healthy: {', '.join(waiting)}")
        return state | {"batch_ok": False}
    rotation.batch_done(state)
    following = state["next"] + 1
    return state | {"batch_ok": True, "next": following, "done": following >= len(state["batches"])}


@step
def promote_rotation(state: dict[str, Any], execution: str) -> dict[str, Any]:
    rotation.check_unchanged(state)
    rotation.succeed(state)
    return state


@step
def roll_back_rotation(state: dict[str, Any], execution: str) -> dict[str, Any]:
    """The bots already given the new value get the old one back (the version still current); each is
    tried, a failure recorded with it, and the rotation goes on to record its end."""
    connector, record = rotation.load(state)
    old_value = secret_store.value(connector.secret_name, record.old_version_id)
    for bot_id, progress in rotation.bot_progress(record).items():
        if progress["status"] not in ("UPDATING", "UPDATED", "VERIFIED"):
            continue
        try:
            config = revision_config(state["workspace_id"], bot_id, progress["applied_revision_id"])
            live = _with_secrets(rotation.pinned(config, connector.references(), old_value), state["workspace_id"])
            status = provider_for(progress["target"], progress.get("target_settings")).update(bot_id, GatewayUpdate(config=live))
            if status.state is GatewayState.RUNNING:  # best effort: a restarting gateway's hash drift will see
                verified = _verify({"bot_id": bot_id, "target": progress["target"],
                                    "target_settings": progress.get("target_settings")})
                rotation.record_hash(state, bot_id, verified["applied_config_hash"])
            rotation.mark(state, bot_id, "ROLLED_BACK")
        except ClawsterError as error:
            rotation.mark(state, bot_id, "ROLLBACK_FAILED", detail=f"{error.code}: {error.message}"[:500])
    return state


@step
def record_rotation_failure(state: dict[str, Any], execution: str) -> dict[str, Any]:
    rotation.fail(state, _reason(state.get("error") or {}))
    return state
