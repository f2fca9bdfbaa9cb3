"""The fake gateway is a test double: it lives in tests/fakes and nothing shipped may reach it."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [ROOT / "shared" / "clawster", ROOT / "functions", ROOT / "layers"]


def test_the_fake_gateway_is_not_in_the_shipped_package():
    assert importlib.util.find_spec("clawster.local.fake_gateway") is None
    assert not any(p.name == "fake_gateway.py" for base in SHIPPED for p in base.rglob("*.py"))
    assert importlib.util.find_spec("tests.fakes.fake_gateway") is not None


def test_no_shipped_module_imports_the_tests():
    offenders = []
    for base in SHIPPED:
        for path in base.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
                offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n == "tests" or n.startswith("tests.")]
    assert offenders == []
