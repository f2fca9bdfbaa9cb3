"""The linters run as tests, so CI fails on a lint error or a broken import contract (e.g. Lambda
code importing the local stack) just as it fails on a broken behaviour."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing():
    targets = [p for p in ("shared", "functions", "layers", "infra-cdk", "tests", "bench") if (ROOT / p).exists()]
    run = _run(str(BIN / "ruff"), "check", *targets)
    assert run.returncode == 0, run.stdout + run.stderr


def test_import_contracts_hold():
    run = _run(str(BIN / "lint-imports"), "--no-cache")
    assert run.returncode == 0, run.stdout + run.stderr


def test_no_test_uses_moto_decorator_mode():
    """moto's backends are global to a process, and the local stack's moto server (one per test process)
    uses them: leaving a mock_aws() block resets every backend, wiping the stack's table mid-session.
    Tests use the stack's moto instead."""
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "tests").rglob("*.py")
                 if "mock_" + "aws(" in path.read_text() and path.name != "test_lint.py"]
    assert offenders == []
