"""The ECS stand-in (clawster.local.cloud.ecs_agent on moto, patched by moto_ecs): it refuses requests ECS would
refuse, runs a service's task as ECS does, and injects only what the task's execution role may read."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import moto
import pytest

from clawster.local.cloud import moto_ecs
from clawster.local.cloud.container_host import ContainerHost
from clawster.local.cloud.ecs_agent import EcsAgent
from layers.providers.base import GatewaySpec, GatewayState
from tests.contract.target_ecs import ecs_world
from tests.fakes.container_launcher import FakeLauncher

TARGET = "AmazonEC2ContainerServiceV20141113"
CEILING_S = 60


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    host = ContainerHost(tmp_path_factory.mktemp("host"), FakeLauncher(), supervise_interval_s=0.1)
    with ecs_world(tmp_path_factory.mktemp("ecs"), host) as running:
        yield running
    host.close()


def raw(world, operation: str, body: bytes) -> tuple[int, dict]:
    """An ECS request sent as bytes, not through the SDK: what a client with a bug would send."""
    request = urllib.request.Request(world.url + "/", data=body, method="POST", headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"{TARGET}.{operation}",
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20261126/us-east-1/ecs/aws4_request, SignedHeaders=host, "
                         "Signature=0"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def good_definition(**changes) -> dict:
    return {"family": "shape-check", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "512",
            "memory": "2048", "containerDefinitions": [{"name": "gateway", "image": "clawster-gateway:2026.9.6"}], **changes}


@pytest.mark.parametrize(("body", "named"), [
    (b"{not json", "not JSON"),
    (json.dumps({"family": "shape-check"}).encode(), "containerDefinitions"),
    (json.dumps(good_definition(networkMode="bridged")).encode(), "networkMode"),
    (json.dumps(good_definition(memory="16384")).encode(), "512 CPU, 16384 memory"),
    (json.dumps(good_definition(containerDefinitions=[{"name": "gw", "image": "x", "essential": "yes"}])).encode(), "essential"),
    (json.dumps(good_definition(colour="blue")).encode(), "colour"),
    (json.dumps(good_definition(volumes=[{"name": "state", "efsVolumeConfiguration": {
        "fileSystemId": "fs-12345678", "authorizationConfig": {"accessPointId": "fsap-1", "iam": "ENABLED"}}}])).encode(),
     "transitEncryption"),
])
def test_a_malformed_request_is_refused_with_a_400_naming_what_is_wrong(world, body, named):
    status, answer = raw(world, "RegisterTaskDefinition", body)
    assert status == 400, answer
    assert named in answer["message"]
    assert answer["__type"] in ("ClientException", "SerializationException")


def test_a_well_formed_request_sent_the_same_way_is_taken(world):
    # The control case: the same path and headers with a body ECS takes
    status, answer = raw(world, "RegisterTaskDefinition", json.dumps(good_definition()).encode())
    assert status == 200, answer
    assert answer["taskDefinition"]["family"] == "shape-check"


def test_list_tasks_lists_one_services_running_tasks_as_ecs_does(world):
    # Given two bots' services, both running
    for bot in ("LISTA", "LISTB"):
        world.provider.create(GatewaySpec(bot, {}))
    ecs = world.client("ecs")

    def listed(**filters) -> list[str]:
        return ecs.list_tasks(cluster=world.settings.cluster, **filters)["taskArns"]

    deadline = time.monotonic() + CEILING_S
    while time.monotonic() < deadline and len(listed()) < 2:
        time.sleep(0.1)
    # Then serviceName lists that service's task only, started by its deployment in its group
    [mine] = listed(serviceName="clawster-gw-LISTA")
    [task] = ecs.describe_tasks(cluster=world.settings.cluster, tasks=[mine])["tasks"]
    service = ecs.describe_services(cluster=world.settings.cluster, services=["clawster-gw-LISTA"])["services"][0]
    assert task["group"] == "service:clawster-gw-LISTA"
    assert task["startedBy"] == service["deployments"][0]["id"]
    assert task["launchType"] == "FARGATE"
    # When one is stopped, its task is listed only when asking for STOPPED ones (RUNNING is the default)
    world.provider.stop("LISTA")
    deadline = time.monotonic() + CEILING_S
    while time.monotonic() < deadline and listed(serviceName="clawster-gw-LISTA"):
        time.sleep(0.1)
    assert listed(serviceName="clawster-gw-LISTA") == []
    assert mine in listed(serviceName="clawster-gw-LISTA", desiredStatus="STOPPED")


def test_a_task_whose_role_may_not_read_its_secrets_does_not_start(world):
    # Given a running gateway whose role then loses its secrets statement
    bot = "NOSECRETS"
    world.provider.create(GatewaySpec(bot, {}))
    iam = world.client("iam")
    name = f"clawster-gw-{bot}"
    policy = iam.get_role_policy(RoleName=name, PolicyName=name)["PolicyDocument"]  # boto3 decodes it
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != "ReadOwnSecrets"]
    iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
    # When its task is replaced
    world.provider.restart(bot, request_id="lose-secrets")
    # Then the new task stops before its container runs, as ECS's agent fails to pull the secrets
    deadline, status = time.monotonic() + CEILING_S, None
    while time.monotonic() < deadline:
        status = world.provider.describe(bot)
        if status.state is GatewayState.FAILED:
            break
        time.sleep(0.1)
    assert status.state is GatewayState.FAILED, status
    assert "ResourceInitializationError" in status.detail and "secretsmanager:GetSecretValue" in status.detail


def test_reconcile_once_starts_and_stops_a_service_task(tmp_path):
    # Given an agent that is not polling, over a service made through the provider
    host = ContainerHost(tmp_path / "host", FakeLauncher(), supervise_interval_s=0.1)
    with ecs_world(tmp_path, host, interval_s=3600) as world:
        agent = EcsAgent(host, clusters={world.settings.cluster}, interval_s=3600)
        world.provider.create(GatewaySpec("ONCE", {}))
        assert world.provider.describe("ONCE").detail == "waiting for ECS to start a task"
        # When one round runs, the task is there; the next rounds bring it to RUNNING/HEALTHY
        agent.reconcile_once()
        assert world.provider.describe("ONCE").state is GatewayState.STARTING
        deadline = time.monotonic() + CEILING_S
        while time.monotonic() < deadline and world.provider.describe("ONCE").state is not GatewayState.RUNNING:
            agent.reconcile_once()
            time.sleep(0.1)
        assert world.provider.describe("ONCE").state is GatewayState.RUNNING
        # When the service is scaled to 0, one round stops the task and its container
        world.provider.stop("ONCE")
        agent.reconcile_once()
        assert [s.state for s in map(host.status, host.names())] == ["STOPPED"]
        agent.close()
    host.close()


def test_the_stand_in_is_written_for_the_pinned_moto(monkeypatch):
    # moto_ecs reaches moto's internals (its models, its response dispatch): another moto must be refused, not half-work
    assert moto.__version__ == moto_ecs.MOTO_VERSION
    monkeypatch.setattr(moto, "__version__", "5.3.0")
    with pytest.raises(RuntimeError, match="5.2.5"):
        moto_ecs.check_version()


def test_the_local_stacks_ecs_target_is_a_complete_deployment(world, monkeypatch):
    from clawster.local.cloud.ecs_agent import local_target
    from layers.providers.ecs import Settings, configured

    # Given what the local stack makes in moto for the ECS target, as the environment of its task workers
    env = local_target(world.client, name="local-check")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # Then the target is configured, and settings from that environment alone name real moto resources
    assert configured() is None
    settings = Settings.model_validate({})
    ec2 = world.client("ec2")
    assert len(ec2.describe_subnets(SubnetIds=settings.subnets)["Subnets"]) == 2
    [group] = ec2.describe_security_groups(GroupIds=settings.security_groups)["SecurityGroups"]
    assert [(p["FromPort"], p["ToPort"]) for p in group["IpPermissions"]] == [(18789, 18789)]
    assert world.client("ecs").describe_clusters(clusters=[settings.cluster])["clusters"][0]["status"] == "ACTIVE"
    assert world.client("efs").describe_file_systems(FileSystemId=settings.file_system_id)["FileSystems"][0]["Encrypted"]
