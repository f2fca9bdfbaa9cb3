"""The local stack's snapshot file: every item of the table as JSON lines, in DynamoDB's wire JSON.

The first line is a header naming the last journal segment the snapshot contains, so a restart
replays only the segments written after it (journal.py). The file is written to a temporary name,
fsync'd and renamed over the old one: a crash leaves the previous snapshot or the new one, never
half of one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FORMAT = 2


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _from_format_1(node: Any) -> Any:
    """Format 1 (no header) wrapped binary values as {"$b64": ...}; the wire format is the bare base64."""
    if isinstance(node, dict):
        if set(node) == {"$b64"}:
            return node["$b64"]
        return {k: _from_format_1(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_from_format_1(v) for v in node]
    return node


def write(path: Path, items: Iterable[dict[str, Any]], journal_seq: int) -> int:
    """Write the snapshot atomically; returns the item count."""
    count = 0
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "w", encoding="utf-8") as out:
        out.write(dumps({"$snapshot": FORMAT, "journal_seq": journal_seq}) + "\n")
        for item in items:
            out.write(dumps(item) + "\n")
            count += 1
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)
    fsync_dir(path.parent)
    return count


def read(path: Path) -> tuple[list[dict[str, Any]], int]:
    """(items, the last journal segment they contain); ([], 0) when there is no snapshot yet."""
    if not path.exists():
        return [], 0
    items, journal_seq = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if "$snapshot" in row:
            journal_seq = int(row["journal_seq"])
        else:
            items.append(row if journal_seq else _from_format_1(row))
    return items, journal_seq


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new file durable: the directory entry must reach the disk too."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
