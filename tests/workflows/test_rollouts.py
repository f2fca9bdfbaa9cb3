"""Rollouts run by moto's Step Functions (statemachines/rollout.asl.json, the file that deploys), through the API.

These bots have a target but are STOPPED, with no gateway: a rollout's change on them is recorded (a new desired
revision, for their next start), and their health gate has no data, so each wave PAUSES and waits for a person
(no data never passes). That makes the whole machine, the pause/resume, the abort threshold and the rollback
testable in seconds; tests/workflows/test_rollouts_live.py runs rollouts on real gateways."""

from __future__ import annotations

import time

import pytest

from clawster.domain.roles import Role
from clawster.services import rollouts
from clawster.services.context import Access, Caller
from clawster.store.entities import Bot, RolloutClaim
from tests.e2e.test_races import race

CEILING_S = 120
NEW_KEY = {"nodeHost": {"autoUpdate": {"enabled": False}}}  # known to OpenClaw 2026.9.6, not to 2026.9.5


def stopped_bot(team, name: str, version: str = "2026.9.6") -> str:
    """A bot with a target whose gateway is stopped (set on the item, as a finished stop workflow leaves it)."""
    bot = team.owner.post(f"{team.ws}/fleets/{team.fleet_id}/bots",
                          {"name": name, "template_id": "minimal", "openclaw_version": version}).ok(201).body
    item = Bot.get(*Bot.key(team.workspace_id, bot["id"]), consistent_read=True)
    item.status, item.target = "STOPPED", "local"
    item.stamp()
    item.save()
    return bot["id"]


def wait_for(team, rollout_id: str, done, what: str, ceiling_s: float = CEILING_S) -> dict:
    """The rollout once `done(rollout)` holds, polling (the ceiling bounds the wait, not a fixed sleep)."""
    deadline = time.monotonic() + ceiling_s
    while time.monotonic() < deadline:
        rollout = team.clients["VIEWER"].get(f"{team.ws}/rollouts/{rollout_id}").ok(200).body
        if done(rollout):
            return rollout
        time.sleep(0.3)
    pytest.fail(f"rollout {rollout_id} never got {what}: {rollout['status']} {rollout['status_reason']} "
                f"{rollout['waves']}")


def bots_by_id(rollout: dict) -> dict[str, dict]:
    return {b["bot_id"]: b for wave in rollout["waves"] for b in wave["bots"]}


@pytest.fixture
def fleet(team):
    team.fleet_id = team.owner.post(f"{team.ws}/fleets", {"name": "rollout-fleet"}).ok(201).body["id"]
    return team


def test_a_canary_rollout_pauses_on_no_data_resumes_and_succeeds(fleet):
    team = fleet
    a, b, c = (stopped_bot(team, name) for name in ("a", "b", "c"))
    before = {i: team.owner.get(f"{team.ws}/bots/{i}").ok(200).body["desired_revision_id"] for i in (a, b, c)}
    body = {"targets": {"bot_ids": [a, b, c]}, "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": "#123456"}}},
            "strategy": {"kind": "CANARY", "canary_bot_ids": [b]}, "max_concurrency": 2}
    assert team.clients["VIEWER"].post(f"{team.ws}/rollouts", body).status == 403  # VIEWER reads, OPERATOR starts
    created = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    assert created["status"] == "RUNNING" and created["wave_count"] == 2 and created["bot_count"] == 3
    assert created["allowed_actions"] == ["pause", "abort", "promote"]  # what the console enables

    paused = wait_for(team, created["id"], lambda r: r["status"] == "PAUSED", "paused after the canary")
    canary = paused["waves"][0]
    assert [x["bot_id"] for x in canary["bots"]] == [b] and canary["verdict"] == "PAUSE"
    assert canary["readings"] == {"gateway_health": "NO_DATA"}
    assert canary["bots"][0]["state"] == "DONE" and canary["bots"][0]["previous_revision_id"] == before[b]
    assert paused["allowed_actions"] == ["resume", "abort"]
    listed = team.clients["VIEWER"].get(f"{team.ws}/rollouts").ok(200).body["items"]
    assert [(r["id"], r["allowed_actions"]) for r in listed] == [(created["id"], ["resume", "abort"])]
    assert {x["state"] for x in paused["waves"][1]["bots"]} == {"PENDING"}  # nothing past the pause moved
    assert team.clients["VIEWER"].post(f"{team.ws}/rollouts/{created['id']}/resume").status == 403

    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/resume").ok(200)
    paused = wait_for(team, created["id"], lambda r: r["status"] == "PAUSED" and r["current_wave"] == 2,
                      "paused after wave 2")
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/resume").ok(200)
    ended = wait_for(team, created["id"], lambda r: r["status"] == "SUCCEEDED", "succeeded")
    assert ended["allowed_actions"] == []
    for bot_id, item in bots_by_id(ended).items():
        desired = team.owner.get(f"{team.ws}/bots/{bot_id}").ok(200).body["desired_revision_id"]
        assert item["state"] == "DONE" and desired == item["new_revision_id"] != before[bot_id]
        config = team.owner.get(f"{team.ws}/bots/{bot_id}/revisions/{desired}").ok(200).body["config"]
        assert config["ui"]["seamColor"] == "#123456"
    # Its claims are gone with it: the bots can join a new rollout.
    again = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", {**body, "strategy": {"kind": "ALL"}}).ok(201).body
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{again['id']}/abort").ok(200)
    wait_for(team, again["id"], lambda r: r["status"] in ("ROLLED_BACK", "FAILED"), "ended after the abort")
    audit = team.owner.get(f"{team.ws}/audit", query={"target": f"rollout/{created['id']}"}).ok(200).body["items"]
    assert {"rollout.create", "rollout.paused", "rollout.resume", "rollout.succeeded"} <= {e["action"] for e in audit}


