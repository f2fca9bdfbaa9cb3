"""The test-time plan stays pointed at real things: the files `make test` hands out first, and the
operations schemathesis runs with fewer examples (a renamed file or route would silently drop out)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from tests.e2e.test_schemathesis import EXPENSIVE_EXAMPLES, EXPENSIVE_OPERATIONS, _fewer_examples
from tests.schedule import LONGEST_FIRST, longest_first

ROOT = Path(__file__).resolve().parents[2]


def test_every_file_listed_longest_first_exists_once():
    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)
    for path in LONGEST_FIRST:
        assert (ROOT / path).is_file(), path


def test_listed_files_go_first_in_the_lists_order_and_each_file_keeps_its_own_order():
    items = [SimpleNamespace(nodeid=nodeid) for nodeid in [
        "tests/unit/test_a.py::one", "tests/e2e/test_schemathesis_bots.py::x",
        "tests/unit/test_a.py::two", "tests/e2e/test_schemathesis.py::y", "tests/unit/test_b.py::three",
        "tests/e2e/test_schemathesis.py::z",
    ]]
    longest_first(items)
    assert [item.nodeid for item in items] == [
        "tests/e2e/test_schemathesis.py::y", "tests/e2e/test_schemathesis.py::z",
        "tests/e2e/test_schemathesis_bots.py::x",
        "tests/unit/test_a.py::one", "tests/unit/test_a.py::two", "tests/unit/test_b.py::three",
    ]


def test_every_expensive_operation_is_an_operation_of_the_api():
    paths = json.loads((ROOT / "docs/openapi.json").read_text())["paths"]
    for method, path in EXPENSIVE_OPERATIONS:
        assert method.lower() in paths.get(path, {}), (method, path)


def test_the_cap_names_each_operation_exactly_and_never_raises_a_smaller_run():
    # include-name is one filter on "METHOD path"; an include-method next to an include-path would be two
    # filters that schemathesis ORs, capping every operation of that method.
    blocks = _fewer_examples(200)
    assert blocks.count("[[operations]]") == len(EXPENSIVE_OPERATIONS)
    assert 'include-name = "POST /workspaces/{workspace_id}/templates"\n' in blocks
    assert "include-method" not in blocks and "include-path" not in blocks
    assert f"generation.max-examples = {EXPENSIVE_EXAMPLES}\n" in blocks
    assert _fewer_examples(EXPENSIVE_EXAMPLES) == "" and _fewer_examples(15) == ""
