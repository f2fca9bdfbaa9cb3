"""LocalProvider: each bot is a real `openclaw gateway run` process on loopback, supervised.

The gateways run in their own sessions, so they keep running when the control plane stops; a new
LocalProvider over the same folder re-adopts them (pid + start time + state dir must all match).
A bot's folder is removed only by delete(). The supervisor restarts a gateway that should run but
died, with exponential backoff.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

from clawster.gateway import AdminRpcTransport, GatewayClient, InvalidConfig, WebSocketTransport

from ..base import (
    Capabilities,
    Endpoint,
    GatewaySpec,
    GatewayState,
    GatewayStatus,
    GatewayUpdate,
    LogChunk,
    ProvisioningStep,
    SizeTier,
)
from ..errors import ConfigRejected, GatewayExists, GatewayNotFound, PortInUse, ProviderFailed, UnsupportedChange
from . import process
from .instance import InstanceFiles, InstanceRecord, enforced_config, merge
from .runtime import OpenClawRuntime

log = logging.getLogger(__name__)

SIZE = SizeTier("small", vcpu=1, memory_mb=1536, description="one gateway process on this machine (~1-1.5 GB RSS)")
MAX_BACKOFF_S = 60.0
PORT_ATTEMPTS = 3


class LocalProvider:
    name = "local"

    def __init__(
        self,
        root: Path | str,
        runtime: OpenClawRuntime | None = None,
        *,
        base_port: int = 30000,
        port_spacing: int = 120,  # the gateway derives browser/CDP ports up to base+110
        ready_stall_s: float = 120.0,  # no progress (CPU, logs) for this long while starting: give up
        stop_timeout_s: float = 20.0,
        supervise: bool = True,
        supervise_interval_s: float = 1.0,
    ):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.runtime = runtime or OpenClawRuntime.default()
        self.base_port, self.port_spacing = base_port, port_spacing
        self.ready_stall_s, self.stop_timeout_s = ready_stall_s, stop_timeout_s
        self._children: dict[str, subprocess.Popen] = {}
        self._locks: defaultdict[str, threading.RLock] = defaultdict(threading.RLock)
        self._locks_guard = threading.Lock()
        self._next_try: dict[str, float] = {}
        self._stop = threading.Event()
        self.adopted = [b for b in self.bot_ids() if self._alive(self._files(b), self._files(b).load())]
        self.supervise_interval_s = supervise_interval_s
        self._supervisor: threading.Thread | None = None
        if supervise:
            self.supervise()

    # -- description ----------------------------------------------------------------------------
    def capabilities(self) -> Capabilities:
        return Capabilities(
            persistent_storage=True,  # the state folder stays until delete()
            sandbox=False,
            tls_endpoint=False,  # loopback http/ws only
            log_streaming=True,
            size_tiers=(SIZE,),
            openclaw_versions=(self.runtime.version,),
        )

    def provisioning_steps(self, spec: GatewaySpec) -> list[ProvisioningStep]:
        return [
            ProvisioningStep("prepare", "create the bot folder, token and config", 0.1),
            ProvisioningStep("launch", "start `openclaw gateway run` on a loopback port", 0.5),
            ProvisioningStep("ready", "wait for /readyz 200 (7-14 s on 2 cores, longer with others starting)", 12.0),
        ]

    def bot_ids(self) -> list[str]:
        return sorted(p.parent.name for p in self.root.glob("*/instance.json"))

    def describe(self, bot_id: str) -> GatewayStatus:
        files = self._existing(bot_id)
        record = files.load()
        alive = self._alive(files, record)
        if alive:
            state = GatewayState.RUNNING if process.ready(record.port) else GatewayState.STARTING
        else:
            state = GatewayState.STOPPED if record.desired == "STOPPED" else GatewayState.FAILED
        detail = f"last exit code {record.last_exit}" if state is GatewayState.FAILED and record.last_exit is not None else ""
        return GatewayStatus(bot_id, state, record.openclaw_version, self._endpoint(files, record), detail, record.restarts)

    def endpoint(self, bot_id: str) -> Endpoint:
        files = self._existing(bot_id)
        return self._endpoint(files, files.load())

    def client(self, bot_id: str, transport: str = "http") -> GatewayClient:
        """A gateway client for the bot (admin HTTP RPC, or the WebSocket for agent/sessions)."""
        files = self._existing(bot_id)
        port, token = files.load().port, files.token()
        if transport == "ws":
            return GatewayClient(WebSocketTransport(f"ws://127.0.0.1:{port}", token=token))
        return GatewayClient(AdminRpcTransport(f"http://127.0.0.1:{port}", token))

    # -- lifecycle ------------------------------------------------------------------------------
    def create(self, spec: GatewaySpec) -> GatewayStatus:
        version = self.runtime.version
        if spec.openclaw_version != version:
            raise UnsupportedChange(f"the local provider runs openclaw {version}, not {spec.openclaw_version}")
        if spec.size != SIZE.name:
            raise UnsupportedChange(f"the local provider offers size {SIZE.name!r} only, not {spec.size!r}")
        files = InstanceFiles(self.root, spec.bot_id)
        with self._lock(spec.bot_id):
            if files.exists() or files.dir.exists():
                raise GatewayExists(f"bot {spec.bot_id} already has a local gateway")
            try:
                token = files.create()
                record = InstanceRecord(spec.bot_id, 0, version)
                taken: set[int] = set()
                for attempt in range(PORT_ATTEMPTS):
                    record.port = self._free_port(exclude=taken)
                    files.write_config(merge(spec.config, enforced_config(files, record.port, token)))
                    files.save(record)
                    try:
                        self._launch_and_wait(files, record)
                        break
                    except PortInUse:  # another provider/process bound it between our check and the gateway's bind
                        taken.add(record.port)
                        if attempt == PORT_ATTEMPTS - 1:
                            raise
            except BaseException:
                self._kill(files)
                shutil.rmtree(files.dir, ignore_errors=True)  # a failed create leaves nothing behind
                raise
            return self.describe(spec.bot_id)

    def start(self, bot_id: str) -> GatewayStatus:
        with self._lock(bot_id):
            files, record = self._set_desired(bot_id, "RUNNING")
            if not self._alive(files, record):
                self._launch_and_wait(files, record)
            return self.describe(bot_id)

    def stop(self, bot_id: str) -> GatewayStatus:
        with self._lock(bot_id):
            files, _ = self._set_desired(bot_id, "STOPPED")
            self._kill(files)
            return self.describe(bot_id)

    def restart(self, bot_id: str) -> GatewayStatus:
        with self._lock(bot_id):
            self.stop(bot_id)
            return self.start(bot_id)

    def update(self, bot_id: str, change: GatewayUpdate) -> GatewayStatus:
        with self._lock(bot_id):
            files = self._existing(bot_id)
            record = files.load()
            if change.openclaw_version not in (None, record.openclaw_version):
                raise UnsupportedChange(f"the local provider runs openclaw {record.openclaw_version} only")
            if change.size not in (None, SIZE.name):
                raise UnsupportedChange(f"the local provider offers size {SIZE.name!r} only")
            if change.config is not None:
                config = merge(change.config, enforced_config(files, record.port, files.token()))
                if self._alive(files, record):
                    self._apply_live(bot_id, config)
                else:
                    self._write_validated(files, config)
            return self.describe(bot_id)

    def delete(self, bot_id: str) -> None:
        with self._lock(bot_id):
            files, _ = self._set_desired(bot_id, "STOPPED")
            self._kill(files)
            shutil.rmtree(files.dir)
            self._next_try.pop(bot_id, None)

    def logs(self, bot_id: str, cursor: int | None = None, limit: int = 200) -> LogChunk:
        """Lines of the gateway's own log file (JSON lines), from byte offset `cursor` (default: the last `limit`)."""
        path = self._existing(bot_id).log_file
        if not path.exists():
            return LogChunk([], 0)
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            if cursor is None or cursor > size:  # a rotated/truncated file starts over
                f.seek(0)
                lines = f.read().splitlines()[-limit:]
                return LogChunk([line.decode(errors="replace") for line in lines], size)
            f.seek(cursor)
            lines, position = [], cursor
            for raw in f:
                if not raw.endswith(b"\n") or len(lines) >= limit:
                    break  # a partial last line is read next time, whole
                lines.append(raw.rstrip(b"\n").decode(errors="replace"))
                position += len(raw)
            return LogChunk(lines, position)

    def supervise(self) -> None:
        """Start the supervisor thread (restarts gateways that should run but died)."""
        if self._supervisor is None or not self._supervisor.is_alive():
            self._stop.clear()
            self._supervisor = threading.Thread(
                target=self._supervise, args=(self.supervise_interval_s,), name="local-provider-supervisor", daemon=True
            )
            self._supervisor.start()

    def close(self) -> None:
        """Stop supervising; the gateways keep running (a new provider re-adopts them)."""
        self._stop.set()
        if self._supervisor:
            self._supervisor.join(timeout=5)

    def stop_all(self) -> None:
        for bot_id in self.bot_ids():
            self.stop(bot_id)

    # -- internals ------------------------------------------------------------------------------
    def _lock(self, bot_id: str) -> threading.RLock:
        with self._locks_guard:
            return self._locks[bot_id]

    def _files(self, bot_id: str) -> InstanceFiles:
        return InstanceFiles(self.root, bot_id)

    def _existing(self, bot_id: str) -> InstanceFiles:
        files = self._files(bot_id)
        if not files.exists():
            raise GatewayNotFound(f"no local gateway for bot {bot_id}")
        return files

    def _set_desired(self, bot_id: str, desired: str) -> tuple[InstanceFiles, InstanceRecord]:
        """Record what the supervisor should keep the bot at, before acting (so it never fights us)."""
        files = self._existing(bot_id)
        record = files.load()
        record.desired = desired
        files.save(record)
        return files, record

    @staticmethod
    def _endpoint(files: InstanceFiles, record: InstanceRecord) -> Endpoint:
        return Endpoint(f"http://127.0.0.1:{record.port}", f"ws://127.0.0.1:{record.port}", files.token_ref)

    def _alive(self, files: InstanceFiles, record: InstanceRecord) -> bool:
        child = self._children.get(files.bot_id)
        if child is not None and child.poll() is not None:  # reap our own child, keep its exit code
            record.last_exit = child.returncode
            self._children.pop(files.bot_id, None)
        return record.pid is not None and process.is_our_gateway(record.pid, record.pid_started, files)

    def _launch(self, files: InstanceFiles, record: InstanceRecord) -> subprocess.Popen:
        child = process.launch(self.runtime, files)
        record.pid, record.pid_started = child.pid, process.process_start_time(child.pid)
        files.save(record)
        self._children[files.bot_id] = child
        return child

    def _launch_and_wait(self, files: InstanceFiles, record: InstanceRecord) -> None:
        child = self._launch(files, record)
        try:
            process.wait_ready(child, self.runtime, files, record.port, self.ready_stall_s)
        except ConfigRejected:
            record.desired, record.last_exit = "STOPPED", process.CONFIG_ERROR_EXIT
            files.save(record)  # a config the gateway refuses is not retried by the supervisor
            raise

    def _kill(self, files: InstanceFiles) -> None:
        if not files.record_file.exists():
            return  # nothing was launched: the record is saved before every launch
        record = files.load()
        child = self._children.pop(files.bot_id, None)
        if record.pid is not None and (child is not None or self._alive(files, record)):
            record.last_exit = process.terminate(record.pid, record.pid_started, self.stop_timeout_s, child)
        record.pid = record.pid_started = None
        files.save(record)

    def _apply_live(self, bot_id: str, config: dict) -> None:
        with self.client(bot_id) as client:
            snapshot = client.config_get()
            try:
                client.config_apply(config, base_hash=snapshot.hash, note="clawster: provider update")
            except InvalidConfig as error:
                raise ConfigRejected(error.message, error.issues) from error

    def _write_validated(self, files: InstanceFiles, config: dict) -> None:
        previous = files.read_config()
        if "meta" in previous:
            # The gateway stamps `meta` into every config it writes; a file without it next to a
            # `.last-good` with it is taken for clobbered and silently restored from backup.
            config = {**config, "meta": previous["meta"]}
        files.write_config(config)
        if issues := process.config_issues(self.runtime, files):
            files.write_config(previous)  # never leave a config the gateway would refuse
            raise ConfigRejected(f"openclaw refused the new config of {files.bot_id}", issues)

    def _free_port(self, exclude: set[int] = frozenset()) -> int:
        used = {self._files(b).load().port for b in self.bot_ids()} | set(exclude)
        for i in range(500):
            port = self.base_port + i * self.port_spacing
            if port not in used and _port_free(port):
                return port
        raise ProviderFailed("no free loopback port for another gateway")

    def _supervise(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            for bot_id in self.bot_ids():
                lock = self._lock(bot_id)
                if not lock.acquire(blocking=False):
                    continue  # an operation on this bot is in progress
                try:
                    self._keep_running(bot_id)
                except Exception:  # the supervisor must survive anything one bot does
                    log.exception("supervising %s", bot_id)
                finally:
                    lock.release()

    def _keep_running(self, bot_id: str) -> None:
        files = self._files(bot_id)
        if not files.exists():
            return
        record = files.load()
        if record.desired != "RUNNING" or self._alive(files, record):
            return
        if time.monotonic() < self._next_try.get(bot_id, 0):
            return
        record.restarts += 1
        self._next_try[bot_id] = time.monotonic() + min(2.0**record.restarts, MAX_BACKOFF_S)
        log.warning("gateway %s is down (exit %s); restart #%d", bot_id, record.last_exit, record.restarts)
        self._launch(files, record)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
