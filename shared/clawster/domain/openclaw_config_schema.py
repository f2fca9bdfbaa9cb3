"""A bot's OpenClaw config checked against the config schema of its OpenClaw version, with no node.

The schema of each supported version is what that version's own CLI prints (`openclaw config schema`,
the JSON schema of openclaw.json the gateway validates against), captured by
scripts/capture_openclaw_schema.py into openclaw_schemas/<version>.json and checked against the real
CLI by tests/contract/test_openclaw_schema_current.py. `validate` runs it with the `jsonschema` library
and reports the issues the way `openclaw config validate --json` does: a dot-joined path ("<root>" for
the top level; an unknown key is reported at the object holding it, like OpenClaw) and a reason.

An unknown version (a newer gateway, or none given) is checked against the schema of DEFAULT_VERSION.
Where this check and the real gateway disagree on a case the tests found, the gateway wins; those
cases are listed in KNOWN_DISAGREEMENTS of the contract test and in docs/decisions.md.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported on first use: an API function that writes no config never loads jsonschema
    from jsonschema import Draft7Validator
    from jsonschema.exceptions import ValidationError

DEFAULT_VERSION = "2026.9.6"
SUPPORTED_VERSIONS = ("2026.9.6", "2026.9.5")
SCHEMAS = Path(__file__).resolve().parent / "openclaw_schemas"
ROOT = "<root>"
MAX_ISSUES = 20

_JSON_TYPES = (("boolean", bool), ("integer", int), ("number", float), ("string", str), ("array", list),
               ("object", dict), ("null", type(None)))


def schema_file(version: str) -> Path:
    return SCHEMAS / f"{version}.json"


def canonical(schema: dict[str, Any]) -> str:
    """The stored form of a schema: sorted keys, no whitespace."""
    return json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def schema_version(version: str | None) -> str:
    """The version whose schema checks a config of `version` (DEFAULT_VERSION when it has none here)."""
    return version if version in SUPPORTED_VERSIONS and schema_file(version).exists() else DEFAULT_VERSION


def load_schema(version: str) -> dict[str, Any]:
    return json.loads(schema_file(version).read_text())


def js_pattern(pattern: str) -> str:
    """An ECMAScript regular expression (what the schema carries, zod's) as a Python one: the Unicode
    categories it uses as character ranges, and `$` as the end of the input (Python's `$` also matches
    before a final newline)."""
    out, i, in_class = [], 0, False
    categories = {"Cc": r"\x00-\x1f\x7f-\x9f", "Cs": r"\ud800-\udfff"}
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and pattern.startswith(("p{", "P{"), i + 1):
            end = pattern.index("}", i)
            name, negated = pattern[i + 3:end], pattern[i + 1] == "P"
            ranges = categories[name]  # KeyError: a category this port does not know yet (the test finds it)
            out.append(ranges if in_class else f"[{'^' if negated else ''}{ranges}]")
            i = end + 1
            continue
        if char == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        elif char == "$" and not in_class:
            char = r"\Z"
        out.append(char)
        i += 1
    return "".join(out)


def _to_python(node: Any) -> Any:
    """The schema as this library must read it to judge what OpenClaw accepts: regular expressions in
    Python's syntax, and a property with a default not required (the schema is zod's *output* shape,
    where a defaulted property is always present; a config file may leave it out, the gateway fills it)."""
    if isinstance(node, dict):
        converted = {}
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                converted[key] = js_pattern(value)
            elif key == "patternProperties" and isinstance(value, dict):
                converted[key] = {js_pattern(k): _to_python(v) for k, v in value.items()}
            else:
                converted[key] = _to_python(value)
        properties = node.get("properties")
        if isinstance(node.get("required"), list) and isinstance(properties, dict):
            converted["required"] = [name for name in node["required"]
                                     if not (isinstance(properties.get(name), dict) and "default" in properties[name])]
        return converted
    if isinstance(node, list):
        return [_to_python(item) for item in node]
    return node


@functools.lru_cache(maxsize=len(SUPPORTED_VERSIONS))
def validator(version: str) -> Draft7Validator:
    """The compiled validator of a supported version's schema (built once per version and process)."""
    from jsonschema import Draft7Validator

    return Draft7Validator(_to_python(load_schema(version)))


def format_path(path: Any) -> str:
    """A path as OpenClaw prints it: keys and list indexes joined by ".", "<root>" for the top."""
    return ".".join(str(part) for part in path) or ROOT


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return next(name for name, kind in _JSON_TYPES if isinstance(value, kind))


def _allowed(schema: Any) -> list[Any] | None:
    """The values an enumeration allows (a `const`, an `enum`, or an anyOf/oneOf of those), else None."""
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return [schema["const"]]
    if "enum" in schema:
        return list(schema["enum"])
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        values = [_allowed(branch) for branch in branches]
        if all(v is not None for v in values):
            return [item for v in values for item in v]  # type: ignore[union-attr]
    return None


def _reason_for_choice(error: ValidationError) -> list[dict[str, str]]:
    """An anyOf/oneOf: the allowed values of an enumeration, else the issues of the one branch whose type
    fits the value, else a plain "Invalid input"."""
    allowed = _allowed(error.schema)
    if allowed is not None:
        shown = ", ".join(json.dumps(value) for value in allowed)
        return [{"path": format_path(error.absolute_path), "reason": f"Invalid input (allowed: {shown})"}]
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        by_branch.setdefault(sub.schema_path[0], []).append(sub)
    fitting = [subs for subs in by_branch.values()
               if not any(s.validator == "type" and not s.relative_path for s in subs)]
    if len(fitting) == 1:
        return [issue for sub in fitting[0] for issue in _issues_of(sub)]
    return [{"path": format_path(error.absolute_path), "reason": "Invalid input"}]


def _issues_of(error: ValidationError) -> list[dict[str, str]]:
    path = format_path(error.absolute_path)
    if error.validator == "additionalProperties" and error.validator_value is False and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        patterns = list(error.schema.get("patternProperties", {}))
        extra = [key for key in error.instance if key not in known and not any(
            re.search(pattern, key) for pattern in patterns)]
        return [{"path": path, "reason": f'Unrecognized key: "{key}"'} for key in extra]
    if error.validator in ("anyOf", "oneOf"):
        return _reason_for_choice(error)
    if error.validator == "type":
        expected = error.validator_value if isinstance(error.validator_value, str) else " or ".join(error.validator_value)
        return [{"path": path, "reason": f"Invalid input: expected {expected}, received {_type_name(error.instance)}"}]
    if error.validator in ("const", "enum"):
        allowed = ", ".join(json.dumps(v) for v in _allowed(error.schema) or [error.validator_value])
        return [{"path": path, "reason": f"Invalid input (allowed: {allowed})"}]
    return [{"path": path, "reason": error.message}]


def validate(config: dict[str, Any], version: str | None = None) -> list[dict[str, str]]:
    """The issues the OpenClaw config schema of `version` finds in `config` ([] when it is valid):
    [{"path": "gateway.mode", "reason": "..."}], in path order, at most MAX_ISSUES.

    A version without a schema here (unknown, newer, or None) is checked against DEFAULT_VERSION's."""
    issues: list[dict[str, str]] = []
    errors = sorted(validator(schema_version(version)).iter_errors(config), key=lambda e: [str(p) for p in e.path])
    for error in errors:
        for issue in _issues_of(error):
            if issue not in issues:
                issues.append(issue)
    return issues[:MAX_ISSUES]
