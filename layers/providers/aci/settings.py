"""The ACI target's settings: the one model the API validates and the registry merges (layers/providers/cloud/
targets.py AciSettings: deployment defaults from CLAWSTER_AZURE_*, then the fleet's, then the bot's), and whether
this deployment has what the adapter needs to call Azure at all."""

from __future__ import annotations

import os

from ..cloud.targets import AciSettings as Settings

__all__ = ["Settings", "configured", "REQUIRED_ENV"]

# What the deployment must set before the target is worth offering (the model's own defaults are placeholders).
REQUIRED_ENV = ("CLAWSTER_AZURE_SUBSCRIPTION", "CLAWSTER_AZURE_RESOURCE_GROUP", "CLAWSTER_AZURE_LOCATION",
                "CLAWSTER_AZURE_STORAGE_ACCOUNT", "CLAWSTER_AZURE_STORAGE_KEY_REF")


def configured() -> str | None:
    """None when this deployment can serve the target (its defaults are set), else why not."""
    missing = [name for name in REQUIRED_ENV if not os.environ.get(name)]
    return f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set" if missing else None
