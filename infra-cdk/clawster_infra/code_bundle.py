"""What the Lambdas run: the staged function code and the dependency layer, both byte-compiled.

Staging copies only what runs in Lambda (functions/, the clawster package and the providers under layers/,
without the local stack, the local provider and the CLI), so the bundle never carries the venv, the node runtime or tests.

CDK zips assets with 1980 timestamps, so a timestamp-checked .pyc would be stale in Lambda and
Python would recompile at every cold start (and could not even cache the result: the code folder is
read-only). The bundle and the layer carry unchecked-hash .pyc files instead, which load without
looking at the source. Paths inside them are the ones Lambda sees (/var/task, /opt/python), so the
bytes, hence the asset hash, depend only on the code.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEPS_LAYER = REPO / "infra-cdk" / "build" / "deps-layer"  # a link made by the build command
BUILD_COMMAND = "scripts/build_deps_layer.sh"
RUNTIME_REQUIREMENTS = REPO / "requirements" / "runtime.txt"
LAYER_STAMP = "clawster-deps-layer.json"  # written last by the build command
LAMBDA_PYTHON = "3.11"
LAYER_PLATFORM = "manylinux2014_aarch64"
# The local stack and the CLI never run in Lambda (the import contracts keep Lambda code off them).
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "local", "cli")


class DepsLayerNotBuilt(RuntimeError):
    """The dependency layer is missing or was built from other requirements: deploying would ship
    functions that fail at their first import."""


@contextmanager
def staged_function_code() -> Iterator[Path]:
    """A temporary folder with functions/, clawster/ and layers/ at its root (handler paths resolve as in the repo).

    It lives only while the stack is built: CDK copies it into the cloud assembly when the first
    function binds it. A private folder, so parallel syntheses in one work tree cannot clobber it.
    """
    with tempfile.TemporaryDirectory(prefix="clawster-app-") as tmp:
        target = Path(tmp) / "app"
        shutil.copytree(REPO / "functions", target / "functions", ignore=_IGNORE)
        shutil.copytree(REPO / "shared" / "clawster", target / "clawster", ignore=_IGNORE)
        shutil.copytree(REPO / "layers", target / "layers", ignore=_IGNORE)  # the providers the task functions drive
        byte_compile(target, runtime_path="/var/task")
        yield target


def byte_compile(folder: Path, *, runtime_path: str) -> None:
    """unchecked-hash .pyc next to every .py, naming files as Lambda sees them (`runtime_path`/...)."""
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running != LAMBDA_PYTHON:
        raise RuntimeError(f"synthesis byte-compiles for the python{LAMBDA_PYTHON} runtime, so it must run on it (not {running})")
    # A fresh interpreter: marshal's output depends on the compiling process's state, the asset hash must not.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash",
         "-s", str(folder), "-p", runtime_path, str(folder)],
        check=True,
    )


def expected_layer_stamp() -> dict:
    """What the build command records for the current requirements/runtime.txt."""
    return {
        "requirements_sha256": hashlib.sha256(RUNTIME_REQUIREMENTS.read_bytes()).hexdigest(),
        "python": LAMBDA_PYTHON,
        "platform": LAYER_PLATFORM,
    }


def deps_layer_dir(folder: Path = DEPS_LAYER) -> Path:
    """The built layer folder (python/ inside) for today's runtime requirements, or DepsLayerNotBuilt."""
    stamp = folder / LAYER_STAMP
    if not stamp.is_file():
        raise DepsLayerNotBuilt(
            f"the Lambda dependency layer is not built ({stamp} is missing): run {BUILD_COMMAND} "
            "(make synth and make deploy run it for you)"
        )
    built = json.loads(stamp.read_text())
    if built != expected_layer_stamp():
        raise DepsLayerNotBuilt(
            f"the Lambda dependency layer at {folder} was built from other requirements or for another runtime "
            f"({built} != {expected_layer_stamp()}): run {BUILD_COMMAND} again"
        )
    # The real folder: CDK fingerprints and copies files, not the link.
    return folder.resolve()
