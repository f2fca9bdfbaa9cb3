"""Run Lambda handlers as the Lambda service does: each concurrent invocation of a function in an
instance of its own.

An instance is a worker process (`lambda_worker.py`): a clean interpreter (started with exec, never a
fork of the threaded stack) that imports the handler once, its cold start, and then runs one event at
a time for as long as it stays warm. Each function keeps a pool of them. An invocation takes the
warmest idle instance, or starts a new one when all are busy, up to the function's concurrency limit
(its reserved concurrency, `DEFAULT_CONCURRENCY` unless the catalog entry says otherwise). Beyond the
limit the invocation waits for an instance to free up; after `queue_timeout_s` it is throttled with
`TooManyRequestsException` (a 429 from moto's Lambda service, which Step Functions names
Lambda.TooManyRequestsException, retryable). Instances idle for `idle_s` are stopped, `stop()` stops
them all, and an instance whose stack is gone exits by itself.

Module state is per instance, as on AWS (Powertools' resolver keeps the current event in it). Handlers
reach moto over HTTP (AWS_ENDPOINT_URL), so nothing they use lives in the stack's process; the
instance installs the same Scan guard. A handler exception comes back as Lambda's error payload and
is raised here as a `HandlerError` whose class name is the payload's errorType, exactly (Step
Functions' Retry and Catch match on it). What an instance prints or logs reaches this process's log
as `local.lambda.<function>`.

`CLAWSTER_LOCAL_LAMBDA=in-process` (or `in_process=True`) runs handlers in this process instead, one
event at a time behind a lock: for a debugger's breakpoint in a handler, never the default.

`install_moto_hook()` makes moto's Lambda service (direct invoke, Step Functions tasks, stream
mappings, Secrets Manager rotation) call the same functions instead of Docker.
"""

from __future__ import annotations

import atexit
import importlib
import itertools
import json
import logging
import os
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import lambda_worker

