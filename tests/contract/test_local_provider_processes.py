"""The local provider shared by several processes, as the dev stack runs it: task workers (separate
processes, supervise=False) create and start gateways, the stack's one long-lived provider
(supervise=True) keeps them running. Real openclaw gateways: at most two at once in this process
(one of them a refused config that exits within seconds). No fixed sleeps: waits are on observed state.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import time
from pathlib import Path

import pytest

from layers.providers.base import Failure, GatewaySpec, GatewayState
from layers.providers.local import LocalProvider

pytestmark = pytest.mark.slow
SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter, as a Lambda worker process is


def wait_for(predicate, timeout_s: float = 300.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def gateway_launches(state_dir: Path) -> set[int]:
    """The pids of the launches serving `state_dir`: processes with its OPENCLAW_STATE_DIR whose parent
    has not (the exit recorder of each launch; the gateway and its workers are below it)."""
    marker, serving = f"OPENCLAW_STATE_DIR={state_dir}".encode(), {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if marker in f.read().split(b"\0"):
                        with open(f"/proc/{entry}/stat") as stat:
                            serving[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return {pid for pid, parent in serving.items() if parent not in serving}


def _worker_create(root: str, base_port: int, specs: list[GatewaySpec], barrier, results) -> None:
    """A task worker: its own provider (no supervisor), one create per spec, then the process exits."""
    provider = LocalProvider(root, base_port=base_port, supervise=False)
    provider.capabilities()  # the runtime check, before the barrier: both creates then really race
    if barrier is not None:
        barrier.wait(timeout=120)
    for spec in specs:
        status = provider.create(spec)
        record = provider._files(spec.bot_id).load()
        results.put((os.getpid(), spec.bot_id, status.state.value, record.pid, record.port))


def _run_workers(root: Path, base_port: int, specs: list[GatewaySpec], count: int) -> list[tuple]:
    barrier = SPAWN.Barrier(count) if count > 1 else None
    results = SPAWN.Queue()
    workers = [SPAWN.Process(target=_worker_create, args=(str(root), base_port, specs, barrier, results))
               for _ in range(count)]
    for worker in workers:
        worker.start()
    out, deadline = [], time.monotonic() + 600
    while len(out) < count * len(specs):
        try:
            out.append(results.get(timeout=1))
        except queue.Empty:
            crashed = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            assert not crashed and time.monotonic() < deadline, f"a worker failed (exit codes {crashed}) or hung"
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    return out


@pytest.fixture
def root(tmp_path):
    yield tmp_path
    cleaner = LocalProvider(tmp_path, supervise=False)
    for bot_id in cleaner.bot_ids():
        cleaner.delete(bot_id)


def test_two_processes_creating_the_same_bot_at_once_make_one_gateway(root):
    spec = GatewaySpec("raced", config={"ui": {"seamColor": "#123456"}})
    results = _run_workers(root, 35000, [spec], count=2)
    assert {state for *_, state, _, _ in results} <= {"STARTING", "RUNNING"}
    got = {(pid, port) for *_, pid, port in results}
    assert len(got) == 1, f"both creates must get the same gateway, got {results}"
    (pid, port), = got
    assert gateway_launches(root / "raced" / "state") == {pid}, "exactly one gateway launched for the bot"
    provider = LocalProvider(root, base_port=35000, supervise=False)
    assert provider.wait_ready("raced").state is GatewayState.RUNNING
    assert provider._files("raced").load().pid == pid and provider.endpoint("raced").http_url.endswith(f":{port}")
    assert gateway_launches(root / "raced" / "state") == {pid}


def test_a_gateway_launched_by_a_worker_outlives_it_and_is_supervised_by_the_stack(root):
    good = GatewaySpec("from-worker")
    refused = GatewaySpec("refused-by-worker", config={"bogusTopLevelKey": 1})
    results = _run_workers(root, 35500, [good, refused], count=1)
    (worker, *_), = {r[:1] for r in results}
    assert not os.path.exists(f"/proc/{worker}") and all(state == "STARTING" for _, _, state, _, _ in results)

    stack = LocalProvider(root, base_port=35500, supervise_interval_s=0.5)  # the stack's long-lived provider
    try:
        assert stack.supervising
        launched = stack._files("from-worker").load().pid
        assert stack.wait_ready("from-worker").state is GatewayState.RUNNING
        assert stack._files("from-worker").load().pid == launched, "adopted, not relaunched"
        # The worker is long gone, yet the refused config's exit code and issues are known.
        assert wait_for(lambda: stack.describe("refused-by-worker").state is GatewayState.FAILED)
        refused_status = stack.describe("refused-by-worker")
        assert refused_status.exit_code == 78 and refused_status.failure is Failure.CONFIG_REJECTED
        assert any("bogusTopLevelKey" in issue["message"] for issue in refused_status.issues)
        stack.delete("refused-by-worker")

        os.killpg(launched, signal.SIGKILL)  # the gateway dies: the supervising provider restarts it
        assert wait_for(lambda: stack._files("from-worker").load().pid != launched, 600)
        assert stack.wait_ready("from-worker").state is GatewayState.RUNNING
        assert stack.describe("from-worker").restarts >= 1

        # A second supervising provider on the same root stands by: one supervisor per root.
        other = LocalProvider(root, base_port=35500, supervise_interval_s=0.5)
        try:
            assert not other.supervising
        finally:
            other.close()
    finally:
        stack.close()
