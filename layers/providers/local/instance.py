"""One bot's folder: config, token, state, logs and the instance record, written atomically.

    <root>/<bot_id>/openclaw.json   the gateway's config (the gateway rewrites it too, G11)
                    token           0600, the gateway token (referenced as file:<path>)
                    state/ home/    OPENCLAW_STATE_DIR, OPENCLAW_HOME
                    logs/gateway.log (logging.file), logs/stdout.log
                    backups/<key>/  state/ home/ openclaw.json manifest.json (version): backup() copies
                    instance.json   port, pid, process start time, desired state, version, spec hash
                    exit.json       how the last launch ended (written by exit_recorder.py)
    <root>/.locks/<bot_id>.lock     the bot's advisory lock (beside its folder: delete() removes the folder)
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from clawster.domain.secret_refs import FILE, SecretRef

_BOT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass
class InstanceRecord:
    bot_id: str
    port: int
    openclaw_version: str
    desired: str = "RUNNING"  # RUNNING or STOPPED: what the supervisor keeps it at
    pid: int | None = None
    pid_started: int | None = None  # /proc start time, so a reused pid is never mistaken for ours
    restarts: int = 0
    last_exit: int | None = None
    spec_hash: str | None = None  # of the GatewaySpec it was created from: a retried create compares it
    restart_request: str | None = None  # the request_id of the last restart(), so a retry restarts once
    restore_request: str | None = None  # the same for restore()
    restart_boot: str | None = None  # the bootId before a restart-class config change: RUNNING once it differs
    restart_paths: list[str] | None = None  # what that change changed (reported while the gateway restarts)


class InstanceFiles:
    def __init__(self, root: Path, bot_id: str):
        if not _BOT_ID.match(bot_id):
            raise ValueError(f"bot id {bot_id!r} must be 1-64 letters, digits, '-' or '_'")
        self.dir = root / bot_id
        self.bot_id = bot_id

    config = property(lambda self: self.dir / "openclaw.json")
    token_file = property(lambda self: self.dir / "token")
    state_dir = property(lambda self: self.dir / "state")
    home_dir = property(lambda self: self.dir / "home")
    log_file = property(lambda self: self.dir / "logs" / "gateway.log")
    stdout_file = property(lambda self: self.dir / "logs" / "stdout.log")
    record_file = property(lambda self: self.dir / "instance.json")
    exit_file = property(lambda self: self.dir / "exit.json")
    backups_dir = property(lambda self: self.dir / "backups")

    def backup_dir(self, key: str) -> Path:
        if not _BOT_ID.match(key):
            raise ValueError(f"backup key {key!r} must be 1-64 letters, digits, '-' or '_'")
        return self.backups_dir / key

    def backups(self) -> list[Path]:
        """The complete backups, oldest first."""
        done = [p for p in self.backups_dir.glob("*") if (p / "manifest.json").exists()]
        return sorted(done, key=lambda p: json.loads((p / "manifest.json").read_text())["taken_at"])

    def exists(self) -> bool:
        return self.record_file.exists()

    def create(self) -> str:
        """Make the folders and a fresh token; returns the token."""
        for folder in (self.state_dir, self.home_dir, self.log_file.parent):
            folder.mkdir(parents=True, exist_ok=True)
        token = secrets.token_urlsafe(32)
        _write(self.token_file, token, mode=0o600)
        return token

    def token(self) -> str:
        return self.token_file.read_text().strip()

    @property
    def token_ref(self) -> str:
        return str(SecretRef(FILE, str(self.token_file)))

    def write_config(self, config: dict) -> None:
        _write(self.config, json.dumps(config, indent=2), mode=0o600)

    def read_config(self) -> dict:
        return json.loads(self.config.read_text())

    def save(self, record: InstanceRecord) -> None:
        _write(self.record_file, json.dumps(asdict(record), indent=2))

    def load(self) -> InstanceRecord:
        return InstanceRecord(**json.loads(self.record_file.read_text()))

    def env(self) -> dict[str, str]:
        """The embedding recipe: own state/config/home, no channels, no Bonjour, no self-update."""
        return {
            "OPENCLAW_STATE_DIR": str(self.state_dir),
            "OPENCLAW_CONFIG_PATH": str(self.config),
            "OPENCLAW_HOME": str(self.home_dir),
            "OPENCLAW_SKIP_CHANNELS": "1",
            "OPENCLAW_DISABLE_BONJOUR": "1",
            "OPENCLAW_NO_RESPAWN": "1",
            "OPENCLAW_OFFLINE": "1",
            "OPENCLAW_NO_AUTO_UPDATE": "1",
            "OPENCLAW_EXEC_SHELL_SNAPSHOT": "0",
            "OPENCLAW_SUPERVISOR_MODE": "external",
            "DO_NOT_TRACK": "1",
        }


def enforced_config(files: InstanceFiles, port: int, token: str) -> dict:
    """What the provider owns in every gateway's config, whatever the bot's config says."""
    return {
        "gateway": {"mode": "local", "port": port, "bind": "loopback", "auth": {"mode": "token", "token": token}},
        "update": {"checkOnStart": False},
        "models": {"catalogRefresh": {"enabled": False}},
        "logging": {"file": str(files.log_file)},
        "plugins": {"entries": {"admin-http-rpc": {"enabled": True}}},
    }


def merge(base: dict, override: dict) -> dict:
    """Deep merge: `override` wins, nested objects merge."""
    out = dict(base)
    for key, value in override.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
