"""Stages the Lambda code (functions/ + the clawster package) and the dependency layer folder.

Staging copies only what runs in Lambda, so the asset hash changes only when that code does
and the bundle never carries the venv, the node runtime or tests.
"""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "infra-cdk" / "build"
DEPS_LAYER = BUILD / "deps-layer"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "local", "cli.py")


def stage_function_code() -> Path:
    """infra-cdk/build/app with functions/ and clawster/ at its root (handler paths resolve as in the repo)."""
    target = BUILD / "app"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(REPO / "functions", target / "functions", ignore=_IGNORE)
    shutil.copytree(REPO / "shared" / "clawster", target / "clawster", ignore=_IGNORE)
    return target


def deps_layer_dir() -> Path:
    """The layer folder scripts/build_deps_layer.sh fills (python/ with the runtime requirements).

    Synthesis must work offline before that script has run, so a missing folder is created with a
    marker file; `make deploy` rebuilds it for real first.
    """
    python_dir = DEPS_LAYER / "python"
    if not python_dir.exists():
        python_dir.mkdir(parents=True)
        (python_dir / "NOT_BUILT").write_text("run scripts/build_deps_layer.sh before deploying\n")
    return DEPS_LAYER
