"""Rotating a connector's secret across real gateways, by the real rotate ASL in moto's Step Functions.

Three running bots reference one connector (an LLM key, at models.providers.rotated.apiKey). A rotation in
batches of one is stopped at the second bot (its gateway update refused, again and again, by the local
target's fault injection): no further batch runs, the first bot gets the old value back, the old version
stays AWSCURRENT and the new one loses AWSPENDING. A rotation in batches of two then succeeds: every
gateway's own config file holds the new value, AWSCURRENT is the new version and the old one is retired.
"""

from __future__ import annotations

import itertools
import json
import time

import pytest

from layers.providers.local import LocalProvider, faults
from layers.providers.local.instance import InstanceFiles
from tests.e2e.test_websocket import open_socket, receive, subscribe  # noqa: F401  (open_socket: the fixture)
from tests.helpers import Team
from tests.workflows.test_failures import CEILING_S, delete, settle

pytestmark = pytest.mark.slow


def key(n: int) -> str:
    return "sk-" + "proj-" + f"rotation{n:02d}" + "k" * 30


def provider_config(reference: dict) -> dict:
    return {"models": {"providers": {"rotated": {
        "baseUrl": "http://127.0.0.1:29999/v1", "apiKey": reference, "api": "openai-completions",
        "models": [{"id": "mock-1", "name": "Mock 1", "input": ["text"], "contextWindow": 32000, "maxTokens": 1024}],
    }}}}


@pytest.fixture(scope="module")
def fleet(stack, client_for):
    """A team, a connector and three RUNNING bots whose config references it (provisioned together)."""
    counter = itertools.count()
    team = Team.create(client_for, lambda prefix="u": f"rotation-{prefix}-{next(counter)}").with_bot()
    connector = team.owner.post(f"{team.ws}/connectors", {"name": "llm", "kind": "openai", "value": key(1)}).ok(201).body
    bots = []
    for name in ("first", "second", "third"):
        bots.append(team.owner.post(f"{team.ws}/fleets/{team.fleet_id}/bots", {
            "name": name, "template_id": "minimal", "target": "local",
            "config": provider_config(connector["reference"])}).ok(201).body)
    for bot in bots:
        assert settle(team, f"{team.ws}/bots/{bot['id']}")["status"] == "RUNNING"
    bots.sort(key=lambda b: b["id"])  # the order the rotation takes them in (the table's, by id)
    yield team, connector, [b["id"] for b in bots]
    for bot in bots:
        delete(team, f"{team.ws}/bots/{bot['id']}")


def live_key(stack, bot_id: str) -> str:
    """What the gateway's own config file holds (the local provider's InstanceFiles)."""
    config = InstanceFiles(stack.state_dir / "gateways", bot_id).read_config()
    return config["models"]["providers"]["rotated"]["apiKey"]


def ended(team, path: str) -> dict:
    deadline = time.monotonic() + CEILING_S
    while time.monotonic() < deadline:
        rotation = team.owner.get(path).ok(200).body
        if rotation["status"] != "RUNNING":
            return rotation
        time.sleep(0.5)  # polling interval only: the ceiling bounds the wait
    pytest.fail(f"rotation {path} never ended")


def stages(stack, secret: str) -> dict[str, list[str]]:
    return stack._client("secretsmanager").describe_secret(SecretId=secret)["VersionIdsToStages"]


