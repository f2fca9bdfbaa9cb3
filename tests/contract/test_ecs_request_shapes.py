"""What the ECS provider sends AWS, recorded from the SDK's own calls (boto3 event hooks) where moto keeps less
than it is told (deployment configuration, client tokens, policies): compared with requests written here by hand
from the ECS, EFS and IAM documentation, field by field."""

from __future__ import annotations

import json

import pytest

from clawster.local.cloud.container_host import ContainerHost
from layers.providers.base import GatewaySpec
from layers.providers.ecs import EcsProvider
from tests.contract.target_ecs import ecs_world
from tests.fakes.container_launcher import FakeLauncher

BOT = "SHAPES01"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One create, with every request the provider's clients made: {(service, operation): [params, ...]}."""
    host = ContainerHost(tmp_path_factory.mktemp("host"), FakeLauncher(), supervise_interval_s=0.1)
    with ecs_world(tmp_path_factory.mktemp("ecs"), host) as world:
        calls: dict[tuple[str, str], list[dict]] = {}
        clients = {name: world.client(name) for name in ("ecs", "efs", "iam", "logs", "secretsmanager")}
        for name, client in clients.items():
            client.meta.events.register(
                "provide-client-params.*.*",
                lambda params, model, name=name, **_: calls.setdefault((name, model.name), []).append(params))
        provider = EcsProvider(world.settings, **clients)
        provider.create(GatewaySpec(BOT, {"ui": {"seamColor": "#0a0b0c"}}))
        sm = world.client("secretsmanager")
        arns = {what: sm.describe_secret(SecretId=f"clawster/gateways/{BOT}/{what}")["ARN"] for what in ("token", "config")}
        token = sm.get_secret_value(SecretId=arns["token"])["SecretString"]
        yield world.settings, calls, arns, token
    host.close()


def test_the_task_definition_is_the_one_written_by_hand(recorded):
    settings, calls, arns, _ = recorded
    [request] = calls[("ecs", "RegisterTaskDefinition")]
    [point] = calls[("efs", "CreateAccessPoint")]
    role = f"arn:aws:iam::123456789012:role/clawster/gateways/clawster-gw-{BOT}"  # the path CDK lets it use
    access_point_id = request["volumes"][0]["efsVolumeConfiguration"]["authorizationConfig"]["accessPointId"]
    assert access_point_id.startswith("fsap-") and point["FileSystemId"] == settings.file_system_id
    expected = {
        "family": f"clawster-gw-{BOT}",
        "taskRoleArn": role,
        "executionRoleArn": role,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "1024",
        "memory": "2048",
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        "containerDefinitions": [{
            "name": "gateway",
            "image": "clawster-gateway:2026.9.6",
            "essential": True,
            "user": "10001:10001",
            "portMappings": [{"containerPort": 18789, "protocol": "tcp", "name": "gateway"}],
            "environment": [{"name": "PORT", "value": "18789"}],
            "secrets": [{"name": "OPENCLAW_GATEWAY_TOKEN", "valueFrom": arns["token"]},
                        {"name": "CLAWSTER_GATEWAY_CONFIG", "valueFrom": arns["config"]}],
            "mountPoints": [{"sourceVolume": "state", "containerPath": "/var/lib/openclaw", "readOnly": False}],
            "healthCheck": {"command": ["CMD", "node", "/usr/local/lib/clawster/healthcheck.mjs"],
                            "interval": 10, "timeout": 5, "retries": 3, "startPeriod": 60},
            "stopTimeout": 30,
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": f"/clawster/gateways/{BOT}", "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "gateway"}},
        }],
        "volumes": [{"name": "state", "efsVolumeConfiguration": {
            "fileSystemId": settings.file_system_id, "transitEncryption": "ENABLED",
            "authorizationConfig": {"accessPointId": access_point_id, "iam": "ENABLED"}}}],
    }
    tags = request.pop("tags")
    for key in expected:
        assert request[key] == expected[key], key
    assert set(request) == set(expected)
    assert {t["key"] for t in tags} == {"clawster:bot", "clawster:digest"}


def test_no_secret_value_is_in_any_ecs_request(recorded):
    _, calls, _, token = recorded
    # The token and the config reach the container by ARN only: no ECS request holds either value
    sent = json.dumps([params for (service, _), requests in calls.items() if service == "ecs" for params in requests])
    assert token not in sent
    assert "#0a0b0c" not in sent
    [request] = calls[("ecs", "RegisterTaskDefinition")]
    names = {e["name"] for e in request["containerDefinitions"][0]["environment"]}
    assert not names & {"OPENCLAW_GATEWAY_TOKEN", "CLAWSTER_GATEWAY_CONFIG"}


