"""Opaque pagination cursors: the LastEvaluatedKey, base64url-encoded, checked on the way back in.

A cursor is only accepted by the listing it came from: it must decode to exactly the key shape of
that listing's table or index (the key attributes and nothing else), in the listing's partition, with
its sort key inside the listing's range. So a cursor from another workspace, from another listing on
the same partition, or a forged one is a 400, never a read of someone else's partition and never a
start key DynamoDB refuses (a 5xx).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from clawster.domain.errors import BadRequest

T = TypeVar("T")


def page(query: Callable[..., Iterator[T]], *args: Any, limit: int, **kwargs: Any) -> tuple[list[T], str | None]:
    """One page of a listing, `query(*args, **kwargs)` (a PynamoDB query), and the cursor of the next page: None
    on the last page. DynamoDB answers a LastEvaluatedKey whenever it stops at its Limit, even at the last item
    (whose next page is then empty), so one item more than the page is read: a cursor only if it exists. With a
    filter, PynamoDB reads on until `limit` + 1 items passed it or the range ends."""
    result = query(*args, limit=limit + 1, **kwargs)
    items: list[T] = []
    last = None
    for item in result:
        if len(items) == limit:  # the item after the page: the next page starts after the page's last item
            return items, encode(last)
        items.append(item)
        last = result.last_evaluated_key  # type: ignore[attr-defined]  # (ResultIterator) resumes after `item`
    return items, None


def encode(last_evaluated_key: dict[str, Any] | None) -> str | None:
    if not last_evaluated_key:
        return None
    raw = json.dumps(last_evaluated_key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# The key attributes of a page's LastEvaluatedKey, by the partition attribute of the listing.
KEY_SHAPES = {
    "pk": {"pk", "sk"},
    "gsi1pk": {"pk", "sk", "gsi1pk", "gsi1sk"},
    "gsi2pk": {"pk", "sk", "gsi2pk", "gsi2sk"},
}
MAX_CURSOR = 2048  # as the query parameter declares


def decode(cursor: str | None, partition: dict[str, str], starts: dict[str, str] | None = None,
           within: dict[str, tuple[str | None, str | None]] | None = None) -> dict[str, Any] | None:
    """Return the ExclusiveStartKey, or raise BadRequest naming `cursor`.

    `partition` is the listing's partition ({attribute: value}, one of KEY_SHAPES); `starts` maps a
    sort-key attribute to the prefix the listing's key condition selects (e.g. {"sk": "FLEET#"}), and
    `within` to the inclusive (low, high) range it selects (None: unbounded on that side)."""
    if not cursor:
        return None
    if len(cursor) > MAX_CURSOR:
        raise BadRequest("cursor: not a cursor this API issued (too long)", {"field": "cursor"})
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("cursor: not a cursor this API issued", {"field": "cursor"}) from None
    [attr] = partition
    if (
        not _well_formed(key)
        or set(key) != KEY_SHAPES[attr]
        or any(key[name] != {"S": value} for name, value in partition.items())
        or any(not key[name]["S"].startswith(prefix) for name, prefix in (starts or {}).items())
        or any(not _between(key[name]["S"], low, high) for name, (low, high) in (within or {}).items())
    ):
        raise BadRequest("cursor: does not belong to this listing", {"field": "cursor"})
    return key


def _well_formed(key: Any) -> bool:
    return isinstance(key, dict) and all(
        isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) and 0 < len(v["S"]) <= 1024
        and v["S"].isprintable() and _utf8(v["S"])
        for v in key.values()
    )


def _between(value: str, low: str | None, high: str | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate, escaped in the JSON
        return False
    return True
