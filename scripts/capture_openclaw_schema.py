#!/usr/bin/env python3
"""Captures the OpenClaw config schema of installed openclaw versions into the repo.

It runs the version's own CLI, `openclaw config schema` (the JSON schema for openclaw.json that the
gateway validates against; no gateway is started), in an empty home, state and config folder (so no
local config or plugin adds to it), and writes shared/clawster/domain/openclaw_schemas/<version>.json as
canonical JSON (sorted keys, no whitespace). tests/contract/test_openclaw_schema_current.py checks that
the files still equal what each version prints.

Usage: .venv/bin/python scripts/capture_openclaw_schema.py [VERSION ...]   (default: every supported
version, clawster.domain.openclaw_config_schema.SUPPORTED_VERSIONS). The current version is run from
.runtime/current (make setup); others are installed (from the cache when present) by
scripts/install_openclaw_version.sh into a temporary folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "shared")]

from clawster.domain import openclaw_config_schema  # noqa: E402
from layers.providers.local.runtime import OpenClawRuntime  # noqa: E402


def runtime_of(version: str, versions_dir: Path) -> OpenClawRuntime:
    """The runtime that runs `version`: .runtime/current when it is that version, else an install."""
    current = OpenClawRuntime.default()
    if current.expected == version:
        return current
    subprocess.run([str(REPO / "scripts" / "install_openclaw_version.sh"), version, str(versions_dir)], check=True,
                   stdout=subprocess.DEVNULL, timeout=900)
    return current.of_version(version, versions_dir / version)


def isolated_env(runtime: OpenClawRuntime, folder: Path) -> dict[str, str]:
    """An environment with nothing of this machine's OpenClaw setup: empty home, state and config."""
    for name in ("home", "state"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in runtime.env().items() if not key.startswith("OPENCLAW_")}
    return {**env, "HOME": str(folder / "home"), "OPENCLAW_HOME": str(folder / "home"),
            "OPENCLAW_STATE_DIR": str(folder / "state"), "OPENCLAW_CONFIG_PATH": str(folder / "openclaw.json"),
            "OPENCLAW_SKIP_CHANNELS": "1", "OPENCLAW_DISABLE_BONJOUR": "1", "OPENCLAW_OFFLINE": "1",
            "OPENCLAW_NO_AUTO_UPDATE": "1", "DO_NOT_TRACK": "1", "NO_COLOR": "1"}


def schema_of(runtime: OpenClawRuntime) -> dict:
    """What `openclaw config schema` prints, parsed."""
    runtime.version  # noqa: B018 -- verifies node and the version, with the fix when off
    with tempfile.TemporaryDirectory(prefix="openclaw-schema-") as folder:
        out = subprocess.run(runtime.command("config", "schema"), env=isolated_env(runtime, Path(folder)),
                             capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise SystemExit(f"openclaw {runtime.expected} config schema exited {out.returncode}: {out.stderr[-2000:]}")
    return json.loads(out.stdout[out.stdout.index("{"):])


def capture(version: str, versions_dir: Path) -> Path:
    schema = schema_of(runtime_of(version, versions_dir))
    path = openclaw_config_schema.schema_file(version)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(openclaw_config_schema.canonical(schema) + "\n")
    return path


def main(argv: list[str]) -> None:
    versions = argv or list(openclaw_config_schema.SUPPORTED_VERSIONS)
    with tempfile.TemporaryDirectory(prefix="openclaw-versions-") as versions_dir:
        for version in versions:
            path = capture(version, Path(versions_dir))
            print(f"openclaw {version}: {path.relative_to(REPO)} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1:])
