"""Field-level diff for audit events."""

from __future__ import annotations

from typing import Any

IGNORED = {"updated_at", "version"}


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """{field: {"from": old, "to": new}} for every field that changed (bookkeeping fields aside)."""
    before, after = before or {}, after or {}
    changed = {}
    for key in sorted(set(before) | set(after)):
        if key in IGNORED:
            continue
        old, new = before.get(key), after.get(key)
        if old != new:
            changed[key] = {"from": old, "to": new}
    return changed
