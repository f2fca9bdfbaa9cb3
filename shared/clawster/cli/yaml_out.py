"""YAML for JSON-shaped data (dicts, lists, str, int, float, bool, None), in block style.

Small on purpose: the CLI only prints what the API returned. A string is written plain only when
no YAML 1.1 or 1.2 reader could take it for anything else (a number, a bool, null, a date); every
other string is a double-quoted scalar (the JSON escapes are valid YAML escapes).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Letters, digits and a few safe marks, single spaces inside; no ": ", " #", quotes or leading indicators.
PLAIN = re.compile(r"^[A-Za-z0-9_/]([A-Za-z0-9_./@+-]| (?! ))*(?<! )$")
NUMBER_LIKE = re.compile(
    r"^[-+]?(0x[0-9a-f_]+|0o?[0-7_]+|0b[01_]+|[0-9][0-9_]*(\.[0-9_]*)?(e[-+]?[0-9]+)?|\.[0-9_]+(e[-+]?[0-9]+)?"
    r"|\.inf|\.nan)$",
    re.IGNORECASE,
)
RESERVED = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"}
# What a YAML stream may hold unescaped (YAML 1.2 §5.1 "printable"), minus the line breaks.
NOT_PRINTABLE = re.compile("[^\x09\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]")


def dumps(data: Any) -> str:
    return "\n".join(_lines(data, 0)) + "\n"


def _lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict) and value:
        lines = []
        for key, item in value.items():
            head = f"{pad}{scalar(str(key))}:"
            lines += _nested(head, item, indent)
        return lines
    if isinstance(value, list) and value:
        lines = []
        for item in value:
            if isinstance(item, dict) and item:
                # "- first: 1" then the other keys aligned under "first"
                inner = _lines(item, indent + 2)
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines += inner[1:]
            else:
                lines += _nested(f"{pad}-", item, indent)
        return lines
    return [pad + scalar(value)]


def _nested(head: str, item: Any, indent: int) -> list[str]:
    if isinstance(item, dict | list) and item:
        return [head, *_lines(item, indent + 2)]
    return [f"{head} {scalar(item)}"]


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        mantissa, e, exponent = text.partition("e")
        # YAML 1.1 readers want a dot and a signed exponent: 1e+20 -> 1.0e+20, 1e-05 -> 1.0e-05
        return text if not e or "." in mantissa else f"{mantissa}.0e{exponent}"
    if isinstance(value, dict | list):  # only empty ones get here
        return "{}" if isinstance(value, dict) else "[]"
    text = str(value)
    if _plain_ok(text):
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    return NOT_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _plain_ok(text: str) -> bool:
    return (bool(PLAIN.match(text)) and any(c.isalpha() for c in text)
            and text.lower() not in RESERVED and not NUMBER_LIKE.match(text.replace(" ", "")))
