"""The scheduled jobs on the real local stack, fired through its scheduler (the Lambda runs in its own
instance, as the timer would run it):

- the stuck-work sweeper ends a bot whose workflow is past its deadline in ERROR, naming the action and the
  deadline, and stops the execution; it leaves a workflow within its deadline alone; a workflow that
  settles between the sweeper's read and its write wins;
- the health poller sees a real gateway go unhealthy (its processes frozen with SIGSTOP: alive to the
  supervisor, silent to every probe) and healthy again, each transition recorded, audited and streamed.

Waits are on observed state with generous ceilings; no fixed sleeps."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import boto3
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from clawster import ids
from clawster.domain import topics
from clawster.domain.bots import INTENT_DEADLINE_S, BotStatus, Workflow
from clawster.domain.errors import VersionConflict
from clawster.services import executions, health, probe_history, sweeper, workflow
from clawster.store.entities import AuditEvent, Bot, StepRecord
from clawster.store.transaction import Change
from layers.providers.local.instance import InstanceFiles

pytestmark = pytest.mark.slow

SETTLE_S = 900  # a gateway starts in 7-14 s alone; on 2 busy cores with others starting, minutes
CEILING_S = 300


def _until(what: str, probe, ceiling_s: float = CEILING_S):
    deadline = time.monotonic() + ceiling_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)  # a poll interval, not a timing assumption: the ceiling bounds the wait
    pytest.fail(f"gave up waiting for {what}")


def _bot(team, bot_id: str) -> Bot:
    return Bot.get(*Bot.key(team.workspace_id, bot_id), consistent_read=True)


def _sfn(stack):
    return boto3.client("stepfunctions", endpoint_url=stack.moto_url, region_name="us-east-1")


def _new_bot(team, name: str) -> str:
    if not team.fleet_id:
        team.with_bot()
    return team.owner.post(f"{team.ws}/fleets/{team.fleet_id}/bots",
                           {"name": name, "template_id": "minimal"}).ok(201).body["id"]


def _owned_by_a_workflow(stack, team, name: str, *, deadline: datetime, action: str = "delete",
                         status: str = "DELETING", machine: str = "deprovision", start: bool = True) -> dict:
    """A bot owned by a request as `_own` leaves it, written straight through the store; with `start`, the
    request's execution runs for real and sits in its hour-long Wait (poll_s), as a wedged workflow would."""
    bot = _bot(team, _new_bot(team, name))
    request_id = ids.new_id()
    machine_arn = stack.state_machines[machine]
    arn = executions.execution_arn(machine_arn, request_id)
    bot.intent = {"id": request_id, "action": action, "requested_by": "test-jobs",
                  "requested_at": (deadline - timedelta(minutes=30)).isoformat(), "execution_arn": arn,
                  "deadline_at": deadline.isoformat(), "extra": {"poll_s": 3600}}
    bot.status, bot.target = status, "local"
    Change().edit(bot, ["intent", "status", "target"], expected_version=bot.version,
                  stale_error=lambda: VersionConflict("moved")).commit()
    state = {"bot_id": bot.id, "workspace_id": bot.workspace_id, "request_id": request_id, "fleet_id": bot.fleet_id,
             "action": action, "target": "local", "poll_s": 3600}
    if start:
        assert executions.start(machine_arn, request_id, state) == arn
        step = StepRecord(workspace_id=bot.workspace_id, bot_id=bot.id, execution=request_id, step="delete")
        step.derive_keys()

        def waiting() -> bool:  # past DeleteGateway: in the Wait
            try:
                return StepRecord.get(step.pk, step.sk, consistent_read=True).status == "SUCCEEDED"
            except StepRecord.DoesNotExist:
                return False

        _until("the execution to reach its Wait", waiting)
        assert _sfn(stack).describe_execution(executionArn=arn)["status"] == "RUNNING"
    return {"bot_id": bot.id, "request_id": request_id, "arn": arn, "state": state}


