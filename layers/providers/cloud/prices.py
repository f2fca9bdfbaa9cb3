"""Hourly price estimates for the cloud targets' size tiers, from the price tables beside this file (prices/*.json:
each names its source, the date of its numbers and its region). An estimate of the compute a gateway keeps
reserved around the clock, not a bill: storage, logs and traffic are extra, as each table's note says."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

TABLES = Path(__file__).with_name("prices")


@dataclass(frozen=True)
class PriceTable:
    target: str
    source: str
    as_of: str
    note: str
    currency: str
    region: str
    per_vcpu_hour: float
    per_gb_hour: float


@functools.cache
def table(target: str) -> PriceTable:
    return PriceTable(**json.loads((TABLES / f"{target}.json").read_text()))


def hourly_usd(target: str, vcpu: float, memory_mb: int) -> float:
    """The list price of one instance of this size for an hour, rounded to a hundredth of a cent."""
    prices = table(target)
    return round(vcpu * prices.per_vcpu_hour + memory_mb / 1024 * prices.per_gb_hour, 4)
