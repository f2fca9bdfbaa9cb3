"""Where an ECS gateway runs: the target settings the API checks (cloud/targets.py EcsSettings: the deployment's
defaults from the environment CDK sets, under the fleet's and the bot's), plus what only the adapter needs, from
the deployment alone. A missing or wrong field is named in the error."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, model_validator

from ..cloud.targets import EcsSettings, size_tiers

CLUSTER_ENV = "CLAWSTER_ECS_CLUSTER"
SUBNETS_ENV = "CLAWSTER_ECS_SUBNETS"  # comma list: private subnets (the gateways get no public address)
SECURITY_GROUP_ENV = "CLAWSTER_ECS_SECURITY_GROUP"  # comma list; admits the gateway port from the control plane only
FILE_SYSTEM_ENV = "CLAWSTER_EFS_ID"
RETENTION_ENV = "CLAWSTER_ECS_LOG_RETENTION_DAYS"
ROLE_BOUNDARY_ENV = "CLAWSTER_ECS_ROLE_BOUNDARY"  # optional: the permissions boundary every bot role gets
STATE_MOUNT_ENV = "CLAWSTER_EFS_MOUNT"  # optional: where this function mounts the file system's /bots (to wipe a bot's)
REQUIRED_ENV = (CLUSTER_ENV, SUBNETS_ENV, SECURITY_GROUP_ENV, FILE_SYSTEM_ENV)
# CloudWatch Logs accepts these retention periods only.
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
SIZE_TIERS = size_tiers("ecs")  # Fargate CPU/memory pairs, priced from prices/ecs.json (what GET /targets shows)


class Settings(EcsSettings):
    """EcsSettings, complete (a cluster, subnets, security groups and a file system, from the settings or the
    deployment), and the deployment's log retention, role boundary and state mount."""

    log_retention_days: int = Field(default_factory=lambda: int(os.environ.get(RETENTION_ENV) or 30))
    role_permissions_boundary: str | None = Field(
        default_factory=lambda: os.environ.get(ROLE_BOUNDARY_ENV) or None,
        pattern=r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/[A-Za-z0-9_+=,.@/-]+$")
    state_mount: str | None = Field(default_factory=lambda: os.environ.get(STATE_MOUNT_ENV) or None, pattern=r"^/")
    assign_public_ip: Literal[False] = False  # a gateway is reached from the control plane's VPC only

    @model_validator(mode="after")
    def _complete(self) -> Settings:
        missing = self.missing()
        if missing:
            raise ValueError(f"{', '.join(missing)}: not set, neither in the target settings nor by the deployment "
                             f"({', '.join(REQUIRED_ENV)})")
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
