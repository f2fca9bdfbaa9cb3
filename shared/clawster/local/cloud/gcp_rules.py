"""Cloud Run's own rules for a Service (after the JSON shape passed), as its documentation states them: names,
the one ingress container and its port, env names (PORT and K_* are Cloud Run's), CPU and memory combinations,
volumes and their mounts, scaling, labels and annotations. Each problem names the field, as Google's 400s do.

Refused here though Cloud Run would take it: more than one container (sidecars), which the stand-in does not run.
"""

from __future__ import annotations

import re

from google.cloud import run_v2

from .gcp_shape import Problem

SERVICE_ID = re.compile(r"^[a-z](?:[-a-z0-9]{0,47}[a-z0-9])?$")  # <= 49, lowercase, letter first, no trailing '-'
SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
RESERVED_ENV = {"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"}  # Cloud Run sets them on every instance
RESERVED_ANNOTATIONS = ("run.googleapis.com/", "cloud.googleapis.com/", "serving.knative.dev/", "autoscaling.knative.dev/")
LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
MOUNT_OPTION = re.compile(r"^[a-z][a-z0-9-]*(=[^\s,]+)?$")
EMAIL = re.compile(r"^[^@\s]+@[a-z0-9.-]+$")
CPU = re.compile(r"^(\d+(\.\d+)?|\d+m)$")
MEMORY = re.compile(r"^(\d+)(Mi|Gi|M|G)$")
GIB = 1024**3
# (vCPU, least memory, most memory): https://cloud.google.com/run/docs/configuring/services/memory-limits
CPU_MEMORY = {1: (128 * 1024**2, 4 * GIB), 2: (128 * 1024**2, 8 * GIB), 4: (2 * GIB, 16 * GIB),
              6: (4 * GIB, 24 * GIB), 8: (4 * GIB, 32 * GIB)}
MANUAL = run_v2.ServiceScaling.ScalingMode.MANUAL


def service_problems(service: run_v2.Service) -> list[Problem]:
    problems = _labels(service.labels, "service.labels") + _annotations(service.annotations, "service.annotations")
    template = service.template
    problems += _labels(template.labels, "service.template.labels")
    problems += _annotations(template.annotations, "service.template.annotations")
    if template.service_account and not EMAIL.match(template.service_account):
        problems.append(("service.template.service_account", "must be a service account's email"))
    if not template.containers:
        problems.append(("service.template.containers", "at least one container is required"))
    elif len(template.containers) > 1:
        problems.append(("service.template.containers", "the stand-in runs one container per revision (no sidecars)"))
    volumes = {volume.name for volume in template.volumes}
    problems += _volumes(template.volumes)
    for index, container in enumerate(template.containers):
        problems += _container(container, f"service.template.containers[{index}]", volumes)
    scaling = template.scaling
    if scaling.max_instance_count and scaling.min_instance_count > scaling.max_instance_count:
        problems.append(("service.template.scaling.min_instance_count", "must not exceed max_instance_count"))
    problems += _service_scaling(service.scaling)
    return problems


