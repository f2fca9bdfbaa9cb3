"""Starting, probing and stopping one gateway process (no bookkeeping: see provider.py)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigRejected, PortInUse, StartFailed
from .instance import InstanceFiles
from .runtime import OpenClawRuntime

CONFIG_ERROR_EXIT = 78
EXIT_RECORDER = Path(__file__).with_name("exit_recorder.py")


def launch(runtime: OpenClawRuntime, files: InstanceFiles) -> subprocess.Popen:
    """`openclaw gateway run` under exit_recorder.py, in a session of its own: it outlives the process
    that launched it (a task worker, a control-plane restart), and how it ended is written to
    files.exit_file whoever is still around. The returned process (the recorder) is the session and
    process-group leader: its pid is the one recorded, probed and signalled.

    No --port/--token flags: the config owns them (flags would override later config changes, G6).
    """
    files.exit_file.unlink(missing_ok=True)  # an old ending must never be read as this launch's
    validate = runtime.command("config", "validate", "--json")
    with open(files.stdout_file, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-I", str(EXIT_RECORDER), str(files.exit_file), json.dumps(validate), "--",
             *runtime.command("gateway", "run")],
            cwd=files.dir,
            env={**runtime.env(), **files.env()},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def read_exit(files: InstanceFiles, pid: int | None) -> dict | None:
    """How the launch with recorder `pid` ended ({"code", "validate"?}), or None if not (yet) written."""
    try:
        ending = json.loads(files.exit_file.read_text())
    except (OSError, ValueError):
        return None
    return ending if pid is not None and ending.get("pid") == pid else None


def gateway_pid(pid: int) -> int:
    """The gateway under the recorder `pid` (its first child), or `pid` itself when it has none."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return pid
    return int(children[0]) if children else pid


def ready(port: int, timeout_s: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=timeout_s) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, http.client.HTTPException):
        # HTTPException: e.g. a TCP self-connect to a port nothing listens on yet reads back our own request
        return False


def boot_id(port: int, token: str, timeout_s: float = 5.0) -> str | None:
    """The gateway's bootId (its hello over the WebSocket): it changes on every restart, in-process ones
    included (same pid). None while the gateway does not take a connection (it is restarting)."""
    from clawster.gateway.websocket import WebSocketTransport

    transport = WebSocketTransport(f"ws://127.0.0.1:{port}", token=token, connect_timeout_s=timeout_s)
    try:
        hello = transport.connect(retry=False)
    except Exception:  # noqa: BLE001 - any refusal or failure to connect means: not serving yet
        return None
    finally:
        transport.close()
    return ((hello or {}).get("server") or {}).get("bootId")


def accepts_token(port: int, token: str) -> bool:
    """Whether the gateway on `port` is ours: it answers the admin RPC with our token (not 401)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/admin/rpc",
        data=json.dumps({"id": "probe", "method": "health"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, http.client.HTTPException):
        # HTTPException: e.g. a TCP self-connect to a port nothing listens on yet reads back our own request
        return False


def wait_ready(process: subprocess.Popen, runtime: OpenClawRuntime, files: InstanceFiles, port: int, stall_s: float,
               ceiling_s: float = 900.0) -> None:
    """Until /readyz is 200 and the gateway there accepts this bot's token (another process may own
    the port: then ours exits, and that is PortInUse). Exit 78 becomes ConfigRejected with the
    issues from `openclaw config validate`. For a gateway `process` launched directly (not through
    the recorder); LocalProvider.wait_ready is the same wait over describe()."""
    token = files.token()

    def done() -> bool:
        code = process.poll()
        if code is not None:
            if code == CONFIG_ERROR_EXIT:
                issues = config_issues(runtime, files) or [{"path": "<root>", "message": "openclaw exited 78 (config error)"}]
                raise ConfigRejected(f"openclaw refused the config of {files.bot_id}", issues)
            tail = log_tail(files.stdout_file)
            if port_taken(tail):
                raise PortInUse(f"port {port} of {files.bot_id} is taken by another process", code, tail)
            raise StartFailed(f"gateway {files.bot_id} exited with {code} while starting", code, tail)
        return ready(port, timeout_s=0.5) and accepts_token(port, token)

    wait_progressing(done, lambda: progress(process.pid, files), stall_s, ceiling_s, f"gateway {files.bot_id}",
                     files.stdout_file)


def wait_progressing(done: Callable[[], bool], progress_marker: Callable[[], object], stall_s: float,
                     ceiling_s: float, what: str, log: Path | None = None, poll_s: float = 0.1) -> None:
    """Call `done()` until it is true (it raises to give up early). It waits as long as there is
    progress (`progress_marker()` changes: a gateway using CPU or writing its logs): a busy machine
    slows a start down, it does not hang it. StartFailed after `stall_s` without progress, or
    `ceiling_s` in all."""
    started = last_progress = time.monotonic()
    marker = None
    while not done():
        now, seen = time.monotonic(), progress_marker()
        if seen != marker:
            marker, last_progress = seen, now
        if now - last_progress > stall_s or now - started > ceiling_s:
            waited = time.monotonic() - started
            raise StartFailed(f"{what} not ready after {waited:.0f}s ({time.monotonic() - last_progress:.0f}s "
                              "without progress)", None, log_tail(log) if log else "")
        time.sleep(poll_s)


def port_taken(tail: str) -> bool:
    return "EADDRINUSE" in tail or "already listening" in tail


def progress(pid: int | None, files: InstanceFiles) -> tuple[int, int, int]:
    """What grows while a gateway is starting: its CPU time and its two logs."""
    try:
        if pid is None:
            raise OSError("no process")
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    except (OSError, IndexError, ValueError):
        cpu = -1
    return cpu, _size(files.stdout_file), _size(files.log_file)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def config_issues(runtime: OpenClawRuntime, files: InstanceFiles) -> list[dict]:
    """The issues `openclaw config validate --json` finds in the bot's config file ([] when valid).

    It gives the real reason where the gateway's startup message can mislead (G13)."""
    out = subprocess.run(
        runtime.command("config", "validate", "--json"),
        env={**runtime.env(), **files.env()},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return issues_from(out.returncode, out.stdout, out.stderr)


def issues_from(returncode: int | None, stdout: str, stderr: str) -> list[dict]:
    """The issues in the output of `openclaw config validate --json` ([] when it found the config valid)."""
    if returncode == 0:
        return []
    try:
        report = json.loads(stdout[stdout.index("{"):])
    except ValueError:
        return [{"path": "<root>", "message": (stdout + stderr).strip()[-500:] or "invalid config"}]
    if report.get("valid") is True:
        return []
    if not report.get("issues") and isinstance(report.get("error"), dict) and report["error"].get("message"):
        # Not the config: openclaw refused to start on this state (e.g. a database schema newer than this
        # build, after a downgrade). Its own words say which and what to do.
        return [{"path": "<state>", "message": str(report["error"]["message"])[:1000]}]
    return list(report.get("issues") or []) or [{"path": "<root>", "message": "openclaw config validate failed"}]


def process_start_time(pid: int) -> int | None:
    """Start time (clock ticks since boot) from /proc, or None if the pid is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return None if fields[0] == "Z" else int(fields[19])


def is_our_gateway(pid: int, started: int | None, files: InstanceFiles) -> bool:
    """The pid is alive, is the same process we started, and serves this bot's state folder."""
    if started is None or process_start_time(pid) != started:
        return False
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"OPENCLAW_STATE_DIR={files.state_dir}".encode() in environ


@dataclass(frozen=True)
class Serving:
    """A live process whose environment names a bot's state folder (OPENCLAW_STATE_DIR)."""

    pid: int
    ppid: int
    pgid: int
    started: int
    recorder: bool  # an exit_recorder.py of this bot: a launch (the gateway and its helpers are below it)


def serving(files: InstanceFiles) -> list[Serving]:
    """Every live process serving the bot's state folder, whoever launched it and whatever the bot's
    record says, oldest first. The environment is the one mark every launch carries (process.launch
    sets it, the gateway and its children inherit it), so this is how a launch nobody recorded is found."""
    marker = f"OPENCLAW_STATE_DIR={files.state_dir}".encode()
    recorder_args = (str(EXIT_RECORDER).encode(), str(files.exit_file).encode())
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            if marker not in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                continue
            stat = Path(f"/proc/{pid}/stat").read_text()
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] in ("Z", "X"):
                continue  # ended, not yet reaped by its parent
            found.append(Serving(pid, int(fields[1]), int(fields[2]), int(fields[19]),
                                 all(arg in argv for arg in recorder_args)))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to read
    return sorted(found, key=lambda p: (p.started, p.pid))


