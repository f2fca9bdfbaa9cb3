"""EcsProvider: each bot's gateway is an ECS service of one Fargate task, its state on the bot's EFS access point.

Per bot (shapes.py has every request): its token and config in Secrets Manager (BotSecrets), a log group with
retention, an EFS access point, an IAM role that reads only its two secrets, writes only its logs and mounts only
its access point, a task definition family and a service, all named `clawster-gw-<bot>`. Nothing waits for a
task: ECS's scheduler starts it and describe() reads where it is. Every call can be retried: what exists is found
(by name, tag or client token), the restart and restore request ids are kept as tags on the service.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from ..base import (
    Capabilities,
    Endpoint,
    Failure,
    GatewaySpec,
    GatewayState,
    GatewayStatus,
    GatewayUpdate,
    LiveConfig,
    LogChunk,
    ProvisioningStep,
    SizeTier,
)
from ..cloud.common import ENV_CONFIG, ENV_TOKEN, GATEWAY_PORT, OPENCLAW_VERSIONS, BotSecrets, ConfigBackups, GatewayOps, ws_url
from ..errors import GatewayExists, GatewayNotFound, InvalidSpec, ProviderBusy, UnsupportedChange
from . import shapes
from .aws import call
from .settings import SIZE_TIERS, Settings

DEFAULT_SIZE = GatewaySpec.__dataclass_fields__["size"].default
CONFIG_EXIT = 78  # the entrypoint's and openclaw's exit code for a config they refuse
FAILED_STOP_CODES = ("TaskFailedToStart", "EssentialContainerExited")


def client_config() -> Any:
    """Few SDK retries: the workflow's own Retry waits out throttling without holding a Lambda."""
    from botocore.config import Config

    return Config(retries={"mode": "standard", "total_max_attempts": 3})


