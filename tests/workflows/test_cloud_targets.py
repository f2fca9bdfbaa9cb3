"""The done-when of the cloud targets: `clawster bot create NAME --fleet F --target ecs|cloudrun|aci` against the
local stack runs the same provisioning workflow (the same ASL as the local target) to RUNNING, through each
adapter's official SDK, on the stand-ins, where the container is the gateway image's real entrypoint on node 24 and
openclaw. Then the bot's gateway answers with the token its provider keeps, the bot shows its pinned settings and
its cost, and deleting it deprovisions everything the target held for it.

Waits are the CLI's own (it follows the workflow) and observed states, with ceilings for a busy machine."""

from __future__ import annotations

import json
import time

import pytest

from clawster.gateway import AdminRpcTransport, GatewayClient
from clawster.secrets import resolve
from layers.providers.errors import GatewayNotFound
from tests.e2e.cli_runner import clawster, ok
from tests.workflows.test_local_bot_lifecycle import wait_for_status

pytestmark = pytest.mark.slow
CEILING_S = 900
PROVISION_STEPS = ["begin", "create", "ready", "verify", "finish"]
# What each target's settings pin when the bot names only its size (the local stack's deployment defaults), and
# the hourly price of a "medium" gateway: 2 vCPU and 4 GB at each table's list prices, worked out by hand.
EXPECTED = {
    "ecs": ({"cluster": "clawster", "size": "medium"}, round(2 * 0.04048 + 4 * 0.004445, 4)),
    "cloudrun": ({"project": "clawster-local", "ingress": "internal", "size": "medium"}, round(2 * 0.0648 + 4 * 0.0072, 4)),
    "aci": ({"storage_account": "clawsterlocal", "storage_key_ref": "clawster/local/azure-storage-key",
             "size": "medium"}, round(2 * 0.0486 + 4 * 0.0054, 4)),
}


@pytest.fixture
def cli(stack, tmp_path, team):
    token = stack.issuer.issue(team.users["OWNER"])

    def run(*args: str):
        env = {"CLAWSTER_API_URL": stack.api_url, "CLAWSTER_STATE_DIR": str(stack.state_dir),
               "CLAWSTER_TOKEN": token, "CLAWSTER_WORKSPACE": team.workspace_id}
        return ok(clawster(*args, home=tmp_path / "home", env=env, timeout=CEILING_S + 60))

    return run


@pytest.mark.parametrize("target", ["ecs", "cloudrun", "aci"])
def test_a_bot_created_on_a_cloud_target_runs_the_same_workflow_to_running_on_its_stand_in(target, cli, stack, team):
    fleet = team.owner.post(f"{team.ws}/fleets", {"name": f"on-{target}"}).ok(201).body["id"]
    listed = json.loads(cli("-o", "json", "target", "list").stdout)
    assert {t["name"]: t["available"] for t in listed["items"]}[target] is True

    run = cli("-o", "json", "bot", "create", f"{target}-bot", "--fleet", fleet, "--template", "minimal",
              "--target", target, "--target-setting", "size=medium", "--timeout", str(CEILING_S))
    bot = json.loads(run.stdout)
    assert bot["status"] == "RUNNING" and bot["target"] == target, run.stderr
    steps = [line.split()[2] for line in run.stderr.splitlines() if len(line.split()) >= 4 and line.split()[1] == "step"]
    assert list(dict.fromkeys(steps)) == PROVISION_STEPS, run.stderr  # the one provisioning ASL, step by step

    pinned, hourly = EXPECTED[target]
    shown = team.owner.get(f"{team.ws}/bots/{bot['id']}").ok(200).body
    assert pinned.items() <= shown["target_settings"].items(), shown["target_settings"]
    assert shown["cost_estimate"]["hourly_usd"] == hourly and shown["cost_estimate"]["size"] == "medium"
    assert shown["applied_config_hash"]  # verified on the gateway itself

    # The gateway answers at the endpoint its provider gives, with the token it keeps (by reference).
    from clawster.services.targets import provider_of
    from clawster.store.entities import Bot

    provider = provider_of(Bot.get(*Bot.key(team.workspace_id, bot["id"])))
    endpoint = provider.endpoint(bot["id"])
    with GatewayClient(AdminRpcTransport(endpoint.http_url, resolve(endpoint.token_ref))) as client:
        assert client.health()["ok"] is True
        assert client.config_get().hash == shown["applied_config_hash"]
    assert any(stack.cloud.host.status(name) for name in stack.cloud.host.names())

    cli("bot", "delete", bot["id"], "--timeout", str(CEILING_S))
    deadline = time.monotonic() + CEILING_S
    while team.owner.get(f"{team.ws}/bots/{bot['id']}").status != 404:
        assert time.monotonic() < deadline
        time.sleep(0.5)  # a poll interval; the ceiling bounds the wait
    with pytest.raises(GatewayNotFound):
        provider.describe(bot["id"])
    running = [n for n in stack.cloud.host.names() if (stack.cloud.host.status(n) or None) and
               stack.cloud.host.status(n).state == "RUNNING"]
    assert not running, f"containers still running after the deprovision: {running}"


def test_a_fleets_target_provisions_a_bot_created_without_one(stack, team):
    """A fleet names where its bots run: a bot created without a target is provisioned there on request."""
    fleet = team.owner.post(f"{team.ws}/fleets", {"name": "fleet-target", "target": "cloudrun",
                                                  "target_settings": {"cloudrun": {"size": "large"}}}).ok(201).body
    assert fleet["target"] == "cloudrun"
    bot = team.owner.post(f"{team.ws}/fleets/{fleet['id']}/bots", {"name": "later", "template_id": "minimal"}).ok(201).body
    assert bot["status"] == "PENDING" and bot["target"] is None
    team.owner.post(f"{team.ws}/bots/{bot['id']}/provision", {}).ok(202)
    running = wait_for_status(team, f"{team.ws}/bots/{bot['id']}", {"RUNNING"}, CEILING_S)
    assert running["target"] == "cloudrun" and running["target_settings"]["size"] == "large"
    team.owner.delete(f"{team.ws}/bots/{bot['id']}", str(running["version"])).ok(202)
