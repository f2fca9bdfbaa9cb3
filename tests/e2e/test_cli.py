"""The `clawster` CLI against the running local stack: create a fleet and a bot, list the audit trail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CLAWSTER = str(Path(sys.executable).with_name("clawster"))


def _cli(*args: str, stack, token: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "CLAWSTER_API_URL": stack.api_url, "CLAWSTER_STATE_DIR": str(stack.state_dir),
           "COLUMNS": "200"}
    if token:
        env["CLAWSTER_TOKEN"] = token
    run = subprocess.run([CLAWSTER, *args], capture_output=True, text=True, env=env, timeout=60)
    if check:
        assert run.returncode == 0, run.stdout + run.stderr
    return run


def test_cli_creates_a_fleet_and_a_bot_and_lists_the_audit_trail(stack, new_user):
    token = stack.issuer.issue(new_user("cli"))
    workspace = json.loads(_cli("workspace", "create", "cli-ws", stack=stack, token=token).stdout)
    ws = ["--workspace", workspace["id"]]
    fleet = json.loads(_cli("fleet", "create", "cli-fleet", "--environment", "prod", "--tag", "team=core", *ws,
                            stack=stack, token=token).stdout)
    assert fleet["environment"] == "prod" and fleet["tags"] == {"team": "core"}
    bot = json.loads(_cli("bot", "create", "cli-bot", "--fleet", fleet["id"], "--template", "minimal", *ws,
                          stack=stack, token=token).stdout)
    listed = _cli("bot", "list", "--fleet", fleet["id"], *ws, stack=stack, token=token).stdout
    assert bot["id"] in listed and "cli-bot" in listed and "PENDING" in listed
    audit = _cli("audit", "list", *ws, stack=stack, token=token).stdout
    for action in ("workspace.create", "fleet.create", "bot.create"):
        assert action in audit
    _cli("bot", "delete", bot["id"], *ws, stack=stack, token=token)
    _cli("fleet", "delete", fleet["id"], *ws, stack=stack, token=token)
    assert fleet["id"] not in _cli("fleet", "list", *ws, stack=stack, token=token).stdout


def test_cli_reports_api_errors_clearly(stack, new_user):
    token = stack.issuer.issue(new_user("cli"))
    run = _cli("fleet", "get", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "--workspace", "01ARZ3NDEKTSV4RRFFQ69G5FAV",
               stack=stack, token=token, check=False)
    assert run.returncode == 2 and "404 NOT_FOUND" in run.stderr and "Traceback" not in run.stderr
    run = _cli("workspace", "create", "", stack=stack, token=token, check=False)
    assert run.returncode == 2 and "422" in run.stderr and "name:" in run.stderr


def test_cli_token_grants_a_role_through_the_local_issuer(stack, client_for, new_user):
    owner_id = new_user("owner")
    workspace = client_for(owner_id).post("/workspaces", {"name": "granting"}).ok(201).body
    viewer_id = new_user("viewer")
    token = _cli("token", "--user", viewer_id, "--role", "viewer", "--workspace", workspace["id"],
                 stack=stack).stdout.strip()
    from tests.helpers import Client

    viewer = Client(stack.api_url, token)
    assert viewer.get(f"/workspaces/{workspace['id']}").ok(200).body["name"] == "granting"
    assert viewer.post(f"/workspaces/{workspace['id']}/fleets", {"name": "x"}).ok(403)
    run = _cli("token", "--user", "x", "--role", "emperor", "--workspace", workspace["id"], stack=stack, check=False)
    assert run.returncode == 2 and "--role must be one of" in run.stderr
