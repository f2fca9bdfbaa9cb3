"""The Azure Container Instances target (azure-mgmt-containerinstance): `provider(settings)` as the registry builds
it, `Settings` (validated target settings), `configured()` (None when this deployment can serve the target)."""

from __future__ import annotations

from .provider import AciProvider
from .settings import Settings, configured

__all__ = ["AciProvider", "Settings", "configured", "provider"]


def provider(settings: Settings, **clients) -> AciProvider:
    return AciProvider(settings, **clients)
