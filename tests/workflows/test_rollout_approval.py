"""The approval before a wave is a waitForTaskToken step of statemachines/rollout.asl.json, run by moto's Step
Functions: the step keeps its callback token on the rollout and the execution waits on it (no poll); approve, abort
and pause answer it, so the execution moves on at once. The token never leaves the table: not in an API answer,
not in the audit trail, not on the stream.

The bots are stopped ones with a target (tests/workflows/test_rollouts.py): their change is recorded and their
health gate has no data, so each wave pauses after it."""

from __future__ import annotations

import json
import time

import pytest

from clawster.services import executions
from clawster.store.entities import Rollout
from tests.workflows.test_rollouts import CEILING_S, bots_by_id, stopped_bot, wait_for

CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"


@pytest.fixture
def fleet(team):
    team.fleet_id = team.owner.post(f"{team.ws}/fleets", {"name": "approval-fleet"}).ok(201).body["id"]
    return team


def item(team, rollout_id: str) -> Rollout:
    return Rollout.get(*Rollout.key(team.workspace_id, rollout_id), consistent_read=True)


def armed(team, rollout_id: str, not_this: str | None = None) -> str:
    """The approval step's token once the step has kept it on the rollout (a new one when `not_this` is given)."""
    deadline = time.monotonic() + CEILING_S
    while time.monotonic() < deadline:
        token = item(team, rollout_id).approval_token
        if token and token != not_this:
            return token
        time.sleep(0.2)
    pytest.fail(f"rollout {rollout_id}: the approval step never kept a token")


def shown(reply) -> str:
    """All an answer says: its headers and its body."""
    return json.dumps(reply.headers) + json.dumps(reply.body)


def history(stack, arn: str) -> list[dict]:
    sfn = stack._client("stepfunctions")
    events, token = [], None
    while True:
        page = sfn.get_execution_history(executionArn=arn, maxResults=1000, **({"nextToken": token} if token else {}))
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events


def callback_events(events: list[dict], kind: str) -> list[dict]:
    """The events of the callback step of a kind (TaskSubmitted, TaskSucceeded...), with their details."""
    key = kind[0].lower() + kind[1:] + "EventDetails"
    return [e for e in events if e["type"] == kind and e.get(key, {}).get("resource") == "invoke.waitForTaskToken"]


def wait_history(stack, arn: str, done, what: str) -> list[dict]:
    deadline = time.monotonic() + CEILING_S
    while time.monotonic() < deadline:
        events = history(stack, arn)
        if done(events):
            return events
        time.sleep(0.2)
    pytest.fail(f"execution {arn} never showed {what}: {[e['type'] for e in history(stack, arn)][-20:]}")


