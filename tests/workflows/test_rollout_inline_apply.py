"""A rollout's config apply runs inline in the rollout task (functions/tasks/inline_apply.py): the apply
workflow's own steps, recorded under the request's execution name, with no apply execution started; and
handed to that durable execution when the gateway cannot take the write (it retries, as the apply workflow
does). On loopback fake gateways (tests/loopback.py)."""

from __future__ import annotations

import time

import pytest

from tests.fakes.fake_gateway import FakeGateway
from tests.loopback import hand_over
from tests.workflows.test_rollouts import wait_for

CEILING_S = 300
COLOR = "#5a5a5a"


@pytest.fixture
def fleet_on_fakes(team, tmp_path):
    """Three bots of one fleet, each RUNNING on a loopback fake; the fakes are stopped at the end."""
    team.fleet_id = team.owner.post(f"{team.ws}/fleets", {"name": "inline"}).ok(201).body["id"]
    bot_ids = [team.owner.post(f"{team.ws}/fleets/{team.fleet_id}/bots",
                               {"name": f"inline-{i}", "template_id": "minimal"}).ok(201).body["id"] for i in range(3)]
    fakes = [FakeGateway(f"tok-inline-{i}").start() for i in range(3)]
    hand_over(team.workspace_id, bot_ids, fakes, tmp_path / "secrets")
    yield team, bot_ids, fakes
    for fake in fakes:
        fake.stop()


def _apply_executions(stack) -> dict[str, str]:
    """name -> status of every apply workflow execution the stack ran."""
    sfn = stack._client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.state_machines["apply"])
    return {e["name"]: e["status"] for page in pages for e in page["executions"]}


def _roll(team, bot_ids: list[str]) -> str:
    body = {"targets": {"bot_ids": bot_ids}, "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": COLOR}}},
            "max_concurrency": 3, "bake_s": 0}
    return team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body["id"]


def _bot(team, bot_id: str) -> dict:
    return team.owner.get(f"{team.ws}/bots/{bot_id}").ok(200).body


def test_each_bot_is_applied_inline_with_the_apply_workflows_steps_and_no_execution(stack, fleet_on_fakes):
    team, bot_ids, fakes = fleet_on_fakes
    rollout = wait_for(team, _roll(team, bot_ids), lambda r: r["status"] in ("SUCCEEDED", "ROLLED_BACK", "FAILED"),
                       "its end")
    assert rollout["status"] == "SUCCEEDED", rollout
    executions = _apply_executions(stack)
    for wave_bot, fake in zip([b for w in rollout["waves"] for b in w["bots"]], fakes, strict=True):
        bot = _bot(team, wave_bot["bot_id"])
        assert wave_bot["state"] == "DONE" and bot["status"] == "RUNNING", (wave_bot, bot["status_reason"])
        assert bot["applied_revision_id"] == bot["desired_revision_id"] == wave_bot["new_revision_id"]
        assert fake.config["ui"]["seamColor"] == COLOR  # on the gateway itself
        assert bot["applied_config_hash"] == fake.config_hash  # the gateway's own hash, as the workflow records
        assert wave_bot["request_id"] not in executions  # run inline: no apply execution
        steps = team.owner.get(f"{team.ws}/bots/{bot['id']}/provisioning").ok(200).body
        assert steps["workflow"]["id"] == wave_bot["request_id"] and steps["running"] is False
        # The apply workflow's steps, in its order, each once (hand-written: statemachines/apply.asl.json).
        assert [(s["step"], s["status"]) for s in steps["steps"]] == [
            ("begin", "SUCCEEDED"), ("apply", "SUCCEEDED"), ("ready", "SUCCEEDED"), ("verify", "SUCCEEDED"),
            ("finish", "SUCCEEDED")], steps["steps"]


@pytest.mark.slow
def test_a_gateway_down_at_the_write_is_handed_to_the_durable_apply_which_retries(stack, fleet_on_fakes):
    """The third fake is down when its write comes: the inline apply hands the bot to its apply execution
    (named by the request), which retries the write with backoff; the fake comes back on its port, the
    retry lands, and the rollout succeeds with every bot applied once."""
    team, bot_ids, fakes = fleet_on_fakes
    down = fakes[2]
    port = down.port
    down.stop()
    rollout_id = _roll(team, bot_ids)
    handed = wait_for(team, rollout_id, lambda r: _request_of(r, bot_ids[2]) in _apply_executions(stack),
                      "the down bot's apply handed to its execution")
    assert _request_of(handed, bot_ids[2]) not in {_request_of(handed, b) for b in bot_ids[:2]}
    down.start(port)  # back, on the address the inventory names
    rollout = wait_for(team, rollout_id, lambda r: r["status"] in ("SUCCEEDED", "ROLLED_BACK", "FAILED"), "its end")
    assert rollout["status"] == "SUCCEEDED", rollout
    deadline = time.monotonic() + CEILING_S
    while _apply_executions(stack)[_request_of(rollout, bot_ids[2])] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.5)
    executions = _apply_executions(stack)
    assert executions[_request_of(rollout, bot_ids[2])] == "SUCCEEDED"
    assert not {_request_of(rollout, b) for b in bot_ids[:2]} & set(executions)  # the others stayed inline
    for bot_id, fake in zip(bot_ids, fakes, strict=True):
        bot = _bot(team, bot_id)
        assert bot["status"] == "RUNNING" and bot["applied_revision_id"] == bot["desired_revision_id"], bot
        assert fake.config["ui"]["seamColor"] == COLOR
    steps = team.owner.get(f"{team.ws}/bots/{bot_ids[2]}/provisioning").ok(200).body["steps"]
    apply_step = next(s for s in steps if s["step"] == "apply")
    assert apply_step["status"] == "SUCCEEDED" and apply_step["attempts"] >= 2  # inline, then the execution's retry


def _request_of(rollout: dict, bot_id: str) -> str | None:
    return next((b["request_id"] for w in rollout["waves"] for b in w["bots"] if b["bot_id"] == bot_id), None)
