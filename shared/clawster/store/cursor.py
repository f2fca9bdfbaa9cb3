"""Opaque pagination cursors: the LastEvaluatedKey, base64url-encoded, checked on the way back in.

A cursor is only accepted for the partition it came from, so a cursor from another workspace
(or a forged one) is a 400, never a read of someone else's partition.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from clawster.domain.errors import BadRequest


def encode(last_evaluated_key: dict[str, Any] | None) -> str | None:
    if not last_evaluated_key:
        return None
    raw = json.dumps(last_evaluated_key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None, partition: dict[str, str]) -> dict[str, Any] | None:
    """Return the ExclusiveStartKey, or raise BadRequest naming `cursor`."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadRequest("cursor: not a cursor this API issued", {"field": "cursor"}) from None
    if not _well_formed(key) or any(key.get(attr) != {"S": value} for attr, value in partition.items()):
        raise BadRequest("cursor: does not belong to this listing", {"field": "cursor"})
    return key


def _well_formed(key: Any) -> bool:
    return (
        isinstance(key, dict)
        and 0 < len(key) <= 6
        and all(
            isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) and 0 < len(v["S"]) <= 1024
            for v in key.values()
        )
    )
