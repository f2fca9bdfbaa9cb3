"""Rollouts with injected faults at scale: 40 bots, each on a FakeGateway of its own handed over by the loopback
provider (tests/fakes/loopback_fleet.py, as bench/rollout.py does), run by moto's Step Functions through the API.

Every expectation is written by hand from the spec of the scenario (wave sizes, counts, which bots end how), and
checked on what can be observed: the rollout's GET, each bot's revisions and status, and each fake's own config.
Faults are the fake's faithful ones: a gateway whose readiness fails (/readyz 503, as a broken channel does), a
gateway stopped (nothing listens), a gateway with no channel (channels.status has no data)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from clawster.domain.roles import Role
from clawster.services import rollouts
from clawster.services.context import Access, Caller
from clawster.store.entities import RolloutClaim
from clawster.store.transaction import Change
from layers.providers.registry import LOOPBACK_ENV
from tests.fakes.fake_gateway import FakeGateway
from tests.fakes.loopback_fleet import LoopbackFleet
from tests.workflows.test_rollouts import bots_by_id, stopped_bot, wait_for

pytestmark = pytest.mark.slow
CEILING_S = 400  # a whole rollout of 40 bots on a busy 2-core machine: the ceiling bounds the wait, not a sleep
ENDED = ("SUCCEEDED", "ROLLED_BACK", "FAILED")
BAD = "#bada55"


def broken_by(color: str):
    """The fake's readiness fails while its config has this seamColor: the change broke it, the old config mends it."""
    return lambda config: ["channel:telegram"] if (config.get("ui") or {}).get("seamColor") == color else []


@dataclass
class FakeFleet:
    team: object
    bot_ids: list[str]
    fakes: dict[str, FakeGateway]
    revisions: dict[str, str]  # each bot's revision before any rollout
    hashes: dict[str, str]  # each fake's config hash before any rollout

    def bot(self, bot_id: str) -> dict:
        return self.team.owner.get(f"{self.team.ws}/bots/{bot_id}").ok(200).body

    def assert_untouched(self, bot_ids) -> None:
        """Nothing half-applied: each bot on its revision from before, applied, on a gateway holding that config."""
        for bot_id in bot_ids:
            bot = self.bot(bot_id)
            assert bot["desired_revision_id"] == bot["applied_revision_id"] == self.revisions[bot_id], bot
            assert self.fakes[bot_id].config_hash == self.hashes[bot_id] == bot["applied_config_hash"], bot_id
            assert (self.fakes[bot_id].config.get("ui") or {}).get("seamColor") is None


@pytest.fixture
def fake_fleet(stack, team, tmp_path):
    """fake_fleet(n): n bots of a new fleet, each RUNNING on a FakeGateway of its own (stopped after the test)."""
    gateways = LoopbackFleet(os.environ[LOOPBACK_ENV], tmp_path / "secrets")

    def make(count: int) -> FakeFleet:
        team.fleet_id = team.owner.post(f"{team.ws}/fleets", {"name": "scale"}).ok(201).body["id"]
        bot_ids = [team.owner.post(f"{team.ws}/fleets/{team.fleet_id}/bots", {"name": f"s{i}", "template_id": "minimal"})
                   .ok(201).body["id"] for i in range(count)]
        fakes = gateways.start(count)
        gateways.hand_over(team.workspace_id, bot_ids, fakes)
        fleet = FakeFleet(team, bot_ids, dict(zip(bot_ids, fakes, strict=True)), {}, {})
        for bot_id in bot_ids:
            bot = fleet.bot(bot_id)
            assert bot["status"] == "RUNNING" and bot["target"] == "loopback"
            fleet.revisions[bot_id], fleet.hashes[bot_id] = bot["desired_revision_id"], fleet.fakes[bot_id].config_hash
        return fleet

    yield make
    gateways.stop()


def until(team, rollout_id: str, done, what: str) -> dict:
    return wait_for(team, rollout_id, done, what, CEILING_S)


def patch_body(bot_ids: list[str], color: str, **spec) -> dict:
    return {"targets": {"bot_ids": bot_ids}, "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": color}}},
            **spec}


