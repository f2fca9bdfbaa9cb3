"""The schemathesis "may also be a 422" rows (tests/e2e/test_schemathesis.py ALSO_422) each name the operations
they mean, and only those: schemathesis ORs the filters of one [[operations]] block, so a row with a path and a
method filter accepted a 422 on every operation of that method (51 of 71 operations, found 2026-11-26)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.e2e.test_schemathesis import ALSO_422

OPENAPI = json.loads((Path(__file__).resolve().parents[2] / "docs/openapi.json").read_text())
OPERATIONS = [f"{method.upper()} {path}" for path, item in OPENAPI["paths"].items() for method in item
              if method in ("get", "post", "put", "patch", "delete")]


def _matched(selector: dict[str, str]) -> list[str]:
    (key, value), = selector.items()  # one filter per row: the OR of several would widen it
    if key == "include-name":
        return [op for op in OPERATIONS if op == value]
    if key == "include-path":
        return [op for op in OPERATIONS if op.split(" ", 1)[1] == value]
    assert key == "include-path-regex", key
    return [op for op in OPERATIONS if re.search(value, op.split(" ", 1)[1])]


def test_each_row_has_one_filter_and_names_real_operations():
    for name, selector in ALSO_422:
        assert len(selector) == 1, name
        assert _matched(selector), name


def test_the_rows_reach_only_the_operations_they_are_about():
    allowed = {op for _, selector in ALSO_422 for op in _matched(selector)}
    # Hand-written: none of these has a rule the schema cannot state, so none may answer a valid request 422.
    for operation in ("POST /workspaces", "PATCH /workspaces/{workspace_id}", "POST /workspaces/{workspace_id}/fleets",
                      "GET /workspaces/{workspace_id}/bots/{bot_id}", "DELETE /workspaces/{workspace_id}/bots/{bot_id}"):
        assert operation in OPERATIONS and operation not in allowed, operation