class EcsProvider:
    name = "ecs"

    def __init__(self, settings: Settings, *, ecs: Any = None, efs: Any = None, iam: Any = None, logs: Any = None,
                 secretsmanager: Any = None):
        self.settings = settings
        self.ecs, self.efs, self.iam, self.logs_client = (ecs or self._client("ecs"), efs or self._client("efs"),
                                                          iam or self._client("iam"), logs or self._client("logs"))
        self.region = settings.region or self.ecs.meta.region_name  # the control plane's own by default
        self.secrets = BotSecrets(secretsmanager or self._client("secretsmanager"))
        self.backups = ConfigBackups(self.secrets)
        self._definitions: dict[str, dict] = {}  # task definition ARN -> definition: revisions never change

    def _client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=self.settings.region, config=client_config())

    # -- what the target offers -------------------------------------------------------------------
    def capabilities(self) -> Capabilities:
        return Capabilities(persistent_storage=True, sandbox=False, tls_endpoint=False, log_streaming=True,
                            size_tiers=SIZE_TIERS, openclaw_versions=OPENCLAW_VERSIONS)

    def provisioning_steps(self, spec: GatewaySpec) -> list[ProvisioningStep]:
        return [
            ProvisioningStep("resources", "secrets, log group, EFS access point and IAM role of the bot", 2.0),
            ProvisioningStep("service", "task definition and ECS service (desired count 1)", 1.0),
            ProvisioningStep("task", "Fargate places the task, pulls the image, mounts EFS", 45.0),
            ProvisioningStep("ready", "the gateway answers /readyz (openclaw starts in 7-14 s)", 15.0),
        ]

    # -- lifecycle --------------------------------------------------------------------------------
    def create(self, spec: GatewaySpec) -> GatewayStatus:
        size = self.settings.size if spec.size == DEFAULT_SIZE else spec.size  # the bot's target settings name it
        tier = self._checked(spec.bot_id, spec.openclaw_version, size)
        spec_digest = shapes.digest({"bot": spec.bot_id, "version": spec.openclaw_version, "size": size,
                                     "config": spec.config})
        service = self._service(spec.bot_id, draining=True)
        if service is not None and service.get("status") == "DRAINING":
            raise ProviderBusy(f"the deleted service of bot {spec.bot_id} is still draining; create it again after")
        if service is not None:
            if _tags(service).get(shapes.SPEC_TAG) != spec_digest:
                raise GatewayExists(f"bot {spec.bot_id} already has an ECS gateway, created from another spec")
            return self._describe(spec.bot_id, service)
        token = self.secrets.token(spec.bot_id)
        config = self.secrets.config(spec.bot_id, spec.config)
        log_group_arn = self._log_group(spec.bot_id)
        access_point = self._access_point(spec.bot_id, shapes.client_token("access-point", token.arn, size=64))
        role_arn = self._role(spec.bot_id, [token.arn, config.arn], access_point["AccessPointArn"], log_group_arn)
        definition = self._register(spec.bot_id, spec.openclaw_version, tier, role_arn=role_arn, token_arn=token.arn,
                                    config_arn=config.arn, access_point_id=access_point["AccessPointId"])
        request = shapes.service(self.settings, spec.bot_id, task_definition_arn=definition, spec_digest=spec_digest,
                                 token=shapes.client_token("service", token.arn, spec_digest))
        created = call(f"the ECS service of bot {spec.bot_id}", lambda: self.ecs.create_service(**request))
        return self._describe(spec.bot_id, created["service"])

    def describe(self, bot_id: str) -> GatewayStatus:
        return self._describe(bot_id, self._existing(bot_id))

    def start(self, bot_id: str) -> GatewayStatus:
        service = self._existing(bot_id)
        status = self._describe(bot_id, service)
        if service["desiredCount"] == 0:
            self._update_service(bot_id, desiredCount=1)
        elif status.state is GatewayState.FAILED:
            self._update_service(bot_id, forceNewDeployment=True)  # a new deployment: the circuit breaker starts over
        else:
            return status
        return self.describe(bot_id)

    def stop(self, bot_id: str) -> GatewayStatus:
        if self._existing(bot_id)["desiredCount"] != 0:
            self._update_service(bot_id, desiredCount=0)
        return self.describe(bot_id)

    def restart(self, bot_id: str, *, request_id: str | None = None) -> GatewayStatus:
        service = self._existing(bot_id)
        if request_id is not None and _tags(service).get(shapes.RESTART_TAG) == shapes.digest(request_id)[:64]:
            return self._describe(bot_id, service)  # this restart was done already
        # 0/100 %: ECS stops the running task before it starts the new one
        self._update_service(bot_id, desiredCount=1, forceNewDeployment=True)
        if request_id is not None:  # after the restart: a retry that finds no tag restarts again, never not at all
            self._tag(service, shapes.RESTART_TAG, shapes.digest(request_id)[:64])
        return self.describe(bot_id)

    def update(self, bot_id: str, change: GatewayUpdate) -> GatewayStatus:
        service = self._existing(bot_id)
        current = self._definition(service["taskDefinition"])
        version = change.openclaw_version or _version(current)
        tier = self._checked(bot_id, version, change.size or _tier_of(current).name)  # nothing changed when refused
        if change.config is not None:
            status = self._describe(bot_id, service)
            if status.state is GatewayState.RUNNING and status.endpoint:
                GatewayOps(status.endpoint).apply(change.config)  # ConfigRejected: the stored config stays as it was
            self.secrets.config(bot_id, change.config)  # what the next task starts from
        if version != _version(current) or tier != _tier_of(current):
            definition = self._register(bot_id, version, tier, **_references(current))
            self._update_service(bot_id, taskDefinition=definition)
        return self.describe(bot_id)

    def backup(self, bot_id: str, key: str) -> str:
        service = self._existing(bot_id)
        version = _version(self._definition(service["taskDefinition"]))
        config = self.secrets.find(bot_id, "config")
        if config is None:
            raise GatewayNotFound(f"bot {bot_id} has no stored config to back up")
        return self.backups.keep(bot_id, key, version, json.loads(self.secrets.value(config)))

    def restore(self, bot_id: str, key: str, *, request_id: str | None = None) -> GatewayStatus:
        service = self._existing(bot_id)
        version, config = self.backups.read(bot_id, key)
        marker = shapes.digest(request_id)[:64] if request_id is not None else None
        if marker is not None and _tags(service).get(shapes.RESTORE_TAG) == marker:
            return self._describe(bot_id, service)  # this restore was done already
        current = self._definition(service["taskDefinition"])
        self.secrets.config(bot_id, config)
        definition = service["taskDefinition"]
        if version != _version(current):
            definition = self._register(bot_id, version, _tier_of(current), **_references(current))
        self._update_service(bot_id, taskDefinition=definition, desiredCount=1, forceNewDeployment=True)
        if marker is not None:
            self._tag(service, shapes.RESTORE_TAG, marker)
        return self.describe(bot_id)

    def delete(self, bot_id: str) -> None:
        """Everything the bot had, each step idempotent, the service first so nothing runs on what goes after."""
        name, what = shapes.name(bot_id), f"the ECS gateway of bot {bot_id}"
        gone = ("ServiceNotFoundException", "ServiceNotActiveException", "NoSuchEntity", "ResourceNotFoundException")
        call(what, lambda: self.ecs.delete_service(cluster=self.settings.cluster, service=name, force=True), ok=gone)
        pages = self.ecs.get_paginator("list_task_definitions").paginate(familyPrefix=name, status="ACTIVE")
        arns = [arn for page in call(what, lambda: list(pages)) for arn in page["taskDefinitionArns"]
                if arn.split("/")[-1].rsplit(":", 1)[0] == name]
        for arn in arns:
            call(what, lambda arn=arn: self.ecs.deregister_task_definition(taskDefinition=arn), ok=("ClientException",))
        for point in self._access_points(bot_id):  # more than one if two creates raced where tokens do not dedupe
            call(what, lambda point=point: self.efs.delete_access_point(AccessPointId=point["AccessPointId"]),
                 ok=("AccessPointNotFound",))
        call(what, lambda: self.iam.delete_role_policy(RoleName=name, PolicyName=name), ok=gone)
        call(what, lambda: self.iam.delete_role(RoleName=name), ok=gone)
        call(what, lambda: self.logs_client.delete_log_group(logGroupName=shapes.log_group(bot_id)), ok=gone)
        self._wipe_state(bot_id)
        self.backups.delete_all(bot_id)
        self.secrets.delete(bot_id)

    def _wipe_state(self, bot_id: str) -> None:
        """The bot's directory on the file system, where this function mounts it (settings.state_mount: the
        deprovisioning function's EFS mount of /bots). Only once no task of the bot runs: a stopping gateway still
        writes. Without a mount the directory stays (the access point is gone, so no gateway reaches it)."""
        if not self.settings.state_mount:
            return
        live = [t for t in self._tasks(bot_id) if t.get("lastStatus") != "STOPPED"]
        if live:
            raise ProviderBusy(f"the task of bot {bot_id} is still stopping; its state is wiped once it stopped")
        shutil.rmtree(Path(self.settings.state_mount) / bot_id, ignore_errors=True)

    # -- the running gateway ----------------------------------------------------------------------
    def endpoint(self, bot_id: str) -> Endpoint:
        status = self.describe(bot_id)
        if status.endpoint is None:
            raise ProviderBusy(f"the gateway of bot {bot_id} has no running task to reach yet ({status.detail})")
        return status.endpoint

    def live_config(self, bot_id: str) -> LiveConfig:
        return GatewayOps(self.endpoint(bot_id)).live_config()

    def logs(self, bot_id: str, cursor: int | None = None, limit: int = 200) -> LogChunk:
        return GatewayOps(self.endpoint(bot_id)).logs(cursor, limit)

    # -- reading ECS ------------------------------------------------------------------------------
    def _service(self, bot_id: str, *, draining: bool = False) -> dict | None:
        """The bot's service; a deleted one (DRAINING while its task stops, then INACTIVE) is none, unless asked."""
        answer = call(f"the ECS service of bot {bot_id}", lambda: self.ecs.describe_services(
            cluster=self.settings.cluster, services=[shapes.name(bot_id)], include=["TAGS"]))
        gone = ("INACTIVE",) if draining else ("INACTIVE", "DRAINING")
        found = [s for s in answer.get("services", []) if s.get("status") not in gone]
        return found[0] if found else None

    def _existing(self, bot_id: str) -> dict:
        if not shapes.BOT_ID.match(bot_id or ""):
            raise GatewayNotFound(f"no ECS gateway for bot {bot_id!r}")
        service = self._service(bot_id)
        if service is None:
            raise GatewayNotFound(f"no ECS gateway for bot {bot_id}", {"bot_id": bot_id})
        return service

    def _tasks(self, bot_id: str) -> list[dict]:
        """The service's tasks, newest first: those that run or should, and those stopped lately (ECS keeps them
        an hour), which say why a task failed."""
        name, what = shapes.name(bot_id), f"the tasks of bot {bot_id}"
        arns: list[str] = []
        for desired in ("RUNNING", "STOPPED"):
            arns += call(what, lambda desired=desired: self.ecs.list_tasks(
                cluster=self.settings.cluster, serviceName=name, desiredStatus=desired))["taskArns"]
        if not arns:
            return []
        tasks = call(what, lambda: self.ecs.describe_tasks(cluster=self.settings.cluster, tasks=arns[:100]))["tasks"]
        ours = [t for t in tasks if t.get("group") == f"service:{name}"]
        return sorted(ours, key=lambda t: str(t.get("createdAt") or ""), reverse=True)

    def _describe(self, bot_id: str, service: dict) -> GatewayStatus:
        version = _version(self._definition(service["taskDefinition"]))
        tasks = self._tasks(bot_id)
        live = [t for t in tasks if t.get("lastStatus") != "STOPPED"]
        if service["desiredCount"] == 0:
            detail = f"stopping: task {_id(live[0])} is {live[0].get('lastStatus')}" if live else "stopped"
            return GatewayStatus(bot_id, GatewayState.STOPPED, version, detail=detail)
        primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})
        # Only a task of the current deployment and revision is the gateway asked for: during a deployment the
        # previous one may still serve, until ECS stops it (0/100 %), and it is not what describe() reports.
        wanted = [t for t in live if t.get("desiredStatus") == "RUNNING" and t.get("startedBy") == primary.get("id")
                  and t.get("taskDefinitionArn") == service["taskDefinition"]]
        if live and not wanted:
            previous = live[0]
            return GatewayStatus(bot_id, GatewayState.STARTING, version, detail=f"deploying: task {_id(previous)} "
                                 f"of the previous deployment is {previous.get('lastStatus')}")
        if wanted:
            task = wanted[0]
            endpoint = self._endpoint_of(bot_id, task)
            if task.get("lastStatus") == "RUNNING" and task.get("healthStatus") == "HEALTHY":
                return GatewayStatus(bot_id, GatewayState.RUNNING, version, endpoint)
            health = task.get("healthStatus", "UNKNOWN")
            return GatewayStatus(bot_id, GatewayState.STARTING, version, endpoint,
                                 detail=f"task {_id(task)} is {task.get('lastStatus')}, health {health}")
        failed = [t for t in tasks if t.get("stopCode") in FAILED_STOP_CODES and t.get("startedBy") == primary.get("id")]
        if primary.get("rolloutState") == "FAILED" or failed:
            return _failed(bot_id, version, failed[0] if failed else None, primary.get("rolloutStateReason", ""))
        return GatewayStatus(bot_id, GatewayState.STARTING, version, detail="waiting for ECS to start a task")

    def _endpoint_of(self, bot_id: str, task: dict) -> Endpoint | None:
        """Where the task's gateway answers: its published port when ECS reports one (networkBindings), else its
        network interface's private address and the container port (awsvpc)."""
        container = next((c for c in task.get("containers", []) if c.get("name") == shapes.CONTAINER), {})
        binding = next(iter(container.get("networkBindings") or []), None)
        if binding and binding.get("hostPort") and binding.get("bindIP") not in (None, "0.0.0.0", "::"):
            host, port = binding["bindIP"], binding["hostPort"]
        else:
            details = {d["name"]: d.get("value") for a in task.get("attachments", [])
                       if a.get("type") == "ElasticNetworkInterface" for d in a.get("details", [])}
            host, port = details.get("privateIPv4Address"), GATEWAY_PORT
            if not host:
                return None
        http = f"http://{host}:{port}"
        return Endpoint(http, ws_url(http), BotSecrets.name(bot_id, "token"))

    def _definition(self, arn: str) -> dict:
        if arn not in self._definitions:
            answer = call(f"task definition {arn}", lambda: self.ecs.describe_task_definition(taskDefinition=arn))
            self._definitions[arn] = answer["taskDefinition"]
        return self._definitions[arn]

    # -- making things ----------------------------------------------------------------------------
    def _checked(self, bot_id: str, version: str, size: str) -> SizeTier:
        if not shapes.BOT_ID.match(bot_id or ""):
            raise InvalidSpec(f"bot_id {bot_id!r} is not a bot id for ECS (letters, digits, - and _; at most 48)",
                              {"field": "bot_id"})
        if version not in OPENCLAW_VERSIONS:
            raise UnsupportedChange(f"the ECS target offers openclaw {', '.join(OPENCLAW_VERSIONS)}, not {version!r}")
        tier = next((t for t in SIZE_TIERS if t.name == size), None)
        if tier is None:
            raise UnsupportedChange(f"the ECS target offers sizes {', '.join(t.name for t in SIZE_TIERS)}, not {size!r}")
        return tier

    def _log_group(self, bot_id: str) -> str:
        group, what = shapes.log_group(bot_id), f"the log group of bot {bot_id}"
        call(what, lambda: self.logs_client.create_log_group(logGroupName=group, tags={shapes.BOT_TAG: bot_id}),
             ok=("ResourceAlreadyExistsException",))
        call(what, lambda: self.logs_client.put_retention_policy(logGroupName=group,
                                                                 retentionInDays=self.settings.log_retention_days))
        found = call(what, lambda: self.logs_client.describe_log_groups(logGroupNamePrefix=group))["logGroups"]
        return next(g["arn"] for g in found if g["logGroupName"] == group).removesuffix(":*")

    def _access_points(self, bot_id: str) -> list[dict]:
        what = f"the EFS access point of bot {bot_id}"
        pages = self.efs.get_paginator("describe_access_points").paginate(FileSystemId=self.settings.file_system_id)
        return [point for page in call(what, lambda: list(pages)) for point in page.get("AccessPoints", [])
                if {t["Key"]: t["Value"] for t in point.get("Tags", [])}.get(shapes.BOT_TAG) == bot_id]

    def _access_point(self, bot_id: str, token: str) -> dict:
        return next(iter(self._access_points(bot_id)), None) or call(
            f"the EFS access point of bot {bot_id}",
            lambda: self.efs.create_access_point(**shapes.access_point(self.settings, bot_id, token=token)))

    def _role(self, bot_id: str, secret_arns: list[str], access_point_arn: str, log_group_arn: str) -> str:
        name, what = shapes.name(bot_id), f"the IAM role of bot {bot_id}"
        boundary = self.settings.role_permissions_boundary
        extra = {"PermissionsBoundary": boundary} if boundary else {}
        call(what, lambda: self.iam.create_role(
            RoleName=name, Path=shapes.ROLE_PATH, AssumeRolePolicyDocument=json.dumps(shapes.TRUST_POLICY),
            Description=f"Clawster gateway of bot {bot_id}: its own secrets, logs and EFS access point only",
            Tags=[{"Key": shapes.BOT_TAG, "Value": bot_id}], **extra), ok=("EntityAlreadyExists",))
        policy = shapes.role_policy(self.settings, secret_arns=secret_arns, access_point_arn=access_point_arn,
                                    log_group_arn=log_group_arn)
        call(what, lambda: self.iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=json.dumps(policy)))
        return call(what, lambda: self.iam.get_role(RoleName=name))["Role"]["Arn"]

    def _register(self, bot_id: str, version: str, tier: SizeTier, **references: str) -> str:
        """The task definition's ARN: the latest revision when it is this one already (a retry registers nothing)."""
        request = shapes.task_definition(self.settings, bot_id, region=self.region, version=version,
                                         cpu_units=int(tier.vcpu * 1024),
                                         memory_mb=tier.memory_mb, **references)
        what = f"the task definition of bot {bot_id}"
        latest = call(what, lambda: self.ecs.describe_task_definition(taskDefinition=request["family"], include=["TAGS"]),
                      ok=("ClientException",))
        if latest and {t["key"]: t["value"] for t in latest.get("tags", [])} == {t["key"]: t["value"] for t in request["tags"]}:
            return latest["taskDefinition"]["taskDefinitionArn"]
        return call(what, lambda: self.ecs.register_task_definition(**request))["taskDefinition"]["taskDefinitionArn"]

    def _update_service(self, bot_id: str, **change: Any) -> dict:
        return call(f"the ECS service of bot {bot_id}", lambda: self.ecs.update_service(
            cluster=self.settings.cluster, service=shapes.name(bot_id), **change))["service"]

    def _tag(self, service: dict, key: str, value: str) -> None:
        call(f"service {service['serviceName']}", lambda: self.ecs.tag_resource(
            resourceArn=service["serviceArn"], tags=[{"key": key, "value": value}]))


