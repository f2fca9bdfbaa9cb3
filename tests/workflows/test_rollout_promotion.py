"""Environment promotion (issue 11 point 4): `promote_fleet` makes each bot of a target fleet carry the own config
the source fleet's bots share, as a rollout over the target fleet: dev -> staging applies it on a live (fake)
gateway; staging -> prod waits for an approval before its first wave, then prod's policy pack refuses what
staging took: that bot FAILED with the policy's reason, nothing applied, and the rollout rolls back."""

from __future__ import annotations

import json

import pytest

from tests.e2e.cli_runner import clawster, ok
from tests.loopback import fake_gateways
from tests.workflows.test_rollouts import bots_by_id, stopped_bot, wait_for

# Fine in dev and staging; prod's hardening pack forbids an open group policy (its forbid-open-group-policy rule).
PROMOTED = {"channels": {"defaults": {"groupPolicy": "open"}}, "ui": {"seamColor": "#4c4c4c"}}


@pytest.fixture
def live(tmp_path):
    with fake_gateways(tmp_path / "secrets") as make:
        yield make


def fleet(team, name: str, environment: str) -> str:
    team.fleet_id = team.owner.post(f"{team.ws}/fleets", {"name": name, "environment": environment}).ok(201).body["id"]
    return team.fleet_id


def set_own_config(team, bot_id: str, config: dict) -> None:
    etag = team.owner.get(f"{team.ws}/bots/{bot_id}").ok(200).etag
    team.owner.patch(f"{team.ws}/bots/{bot_id}", {"config": config}, etag=etag).ok(200)


def test_a_fleet_promoted_dev_to_staging_to_prod_waits_for_approval_and_prod_policy_refuses_it(stack, team, live,
                                                                                             tmp_path):
    dev = fleet(team, "promo-dev", "dev")
    dev_bots = [stopped_bot(team, "dev-1"), stopped_bot(team, "dev-2")]
    for bot_id in dev_bots:
        set_own_config(team, bot_id, PROMOTED)
    staging = fleet(team, "promo-staging", "staging")
    staging_bot, staging_gw = live(team, "staging-1")
    prod = fleet(team, "promo-prod", "prod")
    prod_bot, prod_gw = live(team, "prod-1")
    prod_before = team.owner.get(f"{team.ws}/bots/{prod_bot}").ok(200).body
    prod_gw_hash = prod_gw.config_hash

    # dev -> staging: no approval; the config reaches the staging gateway, its health gate passes.
    body = {"targets": {"fleet_ids": [staging]}, "change": {"kind": "promote_fleet", "source_fleet_id": dev}}
    assert team.clients["VIEWER"].post(f"{team.ws}/rollouts", body).status == 403
    created = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    assert created["spec"]["approval_before_waves"] == [] and created["spec"]["change"]["config"] == PROMOTED
    ended = wait_for(team, created["id"], lambda r: r["status"] in ("SUCCEEDED", "ROLLED_BACK", "FAILED"), "ended")
    assert ended["status"] == "SUCCEEDED", ended
    assert bots_by_id(ended)[staging_bot]["state"] == "DONE"
    assert staging_gw.config["channels"]["defaults"]["groupPolicy"] == "open"
    assert staging_gw.config["ui"]["seamColor"] == "#4c4c4c"
    revision = team.owner.get(f"{team.ws}/bots/{staging_bot}").ok(200).body["desired_revision_id"]
    config = team.owner.get(f"{team.ws}/bots/{staging_bot}/revisions/{revision}").ok(200).body["config"]
    assert config["channels"] == PROMOTED["channels"]

    # staging -> prod, from the CLI: the first (only) wave waits for a person; nothing moves before.
    env = {"CLAWSTER_API_URL": stack.api_url, "CLAWSTER_STATE_DIR": str(stack.state_dir),
           "CLAWSTER_TOKEN": stack.issuer.issue(team.users["OPERATOR"]), "CLAWSTER_WORKSPACE": team.workspace_id}
    promoted = json.loads(ok(clawster("-o", "json", "rollout", "promote-fleet", "--from", staging, "--to", prod,
                                      home=tmp_path / "home", env=env)).stdout)
    assert promoted["spec"]["approval_before_waves"] == [1]  # added: prod
    assert promoted["spec"]["targets"]["fleet_ids"] == [prod] and promoted["bot_count"] == 1
    waiting = wait_for(team, promoted["id"], lambda r: r["status"] == "AWAITING_APPROVAL", "waiting before prod")
    assert bots_by_id(waiting)[prod_bot]["state"] == "PENDING"
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{promoted['id']}/approve").ok(200)

    # prod's policy pack refuses it: the bot FAILED with the reason, nothing applied, the rollout rolled back.
    ended = wait_for(team, promoted["id"], lambda r: r["status"] in ("SUCCEEDED", "ROLLED_BACK", "FAILED"), "ended")
    refused = bots_by_id(ended)[prod_bot]
    assert refused["state"] == "FAILED", refused
    assert refused["detail"].startswith("POLICY_VIOLATION") and "forbid-open-group-policy" in refused["detail"]
    assert "channels.defaults.groupPolicy" in refused["detail"]
    assert ended["status"] == "ROLLED_BACK" and "abort threshold" in ended["waves"][0]["reason"], ended
    after = team.owner.get(f"{team.ws}/bots/{prod_bot}").ok(200).body
    assert after["desired_revision_id"] == prod_before["desired_revision_id"]
    assert after["applied_revision_id"] == prod_before["applied_revision_id"]
    assert prod_gw.config_hash == prod_gw_hash and "channels" not in prod_gw.config  # the gateway never saw it


def test_a_promotion_names_its_source_fleet_and_promotes_one_config(team):
    source = fleet(team, "mixed", "dev")
    a, b = stopped_bot(team, "mixed-a"), stopped_bot(team, "mixed-b")
    set_own_config(team, a, {"ui": {"seamColor": "#000001"}})
    set_own_config(team, b, {"ui": {"seamColor": "#000002"}})
    target = fleet(team, "target", "staging")
    stopped_bot(team, "target-1")
    empty = fleet(team, "empty", "dev")

    def refused(change: dict) -> dict:
        answer = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", {"targets": {"fleet_ids": [target]},
                                                                       "change": change}).ok(422)
        return answer.body["details"]["errors"][0]

    assert refused({"kind": "promote_fleet"})["field"] == "change.source_fleet_id"
    differ = refused({"kind": "promote_fleet", "source_fleet_id": source})
    assert differ["field"] == "change.source_fleet_id" and "2 distinct" in differ["reason"]
    assert "no bot" in refused({"kind": "promote_fleet", "source_fleet_id": empty})["reason"]
    unknown = refused({"kind": "promote_fleet", "source_fleet_id": "01J0000000000000000000000F"})
    assert unknown["field"] == "change.source_fleet_id" and "no fleet" in unknown["reason"]
    # The snapshot is the service's to take, not the caller's to give.
    assert team.clients["OPERATOR"].post(f"{team.ws}/rollouts", {
        "targets": {"fleet_ids": [target]},
        "change": {"kind": "promote_fleet", "source_fleet_id": empty, "config": {"ui": {}}}}).status == 422
