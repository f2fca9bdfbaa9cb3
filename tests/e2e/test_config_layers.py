"""Config layers through the real local stack: a workspace's templates, profiles and overlays resolved into
a bot's revision in precedence order with the provenance of every path, locks refused with 409 and nothing
written, the preview of a change (the blast radius, nothing saved), and a refresh that takes a change.

The expected configs and provenance are written out by hand from the precedence rule (template < profiles
by priority < active overlays by priority < the bot's override < secure defaults), not computed."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

TEMPLATE = {"ui": {"seamColor": "#111111"}, "logging": {"level": "info"},
            "agents": {"defaults": {"timeoutSeconds": 100, "model": {"primary": "mock/t"}}}}
LOW = {"logging": {"level": "warn"}, "agents": {"defaults": {"timeoutSeconds": 200}}}
HIGH = {"agents": {"defaults": {"timeoutSeconds": 300}}, "ui": {"seamColor": "#222222"}}
GOLD = {"messages": {"ackReaction": "eyes"}, "agents": {"defaults": {"thinkingDefault": "low"}}}
OVERRIDE = {"agents": {"defaults": {"thinkingDefault": "high"}}}
OPEN_DMS = {"channels": {"telegram": {"enabled": True, "dmPolicy": "open", "allowFrom": ["*"],
                                      "botToken": {"$secretRef": "clawster/telegram/bot-token"}}}}


@pytest.fixture
def layered(team):
    """Two fleets (dev A, prod B), a template, two profiles, three overlays (one active, one expired, one not
    yet started), bot X (fleet A, tier=gold, the template, an override) and bot Y (fleet B, minimal)."""
    admin, operator, ws = team.clients["ADMIN"], team.clients["OPERATOR"], team.ws
    fleet_a = admin.post(f"{ws}/fleets", {"name": "a", "environment": "dev"}).ok(201).body["id"]
    fleet_b = admin.post(f"{ws}/fleets", {"name": "b", "environment": "prod"}).ok(201).body["id"]
    template = operator.post(f"{ws}/templates", {"name": "t", "config": TEMPLATE}).ok(201).body["id"]
    low = admin.post(f"{ws}/profiles", {"name": "low", "priority": 1, "config": LOW, "fleet_ids": [fleet_a]}).ok(201).body["id"]
    high = admin.post(f"{ws}/profiles", {"name": "high", "priority": 5, "config": HIGH,
                                         "locked_paths": ["ui.seamColor"]}).ok(201).body["id"]
    now = datetime.now(timezone.utc)
    gold = operator.post(f"{ws}/overlays", {"name": "gold", "config": GOLD,
                                            "selector": {"tags": {"tier": "gold"}}}).ok(201).body["id"]
    operator.post(f"{ws}/overlays", {"name": "expired", "config": {"logging": {"level": "debug"}}, "window": {
        "start": (now - timedelta(days=2)).isoformat(), "end": (now - timedelta(days=1)).isoformat()}}).ok(201)
    operator.post(f"{ws}/overlays", {"name": "later", "config": {"logging": {"level": "debug"}}, "window": {
        "start": (now + timedelta(days=1)).isoformat()}}).ok(201)
    x = operator.post(f"{ws}/fleets/{fleet_a}/bots", {"name": "x", "template_id": template, "config": OVERRIDE,
                                                      "tags": {"tier": "gold"}}).ok(201).body
    y = operator.post(f"{ws}/fleets/{fleet_b}/bots", {"name": "y", "template_id": "minimal"}).ok(201).body
    return team, {"a": fleet_a, "b": fleet_b, "template": template, "low": low, "high": high, "gold": gold,
                  "x": x, "y": y}


def _revision(team, bot_id: str, revision_id: str) -> dict:
    return team.owner.get(f"{team.ws}/bots/{bot_id}/revisions/{revision_id}").ok(200).body


def test_precedence_and_provenance_of_every_path(layered):
    team, ids = layered
    x = _revision(team, ids["x"]["id"], ids["x"]["desired_revision_id"])
    assert x["config"] == {
        "ui": {"seamColor": "#222222"},
        "logging": {"level": "warn"},
        "agents": {"defaults": {"timeoutSeconds": 300, "model": {"primary": "mock/t"}, "thinkingDefault": "high"}},
        "messages": {"ackReaction": "eyes"},
        "gateway": {"auth": {"mode": "token"}, "bind": "loopback"},
    }
    assert x["provenance"] == {
        "agents.defaults.model.primary": f"template:{ids['template']}",
        "agents.defaults.thinkingDefault": f"override:{ids['x']['id']}",
        "agents.defaults.timeoutSeconds": f"profile:{ids['high']}",
        "gateway.auth.mode": "secure-default:gateway.auth",
        "gateway.bind": "secure-default:gateway.bind",
        "logging.level": f"profile:{ids['low']}",
        "messages.ackReaction": f"overlay:{ids['gold']}",
        "ui.seamColor": f"profile:{ids['high']}",
    }
    assert x["layers"] == [{"kind": "template", "id": ids["template"], "version": 1},
                           {"kind": "profile", "id": ids["low"], "version": 1},
                           {"kind": "profile", "id": ids["high"], "version": 1},
                           {"kind": "overlay", "id": ids["gold"], "version": 1}]
    assert x["source"] == "template" and x["template_id"] == ids["template"]

    # Y: prod, the minimal template, only the all-fleets profile; prod's secure defaults added.
    y = _revision(team, ids["y"]["id"], ids["y"]["desired_revision_id"])
    assert y["config"] == {
        "gateway": {"mode": "local", "auth": {"mode": "token"}, "bind": "loopback"},
        "update": {"checkOnStart": False},
        "models": {"catalogRefresh": {"enabled": False}},
        "ui": {"seamColor": "#222222"},
        "agents": {"defaults": {"timeoutSeconds": 300, "sandbox": {"mode": "all"}}},
        "tools": {"elevated": {"enabled": False}, "fs": {"workspaceOnly": True}},
    }
    assert y["provenance"]["agents.defaults.sandbox.mode"] == "secure-default:prod.sandbox"
    assert y["provenance"]["tools.elevated.enabled"] == "secure-default:prod.tools"
    assert y["provenance"]["gateway.mode"] == "template:minimal"

    # The effective config now is the desired revision's: up to date, same provenance.
    effective = team.clients["VIEWER"].get(f"{team.ws}/bots/{ids['x']['id']}/effective-config").ok(200).body
    assert effective["up_to_date"] is True and effective["config"] == x["config"]
    assert effective["provenance"] == x["provenance"]


def _bot_and_revisions(team, bot_id: str) -> tuple[dict, int]:
    bot = team.owner.get(f"{team.ws}/bots/{bot_id}").ok(200).body
    return bot, len(team.owner.get(f"{team.ws}/bots/{bot_id}/revisions").ok(200).body["items"])


def test_a_change_to_a_locked_path_is_refused_naming_the_path_and_the_owner(layered):
    team, ids = layered
    operator, bot_id = team.clients["OPERATOR"], ids["x"]["id"]
    before = _bot_and_revisions(team, bot_id)

    refused = operator.patch(f"{team.ws}/bots/{bot_id}", {"config": {"ui": {"seamColor": "#333333"}}},
                             etag=f'"{before[0]["version"]}"').ok(409).body
    assert refused["code"] == "LOCKED_PATH"
    assert refused["details"]["path"] == "ui.seamColor" and refused["details"]["locked_by"] == ids["high"]
    assert refused["details"]["layer"] == {"kind": "override", "id": bot_id}
    assert _bot_and_revisions(team, bot_id) == before  # nothing written

    # An overlay that would change it on some bot is refused the same way, naming that bot; none is stored.
    overlays = operator.get(f"{team.ws}/overlays").ok(200).body["items"]
    refused = operator.post(f"{team.ws}/overlays", {"name": "pink", "config": {"ui": {"seamColor": "#ff00ff"}},
                                                    "selector": {"fleet_ids": [ids["a"]]}}).ok(409).body
    assert refused["code"] == "LOCKED_PATH" and refused["details"]["bot_id"] == bot_id
    assert refused["details"]["locked_by"] == ids["high"]
    assert operator.get(f"{team.ws}/overlays").ok(200).body["items"] == overlays

    # Writing the value the lock holds is no change; a profile below the lock may set it (it is overruled).
    operator.patch(f"{team.ws}/bots/{bot_id}", {"config": {**OVERRIDE, "ui": {"seamColor": "#222222"}}},
                   etag=f'"{before[0]["version"]}"').ok(200)
    team.clients["ADMIN"].post(f"{team.ws}/profiles", {"name": "below", "priority": 0,
                                                       "config": {"ui": {"seamColor": "#444444"}}}).ok(201)
    # Roles: a profile is an ADMIN's (its locks bind the layers above); an overlay an OPERATOR's.
    operator.post(f"{team.ws}/profiles", {"name": "p", "config": {}}).ok(403)
    team.clients["VIEWER"].post(f"{team.ws}/overlays", {"name": "o", "config": {}}).ok(403)


def test_preview_lists_the_blast_radius_and_saves_nothing(layered):
    team, ids = layered
    viewer, x_id, y_id = team.clients["VIEWER"], ids["x"]["id"], ids["y"]["id"]
    profile_before = team.owner.get(f"{team.ws}/profiles/{ids['low']}").ok(200).body
    x_before = _bot_and_revisions(team, x_id)

    radius = viewer.post(f"{team.ws}/config-preview", {"kind": "profile", "layer_id": ids["low"],
                                                       "change": {"config": {"logging": {"level": "error"}}}}).ok(200).body
    assert radius["evaluated"] == 2 and radius["truncated"] is False
    assert [b["bot_id"] for b in radius["bots"]] == [x_id]  # Y's fleet is not the profile's
    # The new config replaces the profile's: its timeoutSeconds goes (the higher profile's 300 stays).
    assert radius["bots"][0]["changes"] == [{"path": "logging.level", "op": "changed", "from": "warn", "to": "error"}]
    assert radius["bots"][0]["error"] is None

    # A new overlay for prod bots opening Telegram DMs to anyone: the prod bot, with an ERROR finding.
    radius = viewer.post(f"{team.ws}/config-preview", {"kind": "overlay", "change": {
        "name": "open", "config": OPEN_DMS, "selector": {"environments": ["prod"]}}}).ok(200).body
    assert [b["bot_id"] for b in radius["bots"]] == [y_id]
    assert {"ERROR"} <= {f["severity"] for f in radius["bots"][0]["findings"]}
    assert {c["path"] for c in radius["bots"][0]["changes"]} == {
        "channels.telegram.enabled", "channels.telegram.dmPolicy", "channels.telegram.allowFrom",
        "channels.telegram.botToken"}

    # An overlay edit that would break a lock: shown as that bot's refusal, not an error of the preview.
    radius = viewer.post(f"{team.ws}/config-preview", {"kind": "overlay", "layer_id": ids["gold"], "change": {
        "config": {"ui": {"seamColor": "#000000"}}}}).ok(200).body
    [x] = radius["bots"]
    assert x["bot_id"] == x_id and x["error"]["code"] == "LOCKED_PATH"

    # Removing the high profile: both bots change (its timeout and colour go).
    radius = viewer.post(f"{team.ws}/config-preview", {"kind": "profile", "layer_id": ids["high"],
                                                       "remove": True}).ok(200).body
    assert sorted(b["bot_id"] for b in radius["bots"]) == sorted([x_id, y_id])

    # Nothing saved by any of it.
    assert team.owner.get(f"{team.ws}/profiles/{ids['low']}").ok(200).body == profile_before
    assert _bot_and_revisions(team, x_id) == x_before
    assert len(team.owner.get(f"{team.ws}/overlays").ok(200).body["items"]) == 3
    viewer.post(f"{team.ws}/config-preview", {"kind": "overlay", "change": {"name": "no config"}}).ok(422)


def test_a_layer_change_reaches_a_bot_by_refresh(layered):
    team, ids = layered
    admin, operator, x_id = team.clients["ADMIN"], team.clients["OPERATOR"], ids["x"]["id"]
    admin.patch(f"{team.ws}/profiles/{ids['low']}", {"config": {"logging": {"level": "error"}}}, etag='"1"').ok(200)
    bot = team.owner.get(f"{team.ws}/bots/{x_id}").ok(200)
    assert bot.body["desired_revision_id"] == ids["x"]["desired_revision_id"]  # a layer write re-resolves no bot
    effective = operator.get(f"{team.ws}/bots/{x_id}/effective-config").ok(200).body
    assert effective["up_to_date"] is False and effective["config"]["logging"] == {"level": "error"}

    operator.post(f"{team.ws}/bots/{x_id}/refresh").ok(428)
    refreshed = operator.post(f"{team.ws}/bots/{x_id}/refresh", headers={"If-Match": bot.etag}).ok(200).body
    assert refreshed["changed"] is True
    revision = _revision(team, x_id, refreshed["bot"]["desired_revision_id"])
    assert revision["source"] == "refresh" and revision["number"] == 2
    assert revision["config"]["logging"] == {"level": "error"}
    assert {"kind": "profile", "id": ids["low"], "version": 2} in revision["layers"]
    again = operator.post(f"{team.ws}/bots/{x_id}/refresh", headers={"If-Match": f'"{refreshed["bot"]["version"]}"'})
    assert again.ok(200).body["changed"] is False

    # The template is in use: it cannot be deleted. Every layer write is in the audit trail.
    operator.delete(f"{team.ws}/templates/{ids['template']}", etag='"1"').ok(409)
    events = team.owner.get(f"{team.ws}/audit", query={"target": f"profile/{ids['low']}"}).ok(200).body["items"]
    assert sorted(e["action"] for e in events) == ["profile.write", "profile.write"]
    team.outsider.get(f"{team.ws}/profiles/{ids['low']}").ok(404)


def test_hostile_layer_bodies_are_4xx_and_any_config_key_is_audited(team):
    """Found by schemathesis: a boolean priority and a numeric window time were taken (pydantic's lax mode),
    and a config key DynamoDB cannot hold as a map key ("") broke the audit write (502). The audit keeps a
    layer's config as its JSON text, as it does a policy pack's rules."""
    admin, ws = team.clients["ADMIN"], team.ws
    assert admin.post(f"{ws}/profiles", {"name": "p", "config": {}, "priority": False}).ok(422).body[
        "details"]["errors"][0]["field"].endswith("priority")
    refused = admin.post(f"{ws}/overlays", {"name": "o", "config": {}, "window": {"start": 1700000000}}).ok(422).body
    assert "window" in refused["details"]["errors"][0]["field"]
    odd = {"": {":": None, "-": None}, "c\ue15f$\U00015003": {"x": "$"}}
    template = team.clients["OPERATOR"].post(f"{ws}/templates", {"name": "odd", "config": odd}).ok(201).body
    assert team.owner.get(f"{ws}/templates/{template['id']}").ok(200).body["config"] == odd
    [event] = team.owner.get(f"{ws}/audit", query={"target": f"template/{template['id']}"}).ok(200).body["items"]
    assert json.loads(event["after"]["config"]) == odd


def test_nulls_in_a_layer_update(team):
    """Found by schemathesis (a 502): `"selector": null` in an overlay PATCH. Null there is no criterion (every
    bot), as for `window` it is no window; elsewhere a null leaves the field as it is."""
    operator, ws = team.clients["OPERATOR"], team.ws
    created = operator.post(f"{ws}/overlays", {"name": "o", "config": {}, "selector": {"environments": ["prod"]},
                                               "window": {"end": "2999-01-01T00:00:00+00:00"}}).ok(201).body
    path = f"{ws}/overlays/{created['id']}"
    updated = operator.patch(path, {"priority": 375, "selector": None, "window": None, "name": None},
                             etag='"1"').ok(200).body
    assert (updated["priority"], updated["name"], updated["window"]) == (375, "o", None)
    assert updated["selector"] == {}
