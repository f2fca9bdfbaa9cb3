"""What Azure Resource Manager refuses in a container group PUT (Microsoft.ContainerInstance 2023-05-01, the
swagger's ContainerGroup definition and ACI's own checks), for the local ARM stand-in (azure.py).

check_container_group(body) -> None or ArmRefusal(code, target, message): the first problem found, naming the
property by its JSON path as ARM does ("properties.containers[0].properties.image"). Only what a container group
the adapter could send touches is checked in depth; anything else must still have the right JSON type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

RESTART_POLICIES = ("Always", "OnFailure", "Never")
OS_TYPES = ("Windows", "Linux")
IP_TYPES = ("Public", "Private")
PROTOCOLS = ("TCP", "UDP")
LABEL_SCOPES = ("Unsecure", "TenantReuse", "SubscriptionReuse", "ResourceGroupReuse", "Noreuse")  # the swagger's spelling
MAX_CPU, MAX_MEMORY_GB = 4.0, 16.0  # a Linux group's ceiling in most regions (Location_ListCapabilities)
_DNS_LABEL = re.compile(r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ArmRefusal:
    code: str
    target: str
    message: str
    status: int = 400

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "target": self.target}}


class _Refused(Exception):
    def __init__(self, refusal: ArmRefusal):
        self.refusal = refusal


def _content(path: str, why: str) -> _Refused:
    # ARM's own wording for a body that does not fit the schema: the JSON path is in the message.
    return _Refused(ArmRefusal("InvalidRequestContent", path,
                               f"The request content was invalid and could not be deserialized: {why} Path '{path}'."))


def _invalid(code: str, path: str, message: str) -> _Refused:
    return _Refused(ArmRefusal(code, path, f"{message} Path '{path}'."))


def _object(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise _content(path, "Expected an object.")
    return value


def _array(value: Any, path: str) -> list:
    if not isinstance(value, list):
        raise _content(path, "Expected an array.")
    return value


def _required(parent: dict, key: str, path: str) -> Any:
    if parent.get(key) is None:
        raise _content(f"{path}.{key}" if path else key, f"Required property '{key}' not found in JSON.")
    return parent[key]


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _content(path, "Expected a string.")
    return value


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _content(path, "Expected a number.")
    return float(value)


def _enum(value: Any, allowed: tuple[str, ...], path: str) -> str:
    if _string(value, path) not in allowed:
        raise _content(path, f"Value '{value}' is not one of {', '.join(allowed)}.")
    return value


def check_container_group(body: Any) -> ArmRefusal | None:
    try:
        _group(body)
    except _Refused as refused:
        return refused.refusal
    return None


def _group(body: Any) -> None:
    group = _object(body, "")
    location = group.get("location")
    if not isinstance(location, str) or not location:
        raise _invalid("LocationRequired", "location", "The location property is required for this definition.")
    if "tags" in group:
        for key, value in _object(group["tags"], "tags").items():
            _string(value, f"tags.{key}")
    props = _object(_required(group, "properties", ""), "properties")
    _enum(_required(props, "osType", "properties"), OS_TYPES, "properties.osType")
    if "restartPolicy" in props:
        _enum(props["restartPolicy"], RESTART_POLICIES, "properties.restartPolicy")
    volumes = _volumes(props.get("volumes", []))
    containers = _array(_required(props, "containers", "properties"), "properties.containers")
    if not containers:
        raise _invalid("NoContainersInContainerGroup", "properties.containers",
                       "The container group must have at least one container.")
    names: set[str] = set()
    ports: set[int] = set()
    for index, container in enumerate(containers):
        name, exposed = _container(container, f"properties.containers[{index}]", volumes)
        if name in names:
            raise _invalid("DuplicateContainerName", f"properties.containers[{index}].name",
                           f"The container name '{name}' is used more than once.")
        names.add(name)
        ports |= exposed
    if "ipAddress" in props:
        _ip_address(props["ipAddress"], ports)
    for index, subnet in enumerate(_array(props.get("subnetIds", []), "properties.subnetIds")):
        _string(_required(_object(subnet, f"properties.subnetIds[{index}]"), "id", f"properties.subnetIds[{index}]"),
                f"properties.subnetIds[{index}].id")
    if props.get("subnetIds") and (props.get("ipAddress") or {}).get("type") == "Public":
        raise _invalid("InvalidIpAddressTypeForSubnet", "properties.ipAddress.type",
                       "A container group in a virtual network (subnetIds) must have a Private IP address type.")


def _volumes(value: Any) -> set[str]:
    names = set()
    for index, volume in enumerate(_array(value, "properties.volumes")):
        path = f"properties.volumes[{index}]"
        volume = _object(volume, path)
        names.add(_string(_required(volume, "name", path), f"{path}.name"))
        kinds = [k for k in ("azureFile", "emptyDir", "secret", "gitRepo") if k in volume]
        if len(kinds) != 1:
            raise _invalid("InvalidVolume", path, f"The volume '{volume['name']}' must have exactly one of "
                                                  "azureFile, emptyDir, secret or gitRepo.")
        if kinds == ["azureFile"]:
            share = _object(volume["azureFile"], f"{path}.azureFile")
            for key in ("shareName", "storageAccountName"):
                _string(_required(share, key, f"{path}.azureFile"), f"{path}.azureFile.{key}")
            if "storageAccountKey" in share:
                _string(share["storageAccountKey"], f"{path}.azureFile.storageAccountKey")
    return names


def _container(value: Any, path: str, volumes: set[str]) -> tuple[str, set[int]]:
    container = _object(value, path)
    name = _string(_required(container, "name", path), f"{path}.name")
    props = _object(_required(container, "properties", path), f"{path}.properties")
    path = f"{path}.properties"
    _string(_required(props, "image", path), f"{path}.image")
    resources = _object(_required(props, "resources", path), f"{path}.resources")
    requests = _object(_required(resources, "requests", f"{path}.resources"), f"{path}.resources.requests")
    cpu = _number(_required(requests, "cpu", f"{path}.resources.requests"), f"{path}.resources.requests.cpu")
    memory = _number(_required(requests, "memoryInGB", f"{path}.resources.requests"),
                     f"{path}.resources.requests.memoryInGB")
    if not 0 < cpu <= MAX_CPU or not 0 < memory <= MAX_MEMORY_GB:
        raise _invalid("InvalidContainerResourceRequests", f"{path}.resources.requests",
                       f"The resource requests (cpu {cpu}, memoryInGB {memory}) are outside this location's "
                       f"limits (cpu 0-{MAX_CPU}, memoryInGB 0-{MAX_MEMORY_GB}).")
    exposed = set()
    for index, port in enumerate(_array(props.get("ports", []), f"{path}.ports")):
        exposed.add(_port(port, f"{path}.ports[{index}]"))
    for index, variable in enumerate(_array(props.get("environmentVariables", []), f"{path}.environmentVariables")):
        _variable(variable, f"{path}.environmentVariables[{index}]")
    for index, mount in enumerate(_array(props.get("volumeMounts", []), f"{path}.volumeMounts")):
        where = f"{path}.volumeMounts[{index}]"
        mount = _object(mount, where)
        if _string(_required(mount, "name", where), f"{where}.name") not in volumes:
            raise _invalid("VolumeMountNotFound", f"{where}.name", f"The volume mount '{mount['name']}' names no "
                                                                   "volume of the container group.")
        if ":" in _string(_required(mount, "mountPath", where), f"{where}.mountPath"):
            raise _invalid("InvalidVolumeMountPath", f"{where}.mountPath", "The mount path must not contain ':'.")
    return name, exposed


def _port(value: Any, path: str) -> int:
    port = _object(value, path)
    number = _required(port, "port", path)
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 65535:
        raise _content(f"{path}.port", f"Value '{number}' is not a port number.")
    if "protocol" in port:
        _enum(port["protocol"], PROTOCOLS, f"{path}.protocol")
    return number


def _variable(value: Any, path: str) -> None:
    variable = _object(value, path)
    name = _string(_required(variable, "name", path), f"{path}.name")
    if not _ENV_NAME.match(name):
        raise _invalid("InvalidEnvironmentVariableName", f"{path}.name", f"'{name}' is not a valid variable name.")
    given = [key for key in ("value", "secureValue") if variable.get(key) is not None]
    if len(given) != 1:
        raise _invalid("InvalidEnvironmentVariable", path,
                       f"The environment variable '{name}' must have exactly one of value and secureValue.")
    _string(variable[given[0]], f"{path}.{given[0]}")


def _ip_address(value: Any, container_ports: set[int]) -> None:
    path = "properties.ipAddress"
    address = _object(value, path)
    _enum(_required(address, "type", path), IP_TYPES, f"{path}.type")
    ports = _array(_required(address, "ports", path), f"{path}.ports")
    for index, port in enumerate(ports):
        number = _port(port, f"{path}.ports[{index}]")
        if number not in container_ports:
            raise _invalid("InvalidIpAddressPort", f"{path}.ports[{index}].port",
                           f"The port {number} of the IP address is exposed by no container of the group.")
    if "autoGeneratedDomainNameLabelScope" in address:
        _enum(address["autoGeneratedDomainNameLabelScope"], LABEL_SCOPES, f"{path}.autoGeneratedDomainNameLabelScope")
    if "dnsNameLabel" in address:
        label = _string(address["dnsNameLabel"], f"{path}.dnsNameLabel")
        if address["type"] == "Private":
            raise _invalid("DnsNameLabelNotSupportedForPrivateIp", f"{path}.dnsNameLabel",
                           "A DNS name label is only supported for a Public IP address.")
        if not _DNS_LABEL.match(label):
            raise _invalid("InvalidDnsNameLabel", f"{path}.dnsNameLabel",
                           f"The DNS name label '{label}' is invalid: lowercase letters, digits and '-', "
                           "starting with a letter, 3-63 characters.")
