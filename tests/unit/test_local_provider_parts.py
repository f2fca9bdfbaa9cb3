"""The local provider's parts that need no gateway: the per-bot file lock across processes, the exit
recorder that outlives the launcher, the FAILED status → typed error mapping, and the workflows'
provider factory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from clawster.errors import PermanentError, RetryableError
from layers.providers import registry
from layers.providers.base import Failure, GatewayState, GatewayStatus
from layers.providers.errors import ConfigRejected, PortInUse, ProviderBusy, StartFailed, UnknownTarget
from layers.providers.local import process
from layers.providers.local.locks import FileLock

HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.readline()
"""


def wait_for(predicate, timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_bot_lock_held_by_another_process_excludes_this_one_until_released(tmp_path):
    path = tmp_path / ".locks" / "bot.lock"
    path.parent.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        lock = FileLock(path)
        assert not lock.acquire(blocking=False)
        with pytest.raises(ProviderBusy) as busy:
            with lock.held(0.3, "bot x"):
                pass
        assert isinstance(busy.value, RetryableError)
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
        with lock.held(30, "bot x"):
            with lock.held(30, "bot x"):  # re-entrant: restart = stop + start under one lock
                pass
            assert not FileLock(path).acquire(blocking=False), "a second lock object (another provider) is excluded"
        assert FileLock(path).acquire(blocking=False)
    finally:
        holder.kill()
        holder.wait()


def _record(tmp_path, command: list[str], validate: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-I", str(process.EXIT_RECORDER), str(tmp_path / "exit.json"), json.dumps(validate), "--",
         *command],
        start_new_session=True,
    )


def _ending(tmp_path) -> dict | None:
    try:
        return json.loads((tmp_path / "exit.json").read_text())
    except (OSError, ValueError):
        return None


def test_the_exit_recorder_keeps_a_refused_configs_code_and_issues(tmp_path):
    report = {"valid": False, "issues": [{"path": "<root>", "message": 'Unrecognized key: "bogus"'}]}
    validate = [sys.executable, "-c", f"print('noise'); print({json.dumps(json.dumps(report))}); raise SystemExit(1)"]
    recorder = _record(tmp_path, [sys.executable, "-c", "raise SystemExit(78)"], validate)
    assert recorder.wait(timeout=60) == 78
    ending = _ending(tmp_path)
    assert ending["pid"] == recorder.pid and ending["code"] == 78
    check = ending["validate"]
    assert process.issues_from(check["rc"], check["stdout"], check["stderr"]) == report["issues"]


# What openclaw 2026.9.5's `config validate --json` printed on a state folder 2026.9.6 had written
# (recorded 2026-11-26): not an issue of the config, a refusal of the state.
DOWNGRADE_REFUSAL = ('{"ok":false,"error":{"type":"cli_error","message":"This OpenClaw build cannot open your existing '
                     'data.\\nOpenClaw state database /s/openclaw.sqlite uses newer schema version 18; this build '
                     'supports 17."},"valid":false,"path":"/s/openclaw.json"}\n')


def test_a_refusal_of_the_state_is_reported_in_openclaws_words_not_as_a_config_issue():
    issues = process.issues_from(1, DOWNGRADE_REFUSAL, "")
    assert issues == [{"path": "<state>", "message": "This OpenClaw build cannot open your existing data.\n"
                       "OpenClaw state database /s/openclaw.sqlite uses newer schema version 18; this build supports 17."}]
    assert process.issues_from(1, '{"valid":false,"issues":[]}', "") == [
        {"path": "<root>", "message": "openclaw config validate failed"}]


def test_the_exit_recorder_survives_a_stop_of_the_group_and_records_the_gateways_own_exit(tmp_path):
    gateway = "import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\nprint('up', flush=True)\n" \
              "while True: time.sleep(0.05)"
    ready = tmp_path / "out"
    with open(ready, "w") as out:
        recorder = subprocess.Popen(
            [sys.executable, "-I", str(process.EXIT_RECORDER), str(tmp_path / "exit.json"), "[]", "--",
             sys.executable, "-c", gateway], start_new_session=True, stdout=out)
    assert wait_for(lambda: "up" in ready.read_text())
    os.killpg(recorder.pid, signal.SIGTERM)  # what a stop sends: the recorder must outlast the gateway
    assert recorder.wait(timeout=60) == 0
    assert _ending(tmp_path) == {"pid": recorder.pid, "code": 0}


def test_a_failed_status_names_its_typed_error():
    def failed(failure, **kw):
        return GatewayStatus("b", GatewayState.FAILED, "2026.9.6", None, "why", failure=failure, **kw)

    refused = failed(Failure.CONFIG_REJECTED, issues=({"path": "ui", "message": "bad"},), exit_code=78).error()
    assert isinstance(refused, ConfigRejected) and isinstance(refused, PermanentError)
    assert refused.issues == [{"path": "ui", "message": "bad"}]
    crashed = failed(Failure.START_FAILED, exit_code=1).error()
    assert type(crashed) is StartFailed and crashed.retryable and crashed.exit_code == 1
    assert isinstance(failed(Failure.PORT_IN_USE).error(), PortInUse)
    assert GatewayStatus("b", GatewayState.STARTING, "2026.9.6").error() is None


def test_the_factory_gives_one_unsupervised_local_provider_per_process_and_refuses_unknown_targets(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_cache", {})
    monkeypatch.setenv(registry.LOCAL_ROOT_ENV, str(tmp_path / "bots"))
    provider = registry.provider_for("local")
    assert provider.name == "local" and provider.root == tmp_path / "bots"
    assert not provider.supervising and provider._supervisor is None
    assert registry.provider_for("local") is provider
    with pytest.raises(UnknownTarget) as unknown:
        registry.provider_for("aws-fargate")
    assert isinstance(unknown.value, PermanentError)
    monkeypatch.delenv(registry.LOCAL_ROOT_ENV)
    monkeypatch.setattr(registry, "_cache", {})
    with pytest.raises(UnknownTarget, match=registry.LOCAL_ROOT_ENV):
        registry.provider_for("local")
