"""Schemathesis against the running local stack: zero 5xx and zero responses that break the schema.

Path ids are pinned to a real workspace, fleet, bot and revision (owned by the caller), so the
generated requests reach the handlers and the table instead of stopping at a 404.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"


@pytest.mark.slow
def test_no_server_errors_and_no_schema_violations(stack, team, tmp_path):
    team.with_bot()
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[parameters]\n"
        f'"path.workspace_id" = "{team.workspace_id}"\n'
        f'"path.fleet_id" = "{team.fleet_id}"\n'
        f'"path.bot_id" = "{team.bot_id}"\n'
        f'"path.revision_id" = "{team.revision_id}"\n'
    )
    token = stack.issuer.issue(team.users["OWNER"])
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config), "--no-color",
        "run", f"{stack.api_url}/openapi.json", "--url", stack.api_url,
        "--header", f"Authorization: Bearer {token}", "--checks", CHECKS,
        "--max-examples", "25", "--seed", "20261124", "--workers", "1", "--request-timeout", "20",
        "--phases", "examples,coverage,fuzzing", "--suppress-health-check", "all",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    report = _failures(run.stdout) + run.stdout[-3000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert "No issues found" in run.stdout or " passed" in run.stdout, report


def _failures(output: str) -> str:
    """The lines that say what failed, shortened (generated bodies can be kilobytes long)."""
    keep = ("____", "ST1", "Received", "Documented", "curl -X")
    return "\n".join(line.strip()[:240] for line in output.splitlines() if any(k in line for k in keep)) + "\n"
