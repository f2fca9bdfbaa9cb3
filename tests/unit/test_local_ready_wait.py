"""The local provider waits for a starting gateway as long as it makes progress: a loaded machine
slows a start down (it must not fail), a hung start must not be waited on for the whole ceiling."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from layers.providers.errors import StartFailed
from layers.providers.local import process
from layers.providers.local.instance import InstanceFiles


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def files(tmp_path):
    files = InstanceFiles(tmp_path, "bot")
    files.create()
    return files


def _wait(child: subprocess.Popen, files: InstanceFiles, stall_s: float, ceiling_s: float) -> tuple[str, float]:
    started = time.monotonic()
    try:
        with pytest.raises(StartFailed) as failed:
            process.wait_ready(child, None, files, _unused_port(), stall_s, ceiling_s)
    finally:
        child.kill()
        child.wait()
    return str(failed.value), time.monotonic() - started


def test_a_silent_idle_start_fails_after_the_stall_window(files):
    child = subprocess.Popen(["sleep", "600"])
    message, _ = _wait(child, files, stall_s=1, ceiling_s=600)
    assert "without progress" in message


def test_a_start_that_keeps_working_is_waited_on_past_the_stall_window(files):
    """A process that keeps writing its log (a gateway starting slowly) is waited on until the ceiling."""
    writer = f"import time\nwhile True:\n    open({str(files.stdout_file)!r}, 'a').write('x')\n    time.sleep(0.05)"
    child = subprocess.Popen([sys.executable, "-c", writer])
    message, waited = _wait(child, files, stall_s=1, ceiling_s=4)
    assert waited >= 4 and "not ready after" in message
