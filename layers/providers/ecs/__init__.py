"""The AWS ECS Fargate target: one service of one task per bot, state on EFS, secrets injected by ARN.

    provider(settings)   # what the registry does with the merged, checked EcsSettings (cloud/targets.py)
    configured()         # None when this deployment can run ECS gateways, else why not

settings.py: the target settings and size tiers; shapes.py: every AWS request, as data; provider.py: EcsProvider;
aws.py: AWS's answers as typed errors. The local stack runs it on moto with clawster.local.cloud.ecs_agent.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .provider import EcsProvider
from .settings import SIZE_TIERS, Settings, configured

__all__ = ["SIZE_TIERS", "EcsProvider", "Settings", "configured", "provider"]


def provider(settings: BaseModel | dict[str, Any]) -> EcsProvider:
    """The provider for target settings the registry merged and checked (cloud/targets.py EcsSettings), completed
    with what only the adapter takes from the deployment."""
    if not isinstance(settings, Settings):
        given = settings.model_dump(exclude_none=True) if isinstance(settings, BaseModel) else settings
        settings = Settings.model_validate(given)
    return EcsProvider(settings)
