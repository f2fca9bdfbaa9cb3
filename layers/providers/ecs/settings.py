"""Where an ECS gateway runs: the deployment's defaults from the environment (set by the CDK app), overridden per
fleet or bot by its target settings, validated once. A field that is wrong is named in the error."""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..base import SizeTier
from ..cloud.common import DEFAULT_IMAGE_REPOSITORY, IMAGE_ENV
from ..cloud.prices import hourly_usd

CLUSTER_ENV = "CLAWSTER_ECS_CLUSTER"
SUBNETS_ENV = "CLAWSTER_ECS_SUBNETS"  # comma list: private subnets (the gateways get no public address)
SECURITY_GROUP_ENV = "CLAWSTER_ECS_SECURITY_GROUP"  # comma list; admits the gateway port from the control plane only
FILE_SYSTEM_ENV = "CLAWSTER_EFS_ID"
ROLE_BOUNDARY_ENV = "CLAWSTER_ECS_ROLE_BOUNDARY"  # optional: the permissions boundary every bot role gets
REQUIRED_ENV = (CLUSTER_ENV, SUBNETS_ENV, SECURITY_GROUP_ENV, FILE_SYSTEM_ENV)
# CloudWatch Logs accepts these retention periods only.
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


def _tier(name: str, vcpu: float, memory_mb: int, description: str) -> SizeTier:
    return SizeTier(name, vcpu, memory_mb, description, hourly_usd("ecs", vcpu, memory_mb))


# Fargate's valid CPU/memory pairs (0.5 vCPU: 1-4 GB; 1 vCPU: 2-8 GB; 2 vCPU: 4-16 GB); openclaw needs ~1.5 GB RSS.
SIZE_TIERS = (
    _tier("small", 0.5, 2048, "0.5 vCPU, 2 GB: one gateway, a few channels"),
    _tier("medium", 1.0, 4096, "1 vCPU, 4 GB: busy channels, sandboxed tools"),
    _tier("large", 2.0, 8192, "2 vCPU, 8 GB: heavy agents, browser tools"),
)


def _env_list(name: str) -> list[str] | None:
    value = os.environ.get(name, "")
    return [part.strip() for part in value.split(",") if part.strip()] or None


class Settings(BaseModel):
    """An ECS target: the cluster, network and file system gateways run in. Missing fields come from the
    deployment's environment (CLAWSTER_ECS_*, CLAWSTER_EFS_ID, CLAWSTER_GATEWAY_IMAGE, AWS_REGION)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str = Field(pattern=r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
    cluster: str = Field(pattern=r"^([A-Za-z0-9_-]{1,255}|arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster/[A-Za-z0-9_-]{1,255})$")
    subnets: list[str] = Field(min_length=1, max_length=16)
    security_groups: list[str] = Field(min_length=1, max_length=5)
    file_system_id: str = Field(pattern=r"^fs-[0-9a-f]{8,40}$")
    image_repository: str = Field(DEFAULT_IMAGE_REPOSITORY, pattern=r"^[a-z0-9][a-z0-9._/:-]{0,254}[a-z0-9]$")
    log_retention_days: int = 30
    role_permissions_boundary: str | None = Field(None, pattern=r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/[A-Za-z0-9_+=,.@/-]+$")
    assign_public_ip: Literal[False] = False  # a gateway is reached from the control plane's VPC only

    @model_validator(mode="before")
    @classmethod
    def _deployment_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        defaults = {"region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
                    "cluster": os.environ.get(CLUSTER_ENV), "subnets": _env_list(SUBNETS_ENV),
                    "security_groups": _env_list(SECURITY_GROUP_ENV), "file_system_id": os.environ.get(FILE_SYSTEM_ENV),
                    "image_repository": os.environ.get(IMAGE_ENV), "role_permissions_boundary": os.environ.get(ROLE_BOUNDARY_ENV)}
        return {**{k: v for k, v in defaults.items() if v is not None}, **data}

    @model_validator(mode="after")
    def _checked(self) -> Settings:
        for field, values, pattern in (("subnets", self.subnets, "subnet-"), ("security_groups", self.security_groups, "sg-")):
            for value in values:
                if not value.startswith(pattern) or not all(c in "0123456789abcdef" for c in value[len(pattern):]):
                    raise ValueError(f"{field}: {value!r} is not a {pattern[:-1]} id ({pattern}<hex>)")
        if self.log_retention_days not in RETENTION_DAYS:
            raise ValueError(f"log_retention_days: {self.log_retention_days} is not a CloudWatch Logs retention "
                             f"({', '.join(map(str, RETENTION_DAYS))})")
        return self


def configured() -> str | None:
    """None when this deployment can run ECS gateways, else why not."""
    missing = [name for name in REQUIRED_ENV if not os.environ.get(name)]
    if missing:
        return f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set"
    return None
