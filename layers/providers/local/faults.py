"""Injected failures of the local target, to rehearse (and test) how workflows handle a target that
refuses for a while, as a cloud API's rate limit or quota would: a file `<root>/.faults/<method>` holding
a number N makes the next N calls of that provider method raise Throttled (retryable). Nothing happens
unless an operator or a test writes such a file; each call that finds one takes one unit, under a lock,
so concurrent processes never consume the same unit twice."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ..errors import Throttled

FOLDER = ".faults"


def inject(root: Path, method: str, times: int) -> None:
    folder = root / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    (folder / method).write_text(str(times))


def take(root: Path, method: str, bot_id: str | None = None) -> None:
    """Raise Throttled if a fault is armed for `method` (and use it up); with `bot_id`, a fault armed for
    that bot only (`inject(root, f"{method}.{bot_id}", n)`) counts too."""
    _take(root, method)
    if bot_id is not None:
        _take(root, f"{method}.{bot_id}")


def _take(root: Path, method: str) -> None:
    path = root / FOLDER / method
    if not path.exists():
        return
    with open(path, "r+") as armed:
        fcntl.flock(armed, fcntl.LOCK_EX)
        left = int(armed.read().strip() or 0)
        if left <= 0:
            return
        armed.seek(0)
        armed.truncate()
        armed.write(str(left - 1))
        armed.flush()
        os.fsync(armed.fileno())
    raise Throttled(f"injected fault: the local target refused {method} ({left - 1} more armed)",
                    {"method": method}, retry_after_ms=1000)