def _container(container: run_v2.Container, where: str, volumes: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    if not container.image:
        problems.append((f"{where}.image", "an image is required"))
    if len(container.ports) > 1:
        problems.append((f"{where}.ports", "at most one port may be exposed"))
    for index, port in enumerate(container.ports):
        if not 0 <= port.container_port <= 65535:
            problems.append((f"{where}.ports[{index}].container_port", "must be between 1 and 65535"))
    problems += _env(container.env, where)
    problems += _resources(container.resources, f"{where}.resources")
    for index, mount in enumerate(container.volume_mounts):
        at = f"{where}.volume_mounts[{index}]"
        if mount.name not in volumes:
            problems.append((f"{at}.name", f"no volume named {mount.name!r}"))
        path = mount.mount_path
        if not path.startswith("/") or path == "/" or re.match(r"^/(dev|proc|sys)(/|$)", path):
            problems.append((f"{at}.mount_path", f"{path!r} is not an absolute path outside /, /dev, /proc, /sys"))
    return problems


def _env(env_vars, where: str) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, env in enumerate(env_vars):
        at = f"{where}.env[{index}]"
        if not ENV_NAME.match(env.name):
            problems.append((f"{at}.name", f"invalid environment variable name {env.name!r}"))
        elif env.name in RESERVED_ENV:
            problems.append((f"{at}.name", f"{env.name} is reserved: Cloud Run sets it"))
        elif env.name in seen:
            problems.append((f"{at}.name", f"{env.name} is set twice"))
        seen.add(env.name)
        has_source = "value_source" in env
        if has_source and env.value:
            problems.append((at, "value and value_source are mutually exclusive"))
        if has_source and not env.value_source.secret_key_ref.secret:
            problems.append((f"{at}.value_source.secret_key_ref.secret", "the secret is required"))
    return problems


def _resources(resources: run_v2.ResourceRequirements, where: str) -> list[Problem]:
    limits = dict(resources.limits)
    problems = [(f"{where}.limits", f"unknown resource {key!r}") for key in limits
                if key not in ("cpu", "memory", "nvidia.com/gpu")]
    cpu = _cpu(limits.get("cpu", "1"))
    memory = _memory(limits.get("memory", "512Mi"))
    if cpu is None:
        problems.append((f"{where}.limits.cpu", f"invalid CPU {limits['cpu']!r}: 1, 2, 4, 6, 8 or below 1 in millis"))
    if memory is None:
        problems.append((f"{where}.limits.memory", f"invalid memory {limits['memory']!r}, e.g. 512Mi or 2Gi"))
    if cpu is None or memory is None:
        return problems
    if cpu < 1:
        if not resources.cpu_idle:  # CPU always allocated takes a whole one
            problems.append((f"{where}.limits.cpu", "CPU always allocated needs at least 1 CPU"))
    elif cpu not in CPU_MEMORY:
        problems.append((f"{where}.limits.cpu", f"{cpu:g} CPUs is not offered: 1, 2, 4, 6 or 8"))
    else:
        least, most = CPU_MEMORY[int(cpu)]
        if not least <= memory <= most:
            problems.append((f"{where}.limits.memory",
                             f"{limits.get('memory')} is outside {least // 1024**2}Mi..{most // GIB}Gi for {cpu:g} CPU"))
    return problems


def _cpu(text: str) -> float | None:
    if not CPU.match(text):
        return None
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def _memory(text: str) -> int | None:
    match = MEMORY.match(text)
    if not match:
        return None
    unit = {"Mi": 1024**2, "Gi": GIB, "M": 10**6, "G": 10**9}[match.group(2)]
    return int(match.group(1)) * unit


def _volumes(volumes) -> list[Problem]:
    problems: list[Problem] = []
    names: set[str] = set()
    for index, volume in enumerate(volumes):
        at = f"service.template.volumes[{index}]"
        if not volume.name or volume.name in names:
            problems.append((f"{at}.name", "a unique name is required"))
        names.add(volume.name)
        kinds = [kind for kind in ("secret", "cloud_sql_instance", "empty_dir", "nfs", "gcs") if kind in volume]
        if len(kinds) != 1:
            problems.append((at, "exactly one volume type is required"))
        if "gcs" in volume:
            if not BUCKET.match(volume.gcs.bucket):
                problems.append((f"{at}.gcs.bucket", f"invalid bucket name {volume.gcs.bucket!r}"))
            for number, option in enumerate(volume.gcs.mount_options):
                if not MOUNT_OPTION.match(option):
                    problems.append((f"{at}.gcs.mount_options[{number}]", f"invalid gcsfuse option {option!r}"))
    return problems


def _service_scaling(scaling: run_v2.ServiceScaling) -> list[Problem]:
    manual = "manual_instance_count" in scaling
    if scaling.scaling_mode == MANUAL and not manual:
        return [("service.scaling.manual_instance_count", "required when scaling_mode is MANUAL")]
    if manual and scaling.scaling_mode != MANUAL:
        return [("service.scaling.manual_instance_count", "only with scaling_mode MANUAL")]
    if manual and scaling.manual_instance_count < 0:
        return [("service.scaling.manual_instance_count", "must not be negative")]
    return []


def _labels(labels, where: str) -> list[Problem]:
    return [(f"{where}[{key}]", "label keys: lowercase letter first, [a-z0-9_-], 63 at most; values likewise")
            for key, value in labels.items() if not LABEL_KEY.match(key) or not LABEL_VALUE.match(value)]


def _annotations(annotations, where: str) -> list[Problem]:
    return [(f"{where}[{key}]", f"annotation {key} is not supported on resources of this type")
            for key in annotations if key.startswith(RESERVED_ANNOTATIONS)]
