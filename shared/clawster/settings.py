"""Environment of a function, parsed once at cold start: a mis-deploy fails on the first invocation."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    table_name: str
    region: str


def load() -> Settings:
    table = os.environ.get("TABLE_NAME")
    if not table:
        raise RuntimeError("TABLE_NAME is not set: the function was deployed without its table")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return Settings(table_name=table, region=region)
