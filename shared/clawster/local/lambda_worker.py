"""One Lambda instance of the local stack: a clean interpreter that imports one handler once (its
cold start) and then runs one event at a time, for as long as the stack keeps it warm.

Started by `lambda_runtime.LocalFunction` as `python -m clawster.local.lambda_worker` with the
function's settings in the environment. The protocol is JSON lines:

- stdin, from the stack: `{"id": request id, "event": ...}` per invocation; EOF means stop.
- the process's original stdout (kept on a private descriptor), to the stack: first
  `{"ready": true, "pid": ..., "init_ms": ...}` (or `{"ready": false, "error": {...}}` when the
  handler cannot be loaded), then per invocation `{"id": ..., "result": ...}` or
  `{"id": ..., "error": {"errorType", "errorMessage", "stackTrace"}}`.

Everything the handler prints or logs goes to stderr, which the stack forwards to its own log as
`local.lambda.<function>`: descriptor 1 is pointed at stderr, so a stray print cannot corrupt the
protocol. The instance also exits when the stack process is gone (it polls its parent), so a stack
killed with SIGKILL leaves no instance behind.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import threading
import time
import traceback
from typing import Any

ENV_FUNCTION = "CLAWSTER_LAMBDA_FUNCTION"  # name\thandler\tmemory_mb\ttimeout_s
LOG_FORMAT = "%(levelname)s\t%(name)s\t%(message)s"  # lambda_runtime parses the level back
PARENT_POLL_S = 0.5


def error_payload(error: BaseException) -> dict[str, Any]:
    """The payload the Lambda runtime returns for an unhandled exception (Step Functions' Catch reads errorType)."""
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        # With the chained causes (e.g. the DynamoDB reply behind a pynamodb error): the local stack logs it.
        "stackTrace": traceback.format_exception(error),
    }


def _watch_parent(parent: int) -> None:
    """Exit when the stack that started this instance is gone (we were re-parented)."""
    while True:
        time.sleep(PARENT_POLL_S)
        if os.getppid() != parent:
            os._exit(0)


def _load(handler_path: str) -> Any:
    module, attr = handler_path.rsplit(".", 1)
    return getattr(importlib.import_module(module), attr)


def main() -> int:
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # prints reach the log, never the protocol
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parent = int(os.environ.get("CLAWSTER_LAMBDA_PARENT", os.getppid()))
    threading.Thread(target=_watch_parent, args=(parent,), name="watch-parent", daemon=True).start()
    logging.basicConfig(level=os.environ.get("CLAWSTER_LAMBDA_LOG_LEVEL", "INFO"), stream=sys.stderr,
                        format=LOG_FORMAT)
    for chatty in ("botocore", "boto3", "pynamodb", "urllib3"):
        logging.getLogger(chatty).setLevel(logging.WARNING)

    def send(message: dict[str, Any]) -> None:
        try:
            line = json.dumps(message)
        except (TypeError, ValueError) as error:  # the result is not JSON: Lambda's Runtime.MarshalError
            line = json.dumps({"id": message.get("id"), "error": {
                "errorType": "Runtime.MarshalError", "errorMessage": f"Unable to marshal response: {error}",
                "stackTrace": []}})
        protocol.write(line + "\n")
        protocol.flush()

    from clawster.local import scan_guard
    from clawster.local.lambda_runtime import LambdaContext

    name, handler_path, memory_mb, timeout_s = os.environ[ENV_FUNCTION].split("\t")
    scan_guard.install()  # a Scan fails in the instance as it did in the stack process
    started = time.perf_counter()
    try:
        handler = _load(handler_path)
    except Exception as error:  # Lambda reports a handler that cannot load as Runtime.ImportModuleError
        payload = error_payload(error)
        if isinstance(error, ImportError):
            payload["errorType"] = "Runtime.ImportModuleError"
        send({"ready": False, "error": payload})
        return 1
    send({"ready": True, "pid": os.getpid(), "init_ms": round((time.perf_counter() - started) * 1000, 1)})

    while line := sys.stdin.readline():
        request = json.loads(line)
        context = LambdaContext(name, int(memory_mb), int(timeout_s), aws_request_id=request["id"])
        try:
            send({"id": request["id"], "result": handler(request["event"], context)})
        except Exception as error:  # the runtime reports any handler failure as a payload
            send({"id": request["id"], "error": error_payload(error)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
