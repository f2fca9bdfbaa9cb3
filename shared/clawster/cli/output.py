"""Printing results as table, json or yaml (-o). Tables are plain columns: every value in full, never
cut or wrapped to the terminal's width, so ids can be copied and grepped."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from clawster.cli import yaml_out

Column = tuple[str, Callable[[dict], Any]]


def col(header: str, key: str | None = None) -> Column:
    """A column showing item[key] (default: the header lowercased, dashes as underscores)."""
    name = key or header.lower().replace("-", "_")
    return header, lambda item: item.get(name)


def show_item(item: dict, fmt: str, columns: Sequence[Column]) -> None:
    if fmt == "table":
        print(table(columns, [item]))
    else:
        _dump(item, fmt)


def show_page(page: dict, fmt: str, columns: Sequence[Column], noun: str) -> None:
    """A listing: {"items": [...], "next_cursor": ...} as json/yaml, or the items as a table."""
    if fmt != "table":
        _dump(page, fmt)
    elif page["items"]:
        print(table(columns, page["items"]))
    else:
        print(f"No {noun} found.", file=sys.stderr)


def show_fields(fields: dict, fmt: str) -> None:
    """A record that is not a listing row (whoami, login): "KEY  value" lines for its scalar fields."""
    if fmt != "table":
        _dump(fields, fmt)
        return
    scalars = {k: v for k, v in fields.items() if v is not None and not isinstance(v, list)}
    width = max(len(k) for k in scalars)
    for key, value in scalars.items():
        print(f"{key.upper().replace('_', '-'):<{width}}  {cell(value)}")


def show_message(message: str, data: dict, fmt: str) -> None:
    """A confirmation (deleted ...): the sentence in a table, the data in json/yaml."""
    if fmt == "table":
        print(message)
    else:
        _dump(data, fmt)


def table(columns: Sequence[Column], items: Sequence[dict]) -> str:
    rows = [[header for header, _ in columns]]
    rows += [[cell(get(item)) for _, get in columns] for item in items]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    return "\n".join("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        text = ",".join(f"{k}={v}" for k, v in value.items())
    elif isinstance(value, list):
        text = ",".join(str(v) for v in value)
    else:
        text = str(value)
    # one row per item: escape line breaks and other control characters
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _dump(data: Any, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(yaml_out.dumps(data))
