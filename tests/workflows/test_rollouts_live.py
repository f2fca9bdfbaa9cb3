"""A rollout on real local gateways (two bots: the issue's truth test, kept small). The canary's gateway is
frozen during its bake (SIGSTOP: alive, answering nothing), so its health gate fails: the rollout rolls the
canary back to its previous revision on the gateway itself, verified healthy, and never touches the other bot."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from layers.providers.local import LocalProvider
from layers.providers.local.instance import InstanceFiles
from tests.workflows.test_failures import delete, provision, settle
from tests.workflows.test_rollouts import bots_by_id, wait_for

pytestmark = pytest.mark.slow
CEILING_S = 300


def until(team, rollout_id: str, done, what: str) -> dict:
    return wait_for(team, rollout_id, done, what, CEILING_S)


def test_a_canary_that_fails_health_is_rolled_back_on_its_gateway_and_the_rest_is_untouched(stack, team):
    team.with_bot()
    (canary, canary_path), (other, other_path) = provision(team, "canary"), provision(team, "other")
    canary, other = settle(team, canary_path), settle(team, other_path)
    assert canary["status"] == other["status"] == "RUNNING", (canary["status_reason"], other["status_reason"])
    body = {"targets": {"bot_ids": [canary["id"], other["id"]]},
            "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": "#1b40ae"}}},
            "strategy": {"kind": "CANARY", "canary_bot_ids": [canary["id"]]}, "bake_s": 600}
    rollout = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    path = f"{team.ws}/rollouts/{rollout['id']}"

    baking = until(team, rollout["id"], lambda r: r["waves"][0]["status"] == "BAKING", "the canary baking")
    changed = bots_by_id(baking)[canary["id"]]
    assert changed["state"] == "DONE" and changed["previous_revision_id"] == canary["applied_revision_id"]
    with LocalProvider(stack.state_dir / "gateways", supervise=False).client(canary["id"]) as client:
        assert client.config_get().config["ui"]["seamColor"] == "#1b40ae"  # on the gateway itself

    record = InstanceFiles(Path(stack.state_dir) / "gateways", canary["id"]).load()
    os.killpg(record.pid, signal.SIGSTOP)  # the canary's gateway: alive, answering nothing
    try:
        team.clients["OPERATOR"].post(f"{path}/promote").ok(200)  # end the bake now: the gates are read
        failing = until(team, rollout["id"], lambda r: r["status"] in ("ROLLING_BACK", "ROLLED_BACK", "FAILED"),
                        "the canary's gate read")
    finally:
        os.killpg(record.pid, signal.SIGCONT)
    wave = failing["waves"][0]
    assert wave["verdict"] == "ROLLBACK" and "abort threshold" in wave["reason"], wave
    assert bots_by_id(failing)[canary["id"]]["health"] == "FAIL"

    ended = until(team, rollout["id"], lambda r: r["status"] in ("ROLLED_BACK", "FAILED", "SUCCEEDED"), "its end")
    assert ended["status"] == "ROLLED_BACK", ended
    states = {bot_id: item["state"] for bot_id, item in bots_by_id(ended).items()}
    assert states == {canary["id"]: "ROLLED_BACK", other["id"]: "PENDING"}
    back = settle(team, canary_path)  # nothing half-applied: desired, applied and the gateway agree
    assert back["status"] == "RUNNING" and back["desired_revision_id"] == back["applied_revision_id"] \
        == canary["applied_revision_id"], back
    with LocalProvider(stack.state_dir / "gateways", supervise=False).client(canary["id"]) as client:
        live = client.config_get()
    assert "seamColor" not in live.config.get("ui", {}) and back["applied_config_hash"] == live.hash
    untouched = team.owner.get(other_path).ok(200).body
    assert untouched["desired_revision_id"] == other["desired_revision_id"]
    assert untouched["applied_config_hash"] == other["applied_config_hash"]
    delete(team, canary_path)
    delete(team, other_path)


def test_a_gateway_killed_mid_rollout_leaves_nothing_half_applied(stack, team):
    """The second wave's gateway is killed (SIGKILL) as its wave starts: whatever the race gives (its apply
    waits for the supervisor's restart, or fails and the rollout rolls back), every bot ends with its desired
    revision applied, on its gateway, and the rollout ends."""
    team.with_bot()
    (first, first_path), (second, second_path) = provision(team, "first"), provision(team, "second")
    first, second = settle(team, first_path), settle(team, second_path)
    assert first["status"] == second["status"] == "RUNNING", (first["status_reason"], second["status_reason"])
    body = {"targets": {"bot_ids": [first["id"], second["id"]]},
            "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": "#3c3c3c"}}},
            "strategy": {"kind": "CANARY", "canary_bot_ids": [first["id"]]}}
    rollout = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    until(team, rollout["id"], lambda r: r["current_wave"] == 2, "its second wave")
    record = InstanceFiles(Path(stack.state_dir) / "gateways", second["id"]).load()
    os.killpg(record.pid, signal.SIGKILL)

    ended = until(team, rollout["id"], lambda r: r["status"] in ("SUCCEEDED", "ROLLED_BACK", "FAILED"), "its end")
    assert ended["status"] in ("SUCCEEDED", "ROLLED_BACK"), ended
    for bot_path in (first_path, second_path):
        bot = settle(team, bot_path)
        assert bot["desired_revision_id"] == bot["applied_revision_id"], bot
        with LocalProvider(stack.state_dir / "gateways", supervise=False).client(bot["id"]) as client:
            live = client.config_get()
        has_color = live.config.get("ui", {}).get("seamColor") == "#3c3c3c"
        assert has_color == (ended["status"] == "SUCCEEDED"), (ended["status"], live.config.get("ui"))
    delete(team, first_path)
    delete(team, second_path)


def test_the_readme_walkthrough_three_bots_canary_pause_on_no_data_then_a_failing_gate_rolls_all_back(stack, team):
    """README "Roll a change across bots", step by step on three real gateways: the canary bakes and pauses on
    channel_health's no data; resumed, wave 2 bakes while B is frozen; promoted, B fails gateway_health and
    every bot the rollout changed goes back on its gateway; B unfrozen, the rollout ends ROLLED_BACK."""
    team.with_bot()
    made = [provision(team, name) for name in ("roll-a", "roll-b", "roll-c")]
    bots = [settle(team, path) for _, path in made]
    assert all(b["status"] == "RUNNING" for b in bots), [b["status_reason"] for b in bots]
    a, b, c = (bot["id"] for bot in bots)
    body = {"targets": {"bot_ids": [a, b, c]}, "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": "#1b40ae"}}},
            "strategy": {"kind": "CANARY", "canary_bot_ids": [a]}, "bake_s": 60,
            "gates": ["gateway_health", "channel_health"]}
    rollout = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    path = f"{team.ws}/rollouts/{rollout['id']}"
    paused = until(team, rollout["id"], lambda r: r["status"] == "PAUSED", "paused after the canary")
    assert paused["waves"][0]["readings"] == {"gateway_health": "PASS", "channel_health": "NO_DATA"}, paused["waves"][0]
    assert {x["state"] for x in paused["waves"][1]["bots"]} == {"PENDING"}  # nothing past the pause moved

    team.clients["OPERATOR"].post(f"{path}/resume").ok(200)
    until(team, rollout["id"], lambda r: r["waves"][1]["status"] == "BAKING", "wave 2 baking")
    record = InstanceFiles(Path(stack.state_dir) / "gateways", b).load()
    os.killpg(record.pid, signal.SIGSTOP)
    try:
        team.clients["OPERATOR"].post(f"{path}/promote").ok(200)
        until(team, rollout["id"], lambda r: r["status"] in ("ROLLING_BACK", "ROLLED_BACK", "FAILED"), "B's gate read")
    finally:
        os.killpg(record.pid, signal.SIGCONT)
    ended = until(team, rollout["id"], lambda r: r["status"] in ("ROLLED_BACK", "FAILED", "SUCCEEDED"), "its end")
    assert ended["status"] == "ROLLED_BACK", ended
    # B's failed health makes B a failed bot; the abort threshold (the first failure, by default) rolls back.
    assert bots_by_id(ended)[b]["health"] == "FAIL" and "abort threshold" in ended["waves"][1]["reason"], ended
    assert {bot_id: item["state"] for bot_id, item in bots_by_id(ended).items()} == {
        a: "ROLLED_BACK", b: "ROLLED_BACK", c: "ROLLED_BACK"}
    for before, (_, bot_path) in zip(bots, made, strict=True):
        back = settle(team, bot_path)
        assert back["desired_revision_id"] == back["applied_revision_id"] == before["applied_revision_id"], back
        with LocalProvider(stack.state_dir / "gateways", supervise=False).client(back["id"]) as client:
            assert "seamColor" not in client.config_get().config.get("ui", {})
    for _, bot_path in made:
        delete(team, bot_path)
