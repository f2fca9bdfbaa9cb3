"""What the API needs to know about each cloud target without importing its SDK: its settings (checked before
anything is written, so a bad one is a 422 naming the field), its size tiers and their hourly estimates.

Settings come from three places, the later winning: the deployment (environment set by CDK, e.g. the ECS
cluster and its private subnets), the fleet's settings for that target, the bot's own. The adapters
(layers/providers/ecs.py, cloudrun.py, aci.py) take the merged, validated model.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ..base import SizeTier
from .prices import hourly_usd

SIZE_TIERS: dict[str, tuple[tuple[str, float, int], ...]] = {
    # (name, vCPU, memory MB): combinations each platform accepts; a gateway's RSS reaches ~1.3 GB, so 2 GB at least.
    "ecs": (("small", 1, 2048), ("medium", 2, 4096), ("large", 4, 8192)),  # Fargate: 1 vCPU takes 2-8 GB
    "cloudrun": (("small", 1, 2048), ("medium", 2, 4096), ("large", 4, 8192)),  # Cloud Run: 1 CPU up to 4 GiB
    "aci": (("small", 1, 2048), ("medium", 2, 4096), ("large", 4, 8192)),  # ACI: memory in GB steps of 0.1
}
DESCRIPTIONS = {"small": "one gateway, a few channels", "medium": "busy agents, browser tools",
                "large": "heavy tool use, many sessions"}

GUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
Size = Literal["small", "medium", "large"]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,}(-[a-z0-9]+)+$", max_length=40)]


def size_tiers(target: str) -> tuple[SizeTier, ...]:
    return tuple(SizeTier(name, vcpu, memory, DESCRIPTIONS[name], hourly_usd(target, vcpu, memory))
                 for name, vcpu, memory in SIZE_TIERS[target])


def tier(target: str, name: str) -> SizeTier:
    return next(t for t in size_tiers(target) if t.name == name)


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    size: Size = "small"


def _csv(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


class EcsSettings(_Settings):
    """AWS ECS on Fargate. Defaults come from the deployment (CDK sets them on the task Lambdas)."""

    region: Region | None = Field(None, description="The AWS region (default: the control plane's own)")
    cluster: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_:/.-]{1,255}$")] = Field(
        default_factory=lambda: os.environ.get("CLAWSTER_ECS_CLUSTER", ""), description="The ECS cluster's name or ARN")
    subnets: list[Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = Field(
        default_factory=lambda: _csv("CLAWSTER_ECS_SUBNETS"), max_length=16,
        description="Private subnets for the gateways' tasks (no public IP is ever assigned)")
    security_groups: list[Annotated[str, StringConstraints(pattern=r"^sg-[0-9a-f]{8,17}$")]] = Field(
        default_factory=lambda: _csv("CLAWSTER_ECS_SECURITY_GROUP"), max_length=5,
        description="Security groups admitting the gateway port from the control plane only")
    file_system_id: Annotated[str, StringConstraints(pattern=r"^(fs-[0-9a-f]{8,17})?$")] = Field(
        default_factory=lambda: os.environ.get("CLAWSTER_EFS_ID", ""), description="The EFS file system for state")
    image_repository: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._/:-]{0,254}$")] = Field(
        default_factory=lambda: os.environ.get("CLAWSTER_GATEWAY_IMAGE", "clawster-gateway"),
        description="The gateway image's repository; the tag is the OpenClaw version")

    def missing(self) -> list[str]:
        return [name for name in ("cluster", "subnets", "security_groups", "file_system_id") if not getattr(self, name)]


class CloudRunSettings(_Settings):
    """GCP Cloud Run. Credentials: Application Default Credentials of the control plane (workload identity)."""

    project: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")] = Field(
        default_factory=lambda: os.environ.get("CLAWSTER_GCP_PROJECT", "clawster-local"), description="The project id")
    region: Region = Field(default_factory=lambda: os.environ.get("CLAWSTER_GCP_REGION", "us-central1"))
    bucket: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")] = Field(
        default_factory=lambda: os.environ.get("CLAWSTER_GCP_BUCKET", "clawster-state"),
        description="The Cloud Storage bucket holding the gateways' state (a folder per bot)")
    service_account: Annotated[str, StringConstraints(pattern=r"^$|^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9.-]+$")] = Field(
        default_factory=lambda: os.environ.get("CLAWSTER_GCP_SERVICE_ACCOUNT", ""),
        description="The gateways' service account (may read their secrets and the bucket only)")
    ingress: Literal["internal", "internal-and-cloud-load-balancing"] = "internal"
    image_repository: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._/:-]{0,254}$")] = Field(
        default_factory=lambda: os.environ.get("CLAWSTER_GATEWAY_IMAGE", "clawster-gateway"))


class AciSettings(_Settings):
    """Azure Container Instances. Credentials: DefaultAzureCredential of the control plane (workload identity)."""

    subscription_id: Annotated[str, StringConstraints(pattern=GUID)] = Field(
        default_factory=lambda: os.environ.get("CLAWSTER_AZURE_SUBSCRIPTION", "00000000-0000-0000-0000-000000000000"))
    resource_group: Annotated[str, StringConstraints(pattern=r"^[-\w._()]{1,90}$")] = Field(
        default_factory=lambda: os.environ.get("CLAWSTER_AZURE_RESOURCE_GROUP", "clawster"))
    location: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{2,40}$")] = Field(
        default_factory=lambda: os.environ.get("CLAWSTER_AZURE_LOCATION", "eastus"))
    storage_account: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{3,24}$")] = Field(
        default_factory=lambda: os.environ.get("CLAWSTER_AZURE_STORAGE_ACCOUNT", "clawsterstate"),
        description="The storage account whose file shares hold the gateways' state")
    storage_key_ref: str = Field(default_factory=lambda: os.environ.get("CLAWSTER_AZURE_STORAGE_KEY_REF", ""),
                                 description="A Secrets Manager reference to the storage account's key")
    subnet_id: str | None = Field(None, description="A subnet delegated to container groups: a private group")
    dns_name_label_prefix: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,30}$")] | None = Field(
        None, description="Public groups only: a DNS label prefix (the bot id is appended)")
    image_repository: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._/:-]{0,254}$")] = Field(
        default_factory=lambda: os.environ.get("CLAWSTER_GATEWAY_IMAGE", "clawster-gateway"))

    @field_validator("storage_key_ref")
    @classmethod
    def _reference(cls, value: str) -> str:
        if value:
            from clawster.domain.secret_refs import FORMAT, InvalidSecretRef, SecretRef

            try:
                SecretRef.parse(value, field="storage_key_ref")  # a reference, never the key itself
            except InvalidSecretRef:
                raise ValueError(f"a reference to the key ({FORMAT}), never the key") from None
        return value

    @field_validator("subnet_id")
    @classmethod
    def _subnet(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
                                              r"Microsoft\.Network/virtualNetworks/[^/]+/subnets/[^/]+$", value):
            raise ValueError("an Azure subnet resource id (/subscriptions/.../virtualNetworks/<vnet>/subnets/<name>)")
        return value


SETTINGS: dict[str, type[_Settings]] = {"ecs": EcsSettings, "cloudrun": CloudRunSettings, "aci": AciSettings}


def settings(target: str, *layers: dict[str, Any] | None) -> _Settings:
    """The target's settings: the deployment's defaults under the given layers (fleet's, then bot's), validated.
    pydantic's ValidationError names the field; the API turns it into a 422."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer or {})
    return SETTINGS[target].model_validate(merged)
