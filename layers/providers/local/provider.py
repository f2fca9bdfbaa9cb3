"""LocalProvider: each bot is a real `openclaw gateway run` process on loopback, supervised.

Nothing here waits for a gateway to start: create/start/restart launch it and return STARTING, and
describe() reports STARTING → RUNNING (/readyz 200 and our token accepted) or FAILED with the reason
(exit code; for a config openclaw refused, the issues). `wait_ready` is the blocking helper for tests
and the CLI. Every call can be retried (the rules are on the Provider protocol in ..base).

Several processes work on one root at once (the stack's long-lived provider, task workers): every state
change of a bot happens under the bot's file lock (locks.py), so two processes never launch two
gateways for one bot; port choice has a lock of its own. Gateways run in their own sessions under
exit_recorder.py, so they outlive whoever launched them and their exit code is still known; a
LocalProvider over the same folder re-adopts them (pid + start time + state dir must all match). Before
any launch, a running launch of the bot that its record does not name (its launcher ended before it could
record it) is found in /proc by the bot's state folder and adopted, and stop/delete end every process
serving that folder: one gateway per bot whatever happened before. A bot's folder is removed only by
delete(). One process supervises (supervise=True: restarts a gateway
that should run but died, with exponential backoff); a root-wide lock makes sure it is only one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import asdict
from pathlib import Path

from clawster.gateway import AdminRpcTransport, ConfigConflict, GatewayClient, InvalidConfig, WebSocketTransport
from clawster.gateway.client import REDACTED, ConfigWrite

from ..base import (
    Capabilities,
    Endpoint,
    Failure,
    GatewaySpec,
    GatewayState,
    GatewayStatus,
    GatewayUpdate,
    LiveConfig,
    LogChunk,
    ProvisioningStep,
    SizeTier,
)
from ..errors import (
    ConfigRejected,
    GatewayExists,
    GatewayNotFound,
    ProviderBusy,
    ProviderFailed,
    StartFailed,
    UnsupportedChange,
)
from . import faults, process
from .instance import InstanceFiles, InstanceRecord, enforced_config, merge
from .locks import FileLock
from .runtime import OpenClawRuntime, installed_versions

log = logging.getLogger(__name__)

BACKUPS_KEPT = 3  # per bot: the newest backups (one per upgrade) stay, older ones are removed
VERSIONS = ".versions"  # <root>/.versions/<version>: versions installed for this root only (tests)
SIZE = SizeTier("small", vcpu=1, memory_mb=1536, description="one gateway process on this machine (~1-1.5 GB RSS)")
MAX_BACKOFF_S = 60.0
APPLY_WAIT_S = 40.0  # a config write waits out the gateway's write limit this long, within a task's 60 s
LOCKS = ".locks"


class LocalProvider:
    name = "local"

    def __init__(
        self,
        root: Path | str,
        runtime: OpenClawRuntime | None = None,
        *,
        base_port: int = 30000,
        port_spacing: int = 120,  # the gateway derives browser/CDP ports up to base+110
        ready_stall_s: float = 120.0,  # wait_ready: no progress (CPU, logs) for this long while starting: give up
        stop_timeout_s: float = 20.0,
        lock_timeout_s: float = 60.0,  # waiting for another process's operation on the same bot: then ProviderBusy
        supervise: bool = True,
        supervise_interval_s: float = 1.0,
    ):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.runtime = runtime or OpenClawRuntime.default()
        self.base_port, self.port_spacing = base_port, port_spacing
        self.ready_stall_s, self.stop_timeout_s, self.lock_timeout_s = ready_stall_s, stop_timeout_s, lock_timeout_s
        self._children: dict[str, subprocess.Popen] = {}  # recorders we launched: reaped so none stays a zombie
        self._locks: dict[str, FileLock] = {}
        self._locks_guard = threading.Lock()
        self._ports_lock = FileLock(self.root / LOCKS / "ports.lock")
        self._supervisor_lock = FileLock(self.root / LOCKS / "supervisor.lock")
        self._supervising = False
        self.supervisor_passes = 0  # completed supervisor passes (tests wait on it instead of sleeping)
        self._next_try: dict[str, float] = {}
        self._stop = threading.Event()
        self.adopted = [b for b in self.bot_ids() if self._alive_now(b)]
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
            openclaw_versions=tuple(self.versions()),  # the default one first
        )

    def versions(self) -> dict[str, OpenClawRuntime]:
        """{version: its runtime}: the verified default, then the versions installed beside it (read on
        every call, so a version installed while the stack runs is offered at once)."""
        default = self.runtime.version
        others = installed_versions(self.root / VERSIONS, self.runtime.root.parent / "versions")
        return {default: self.runtime} | {v: self.runtime.of_version(v, path) for v, path in others.items()
                                          if v != default}

    def _runtime_of(self, version: str) -> OpenClawRuntime:
        runtimes = self.versions()
        if version not in runtimes:
            raise UnsupportedChange(f"openclaw {version} is not installed for the local target "
                                    f"(installed: {', '.join(runtimes)}); scripts/install_openclaw_version.sh installs it")
        return runtimes[version]

    def provisioning_steps(self, spec: GatewaySpec) -> list[ProvisioningStep]:
        return [
            ProvisioningStep("prepare", "create the bot folder, token and config", 0.1),
            ProvisioningStep("launch", "start `openclaw gateway run` on a loopback port", 0.5),
            ProvisioningStep("ready", "wait for /readyz 200 (7-14 s on 2 cores, longer with others starting)", 12.0),
        ]

    def bot_ids(self) -> list[str]:
        return sorted(p.parent.name for p in self.root.glob("*/instance.json"))

    @property
    def supervising(self) -> bool:
        """Whether this provider is the one supervising its root now."""
        return self._supervising

    def describe(self, bot_id: str) -> GatewayStatus:
        files = self._existing(bot_id)
        try:
            record = files.load()
        except FileNotFoundError:  # deleted meanwhile by another process
            raise GatewayNotFound(f"no local gateway for bot {bot_id}") from None
        status = self._status(files, record)
        if record.restart_boot and status.state is GatewayState.RUNNING:
            with self._held(bot_id):  # the restart it waited for is done: no more bootId checks
                record = files.load()
                record.restart_boot = record.restart_paths = None
                files.save(record)
        return status

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

    def wait_ready(self, bot_id: str, timeout_s: float = 900.0, *, through_restarts: bool | None = None) -> GatewayStatus:
        """Block until the gateway is RUNNING (for tests, the CLI, benches: never in a task Lambda).

        A refused config raises ConfigRejected at once. Another failure raises StartFailed/PortInUse,
        unless `through_restarts` (default: whether this provider supervises) lets the supervisor's
        restart be waited for. It waits as long as the gateway makes progress (CPU, logs): StartFailed
        after `ready_stall_s` without any, or `timeout_s` in all."""
        through = self.supervising if through_restarts is None else through_restarts
        files = self._existing(bot_id)

        def done() -> bool:
            status = self.describe(bot_id)
            if status.state is GatewayState.RUNNING:
                return True
            if status.state is GatewayState.STOPPED:
                raise StartFailed(f"gateway of bot {bot_id} is stopped", status.exit_code)
            if status.state is GatewayState.FAILED and (status.failure is Failure.CONFIG_REJECTED or not through):
                raise status.error()
            return False

        def marker() -> object:
            pid = files.load().pid
            return pid, process.progress(process.gateway_pid(pid) if pid else None, files)

        process.wait_progressing(done, marker, self.ready_stall_s, timeout_s, f"gateway of bot {bot_id}",
                                 files.stdout_file, poll_s=0.2)
        return self.describe(bot_id)

    # -- lifecycle ------------------------------------------------------------------------------
    def create(self, spec: GatewaySpec) -> GatewayStatus:
        faults.take(self.root, "create")
        version = spec.openclaw_version
        self._runtime_of(version)  # UnsupportedChange for a version not installed
        if spec.size != SIZE.name:
            raise UnsupportedChange(f"the local provider offers size {SIZE.name!r} only, not {spec.size!r}")
        files, digest = InstanceFiles(self.root, spec.bot_id), spec_hash(spec)
        with self._held(spec.bot_id):
            if files.exists():
                record = files.load()
                if record.spec_hash != digest:
                    raise GatewayExists(f"bot {spec.bot_id} already has a local gateway, created from another spec")
                if record.desired == "RUNNING" and record.pid is None and record.last_exit is None:
                    self._launch(files, record)  # the first create died between its record and its launch
                return self._status(files, record)
            if files.dir.exists():
                shutil.rmtree(files.dir)  # a create that died before writing its record: nothing was launched
            try:
                token = files.create()
                with self._ports_lock.held(self.lock_timeout_s, "port allocation"):
                    record = InstanceRecord(spec.bot_id, self._free_port(), version, spec_hash=digest)
                    files.write_config(merge(spec.config, enforced_config(files, record.port, token)))
                    files.save(record)  # the port is taken from here on: other processes see it
                self._launch(files, record)
            except BaseException:
                self._kill(files)
                shutil.rmtree(files.dir, ignore_errors=True)  # a failed create leaves nothing behind
                raise
            return self._status(files, record)

    def start(self, bot_id: str) -> GatewayStatus:
        faults.take(self.root, "start")
        with self._held(bot_id):
            files = self._existing(bot_id)
            record = files.load()
            alive = self._alive(files, record)
            if record.desired != "RUNNING":
                record.desired = "RUNNING"
                files.save(record)
            if not alive:
                self._relaunch(files, record)
            return self._status(files, record)

    def stop(self, bot_id: str) -> GatewayStatus:
        faults.take(self.root, "stop")
        with self._held(bot_id):
            files = self._existing(bot_id)
            record = files.load()
            if record.desired != "STOPPED":
                record.desired = "STOPPED"  # first, so the supervisor never fights us
                files.save(record)
            self._kill(files)  # the recorded launch, and any launch nobody recorded
            return self.describe(bot_id)

    def restart(self, bot_id: str, *, request_id: str | None = None) -> GatewayStatus:
        faults.take(self.root, "restart")
        with self._held(bot_id):
            files = self._existing(bot_id)
            record = files.load()
            if request_id is not None and record.restart_request == request_id:
                return self._status(files, record)  # this restart was done already
            self._kill(files)
            record = files.load()
            record.desired, record.restart_request = "RUNNING", request_id
            self._relaunch(files, record)
            return self._status(files, record)

    def update(self, bot_id: str, change: GatewayUpdate) -> GatewayStatus:
        faults.take(self.root, "update", bot_id)
        with self._held(bot_id):
            files = self._existing(bot_id)
            record = files.load()
            if change.openclaw_version is not None:
                self._runtime_of(change.openclaw_version)  # before anything changes
            if change.size not in (None, SIZE.name):
                raise UnsupportedChange(f"the local provider offers size {SIZE.name!r} only")
            if change.config is not None:
                config = merge(change.config, enforced_config(files, record.port, files.token()))
                if self._alive(files, record):
                    boot = process.boot_id(record.port, files.token())
                    written = self._apply_live(bot_id, config)
                    if written.requires_restart:  # describe() says STARTING until the gateway has restarted
                        record = files.load()
                        record.restart_boot, record.restart_paths = boot or "unknown", written.changed_paths
                        files.save(record)
                else:
                    self._write_validated(files, config)
            if change.openclaw_version not in (None, record.openclaw_version):
                # Another version on the same state: stop this one, then launch that one (returns at once).
                self._kill(files)
                record = files.load()
                record.openclaw_version, record.desired = change.openclaw_version, "RUNNING"
                self._relaunch(files, record)
            return self._status(files, files.load())

    def backup(self, bot_id: str, key: str) -> str:
        """Copy the gateway's state, config and version aside as backup `key` (e.g. the upgrade's execution),
        and return it. The gateway is frozen (SIGSTOP) while its files are copied, so the copy is what a
        crash at that instant would leave, which openclaw's SQLite recovers from; it serves on after.
        Again with the same key: the backup taken is kept, nothing is copied."""
        faults.take(self.root, "backup")
        with self._held(bot_id):
            files = self._existing(bot_id)
            target = files.backup_dir(key)
            if (target / "manifest.json").exists():
                return key
            record = files.load()
            partial = target.with_name(target.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            with process.frozen(record.pid if self._alive(files, record) else None):
                for name in ("state", "home"):
                    shutil.copytree(files.dir / name, partial / name, symlinks=True)
                shutil.copy2(files.config, partial / "openclaw.json")
            (partial / "manifest.json").write_text(json.dumps({"openclaw_version": record.openclaw_version,
                                                               "taken_at": time.time()}))
            partial.rename(target)
            for old in files.backups()[:-BACKUPS_KEPT]:
                shutil.rmtree(old, ignore_errors=True)
            return key

    def restore(self, bot_id: str, key: str, *, request_id: str | None = None) -> GatewayStatus:
        """Put backup `key` back (state, config, version) and launch the gateway on it; returns at once
        (STARTING). As restart(): a retry with the same `request_id` changes nothing more.
        GatewayNotFound when the bot or the backup does not exist."""
        faults.take(self.root, "restore")
        with self._held(bot_id):
            files = self._existing(bot_id)
            source = files.backup_dir(key)
            try:
                manifest = json.loads((source / "manifest.json").read_text())
            except FileNotFoundError:
                raise GatewayNotFound(f"bot {bot_id} has no backup {key!r}") from None
            record = files.load()
            if request_id is not None and record.restore_request == request_id:
                return self._status(files, record)  # this restore was done already
            self._runtime_of(manifest["openclaw_version"])
            self._kill(files)
            for name in ("state", "home"):
                shutil.rmtree(files.dir / name, ignore_errors=True)
                shutil.copytree(source / name, files.dir / name, symlinks=True)
            config = json.loads((source / "openclaw.json").read_text())
            files.write_config(config)
            record = files.load()
            record.openclaw_version, record.desired = manifest["openclaw_version"], "RUNNING"
            record.restore_request = request_id
            self._relaunch(files, record)  # re-enforces the port in the config if it must move
            return self._status(files, files.load())

    def delete(self, bot_id: str) -> None:
        faults.take(self.root, "delete")
        files = self._files(bot_id)
        with self._held(bot_id):
            if files.exists():
                record = files.load()
                record.desired = "STOPPED"
                files.save(record)
            self._kill(files)
            shutil.rmtree(files.dir, ignore_errors=True)  # absent already: nothing to do
            self._next_try.pop(bot_id, None)

    def live_config(self, bot_id: str) -> LiveConfig:
        """The gateway's config file as it reads it (config.get `sourceConfig`, secrets redacted), its hash,
        and what this provider enforces in it (enforced_config, the token redacted as the gateway shows it)."""
        files = self._existing(bot_id)
        record = files.load()
        with self.client(bot_id) as client:
            snapshot = client.config_get()
        return LiveConfig(snapshot.source, snapshot.hash, enforced_config(files, record.port, REDACTED))

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
        """Start the supervisor thread (restarts gateways that should run but died). Only one process
        supervises a root: the others' threads stand by until its lock is free (e.g. it exited)."""
        if self._supervisor is None or not self._supervisor.is_alive():
            self._stop.clear()
            first_try = threading.Event()
            self._supervisor = threading.Thread(
                target=self._supervise, args=(self.supervise_interval_s, first_try), name="local-provider-supervisor",
                daemon=True,
            )
            self._supervisor.start()
            first_try.wait(10)  # so `supervising` is known when this returns

    def close(self) -> None:
        """Stop supervising; the gateways keep running (a new provider re-adopts them)."""
        self._stop.set()
        if self._supervisor:
            self._supervisor.join(timeout=10)
            self._supervisor = None

    def stop_all(self) -> None:
        for bot_id in self.bot_ids():
            self.stop(bot_id)

    # -- internals ------------------------------------------------------------------------------
    def _lock(self, bot_id: str) -> FileLock:
        self._files(bot_id)  # validates the id before it names a file
        with self._locks_guard:
            if bot_id not in self._locks:
                self._locks[bot_id] = FileLock(self.root / LOCKS / f"{bot_id}.lock")
            return self._locks[bot_id]

    def _held(self, bot_id: str):
        return self._lock(bot_id).held(self.lock_timeout_s, f"bot {bot_id}")

    def _files(self, bot_id: str) -> InstanceFiles:
        return InstanceFiles(self.root, bot_id)

    def _existing(self, bot_id: str) -> InstanceFiles:
        files = self._files(bot_id)
        if not files.exists():
            raise GatewayNotFound(f"no local gateway for bot {bot_id}")
        return files

    @staticmethod
    def _endpoint(files: InstanceFiles, record: InstanceRecord) -> Endpoint:
        return Endpoint(f"http://127.0.0.1:{record.port}", f"ws://127.0.0.1:{record.port}", files.token_ref)

    def _alive_now(self, bot_id: str) -> bool:
        try:
            files = self._files(bot_id)
            return self._alive(files, files.load())
        except FileNotFoundError:
            return False

    def _reap(self) -> None:
        for bot_id, child in list(self._children.items()):
            if child.poll() is not None:
                self._children.pop(bot_id, None)

    def _alive(self, files: InstanceFiles, record: InstanceRecord) -> bool:
        self._reap()
        return record.pid is not None and process.is_our_gateway(record.pid, record.pid_started, files)

    def _status(self, files: InstanceFiles, record: InstanceRecord) -> GatewayStatus:
        """What the files and processes say now; no lock, nothing written."""
        def status(state: GatewayState, detail: str = "", **failure) -> GatewayStatus:
            return GatewayStatus(files.bot_id, state, record.openclaw_version, self._endpoint(files, record), detail,
                                 record.restarts, **failure)

        if self._alive(files, record):
            if process.ready(record.port) and process.accepts_token(record.port, files.token()):
                if record.restart_boot and process.boot_id(record.port, files.token()) in (None, record.restart_boot):
                    return status(GatewayState.STARTING, "restarting to take a restart-class config change ("
                                  + ", ".join((record.restart_paths or [])[:5]) + ")")
                return status(GatewayState.RUNNING)
            return status(GatewayState.STARTING, "waiting for /readyz and the token check")
        if record.desired == "STOPPED":
            return status(GatewayState.STOPPED, exit_code=record.last_exit)
        if record.pid is None:
            if record.last_exit is None:
                return status(GatewayState.STARTING, "launching")
            return status(GatewayState.FAILED, f"exited with {record.last_exit}", failure=Failure.START_FAILED,
                          exit_code=record.last_exit)
        failure, detail, code, issues = self._ending(files, record)
        return status(GatewayState.FAILED, detail, failure=failure, exit_code=code, issues=tuple(issues))

    def _ending(self, files: InstanceFiles, record: InstanceRecord) -> tuple[Failure, str, int | None, list[dict]]:
        """Why the gateway launched as `record.pid` is gone: from exit.json, written by its recorder."""
        ending = process.read_exit(files, record.pid)
        code = ending.get("code") if ending else None
        tail = process.log_tail(files.stdout_file)
        if code == process.CONFIG_ERROR_EXIT and "validate" in ending:
            check = ending["validate"]
            if issues := process.issues_from(check.get("rc"), check.get("stdout", ""), check.get("stderr", "")):
                where = "; ".join(f"{i.get('path')}: {i.get('message')}" for i in issues[:5])
                what = "its state" if all(i.get("path") == "<state>" for i in issues) else "the config"
                return Failure.CONFIG_REJECTED, f"exit code 78: openclaw refused {what} ({where})", code, issues
        if code is None:
            return Failure.START_FAILED, "the gateway process is gone (exit code unknown: killed with its recorder)", None, []
        last = next((line for line in reversed(tail.splitlines()) if line.strip()), "")[-300:]
        if code != 0 and process.port_taken(tail):
            return Failure.PORT_IN_USE, f"exit code {code}: port {record.port} is taken by another process", code, []
        return Failure.START_FAILED, f"exit code {code}: {last}".rstrip(": "), code, []

    def _launch(self, files: InstanceFiles, record: InstanceRecord) -> None:
        """Launch the gateway (under the bot's lock) and record its pid; returns at once. A launch of the
        bot that is running already (one nobody recorded) is adopted instead: never two gateways."""
        if not self._adopt(files, record):
            self._spawn(files, record)

    def _spawn(self, files: InstanceFiles, record: InstanceRecord) -> None:
        child = process.launch(self._runtime_of(record.openclaw_version), files)
        record.pid, record.pid_started = child.pid, process.process_start_time(child.pid)
        record.restart_boot = record.restart_paths = None  # a new process: any restart pending is done
        files.save(record)
        self._children[files.bot_id] = child

    def _relaunch(self, files: InstanceFiles, record: InstanceRecord) -> None:
        """Launch again a gateway that is not running, on another port if its own is taken (a launch
        of the bot that is running after all, whatever the record says, is adopted instead)."""
        if self._adopt(files, record):
            return
        port_taken = False
        if record.pid is not None:
            failure, _, record.last_exit, _ = self._ending(files, record)
            port_taken = failure is Failure.PORT_IN_USE
        if port_taken or not _port_free(record.port):
            with self._ports_lock.held(self.lock_timeout_s, "port allocation"):
                record.port = self._free_port(exclude={record.port})
                config = files.read_config()
                config["gateway"]["port"] = record.port
                files.write_config(config)
                files.save(record)
        self._spawn(files, record)

    def _adopt(self, files: InstanceFiles, record: InstanceRecord) -> bool:
        """Before any launch, under the bot's lock: whether a launch of this bot is running already, found
        in /proc by its state folder whoever launched it (a task worker that ended or was killed between
        its launch and its record, a record another process overwrote). If so it becomes the recorded
        one (pid and start time) and nothing is launched; any other launch of the bot, and any process
        serving its state folder outside a launch (a gateway whose recorder was killed), is stopped, so
        that one gateway at most serves a bot whatever happened before."""
        found = process.serving(files)
        if not found:
            return False
        tops = process.tops(found)
        launches = [p for p in tops if p.recorder]
        keep = next((p for p in launches if p.pid == record.pid), launches[0] if launches else None)
        for other in tops:
            if other is not keep:
                log.warning("gateway %s: stopping pid %d, which serves its state folder outside the recorded "
                            "launch", files.bot_id, other.pid)
                process.end(other, self.stop_timeout_s)
        if keep is None:
            return False
        if (record.pid, record.pid_started) != (keep.pid, keep.started):
            log.warning("gateway %s: adopting the running launch pid %d (the record said pid %s)", files.bot_id,
                        keep.pid, record.pid)
            record.pid, record.pid_started, record.last_exit = keep.pid, keep.started, None
            files.save(record)
        return True

    def _kill(self, files: InstanceFiles) -> None:
        """Stop the recorded launch and anything else serving the bot's state folder; record how it ended."""
        if not files.record_file.exists():
            self._end_unrecorded(files)
            return  # nothing was launched by a live provider: the record is saved before every launch
        record = files.load()
        child = self._children.pop(files.bot_id, None)
        if child is not None and child.pid != record.pid:
            child.poll()  # an earlier launch of ours that another process has replaced: reaped, never waited on
            child = None
        if record.pid is not None:
            if child is not None or self._alive(files, record):
                process.terminate(record.pid, record.pid_started, self.stop_timeout_s, child)
            ending = process.read_exit(files, record.pid)
            record.last_exit = ending.get("code") if ending else None
        record.pid = record.pid_started = None
        files.save(record)
        self._end_unrecorded(files)

    def _end_unrecorded(self, files: InstanceFiles) -> None:
        """Stop every process still serving the bot's state folder (a launch nobody recorded)."""
        for other in process.tops(process.serving(files)):
            log.log(logging.WARNING if other.recorder else logging.INFO,
                    "gateway %s: stopping pid %d, %s serving its state folder", files.bot_id, other.pid,
                    "an unrecorded launch" if other.recorder else "a process left")
            process.end(other, self.stop_timeout_s)

    def _apply_live(self, bot_id: str, config: dict, attempts: int = 3) -> ConfigWrite:
        """config.apply on the base hash just read; a concurrent write (ConfigConflict) is read again, a
        bounded number of times, then the conflict is raised (retryable: the workflow tries later). The
        gateway's write limit (RateLimited, retryAfterMs) is waited out as told, within APPLY_WAIT_S (inside
        a task's timeout); past it the RateLimited escapes, retryable, and the workflow tries later."""
        with self.client(bot_id) as client:
            try:
                return client.apply_config(config, note="clawster: provider update", attempts=attempts,
                                           deadline_s=APPLY_WAIT_S)
            except InvalidConfig as error:
                raise ConfigRejected(error.message, error.issues) from error
            except ConfigConflict as conflict:
                raise ProviderBusy(f"the config of bot {bot_id} kept changing under us: {conflict}") from conflict

    def _write_validated(self, files: InstanceFiles, config: dict) -> None:
        previous = files.read_config()
        if "meta" in previous:
            # The gateway stamps `meta` into every config it writes; a file without it next to a
            # `.last-good` with it is taken for clobbered and silently restored from backup.
            config = {**config, "meta": previous["meta"]}
        files.write_config(config)
        if issues := process.config_issues(self._runtime_of(files.load().openclaw_version), files):
            files.write_config(previous)  # never leave a config the gateway would refuse
            raise ConfigRejected(f"openclaw refused the new config of {files.bot_id}", issues)

    def _free_port(self, exclude: set[int] = frozenset()) -> int:
        """A port no bot of this root has and nothing listens on (call with the ports lock held)."""
        used = set(exclude)
        for bot_id in self.bot_ids():
            try:
                used.add(self._files(bot_id).load().port)
            except (FileNotFoundError, ValueError):
                continue  # deleted (or being written) meanwhile
        for i in range(500):
            port = self.base_port + i * self.port_spacing
            if port not in used and _port_free(port):
                return port
        raise ProviderFailed("no free loopback port for another gateway")

    def _supervise(self, interval_s: float, first_try: threading.Event) -> None:
        try:
            while True:
                if not self._supervising:  # the lock is taken and released by this thread only
                    self._supervising = self._supervisor_lock.acquire(blocking=False)
                first_try.set()
                if self._supervising:  # else another process supervises this root: stand by
                    self._supervise_once()
                if self._stop.wait(interval_s):
                    return
        finally:
            if self._supervising:
                self._supervising = False
                self._supervisor_lock.release()

    def _supervise_once(self) -> None:
        self._reap()
        for bot_id in self.bot_ids():
            lock = self._lock(bot_id)
            if not lock.acquire(blocking=False):
                continue  # an operation on this bot is in progress (here or in another process)
            try:
                self._keep_running(bot_id)
            except Exception:  # the supervisor must survive anything one bot does
                log.exception("supervising %s", bot_id)
            finally:
                lock.release()
        self.supervisor_passes += 1

    def _keep_running(self, bot_id: str) -> None:
        files = self._files(bot_id)
        if not files.exists():
            return
        record = files.load()
        if record.desired != "RUNNING" or self._alive(files, record):
            return
        if self._adopt(files, record):
            return  # running after all (launched by a process that could not record it): not a restart
        if record.pid is not None and self._ending(files, record)[0] is Failure.CONFIG_REJECTED:
            return  # it would be refused again: start() or an update decides
        if time.monotonic() < self._next_try.get(bot_id, 0):
            return
        record.restarts += 1
        self._next_try[bot_id] = time.monotonic() + min(2.0**record.restarts, MAX_BACKOFF_S)
        log.warning("gateway %s is down (exit %s); restart #%d", bot_id, record.last_exit, record.restarts)
        self._relaunch(files, record)


def spec_hash(spec: GatewaySpec) -> str:
    """What a retried create must match: the whole spec, canonical JSON."""
    return hashlib.sha256(json.dumps(asdict(spec), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the gateway binds: TIME_WAIT is no obstacle
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
