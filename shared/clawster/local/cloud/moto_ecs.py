"""moto's ECS (5.2.5), made honest enough for the ECS target's stand-in (ecs_agent.py), in this process:

- requests are checked against ECS's own API model (botocore's service description: required members, types,
  lengths, enum values, unknown members) and the Fargate rules moto skips (network mode, CPU/memory pairs, EFS
  access points with encryption in transit): a wrong shape is a 400 naming what is wrong, as ECS answers;
- a deleted service is DRAINING while its task runs (the agent stops it, then makes the service INACTIVE);
- `list_tasks(serviceName=...)` lists that service's tasks (group "service:<name>", as ECS starts them), and with
  no desiredStatus the RUNNING ones, as ECS does (moto ignores the one and defaults the other to all);
- a task's lastStatus is the agent's to set: moto would otherwise walk it to STOPPED after one describe;
- faults on demand: inject_fault("CreateService", "ThrottlingException") answers the next such call with it.
`install()` is idempotent; it refuses another moto version (these are its internals).
"""

from __future__ import annotations

import functools
import json
import sys
import threading
from collections import defaultdict
from typing import Any

MOTO_VERSION = "5.2.5"
# Fargate's task sizes: CPU units -> the memory (MiB) it may have.
FARGATE_MEMORY = {256: [512, 1024, 2048], 512: list(range(1024, 4097, 1024)), 1024: list(range(2048, 8193, 1024)),
                  2048: list(range(4096, 16385, 1024)), 4096: list(range(8192, 30721, 1024)),
                  8192: list(range(16384, 61441, 4096)), 16384: list(range(32768, 122881, 8192))}

_faults: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
_guard = threading.Lock()
_installed = False


def install() -> None:
    global _installed
    with _guard:
        if _installed:
            return
        check_version()
        from moto.ecs.models import EC2ContainerServiceBackend
        from moto.ecs.responses import EC2ContainerServiceResponse
        from moto.moto_api import state_manager

        state_manager.set_transition("ecs::task", {"progression": "manual", "times": sys.maxsize})
        EC2ContainerServiceBackend.list_tasks = _list_tasks(EC2ContainerServiceBackend.list_tasks)
        EC2ContainerServiceBackend.delete_service = _draining(EC2ContainerServiceBackend.delete_service)
        EC2ContainerServiceResponse.call_action = _checked(EC2ContainerServiceResponse.call_action)
        _installed = True


def check_version() -> None:
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(f"clawster.local.cloud.moto_ecs patches moto {MOTO_VERSION}'s internals, not {moto.__version__}")


def inject_fault(action: str, code: str, message: str = "Rate exceeded", times: int = 1, status: int = 400) -> None:
    """The next `times` ECS calls of `action` (e.g. "CreateService") answer `code` instead of running."""
    with _guard:
        _faults[action] += [(code, message, status)] * times


def clear_faults() -> None:
    with _guard:
        _faults.clear()


def _list_tasks(original):
    def list_tasks(self, cluster_str=None, container_instance=None, family=None, started_by=None, service_name=None,
                   desiredStatus=None):
        tasks = original(self, cluster_str, container_instance, family, started_by, None, desiredStatus or "RUNNING")
        if service_name:
            group = f"service:{service_name.split('/')[-1]}"
            tasks = [t for t in tasks if t.group == group]
        return tasks

    return list_tasks


def _draining(original):
    """A deleted service whose task still runs is DRAINING (ECS's word) until the agent stopped it; moto makes
    every deleted service INACTIVE at once."""

    def delete_service(self, cluster_name, service_name, force):
        service = original(self, cluster_name, service_name, force)
        group = f"service:{service.name}"
        if any(t.group == group and t.last_status != "STOPPED" for t in self.tasks.get(service.cluster_name, {}).values()):
            service.status = "DRAINING"
        return service

    return delete_service


def _checked(original):
    def call_action(self) -> Any:
        action = self._get_action()
        with _guard:
            fault = _faults[action].pop(0) if _faults.get(action) else None
        if fault:
            return _error(fault[0], fault[1], fault[2])
        problem = request_problem(action, self.body)
        if problem:
            return _error(*problem)
        return original(self)

    return call_action


def _error(code: str, message: str, status: int = 400) -> tuple[int, dict, str]:
    return status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}, json.dumps(
        {"__type": code, "message": message})


def request_problem(action: str, body: Any) -> tuple[str, str] | None:
    """(error code, message) when this ECS request is not one ECS would take, else None."""
    from botocore.model import OperationNotFoundError

    model = _service_model()
    try:
        operation = model.operation_model(action)
    except OperationNotFoundError:
        return "UnknownOperationException", f"unknown operation {action}"
    try:
        params = json.loads(body or "{}") if isinstance(body, (str, bytes)) else (body or {})
    except ValueError as error:
        return "SerializationException", f"the body is not JSON: {error}"
    if not isinstance(params, dict):
        return "SerializationException", "the body is not a JSON object"
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(params, operation.input_shape)
    if report.has_errors():
        return "ClientException", report.generate_report()
    problem = _enum_problem(params, operation.input_shape, "")
    if problem is None and action == "RegisterTaskDefinition":
        problem = _fargate_problem(params)
    return ("ClientException", problem) if problem else None


@functools.cache
def _service_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("ecs")


def _enum_problem(value: Any, shape: Any, path: str) -> str | None:
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                found = _enum_problem(item, shape.members[key], f"{path}.{key}" if path else key)
                if found:
                    return found
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            found = _enum_problem(item, shape.member, f"{path}[{index}]")
            if found:
                return found
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            found = _enum_problem(item, shape.value, f"{path}.{key}")
            if found:
                return found
    elif shape.type_name == "string" and shape.enum and value not in shape.enum:
        return f"{path}: {value!r} is not one of {', '.join(shape.enum)}"
    return None


def _fargate_problem(params: dict) -> str | None:
    """The rules ECS applies to a Fargate task definition that moto does not."""
    if "FARGATE" not in (params.get("requiresCompatibilities") or []):
        return None
    if params.get("networkMode") != "awsvpc":
        return "Fargate only supports network mode 'awsvpc'."
    cpu, memory = params.get("cpu"), params.get("memory")
    if not (str(cpu).isdigit() and str(memory).isdigit()) or int(memory) not in FARGATE_MEMORY.get(int(cpu), []):
        return f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory."
    for volume in params.get("volumes") or []:
        efs = volume.get("efsVolumeConfiguration")
        if not efs:
            continue
        authorization = efs.get("authorizationConfig") or {}
        encrypted = efs.get("transitEncryption") == "ENABLED"
        if (authorization.get("accessPointId") or authorization.get("iam") == "ENABLED") and not encrypted:
            return f"volumes[{volume.get('name')}]: transitEncryption must be ENABLED with an access point or IAM authorization."
        if authorization.get("accessPointId") and efs.get("rootDirectory") not in (None, "/"):
            return f"volumes[{volume.get('name')}]: rootDirectory must be omitted or '/' when an access point is given."
    for container in params.get("containerDefinitions") or []:
        for port in container.get("portMappings") or []:
            if port.get("hostPort") not in (None, port.get("containerPort")):
                return f"containerDefinitions[{container.get('name')}]: hostPort must equal containerPort in awsvpc mode."
    return None
