"""An ECS bot through the whole path: the API starts each workflow, moto's Step Functions runs the ASL, the task
workers drive the ECS adapter (boto3 against moto), the ECS agent stand-in runs the service's task, and the
gateway image's entrypoint runs a real openclaw gateway in it. Then what the workflows left in AWS is read back."""

from __future__ import annotations

import time

import boto3
import pytest

pytestmark = pytest.mark.slow

SETTLE_S = 900  # a gateway starts in 7-14 s alone; on 2 busy cores with others starting, minutes


def settled(team, bot_path: str, wanted: str) -> dict:
    deadline, bot = time.monotonic() + SETTLE_S, {}
    while time.monotonic() < deadline:
        bot = team.owner.get(bot_path).ok(200).body
        if bot["status"] == wanted and bot["intent"] is None:
            return bot
        if bot["status"] == "ERROR":
            pytest.fail(f"bot ended in ERROR: {bot['status_reason']}")
        time.sleep(0.5)  # a poll interval; the ceiling bounds the wait
    pytest.fail(f"bot still {bot.get('status')} after {SETTLE_S}s: {bot}")


def test_an_ecs_bot_is_provisioned_restarted_stopped_started_and_deleted(stack, team):
    ecs = boto3.client("ecs", endpoint_url=stack.moto_url, region_name="us-east-1")
    cluster = stack.cloud_env["CLAWSTER_ECS_CLUSTER"]  # the deployment the stack made in moto (its workers' env)
    team.with_bot()
    created = team.owner.post(f"{team.ws}/fleets/{team.fleet_id}/bots", {
        "name": "on-fargate", "template_id": "minimal", "target": "ecs",
        "target_settings": {"size": "medium"}}).ok(201).body
    bot_path, service_name = f"{team.ws}/bots/{created['id']}", f"clawster-gw-{created['id']}"
    running = settled(team, bot_path, "RUNNING")
    assert running["applied_revision_id"] == running["desired_revision_id"]

    def service() -> dict:
        return ecs.describe_services(cluster=cluster, services=[service_name])["services"][0]

    def task_arns(desired: str = "RUNNING") -> list[str]:
        return ecs.list_tasks(cluster=cluster, serviceName=service_name, desiredStatus=desired)["taskArns"]

    # The service runs one task of the medium size, from the gateway image at the bot's version
    assert (service()["desiredCount"], service()["status"]) == (1, "ACTIVE")
    definition = ecs.describe_task_definition(taskDefinition=service()["taskDefinition"])["taskDefinition"]
    assert (definition["cpu"], definition["memory"]) == ("2048", "4096")
    assert definition["containerDefinitions"][0]["image"].endswith(f":{running['openclaw_version']}")
    [first] = task_arns()

    team.owner.post(f"{bot_path}/restart").ok(202)
    settled(team, bot_path, "RUNNING")
    assert first not in task_arns() and first in task_arns("STOPPED")  # a new task replaced the first

    team.owner.post(f"{bot_path}/stop").ok(202)
    settled(team, bot_path, "STOPPED")
    assert service()["desiredCount"] == 0 and task_arns() == []
    team.owner.post(f"{bot_path}/start").ok(202)
    settled(team, bot_path, "RUNNING")
    assert len(task_arns()) == 1

    team.owner.delete(bot_path, etag=team.owner.get(bot_path).ok(200).etag).ok(202)
    deadline = time.monotonic() + SETTLE_S
    while team.owner.get(bot_path).status != 404:
        assert time.monotonic() < deadline, team.owner.get(bot_path).body
        time.sleep(0.5)
    assert service()["status"] in ("DRAINING", "INACTIVE")
    secrets = boto3.client("secretsmanager", endpoint_url=stack.moto_url, region_name="us-east-1")
    names = [s["Name"] for s in secrets.list_secrets()["SecretList"]]
    assert not [n for n in names if n.startswith(f"clawster/gateways/{created['id']}/")]
