"""Bots on loopback fake gateways in the test session's stack: the `stack` fixture names the loopback provider's
inventory ($CLAWSTER_LOOPBACK_INVENTORY) before it starts; tests/fakes/loopback_fleet.py does the handing over."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from layers.providers.registry import LOOPBACK_ENV
from tests.fakes.fake_gateway import FakeGateway
from tests.fakes.loopback_fleet import LoopbackFleet


def session_fleet(secrets: Path) -> LoopbackFleet:
    """Fakes handed over through this session's inventory."""
    return LoopbackFleet(Path(os.environ[LOOPBACK_ENV]), secrets)


def hand_over(workspace_id: str, bot_ids: list[str], fakes: list[FakeGateway], secrets: Path) -> None:
    """Each bot RUNNING on target "loopback", on its fake, with its desired revision applied there."""
    session_fleet(secrets).hand_over(workspace_id, bot_ids, fakes)


@contextmanager
def fake_gateways(secrets: Path) -> Iterator:
    """live(team, name) -> (bot_id, fake): a bot of team.fleet_id running on a new fake gateway; every fake is
    stopped at the end."""
    fleet = session_fleet(secrets)

    def live(team, name: str) -> tuple[str, FakeGateway]:
        bot_id = team.owner.post(f"{team.ws}/fleets/{team.fleet_id}/bots",
                                 {"name": name, "template_id": "minimal"}).ok(201).body["id"]
        fake = fleet.start(1)[0]
        fleet.hand_over(team.workspace_id, [bot_id], [fake])
        return bot_id, fake

    try:
        yield live
    finally:
        fleet.stop()
