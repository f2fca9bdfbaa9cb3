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


def config_diff(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """Every leaf that differs between two configs, as [{path, op: added|removed|changed, from?, to?}] in
    path order. Objects are walked key by key; any other value (a list, a secret reference
    {"$secretRef": ...}) is one value: a list that changed is one change, as OpenClaw replaces lists whole."""
    if isinstance(before, dict) and isinstance(after, dict) and not _is_reference(before) and not _is_reference(after):
        changes: list[dict[str, Any]] = []
        for key in sorted(set(before) | set(after)):
            where = f"{path}.{key}" if path else key
            if key not in after:
                changes += _leaves(before[key], where, "removed")
            elif key not in before:
                changes += _leaves(after[key], where, "added")
            else:
                changes += config_diff(before[key], after[key], where)
        return changes
    if before == after:
        return []
    return [{"path": path or "<root>", "op": "changed", "from": before, "to": after}]


def _leaves(value: Any, path: str, op: str) -> list[dict[str, Any]]:
    """An added or removed subtree, leaf by leaf (an empty object is one leaf)."""
    if isinstance(value, dict) and value and not _is_reference(value):
        return [change for key in sorted(value) for change in _leaves(value[key], f"{path}.{key}", op)]
    return [{"path": path, "op": op, ("to" if op == "added" else "from"): value}]


def _is_reference(value: dict[str, Any]) -> bool:
    return set(value) == {"$secretRef"}