def test_the_service_runs_one_task_privately_and_never_two_on_one_state(recorded):
    settings, calls, _, _ = recorded
    [request] = calls[("ecs", "CreateService")]
    assert request["desiredCount"] == 1
    assert request["launchType"] == "FARGATE"
    assert request["deploymentConfiguration"] == {"minimumHealthyPercent": 0, "maximumPercent": 100,
                                                  "deploymentCircuitBreaker": {"enable": True, "rollback": False}}
    assert request["networkConfiguration"] == {"awsvpcConfiguration": {
        "subnets": settings.subnets, "securityGroups": settings.security_groups, "assignPublicIp": "DISABLED"}}
    assert request["serviceName"] == request["taskDefinition"].split("/")[-1].split(":")[0] == f"clawster-gw-{BOT}"
    assert len(request["clientToken"]) == 36


def test_the_access_point_is_the_bots_own_directory_as_the_images_user(recorded):
    settings, calls, _, _ = recorded
    [request] = calls[("efs", "CreateAccessPoint")]
    token = request.pop("ClientToken")
    assert len(token) == 64  # EFS's maximum: one create of this gateway (retries of it) gets one access point
    assert request == {
        "FileSystemId": settings.file_system_id,
        "PosixUser": {"Uid": 10001, "Gid": 10001},
        "RootDirectory": {"Path": f"/bots/{BOT}",
                          "CreationInfo": {"OwnerUid": 10001, "OwnerGid": 10001, "Permissions": "0750"}},
        "Tags": [{"Key": "Name", "Value": f"clawster-gw-{BOT}"}, {"Key": "clawster:bot", "Value": BOT}],
    }


def test_the_role_reads_only_its_own_secrets_logs_and_access_point(recorded):
    settings, calls, arns, _ = recorded
    [role] = calls[("iam", "CreateRole")]
    assert json.loads(role["AssumeRolePolicyDocument"]) == {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    [put] = calls[("iam", "PutRolePolicy")]
    point = calls[("efs", "CreateAccessPoint")][0]
    statements = {s["Sid"]: s for s in json.loads(put["PolicyDocument"])["Statement"]}
    assert statements["ReadOwnSecrets"] == {"Sid": "ReadOwnSecrets", "Effect": "Allow",
                                            "Action": "secretsmanager:GetSecretValue",
                                            "Resource": [arns["token"], arns["config"]]}
    assert statements["WriteOwnLogs"]["Resource"] == (
        f"arn:aws:logs:us-east-1:123456789012:log-group:/clawster/gateways/{BOT}:*")
    mount = statements["MountOwnAccessPoint"]
    assert mount["Resource"] == f"arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/{settings.file_system_id}"
    assert mount["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"].endswith(
        "access-point/" + calls[("ecs", "RegisterTaskDefinition")][0]["volumes"][0]["efsVolumeConfiguration"]
        ["authorizationConfig"]["accessPointId"])
    assert point["FileSystemId"] == settings.file_system_id
    assert set(statements) == {"ReadOwnSecrets", "WriteOwnLogs", "MountOwnAccessPoint"}  # no ECR: not an ECR image


def test_the_log_group_keeps_its_lines_for_the_retention_set(recorded):
    settings, calls, _, _ = recorded
    [group] = calls[("logs", "CreateLogGroup")]
    assert group == {"logGroupName": f"/clawster/gateways/{BOT}", "tags": {"clawster:bot": BOT}}
    assert calls[("logs", "PutRetentionPolicy")] == [{"logGroupName": f"/clawster/gateways/{BOT}", "retentionInDays": 30}]


def test_every_bot_role_carries_the_deployments_permissions_boundary(tmp_path):
    # Given a deployment with a boundary (CDK: CLAWSTER_ECS_ROLE_BOUNDARY; it lets roles be made only with it)
    host = ContainerHost(tmp_path / "host", FakeLauncher(), supervise_interval_s=0.1)
    with ecs_world(tmp_path, host) as world:
        iam = world.client("iam")
        boundary = iam.create_policy(PolicyName="GatewayRoleBoundary", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                                    "Resource": "*"}]}))["Policy"]["Arn"]
        settings = world.settings.model_copy(update={"role_permissions_boundary": boundary})
        calls: list[dict] = []
        iam.meta.events.register("provide-client-params.iam.CreateRole", lambda params, **_: calls.append(params))
        provider = EcsProvider(settings, ecs=world.client("ecs"), efs=world.client("efs"), iam=iam,
                               logs=world.client("logs"), secretsmanager=world.client("secretsmanager"))
        # When a bot is created
        provider.create(GatewaySpec("BOUNDED1", {}))
        # Then its role was made with the boundary, under the path the deployment allows
        [request] = calls
        assert (request["PermissionsBoundary"], request["Path"]) == (boundary, "/clawster/gateways/")
        role = iam.get_role(RoleName="clawster-gw-BOUNDED1")["Role"]
        assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    host.close()
