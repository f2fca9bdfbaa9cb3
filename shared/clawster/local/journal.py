"""Keep the local stack's table on disk so that every acknowledged write survives a crash or SIGKILL.

moto keeps everything in memory. Each committed change is appended to a journal segment and fsync'd
before moto answers the request that made it (moto_dynamodb calls `_append` under its lock, in commit
order), so a write whose API response was sent is already on disk. The journal is compacted into the
snapshot (snapshot.py) on start, on stop, and in the background after `compact_after` records; so a
write never waits for the whole table to be written, and a restart replays only a short journal.

Files in the state folder: `table.jsonl` (the snapshot; its header names the last segment it
contains) and `journal-<seq>.jsonl` (one JSON line per changed item: its key and its new image, or
null once deleted). Replaying a record twice gives the same result, so a crash at any point of a
compaction leaves files that restore to the same table.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import IO, Any

from . import moto_dynamodb, snapshot

log = logging.getLogger("local.journal")

SNAPSHOT_FILE = "table.jsonl"
SEGMENT = re.compile(r"^journal-(\d+)\.jsonl$")


class DurableTable:
    def __init__(self, state_dir: Path, table_arn: str, key_names: list[str], compact_after: int = 5000):
        self.state_dir, self.table_arn, self.key_names = Path(state_dir), table_arn, key_names
        self.compact_after = compact_after
        self.snapshot_path = self.state_dir / SNAPSHOT_FILE
        self._seq = 0
        self._segment: IO[str] | None = None
        self._since_compaction = 0
        self._compact_requested = threading.Event()
        self._stopping = threading.Event()
        self._compaction_lock = threading.Lock()
        self._unregister = lambda: None
        self._thread = threading.Thread(target=self._compact_when_asked, name="journal-compactor", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------------

    def load(self) -> list[dict[str, Any]]:
        """The table as the files describe it: the snapshot with every later journal record applied."""
        items, seq = snapshot.read(self.snapshot_path)
        by_key = {self._key_of(item): item for item in items}
        for segment_seq, path in self._segments():
            if segment_seq <= seq:
                continue  # already in the snapshot (a compaction stopped before deleting it)
            for record in _records(path):
                key = _canonical(record["key"])
                if record["item"] is None:
                    by_key.pop(key, None)
                else:
                    by_key[key] = record["item"]
            self._seq = max(self._seq, segment_seq)
        self._seq = max(self._seq, seq)
        return list(by_key.values())

    def start(self) -> int:
        """Compact what was loaded into a fresh snapshot, then journal every change from now on."""
        saved = self.compact()
        self._unregister = moto_dynamodb.on_change(self._append)
        self._thread.start()
        return saved

    def stop(self) -> int:
        """Stop journaling and compact: the snapshot then holds everything. Returns the item count."""
        self._stopping.set()
        self._compact_requested.set()
        if self._thread.is_alive():  # not when the stack failed before start()
            self._thread.join(timeout=60)
        saved = self.compact()
        self._unregister()
        with moto_dynamodb.LOCK:
            self._close_segment()
        return saved

    # -- the journal -------------------------------------------------------------------------------

    def _append(self, changes: list[moto_dynamodb.Change]) -> None:
        """Called by moto_dynamodb under its lock, before the request that made `changes` is answered."""
        lines = [snapshot.dumps({"key": key, "item": item}) + "\n"
                 for arn, key, item in changes if arn == self.table_arn]
        if not lines:
            return
        if self._segment is None:
            self._segment = open(self.state_dir / f"journal-{self._seq}.jsonl", "a", encoding="utf-8")
            snapshot.fsync_dir(self.state_dir)  # the new file's name must be durable too
        self._segment.write("".join(lines))
        self._segment.flush()
        os.fsync(self._segment.fileno())
        self._since_compaction += len(lines)
        if self._since_compaction >= self.compact_after:
            self._compact_requested.set()

    def compact(self) -> int:
        """Fold the journal into a new snapshot. Writes go on meanwhile, into the next segment."""
        with self._compaction_lock:
            with moto_dynamodb.LOCK:  # a consistent cut: the items and the segment they end
                items = moto_dynamodb.items_of(self.table_arn)
                covered = self._seq
                self._close_segment()
                self._seq += 1
                self._since_compaction = 0
            saved = snapshot.write(self.snapshot_path, items, covered)
            for segment_seq, path in self._segments():
                if segment_seq <= covered:
                    path.unlink(missing_ok=True)
            return saved

    def _compact_when_asked(self) -> None:
        while not self._stopping.is_set():
            self._compact_requested.wait()
            self._compact_requested.clear()
            if self._stopping.is_set():
                return
            try:
                self.compact()
            except Exception:  # keep journaling; the next request or stop() compacts again
                log.exception("journal compaction failed")

    def _close_segment(self) -> None:
        if self._segment is not None:
            self._segment.close()
            self._segment = None

    def _segments(self) -> list[tuple[int, Path]]:
        found = [(int(m.group(1)), p) for p in self.state_dir.iterdir() if (m := SEGMENT.match(p.name))]
        return sorted(found)

    def _key_of(self, item: dict[str, Any]) -> str:
        return _canonical({name: item[name] for name in self.key_names})


def _canonical(key: dict[str, Any]) -> str:
    return json.dumps(key, sort_keys=True)


def _records(path: Path) -> list[dict[str, Any]]:
    """A segment's records. Only its last line can be torn (the write that was never acknowledged)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    records = []
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            if number == len(lines) - 1:  # no newline after it: the process died mid-write
                log.warning("ignoring a torn last record in %s", path.name)
                break
            raise
    return records
