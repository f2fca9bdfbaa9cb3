"""Keep the local stack's table on disk, so its data survives a restart.

moto keeps everything in memory. After each successful mutation the writer saves the whole table
(a few hundred items in a dev stack) within `delay_s`, and once more on shutdown, as JSON lines of
DynamoDB-typed items written to a temporary file and renamed over the old one: a crash leaves the
previous snapshot or the new one, never half of one.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from . import scan_guard

log = logging.getLogger("local.snapshot")


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return {"$b64": base64.b64encode(value).decode()}
    raise TypeError(f"cannot snapshot {type(value).__name__}")


def _decode(item: dict[str, Any]) -> dict[str, Any]:
    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"$b64"}:
                return base64.b64decode(node["$b64"])
            return {k: fix(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    return fix(item)


def save(client: Any, table_name: str, path: Path) -> int:
    """Write every item of the table to `path` atomically; returns the item count."""
    items = 0
    temp = path.with_name(f".{path.name}.tmp")
    with scan_guard.allowed(), open(temp, "w", encoding="utf-8") as out:
        for page in client.get_paginator("scan").paginate(TableName=table_name, ConsistentRead=True):
            for item in page["Items"]:
                out.write(json.dumps(item, default=_encode, separators=(",", ":")) + "\n")
                items += 1
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)
    return items


def restore(client: Any, table_name: str, path: Path) -> int:
    """Put every item of the snapshot back into the (empty) table; returns the item count."""
    if not path.exists():
        return 0
    items = [_decode(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": item}} for item in items[start:start + 25]]
        pending = {table_name: requests}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return len(items)


class SnapshotWriter:
    """Saves the table soon after it changes (debounced), and on stop()."""

    def __init__(self, client: Any, table_name: str, path: Path, delay_s: float = 0.5):
        self.client, self.table_name, self.path, self.delay_s = client, table_name, path, delay_s
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="snapshot-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def mark_dirty(self) -> None:
        self._dirty.set()

    def flush(self) -> int:
        with self._lock:
            self._dirty.clear()
            return save(self.client, self.table_name, self.path)

    def stop(self) -> int:
        self._stopping.set()
        self._dirty.set()
        self._thread.join(timeout=10)
        return self.flush()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._dirty.wait()
            if self._stopping.wait(self.delay_s):
                return
            try:
                self.flush()
            except Exception:  # keep the writer alive; the next change or stop() retries
                log.exception("snapshot failed")