def test_the_abort_threshold_counts_only_after_its_minimum_sample_then_rolls_back(fleet):
    team = fleet
    old1, new1, old2, new2 = (stopped_bot(team, n, v) for n, v in (("old1", "2026.9.5"), ("new1", "2026.9.6"),
                                                                  ("old2", "2026.9.5"), ("new2", "2026.9.6")))
    before = {i: team.owner.get(f"{team.ws}/bots/{i}").ok(200).body["desired_revision_id"]
              for i in (old1, new1, old2, new2)}
    # The key is unknown to 2026.9.5: those bots fail (the bots service refuses the config for their version).
    body = {"targets": {"bot_ids": [old1, new1, old2, new2]}, "change": {"kind": "config_patch", "patch": NEW_KEY},
            "strategy": {"kind": "CANARY", "canary_bot_ids": [old1], "steps": [50, 100]},
            "abort": {"failed_percent": 50, "min_done": 3}}
    created = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    paused = wait_for(team, created["id"], lambda r: r["status"] == "PAUSED", "paused after the canary")
    canary = paused["waves"][0]
    assert canary["bots"][0]["state"] == "FAILED" and "2026.9.5" in canary["bots"][0]["detail"] or \
        "nodeHost" in canary["bots"][0]["detail"], canary
    assert canary["done"] == 1 and canary["failed"] == 1  # 100 % failed, but 1 of the 3 needed: no rollback
    assert canary["verdict"] == "PAUSE"

    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/resume").ok(200)
    ended = wait_for(team, created["id"], lambda r: r["status"] in ("ROLLED_BACK", "FAILED"), "rolled back")
    assert ended["status"] == "ROLLED_BACK", ended
    wave2 = ended["waves"][1]
    assert [x["bot_id"] for x in wave2["bots"]] == [new1, old2]
    assert wave2["verdict"] == "ROLLBACK" and wave2["done"] == 3 and wave2["failed"] == 2  # 67 % > 50 %, 3 done
    states = {bot_id: item["state"] for bot_id, item in bots_by_id(ended).items()}
    assert states == {old1: "FAILED", new1: "ROLLED_BACK", old2: "FAILED", new2: "PENDING"}
    for bot_id in (old1, new1, old2, new2):  # nothing left half-applied: every bot on its revision from before
        assert team.owner.get(f"{team.ws}/bots/{bot_id}").ok(200).body["desired_revision_id"] == before[bot_id]
    audit = team.owner.get(f"{team.ws}/audit", query={"target": f"rollout/{created['id']}"}).ok(200).body["items"]
    assert {"rollout.rolling_back", "rollout.rolled_back"} <= {e["action"] for e in audit}
    changes = team.owner.get(f"{team.ws}/audit", query={"target": f"bot/{new1}"}).ok(200).body["items"]
    assert {(e["actor"], e["action"]) for e in changes} >= {(f"rollout/{created['id']}", "rollout.apply"),
                                                           (f"rollout/{created['id']}", "bot.rollback")}