def _tags(service: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in service.get("tags") or []}


def _id(task: dict) -> str:
    return task["taskArn"].rsplit("/", 1)[-1]


def _version(definition: dict) -> str:
    return definition["containerDefinitions"][0]["image"].rpartition(":")[2]


def _tier_of(definition: dict) -> SizeTier:
    cpu, memory = int(definition["cpu"]), int(definition["memory"])
    found = next((t for t in SIZE_TIERS if int(t.vcpu * 1024) == cpu and t.memory_mb == memory), None)
    if found is None:
        raise InvalidSpec(f"task definition {definition.get('taskDefinitionArn')} has cpu {cpu} / memory {memory}, "
                          "no size tier of the ECS target")
    return found


def _references(definition: dict) -> dict[str, str]:
    """What a new revision keeps from the current one: the role, the two secrets and the access point."""
    container = definition["containerDefinitions"][0]
    secrets = {s["name"]: s["valueFrom"] for s in container.get("secrets", [])}
    volume = definition["volumes"][0]["efsVolumeConfiguration"]
    return {"role_arn": definition["taskRoleArn"], "token_arn": secrets[ENV_TOKEN], "config_arn": secrets[ENV_CONFIG],
            "access_point_id": volume["authorizationConfig"]["accessPointId"]}


def _failed(bot_id: str, version: str, task: dict | None, rollout_reason: str) -> GatewayStatus:
    container = next(iter(task.get("containers", [])), {}) if task else {}
    exit_code = container.get("exitCode")
    reason = "; ".join(filter(None, [task.get("stoppedReason") if task else "", container.get("reason"), rollout_reason]))
    if exit_code is not None:
        reason += f" (exit code {exit_code})"
    failure = Failure.CONFIG_REJECTED if exit_code == CONFIG_EXIT else Failure.START_FAILED
    return GatewayStatus(bot_id, GatewayState.FAILED, version, detail=reason or "the task stopped",
                         failure=failure, exit_code=exit_code)
