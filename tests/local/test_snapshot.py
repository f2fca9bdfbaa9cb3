"""The local stack keeps its data across restarts: snapshot on change and on stop, restore on start,
and a SIGTERM of `clawster dev` loses nothing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import Client

CLAWSTER = str(Path(sys.executable).with_name("clawster"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(state_dir: Path) -> subprocess.Popen:
    api, moto = _free_port(), _free_port()
    env = {**os.environ, "TABLE_NAME": "clawster-dev-test"}
    for name in ("AWS_ENDPOINT_URL", "MOTO_PORT"):  # the child runs its own moto
        env.pop(name, None)
    process = subprocess.Popen([CLAWSTER, "dev", "--state-dir", str(state_dir), "--api-port", str(api),
                                "--moto-port", str(moto)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env)
    deadline = time.monotonic() + 60
    while not (state_dir / "stack.json").exists():
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "the stack did not start in 60 s"
        time.sleep(0.1)
    return process


def _stop(process: subprocess.Popen, signum: int) -> str:
    process.send_signal(signum)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    return output


def test_data_survives_sigterm_and_a_restart(tmp_path):
    state = tmp_path / "dev"
    first = _start(state)
    stack = json.loads((state / "stack.json").read_text())
    admin = Client(stack["api_url"], _token(state))
    workspace = stack["demo_workspace_id"]
    fleet = admin.post(f"/workspaces/{workspace}/fleets", {"name": "kept", "environment": "prod"}).ok(201).body
    output = _stop(first, signal.SIGTERM)  # at once: the debounced writer has not run yet
    assert "admin token" in output and "data saved" in output
    assert not (state / "stack.json").exists()

    second = _start(state)
    try:
        again = json.loads((state / "stack.json").read_text())
        assert again["demo_workspace_id"] == workspace  # restored, not seeded a second time
        admin = Client(again["api_url"], _token(state))
        names = [f["name"] for f in admin.get(f"/workspaces/{workspace}/fleets").ok(200).body["items"]]
        assert sorted(names) == ["demo-dev", "kept"]
        trail = admin.get(f"/workspaces/{workspace}/audit").ok(200).body["items"]
        assert any(e["action"] == "fleet.create" and e["target"].endswith(fleet["id"]) for e in trail)
    finally:
        _stop(second, signal.SIGINT)


def _token(state: Path) -> str:
    run = subprocess.run([CLAWSTER, "token", "--user", "admin", "--state-dir", str(state)], capture_output=True,
                         text=True, timeout=60, check=True)
    return run.stdout.strip()
