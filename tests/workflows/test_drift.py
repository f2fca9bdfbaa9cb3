"""Drift reconciliation on real gateways, fired through the local stack's scheduler (job-drift runs in its own
Lambda instance): the gateway's config is changed out of band with the gateway client, as an agent or a
person on the gateway would, and the job

- adopts an agent path into a new revision (applied, with the gateway's own hash),
- reverts a security path through the apply workflow (the gateway's config is back as applied),
- only alerts where the policy says so, leaving the gateway alone,
- leaves a bot a workflow owns alone;

each finding readable through the API (GET .../drift), audited as system:drift, and streamed as bot.drift.
Waits are on observed state with generous ceilings; no fixed sleeps."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from clawster import ids
from clawster.domain import topics
from clawster.domain.errors import VersionConflict
from clawster.services import drift
from clawster.store.entities import AuditEvent, Bot
from clawster.store.transaction import Change
from layers.providers.local import LocalProvider
from tests.workflows.test_failures import delete, provision, settle
from tests.workflows.test_jobs import Listener

pytestmark = pytest.mark.slow


def _gateway(stack, bot_id: str):
    return LocalProvider(stack.state_dir / "gateways", supervise=False).client(bot_id)


def _change_on_the_gateway(stack, bot_id: str, patch: dict) -> str:
    """Out of band, as the agent or someone on the gateway would: config.patch on its base hash."""
    with _gateway(stack, bot_id) as client:
        return client.update_config(patch, note="out of band (test)").hash


def _live(stack, bot_id: str):
    with _gateway(stack, bot_id) as client:
        return client.config_get()


def _drift(team, bot_path: str) -> dict:
    return team.owner.get(f"{bot_path}/drift").ok(200).body


def _audit(team, bot_id: str) -> list[tuple[str, str]]:
    events = AuditEvent.by_target.query(AuditEvent.target_partition(team.workspace_id, f"bot/{bot_id}"))
    return [(e.actor, e.action) for e in events if e.actor == drift.DRIFT_ACTOR]


def test_drift_is_adopted_and_reverted_on_a_real_gateway_readable_and_streamed(stack, team):
    team.with_bot()
    created, bot_path = provision(team, "drifting")
    bot_id = created["id"]
    running = settle(team, bot_path)
    assert running["status"] == "RUNNING", running["status_reason"]
    assert _drift(team, bot_path)["state"] == "NOT_CHECKED"
    listener = Listener(stack, team.users["VIEWER"], str(topics.bot_topic(team.workspace_id, bot_id)))

    stack.scheduler.fire("job-drift")
    in_sync = _drift(team, bot_path)
    assert in_sync["state"] == "IN_SYNC" and in_sync["findings"] == [], in_sync
    assert in_sync["applied_revision_id"] == running["applied_revision_id"]
    assert in_sync["policy"]["security"] == {"action": "revert", "source": "default"}

    # The agent changes itself on the gateway: adopted into a new revision, applied, with the gateway's hash.
    live_hash = _change_on_the_gateway(stack, bot_id, {"agents": {"defaults": {"timeoutSeconds": 99}}})
    report = stack.scheduler.fire("job-drift")
    assert report["adopted"] >= 1, report
    bot = team.owner.get(bot_path).ok(200).body
    assert bot["status"] == "RUNNING" and bot["intent"] is None
    assert bot["applied_revision_id"] == bot["desired_revision_id"] != running["applied_revision_id"]
    assert bot["applied_config_hash"] == live_hash == _live(stack, bot_id).hash
    revision = team.owner.get(f"{bot_path}/revisions/{bot['applied_revision_id']}").ok(200).body
    assert revision["source"] == "drift" and revision["created_by"] == drift.DRIFT_ACTOR
    assert revision["config"]["agents"]["defaults"]["timeoutSeconds"] == 99
    assert revision["number"] == 2 and "port" not in revision["config"]["gateway"]  # the provider's stay its own
    adopted = _drift(team, bot_path)
    assert adopted["state"] == "DRIFTED" and adopted["adopted_revision_id"] == revision["id"]
    [finding] = adopted["findings"]
    assert finding | {"outcome": None} == {"path": "agents.defaults.timeoutSeconds", "op": "added",
                                           "drift_class": "agent", "action": "adopt", "masked": False,
                                           "value": 99, "outcome": None, "note": None}
    assert finding["outcome"].startswith("adopted into revision 2")
    message = listener.wait_for(lambda m: m["type"] == "bot.drift" and m["data"].get("adopted_revision_id"))
    assert message["data"]["findings"][0]["path"] == "agents.defaults.timeoutSeconds"

    # Someone loosens the tools on the gateway: a security path, reverted by the apply workflow.
    _change_on_the_gateway(stack, bot_id, {"tools": {"profile": "full"}})
    report = stack.scheduler.fire("job-drift")
    assert report["reverted"] >= 1, report
    reverting = team.owner.get(bot_path).ok(200).body
    assert reverting["intent"] is not None and reverting["intent"]["action"] == "apply"
    assert reverting["intent"]["requested_by"] == drift.DRIFT_ACTOR
    found = _drift(team, bot_path)
    assert [(f["path"], f["drift_class"], f["action"], f["outcome"]) for f in found["findings"]] == \
        [("tools.profile", "security", "revert", "reverting")]
    assert found["revert_request_id"] == reverting["intent"]["id"]
    back = settle(team, bot_path)
    assert back["status"] == "RUNNING" and back["applied_revision_id"] == bot["applied_revision_id"], back
    live = _live(stack, bot_id)
    assert "tools" not in live.source and live.source["agents"]["defaults"]["timeoutSeconds"] == 99
    assert back["applied_config_hash"] == live.hash
    listener.wait_for(lambda m: m["type"] == "bot.drift" and m["data"].get("revert_request_id"))

    # Reverted and re-applied: in sync again.
    stack.scheduler.fire("job-drift")
    assert _drift(team, bot_path)["state"] == "IN_SYNC"
    assert _audit(team, bot_id) == [(drift.DRIFT_ACTOR, "bot.drift.adopt"), (drift.DRIFT_ACTOR, "bot.drift.revert")]
    listener.socket.close()
    delete(team, bot_path)


def test_alert_only_drift_leaves_the_gateway_alone_and_a_bot_a_workflow_owns_is_skipped(stack, team):
    team.with_bot()
    created, bot_path = provision(team, "watched-drift")
    bot_id = created["id"]
    assert settle(team, bot_path)["status"] == "RUNNING"
    # The fleet only alerts on agent drift; a policy naming an unknown class or action is refused, by name.
    refused = team.owner.put(f"{team.ws}/fleets/{team.fleet_id}/drift-policy", {"rules": {"agnet": "alert"}}).ok(422)
    assert refused.body["details"]["errors"][0]["field"].startswith("rules.agnet"), refused.body
    team.clients["OPERATOR"].put(f"{team.ws}/fleets/{team.fleet_id}/drift-policy",
                                 {"rules": {"agent": "alert"}}).ok(403)
    policy = team.clients["ADMIN"].put(f"{team.ws}/fleets/{team.fleet_id}/drift-policy",
                                       {"rules": {"agent": "alert"}}).ok(200).body
    assert policy["effective"]["agent"] == {"action": "alert", "source": "fleet"}

    live_hash = _change_on_the_gateway(stack, bot_id, {"agents": {"defaults": {"timeoutSeconds": 77}}})
    before = team.owner.get(bot_path).ok(200).body
    report = stack.scheduler.fire("job-drift")
    assert report["alerted"] >= 1, report
    after = team.owner.get(bot_path).ok(200).body
    assert after["version"] == before["version"] and after["intent"] is None  # nothing written to the bot
    assert _live(stack, bot_id).hash == live_hash  # nor to the gateway
    found = _drift(team, bot_path)
    assert [(f["path"], f["action"], f["outcome"]) for f in found["findings"]] == \
        [("agents.defaults.timeoutSeconds", "alert", "alerted")]
    listed = team.clients["VIEWER"].get(f"{team.ws}/drift").ok(200).body["items"]
    assert [(r["bot_id"], r["state"]) for r in listed if r["bot_id"] == bot_id] == [(bot_id, "DRIFTED")]

    # A workflow owns the bot (as `_own` leaves it): the drift job does not touch it, whatever its policy says.
    bot = Bot.get(*Bot.key(team.workspace_id, bot_id), consistent_read=True)
    bot.intent = {"id": ids.new_id(), "action": "restart", "requested_by": "test-drift",
                  "requested_at": datetime.now(timezone.utc).isoformat(),
                  "deadline_at": (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()}
    Change().edit(bot, ["intent"], expected_version=bot.version, stale_error=lambda: VersionConflict("moved")).commit()
    team.owner.put(f"{bot_path}/drift-policy", {"rules": {"agent": "adopt"}}).ok(200)
    stack.scheduler.fire("job-drift")
    owned = Bot.get(*Bot.key(team.workspace_id, bot_id), consistent_read=True)
    assert owned.version == bot.version and owned.applied_revision_id == after["applied_revision_id"]

    # Released, the bot's own rule (adopt) overrides its fleet's (alert): adopted.
    owned.intent = None
    Change().edit(owned, ["intent"], expected_version=owned.version,
                  stale_error=lambda: VersionConflict("moved")).commit()
    stack.scheduler.fire("job-drift")
    adopted = team.owner.get(bot_path).ok(200).body
    assert adopted["applied_revision_id"] != after["applied_revision_id"], _drift(team, bot_path)
    assert _drift(team, bot_path)["policy"]["agent"] == {"action": "adopt", "source": "bot"}
    assert _live(stack, bot_id).hash == live_hash == adopted["applied_config_hash"]
    delete(team, bot_path)


def test_a_pairing_approved_through_clawster_goes_through_desired_state_and_is_no_drift(stack, team):
    team.with_bot()
    channel = {"enabled": False, "dmPolicy": "pairing", "groupPolicy": "allowlist", "allowFrom": ["111"]}
    created, bot_path = provision(team, "paired", config={"channels": {"telegram": channel}})
    bot_id = created["id"]
    running = settle(team, bot_path)
    assert running["status"] == "RUNNING", running["status_reason"]
    approve = f"{bot_path}/pairing/approve"
    team.clients["VIEWER"].post(approve, {"channel": "telegram", "sender": "222"}).ok(403)
    refused = team.clients["OPERATOR"].post(approve, {"channel": "slack", "sender": "U1"}).ok(422)
    assert refused.body["details"]["errors"][0]["field"] == "channel"

    approved = team.clients["OPERATOR"].post(approve, {"channel": "telegram", "sender": "222"}).ok(200).body
    assert approved["intent"]["action"] == "apply" and approved["desired_revision_id"] != running["desired_revision_id"]
    revision = team.owner.get(f"{bot_path}/revisions/{approved['desired_revision_id']}").ok(200).body
    assert revision["config"]["channels"]["telegram"]["allowFrom"] == ["111", "222"]
    applied = settle(team, bot_path)
    assert applied["status"] == "RUNNING" and applied["applied_revision_id"] == approved["desired_revision_id"]
    live = _live(stack, bot_id)
    assert live.source["channels"]["telegram"]["allowFrom"] == ["111", "222"]
    assert applied["applied_config_hash"] == live.hash
    events = AuditEvent.by_target.query(AuditEvent.target_partition(team.workspace_id, f"bot/{bot_id}"))
    assert ("bot.pairing.approve", team.users["OPERATOR"]) in [(e.action, e.actor) for e in events]

    again = team.clients["OPERATOR"].post(approve, {"channel": "telegram", "sender": "222"}).ok(200).body
    assert again["desired_revision_id"] == applied["desired_revision_id"] and again["intent"] is None
    stack.scheduler.fire("job-drift")  # the gateway runs what Clawster applied: nothing to reconcile
    assert _drift(team, bot_path)["state"] == "IN_SYNC"
    delete(team, bot_path)
