"""Each failure class has its own exit code and a one-line message, from a real request (or a real
missing file, a real closed port, a real dead process), never a traceback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from tests.e2e.cli_runner import clawster, fails, ok
from tests.helpers import Client

# The contract, written out by hand (not read from the code): 0 ok, 2 usage, 3 auth, 4 not found,
# 5 conflict, 6 validation, 7 unreachable, 8 config.
USAGE, AUTH, NOT_FOUND, CONFLICT, VALIDATION, UNREACHABLE, CONFIG = 2, 3, 4, 5, 6, 7, 8


@pytest.fixture
def owner(stack, new_user):
    """(token, workspace id, fleet) of a fresh owner."""
    token = stack.issuer.issue(new_user("owner"))
    client = Client(stack.api_url, token)
    workspace = client.post("/workspaces", {"name": "codes"}).ok(201).body["id"]
    fleet = client.post(f"/workspaces/{workspace}/fleets", {"name": "f"}).ok(201).body
    return token, workspace, fleet


def _cli(stack, tmp_path, *args, token=None, **env):
    base = {"CLAWSTER_API_URL": stack.api_url, **({"CLAWSTER_TOKEN": token} if token else {})}
    return clawster(*args, home=tmp_path / "home", env={**base, **env})


def test_usage_errors_exit_2(stack, tmp_path, owner):
    token, workspace, fleet = owner
    fails(_cli(stack, tmp_path, "fleet", "list", "--no-such-option", token=token), USAGE, "No such option")
    fails(_cli(stack, tmp_path, "fleet", "update", fleet["id"], "-w", workspace, token=token), USAGE,
          "give at least one of --name")


def test_auth_failures_exit_3(stack, tmp_path, owner, new_user):
    token, workspace, _ = owner
    fails(_cli(stack, tmp_path, "workspace", "list", token="not-a-token"), AUTH, "401", "clawster login")
    viewer = new_user("viewer")
    Client(stack.api_url, token).put(f"/workspaces/{workspace}/members/{viewer}", {"role": "VIEWER"}).ok(201)
    fails(_cli(stack, tmp_path, "fleet", "create", "x", "-w", workspace, token=stack.issuer.issue(viewer)), AUTH,
          "403")


def test_not_found_exits_4(stack, tmp_path, owner):
    token, workspace, _ = owner
    fails(_cli(stack, tmp_path, "fleet", "get", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "-w", workspace, token=token), NOT_FOUND,
          "404 NOT_FOUND")


def test_a_stale_version_exits_5(stack, tmp_path, owner):
    token, workspace, fleet = owner
    run = ok(_cli(stack, tmp_path, "-o", "json", "fleet", "update", fleet["id"], "--name", "g", "-w", workspace,
                  token=token))
    assert json.loads(run.stdout)["version"] == fleet["version"] + 1
    fails(_cli(stack, tmp_path, "fleet", "update", fleet["id"], "--name", "h", "--if-match", str(fleet["version"]),
               "-w", workspace, token=token), CONFLICT, "409")
    fails(_cli(stack, tmp_path, "fleet", "delete", fleet["id"], "--if-match", str(fleet["version"]),
               "-w", workspace, token=token), CONFLICT, "409")


def test_invalid_input_exits_6_naming_the_field(stack, tmp_path, owner):
    token, workspace, _ = owner
    fails(_cli(stack, tmp_path, "workspace", "create", "", token=token), VALIDATION, "422", "name:")
    fails(_cli(stack, tmp_path, "fleet", "create", "x", "--environment", "moon", "-w", workspace, token=token),
          VALIDATION, "environment")
    fails(_cli(stack, tmp_path, "fleet", "list", "--cursor", "not-a-cursor", "-w", workspace, token=token), VALIDATION,
          "400")


def test_an_api_that_does_not_answer_exits_7(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # nothing listens once the probe is closed
    run = clawster("--api-url", f"http://127.0.0.1:{closed}", "--token", "t", "workspace", "list", home=tmp_path)
    fails(run, UNREACHABLE, f"cannot reach http://127.0.0.1:{closed}")


def test_a_local_stack_whose_process_is_gone_is_not_running_exit_7(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    state = tmp_path / "state"
    state.mkdir()
    (state / "stack.json").write_text(json.dumps({"api_url": "http://127.0.0.1:9", "pid": int(gone.stdout),
                                                  "moto_url": "http://127.0.0.1:9", "table_name": "t"}))
    home = tmp_path / "home"
    home.mkdir()
    (home / "current-stack.json").write_text(json.dumps({"state_dir": str(state), "pid": int(gone.stdout)}))
    run = clawster("workspace", "list", home=home, cwd=tmp_path)
    fails(run, UNREACHABLE, "not running", f"process {gone.stdout.strip()} is gone")
    fails(clawster("workspace", "list", home=tmp_path / "empty", cwd=tmp_path), UNREACHABLE, "no local stack found")


def test_a_missing_or_malformed_config_exits_8_in_one_line(tmp_path):
    missing = tmp_path / "nope.toml"
    run = fails(clawster("--config", str(missing), "workspace", "list", home=tmp_path), CONFIG, f"{missing} not found")
    assert len(run.stderr.strip().splitlines()) == 1
    broken = tmp_path / "broken.toml"
    broken.write_text("[profiles.prod\napi_url = 'x'\n")
    run = fails(clawster("workspace", "list", home=tmp_path, env={"CLAWSTER_CONFIG": str(broken)}), CONFIG,
                "not valid TOML")
    assert len(run.stderr.strip().splitlines()) == 1
    typo = tmp_path / "typo.toml"
    typo.write_text('[profiles.prod]\napi-url = "https://x.invalid"\n')
    fails(clawster("--config", str(typo), "workspace", "list", home=tmp_path), CONFIG, "profiles.prod.api-url",
          "unknown key")
    good = tmp_path / "good.toml"
    good.write_text('[profiles.prod]\napi_url = "https://x.invalid"\n')
    fails(clawster("--config", str(good), "--profile", "staging", "workspace", "list", home=tmp_path), CONFIG,
          "profile 'staging' is not in", "profiles: prod")
