"""Revision history: the diff between any two revisions of a bot, and a rollback that points the bot back
at an older revision (revisions are immutable: a rollback writes none). On a bot without a running
gateway the rollback is only recorded; tests/workflows/test_apply_config.py applies one to a real gateway."""

from __future__ import annotations

COLOR = "#1b40ae"


def _with_second_revision(team) -> tuple[str, str, str]:
    team.with_bot()
    bot_path = f"{team.ws}/bots/{team.bot_id}"
    config = team.owner.get(f"{bot_path}/revisions/{team.revision_id}").ok(200).body["config"]
    config["ui"] = {"seamColor": COLOR}
    second = team.owner.patch(bot_path, {"config": config}, etag=team.owner.get(bot_path).ok(200).etag).ok(200)
    return bot_path, team.revision_id, second.body["desired_revision_id"]


def test_the_diff_of_two_revisions_names_each_changed_path(stack, team):
    bot_path, first, second = _with_second_revision(team)
    diff = team.clients["VIEWER"].get(f"{bot_path}/revisions/{second}/diff", query={"against": first}).ok(200).body
    assert diff == {"bot_id": team.bot_id, "from_revision_id": first, "to_revision_id": second,
                    "changes": [{"path": "ui.seamColor", "op": "added", "from": None, "to": COLOR}]}
    back = team.owner.get(f"{bot_path}/revisions/{first}/diff", query={"against": second}).ok(200).body
    assert back["changes"] == [{"path": "ui.seamColor", "op": "removed", "from": COLOR, "to": None}]
    # No applied revision (never provisioned): the base is an empty config, so every leaf is added.
    whole = team.owner.get(f"{bot_path}/revisions/{first}/diff").ok(200).body
    assert whole["from_revision_id"] is None and whole["changes"]
    assert all(change["op"] == "added" for change in whole["changes"])
    assert {"path": "ui.seamColor", "op": "added", "from": None, "to": COLOR} not in whole["changes"]

    assert team.owner.get(f"{bot_path}/revisions/{second}/diff", query={"against": "01NOSUCHREVISION"}).status == 404
    assert team.owner.get(f"{bot_path}/revisions/{second}/diff", query={"against": "no such!"}).status == 422
    assert team.outsider.get(f"{bot_path}/revisions/{second}/diff").status == 404


def test_a_rollback_points_the_bot_back_at_an_older_revision_and_writes_none(stack, team):
    bot_path, first, second = _with_second_revision(team)
    assert team.clients["VIEWER"].post(f"{bot_path}/rollback", {"revision_id": first}).status == 403

    rolled = team.owner.post(f"{bot_path}/rollback", {"revision_id": first}).ok(200).body
    assert rolled["desired_revision_id"] == first and rolled["status"] == "PENDING" and rolled["intent"] is None
    assert len(team.owner.get(f"{bot_path}/revisions").ok(200).body["items"]) == 2
    events = team.owner.get(f"{team.ws}/audit", query={"target": f"bot/{team.bot_id}"}).ok(200).body["items"]
    assert any(e["action"] == "bot.rollback" for e in events), events

    again = team.owner.post(f"{bot_path}/rollback", {"revision_id": first}).ok(422).body
    assert again["details"]["errors"][0]["field"] == "revision_id"
    assert team.owner.post(f"{bot_path}/rollback", {"revision_id": "01NOSUCHREVISION"}).status == 404
    assert team.owner.post(f"{bot_path}/rollback", {"revision_id": second}).ok(200).body["desired_revision_id"] == second


def test_a_rollback_restores_the_bots_own_layer_so_a_refresh_keeps_the_older_config(stack, team):
    """The rolled-back-from config must not come back: the bot's own layer goes back with its revision, so a
    refresh (or a refresh rollout) resolves to the revision rolled back to and makes none."""
    bot_path, first, second = _with_second_revision(team)
    team.owner.post(f"{bot_path}/rollback", {"revision_id": first}).ok(200)
    effective = team.owner.get(f"{bot_path}/effective-config").ok(200).body
    assert "seamColor" not in effective["config"].get("ui", {}) and effective["up_to_date"] is True, effective
    etag = team.owner.get(bot_path).ok(200).etag
    refreshed = team.owner.post(f"{bot_path}/refresh", headers={"If-Match": etag}).ok(200).body
    assert refreshed["changed"] is False and refreshed["bot"]["desired_revision_id"] == first  # nothing to refresh
    team.owner.post(f"{bot_path}/rollback", {"revision_id": second}).ok(200)  # forward again: its layer with it
    assert team.owner.get(f"{bot_path}/effective-config").ok(200).body["config"]["ui"]["seamColor"] == COLOR
