"""Where the running local stack is, from any directory.

`clawster dev` records its state folder in a per-user pointer file; the stack itself writes
`stack.json` (URL, pid, ...) into that folder while it runs. The CLI reads the pointer, then
`stack.json`, and checks the pid: a pid that is gone means "not running", not a connection error.
Only `clawster dev` writes the pointer, so the stacks tests start never replace a user's dev stack.

Pointer: $CLAWSTER_HOME/current-stack.json, else $XDG_STATE_HOME/clawster/current-stack.json
(~/.local/state/clawster/current-stack.json).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POINTER_FILE = "current-stack.json"
STACK_FILE = "stack.json"
DEFAULT_STATE_DIR = Path(".clawster/dev")


def home() -> Path:
    if explicit := os.environ.get("CLAWSTER_HOME"):
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "clawster"


def pointer_path() -> Path:
    return home() / POINTER_FILE


def record(state_dir: Path) -> None:
    """Point the user's CLI at the stack this process runs in `state_dir`."""
    path = pointer_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_text(json.dumps({"state_dir": str(state_dir.resolve()), "pid": os.getpid()}, indent=2))
    os.replace(temp, path)


def forget() -> None:
    """Remove the pointer if it still names this process (a newer `clawster dev` may have replaced it)."""
    path = pointer_path()
    if (_read_json(path) or {}).get("pid") == os.getpid():
        path.unlink(missing_ok=True)


@dataclass
class RecordedStack:
    """A stack found on disk. `info` is its stack.json (None once it stopped cleanly)."""

    state_dir: Path
    info: dict[str, Any] | None

    @property
    def pid(self) -> int | None:
        return (self.info or {}).get("pid")

    @property
    def running(self) -> bool:
        return isinstance(self.api_url, str) and isinstance(self.pid, int) and pid_alive(self.pid)

    @property
    def api_url(self) -> str | None:
        return (self.info or {}).get("api_url")

    @property
    def ws_url(self) -> str | None:
        """The stream API (WebSocket), for stacks that serve one."""
        return (self.info or {}).get("ws_url")

    def why_not_running(self) -> str:
        if self.info is None:
            return f"the local stack in {self.state_dir} is not running (it stopped)"
        return f"the local stack in {self.state_dir} is not running (its process {self.pid} is gone)"


def locate(state_dir: Path | None = None) -> RecordedStack | None:
    """The stack in `state_dir` if given; else the one `clawster dev` recorded for this user; else
    the one in ./.clawster/dev. None when there is nothing recorded anywhere."""
    if state_dir is not None:
        return RecordedStack(state_dir.resolve(), _read_json(state_dir / STACK_FILE))
    pointer = _read_json(pointer_path())
    if pointer and isinstance(pointer.get("state_dir"), str):
        folder = Path(pointer["state_dir"])
        return RecordedStack(folder, _read_json(folder / STACK_FILE))
    if (DEFAULT_STATE_DIR / STACK_FILE).exists():
        return RecordedStack(DEFAULT_STATE_DIR.resolve(), _read_json(DEFAULT_STATE_DIR / STACK_FILE))
    return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Killed but not yet reaped by its parent: gone for our purposes (Linux; elsewhere assume not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
