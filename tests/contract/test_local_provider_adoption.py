"""Never two gateways for one bot: whoever launched a gateway (a task worker that died or exited before it
recorded the launch, a launch whose record was lost), a process serving the bot's state folder is found
in /proc and adopted before anything launches another, and stop/delete end every such process.

Fast: the gateway is a stand-in (tests/contract/fake_openclaw below, stdlib only) that behaves as openclaw
does where it matters here: it binds its config's port, owns its state folder (a second one for the same
folder exits 1), answers /readyz and our token, and stops on SIGTERM. The real gateways are in
test_local_provider*.py."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from layers.providers.base import GatewaySpec, GatewayState
from layers.providers.errors import Throttled
from layers.providers.local import LocalProvider, faults, process
from layers.providers.local.runtime import OPENCLAW_VERSION, OpenClawRuntime
from tests.contract.test_local_provider_processes import gateway_launches

SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter, as a Lambda worker process is
BASE_PORT = 38000

FAKE_OPENCLAW = r'''
import fcntl, json, os, signal, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
start_s, stop_s, args = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
if args[:2] == ["config", "validate"]:
    print(json.dumps({"valid": True}))
    sys.exit(0)
config = json.load(open(os.environ["OPENCLAW_CONFIG_PATH"]))
port, token = config["gateway"]["port"], config["gateway"]["auth"]["token"]
state = os.environ["OPENCLAW_STATE_DIR"]
os.makedirs(state, exist_ok=True)
owner = os.open(os.path.join(state, "gateway.lock"), os.O_RDWR | os.O_CREAT)
try:
    fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("another gateway process owns this state folder", flush=True)
    sys.exit(1)
def stop(*_):
    time.sleep(stop_s)  # a real gateway drains for a while
    os._exit(0)

signal.signal(signal.SIGTERM, stop)
time.sleep(start_s)

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *_):
        pass

    def _reply(self, code):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self):
        self._reply(200 if self.path == "/readyz" else 404)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._reply(200 if self.headers.get("Authorization") == f"Bearer {token}" else 401)

try:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
except OSError as error:
    print(f"EADDRINUSE: {error}", flush=True)
    sys.exit(1)
print("ready", flush=True)
server.serve_forever()
'''


@dataclass(frozen=True)
class FakeRuntime(OpenClawRuntime):
    start_s: float = 0.5  # from launch to listening
    stop_s: float = 0.0  # from SIGTERM to exit

    def command(self, *args: str) -> list[str]:
        script = self.root / "fake_openclaw.py"
        if not script.exists():
            script.write_text(FAKE_OPENCLAW)
        return [sys.executable, str(script), str(self.start_s), str(self.stop_s), *args]

    @property
    def version(self) -> str:
        return OPENCLAW_VERSION


def provider(root: Path, start_s: float = 0.5, stop_s: float = 0.0, **kw) -> LocalProvider:
    runtime_dir = root.parent / "fake-runtime"
    runtime_dir.mkdir(exist_ok=True)
    kw.setdefault("supervise", False)
    return LocalProvider(root, FakeRuntime(runtime_dir, start_s, stop_s), base_port=BASE_PORT, port_spacing=10,
                         stop_timeout_s=10, **kw)


def wait_for(predicate, timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


SPEC = GatewaySpec("orphaned")


def _create_and_die_before_recording(root: str, pid_file: str) -> None:
    """A task worker: its create is refused once (the injected fault, as a throttled API), Step Functions
    retries it, and this time the worker ends right after launching the gateway, before the launch is in
    the bot's record (the window a killed or reaped worker can hit)."""
    worker = provider(Path(root), start_s=1.0)
    launch = process.launch

    def launch_and_die(runtime, files):
        child = launch(runtime, files)
        Path(pid_file).write_text(str(child.pid))
        os._exit(3)

    process.launch = launch_and_die
    try:
        worker.create(SPEC)
    except Throttled:
        pass
    else:
        raise AssertionError("the injected fault did not refuse the first create")
    worker.create(SPEC)
    raise AssertionError("the worker outlived its launch")


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "bots"
    yield root
    if root.exists():
        cleaner = provider(root)
        for bot_id in cleaner.bot_ids():
            cleaner.delete(bot_id)
    for pid in gateway_launches(root / SPEC.bot_id / "state"):
        os.killpg(pid, signal.SIGKILL)  # never leave a process behind, even when a test failed


def orphan(root: Path) -> int:
    """The pid of a launch of SPEC's bot that its (dead) launcher never recorded."""
    faults.inject(root, "create", 1)
    pid_file = root.parent / "launched.pid"
    worker = SPAWN.Process(target=_create_and_die_before_recording, args=(str(root), str(pid_file)))
    worker.start()
    worker.join(120)
    assert worker.exitcode == 3, worker.exitcode
    launched = int(pid_file.read_text())
    assert gateway_launches(root / SPEC.bot_id / "state") == {launched}
    record = provider(root)._files(SPEC.bot_id).load()
    assert record.pid is None and record.last_exit is None and record.desired == "RUNNING"  # nobody knows of it
    return launched


