"""Bots whose gateways are fake ones (tests/fakes/fake_gateway.py) on loopback, handed to the local stack by the
loopback provider's inventory (the `stack` fixture names it): such a bot is RUNNING on its applied revision, as
a finished provision leaves it, so a config change on it is applied by the apply workflow to the fake."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

from clawster.store.entities import Bot
from layers.providers.registry import LOOPBACK_ENV
from tests.fakes.fake_gateway import FakeGateway


@contextmanager
def fake_gateways():
    """live(team, name) -> (bot_id, fake): a bot of team.fleet_id running on a new fake gateway. Every fake is
    stopped and taken out of the inventory at the end."""
    inventory = Path(os.environ[LOOPBACK_ENV])
    started: list[tuple[str, FakeGateway]] = []

    def live(team, name: str) -> tuple[str, FakeGateway]:
        bot_id = team.owner.post(f"{team.ws}/fleets/{team.fleet_id}/bots",
                                 {"name": name, "template_id": "minimal"}).ok(201).body["id"]
        fake = FakeGateway(f"tok-{bot_id}").start()
        started.append((bot_id, fake))
        token_file = inventory.parent / f"token-{bot_id}"
        token_file.write_text(fake.token)
        token_file.chmod(0o600)
        entries = json.loads(inventory.read_text())
        entries[bot_id] = {"http_url": fake.http_url, "ws_url": fake.ws_url, "token_ref": f"file:{token_file}"}
        inventory.write_text(json.dumps(entries))
        bot = Bot.get(*Bot.key(team.workspace_id, bot_id), consistent_read=True)
        bot.status, bot.target, bot.applied_revision_id = "RUNNING", "loopback", bot.desired_revision_id
        bot.stamp()
        bot.save()
        return bot_id, fake

    try:
        yield live
    finally:
        entries = json.loads(inventory.read_text())
        for bot_id, fake in started:
            entries.pop(bot_id, None)
            fake.stop()
        inventory.write_text(json.dumps(entries))