# -- the sweeper -------------------------------------------------------------------------------------------
def test_the_sweeper_ends_an_overdue_workflow_in_error_and_stops_it_and_leaves_a_timely_one(stack, team):
    now = datetime.now(timezone.utc)
    stuck = _owned_by_a_workflow(stack, team, "stuck", deadline=now - timedelta(minutes=1))
    timely = _owned_by_a_workflow(stack, team, "timely", deadline=now + timedelta(minutes=30))

    report = stack.scheduler.fire("job-sweeper")

    assert report["swept"] >= 1 and report["stopped"] >= 1 and not report["unfinished"], report
    swept = _bot(team, stuck["bot_id"])
    assert swept.status == "ERROR" and swept.intent is None
    assert "delete workflow did not finish by its deadline" in swept.status_reason, swept.status_reason
    assert (now - timedelta(minutes=1)).isoformat(timespec="seconds") in swept.status_reason
    assert swept.last_workflow.as_dict()["id"] == stuck["request_id"]
    assert _sfn(stack).describe_execution(executionArn=stuck["arn"])["status"] == "ABORTED"
    # Audited, as every settle is.
    events = AuditEvent.by_target.query(AuditEvent.target_partition(team.workspace_id, f"bot/{stuck['bot_id']}"))
    assert "bot.delete.error" in [e.action for e in events]

    untouched = _bot(team, timely["bot_id"])
    assert untouched.status == "DELETING" and untouched.intent.as_dict()["id"] == timely["request_id"]
    assert _sfn(stack).describe_execution(executionArn=timely["arn"])["status"] == "RUNNING"
    executions.stop(timely["arn"], "test over")

    # Swept once: the next run finds nothing of it.
    again = stack.scheduler.fire("job-sweeper")
    assert _bot(team, stuck["bot_id"]).version == swept.version, again


def test_a_workflow_that_settles_before_the_sweepers_write_wins(stack, team):
    raced = _owned_by_a_workflow(stack, team, "raced", deadline=datetime.now(timezone.utc) - timedelta(minutes=5),
                                 action="restart", status="RECONCILING", machine="lifecycle", start=False)
    finished = []

    def the_workflow_finishes_first(bot: Bot) -> None:  # between the sweeper's read and its write
        if bot.id == raced["bot_id"]:
            finished.append(workflow.settle(raced["state"], BotStatus.RUNNING))

    report = sweeper.sweep(stop_execution=executions.stop, remaining_ms=lambda: 60_000,
                           before_settle=the_workflow_finishes_first)

    assert finished, "the sweeper never reached the overdue bot"
    assert report.finished_meanwhile >= 1, report
    bot = _bot(team, raced["bot_id"])
    assert bot.status == "RUNNING" and bot.status_reason is None and bot.intent is None
    assert bot.last_workflow.as_dict()["status"] == "RUNNING"
    assert bot.version == finished[0].version  # nothing written after the workflow's own settle


# -- the health poller ---------------------------------------------------------------------------------------
class Listener:
    """A stream API client following one topic, collecting every message on a thread."""

    def __init__(self, stack, user: str, topic: str):
        self.socket = connect(f"{stack.ws_url}/?token={quote(stack.issuer.issue(user))}", open_timeout=120)
        self.socket.send(json.dumps({"action": "subscribe", "topic": topic}))
        assert json.loads(self.socket.recv(timeout=120))["type"] == "subscribed"
        self.messages: list[dict] = []
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        try:
            for raw in self.socket:
                self.messages.append(json.loads(raw))
        except ConnectionClosed:
            pass

    def wait_for(self, match, ceiling_s: float = 120) -> dict:
        return _until("a matching message", lambda: next((m for m in list(self.messages) if match(m)), None),
                      ceiling_s)


def _running(team, bot_id: str) -> bool:
    bot = _bot(team, bot_id)
    if bot.status == "ERROR":
        pytest.fail(f"bot ended in ERROR: {bot.status_reason}")
    return bot.status == "RUNNING" and bot.intent is None


def _fire_until(stack, team, bot_id: str, wanted: str) -> Bot:
    """Fire the poller until the bot is `wanted` (normally the first run does it)."""
    def fired() -> Bot | None:
        stack.scheduler.fire("job-health")
        bot = _bot(team, bot_id)
        return bot if bot.status == wanted else None

    return _until(f"the health poller to make the bot {wanted}", fired)