def test_two_rollouts_racing_for_one_bot_one_is_refused(fleet, monkeypatch):
    team = fleet
    shared, own = stopped_bot(team, "shared"), stopped_bot(team, "own")
    access = Access(Caller(team.users["OPERATOR"], "race"), team.workspace_id, Role.OPERATOR, "rollout.create")
    change = {"kind": "config_patch", "patch": {"ui": {"seamColor": "#000001"}}}
    results = race(monkeypatch, [
        lambda: rollouts.create(access, {"targets": {"bot_ids": [shared]}, "change": change}),
        lambda: rollouts.create(access, {"targets": {"bot_ids": [own, shared]}, "change": change}),
    ])
    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].code == "CONFLICT" and lost[0].details["bot_id"] == shared
    assert lost[0].details["rollout_id"] == won[0].id
    claim = RolloutClaim.get(*RolloutClaim.key(team.workspace_id, shared), consistent_read=True)
    assert claim.rollout_id == won[0].id
    # The loser claimed nothing (a bot only it named is free), and the API says the same with a 409.
    if own not in won[0].waves:
        with pytest.raises(RolloutClaim.DoesNotExist):
            RolloutClaim.get(*RolloutClaim.key(team.workspace_id, own), consistent_read=True)
    refused = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", {"targets": {"bot_ids": [shared]}, "change": change}).ok(409)
    assert refused.body["details"]["rollout_id"] == won[0].id
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{won[0].id}/abort").ok(200)
    aborted = wait_for(team, won[0].id, lambda r: r["status"] in ("ROLLED_BACK", "FAILED"), "ended after the abort")
    assert aborted["status"] == "ROLLED_BACK", aborted


@pytest.mark.parametrize(("body", "field"), [
    ({"targets": {}, "change": {"kind": "refresh"}}, "targets"),
    ({"targets": {"bot_ids": ["01J0000000000000000000000B"]}, "change": {"kind": "config_patch"}}, "change.patch"),
    ({"targets": {"bot_ids": ["01J0000000000000000000000B"]}, "change": {"kind": "refresh"},
      "strategy": {"kind": "CANARY"}}, "strategy.canary_bot_ids"),
])
def test_a_bad_rollout_is_a_422_naming_the_field(team, body, field):
    refused = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(422)
    assert refused.body["details"]["errors"][0]["field"] == field


def test_a_bot_without_a_gateway_cannot_be_rolled_out_to(team):
    team.with_bot()  # PENDING, no target
    body = {"targets": {"bot_ids": [team.bot_id]}, "change": {"kind": "refresh"}}
    refused = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(422)
    assert refused.body["details"]["errors"][0]["field"] == "targets" and team.bot_id in refused.body["message"]


def test_a_wave_that_needs_an_approval_waits_for_an_operator(fleet):
    team = fleet
    a = stopped_bot(team, "approved")
    body = {"targets": {"bot_ids": [a]}, "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": "#00aa00"}}},
            "approval_before_waves": [1]}
    assert team.clients["OPERATOR"].post(f"{team.ws}/rollouts", {**body, "approval_before_waves": [2]}).ok(422) \
        .body["details"]["errors"][0]["field"] == "approval_before_waves"  # the plan has one wave
    created = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    waiting = wait_for(team, created["id"], lambda r: r["status"] == "AWAITING_APPROVAL", "awaiting approval")
    assert bots_by_id(waiting)[a]["state"] == "PENDING"  # nothing moves before the approval
    assert team.clients["VIEWER"].post(f"{team.ws}/rollouts/{created['id']}/approve").status == 403
    assert team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/resume").status == 409  # not paused
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/approve").ok(200)
    paused = wait_for(team, created["id"], lambda r: r["status"] == "PAUSED", "paused after its wave (no data)")
    assert bots_by_id(paused)[a]["state"] == "DONE"
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/resume").ok(200)
    wait_for(team, created["id"], lambda r: r["status"] == "SUCCEEDED", "succeeded")
    assert team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/nope").status == 422
    listing = team.clients["VIEWER"].get(f"{team.ws}/rollouts").ok(200).body["items"]
    assert created["id"] in [r["id"] for r in listing]