def passes(supervisor: LocalProvider, count: int) -> None:
    done = supervisor.supervisor_passes + count
    assert wait_for(lambda: supervisor.supervisor_passes >= done)


def test_the_supervisor_adopts_a_launch_its_worker_never_recorded_instead_of_launching_a_second(root):
    supervisor = provider(root, supervise=True, supervise_interval_s=0.05)
    try:
        assert supervisor.supervising
        launched = orphan(root)
        passes(supervisor, 5)
        record = supervisor._files(SPEC.bot_id).load()
        assert (record.pid, record.restarts) == (launched, 0), f"relaunched instead of adopting: {record}"
        assert supervisor.wait_ready(SPEC.bot_id, timeout_s=60).state is GatewayState.RUNNING
        passes(supervisor, 5)
        assert gateway_launches(root / SPEC.bot_id / "state") == {launched}
        assert supervisor._files(SPEC.bot_id).load().pid == launched
    finally:
        supervisor.close()


def test_a_retried_create_adopts_the_launch_of_the_create_that_died_instead_of_launching_a_second(root):
    launched = orphan(root)
    retry = provider(root)  # Step Functions retries the create in another worker; nobody supervises
    assert retry.create(SPEC).state in (GatewayState.STARTING, GatewayState.RUNNING)
    assert retry._files(SPEC.bot_id).load().pid == launched
    assert gateway_launches(root / SPEC.bot_id / "state") == {launched}
    assert retry.wait_ready(SPEC.bot_id, timeout_s=60).state is GatewayState.RUNNING


def test_a_live_gateway_its_record_misjudges_is_adopted_not_relaunched(root):
    creator = provider(root)
    creator.create(SPEC)
    assert creator.wait_ready(SPEC.bot_id, timeout_s=60).state is GatewayState.RUNNING
    files = creator._files(SPEC.bot_id)
    record = files.load()
    launched = record.pid
    record.pid_started += 1  # whatever the reason, the record no longer identifies the live launch
    files.save(record)
    supervisor = provider(root, supervise=True, supervise_interval_s=0.05)
    try:
        passes(supervisor, 5)
        record = files.load()
        assert (record.pid, record.restarts) == (launched, 0), f"relaunched instead of adopting: {record}"
        assert gateway_launches(root / SPEC.bot_id / "state") == {launched}
        assert supervisor.describe(SPEC.bot_id).state is GatewayState.RUNNING
    finally:
        supervisor.close()


def test_stop_and_delete_end_a_launch_nobody_recorded(root):
    orphan(root)
    stopping = provider(root)
    assert stopping.stop(SPEC.bot_id).state is GatewayState.STOPPED
    assert not gateway_launches(root / SPEC.bot_id / "state")
    stopping.delete(SPEC.bot_id)
    orphan(root)  # again, and deleted without a stop
    provider(root).delete(SPEC.bot_id)
    assert not gateway_launches(root / SPEC.bot_id / "state") and not (root / SPEC.bot_id).exists()


def test_a_restart_waits_for_the_running_gateway_even_when_its_own_earlier_launch_ended(root):
    """A warm worker launched the bot's gateway once (its child); that one died and another process
    relaunched it. A restart from the worker must stop the gateway that runs now and wait for its end,
    not take its own ended child for it and launch a second gateway beside one still draining."""
    worker = provider(root, stop_s=2.0)
    worker.create(SPEC)
    first = worker._files(SPEC.bot_id).load().pid
    assert worker.wait_ready(SPEC.bot_id, timeout_s=60).state is GatewayState.RUNNING
    os.killpg(first, signal.SIGKILL)
    assert wait_for(lambda: process.process_start_time(first) is None)  # dead; the worker has not polled its child
    other = provider(root, stop_s=2.0)
    other.start(SPEC.bot_id)  # the stack's provider (or another worker) relaunches it
    second = other._files(SPEC.bot_id).load().pid
    assert second != first and other.wait_ready(SPEC.bot_id, timeout_s=60).state is GatewayState.RUNNING
    worker.restart(SPEC.bot_id, request_id="r1")
    assert process.process_start_time(second) is None, "the restart launched beside a gateway still running"
    assert worker._files(SPEC.bot_id).load().last_exit == 0, "the restart waited for the running gateway's own end"
    assert len(gateway_launches(root / SPEC.bot_id / "state")) == 1
    assert worker.wait_ready(SPEC.bot_id, timeout_s=60).state is GatewayState.RUNNING
