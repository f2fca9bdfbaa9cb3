"""Advisory file locks shared by every process that works on one provider root.

The stack's long-lived provider and the task workers (one process per concurrent invocation) all
change the same bot folders: each state change happens under the bot's `flock`, so two processes
never launch two gateways for one bot. A lock is re-entrant within its holder (restart = stop + start)
and excludes other threads of the same process too. Lock files live in `<root>/.locks/`, beside the
bot folders, and are never removed: delete() removes a bot's folder while holding its lock, and a lock
file unlinked while held would let the next process lock a different inode.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

from ..errors import ProviderBusy


class FileLock:
    def __init__(self, path: Path):
        self.path = path
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def acquire(self, blocking: bool = True, timeout_s: float | None = None) -> bool:
        """True once held; False when not blocking (or past `timeout_s`) and someone else holds it."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        if not self._thread_lock.acquire(blocking, -1 if not blocking or timeout_s is None else timeout_s):
            return False
        if self._depth:
            self._depth += 1
            return True
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)  # never inherited by a gateway
        except BaseException:
            self._thread_lock.release()
            raise
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (fcntl.LOCK_NB if not blocking or deadline is not None else 0))
                break
            except BlockingIOError:
                if not blocking or time.monotonic() >= deadline:
                    os.close(fd)
                    self._thread_lock.release()
                    return False
                time.sleep(0.02)
        self._fd, self._depth = fd, 1
        return True

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        self._thread_lock.release()

    def held(self, timeout_s: float, what: str) -> _Held:
        """`with lock.held(...)`: blocks up to `timeout_s`, then ProviderBusy (retryable)."""
        return _Held(self, timeout_s, what)


class _Held:
    def __init__(self, lock: FileLock, timeout_s: float, what: str):
        self.lock, self.timeout_s, self.what = lock, timeout_s, what

    def __enter__(self) -> FileLock:
        if not self.lock.acquire(timeout_s=self.timeout_s):
            raise ProviderBusy(f"{self.what} is busy: another operation held its lock for {self.timeout_s:.0f}s")
        return self.lock

    def __exit__(self, *exc) -> None:
        self.lock.release()
