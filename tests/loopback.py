"""Bots whose gateways are loopback fakes (tests/fakes/fake_gateway.py), through the loopback provider
(layers/providers/loopback.py): the fakes are listed in its inventory ($CLAWSTER_LOOPBACK_INVENTORY, set before
the stack starts) and each bot is left RUNNING on its applied revision, as a finished provision leaves it.
Used by the rollout tests and bench/rollout.py."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from clawster.store.entities import Bot
from layers.providers.registry import LOOPBACK_ENV
from tests.fakes.fake_gateway import FakeGateway


def inventory_path() -> Path:
    return Path(os.environ[LOOPBACK_ENV])


def hand_over(workspace_id: str, bot_ids: list[str], fakes: list, secrets: Path) -> None:
    """List each fake as its bot's gateway (its token in a 0600 file under `secrets`), then mark the bot RUNNING
    on target "loopback" with its desired revision applied."""
    inventory = inventory_path()
    entries = json.loads(inventory.read_text()) if inventory.exists() else {}
    secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
    for bot_id, fake in zip(bot_ids, fakes, strict=True):
        token_file = secrets / bot_id
        token_file.write_text(fake.token)
        token_file.chmod(0o600)
        entries[bot_id] = {"http_url": fake.http_url, "ws_url": fake.ws_url, "token_ref": f"file:{token_file}"}
    _write(inventory, entries)
    for bot_id in bot_ids:
        bot = Bot.get(*Bot.key(workspace_id, bot_id), consistent_read=True)
        bot.status, bot.target, bot.applied_revision_id = "RUNNING", "loopback", bot.desired_revision_id
        bot.stamp()
        bot.save()


@contextmanager
def fake_gateways(secrets: Path) -> Iterator:
    """live(team, name) -> (bot_id, fake): a bot of team.fleet_id running on a new fake gateway. Every fake is
    stopped and taken out of the inventory at the end."""
    started: list[tuple[str, FakeGateway]] = []

    def live(team, name: str) -> tuple[str, FakeGateway]:
        bot_id = team.owner.post(f"{team.ws}/fleets/{team.fleet_id}/bots",
                                 {"name": name, "template_id": "minimal"}).ok(201).body["id"]
        fake = FakeGateway(f"tok-{bot_id}").start()
        started.append((bot_id, fake))
        hand_over(team.workspace_id, [bot_id], [fake], secrets)
        return bot_id, fake

    try:
        yield live
    finally:
        for _, fake in started:
            fake.stop()
        forget([bot_id for bot_id, _ in started])


def forget(bot_ids: list[str]) -> None:
    """Take bots' gateways out of the inventory."""
    inventory = inventory_path()
    entries = json.loads(inventory.read_text()) if inventory.exists() else {}
    for bot_id in bot_ids:
        entries.pop(bot_id, None)
    _write(inventory, entries)


def _write(inventory: Path, entries: dict) -> None:
    staged = inventory.with_suffix(".tmp")
    staged.write_text(json.dumps(entries))
    staged.replace(inventory)  # whole or not at all: a provider may read it meanwhile
