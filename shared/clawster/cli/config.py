"""The config file: named profiles, so one CLI talks to several APIs (the local stack, staging, prod).

    default_profile = "prod"

    [profiles.prod]
    api_url = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
    ws_url = "wss://def456.execute-api.eu-west-1.amazonaws.com/prod"   # live progress (else polling)
    cognito_client_id = "1example23456789"
    region = "eu-west-1"
    username = "alice@example.com"
    workspace = "01J..."
    output = "table"
    token = "..."            # written by `clawster login`, with refresh_token

Where: --config / CLAWSTER_CONFIG; else $CLAWSTER_HOME/config.toml; else
$XDG_CONFIG_HOME/clawster/config.toml (~/.config/clawster/config.toml). `clawster login` rewrites
the file with mode 0600 (it holds tokens); comments are not kept.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from clawster.cli.exits import CliError, ExitCode

OUTPUTS = ("table", "json", "yaml")
PROFILE_KEYS = ("api_url", "ws_url", "token", "refresh_token", "workspace", "output", "cognito_client_id", "region", "username")
BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass
class Config:
    path: Path
    default_profile: str | None = None
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)

    def select(self, name: str | None, create: bool = False) -> tuple[str, dict[str, str]]:
        """The profile to use: the one named (it must exist unless `create`), else default_profile,
        else "default" (both may be absent: then no profile applies)."""
        if name is not None:
            if name not in self.profiles and not create:
                known = ", ".join(sorted(self.profiles)) or "none"
                raise CliError(ExitCode.CONFIG, f"profile '{name}' is not in {self.path} (profiles: {known})")
            return name, self.profiles.get(name, {})
        chosen = self.default_profile or "default"
        return chosen, self.profiles.get(chosen, {})


def default_path() -> Path:
    if home := os.environ.get("CLAWSTER_HOME"):
        return Path(home) / "config.toml"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "clawster" / "config.toml"


def load(path: Path | None, creating: bool = False) -> Config:
    """Read the config. A path given explicitly must exist, unless `creating` it (login); the
    default one may not exist."""
    explicit = path is not None
    path = path or default_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        if explicit and not creating:
            raise CliError(ExitCode.CONFIG, f"config file {path} not found") from None
        return Config(path)
    except OSError as error:
        raise CliError(ExitCode.CONFIG, f"cannot read config file {path}: {error.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CliError(ExitCode.CONFIG, f"config file {path} is not valid TOML: {error}") from None
    return _validated(path, data)


def _validated(path: Path, data: dict) -> Config:
    def bad(where: str, reason: str) -> CliError:
        return CliError(ExitCode.CONFIG, f"config file {path}: {where}: {reason}")

    for key in data:
        if key not in ("default_profile", "profiles"):
            raise bad(key, "unknown key (expected default_profile or [profiles.<name>])")
    default = data.get("default_profile")
    if default is not None and not isinstance(default, str):
        raise bad("default_profile", "must be a string")
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise bad("profiles", "must be a table of [profiles.<name>]")
    for name, values in profiles.items():
        if not isinstance(values, dict):
            raise bad(f"profiles.{name}", "must be a table")
        for key, value in values.items():
            if key not in PROFILE_KEYS:
                raise bad(f"profiles.{name}.{key}", f"unknown key (expected one of {', '.join(PROFILE_KEYS)})")
            if not isinstance(value, str):
                raise bad(f"profiles.{name}.{key}", "must be a string")
        if values.get("output", "table") not in OUTPUTS:
            raise bad(f"profiles.{name}.output", f"must be one of {', '.join(OUTPUTS)}")
    return Config(path, default, profiles)


def save(config: Config) -> None:
    """Write the whole file privately (0600, folder 0700), then move it into place."""
    config.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = config.path.with_name(f".{config.path.name}.{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(dumps(config))
    os.chmod(temp, 0o600)  # O_CREAT's mode does not apply when the file already existed
    os.replace(temp, config.path)


def dumps(config: Config) -> str:
    lines = ["# clawster CLI profiles. It holds tokens: keep it private (mode 0600)."]
    if config.default_profile:
        lines.append(f"default_profile = {_string(config.default_profile)}")
    for name in sorted(config.profiles):
        lines += ["", f"[profiles.{_key(name)}]"]
        lines += [f"{key} = {_string(value)}" for key, value in config.profiles[name].items()]
    return "\n".join(lines) + "\n"


def _key(name: str) -> str:
    return name if BARE_KEY.match(name) else _string(name)


def _string(value: str) -> str:
    # A JSON string is a TOML basic string, once DEL (which JSON leaves raw) is escaped too.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
