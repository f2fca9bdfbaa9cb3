"""What the scheduled jobs that visit every running bot share (health poll, drift check): the bots of some
statuses across all workspaces, a thread pool fed as the index pages arrive, and a time budget.

Each run starts at another status shard (the minute of the hour), so a run cut short by its budget does not
starve the same bots every time. At most 2 x concurrency checks are in flight, so memory stays flat; no new
check starts with less than `reserve_ms` of the invocation left, so the ones in flight end within it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from clawster.store.entities import Bot


@dataclass
class Tally:
    """A run's counters, added to from the pool's threads. Subclasses declare the counters."""

    stopped_early: bool = False
    elapsed_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}


def bots_in(statuses: Iterable[str], *, first_shard: int | None, page_size: int,
            listed: Callable[[], None]) -> Iterator[Bot]:
    """Every bot in `statuses`, shard by shard from `first_shard` (default: this minute's); `listed()` for
    each one read. GSIs are eventually consistent: the check re-reads a bot before it writes."""
    first = datetime.now(timezone.utc).minute % Bot.STATUS_SHARDS if first_shard is None else first_shard
    shards = [(first + i) % Bot.STATUS_SHARDS for i in range(Bot.STATUS_SHARDS)]
    for status in statuses:
        for shard in shards:
            for bot in Bot.by_status.query(Bot.status_partition(status, shard), page_size=page_size):
                listed()
                yield bot


def fan_out(bots: Iterable[Bot], check: Callable[[Bot], None], *, concurrency: int, remaining_ms: Callable[[], int],
            reserve_ms: int, name: str) -> bool:
    """Run `check` on each bot on a pool of `concurrency` threads; True when the budget stopped it early."""
    slots = threading.BoundedSemaphore(2 * concurrency)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=name) as pool:
        for bot in bots:
            if remaining_ms() < reserve_ms:
                return True
            slots.acquire()
            future = pool.submit(check, bot)
            future.add_done_callback(lambda _: slots.release())
    return False