def test_the_health_poller_degrades_a_frozen_gateway_and_recovers_it_streamed_and_audited(stack, team):
    team.with_bot()
    created = team.owner.post(f"{team.ws}/fleets/{team.fleet_id}/bots",
                              {"name": "watched", "template_id": "minimal", "target": "local"}).ok(201).body
    bot_id = created["id"]
    _until("the bot to run", lambda: _running(team, bot_id), SETTLE_S)
    # The request carried the sweeper's deadline (kept with the finished workflow): the allowance past the request.
    provision = _bot(team, bot_id).last_workflow.as_dict()
    assert datetime.fromisoformat(provision["deadline_at"]) - datetime.fromisoformat(provision["requested_at"]) \
        == timedelta(seconds=INTENT_DEADLINE_S[Workflow.PROVISION])
    listener = Listener(stack, team.users["VIEWER"], str(topics.fleet_topic(team.workspace_id, team.fleet_id)))

    healthy = stack.scheduler.fire("job-health")
    assert healthy["checked"] >= 1 and not healthy["stopped_early"], healthy
    assert _bot(team, bot_id).status == "RUNNING"

    record = InstanceFiles(Path(stack.state_dir) / "gateways", bot_id).load()
    os.killpg(record.pid, signal.SIGSTOP)  # the gateway and its recorder: alive, and answering nothing
    try:
        degraded = _fire_until(stack, team, bot_id, "DEGRADED")
        assert degraded.status_reason.startswith("health check failed"), degraded.status_reason
        message = listener.wait_for(lambda m: m["type"] == "bot.status" and m["data"]["bot_id"] == bot_id
                                    and m["data"]["status"] == "DEGRADED")
        assert message["data"]["action"] == "health"
    finally:
        os.killpg(record.pid, signal.SIGCONT)

    recovered = _fire_until(stack, team, bot_id, "RUNNING")
    assert recovered.status_reason is None and recovered.intent is None
    listener.wait_for(lambda m: m["type"] == "bot.status" and m["data"]["bot_id"] == bot_id
                      and m["data"]["status"] == "RUNNING" and m["data"]["action"] == "health")
    listener.socket.close()
    events = list(AuditEvent.by_target.query(AuditEvent.target_partition(team.workspace_id, f"bot/{bot_id}")))
    health_events = [(e.actor, e.action) for e in events if e.actor == health.HEALTH_ACTOR]
    assert health_events == [("clawster-health", "bot.health.degraded"), ("clawster-health", "bot.health.running")]

    etag = team.owner.get(f"{team.ws}/bots/{bot_id}").ok(200).etag
    team.owner.delete(f"{team.ws}/bots/{bot_id}", etag=etag).ok(202)
    _until("the bot to be deleted", lambda: team.owner.get(f"{team.ws}/bots/{bot_id}").status == 404, SETTLE_S)


def test_the_health_poller_degrades_a_running_bot_whose_gateway_is_gone(stack, team):
    bot = _bot(team, _new_bot(team, "ghost"))
    bot.status, bot.target = "RUNNING", "local"  # as a finished provision leaves it; its gateway then vanished
    Change().edit(bot, ["status", "target"], expected_version=bot.version,
                  stale_error=lambda: VersionConflict("moved")).commit()

    started = time.time()
    degraded = _fire_until(stack, team, bot.id, "DEGRADED")
    assert "no gateway" in degraded.status_reason, degraded.status_reason
    probes = probe_history.window(team.workspace_id, bot.id, started - 1, time.time() + 1)  # the job kept them
    assert probes and not any(probes), probes


def test_a_health_transition_is_not_written_over_a_change_made_since_the_read(stack, team):
    bot = _bot(team, _new_bot(team, "moved-on"))
    bot.status, bot.target = "RUNNING", "local"
    Change().edit(bot, ["status", "target"], expected_version=bot.version,
                  stale_error=lambda: VersionConflict("moved")).commit()
    read = _bot(team, bot.id)
    team.owner.patch(f"{team.ws}/bots/{bot.id}", {"tags": {"moved": "yes"}},
                     etag=team.owner.get(f"{team.ws}/bots/{bot.id}").ok(200).etag).ok(200)

    assert not health.transition(read, BotStatus.DEGRADED, "health check failed: test", "test-request")
    assert _bot(team, bot.id).status == "RUNNING"