def test_an_approval_answers_the_waiting_step_and_its_token_is_never_shown(stack, fleet):
    team = fleet
    a = stopped_bot(team, "approved")
    body = {"targets": {"bot_ids": [a]}, "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": "#00aa01"}}},
            "approval_before_waves": [1]}
    created = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    token = armed(team, created["id"])
    arn = item(team, created["id"]).execution_arn
    parked = wait_history(stack, arn, lambda ev: callback_events(ev, "TaskSubmitted"), "the approval step submitted")
    # Parked on the callback: after the step was submitted nothing runs, no Hold/NextWave loop polls the status.
    time.sleep(3)  # longer than the old hold poll (2 s): a poll would have added events meanwhile
    still = history(stack, arn)
    assert len(still) == len(parked), [e["type"] for e in still[len(parked):]]
    assert not callback_events(still, "TaskSucceeded")
    waiting = team.clients["VIEWER"].get(f"{team.ws}/rollouts/{created['id']}").ok(200)
    assert waiting.body["status"] == "AWAITING_APPROVAL" and bots_by_id(waiting.body)[a]["state"] == "PENDING"

    assert team.clients["VIEWER"].post(f"{team.ws}/rollouts/{created['id']}/approve").status == 403
    assert item(team, created["id"]).approval_token == token  # a refused approve took nothing
    approved = team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/approve").ok(200)
    assert approved.body["status"] == "RUNNING"
    events = wait_history(stack, arn, lambda ev: callback_events(ev, "TaskSucceeded"), "the approval step answered")
    answered = callback_events(events, "TaskSucceeded")[0]
    assert json.loads(answered["taskSucceededEventDetails"]["output"]) == {"control": "approve"}
    assert item(team, created["id"]).approval_token is None  # taken by the approve
    # A second approve is refused: the rollout no longer awaits one (the step was answered once).
    again = team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/approve").ok(409)
    assert again.body["details"]["status"] == "RUNNING"
    paused = wait_for(team, created["id"], lambda r: r["status"] == "PAUSED", "paused after its wave (no data)")
    assert bots_by_id(paused)[a]["state"] == "DONE"

    # Nowhere to be seen: the rollout's answers, the list, the audit trail (the token is one opaque string).
    seen = [shown(r) for r in (waiting, approved, again,
                               team.clients["VIEWER"].get(f"{team.ws}/rollouts/{created['id']}").ok(200),
                               team.clients["VIEWER"].get(f"{team.ws}/rollouts").ok(200),
                               team.owner.get(f"{team.ws}/audit", query={"target": f"rollout/{created['id']}"}).ok(200))]
    assert all(token not in text for text in seen)
    audit = team.owner.get(f"{team.ws}/audit", query={"target": f"rollout/{created['id']}"}).ok(200).body["items"]
    assert {"rollout.awaiting_approval", "rollout.approve"} <= {e["action"] for e in audit}
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/resume").ok(200)
    wait_for(team, created["id"], lambda r: r["status"] == "SUCCEEDED", "succeeded")


def test_an_abort_while_awaiting_an_approval_rolls_back_at_once(stack, fleet):
    team = fleet
    first, second = stopped_bot(team, "first"), stopped_bot(team, "second")
    before = team.owner.get(f"{team.ws}/bots/{first}").ok(200).body["desired_revision_id"]
    body = {"targets": {"bot_ids": [first, second]},
            "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": "#00aa02"}}},
            "strategy": {"kind": "CANARY", "canary_bot_ids": [first]}, "approval_before_waves": [2]}
    created = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    wait_for(team, created["id"], lambda r: r["status"] == "PAUSED", "paused after the canary (no data)")
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/resume").ok(200)
    token = armed(team, created["id"])
    arn = item(team, created["id"]).execution_arn
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/abort").ok(200)
    events = wait_history(stack, arn, lambda ev: callback_events(ev, "TaskSucceeded"), "the approval step answered")
    assert json.loads(callback_events(events, "TaskSucceeded")[0]["taskSucceededEventDetails"]["output"]) == \
        {"control": "abort"}
    ended = wait_for(team, created["id"], lambda r: r["status"] in ("ROLLED_BACK", "FAILED"), "rolled back")
    assert ended["status"] == "ROLLED_BACK", ended
    states = {bot_id: b["state"] for bot_id, b in bots_by_id(ended).items()}
    assert states == {first: "ROLLED_BACK", second: "PENDING"}  # the wave behind the approval never ran
    assert team.owner.get(f"{team.ws}/bots/{first}").ok(200).body["desired_revision_id"] == before
    assert item(team, created["id"]).approval_token is None
    # No step waits on the token any more. AWS refuses an answered token at once; moto keeps it answerable until
    # its execution ends, which comes a step after the rollout's last write: wait for that end.
    wait_history(stack, arn, lambda ev: ev and ev[-1]["type"] in ("ExecutionSucceeded", "ExecutionFailed"),
                 "the execution's end")
    assert executions.answer_task(token, {"control": "late"}) is False
    audit = team.owner.get(f"{team.ws}/audit", query={"target": f"rollout/{created['id']}"}).ok(200)
    assert token not in shown(audit)


