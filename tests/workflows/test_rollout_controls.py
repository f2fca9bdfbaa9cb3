"""A control (pause, abort, ...) names no version: a write of the workflow's that lands between the control's
read and its write is not the caller's conflict. The interleaving is driven directly: the workflow's write is
made right after the control's read, twice in a row."""

from __future__ import annotations

from clawster.domain.roles import Role
from clawster.services import rollouts
from clawster.services.context import Access, Caller
from clawster.store.entities import Rollout
from clawster.store.transaction import Change
from tests.workflows.test_rollouts import stopped_bot, wait_for


def test_a_control_is_decided_again_after_a_workflow_write_lands_between_its_read_and_write(team, monkeypatch):
    team.fleet_id = team.owner.post(f"{team.ws}/fleets", {"name": "controls"}).ok(201).body["id"]
    bot = stopped_bot(team, "busy")
    body = {"targets": {"bot_ids": [bot]}, "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": "#010203"}}},
            "approval_before_waves": [1]}
    created = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    wait_for(team, created["id"], lambda r: r["status"] == "AWAITING_APPROVAL", "awaiting approval")

    real_get, writes = rollouts.get, []

    def read_then_the_workflow_writes(access: Access, rollout_id: str) -> Rollout:
        read = real_get(access, rollout_id)
        if len(writes) < 2:  # as a wave's progress would: the stored version moves past the one just read
            writes.append(_a_workflow_write(team.workspace_id, rollout_id))
        return read

    monkeypatch.setattr(rollouts, "get", read_then_the_workflow_writes)
    access = Access(Caller(team.users["OPERATOR"], "test-control"), team.workspace_id, Role.OPERATOR, "rollout.control")
    aborted = rollouts.control(access, created["id"], "abort")
    assert len(writes) == 2 and aborted.status == "ABORTING"
    stored = Rollout.get(*Rollout.key(team.workspace_id, created["id"]), consistent_read=True)
    assert stored.status == "ABORTING" and stored.version == writes[-1] + 1  # one write of its own, after both
    monkeypatch.undo()
    audit = team.owner.get(f"{team.ws}/audit", query={"target": f"rollout/{created['id']}"}).ok(200).body["items"]
    assert [e["action"] for e in audit].count("rollout.abort") == 1  # audited once, not once per attempt
    ended = wait_for(team, created["id"], lambda r: r["status"] in ("ROLLED_BACK", "FAILED"), "ended after the abort")
    assert ended["status"] == "ROLLED_BACK", ended


class _Raced(Exception):
    pass


def _a_workflow_write(workspace_id: str, rollout_id: str) -> int:
    """Bump the stored rollout's version; the workflow itself may write meanwhile (the approval step keeps its
    token), so read and write again until this write lands. Returns the version it wrote."""
    for _ in range(20):
        stored = Rollout.get(*Rollout.key(workspace_id, rollout_id), consistent_read=True)
        try:
            Change().edit(stored, ["status_reason"], expected_version=stored.version, stale_error=_Raced).commit()
        except _Raced:
            continue
        return stored.version
    raise AssertionError("the workflow kept writing the rollout")
