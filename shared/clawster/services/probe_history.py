"""A compact, bounded history of each bot's health probes (store.entities.HealthProbes): the health job appends
each probe it could judge; the rollout's SLO gate reads the probes of a bake window. A probe with no answer (the
provider did not say) is not recorded: it is no data, not a failure."""

from __future__ import annotations

import time

from clawster.store.entities import HealthProbes, now


def record(workspace_id: str, bot_id: str, healthy: bool, at: float | None = None) -> None:
    """Append one probe to its hour's item (created on the first append, with its TTL)."""
    moment = int(at if at is not None else time.time())
    hour = moment // 3600
    item = HealthProbes(workspace_id=workspace_id, bot_id=bot_id, hour=hour)
    item.derive_keys()
    stamp = now()
    item.update(actions=[
        HealthProbes.probes.set((HealthProbes.probes | []).append([moment if healthy else -moment])),
        HealthProbes.workspace_id.set(workspace_id), HealthProbes.bot_id.set(bot_id), HealthProbes.hour.set(hour),
        HealthProbes.entity.set(HealthProbes.ENTITY), HealthProbes.created_at.set(HealthProbes.created_at | stamp),
        HealthProbes.updated_at.set(stamp), HealthProbes.expires_at.set((hour + 1) * 3600 + HealthProbes.TTL_S),
    ])


def window(workspace_id: str, bot_id: str, since: float, until: float) -> list[bool]:
    """The bot's probes taken in [since, until], oldest first: True healthy, False not. One Query over the
    window's hours (at most 25 items for the longest bake). Probes are kept to the second, so the window opens at
    its whole second: a probe taken 0.3 s after a bake began at x.7 s is stored as x and belongs in it."""
    first, last = HealthProbes.key(workspace_id, bot_id, int(since) // 3600), \
        HealthProbes.key(workspace_id, bot_id, int(until) // 3600)
    probes = []
    for item in HealthProbes.query(first[0], HealthProbes.sk.between(first[1], last[1]), consistent_read=True):
        probes.extend(int(p) for p in item.probes or ())
    return [p > 0 for p in sorted(probes, key=abs) if int(since) <= abs(p) <= until]
