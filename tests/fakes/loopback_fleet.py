"""N FakeGateways handed to N bots as their gateways, through the loopback provider (layers/providers/loopback.py:
target "loopback", an inventory of addresses in $CLAWSTER_LOOPBACK_INVENTORY). Shared by bench/rollout.py and the
rollout tests at scale (tests/workflows/test_rollouts_at_scale.py).

    fleet = LoopbackFleet(inventory, secrets_dir)
    fakes = fleet.start(len(bot_ids), write_limit=1000)
    fleet.hand_over(workspace_id, bot_ids, fakes)   # each bot RUNNING on its revision, which its fake holds
    ...
    fleet.stop()

The inventory may be shared (one per test session): entries are merged in and the file replaced atomically, as
task Lambdas may be reading it.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.fakes.fake_gateway import FakeGateway

HAND_OVER_THREADS = 16


class LoopbackFleet:
    def __init__(self, inventory: Path | str, secrets: Path | str):
        self.inventory, self.secrets = Path(inventory), Path(secrets)
        self.secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.fakes: list[FakeGateway] = []

    def start(self, count: int, **options: Any) -> list[FakeGateway]:
        """`count` fakes on loopback (FakeGateway's options, e.g. write_latency_s, write_limit)."""
        started = []
        for _ in range(count):
            fake = FakeGateway(f"tok-{len(self.fakes)}-{os.getpid()}", **options).start()
            self.fakes.append(fake)
            started.append(fake)
        return started

    def hand_over(self, workspace_id: str, bot_ids: list[str], fakes: list[FakeGateway]) -> None:
        """The bots run on the fakes: the inventory says where, each fake holds its bot's desired revision (written
        as an apply writes it, by the provider) and the bot is RUNNING with that revision applied, as a finished
        provision leaves it."""
        from clawster.store.entities import Bot, Revision
        from functions.tasks.bot_workflow import _with_secrets
        from layers.providers.base import GatewayUpdate
        from layers.providers.loopback import LoopbackProvider

        entries = json.loads(self.inventory.read_text()) if self.inventory.exists() else {}
        for bot_id, fake in zip(bot_ids, fakes, strict=True):
            token_file = self.secrets / bot_id
            token_file.write_text(fake.token)
            token_file.chmod(0o600)
            entries[bot_id] = {"http_url": fake.http_url, "ws_url": fake.ws_url, "token_ref": f"file:{token_file}"}
        scratch = self.inventory.with_name(f".{self.inventory.name}.{os.getpid()}")
        scratch.write_text(json.dumps(entries))
        scratch.replace(self.inventory)
        provider = LoopbackProvider(self.inventory)

        def settle(bot_id: str) -> None:
            bot = Bot.get(*Bot.key(workspace_id, bot_id), consistent_read=True)
            revision = Revision.get(*Revision.key(workspace_id, bot_id, bot.desired_revision_id), consistent_read=True)
            provider.update(bot_id, GatewayUpdate(config=_with_secrets(json.loads(revision.config), workspace_id)))
            bot.status, bot.target, bot.applied_revision_id = "RUNNING", "loopback", bot.desired_revision_id
            bot.applied_config_hash = provider.live_config(bot_id).hash
            bot.stamp()
            bot.save()

        with ThreadPoolExecutor(HAND_OVER_THREADS) as pool:  # a benchmark's fakes answer each write after a delay
            list(pool.map(settle, bot_ids))

    def stop(self) -> None:
        for fake in self.fakes:
            fake.stop()
        self.fakes.clear()