def test_a_rollout_run_again_skips_the_bots_it_finished_and_is_streamed(stack, fleet):
    """The execution is stopped while the rollout holds after its canary (as a restart of the stack stops it),
    then a new execution runs it from its recorded progress: the canary is not changed a second time."""
    from clawster.domain import topics
    from clawster.services import executions
    from clawster.store.entities import Rollout
    from tests.workflows.test_jobs import Listener

    team = fleet
    listener = Listener(stack, team.users["VIEWER"], str(topics.workspace_topic(team.workspace_id)))
    canary, rest = stopped_bot(team, "first"), stopped_bot(team, "second")
    body = {"targets": {"bot_ids": [canary, rest]}, "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": "#abcdef"}}},
            "strategy": {"kind": "CANARY", "canary_bot_ids": [canary]}}
    created = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    paused = wait_for(team, created["id"], lambda r: r["status"] == "PAUSED", "paused after the canary")
    done_once = bots_by_id(paused)[canary]
    count_once = len(team.owner.get(f"{team.ws}/bots/{canary}/revisions").ok(200).body["items"])
    sfn = stack._client("stepfunctions")
    arn = Rollout.get(*Rollout.key(team.workspace_id, created["id"])).execution_arn
    sfn.stop_execution(executionArn=arn, cause="the stack stopped")
    deadline = time.monotonic() + CEILING_S
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.2)

    executions.start(stack.state_machines["rollout"], f"{created['id']}-rerun",
                     {"workspace_id": team.workspace_id, "rollout_id": created["id"]})
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/resume").ok(200)
    ended = wait_for(team, created["id"], lambda r: r["status"] == "PAUSED" and r["current_wave"] == 2,
                     "paused after wave 2, run by the new execution")
    again = bots_by_id(ended)
    assert again[canary] == done_once  # not started again: same revision, same state
    assert len(team.owner.get(f"{team.ws}/bots/{canary}/revisions").ok(200).body["items"]) == count_once
    assert again[rest]["state"] == "DONE"
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/resume").ok(200)
    wait_for(team, created["id"], lambda r: r["status"] == "SUCCEEDED", "succeeded")

    # Its story on the workspace's stream: its status, its waves (with the verdicts), its bots.
    def seen(kind, **data):
        return listener.wait_for(lambda m: m["type"] == kind and m["data"].get("rollout_id") == created["id"]
                                 and all(m["data"].get(k) == v for k, v in data.items()))
    seen("rollout.wave", wave=1, verdict="PAUSE")
    seen("rollout.status", status="PAUSED")  # the gates paused it: said as a status change too
    seen("rollout.bot", bot_id=rest, state="DONE")
    seen("rollout.status", status="SUCCEEDED")
    listener.socket.close()


def test_a_rollout_reaching_prod_waits_for_an_approval_before_its_first_prod_wave(team):
    """Environment promotion: the same change rolled dev first, then prod; prod's wave waits for a person."""
    team.fleet_id = team.owner.post(f"{team.ws}/fleets", {"name": "dev-fleet", "environment": "dev"}).ok(201).body["id"]
    dev = stopped_bot(team, "dev-bot")
    team.fleet_id = team.owner.post(f"{team.ws}/fleets", {"name": "prod-fleet", "environment": "prod"}).ok(201).body["id"]
    prod = stopped_bot(team, "prod-bot")
    body = {"targets": {"bot_ids": [dev, prod]}, "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": "#0f0f0f"}}},
            "strategy": {"kind": "CANARY", "canary_bot_ids": [dev]}}
    created = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    assert created["spec"]["approval_before_waves"] == [2]  # added: wave 2 is the first with a prod bot
    wait_for(team, created["id"], lambda r: r["status"] == "PAUSED", "paused after the dev wave (no data)")
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/resume").ok(200)
    waiting = wait_for(team, created["id"], lambda r: r["status"] == "AWAITING_APPROVAL", "waiting before prod")
    assert bots_by_id(waiting)[prod]["state"] == "PENDING" and waiting["current_wave"] == 1
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/abort").ok(200)
    ended = wait_for(team, created["id"], lambda r: r["status"] in ("ROLLED_BACK", "FAILED"), "rolled back")
    assert ended["status"] == "ROLLED_BACK" and bots_by_id(ended)[dev]["state"] == "ROLLED_BACK"


def test_a_selector_picks_the_matching_bots_of_the_workspace(fleet):
    team = fleet
    gold, plain = stopped_bot(team, "gold"), stopped_bot(team, "plain")
    etag = team.owner.get(f"{team.ws}/bots/{gold}").ok(200).etag
    team.owner.patch(f"{team.ws}/bots/{gold}", {"tags": {"tier": "gold"}}, etag=etag).ok(200)
    body = {"targets": {"fleet_ids": [team.fleet_id], "environments": ["dev"], "tags": {"tier": "gold"}},
            "change": {"kind": "refresh"}}
    created = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    assert created["bot_count"] == 1
    detail = team.clients["VIEWER"].get(f"{team.ws}/rollouts/{created['id']}").ok(200).body
    assert list(bots_by_id(detail)) == [gold] and plain not in bots_by_id(detail)
    none = {**body, "targets": {"environments": ["prod"]}}
    assert team.clients["OPERATOR"].post(f"{team.ws}/rollouts", none).ok(422).body["details"]["errors"][0]["field"] \
        == "targets"  # no bot matches
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/abort").ok(200)
    ended = wait_for(team, created["id"], lambda r: r["status"] in ("ROLLED_BACK", "FAILED"), "ended after the abort")
    assert ended["status"] == "ROLLED_BACK"
