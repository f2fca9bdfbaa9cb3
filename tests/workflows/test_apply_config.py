"""A new config on a running bot, on a real gateway: the PATCH records the revision and, in the same
transaction, gives the bot to the `apply` workflow, which writes it to the live gateway with its base
hash (config.apply) and records the gateway's own hash of what it then runs."""

from __future__ import annotations

import pytest

from layers.providers.local import LocalProvider
from tests.workflows.test_failures import delete, provision, settle, steps_of

pytestmark = pytest.mark.slow


def test_a_config_change_on_a_running_bot_is_applied_to_its_gateway_and_recorded(stack, team):
    team.with_bot()
    created, bot_path = provision(team, "reconfigured")
    running = settle(team, bot_path)
    assert running["status"] == "RUNNING"
    first_revision, first_hash = running["applied_revision_id"], running["applied_config_hash"]
    config = team.owner.get(f"{bot_path}/revisions/{first_revision}").ok(200).body["config"]
    config["ui"] = {"seamColor": "#1b40ae"}  # a hot change: the gateway takes it without a restart

    reply = team.owner.patch(bot_path, {"config": config}, etag=team.owner.get(bot_path).ok(200).etag).ok(200)
    patched = reply.body
    assert patched["status"] == "RECONCILING" and patched["intent"]["action"] == "apply"
    assert patched["desired_revision_id"] != first_revision and patched["applied_revision_id"] == first_revision
    # Another config while the first is being applied would race it: refused, naming the pending workflow.
    raced = team.owner.patch(bot_path, {"config": config}, etag=reply.etag).ok(409)
    assert "pending 'apply'" in raced.body["message"]

    ended = settle(team, bot_path)
    assert ended["status"] == "RUNNING", ended["status_reason"]
    assert ended["applied_revision_id"] == patched["desired_revision_id"] == ended["desired_revision_id"]
    assert [s["step"] for s in team.owner.get(f"{bot_path}/provisioning").ok(200).body["steps"]] == \
        ["begin", "apply", "ready", "verify", "finish"]
    assert all(s["status"] == "SUCCEEDED" for s in steps_of(team, bot_path).values())
    # The gateway runs it, and the hash on the bot is the gateway's own, not ours.
    with LocalProvider(stack.state_dir / "gateways", supervise=False).client(created["id"]) as client:
        live = client.config_get()
    assert live.config["ui"]["seamColor"] == "#1b40ae"
    assert ended["applied_config_hash"] == live.hash != first_hash

    # A change the workspace's policy forbids is not deployed, and not recorded either.
    rule = {"id": "no-custom-color", "type": "path", "severity": "ERROR", "path": "ui.seamColor", "op": "absent"}
    pack = team.owner.post(f"{team.ws}/policy-packs", {"name": "plain", "rules": [rule]}).ok(201).body
    config["ui"] = {"seamColor": "#ffffff"}
    refused = team.owner.patch(bot_path, {"config": config}, etag=team.owner.get(bot_path).ok(200).etag).ok(422)
    assert refused.body["code"] == "POLICY_VIOLATION", refused.body
    assert team.owner.get(bot_path).ok(200).body["desired_revision_id"] == ended["desired_revision_id"]

    # A rollback points back at the first revision: applied to the gateway the same way.
    rolled = team.owner.post(f"{bot_path}/rollback", {"revision_id": first_revision}).ok(200).body
    assert rolled["intent"]["action"] == "apply" and rolled["desired_revision_id"] == first_revision
    back = settle(team, bot_path)
    assert back["status"] == "RUNNING" and back["applied_revision_id"] == first_revision, back["status_reason"]
    with LocalProvider(stack.state_dir / "gateways", supervise=False).client(created["id"]) as client:
        live = client.config_get()
    assert "seamColor" not in live.config.get("ui", {}) and back["applied_config_hash"] == live.hash
    etag = team.owner.get(f"{team.ws}/policy-packs/{pack['id']}").ok(200).etag
    team.owner.delete(f"{team.ws}/policy-packs/{pack['id']}", etag=etag).ok(204)
    delete(team, bot_path)


def test_a_config_change_on_a_bot_without_a_gateway_is_only_recorded(stack, team):
    team.with_bot()  # bot-a: PENDING, no target
    bot_path = f"{team.ws}/bots/{team.bot_id}"
    before = team.owner.get(bot_path).ok(200)
    config = team.owner.get(f"{bot_path}/revisions/{team.revision_id}").ok(200).body["config"]
    config["ui"] = {"seamColor": "#1b40ae"}
    patched = team.owner.patch(bot_path, {"config": config}, etag=before.etag).ok(200).body
    assert patched["status"] == "PENDING" and patched["intent"] is None
    assert patched["desired_revision_id"] != team.revision_id and patched["applied_revision_id"] is None

