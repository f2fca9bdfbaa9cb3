"""Run Lambda handlers in this process, as the Lambda service would.

Each function is imported on its first invocation (its cold start) and then invoked one event at a
time: a Lambda instance never runs two events at once, and handlers rely on that (Powertools'
resolver keeps the current event in module state). The local stack serves requests on many
threads, so each function has a lock; AWS would start more instances instead, which changes
throughput but not behaviour.

`install_moto_hook()` makes moto's Lambda service (direct invoke, Step Functions tasks, stream
mappings, Secrets Manager rotation) call the same handlers instead of Docker.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"
log = logging.getLogger("local.lambda")


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


class LocalFunction:
    """One deployed function: its handler, loaded lazily, invoked one event at a time."""

    def __init__(self, name: str, handler: str, memory_mb: int = 512, timeout_s: int = 10):
        self.name, self.handler_path, self.memory_mb, self.timeout_s = name, handler, memory_mb, timeout_s
        self._handler: Callable[[Any, Any], Any] | None = None
        self._lock = threading.Lock()

    def handler(self) -> Callable[[Any, Any], Any]:
        if self._handler is None:
            module, attr = self.handler_path.rsplit(".", 1)
            self._handler = getattr(importlib.import_module(module), attr)
        return self._handler

    def invoke(self, event: Any) -> Any:
        """The handler's result; its exception propagates.

        A handler that overran its timeout is reported, not failed: it has already committed its
        writes, and turning that into an error would tell the caller a change failed that happened.
        Lambda would have stopped it earlier, but locally a slow run means a busy machine, not a bug."""
        with self._lock:
            context = LambdaContext(self.name, self.memory_mb, self.timeout_s)
            result = self.handler()(event, context)
            if context.get_remaining_time_in_millis() == 0:
                log.warning("%s ran %.1f s, past its %d s timeout (Lambda would have stopped it)", self.name,
                            time.monotonic() - context.started, self.timeout_s)
            return result


class Registry:
    """The functions moto's Lambda service may invoke, by name; others load by their Handler."""

    def __init__(self) -> None:
        self.by_name: dict[str, LocalFunction] = {}

    def add(self, function: LocalFunction) -> None:
        self.by_name[function.name] = function

    def resolve(self, name: str, handler: str, memory_mb: int, timeout_s: int) -> LocalFunction:
        known = self.by_name.get(name)
        if known is None or known.handler_path != handler:
            known = self.by_name[name] = LocalFunction(name, handler, memory_mb, timeout_s)
        return known


REGISTRY = Registry()
_patched = False


def error_payload(error: BaseException) -> dict[str, Any]:
    """The payload the Lambda runtime returns for an unhandled exception (Step Functions' Catch reads errorType)."""
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def install_moto_hook() -> None:
    """Replace moto's Docker-based invocation with an in-process call of the function's Handler."""
    global _patched
    if _patched:
        return
    from moto.awslambda.models import LambdaFunction

    def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        if event is None or event == "{}":  # moto passes the string "{}" for an empty payload
            event = {}
        function = REGISTRY.resolve(self.function_name, self.handler, int(self.memory_size or 128),
                                    int(self.timeout or 3))
        try:
            return json.dumps(function.invoke(event)), False, ""
        except Exception as error:  # the runtime reports any handler failure as a payload
            return json.dumps(error_payload(error)), True, traceback.format_exc()

    LambdaFunction._invoke_lambda = _invoke_lambda
    _patched = True
