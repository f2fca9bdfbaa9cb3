"""ULIDs: sortable by creation time, so a sort key of ULIDs is also a time index."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from ulid import ULID

MAX_ULID_SECONDS = (2**48 - 1) / 1000  # the 48-bit millisecond clock of a ULID
ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def new_id() -> str:
    return str(ULID())


def is_id(value: str) -> bool:
    return bool(ULID_RE.match(value or ""))


def _time_part(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # a time without a zone is read as UTC
    seconds = min(max(moment.timestamp(), 0.0), MAX_ULID_SECONDS)
    return str(ULID.from_timestamp(seconds))[:10]


def id_floor(moment: datetime) -> str:
    """The smallest ULID of a moment: bounds a sort-key range by time."""
    return _time_part(moment) + "0" * 16


def id_ceiling(moment: datetime) -> str:
    return _time_part(moment) + "Z" * 16