def test_a_canary_wave_failing_health_rolls_back_every_changed_bot_and_leaves_nothing_half_applied(fake_fleet):
    fleet = fake_fleet(40)
    team, canaries, rest = fleet.team, fleet.bot_ids[:8], fleet.bot_ids[8:]
    body = patch_body(fleet.bot_ids, BAD, strategy={"kind": "CANARY", "canary_bot_ids": canaries, "steps": [50, 100]},
                      max_concurrency=8, bake_s=3600)
    created = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    assert created["wave_count"] == 3 and created["bot_count"] == 40  # 8 canaries, then 16 and 16

    baking = until(team, created["id"], lambda r: r["waves"][0]["status"] == "BAKING", "the canaries baking")
    assert {b["bot_id"]: b["state"] for b in baking["waves"][0]["bots"]} == {b: "DONE" for b in canaries}
    for bot_id in canaries:  # changed on the gateway itself
        assert fleet.fakes[bot_id].config["ui"]["seamColor"] == BAD
    fleet.assert_untouched(rest)
    sick = canaries[:3]
    for bot_id in sick:  # during the bake, the change breaks 3 of the 8 canaries
        fleet.fakes[bot_id].unready = broken_by(BAD)
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/promote").ok(200)  # end the bake: gates read

    ended = until(team, created["id"], lambda r: r["status"] in ENDED, "its end")
    assert ended["status"] == "ROLLED_BACK", ended
    canary_wave = ended["waves"][0]
    assert (canary_wave["verdict"], canary_wave["done"], canary_wave["failed"]) == ("ROLLBACK", 8, 3)
    assert canary_wave["reason"].startswith("abort threshold reached: 3 of 8 bots failed"), canary_wave
    items = bots_by_id(ended)
    assert {b: items[b]["state"] for b in fleet.bot_ids} == {**{b: "ROLLED_BACK" for b in canaries},
                                                             **{b: "PENDING" for b in rest}}
    assert {b: items[b]["health"] for b in canaries} == {b: "FAIL" if b in sick else "PASS" for b in canaries}
    assert [w["status"] for w in ended["waves"][1:]] == ["PENDING", "PENDING"]
    fleet.assert_untouched(fleet.bot_ids)  # the 8 canaries back (the 5 healthy too), the 32 others never touched
    assert {fleet.bot(b)["status"] for b in fleet.bot_ids} == {"RUNNING"}


def test_gateways_killed_mid_wave_fail_their_bots_and_the_threshold_rolls_back_the_rest(fake_fleet):
    """Waves of 4, 8 and 28; abort above 10 % failed once 10 are done. In wave 2 one gateway dies after its bot's
    change (its gate fails) and one before it (its apply fails): 2 of 12 = 16.7 % > 10 %: roll back. The dead
    ones cannot be rolled back healthy, so the rollout ends FAILED naming exactly them; the 10 others are back,
    and the last 28 were never touched."""
    fleet = fake_fleet(40)
    team = fleet.team
    body = patch_body(fleet.bot_ids, BAD, strategy={"kind": "PERCENTAGE", "steps": [10, 30, 100]}, max_concurrency=3,
                      abort={"failed_percent": 10, "min_done": 10})
    created = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    changed, rest = fleet.bot_ids[:12], fleet.bot_ids[12:]

    def mid_wave(rollout) -> bool:
        states = [b["state"] for b in rollout["waves"][1]["bots"]]
        return states.count("DONE") >= 1 and states.count("PENDING") >= 3

    running = until(team, created["id"], mid_wave, "wave 2 half way")
    states = {b["bot_id"]: b["state"] for b in running["waves"][1]["bots"]}
    killed = [b for b in changed[4:] if states[b] == "DONE"][:1] + [b for b in changed[4:] if states[b] == "PENDING"][-1:]
    for bot_id in killed:  # the last of the wave to start, and one already changed
        fleet.fakes[bot_id].stop()

    ended = until(team, created["id"], lambda r: r["status"] in ENDED, "its end")
    assert ended["status"] == "FAILED", ended
    second = ended["waves"][1]
    assert (second["verdict"], second["done"], second["failed"]) == ("ROLLBACK", 12, 2), second
    assert ended["status_reason"].startswith("abort threshold reached: 2 of 12 bots failed"), ended["status_reason"]
    stuck = ended["status_reason"].split("not rolled back healthy: ")[1].split(", ")
    assert sorted(stuck) == sorted(killed)
    items = bots_by_id(ended)
    assert {b: items[b]["state"] for b in fleet.bot_ids} == {
        **{b: "ROLLBACK_FAILED" if b in killed else "ROLLED_BACK" for b in changed}, **{b: "PENDING" for b in rest}}
    fleet.assert_untouched([b for b in fleet.bot_ids if b not in killed])
    for bot_id in killed:  # pointed back at the old revision all the same; a person must bring the gateway back
        assert fleet.bot(bot_id)["desired_revision_id"] == fleet.revisions[bot_id]


