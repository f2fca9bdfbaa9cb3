"""Where a fleet's (or bot's) Azure Container Instances gateways go, validated before anything is called.

Deployment-wide defaults come from the environment (CLAWSTER_AZURE_*, set by the deploy guide's steps); a fleet's
or bot's target settings override them field by field. The storage account key is a secret reference resolved at
call time (clawster.secrets), never a value kept here.
"""

from __future__ import annotations

import os
import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from clawster.domain.errors import ValidationFailed
from clawster.domain.secret_refs import SecretRef

ENV = {  # field -> the environment variable holding the deployment's default
    "subscription_id": "CLAWSTER_AZURE_SUBSCRIPTION_ID",
    "resource_group": "CLAWSTER_AZURE_RESOURCE_GROUP",
    "location": "CLAWSTER_AZURE_LOCATION",
    "storage_account": "CLAWSTER_AZURE_STORAGE_ACCOUNT",
    "storage_key_ref": "CLAWSTER_AZURE_STORAGE_KEY_REF",
    "subnet_ids": "CLAWSTER_AZURE_SUBNET_IDS",  # comma-separated
    "dns_label_prefix": "CLAWSTER_AZURE_DNS_LABEL_PREFIX",
    "image_repository": "CLAWSTER_GATEWAY_IMAGE",
}
REQUIRED = ("subscription_id", "resource_group", "location", "storage_account", "storage_key_ref")
_SUBNET = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/virtualNetworks/[^/]+"
                     r"/subnets/[^/]+$", re.IGNORECASE)

Uuid = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")]
ResourceGroup = Annotated[str, StringConstraints(pattern=r"^[-\w.()]{0,89}[-\w()]$")]  # ARM: 1-90, no final '.'
Location = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{1,39}$")]  # e.g. westeurope
StorageAccount = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{3,24}$")]
DnsPrefix = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,14}$")]  # + "-" + bot id stays within 63


def _env(field: str):
    def read() -> str | list[str] | None:
        value = os.environ.get(ENV[field]) or None
        if field == "subnet_ids":
            return [s.strip() for s in value.split(",") if s.strip()] if value else []
        return value

    return read


class Settings(BaseModel):
    """One container group per bot in `resource_group`, its state on an Azure Files share of `storage_account`.
    A private group (in `subnet_ids`, reached over the VNet) or, without subnets, a public one named
    `<dns_label_prefix>-<bot>` (default prefix "clawster")."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)  # env defaults checked too

    subscription_id: Uuid = Field(default_factory=_env("subscription_id"))
    resource_group: ResourceGroup = Field(default_factory=_env("resource_group"))
    location: Location = Field(default_factory=_env("location"))
    storage_account: StorageAccount = Field(default_factory=_env("storage_account"))
    storage_key_ref: str = Field(default_factory=_env("storage_key_ref"))
    subnet_ids: tuple[str, ...] = Field(default_factory=_env("subnet_ids"), max_length=1)  # ACI takes one subnet
    dns_label_prefix: DnsPrefix | None = Field(default_factory=_env("dns_label_prefix"))
    image_repository: str | None = Field(default_factory=_env("image_repository"), min_length=1, max_length=255)
    share_quota_gb: int = Field(default=10, ge=1, le=5120)

    @field_validator("storage_key_ref")
    @classmethod
    def _a_secrets_manager_reference(cls, value: str) -> str:
        try:
            SecretRef.parse(value, field="storage_key_ref")  # never a key itself: a name or ARN in Secrets Manager
        except ValidationFailed:
            raise ValueError("storage_key_ref is a Secrets Manager name or ARN holding the storage account key") from None
        return value

    @field_validator("subnet_ids")
    @classmethod
    def _subnet_resource_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for subnet in value:
            if not _SUBNET.match(subnet):
                raise ValueError(f"{subnet!r} is not a subnet resource id (/subscriptions/<id>/resourceGroups/<rg>/"
                                 "providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>)")
        return value

    @model_validator(mode="after")
    def _private_or_public(self) -> Settings:
        if self.subnet_ids and self.dns_label_prefix:
            raise ValueError("dns_label_prefix is for a public group; a group in subnet_ids is private (no DNS label)")
        return self

    @property
    def private(self) -> bool:
        return bool(self.subnet_ids)


def configured() -> str | None:
    """None when this deployment can serve the target (its defaults are set), else why not."""
    missing = [ENV[field] for field in REQUIRED if not os.environ.get(ENV[field])]
    return f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set" if missing else None
