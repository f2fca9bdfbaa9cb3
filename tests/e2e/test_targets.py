"""Target selection through the API: GET /targets (which targets the deployment serves, their settings schema, size
tiers priced from the tables in the repo), target settings checked per target before anything is written (a 422
naming the field, nothing created), and the bot's pinned settings and cost. The prices below are worked out by hand
from each table's per-vCPU-hour and per-GB-hour list prices, not read from the code."""

from __future__ import annotations

import pytest

# (vCPU, GB) of each tier and its hourly price, by hand: vCPU x per-vCPU-hour + GB x per-GB-hour.
ECS = {"small": 1 * 0.04048 + 2 * 0.004445, "medium": 2 * 0.04048 + 4 * 0.004445, "large": 4 * 0.04048 + 8 * 0.004445}
CLOUDRUN = {"small": 1 * 0.0648 + 2 * 0.0072, "medium": 2 * 0.0648 + 4 * 0.0072, "large": 4 * 0.0648 + 8 * 0.0072}
ACI = {"small": 1 * 0.0486 + 2 * 0.0054, "medium": 2 * 0.0486 + 4 * 0.0054, "large": 4 * 0.0486 + 8 * 0.0054}


def test_targets_lists_what_the_deployment_serves_with_prices_and_settings(team):
    items = {t["name"]: t for t in team.owner.get("/targets").ok(200).body["items"]}
    assert set(items) == {"local", "loopback", "ecs", "cloudrun", "aci"}
    for name, prices in (("ecs", ECS), ("cloudrun", CLOUDRUN), ("aci", ACI)):
        target = items[name]
        assert target["available"] is True, target  # the local stack serves all three on its stand-ins
        assert {t["name"]: t["hourly_usd"] for t in target["size_tiers"]} == pytest.approx(prices, abs=1e-4)
        assert target["prices"]["source"].startswith("https://") and target["prices"]["as_of"]
        assert target["settings_schema"]["additionalProperties"] is False
        assert "2026.9.6" in target["openclaw_versions"]
    assert items["ecs"]["settings_schema"]["properties"].keys() >= {"region", "cluster", "subnets", "security_groups",
                                                                    "file_system_id", "size"}
    assert items["cloudrun"]["settings_schema"]["properties"].keys() >= {"project", "region", "bucket", "ingress"}
    assert items["aci"]["settings_schema"]["properties"].keys() >= {"subscription_id", "resource_group", "location",
                                                                    "storage_key_ref"}


def test_targets_needs_a_token(stack):
    from tests.helpers import Client

    assert Client(stack.api_url, None).get("/targets").status == 401


@pytest.mark.parametrize("target, settings, field", [
    ("ecs", {"subnets": ["not-a-subnet"]}, "target_settings.subnets.0"),
    ("ecs", {"size": "huge"}, "target_settings.size"),
    ("ecs", {"assign_public_ip": True}, "target_settings.assign_public_ip"),  # no such setting: never a public IP
    ("cloudrun", {"project": "A"}, "target_settings.project"),
    ("cloudrun", {"ingress": "all"}, "target_settings.ingress"),
    ("aci", {"storage_key_ref": "file:/etc/shadow"}, "target_settings.storage_key_ref"),
    ("aci", {"subnet_id": "subnet-1"}, "target_settings.subnet_id"),
    ("local", {"size": "small"}, "target_settings"),
])
def test_wrong_target_settings_are_a_422_naming_the_field_and_nothing_is_created(team, target, settings, field):
    fleet = team.owner.post(f"{team.ws}/fleets", {"name": f"s-{target}-{abs(hash(field)) % 10**6}"}).ok(201).body
    refused = team.owner.post(f"{team.ws}/fleets/{fleet['id']}/bots", {
        "name": "x", "template_id": "minimal", "target": target, "target_settings": settings}).ok(422).body
    assert refused["details"]["errors"][0]["field"] == field, refused
    assert team.owner.get(f"{team.ws}/fleets/{fleet['id']}/bots").ok(200).body["items"] == []
    assert team.owner.get(f"{team.ws}/fleets/{fleet['id']}").ok(200).body["bot_count"] == 0


def test_a_fleets_settings_are_checked_per_target_and_a_bot_without_a_target_takes_none(team):
    refused = team.owner.post(f"{team.ws}/fleets", {"name": "bad-defaults",
                                                    "target_settings": {"ecs": {"cluster": "no spaces allowed"}}}).ok(422)
    assert refused.body["details"]["errors"][0]["field"] == "target_settings.ecs.cluster"
    fleet = team.owner.post(f"{team.ws}/fleets", {"name": "good-defaults", "target": "ecs",
                                                  "target_settings": {"ecs": {"size": "large"}}}).ok(201).body
    assert fleet["target"] == "ecs" and fleet["target_settings"] == {"ecs": {"size": "large"}}
    lone = team.owner.post(f"{team.ws}/fleets/{fleet['id']}/bots", {"name": "y", "template_id": "minimal",
                                                                   "target_settings": {"size": "small"}}).ok(422).body
    assert lone["details"]["errors"][0]["field"] == "target_settings"
    pending = team.owner.post(f"{team.ws}/fleets/{fleet['id']}/bots", {"name": "z", "template_id": "minimal"}).ok(201).body
    assert pending["target"] is None and pending["cost_estimate"] is None  # not deployed: nothing runs, nothing costs


def test_the_cli_gives_a_fleet_a_target_and_its_settings(stack, team, tmp_path):
    import json

    from tests.e2e.cli_runner import clawster, fails, ok

    env = {"CLAWSTER_API_URL": stack.api_url, "CLAWSTER_TOKEN": stack.issuer.issue(team.users["OWNER"]),
           "CLAWSTER_WORKSPACE": team.workspace_id}
    created = json.loads(ok(clawster("-o", "json", "fleet", "create", "cli-ecs", "--target", "ecs", "--target-setting",
                                     "size=large", home=tmp_path, env=env)).stdout)
    assert created["target"] == "ecs" and created["target_settings"] == {"ecs": {"size": "large"}}
    refused = clawster("fleet", "create", "cli-bad", "--target", "ecs", "--target-setting", "size=huge",
                       home=tmp_path, env=env)
    fails(refused, 6, "target_settings.ecs.size")  # the API's 422, naming the field
    updated = json.loads(ok(clawster("-o", "json", "fleet", "update", created["id"], "--target", "cloudrun",
                                     home=tmp_path, env=env)).stdout)
    assert updated["target"] == "cloudrun" and updated["target_settings"] == {"ecs": {"size": "large"}}
