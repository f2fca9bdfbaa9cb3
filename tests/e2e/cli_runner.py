"""Run the installed `clawster` command as a user would, in a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CLAWSTER = str(Path(sys.executable).with_name("clawster"))


def clawster(*args: str, home: Path, env: dict[str, str] | None = None, stdin: str | None = None,
             cwd: Path | None = None, columns: int = 200, timeout: float = 120) -> subprocess.CompletedProcess:
    """`clawster *args` with its own CLAWSTER_HOME (config and stack pointer) and no CLAWSTER_*
    variable from the caller, plus `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CLAWSTER_")}
    full = {**clean, "CLAWSTER_HOME": str(home), "COLUMNS": str(columns), **(env or {})}
    return subprocess.run([CLAWSTER, *args], capture_output=True, text=True, env=full, input=stdin,
                          cwd=cwd, timeout=timeout)


def ok(run: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    assert "Traceback" not in run.stderr, run.stderr
    return run


def fails(run: subprocess.CompletedProcess, code: int, *phrases: str) -> subprocess.CompletedProcess:
    """The run exited with `code`, said each phrase on stderr, and printed no traceback."""
    assert run.returncode == code, f"expected exit {code}, got {run.returncode}\n{run.stdout}\n{run.stderr}"
    assert "Traceback" not in run.stderr, run.stderr
    for phrase in phrases:
        assert phrase in run.stderr, f"{phrase!r} not in stderr:\n{run.stderr}"
    return run