ACCOUNT = "123456789012"
DEFAULT_CONCURRENCY = 10  # per function, like a reserved concurrency
DEFAULT_IDLE_S = 300.0  # an instance unused this long is stopped
DEFAULT_QUEUE_TIMEOUT_S = 60.0  # how long an invocation beyond the limit waits before it is throttled
READY_CEILING_S = 120.0  # a cold start on a very busy machine; a hung import is killed after this
STOP_GRACE_S = 5.0  # a busy instance may finish its event when the stack stops
MODE_ENV = "CLAWSTER_LOCAL_LAMBDA"
log = logging.getLogger("local.lambda")
_LEVELS = {name: getattr(logging, name) for name in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")}


@dataclass
class LambdaContext:
    """The attributes of the context object the Lambda Python runtime passes to a handler."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: int
    region: str = "us-east-1"
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))


class TooManyRequestsException(Exception):  # noqa: N818 - Lambda's own name for a throttle
    """The function is at its concurrency limit and no instance freed up in time."""


class HandlerError(Exception):
    """A handler's exception, raised in an instance. The class is named after its errorType."""

    payload: dict[str, Any]


_error_types: dict[str, type[HandlerError]] = {}
_error_types_lock = threading.Lock()


def remote_error(payload: dict[str, Any]) -> HandlerError:
    """The exception for an error payload: `type(error).__name__` is its errorType, exactly."""
    name = str(payload.get("errorType") or "Exception")
    with _error_types_lock:
        kind = _error_types.get(name)
        if kind is None:
            kind = _error_types[name] = type(name, (HandlerError,), {"__module__": __name__})
    error = kind(str(payload.get("errorMessage", "")))
    error.payload = dict(payload)
    return error


def error_payload(error: BaseException) -> dict[str, Any]:
    """The payload the Lambda runtime returns for an unhandled exception (Step Functions' Catch reads errorType)."""
    if isinstance(error, HandlerError):
        return dict(error.payload)
    return lambda_worker.error_payload(error)


_live: set[Instance] = set()  # every instance this process started and has not stopped
_live_lock = threading.Lock()


class Instance:
    """One worker process of a function, ready when constructed (its cold start is over)."""

    def __init__(self, function: LocalFunction, number: int):
        self.function, self.number = function, number
        settings = "\t".join((function.name, function.handler_path, str(function.memory_mb), str(function.timeout_s)))
        env = dict(os.environ, **function.environment, PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
                   CLAWSTER_LAMBDA_PARENT=str(os.getpid()), **{lambda_worker.ENV_FUNCTION: settings})
        env.pop(MODE_ENV, None)
        started = time.perf_counter()
        # A session of its own: Ctrl-C on `make dev` reaches the stack, which stops its instances in order.
        self.process = subprocess.Popen([sys.executable, "-m", "clawster.local.lambda_worker"], env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        start_new_session=True)
        with _live_lock:
            _live.add(self)
        self.pid = self.process.pid
        self.last_used = time.monotonic()
        threading.Thread(target=self._forward_logs, name=f"log-{function.name}-{number}", daemon=True).start()
        watchdog = threading.Timer(READY_CEILING_S, self.process.kill)
        watchdog.start()
        try:
            line = self._read()
        finally:
            watchdog.cancel()
        if line is None or not line.get("ready"):
            self.close(0)
            raise remote_error(line["error"] if line else self._exit_error("before it was ready"))
        self.init_ms = float(line["init_ms"])
        self.cold_start_ms = round((time.perf_counter() - started) * 1000, 1)
        log.info("%s: instance %d started (pid %d), cold start %.0f ms of which import %.0f ms", function.name,
                 number, self.pid, self.cold_start_ms, self.init_ms)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def invoke(self, event: Any, request_id: str) -> Any:
        assert self.process.stdin
        try:
            self.process.stdin.write(json.dumps({"id": request_id, "event": event}).encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):  # the instance is gone (ValueError: its pipe was closed)
            raise remote_error(self._exit_error(f"RequestId: {request_id}")) from None
        reply = self._read()
        if reply is None:
            raise remote_error(self._exit_error(f"RequestId: {request_id}"))
        if "error" in reply:
            raise remote_error(reply["error"])
        return reply["result"]

    def begin_close(self) -> None:
        """Ask the instance to exit once its current event (if any) is done: EOF on its stdin."""
        try:
            if self.process.stdin:
                self.process.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    def finish_close(self, deadline: float) -> None:
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with _live_lock:
            _live.discard(self)

    def close(self, grace_s: float = STOP_GRACE_S) -> None:
        self.begin_close()
        self.finish_close(time.monotonic() + grace_s)

    def _read(self) -> dict[str, Any] | None:
        assert self.process.stdout
        line = self.process.stdout.readline()
        return json.loads(line) if line else None

    def _exit_error(self, what: str) -> dict[str, Any]:
        try:
            code = self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        return {"errorType": "Runtime.ExitError", "stackTrace": [],
                "errorMessage": f"{what} Error: Runtime exited with error: exit status {code}"}

    def _forward_logs(self) -> None:
        """The instance's stderr (its prints and its logging) into this process's log."""
        assert self.process.stderr
        logger = logging.getLogger(f"local.lambda.{self.function.name}")
        for raw in self.process.stderr:
            text = raw.decode(errors="replace").rstrip("\n")
            level, tab, rest = text.partition("\t")
            if tab and level in _LEVELS:
                source, _, message = rest.partition("\t")
                logger.log(_LEVELS[level], "[%d] %s: %s", self.pid, source, message)
            else:
                logger.info("[%d] %s", self.pid, text)


class LocalFunction:
    """One deployed function: a pool of instances, started on demand up to its concurrency limit."""

    def __init__(self, name: str, handler: str, memory_mb: int = 512, timeout_s: int = 10,
                 concurrency: int = DEFAULT_CONCURRENCY, *, in_process: bool | None = None,
                 idle_s: float = DEFAULT_IDLE_S, queue_timeout_s: float = DEFAULT_QUEUE_TIMEOUT_S):
        self.name, self.handler_path, self.memory_mb, self.timeout_s = name, handler, memory_mb, timeout_s
        self.concurrency, self.idle_s, self.queue_timeout_s = max(1, concurrency), idle_s, queue_timeout_s
        self.in_process = os.environ.get(MODE_ENV) == "in-process" if in_process is None else in_process
        self._handler: Callable[[Any, Any], Any] | None = None
        self._lock = threading.Lock()  # in-process mode: one event at a time
        self._pool = threading.Condition()
        self._idle: list[Instance] = []  # the most recently used last
        self._busy: set[Instance] = set()
        self._starting = 0
        self.waiting = 0  # invocations waiting for an instance (at the limit)
        self._numbers = itertools.count(1)
        self._reaper: threading.Thread | None = None
        self._wake_reaper = threading.Event()
        # Its deployment's variables (Lambda's Environment), over this process's: set by the stack that
        # owns it, so an instance started later never takes another stack's endpoints from os.environ.
        self.environment: dict[str, str] = {}

    @classmethod
    def from_catalog(cls, entry: Any) -> LocalFunction:
        """A catalog entry's function, with its reserved concurrency when it names one."""
        concurrency = (getattr(entry, "reserved_concurrency", None) or entry.extra.get("reserved_concurrency")
                       or entry.extra.get("local_concurrency"))
        return cls(entry.name, entry.handler, entry.memory_mb, entry.timeout_s, concurrency or DEFAULT_CONCURRENCY)

    # -- what callers read ---------------------------------------------------------------------------

    def pids(self) -> list[int]:
        """The process id of each running instance."""
        with self._pool:
            return sorted(instance.pid for instance in (*self._idle, *self._busy))

    # -- invoking --------------------------------------------------------------------------------------

    def handler(self) -> Callable[[Any, Any], Any]:
        """In-process mode: the handler, imported into this process on first use."""
        if self._handler is None:
            module, attr = self.handler_path.rsplit(".", 1)
            self._handler = getattr(importlib.import_module(module), attr)
        return self._handler

    def invoke(self, event: Any) -> Any:
        """The handler's result; its exception is raised (a `HandlerError` named after its errorType).

        A handler that overran its timeout is reported, not failed: it has already committed its
        writes, and turning that into an error would tell the caller a change failed that happened.
        Lambda would have stopped it earlier, but locally a slow run means a busy machine, not a bug."""
        if self.in_process:
            with self._lock:
                started = time.monotonic()
                result = self.handler()(event, LambdaContext(self.name, self.memory_mb, self.timeout_s))
        else:
            instance = self._acquire()
            try:
                started = time.monotonic()
                result = instance.invoke(event, str(uuid.uuid4()))
            finally:
                self._release(instance)
        ran = time.monotonic() - started
        if ran >= self.timeout_s:
            log.warning("%s ran %.1f s, past its %d s timeout (Lambda would have stopped it)", self.name, ran,
                        self.timeout_s)
        return result

    def _acquire(self) -> Instance:
        """The warmest idle instance, else a new one under the limit, else the first to free up."""
        deadline = time.monotonic() + self.queue_timeout_s
        with self._pool:
            while True:
                if self._idle:
                    instance = self._idle.pop()
                    self._busy.add(instance)
                    return instance
                if len(self._busy) + self._starting < self.concurrency:
                    self._starting += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TooManyRequestsException(
                        f"Rate Exceeded: {self.name} is at its concurrency limit of {self.concurrency} and no "
                        f"instance freed up within {self.queue_timeout_s:g} s")
                self.waiting += 1
                try:
                    self._pool.wait(remaining)
                finally:
                    self.waiting -= 1
        try:
            instance = Instance(self, next(self._numbers))
        except BaseException:
            with self._pool:
                self._starting -= 1
                self._pool.notify()
            raise
        with self._pool:
            self._starting -= 1
            self._busy.add(instance)
            if self._reaper is None:
                self._reaper = threading.Thread(target=self._reap, name=f"reap-{self.name}", daemon=True)
                self._reaper.start()
        return instance

    def _release(self, instance: Instance) -> None:
        with self._pool:
            tracked = instance in self._busy
            self._busy.discard(instance)
            if tracked and instance.alive:
                instance.last_used = time.monotonic()
                self._idle.append(instance)
            self._pool.notify()
        if not (tracked and instance.alive):
            instance.close(0)

    # -- stopping ----------------------------------------------------------------------------------

    def _reap(self) -> None:
        """Stop instances idle for `idle_s`; ends when the pool is empty."""
        while True:
            self._wake_reaper.wait(max(0.05, min(self.idle_s / 2, 10.0)))
            self._wake_reaper.clear()
            now = time.monotonic()
            with self._pool:
                expired = [i for i in self._idle if now - i.last_used >= self.idle_s]
                self._idle = [i for i in self._idle if i not in expired]
                if not (self._idle or self._busy or self._starting or expired):
                    self._reaper = None
                    return
            for instance in expired:
                log.info("%s: instance %d (pid %d) idle for %.0f s, stopped", self.name, instance.number,
                         instance.pid, now - instance.last_used)
                instance.close()

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop every instance: an idle one at once, a busy one when its event is done (or after `grace_s`)."""
        with self._pool:
            instances = [*self._idle, *self._busy]
            self._idle, self._busy = [], set()
            self._pool.notify_all()
        self._wake_reaper.set()
        _close_all(instances, grace_s)


def _close_all(instances: list[Instance], grace_s: float) -> None:
    for instance in instances:
        instance.begin_close()
    deadline = time.monotonic() + grace_s
    for instance in instances:
        instance.finish_close(deadline)


@atexit.register
def _stop_every_instance() -> None:
    """No instance outlives the process that started it, even when a stack was not stopped."""
    with _live_lock:
        instances = list(_live)
    _close_all(instances, 1.0)


class Registry:
    """The functions moto's Lambda service may invoke, by name; others load by their Handler."""

    def __init__(self) -> None:
        self.by_name: dict[str, LocalFunction] = {}

    def add(self, function: LocalFunction) -> None:
        self.by_name[function.name] = function

    def resolve(self, name: str, handler: str, memory_mb: int, timeout_s: int) -> LocalFunction:
        known = self.by_name.get(name)
        if known is None or known.handler_path != handler:
            if known is not None:
                known.stop()
            known = self.by_name[name] = LocalFunction(name, handler, memory_mb, timeout_s)
        return known


REGISTRY = Registry()
_patched = False


def install_moto_hook() -> None:
    """Replace moto's Docker-based invocation with a call of the function's Handler in a local instance."""
    global _patched
    if _patched:
        return
    from moto.awslambda.models import LambdaFunction
    from moto.core.exceptions import JsonRESTError

    class Throttled(JsonRESTError):
        code = 429

    def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        if event is None or event == "{}":  # moto passes the string "{}" for an empty payload
            event = {}
        function = REGISTRY.resolve(self.function_name, self.handler, int(self.memory_size or 128),
                                    int(self.timeout or 3))
        try:
            return json.dumps(function.invoke(event)), False, ""
        except TooManyRequestsException as throttled:  # a service error, as on AWS, not a function error
            raise Throttled("TooManyRequestsException", str(throttled)) from None
        except HandlerError as error:
            payload = error.payload
            logs = "".join(payload.get("stackTrace") or []) + f"{payload['errorType']}: {payload['errorMessage']}\n"
            return json.dumps(payload), True, logs
        except Exception as error:  # the runtime reports any handler failure as a payload
            return json.dumps(error_payload(error)), True, traceback.format_exc()

    LambdaFunction._invoke_lambda = _invoke_lambda
    _patched = True
