"""Runs the stand-ins' containers on this machine: a container is the gateway image's entrypoint
(deploy/gateway/entrypoint.mjs) run with node 24 and the openclaw version its image tag names, its state dir
kept as the container's volume, its port published on 127.0.0.1 (as `docker run -p` would).

    host = ContainerHost(root)                      # or ContainerHost(root, launcher) in fast tests
    host.run("clawster-b1", "clawster-gateway:2026.9.6", env)   # start, or keep: same image and env
    host.status("clawster-b1")                      # ContainerStatus(state, healthy, host, port, ...)

Restart policy Always, as on Fargate services, Cloud Run and ACI: a container that exits is launched again
(backoff doubling to 30 s) until it is stopped. An image whose tag is not an installed openclaw version
fails as a pull would. Nothing here is a cloud: the stand-ins decide what to run; this only runs it.
"""

from __future__ import annotations

import fcntl
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

REPO = Path(__file__).resolve().parents[4]
ENTRYPOINT = REPO / "deploy" / "gateway" / "entrypoint.mjs"
CONTAINER_PORT = 18789
BACKOFF_MAX_S = 30.0
READY_PROBE_S = 2.0
PORT_LOCKS = Path(os.environ.get("TMPDIR", "/tmp")) / "clawster-container-ports"


class Launched(Protocol):
    """One run of a container's process."""

    port: int

    def exit_code(self) -> int | None: ...  # None while it runs

    def stop(self, timeout_s: float) -> None: ...

    def logs(self) -> list[str]: ...


class Launcher(Protocol):
    def versions(self) -> set[str]: ...

    def launch(self, name: str, version: str, env: dict[str, str], state_dir: Path, log_file: Path) -> Launched: ...


@dataclass(frozen=True)
class ContainerStatus:
    state: str  # RUNNING (its process runs), STOPPED (stopped on purpose), EXITED (ended; relaunched unless a pull failed)
    healthy: bool  # its /readyz answers 200
    host: str
    port: int  # where its port is published; 0 when it is not running
    exit_code: int | None = None
    restarts: int = 0
    detail: str = ""


class _Container:
    def __init__(self, name: str, image: str, env: dict[str, str], state_dir: Path):
        self.name, self.image, self.env, self.state_dir = name, image, env, state_dir
        self.run: Launched | None = None
        self.wanted = True  # keep it running (restart policy Always) until stopped
        self.restarts = 0
        self.next_try = 0.0
        self.pull_error = ""
        self.last_exit: int | None = None

    def spec(self) -> str:
        return _digest(self.image, self.env)


