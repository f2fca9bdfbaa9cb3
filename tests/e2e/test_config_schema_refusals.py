"""A bot config OpenClaw would refuse is a 422 at the API, on create and on update, naming the field
(config.<path>) and the reason; nothing is stored (the table of cases: tests/unit/test_openclaw_config_schema.py)."""

from __future__ import annotations


def test_a_config_openclaw_refuses_is_not_stored(team):
    owner, ws = team.owner, team.ws
    fleet_id = owner.post(f"{ws}/fleets", {"name": "schema"}).ok(201).body["id"]
    bots = f"{ws}/fleets/{fleet_id}/bots"

    refused = owner.post(bots, {"name": "banana", "config": {"gateway": {"mode": "banana"}}}).ok(422)
    assert refused.body["code"] == "VALIDATION_FAILED"
    (error,) = refused.body["details"]["errors"]
    assert error["field"] == "config.gateway.mode"
    assert '"local"' in error["reason"] and '"remote"' in error["reason"]

    unknown = owner.post(bots, {"name": "unknown", "template_id": "minimal", "config": {"bogusTopLevelKey": 1}}).ok(422)
    (error,) = unknown.body["details"]["errors"]
    assert error["field"] == "config" and "bogusTopLevelKey" in error["reason"]

    assert owner.get(f"{ws}/fleets/{fleet_id}").ok(200).body["bot_count"] == 0
    assert owner.get(bots).ok(200).body["items"] == []

    # the update path refuses too, and leaves the bot and its revisions as they were
    bot = owner.post(bots, {"name": "valid", "template_id": "minimal"}).ok(201).body
    bot_path = f"{ws}/bots/{bot['id']}"
    before = owner.get(bot_path).ok(200)
    wrong_type = owner.patch(bot_path, {"config": {"gateway": {"mode": "local", "port": "18789"}}}, etag=before.etag).ok(422)
    assert [e["field"] for e in wrong_type.body["details"]["errors"]] == ["config.gateway.port"]
    after = owner.get(bot_path).ok(200)
    assert after.etag == before.etag and after.body["desired_revision_id"] == bot["desired_revision_id"]
    assert len(owner.get(f"{bot_path}/revisions").ok(200).body["items"]) == 1
    assert owner.get(f"{ws}/fleets/{fleet_id}").ok(200).body["bot_count"] == 1

    owner.patch(bot_path, {"config": {"gateway": {"mode": "local", "port": 18789}}}, etag=before.etag).ok(200)
