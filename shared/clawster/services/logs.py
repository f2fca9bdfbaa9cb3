"""A bot's gateway log, read through the provider of its target.

What is served: the gateway's own log lines, as it wrote them (openclaw writes JSON lines and redacts
secrets itself: tokens, API keys and `$secretRef` values never reach its log). The control plane adds
nothing to them and reads no other file: no config, no state, no credentials. Only members of the
bot's workspace (VIEWER and up) may read them.
"""

from __future__ import annotations

from typing import Any

from clawster.domain.errors import InvalidState
from clawster.services import bots
from clawster.services.context import Access
from clawster.services.targets import provider_of
from layers.providers.errors import GatewayNotFound


def gateway_logs(access: Access, bot_id: str, *, cursor: int | None, limit: int) -> dict[str, Any]:
    """The last `limit` lines (no cursor), or those written after `cursor`, with the cursor to continue."""
    bot = bots.get(access, bot_id)
    if not bot.target:
        raise _no_gateway(bot.id, bot.status, "it was never deployed to a target (provision it first)")
    try:
        chunk = provider_of(bot).logs(bot.id, cursor, limit)
    except GatewayNotFound:
        raise _no_gateway(bot.id, bot.status, f"it has no gateway on target {bot.target}") from None
    return {"bot_id": bot.id, "status": bot.status, "lines": chunk.lines, "cursor": chunk.cursor}


def _no_gateway(bot_id: str, status: str, why: str) -> InvalidState:
    return InvalidState(f"bot {bot_id} is {status}: {why}, so there is no log to read",
                        {"bot_id": bot_id, "status": status})
