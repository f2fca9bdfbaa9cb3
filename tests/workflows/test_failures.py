"""How the workflows fail, on real gateways where the behaviour is the gateway's: a refused call is
retried, a gateway late past its deadline ends the bot in ERROR with nothing half-created, two
lifecycle requests race for one bot, and one request started twice runs once."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from clawster.domain.bots import BotAction
from clawster.domain.errors import Conflict
from clawster.domain.roles import Role
from clawster.services import bots, executions, fleets, workspaces
from clawster.services.context import Access, Caller
from layers.providers.local import faults
from layers.providers.local.instance import InstanceFiles
from tests.contract.test_local_provider_processes import gateway_launches
from tests.e2e.test_races import as_action, kinds, race
from tests.helpers import put_bot_in_status

pytestmark = pytest.mark.slow

CEILING_S = 900


def settle(team, bot_path: str, ceiling_s: float = CEILING_S) -> dict:
    """The bot once no workflow owns it."""
    deadline = time.monotonic() + ceiling_s
    while time.monotonic() < deadline:
        bot = team.owner.get(bot_path).ok(200).body
        if bot["intent"] is None and bot["status"] not in ("CREATING", "RECONCILING", "DELETING"):
            return bot
        time.sleep(0.5)  # polling interval only: the ceiling bounds the wait
    pytest.fail(f"bot {bot_path} never settled")


def provision(team, name: str, **extra) -> tuple[dict, str]:
    created = team.owner.post(f"{team.ws}/fleets/{team.fleet_id}/bots",
                              {"name": name, "template_id": "minimal", "target": "local", **extra}).ok(201).body
    return created, f"{team.ws}/bots/{created['id']}"


def delete(team, bot_path: str) -> None:
    team.owner.delete(bot_path, etag=team.owner.get(bot_path).ok(200).etag).ok(202)
    deadline = time.monotonic() + CEILING_S
    while team.owner.get(bot_path).status != 404:
        assert time.monotonic() < deadline
        time.sleep(0.5)


def steps_of(team, bot_path: str) -> dict[str, dict]:
    return {s["step"]: s for s in team.owner.get(f"{bot_path}/provisioning").ok(200).body["steps"]}


def test_a_call_the_target_refuses_once_is_retried_and_the_bot_runs(stack, team):
    team.with_bot()
    root = stack.state_dir / "gateways"
    faults.inject(root, "create", 1)  # the next create is refused as a throttled cloud API would
    created, bot_path = provision(team, "retried")
    ended = settle(team, bot_path)
    assert ended["status"] == "RUNNING", ended["status_reason"]
    create = steps_of(team, bot_path)["create"]
    assert create["status"] == "SUCCEEDED" and create["attempts"] == 2  # refused once, retried by the ASL
    assert (root / faults.FOLDER / "create").read_text() == "0"
    delete(team, bot_path)


def test_a_gateway_not_ready_by_its_deadline_ends_in_error_and_leaves_nothing_half_created(stack, team):
    team.with_bot()
    created, bot_path = provision(team, "late", ready_timeout_s=1)  # no gateway is ready in 1 s
    failed = settle(team, bot_path)
    assert failed["status"] == "ERROR" and "DEADLINE_EXCEEDED" in failed["status_reason"], failed
    assert failed["applied_revision_id"] is None and failed["desired_revision_id"] == created["desired_revision_id"]
    assert failed["last_workflow"]["action"] == "provision" and failed["last_workflow"]["status"] == "ERROR"
    files = InstanceFiles(stack.state_dir / "gateways", created["id"])
    assert not files.dir.exists() and not gateway_launches(files.state_dir)  # the half-created gateway is gone
    assert steps_of(team, bot_path)["failed"]["detail"] == failed["status_reason"]

    assert failed["ready_timeout_s"] == 1  # the bot's own bound, kept: give it a realistic one
    team.owner.patch(bot_path, {"ready_timeout_s": 900}, etag=team.owner.get(bot_path).ok(200).etag).ok(200)
    team.owner.post(f"{bot_path}/provision").ok(202)  # from ERROR, a new provision runs
    assert settle(team, bot_path)["status"] == "RUNNING"
    assert len(gateway_launches(files.state_dir)) == 1
    delete(team, bot_path)


@pytest.fixture
def owner(stack, new_user) -> Access:
    caller = Caller(new_user("owner"), "test-failures")
    workspace, _ = workspaces.create(caller, name="failures", description="")
    return Access(caller, workspace.id, Role.OWNER, "test")


def test_two_lifecycle_requests_racing_on_one_bot_one_wins(owner, monkeypatch):
    fleet = fleets.create(as_action(owner, "fleet.create"), name="racing", environment="dev", description="", tags={})
    bot = bots.create(as_action(owner, "bot.create"), fleet.id, name="contended", template_id="minimal",
                      config=None, tags={})
    put_bot_in_status(owner.workspace_id, bot.id, "RUNNING")
    lifecycle = as_action(owner, "bot.lifecycle")
    results = race(monkeypatch, [lambda: bots.request_intent(lifecycle, bot.id, BotAction.RESTART),
                                 lambda: bots.request_intent(lifecycle, bot.id, BotAction.STOP)])
    assert sorted(kinds(results).values()) == [1, 1] and kinds(results)["ok"] == 1, results
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception)), results


def test_one_request_started_twice_runs_once(stack, team):
    team.with_bot()
    created, bot_path = provision(team, "once")
    running = settle(team, bot_path)
    assert running["status"] == "RUNNING", running["status_reason"]
    request_id = created["intent"]["id"]
    machine = stack.state_machines["provision"]
    state = {"bot_id": created["id"], "workspace_id": team.workspace_id, "request_id": request_id,
             "fleet_id": team.fleet_id, "action": "provision", "target": "local"}
    # The API's start repeated (a retry after a timeout): the same execution, not a second one.
    assert executions.start(machine, request_id, state) == created["intent"]["execution_arn"]
    sfn = boto3.client("stepfunctions", endpoint_url=stack.moto_url, region_name="us-east-1")
    names = [e["name"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]]
    assert names.count(request_id) == 1
    # The create task run again by Step Functions (a retry of a timed-out invoke): its recorded result.
    from functions.tasks import bot_workflow

    again = bot_workflow.handler({"step": "create_gateway", "execution": request_id,
                                  "state": {**state, "desired_revision_id": running["desired_revision_id"]}}, None)
    assert again["gateway_state"] in ("STARTING", "RUNNING")
    assert steps_of(team, bot_path)["create"]["attempts"] == 1
    files = InstanceFiles(stack.state_dir / "gateways", created["id"])
    assert len(gateway_launches(files.state_dir)) == 1
    assert json.loads(files.record_file.read_text())["pid"]
    delete(team, bot_path)