def test_a_gate_with_no_data_pauses_each_wave_until_resumed(fake_fleet):
    """The fakes run no channel: channels.status has no data, so the channel gate pauses the rollout after each
    wave (never passes it); the next wave starts only on resume. Waves of 4, 4 and 32; aborted after wave 2."""
    fleet = fake_fleet(40)
    team = fleet.team
    body = patch_body(fleet.bot_ids, "#0000aa", strategy={"kind": "PERCENTAGE", "steps": [10, 20, 100]},
                      max_concurrency=4, gates=["gateway_health", "channel_health"])
    created = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    path = f"{team.ws}/rollouts/{created['id']}"

    for number, changed in ((1, fleet.bot_ids[:4]), (2, fleet.bot_ids[:8])):
        paused = until(team, created["id"], lambda r, n=number: r["current_wave"] == n and r["status"] != "RUNNING",
                       f"paused after wave {number}")
        assert paused["status"] == "PAUSED", paused
        wave = paused["waves"][number - 1]
        assert (wave["verdict"], wave["readings"]) == ("PAUSE", {"gateway_health": "PASS", "channel_health": "NO_DATA"})
        assert (wave["done"], wave["failed"]) == (len(changed), 0)
        for bot_id in changed:
            assert fleet.fakes[bot_id].config["ui"]["seamColor"] == "#0000aa"
        untouched = fleet.bot_ids[len(changed):]
        fleet.assert_untouched(untouched)  # nothing past the pause moved
        again = team.clients["VIEWER"].get(path).ok(200).body
        assert again["status"] == "PAUSED"
        assert {b["bot_id"] for b in bots_by_id(again).values() if b["state"] == "PENDING"} == set(untouched)
        if number == 1:
            team.clients["OPERATOR"].post(f"{path}/resume").ok(200)

    team.clients["OPERATOR"].post(f"{path}/abort").ok(200)
    ended = until(team, created["id"], lambda r: r["status"] in ENDED, "its end")
    assert ended["status"] == "ROLLED_BACK", ended
    items = bots_by_id(ended)
    assert {b: items[b]["state"] for b in fleet.bot_ids} == {b: "ROLLED_BACK" if i < 8 else "PENDING"
                                                             for i, b in enumerate(fleet.bot_ids)}
    fleet.assert_untouched(fleet.bot_ids)


def test_the_abort_threshold_waits_for_its_minimum_sample_then_rolls_back(fake_fleet):
    """Waves of 5, 5 and 30; abort above 20 % failed once 10 bots are done. 3 of the first 5 fail (60 %, but
    5 < 10 done: the rollout goes on); the next 5 all pass, and with 10 done 3 failed is 30 % > 20 %: roll back
    the 10 changed bots; the last 30 are never touched."""
    fleet = fake_fleet(40)
    team = fleet.team
    body = patch_body(fleet.bot_ids, BAD, strategy={"kind": "PERCENTAGE", "steps": [12.5, 25, 100]},
                      max_concurrency=5, bake_s=3600, abort={"failed_percent": 20, "min_done": 10})
    created = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    path = f"{team.ws}/rollouts/{created['id']}"
    first, second, rest = fleet.bot_ids[:5], fleet.bot_ids[5:10], fleet.bot_ids[10:]
    assert created["wave_count"] == 3

    until(team, created["id"], lambda r: r["waves"][0]["status"] == "BAKING", "wave 1 baking")
    failing = first[:3]
    for bot_id in failing:
        fleet.fakes[bot_id].unready = broken_by(BAD)
    team.clients["OPERATOR"].post(f"{path}/promote").ok(200)
    baking = until(team, created["id"], lambda r: r["waves"][1].get("status") == "BAKING" or r["status"] in ENDED,
                   "wave 2 baking")
    wave = baking["waves"][0]
    assert (wave["verdict"], wave["done"], wave["failed"]) == ("CONTINUE", 5, 3), wave  # below the minimum sample
    assert {b["bot_id"]: b["state"] for b in wave["bots"]} == {b: "FAILED" if b in failing else "DONE" for b in first}
    team.clients["OPERATOR"].post(f"{path}/promote").ok(200)

    ended = until(team, created["id"], lambda r: r["status"] in ENDED, "its end")
    assert ended["status"] == "ROLLED_BACK", ended
    wave = ended["waves"][1]
    assert (wave["verdict"], wave["done"], wave["failed"]) == ("ROLLBACK", 10, 3), wave
    assert wave["reason"].startswith("abort threshold reached: 3 of 10 bots failed"), wave
    items = bots_by_id(ended)
    assert {b: items[b]["state"] for b in fleet.bot_ids} == {**{b: "ROLLED_BACK" for b in first + second},
                                                             **{b: "PENDING" for b in rest}}
    fleet.assert_untouched(fleet.bot_ids)


