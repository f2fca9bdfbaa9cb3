"""Targets as the API shows them (GET /targets), a bot's target settings, and what its gateway costs an hour.

Settings are checked here, before anything is written: a wrong one is a 422 naming `target_settings.<field>`.
A bot pins the full settings it is deployed with (the deployment's defaults included), so a later change of the
fleet's or the deployment's defaults never loses track of where its gateway runs.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from clawster.domain.errors import ValidationFailed
from layers.providers import registry
from layers.providers.cloud import targets as cloud
from layers.providers.cloud.common import OPENCLAW_VERSIONS
from layers.providers.cloud.prices import table

DESCRIPTIONS = {
    "local": "Real OpenClaw gateways as supervised processes on the control plane's machine (development)",
    "loopback": "Gateways someone else runs, handed over by address (a lab's or a benchmark's)",
    "ecs": "AWS ECS on Fargate: a service per bot in private subnets, state on an EFS access point",
    "cloudrun": "GCP Cloud Run: a service per bot, one always-on instance, state on a Cloud Storage volume",
    "aci": "Azure Container Instances: a container group per bot, state on an Azure Files share",
}


def settings_for(target: str, fleet_settings: dict[str, Any] | None, given: dict[str, Any] | None,
                 field: str = "target_settings") -> dict[str, Any] | None:
    """The full settings a bot on `target` is deployed with, or None for a target that has none (local)."""
    if target not in cloud.SETTINGS:
        if given:
            raise ValidationFailed(field, f"target {target!r} takes no settings")
        return None
    try:
        model = cloud.settings(target, fleet_settings, given)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValidationFailed(f"{field}.{where}" if where else field, first["msg"]) from None
    return model.model_dump(mode="json")


def check_fleet_settings(per_target: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]] | None:
    """A fleet's defaults per target, each checked as a bot's would be (without the deployment's defaults
    baked in: those stay the deployment's until a bot is deployed)."""
    if not per_target:
        return per_target
    for target, given in per_target.items():
        settings_for(target, None, given, field=f"target_settings.{target}")
    return per_target


def listing() -> list[dict[str, Any]]:
    return [describe(target) for target in registry.TARGETS]


def describe(target: str) -> dict[str, Any]:
    reason = registry.unavailable(target)
    out: dict[str, Any] = {"name": target, "description": DESCRIPTIONS[target], "available": reason is None,
                           "unavailable_reason": reason, "settings_schema": None, "prices": None}
    if target in cloud.SETTINGS:
        prices = table(target)
        out |= {"settings_schema": cloud.SETTINGS[target].model_json_schema(),
                "size_tiers": [_tier(t) for t in cloud.size_tiers(target)],
                "openclaw_versions": list(OPENCLAW_VERSIONS),
                "prices": {"source": prices.source, "as_of": prices.as_of, "currency": prices.currency,
                           "region": prices.region, "note": prices.note}}
        return out
    if reason is None:
        from layers.providers.errors import ProviderError

        try:
            capabilities = registry.provider_for(target).capabilities()
        except ProviderError as error:
            return out | {"available": False, "unavailable_reason": error.message}
        out |= {"size_tiers": [_tier(t) for t in capabilities.size_tiers],
                "openclaw_versions": list(capabilities.openclaw_versions)}
    return out


def _tier(tier) -> dict[str, Any]:
    return {"name": tier.name, "vcpu": tier.vcpu, "memory_mb": tier.memory_mb, "description": tier.description,
            "hourly_usd": tier.hourly_usd}


def settings_of(bot: Any) -> dict[str, Any] | None:
    """The settings the bot's gateway was deployed with (a stored map), as a plain dict."""
    stored = getattr(bot, "target_settings", None)
    return stored.as_dict() if hasattr(stored, "as_dict") else stored


def provider_of(bot: Any):
    """The provider of the bot's target, with the settings its gateway was deployed with."""
    return registry.provider_for(str(bot.target), settings_of(bot))


def cost_estimate(target: str | None, settings: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the bot's gateway costs an hour at list price on its cloud target (None elsewhere)."""
    if target not in cloud.SETTINGS:
        return None
    size = (settings or {}).get("size") or "small"
    prices = table(target)
    return {"hourly_usd": cloud.tier(target, size).hourly_usd, "size": size, "source": prices.source,
            "as_of": prices.as_of}
