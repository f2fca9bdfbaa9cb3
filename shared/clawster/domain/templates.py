"""Built-in bot templates: starting OpenClaw configs. The provisioner adds port, bind and auth."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    description: str
    config: dict[str, Any] = field(default_factory=dict)


_SECURE_BASE: dict[str, Any] = {
    "gateway": {"mode": "local"},
    "update": {"checkOnStart": False},
    "models": {"catalogRefresh": {"enabled": False}},
}

# Channels start closed: strangers pair before a direct message reaches the agent; groups need an allowlist.
_CHANNEL_SAFETY: dict[str, Any] = {"enabled": True, "dmPolicy": "pairing", "groupPolicy": "allowlist"}


def _ref(name: str) -> dict[str, str]:
    return {"$secretRef": name}


TEMPLATES: dict[str, Template] = {
    t.id: t
    for t in (
        Template("minimal", "Minimal gateway", "A gateway with no channels and the default agent.", _SECURE_BASE),
        Template(
            "assistant",
            "Personal assistant",
            "One agent on a hosted model; the model key is a Secrets Manager reference set per bot.",
            {
                **_SECURE_BASE,
                "agents": {"defaults": {"model": {"primary": "openai/gpt-6-astra"}}},
            },
        ),
        Template(
            "offline-mock",
            "Offline (mock model)",
            "Agent turns served by the loopback mock model: for local development and tests.",
            {
                **_SECURE_BASE,
                "models": {
                    "catalogRefresh": {"enabled": False},
                    "providers": {
                        "mock": {
                            "baseUrl": "http://127.0.0.1:29999/v1",
                            "apiKey": {"$secretRef": "clawster/local/mock-model-key"},
                            "api": "openai-completions",
                            "models": [{"id": "mock-1", "name": "Mock 1", "input": ["text"],
                                        "contextWindow": 32000, "maxTokens": 1024}],
                        }
                    },
                },
                "agents": {"defaults": {"model": {"primary": "mock/mock-1"}}},
            },
        ),
        Template(
            "slack",
            "Slack bot",
            "Slack over Socket Mode; direct messages need pairing, channels an allowlist. Override the token "
            "references per bot.",
            {
                **_SECURE_BASE,
                "channels": {"slack": {**_CHANNEL_SAFETY, "mode": "socket",
                                       "botToken": _ref("clawster/slack/bot-token"),
                                       "appToken": _ref("clawster/slack/app-token")}},
            },
        ),
        Template(
            "telegram",
            "Telegram bot",
            "Telegram by long polling; direct messages need pairing, groups an allowlist. Override the token "
            "reference per bot.",
            {**_SECURE_BASE, "channels": {"telegram": {**_CHANNEL_SAFETY, "botToken": _ref("clawster/telegram/bot-token")}}},
        ),
        Template(
            "discord",
            "Discord bot",
            "Discord; direct messages need pairing, guilds an allowlist. Override the token reference per bot.",
            {**_SECURE_BASE, "channels": {"discord": {**_CHANNEL_SAFETY, "token": _ref("clawster/discord/bot-token")}}},
        ),
        Template(
            "webhook",
            "Webhook ingress",
            "The gateway's hooks endpoint at /hooks, behind a bearer token. Override the token reference "
            "per bot; add mappings to route events to an agent.",
            {**_SECURE_BASE, "hooks": {"enabled": True, "path": "/hooks", "token": _ref("clawster/webhook/hooks-token")}},
        ),
    )
}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Objects merge key by key; any other value in `override` replaces the base value."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