def tops(processes: list[Serving]) -> list[Serving]:
    """The processes whose parent is not among them: each launch's recorder, and any process serving the
    folder outside a live launch (a gateway whose recorder was killed). A recorder's own child between
    its fork and exec looks like a recorder too: its parent is one, so it is never a top."""
    pids = {p.pid for p in processes}
    return [p for p in processes if p.ppid not in pids]


def end(process: Serving, timeout_s: float) -> None:
    """Stop a process found by `serving` and what runs below it: its process group when that group is
    a launch's own (its leader gone or serving the same folder), else the process alone; SIGKILL after
    `timeout_s`. Returns once it is gone."""
    group = process.pgid not in (0, 1, os.getpgrp()) and (
        process.pgid == process.pid or process_start_time(process.pgid) is None or _serves_like(process.pgid, process.pid))
    for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
        if process_start_time(process.pid) != process.started:
            return  # gone (its pid may be another process's by now)
        try:
            os.killpg(process.pgid, sig) if group else os.kill(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if process_start_time(process.pid) != process.started:
                return
            time.sleep(0.05)


def _serves_like(pid: int, other: int) -> bool:
    """Whether `pid` has the same OPENCLAW_STATE_DIR as `other` (a group leader of the same launch)."""
    def state_dir(p: int) -> bytes | None:
        try:
            return next((v for v in Path(f"/proc/{p}/environ").read_bytes().split(b"\0")
                         if v.startswith(b"OPENCLAW_STATE_DIR=")), None)
        except OSError:
            return None

    mine = state_dir(pid)
    return mine is not None and mine == state_dir(other)


@contextlib.contextmanager
def frozen(pid: int | None):
    """The gateway's process group (recorder `pid`) stopped (SIGSTOP) for the block, then continued:
    its files hold still while they are copied. None: nothing runs, nothing to freeze."""
    if pid is None:
        yield
        return
    try:
        os.killpg(pid, signal.SIGSTOP)
    except ProcessLookupError:
        pid = None
    try:
        yield
    finally:
        if pid is not None:
            try:
                os.killpg(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


def terminate(pid: int, started: int | None, timeout_s: float, child: subprocess.Popen | None = None) -> int | None:
    """SIGTERM to the gateway's process group, SIGKILL after `timeout_s`. Returns the exit code if known."""
    for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if child is not None and child.poll() is not None:
                return child.returncode
            if child is None and process_start_time(pid) != started:
                return None
            time.sleep(0.05)
    return child.poll() if child is not None else None


def log_tail(path: Path, max_bytes: int = 4000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - max_bytes))
            return f.read().decode(errors="replace")
    except OSError:
        return ""
