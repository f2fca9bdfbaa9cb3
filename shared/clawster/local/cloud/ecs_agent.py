"""The local stack's stand-in for Fargate: the service scheduler and the container agent moto does not have.

moto's ECS keeps services and task definitions but starts no task. This reconciler, in the process moto runs in,
does what ECS does for each service, on moto's own models (5.2.5; moto_ecs.py pins and patches them):
- a service with desiredCount 1 gets one task: group "service:<name>", startedBy its deployment id, its ENI in the
  service's subnet (moto's Task makes it), lastStatus PROVISIONING -> RUNNING, healthStatus UNKNOWN -> HEALTHY
  from the container's /readyz, networkBindings where the container's port is published on 127.0.0.1;
- as the ECS agent: the task's `secrets` are read from moto's Secrets Manager, and only when the task's execution
  role allows secretsmanager:GetSecretValue on them; the EFS access point must exist; the container runs on the
  ContainerHost with the image and env, its volume named by the file system and the access point's directory;
- a task whose container cannot start (image pull) or exits is STOPPED with ECS's stopCode and reason (exit code
  kept), and the service starts another after a backoff; three failures in one deployment trip its circuit
  breaker (rolloutState FAILED) and it starts no more until a new deployment;
- desiredCount 0, a deleted service, forceNewDeployment or a new task definition stop the running task first and
  then start the new one (maximumPercent 100: never two gateways on one state).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from . import moto_ecs
from .container_host import CONTAINER_PORT, ContainerHost

log = logging.getLogger(__name__)

ACCOUNT = "123456789012"  # moto's default account
BREAKER_THRESHOLD = 3  # ECS's circuit breaker: max(3, min(200, desired/2)) failed tasks -> 3 for one task
BACKOFF_MAX_S = 30.0


@dataclass
class _Deployment:
    failures: int = 0
    next_launch: float = 0.0


@dataclass
class _Run:
    container: str
    restarts: int  # the container's restarts when this task took it: more means its process exited
    start_period_s: float  # the health check's grace: health UNKNOWN (not UNHEALTHY) while it lasts
    started: float = field(default_factory=time.monotonic)


class EcsAgent:
    def __init__(self, host: ContainerHost, *, account_id: str = ACCOUNT, clusters: set[str] | None = None,
                 interval_s: float = 0.5):
        moto_ecs.install()
        self.host, self.account_id, self.clusters, self.interval_s = host, account_id, clusters, interval_s
        self._deployments: dict[str, _Deployment] = {}  # by deployment id
        self._runs: dict[str, _Run] = {}  # by task ARN: the tasks this agent started and did not stop
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="ecs-agent", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
        with self._lock:
            for run in self._runs.values():
                self.host.stop(run.container)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.reconcile_once()
            except Exception:  # one bad round must not end the scheduler: the next one tries again
                log.exception("ECS agent: reconcile failed")

    def reconcile_once(self) -> None:
        from moto.ecs.models import ecs_backends

        with self._lock:
            for region, backend in list(ecs_backends[self.account_id].items()):
                for service in list(backend.services.values()):
                    if self.clusters is None or service.cluster_name in self.clusters:
                        self._reconcile(backend, region, service)

    # -- one service ------------------------------------------------------------------------------
    def _reconcile(self, backend: Any, region: str, service: Any) -> None:
        wanted_definition = backend.describe_task_definition(service.task_definition).arn if service.task_definition else None
        deployment = self._deployment(service, wanted_definition)
        tasks = [t for t in list(backend.tasks.get(service.cluster_name, {}).values()) if t.group == f"service:{service.name}"]
        live = [t for t in tasks if t.last_status != "STOPPED"]
        wanted = service.status == "ACTIVE" and service.desired_count > 0
        for task in live:
            if not wanted:
                self._stop_task(task, "ServiceSchedulerInitiated",
                                f"Scaling activity initiated by (deployment {deployment['id']})")
            elif task.started_by != deployment["id"] or task.task_definition_arn != wanted_definition:
                self._stop_task(task, "ServiceSchedulerInitiated", f"Task replaced by deployment {deployment['id']}")
            else:
                self._sync(task, deployment)
        live = [t for t in live if t.last_status != "STOPPED"]
        state = self._deployments.setdefault(deployment["id"], _Deployment())
        if wanted and not live and wanted_definition and deployment.get("rolloutState") != "FAILED":
            if time.monotonic() >= state.next_launch:
                self._launch(backend, region, service, deployment)
        if service.status == "DRAINING" and not live:
            service.status = "INACTIVE"  # its last task stopped: the deletion is done
        running = [t for t in live if t.last_status == "RUNNING"]
        service.running_count, service.pending_count = len(running), len(live) - len(running)
        deployment.update(runningCount=service.running_count, pendingCount=service.pending_count,
                          failedTasks=state.failures)

    def _deployment(self, service: Any, definition_arn: str | None) -> dict:
        """The service's primary deployment as ECS keeps it. moto gives it a new id on forceNewDeployment, but makes
        no new one for a new task definition, and keeps a failed rollout's state: a new deployment starts over."""
        if not service.deployments:
            return {"id": ""}
        primary = service.deployments[0]
        now = datetime.now(timezone.utc)
        if definition_arn and primary.get("taskDefinition") != definition_arn:
            primary.update(id=f"ecs-svc/{uuid.uuid4().int % 10**19}", taskDefinition=definition_arn, createdAt=now)
        if primary["id"] not in self._deployments:
            self._deployments[primary["id"]] = _Deployment()
            primary.update(rolloutState="IN_PROGRESS", rolloutStateReason=f"ECS deployment {primary['id']} in progress.",
                           updatedAt=now)
        return primary

    def _launch(self, backend: Any, region: str, service: Any, deployment: dict) -> None:
        from moto.ecs.models import Task

        definition = backend.describe_task_definition(service.task_definition)
        try:
            task = Task(backend._get_cluster(service.cluster_name), definition, None, {}, backend,
                        f"service:{service.name}", launch_type="FARGATE", started_by=deployment["id"],
                        networking_configuration=service.network_configuration or None)
        except AttributeError as error:  # moto's ENI has no DNS name: EFS (and ECS) need DNS hostnames on
            self._event(service, f"unable to place a task: its VPC has no DNS hostnames ({error})", deployment)
            return
        except Exception as error:
            self._event(service, f"unable to place a task: {error}", deployment)
            return
        now = datetime.now(timezone.utc)
        task.created_at, task.last_status, task.health_status = now, "PROVISIONING", "UNKNOWN"
        container = task.containers[0]
        container.last_status, container.health_status, container.exitCode = "PENDING", "UNKNOWN", None
        backend.tasks.setdefault(service.cluster_name, {})[task.task_arn] = task
        try:
            name, env, start_period_s = self._agent_inputs(region, definition, task)
        except _InitError as error:
            self._stop_task(task, "TaskFailedToStart", f"ResourceInitializationError: {error}")
            self._failed(deployment)
            return
        self.host.stop(name)  # whatever ran on this volume before: a new task is a new process
        self.host.run(name, container.image, env)
        status = self.host.status(name)
        self._runs[task.task_arn] = _Run(name, status.restarts if status else 0, start_period_s)
        task.started_at = now

    def _sync(self, task: Any, deployment: dict) -> None:
        run = self._runs.get(task.task_arn)
        status = self.host.status(run.container) if run else None
        container = task.containers[0]
        if status is None:
            self._stop_task(task, "EssentialContainerExited", "Essential container in task exited")
            self._failed(deployment)
        elif status.state == "EXITED" and status.detail.startswith("CannotPullContainerError"):
            container.reason = status.detail
            self._stop_task(task, "TaskFailedToStart", status.detail)
            self._failed(deployment)
        elif status.state in ("EXITED", "STOPPED") or status.restarts > run.restarts:
            container.exitCode = status.exit_code
            self._stop_task(task, "EssentialContainerExited", "Essential container in task exited")
            self._failed(deployment)
        else:
            container.last_status = task.last_status = "RUNNING"
            container.network_bindings = [{"bindIP": status.host, "containerPort": CONTAINER_PORT,
                                           "hostPort": status.port, "protocol": "tcp"}]
            grace = time.monotonic() - run.started < run.start_period_s
            health = "HEALTHY" if status.healthy else ("UNKNOWN" if grace else "UNHEALTHY")
            container.health_status = task.health_status = health
            if health == "HEALTHY":
                self._deployments.setdefault(deployment["id"], _Deployment()).failures = 0
                deployment.update(rolloutState="COMPLETED", rolloutStateReason=f"ECS deployment {deployment['id']} completed.")

    def _stop_task(self, task: Any, code: str, reason: str) -> None:
        run = self._runs.pop(task.task_arn, None)
        if run:
            self.host.stop(run.container)
        container = task.containers[0]
        task.last_status = task.desired_status = container.last_status = "STOPPED"
        task.stop_code, task.stopped_reason = code, reason
        task.stopped_at = datetime.now(timezone.utc)
        container.network_bindings = []

    def _failed(self, deployment: dict) -> None:
        state = self._deployments.setdefault(deployment["id"], _Deployment())
        state.failures += 1
        state.next_launch = time.monotonic() + min(BACKOFF_MAX_S, 2.0 ** (state.failures - 1))
        if state.failures >= BREAKER_THRESHOLD:
            deployment.update(rolloutState="FAILED",
                              rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.")

    def _event(self, service: Any, message: str, deployment: dict) -> None:
        service.events.insert(0, {"id": str(len(service.events)), "createdAt": datetime.now(timezone.utc),
                                  "message": f"(service {service.name}) {message}"})
        self._failed(deployment)

    # -- what the ECS agent reads before it starts the container ----------------------------------
    def _agent_inputs(self, region: str, definition: Any, task: Any) -> tuple[str, dict[str, str], float]:
        """The container's name on the host (its volume), its env with the secrets the execution role may read, and
        its health check's start period."""
        spec = definition.container_definitions[0]
        env = {e["name"]: e["value"] for e in spec.get("environment") or []}
        for secret in spec.get("secrets") or []:
            env[secret["name"]] = self._secret(region, definition, secret["valueFrom"])
        start_period_s = float((spec.get("healthCheck") or {}).get("startPeriod", 0))
        return self._volume(region, definition, task), env, start_period_s

    def _secret(self, region: str, definition: Any, arn: str) -> str:
        from moto.iam.models import iam_backends
        from moto.secretsmanager.models import secretsmanager_backends

        role_arn = getattr(definition, "execution_role_arn", None)
        if not role_arn:
            raise _InitError("unable to pull secrets: the task definition has no execution role")
        try:
            role = iam_backends[self.account_id]["aws"].get_role_by_arn(role_arn)
        except Exception:
            raise _InitError(f"unable to pull secrets: ECS was unable to assume the role {role_arn}") from None
        if not _allows(role, "secretsmanager:GetSecretValue", arn):
            raise _InitError(f"unable to pull secrets: AccessDeniedException: {role_arn} is not authorized to perform "
                             f"secretsmanager:GetSecretValue on resource {arn}")
        try:
            answer = secretsmanager_backends[self.account_id][region].get_secret_value(arn, None, "AWSCURRENT")
        except Exception as error:
            raise _InitError(f"unable to pull secrets: ResourceNotFoundException: {arn}: {error}") from None
        return answer["SecretString"]

    def _volume(self, region: str, definition: Any, task: Any) -> str:
        """The host's container name: its EFS directory (file system + access point root), so a task that replaces
        another finds the state its predecessor left, as on EFS."""
        from moto.efs.models import efs_backends

        for volume in definition.volumes:
            efs = volume.get("efsVolumeConfiguration")
            if not efs:
                continue
            point_id = (efs.get("authorizationConfig") or {}).get("accessPointId")
            if not point_id:
                return f"{efs['fileSystemId']}{efs.get('rootDirectory') or '/'}"
            point = efs_backends[self.account_id][region].access_points.get(point_id)
            if point is None or point.file_system_id != efs["fileSystemId"]:
                raise _InitError(f"failed to invoke EFS utils commands to set up EFS volumes: access point {point_id} "
                                 f"of file system {efs['fileSystemId']} does not exist")
            return f"{point.file_system_id}{point.root_directory['Path']}"
        return f"{task.cluster_name}-{task.group.split(':', 1)[1]}"


class _InitError(Exception):
    """What the ECS agent could not set up for a task (secrets, volumes): the task stops before its container runs."""


def _allows(role: Any, action: str, resource: str) -> bool:
    """Whether one of the role's inline policies allows `action` on `resource` (Allow statements only: enough for
    the roles the ECS target writes, which have no Deny)."""
    import fnmatch
    import json

    for document in role.policies.values():
        policy = json.loads(document) if isinstance(document, str) else document
        for statement in policy.get("Statement", []):
            actions = statement.get("Action", [])
            resources = statement.get("Resource", [])
            actions = [actions] if isinstance(actions, str) else actions
            resources = [resources] if isinstance(resources, str) else resources
            if (statement.get("Effect") == "Allow" and any(fnmatch.fnmatchcase(action, a) for a in actions)
                    and any(fnmatch.fnmatchcase(resource, r) for r in resources)):
                return True
    return False


def local_target(client: Any, *, name: str = "clawster") -> dict[str, str]:
    """What the CDK app makes for the ECS target, made in moto for the local stack: a VPC with DNS hostnames (EFS
    needs them), two private subnets, the gateways' security group (the gateway port from inside the VPC only),
    the cluster and an encrypted file system. Returns the environment the task workers need
    (layers/providers/ecs/settings.py). `client(service)` makes a boto3 client for moto."""
    ec2, ecs, efs = client("ec2"), client("ecs"), client("efs")
    vpc = ec2.create_vpc(CidrBlock="10.90.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.90.{n}.0/24")["Subnet"]["SubnetId"] for n in (1, 2)]
    group = ec2.create_security_group(GroupName=f"{name}-gateways", Description="OpenClaw gateways", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": CONTAINER_PORT, "ToPort": CONTAINER_PORT, "IpRanges": [{"CidrIp": "10.90.0.0/16"}]}])
    cluster = ecs.create_cluster(clusterName=name)["cluster"]["clusterName"]
    file_system = efs.create_file_system(CreationToken=f"{name}-state", Encrypted=True)["FileSystemId"]
    return {"CLAWSTER_ECS_CLUSTER": cluster, "CLAWSTER_ECS_SUBNETS": ",".join(subnets),
            "CLAWSTER_ECS_SECURITY_GROUP": group, "CLAWSTER_EFS_ID": file_system}
