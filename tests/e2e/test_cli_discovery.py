"""The CLI finds the stack `clawster dev` runs from any directory, and says "not running" (exit 7)
once that process is gone, instead of a connection error."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time

from tests.e2e.cli_runner import CLAWSTER, clawster, fails, ok


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_cli_finds_clawster_dev_from_any_directory_until_its_process_is_gone(tmp_path):
    home, checkout, elsewhere = tmp_path / "home", tmp_path / "checkout", tmp_path / "elsewhere"
    checkout.mkdir()
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAWSTER_")}
    env.update(CLAWSTER_HOME=str(home), TABLE_NAME="clawster-discovery-test")
    for name in ("AWS_ENDPOINT_URL", "MOTO_PORT"):  # the child runs its own moto
        env.pop(name, None)
    dev = subprocess.Popen([CLAWSTER, "dev", "--api-port", str(_free_port()), "--moto-port", str(_free_port())],
                           cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        stack_file = checkout / ".clawster" / "dev" / "stack.json"
        deadline = time.monotonic() + 120
        while not stack_file.exists():
            assert dev.poll() is None, dev.stdout.read() if dev.stdout else ""
            assert time.monotonic() < deadline, "clawster dev did not start in 120 s"
            time.sleep(0.2)
        pointer = json.loads((home / "current-stack.json").read_text())
        assert pointer == {"state_dir": str((checkout / ".clawster" / "dev").resolve()), "pid": dev.pid}

        listed = json.loads(ok(clawster("-o", "json", "workspace", "list", home=home, cwd=elsewhere)).stdout)
        assert [w["name"] for w in listed["items"]] == ["Demo"]
        fleets = json.loads(ok(clawster("-o", "json", "fleet", "list", home=home, cwd=elsewhere)).stdout)
        assert [f["name"] for f in fleets["items"]] == ["demo-dev"]  # the demo workspace by default
    finally:
        dev.send_signal(signal.SIGKILL)  # no clean stop: stack.json and the pointer stay behind
        dev.communicate(timeout=60)

    fails(clawster("workspace", "list", home=home, cwd=elsewhere), 7, "is not running", f"process {dev.pid} is gone")
    fails(clawster("token", "--user", "x", "--role", "viewer", home=home, cwd=elsewhere), 7, "is not running")
