"""The AWS requests that make one bot's gateway on ECS Fargate, as plain data (no I/O), so each can be read and
checked on its own: names, the task definition, the service, the role and what it may do."""

from __future__ import annotations

import hashlib
import json
import re

from ..cloud.common import ENV_CONFIG, ENV_TOKEN, GATEWAY_PORT, RUN_AS, STATE_MOUNT, image
from .settings import Settings

CONTAINER = "gateway"
VOLUME = "state"
HEALTHCHECK = ["CMD", "node", "/usr/local/lib/clawster/healthcheck.mjs"]  # deploy/gateway/healthcheck.mjs in the image
START_PERIOD_S = 60  # openclaw starts in 7-14 s; a cold EFS mount and image pull add to it
BOT_TAG, SPEC_TAG, RESTART_TAG, RESTORE_TAG, DIGEST_TAG = (
    "clawster:bot", "clawster:spec", "clawster:restart", "clawster:restore", "clawster:digest")
BOT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$")  # fits every name below (an IAM role name: 64)


ROLE_PATH = "/clawster/gateways/"  # the deployment lets the control plane make and pass roles under this path only


def name(bot_id: str) -> str:
    """The service, the task definition family and the role of a bot."""
    return f"clawster-gw-{bot_id}"


def log_group(bot_id: str) -> str:
    return f"/clawster/gateways/{bot_id}"


def root_directory(bot_id: str) -> str:
    return f"/bots/{bot_id}"


def digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def client_token(*parts: str, size: int = 36) -> str:
    """An idempotency token for one create of one gateway: the same for its retries, another for a later gateway of
    the same bot (`parts` name the generation, e.g. its token secret's ARN, new each time the bot is created)."""
    return digest(list(parts))[:size]


def access_point(settings: Settings, bot_id: str, *, token: str) -> dict:
    """The bot's own directory on the file system, owned by the image's user, and every mount through it as that
    user: one bot's gateway cannot reach another's state."""
    uid, gid = RUN_AS
    return {
        "ClientToken": token,  # a retried create gets the access point the first one made
        "FileSystemId": settings.file_system_id,
        "PosixUser": {"Uid": uid, "Gid": gid},
        "RootDirectory": {"Path": root_directory(bot_id),
                          "CreationInfo": {"OwnerUid": uid, "OwnerGid": gid, "Permissions": "0750"}},
        "Tags": [{"Key": "Name", "Value": name(bot_id)}, {"Key": BOT_TAG, "Value": bot_id}],
    }


TRUST_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def role_policy(settings: Settings, *, secret_arns: list[str], access_point_arn: str, log_group_arn: str) -> dict:
    """What the bot's role may do, as the execution role (pull, inject its two secrets, write its logs) and as the
    task role (mount its access point): nothing of any other bot."""
    file_system_arn = access_point_arn.split(":access-point/")[0] + f":file-system/{settings.file_system_id}"
    statements = [
        {"Sid": "ReadOwnSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arns},
        {"Sid": "WriteOwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"{log_group_arn}:*"},
        {"Sid": "MountOwnAccessPoint", "Effect": "Allow",
         "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"], "Resource": file_system_arn,
         "Condition": {"StringEquals": {"elasticfilesystem:AccessPointArn": access_point_arn}}},
    ]
    ecr = _ecr_repository_arn(settings.image_repository)
    if ecr:
        statements += [
            {"Sid": "PullImageToken", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {"Sid": "PullImage", "Effect": "Allow", "Resource": ecr,
             "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]},
        ]
    return {"Version": "2012-10-17", "Statement": statements}


def _ecr_repository_arn(repository: str) -> str | None:
    """The ECR repository an image name points at (<account>.dkr.ecr.<region>.amazonaws.com/<name>), if it does."""
    found = re.match(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/(.+)$", repository)
    if not found:
        return None
    account, region, china, repo = found.groups()
    return f"arn:{'aws-cn' if china else 'aws'}:ecr:{region}:{account}:repository/{repo}"


def task_definition(settings: Settings, bot_id: str, *, region: str, version: str, cpu_units: int, memory_mb: int, role_arn: str,
                    token_arn: str, config_arn: str, access_point_id: str) -> dict:
    """One gateway container on Fargate: its token and config injected by ARN (never as plain environment values),
    its state on the bot's EFS access point (encrypted in transit, mounted with the role's IAM identity), its
    logs to the bot's log group, healthy when the gateway's /readyz answers."""
    container = {
        "name": CONTAINER,
        "image": image(version, settings.image_repository),
        "essential": True,
        "user": f"{RUN_AS[0]}:{RUN_AS[1]}",
        "portMappings": [{"containerPort": GATEWAY_PORT, "protocol": "tcp", "name": CONTAINER}],
        "environment": [{"name": "PORT", "value": str(GATEWAY_PORT)}],
        "secrets": [{"name": ENV_TOKEN, "valueFrom": token_arn}, {"name": ENV_CONFIG, "valueFrom": config_arn}],
        "mountPoints": [{"sourceVolume": VOLUME, "containerPath": STATE_MOUNT, "readOnly": False}],
        "healthCheck": {"command": HEALTHCHECK, "interval": 10, "timeout": 5, "retries": 3, "startPeriod": START_PERIOD_S},
        "stopTimeout": 30,  # the gateway flushes its state on SIGTERM
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": log_group(bot_id), "awslogs-region": region, "awslogs-stream-prefix": CONTAINER}},
    }
    definition = {
        "family": name(bot_id),
        "taskRoleArn": role_arn,
        "executionRoleArn": role_arn,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": str(cpu_units),
        "memory": str(memory_mb),
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        "containerDefinitions": [container],
        "volumes": [{"name": VOLUME, "efsVolumeConfiguration": {
            "fileSystemId": settings.file_system_id, "transitEncryption": "ENABLED",
            "authorizationConfig": {"accessPointId": access_point_id, "iam": "ENABLED"}}}],
    }
    return {**definition, "tags": [{"key": BOT_TAG, "value": bot_id}, {"key": DIGEST_TAG, "value": digest(definition)}]}


def service(settings: Settings, bot_id: str, *, task_definition_arn: str, spec_digest: str, token: str) -> dict:
    """desiredCount 1 and 0/100 %: a replacement starts only after the old task stopped, never two gateways on one
    state; the circuit breaker ends a deployment whose tasks keep failing; no public address."""
    return {
        "cluster": settings.cluster,
        "serviceName": name(bot_id),
        "taskDefinition": task_definition_arn,
        "desiredCount": 1,
        "launchType": "FARGATE",
        "deploymentConfiguration": {"minimumHealthyPercent": 0, "maximumPercent": 100,
                                    "deploymentCircuitBreaker": {"enable": True, "rollback": False}},
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": list(settings.subnets), "securityGroups": list(settings.security_groups), "assignPublicIp": "DISABLED"}},
        "enableECSManagedTags": True,
        "propagateTags": "SERVICE",
        "clientToken": token,  # a retried create is the same request, not a second service
        "tags": [{"key": BOT_TAG, "value": bot_id}, {"key": SPEC_TAG, "value": spec_digest}],
    }
