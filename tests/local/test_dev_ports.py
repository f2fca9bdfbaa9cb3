"""A second `clawster dev` on a busy port exits at once with one clear line, before it touches
anything; a running one stops promptly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

CLAWSTER = str(Path(sys.executable).with_name("clawster"))
CEILING_S = 120  # generous for a busy machine; the old code never exited at all


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "TABLE_NAME": "clawster-dev-test", "CLAWSTER_HOME": str(tmp_path / "home")}
    for name in ("AWS_ENDPOINT_URL", "MOTO_PORT"):  # the child runs its own moto
        env.pop(name, None)
    return env


def _dev(state: Path, api: int, moto: int) -> list[str]:
    return [CLAWSTER, "dev", "--state-dir", str(state), "--api-port", str(api), "--moto-port", str(moto)]


@pytest.mark.parametrize("busy", ["api", "moto"])
def test_a_busy_port_ends_clawster_dev_at_once_with_one_clear_line(tmp_path, busy):
    state = tmp_path / "state"
    with socket.socket() as holder:  # stands in for the first `clawster dev`
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        ports = {"api": _free_port(), "moto": _free_port()} | {busy: taken}
        result = subprocess.run(_dev(state, ports["api"], ports["moto"]), capture_output=True, text=True,
                                timeout=CEILING_S, env=_env(tmp_path))
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{busy if busy == 'moto' else 'API'} port 127.0.0.1:{taken}" in lines[0], lines
    assert "already in use" in lines[0] and f"--{busy}-port" in lines[0], lines
    assert not state.exists(), "a refused start must not touch the state folder (it may be the first stack's)"


def test_sigterm_stops_a_running_stack_promptly(tmp_path):
    state = tmp_path / "state"
    process = subprocess.Popen(_dev(state, _free_port(), _free_port()), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=_env(tmp_path))
    try:
        lines = []
        for line in process.stdout:  # wait for the banner, on observed progress
            lines.append(line)
            if line.startswith("Try:"):
                break
        banner = "".join(lines)
        assert "/openapi.json" in banner and "/swagger" in banner, banner
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=CEILING_S)
        assert process.returncode == 0 and "data saved" in output, output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_second_stack_on_the_same_state_folder_is_refused(tmp_path):
    """Free ports, same --state-dir: two stacks would interleave one journal, so the second must not start."""
    state = tmp_path / "state"
    first = subprocess.Popen(_dev(state, _free_port(), _free_port()), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=_env(tmp_path))
    try:
        for line in first.stdout:  # wait for the banner, on observed progress
            if line.startswith("Try:"):
                break
        before = sorted(p.name for p in state.iterdir())
        second = subprocess.run(_dev(state, _free_port(), _free_port()), capture_output=True, text=True,
                                timeout=CEILING_S, env=_env(tmp_path))
        assert second.returncode == 1, second
        assert "in use by a running local stack" in second.stderr and f"pid {first.pid}" in second.stderr, second.stderr
        assert sorted(p.name for p in state.iterdir()) == before
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=CEILING_S)