def test_a_rotation_that_fails_on_one_bot_stops_and_keeps_the_old_value(stack, fleet):
    team, connector, (first, second, third) = fleet
    path = f"{team.ws}/connectors/{connector['id']}"
    old_version = connector["current_version_id"]
    assert [live_key(stack, b) for b in (first, second, third)] == [key(1)] * 3
    root = stack.state_dir / "gateways"
    faults.inject(root, f"update.{second}", 100)  # the second bot's target refuses every update: past the retries
    try:
        started = team.owner.post(f"{path}/rotate", {"value": key(2), "batch_size": 1}).ok(202).body
        rotation = ended(team, f"{path}/rotations/{started['id']}")
    finally:
        faults.inject(root, f"update.{second}", 0)
    assert rotation["status"] == "FAILED" and "injected fault" in rotation["reason"], rotation
    progress = rotation["bots"]
    assert progress[first]["status"] == "ROLLED_BACK" and progress[first]["batch"] == 0, progress
    assert progress[second]["status"] in ("ROLLED_BACK", "ROLLBACK_FAILED"), progress  # its update never landed
    assert progress[third]["status"] == "WAITING" and rotation["batches_done"] == 1, progress  # no further batch
    assert [live_key(stack, b) for b in (first, second, third)] == [key(1)] * 3
    versions = stages(stack, connector["secret_name"])
    assert versions[old_version] == ["AWSCURRENT"] and versions[started["new_version_id"]] == []
    after = team.owner.get(path).ok(200).body
    assert after["current_version_id"] == old_version and after["rotation_id"] is None
    assert after["last_rotation"]["status"] == "FAILED"
    for bot_id in (first, second, third):  # the bots serve on, untouched in the table
        assert team.owner.get(f"{team.ws}/bots/{bot_id}").ok(200).body["status"] == "RUNNING"


def test_a_rotation_reaches_every_bot_in_batches_then_retires_the_old_version(stack, fleet, open_socket):  # noqa: F811
    team, connector, bots = fleet
    path = f"{team.ws}/connectors/{connector['id']}"
    old_version = team.owner.get(path).ok(200).body["current_version_id"]
    viewer = open_socket(team.users["VIEWER"])  # the progress, live on the workspace's topic
    subscribe(viewer, f"workspaces/{team.workspace_id}")
    started = team.owner.post(f"{path}/rotate", {"value": key(3), "batch_size": 2}).ok(202).body
    rotation = ended(team, f"{path}/rotations/{started['id']}")
    assert rotation["status"] == "SUCCEEDED", rotation
    announced = []
    while not announced or announced[-1]["status"] == "RUNNING":
        message = receive(viewer)
        if message["type"] == "connector.rotation" and message["data"]["rotation_id"] == started["id"]:
            announced.append(message["data"])
    assert [(a["status"], a["batches_done"]) for a in announced] == [
        ("RUNNING", 0), ("RUNNING", 0), ("RUNNING", 1), ("RUNNING", 2), ("SUCCEEDED", 2)]  # start, plan, batches, end
    assert key(3) not in json.dumps(announced)
    assert rotation["batch_count"] == rotation["batches_done"] == 2
    assert {b: p["status"] for b, p in rotation["bots"].items()} == dict.fromkeys(bots, "VERIFIED")
    assert sorted(p["batch"] for p in rotation["bots"].values()) == [0, 0, 1]
    assert [live_key(stack, b) for b in bots] == [key(3)] * 3
    versions = stages(stack, connector["secret_name"])
    assert versions[started["new_version_id"]] == ["AWSCURRENT"] and versions[old_version] == []  # retired
    after = team.owner.get(path).ok(200).body
    assert after["current_version_id"] == started["new_version_id"] and after["last_rotation"]["status"] == "SUCCEEDED"
    provider = LocalProvider(stack.state_dir / "gateways", supervise=False)
    for bot_id in bots:
        bot = team.owner.get(f"{team.ws}/bots/{bot_id}").ok(200).body
        assert bot["status"] == "RUNNING"
        with provider.client(bot_id) as client:  # the gateway's own hash is on the bot: drift sees no change
            assert bot["applied_config_hash"] == client.config_get().hash
    audit = team.owner.get(f"{team.ws}/audit", query={"limit": 100, "action": "bot.secret.rotated"}).ok(200).body
    assert {e["target"] for e in audit["items"]} >= {f"bot/{b}" for b in bots}
