"""Pairing approvals through desired state: where a channel keeps the senders allowed to message the bot
(its `allowFrom` list, per the OpenClaw config schema of the bot's version), and the config with one more.
Pure: the service (services/pairing.py) writes it as a new revision, applied by the apply workflow."""

from __future__ import annotations

import copy
from typing import Any

from clawster.domain import openclaw_config_schema
from clawster.domain.errors import ValidationFailed


def allow_from_path(channel: str, account: str | None, openclaw_version: str | None) -> tuple[str, ...]:
    """The config path of the channel's (or the channel account's) allowFrom list; 422 naming `channel` or
    `account` when the schema of the bot's version has none there."""
    version = openclaw_config_schema.schema_version(openclaw_version)
    channels = openclaw_config_schema.load_schema(version)["properties"]["channels"]["properties"]
    if channel not in channels or channel == "defaults":
        raise ValidationFailed("channel", f"openclaw {version} has no channel {channel!r}")
    node = channels[channel]
    if account is not None:
        accounts = (node.get("properties") or {}).get("accounts") or {}
        item = accounts.get("additionalProperties")
        if not isinstance(item, dict) or "allowFrom" not in (item.get("properties") or {}):
            raise ValidationFailed("account", f"channel {channel!r} has no accounts with an allowFrom list")
        return ("channels", channel, "accounts", account, "allowFrom")
    properties = node.get("properties") or {}
    if "allowFrom" in properties:
        return ("channels", channel, "allowFrom")
    if "allowFrom" in ((properties.get("dm") or {}).get("properties") or {}):
        return ("channels", channel, "dm", "allowFrom")
    raise ValidationFailed("channel", f"channel {channel!r} keeps no allowFrom list")


def with_sender(config: dict[str, Any], path: tuple[str, ...], sender: str) -> dict[str, Any] | None:
    """The config with `sender` added to the list at `path`, or None when it is there already. The channel
    must be in the config (a pairing on a channel the bot does not have is a mistake: 422 naming `channel`)."""
    if not isinstance((config.get("channels") or {}).get(path[1]), dict):
        raise ValidationFailed("channel", f"the bot's config has no channel {path[1]!r}")
    changed = copy.deepcopy(config)
    node = changed
    for key in path[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ValidationFailed("channel", f"{'.'.join(path[:-1])} is not an object in the bot's config")
    allowed = node.get(path[-1]) or []
    if sender in [str(entry) for entry in allowed]:
        return None
    node[path[-1]] = [*allowed, sender]
    return changed