def test_two_rollouts_racing_for_overlapping_bots_one_wins_each_bot(fleet_with_stopped_bots, monkeypatch):
    """40 bots; A names bots 0-19 then 20-29, B names 20-39 then 0-9 (each in its own order); claims are made 10 to
    a transaction here, so each create commits in 3 steps. Whatever the interleaving, exactly one wins, the
    other is a 409 naming a bot of the overlap and the winner, and no bot is claimed by both, or left claimed
    by the loser."""
    team, bots = fleet_with_stopped_bots
    monkeypatch.setattr(rollouts, "CLAIMS_PER_TRANSACTION", 10)
    a_ids, b_ids = bots[:20] + bots[20:30], bots[20:] + bots[:10]
    access = Access(Caller(team.users["OPERATOR"], "race"), team.workspace_id, Role.OPERATOR, "rollout.create")
    change = {"kind": "config_patch", "patch": {"ui": {"seamColor": "#000002"}}}
    results = race_from_first_commit(monkeypatch, [
        lambda: rollouts.create(access, {"targets": {"bot_ids": a_ids}, "change": change}),
        lambda: rollouts.create(access, {"targets": {"bot_ids": b_ids}, "change": change})])
    won = [(r, ids) for r, ids in zip(results, (a_ids, b_ids), strict=True) if not isinstance(r, Exception)]
    lost = [(r, ids) for r, ids in zip(results, (a_ids, b_ids), strict=True) if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1, results
    (winner, winner_ids), (error, loser_ids) = won[0], lost[0]
    overlap = set(a_ids) & set(b_ids)
    assert error.code == "CONFLICT" and error.details["bot_id"] in overlap, error
    assert error.details["rollout_id"] == winner.id
    for bot_id in bots:
        try:
            holder = RolloutClaim.get(*RolloutClaim.key(team.workspace_id, bot_id), consistent_read=True).rollout_id
        except RolloutClaim.DoesNotExist:
            holder = None
        assert holder == (winner.id if bot_id in winner_ids else None), (bot_id, holder)
    assert team.clients["VIEWER"].get(f"{team.ws}/rollouts/{winner.id}").ok(200).body["bot_count"] == 30

    refused = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", {"targets": {"bot_ids": loser_ids},
                                                                    "change": change}).ok(409)
    assert refused.body["details"]["rollout_id"] == winner.id and refused.body["details"]["bot_id"] in overlap
    abort(team, winner.id)
    again = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", {"targets": {"bot_ids": loser_ids},
                                                                  "change": change}).ok(201).body  # claims released
    abort(team, again["id"])


def abort(team, rollout_id: str) -> None:
    """Abort once it holds (its stopped bots give no data: it pauses), so no step of it writes at the same time."""
    until(team, rollout_id, lambda r: r["status"] == "PAUSED", "paused")
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{rollout_id}/abort").ok(200)
    ended = until(team, rollout_id, lambda r: r["status"] in ENDED, "ended after the abort")
    assert ended["status"] == "ROLLED_BACK", ended


@pytest.fixture
def fleet_with_stopped_bots(team):
    team.fleet_id = team.owner.post(f"{team.ws}/fleets", {"name": "race"}).ok(201).body["id"]
    return team, [stopped_bot(team, f"r{i}") for i in range(40)]


def race_from_first_commit(monkeypatch, writers: list[Callable[[], Any]]) -> list[Any]:
    """The writers on parallel threads, each held at its first commit until all have got there, then free (as
    tests/e2e/test_races.race, for writers that commit more than once). Each one's result or exception."""
    barrier, held = threading.Barrier(len(writers), timeout=300), threading.local()
    commit = Change.commit

    def first_held(change: Change) -> None:
        if getattr(held, "racing", False):
            held.racing = False
            barrier.wait()
        commit(change)

    def run(writer: Callable[[], Any]) -> Any:
        held.racing = True
        try:
            return writer()
        except Exception as exc:  # noqa: BLE001 - the outcome is the result
            return exc
        finally:
            if held.racing:  # failed before its first commit: it must not hold the others
                barrier.abort()

    monkeypatch.setattr(Change, "commit", first_held)
    try:
        with ThreadPoolExecutor(len(writers)) as pool:
            results = list(pool.map(run, writers))
    finally:
        monkeypatch.setattr(Change, "commit", commit)
    assert not any(isinstance(r, threading.BrokenBarrierError) for r in results), results
    return results