def test_a_pause_while_awaiting_an_approval_does_not_approve_and_a_new_execution_re_arms(stack, fleet):
    """Pause answers the step too (the workflow holds, polled); resume brings the approval back, with a new
    token. An execution started again (as the local stack does after a restart) re-enters the step: the stopped
    execution's token is dead, the new one is kept, and approving it runs the wave."""
    team = fleet
    a = stopped_bot(team, "paused")
    body = {"targets": {"bot_ids": [a]}, "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": "#00aa03"}}},
            "approval_before_waves": [1]}
    created = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    first = armed(team, created["id"])
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/pause").ok(200)
    assert item(team, created["id"]).approval_token is None
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/resume").ok(200)
    second = armed(team, created["id"], not_this=first)
    waiting = wait_for(team, created["id"], lambda r: r["status"] == "AWAITING_APPROVAL", "awaiting again")
    assert bots_by_id(waiting)[a]["state"] == "PENDING"  # the pause approved nothing

    sfn = stack._client("stepfunctions")
    arn = item(team, created["id"]).execution_arn
    sfn.stop_execution(executionArn=arn, cause="the stack stopped")
    # moto keeps a stopped execution's callback step waiting until its timeout (AWS ends it at once): a late
    # answer to its token lets moto finish the stop. Either way that execution runs nothing more, and a stale
    # answer decides nothing: the rollout still awaits its approval.
    executions.answer_task(second, {"control": "stale"})
    deadline = time.monotonic() + CEILING_S
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    still = team.clients["VIEWER"].get(f"{team.ws}/rollouts/{created['id']}").ok(200).body
    assert still["status"] == "AWAITING_APPROVAL" and bots_by_id(still)[a]["state"] == "PENDING"

    rerun = executions.start(stack.state_machines["rollout"], f"{created['id']}-rerun",
                             {"workspace_id": team.workspace_id, "rollout_id": created["id"]})
    third = armed(team, created["id"], not_this=second)
    assert executions.answer_task(second, {"control": "stale"}) is False  # no step waits on the old token
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/approve").ok(200)
    events = wait_history(stack, rerun, lambda ev: callback_events(ev, "TaskSucceeded"), "the new step answered")
    assert json.loads(callback_events(events, "TaskSucceeded")[0]["taskSucceededEventDetails"]["output"]) == \
        {"control": "approve"}
    paused = wait_for(team, created["id"], lambda r: r["status"] == "PAUSED", "paused after its wave, in the rerun")
    assert bots_by_id(paused)[a]["state"] == "DONE"
    assert third not in shown(team.clients["VIEWER"].get(f"{team.ws}/rollouts/{created['id']}").ok(200))
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/abort").ok(200)
    wait_for(team, created["id"], lambda r: r["status"] in ("ROLLED_BACK", "FAILED"), "ended after the abort")


def test_an_approval_that_came_before_the_step_kept_its_token_is_answered_by_the_step(stack, fleet):
    """The race: NextWave set AWAITING_APPROVAL, an approve committed before the step kept its token (so it had
    none to answer). The step, on its next run, sees the rollout no longer awaits and answers its own token."""
    from clawster.services import rollout_run

    team = fleet
    a = stopped_bot(team, "raced")
    body = {"targets": {"bot_ids": [a]}, "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": "#00aa04"}}},
            "approval_before_waves": [1]}
    created = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    token = armed(team, created["id"])
    rollout = item(team, created["id"])
    # What the approve that found no token wrote: RUNNING, the wave approved, no token.
    rollout.status, rollout.approved_wave, rollout.approval_token = "RUNNING", 1, None
    rollout.stamp()
    rollout.save()
    state = {"workspace_id": team.workspace_id, "rollout_id": created["id"]}
    assert rollout_run.await_approval(state, token) == {**state, "awaiting": False}
    events = wait_history(stack, rollout.execution_arn, lambda ev: callback_events(ev, "TaskSucceeded"),
                          "the step answered by itself")
    assert json.loads(callback_events(events, "TaskSucceeded")[0]["taskSucceededEventDetails"]["output"]) == \
        {"control": "already decided"}
    paused = wait_for(team, created["id"], lambda r: r["status"] == "PAUSED", "paused after its wave (no data)")
    assert bots_by_id(paused)[a]["state"] == "DONE" and item(team, created["id"]).approval_token is None
    team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/abort").ok(200)
    wait_for(team, created["id"], lambda r: r["status"] in ("ROLLED_BACK", "FAILED"), "ended after the abort")
