"""Pairing approvals made through Clawster: never written to the gateway directly. The sender joins the
channel's allowFrom list in a new revision of the bot's desired config (services/bots.update: audited, and on
a running bot given to the apply workflow in the same transaction), so the gateway gets it as any config
change, and drift detection finds nothing to reconcile."""

from __future__ import annotations

import json

from clawster.domain import pairing
from clawster.services import bots, layers
from clawster.services.context import Access
from clawster.store.entities import Bot, Revision


def approve(access: Access, bot_id: str, *, channel: str, sender: str, account: str | None = None) -> Bot:
    """Allow `sender` on the bot's `channel` (or one of its accounts). Already allowed: the bot unchanged."""
    bot = bots.get(access, bot_id)
    path = pairing.allow_from_path(channel, account, bot.openclaw_version)
    desired = Revision.get(*Revision.key(bot.workspace_id, bot.id, bot.desired_revision_id), consistent_read=True)
    effective = pairing.with_sender(json.loads(desired.config), path, sender)
    if effective is None:
        return bot
    # The bot's own layer takes the whole new list (lists replace whole, whichever layer set the old one).
    override = layers.override_of(bot)
    node, allowed = override, effective
    for key in path:
        allowed = allowed[key]
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = allowed
    return bots.update(access, bot_id, expected_version=bot.version, changes={"config": override})
