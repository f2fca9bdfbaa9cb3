"""Runs one gateway and writes down how it ended. Standard library only: process.launch runs this file
as a script (`python -I exit_recorder.py EXIT_FILE VALIDATE_JSON -- COMMAND...`).

Why: the process that launches a gateway (a task worker) is usually gone long before the gateway ends,
and then nobody could collect its exit status. This small parent stays in the gateway's session and
process group, ignores the SIGTERM/SIGINT/SIGHUP a stop sends to the whole group (the gateway gets it
too and shuts down), waits, and writes EXIT_FILE atomically:

    {"pid": <this process's pid>, "code": <exit code, or -signal>, "validate": {...} (exit 78 only)}

On exit 78 (openclaw refused its config, or another process owns its state folder) it runs
VALIDATE_JSON (`openclaw config validate --json`, a JSON list) once and keeps its output, so that every
reader of the file classifies the failure the same way without running openclaw again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

CONFIG_ERROR_EXIT = 78
_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _default_signals() -> None:
    for sig in _SIGNALS:
        signal.signal(sig, signal.SIG_DFL)


def main(argv: list[str]) -> int:
    exit_file, validate = argv[1], json.loads(argv[2])
    command = argv[argv.index("--") + 1:]
    for sig in _SIGNALS:  # before the child exists, so a stop can never find us unprotected
        signal.signal(sig, signal.SIG_IGN)
    try:
        child = subprocess.Popen(command, preexec_fn=_default_signals)  # the gateway keeps default handlers
    except OSError as error:
        _write(exit_file, {"pid": os.getpid(), "code": 127, "error": str(error)})
        return 127
    code = child.wait()
    ending: dict = {"pid": os.getpid(), "code": code}
    if code == CONFIG_ERROR_EXIT and validate:
        try:
            out = subprocess.run(validate, capture_output=True, text=True, timeout=120)
            ending["validate"] = {"rc": out.returncode, "stdout": out.stdout[-20000:], "stderr": out.stderr[-2000:]}
        except (OSError, subprocess.SubprocessError) as error:
            ending["validate"] = {"rc": None, "stdout": "", "stderr": str(error)}
    _write(exit_file, ending)
    return code if code >= 0 else 128 - code


def _write(path: str, ending: dict) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(ending, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
