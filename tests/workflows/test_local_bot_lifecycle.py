"""A real local bot through the whole path: the API starts each workflow, moto's Step Functions runs the
ASL, the task Lambda drives the local provider, and a real openclaw gateway comes up, restarts, stops,
starts and goes away. Waits are on observed status, with ceilings generous enough for a busy machine."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from clawster.domain import topics
from layers.providers.local import LocalProvider

pytestmark = pytest.mark.slow

SETTLE_S = 900  # a gateway starts in 7-14 s alone; on 2 busy cores with others starting, minutes


def wait_for_status(team, bot_path: str, wanted: set[str], ceiling_s: float = SETTLE_S) -> dict:
    """Poll until the bot's status is one of `wanted` and no workflow owns it; fail on a stuck one."""
    deadline, bot = time.monotonic() + ceiling_s, {}
    while time.monotonic() < deadline:
        bot = team.owner.get(bot_path).ok(200).body
        if bot["status"] in wanted and bot["intent"] is None:
            return bot
        if bot["status"] == "ERROR" and "ERROR" not in wanted:
            pytest.fail(f"bot ended in ERROR: {bot['status_reason']}")
        time.sleep(0.5)  # a poll interval, not a timing assumption: the ceiling is what bounds the wait
    pytest.fail(f"bot still {bot.get('status')} after {ceiling_s}s: {bot}")


class Listener:
    """A stream API client following one topic, collecting every message on a thread."""

    def __init__(self, stack, user: str, topic: str):
        self.socket = connect(f"{stack.ws_url}/?token={quote(stack.issuer.issue(user))}", open_timeout=120)
        self.socket.send(json.dumps({"action": "subscribe", "topic": topic}))
        assert json.loads(self.socket.recv(timeout=120))["type"] == "subscribed"
        self.messages: list[dict] = []
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self) -> None:
        try:
            for raw in self.socket:
                self.messages.append(json.loads(raw))
        except ConnectionClosed:
            pass

    def wait_for(self, match, ceiling_s: float = 120) -> dict:
        deadline = time.monotonic() + ceiling_s
        while time.monotonic() < deadline:
            for message in list(self.messages):
                if match(message):
                    return message
            time.sleep(0.05)
        pytest.fail(f"no matching message in {ceiling_s}s: {self.messages[-5:]}")

    def close(self) -> None:
        self.socket.close()


def test_a_bot_created_with_a_target_runs_restarts_stops_starts_and_is_deleted(stack, team):
    team.with_bot()
    listener = Listener(stack, team.users["VIEWER"], str(topics.fleet_topic(team.workspace_id, team.fleet_id)))
    created = team.owner.post(f"{team.ws}/fleets/{team.fleet_id}/bots",
                              {"name": "real-one", "template_id": "minimal", "target": "local"}).ok(201).body
    assert created["status"] == "CREATING" and created["intent"]["action"] == "provision"
    assert created["intent"]["execution_arn"].startswith("arn:aws:states:")
    bot_path = f"{team.ws}/bots/{created['id']}"

    running = wait_for_status(team, bot_path, {"RUNNING"})
    assert running["applied_revision_id"] == running["desired_revision_id"]
    assert running["applied_config_hash"] and running["openclaw_version"] == "2026.9.6"
    assert running["last_workflow"]["action"] == "provision" and running["last_workflow"]["status"] == "RUNNING"
    steps = team.owner.get(f"{bot_path}/provisioning").ok(200).body
    assert not steps["running"] and steps["workflow"]["id"] == running["last_workflow"]["id"]
    assert [s["step"] for s in steps["steps"]] == ["begin", "create", "ready", "verify", "finish"]
    assert all(s["status"] == "SUCCEEDED" and s["started_at"] and s["ended_at"] for s in steps["steps"])
    gateway_dir = Path(stack.state_dir) / "gateways" / created["id"]
    assert (gateway_dir / "instance.json").exists()

    # The same story, live on the stream API to a VIEWER following the fleet: in order.
    listener.wait_for(lambda m: m["type"] == "bot.status" and m["data"]["status"] == "RUNNING")
    mine = [m for m in listener.messages if m["data"].get("bot_id") == created["id"]]
    story = [(m["type"], m["data"].get("status"), m["data"].get("step")) for m in mine]
    assert story[0] == ("bot.status", "CREATING", None), story
    assert ("bot.step", "SUCCEEDED", "create") in story and ("bot.step", "SUCCEEDED", "ready") in story, story
    assert story.index(("bot.step", "SUCCEEDED", "create")) < story.index(("bot.status", "RUNNING", None)), story
    listener.close()

    # A second action while one runs is refused, naming the pending one.
    team.owner.post(f"{bot_path}/restart").ok(202)
    refused = team.owner.post(f"{bot_path}/stop").ok(409)
    assert refused.body["details"]["pending_intent"] == "restart"
    wait_for_status(team, bot_path, {"RUNNING"})

    team.owner.post(f"{bot_path}/stop").ok(202)
    stopped = wait_for_status(team, bot_path, {"STOPPED"})
    assert stopped["last_workflow"]["action"] == "stop"
    # A config changed while it is stopped is only recorded; the start applies it, once the gateway serves.
    config = team.owner.get(f"{bot_path}/revisions/{stopped['desired_revision_id']}").ok(200).body["config"]
    changed = team.owner.patch(bot_path, {"config": {**config, "ui": {"seamColor": "#2b2b2b"}}},
                               etag=team.owner.get(bot_path).ok(200).etag).ok(200).body
    assert changed["desired_revision_id"] != changed["applied_revision_id"] == stopped["applied_revision_id"]
    team.owner.post(f"{bot_path}/start").ok(202)
    started = wait_for_status(team, bot_path, {"RUNNING"})
    assert started["applied_revision_id"] == changed["desired_revision_id"]
    with LocalProvider(Path(stack.state_dir) / "gateways", supervise=False).client(created["id"]) as client:
        live = client.config_get()
    assert live.config["ui"]["seamColor"] == "#2b2b2b" and started["applied_config_hash"] == live.hash
    steps = team.owner.get(f"{bot_path}/provisioning").ok(200).body["steps"]
    assert [s["step"] for s in steps] == ["begin", "start", "ready", "apply", "verify", "finish"], steps

    etag = team.owner.get(bot_path).ok(200).etag
    deleting = team.owner.delete(bot_path, etag=etag).ok(202).body
    assert deleting["intent"]["action"] == "delete"
    deadline = time.monotonic() + SETTLE_S
    while team.owner.get(bot_path).status != 404:
        assert time.monotonic() < deadline, team.owner.get(bot_path).body
        time.sleep(0.5)
    assert not gateway_dir.exists()
    assert team.owner.get(f"{team.ws}/fleets/{team.fleet_id}").ok(200).body["bot_count"] == 1  # bot-a remains