class ContainerHost:
    def __init__(self, root: Path | str, launcher: Launcher | None = None, *, supervise_interval_s: float = 0.5):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.launcher = launcher or EntrypointLauncher()
        self._containers: dict[str, _Container] = {}
        self._guard = threading.RLock()
        self._stop = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, args=(supervise_interval_s,),
                                            name="container-host", daemon=True)
        self._supervisor.start()

    # -- what the stand-ins call ------------------------------------------------------------------
    def run(self, name: str, image: str, env: dict[str, str]) -> None:
        """Start `name` from `image` with `env`; the same image and env again keeps the running one. Another image
        or env replaces its process on the same state dir (a new revision or task)."""
        with self._guard:
            container = self._containers.get(name)
            if container and container.spec() == _digest(image, env) and container.wanted:
                return
            if container:
                self._halt(container)
            container = _Container(name, image, dict(env), self.root / _safe(name) / "state")
            container.state_dir.mkdir(parents=True, exist_ok=True)
            self._containers[name] = container
            self._launch(container)

    def stop(self, name: str) -> None:
        with self._guard:
            container = self._containers.get(name)
            if container:
                container.wanted = False
                self._halt(container)

    def remove(self, name: str) -> None:
        """Stop it and delete its state (the volume goes with it)."""
        with self._guard:
            container = self._containers.pop(name, None)
            if container:
                container.wanted = False
                self._halt(container)
        shutil.rmtree(self.root / _safe(name), ignore_errors=True)

    def status(self, name: str) -> ContainerStatus | None:
        with self._guard:
            container = self._containers.get(name)
            if container is None:
                return None
            run = container.run
            restarts, wanted, pull_error, last_exit = (container.restarts, container.wanted, container.pull_error,
                                                       container.last_exit)
            code = run.exit_code() if run else None
        if pull_error:
            return ContainerStatus("EXITED", False, "127.0.0.1", 0, None, restarts, pull_error)
        if not wanted:
            return ContainerStatus("STOPPED", False, "127.0.0.1", 0, last_exit, restarts, "stopped")
        if run is None or code is not None:
            code = code if code is not None else last_exit
            return ContainerStatus("EXITED", False, "127.0.0.1", 0, code, restarts, f"exited with code {code}")
        healthy = _ready(run.port)
        return ContainerStatus("RUNNING", healthy, "127.0.0.1", run.port, None, restarts,
                               "" if healthy else "not ready yet")

    def logs(self, name: str) -> list[str]:
        with self._guard:
            container = self._containers.get(name)
            return container.run.logs() if container and container.run else []

    def names(self) -> list[str]:
        with self._guard:
            return sorted(self._containers)

    def close(self) -> None:
        """Stop every container (their state stays on disk) and the supervisor."""
        self._stop.set()
        self._supervisor.join(timeout=10)
        with self._guard:
            for container in self._containers.values():
                self._halt(container)

    # -- inside -----------------------------------------------------------------------------------
    def _launch(self, container: _Container) -> None:
        version = container.image.rpartition(":")[2] if ":" in container.image else ""
        if version not in self.launcher.versions():
            container.pull_error = (f"CannotPullContainerError: {container.image}: manifest unknown "
                                    f"(installed: {', '.join(sorted(self.launcher.versions()))})")
            return
        container.pull_error = ""
        log_file = self.root / _safe(container.name) / "container.log"
        container.run = self.launcher.launch(container.name, version, container.env, container.state_dir, log_file)

    def _halt(self, container: _Container) -> None:
        if container.run is not None:
            container.run.stop(timeout_s=20.0)
            container.last_exit = container.run.exit_code()
            container.run = None

    def _supervise(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            with self._guard:
                for container in list(self._containers.values()):
                    run = container.run
                    if not container.wanted or container.pull_error or run is None or run.exit_code() is None:
                        continue
                    now = time.monotonic()
                    if container.next_try == 0.0:  # just seen exited: back off before relaunching
                        container.last_exit = run.exit_code()
                        container.next_try = now + min(BACKOFF_MAX_S, 2.0 ** container.restarts)
                    elif now >= container.next_try:
                        container.restarts += 1
                        container.next_try = 0.0
                        self._launch(container)


class EntrypointLauncher:
    """The image's entrypoint on this machine's node 24 and openclaw (layers/providers/local/runtime.py), in a session
    of its own, bound to loopback (a container's "lan" is this machine's network here)."""

    # Below the kernel's ephemeral range (32768-60999): a probe of a port nothing listens on yet can otherwise
    # connect to itself (TCP simultaneous open) and read back its own request.
    def __init__(self, base_port: int = 20000, port_spacing: int = 120, locks: Path = PORT_LOCKS):
        from layers.providers.local.runtime import OpenClawRuntime, installed_versions

        self._runtime = OpenClawRuntime.default()
        self._installed = installed_versions
        self.base_port, self.port_spacing = base_port, port_spacing
        self.locks = locks
        self.locks.mkdir(parents=True, exist_ok=True)
        self._held: dict[int, int] = {}  # port -> the fd of its lock, held while a container of ours has it

    def versions(self) -> set[str]:
        return {self._runtime.version} | set(self._installed(self._runtime.root.parent / "versions"))

    def _runtime_of(self, version: str):
        if version == self._runtime.version:
            return self._runtime
        return self._runtime.of_version(version, self._installed(self._runtime.root.parent / "versions")[version])

    def launch(self, name: str, version: str, env: dict[str, str], state_dir: Path, log_file: Path) -> Launched:
        runtime = self._runtime_of(version)
        port = self._free_port()
        home = state_dir.parent / "home"
        home.mkdir(parents=True, exist_ok=True)
        full = {**runtime.env(), **env, "PORT": str(port), "OPENCLAW_STATE_DIR": str(state_dir),
                "OPENCLAW_HOME": str(home), "HOME": str(home), "OPENCLAW_ENTRY": str(runtime.entry),
                "OPENCLAW_GATEWAY_BIND": "loopback", "OPENCLAW_SKIP_CHANNELS": "1", "OPENCLAW_DISABLE_BONJOUR": "1",
                "OPENCLAW_NO_RESPAWN": "1", "OPENCLAW_OFFLINE": "1", "OPENCLAW_NO_AUTO_UPDATE": "1",
                "OPENCLAW_SUPERVISOR_MODE": "external", "OPENCLAW_EXEC_SHELL_SNAPSHOT": "0", "DO_NOT_TRACK": "1"}
        with open(log_file, "ab") as out:
            process = subprocess.Popen([str(runtime.node), str(ENTRYPOINT)], env=full, cwd=state_dir.parent,
                                       stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        return _Process(process, port, log_file, release=lambda: self._release(port))

    def _free_port(self) -> int:
        """A port no container host of any process holds (a lock file per port, held while in use: the kernel
        drops it with its process) and nothing listens on. Two test workers' stacks share this machine's ports;
        without the lock both could pick one, and a health check would reach the other's gateway."""
        for slot in range(200):
            port = self.base_port + slot * self.port_spacing
            if port in self._held:
                continue
            fd = os.open(self.locks / f"{port}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            if _port_free(port):
                self._held[port] = fd
                return port
            os.close(fd)  # something else listens there: not ours to take
        raise RuntimeError("no free port for another container")

    def _release(self, port: int) -> None:
        fd = self._held.pop(port, None)
        if fd is not None:
            os.close(fd)  # closing the descriptor releases its lock


class _Process:
    def __init__(self, process: subprocess.Popen, port: int, log_file: Path, release):
        self.process, self.port, self.log_file, self._release = process, port, log_file, release

    def exit_code(self) -> int | None:
        return self.process.poll()

    def stop(self, timeout_s: float) -> None:
        for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 10.0)):
            if self.process.poll() is not None:
                break
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=wait_s)
            except subprocess.TimeoutExpired:
                continue
        self._release()

    def logs(self) -> list[str]:
        try:
            return self.log_file.read_text(errors="replace").splitlines()[-500:]
        except OSError:
            return []


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=READY_PROBE_S) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError, http.client.HTTPException):  # a self-connect reads back its own request
        return False


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _digest(image: str, env: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps([image, env], sort_keys=True).encode()).hexdigest()


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
