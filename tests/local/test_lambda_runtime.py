"""The local Lambda runtime runs concurrent invocations of one function in separate instances
(worker processes), each with its own module state, reused while warm, up to the function's
concurrency limit; errors keep their errorType across the process boundary; no instance outlives
its stack. The handlers below run inside the instances (they import this module by name).

Nothing here sleeps a fixed time: handlers and tests wait on observed progress (files in a scratch
folder, the runtime's own counters) with generous ceilings, because CI has two busy cores."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from clawster.local import lambda_runtime
from clawster.local.lambda_runtime import HandlerError, LocalFunction, TooManyRequestsException, error_payload

CEILING_S = 120.0  # generous: a busy machine is slow, a deadlock is forever
HERE = __name__  # the handlers' module, as an instance imports it
CALLS = 0  # module state: one counter per instance


# -- handlers (run in the instances) --------------------------------------------------------------


def _wait_until(predicate, what: str, ceiling_s: float = CEILING_S) -> None:
    deadline = time.monotonic() + ceiling_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {ceiling_s:g} s waiting for {what}")
        time.sleep(0.01)


def _count(folder: Path, prefix: str) -> int:
    return sum(1 for p in folder.iterdir() if p.name.startswith(prefix))


def barrier(event, context):
    """Arrive, then block until `n` invocations have arrived: only concurrent instances get past."""
    global CALLS
    CALLS += 1
    folder = Path(event["dir"])
    (folder / f"arrived-{uuid.uuid4()}").touch()
    _wait_until(lambda: _count(folder, "arrived-") >= event["n"], f"{event['n']} arrivals", event["ceiling_s"])
    return {"pid": os.getpid(), "module": id(sys.modules[__name__]), "calls": CALLS,
            "request_id": context.aws_request_id, "remaining_ms": context.get_remaining_time_in_millis(),
            "arn": context.invoked_function_arn, "name": context.function_name}


def held(event, context):
    """Run until the test writes go-<i>; report how many were running at once when this one arrived."""
    folder, index = Path(event["dir"]), event["i"]
    (folder / f"running-{index}").touch()
    seen = _count(folder, "running-")
    _wait_until(lambda: (folder / f"go-{index}").exists() or (folder / "go-all").exists(), "the go signal",
                event.get("ceiling_s", CEILING_S))
    (folder / f"running-{index}").unlink()
    return {"seen_running": seen, "pid": os.getpid()}


def retryable(event, context):
    from clawster.errors import Unavailable
    from functions.errors import task_failure

    raise task_failure(Unavailable("the gateway is still starting"))


def chatty(event, context):
    print(f"printed {event['mark']}")
    logging.getLogger("clawster.test").warning("logged %s", event["mark"])
    return {"ok": True}


def crash(event, context):
    os._exit(3)


def commit(event, context):
    Path(event["file"]).write_text(str(event["n"]))
    return {"statusCode": 201}


def whoami(event, context):
    return {"pid": os.getpid()}


# -- helpers --------------------------------------------------------------------------------------


def function(handler: str, **settings) -> LocalFunction:
    return LocalFunction(f"test-{handler}", f"{HERE}.{handler}", **settings)


@pytest.fixture
def stopped_after():
    """Functions made through this are stopped after the test, whatever happens."""
    made: list[LocalFunction] = []

    def make(handler: str, **settings) -> LocalFunction:
        made.append(function(handler, **settings))
        return made[-1]

    yield make
    for each in made:
        each.stop()


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie of ours still answers kill(0); it has exited all the same
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (FileNotFoundError, IndexError):
        return True


def wait_for(predicate, what: str) -> None:
    _wait_until(predicate, what)


# -- tests ----------------------------------------------------------------------------------------


def test_parallel_invocations_run_at_once_in_instances_of_their_own(stopped_after, tmp_path):
    """N invocations that each block until all N have arrived complete: with one instance at a time
    the first would wait forever (its ceiling) for the others."""
    n = 4
    fn = stopped_after("barrier", timeout_s=600)
    event = {"dir": str(tmp_path), "n": n, "ceiling_s": CEILING_S}
    with ThreadPoolExecutor(n) as pool:
        first = list(pool.map(lambda _: fn.invoke(event), range(n)))
    pids = {r["pid"] for r in first}
    assert len(pids) == n and os.getpid() not in pids  # one instance each, none of them this process
    assert [r["calls"] for r in first] == [1] * n  # module state is per instance: each counted only its own call
    assert len({r["request_id"] for r in first}) == n
    assert all(0 < r["remaining_ms"] <= 600_000 for r in first)
    assert first[0]["arn"].endswith(":function:test-barrier") and first[0]["name"] == "test-barrier"
    # Warm: sequential calls reuse the instances (the module is not imported again), start none.
    again = [fn.invoke(event) for _ in range(n)]
    assert {r["pid"] for r in again} <= pids and sorted(fn.pids()) == sorted(pids)
    assert all(r["calls"] >= 2 for r in again)


def test_the_concurrency_limit_holds_and_the_rest_wait(stopped_after, tmp_path):
    fn = stopped_after("held", concurrency=2)
    with ThreadPoolExecutor(5) as pool:
        futures = [pool.submit(fn.invoke, {"dir": str(tmp_path), "i": i}) for i in range(5)]
        try:
            # Stable state: two running, three queued in the runtime. Without the limit all five would run.
            wait_for(lambda: _count(tmp_path, "running-") > 2
                     or (fn.waiting == 3 and _count(tmp_path, "running-") == 2), "two running and three waiting")
            assert _count(tmp_path, "running-") == 2 and fn.waiting == 3
        finally:
            (tmp_path / "go-all").touch()
        results = [f.result(timeout=CEILING_S) for f in futures]
    assert max(r["seen_running"] for r in results) <= 2
    assert len({r["pid"] for r in results}) <= 2 and len(fn.pids()) <= 2


def test_an_invocation_waiting_past_its_queue_timeout_is_throttled(stopped_after, tmp_path):
    fn = stopped_after("held", concurrency=1, queue_timeout_s=0.2)
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(fn.invoke, {"dir": str(tmp_path), "i": 0})
        wait_for(lambda: (tmp_path / "running-0").exists(), "the first invocation to run")
        with pytest.raises(TooManyRequestsException, match="concurrency limit of 1"):
            fn.invoke({"dir": str(tmp_path), "i": 1})
        (tmp_path / "go-0").touch()
        assert busy.result(timeout=CEILING_S)["seen_running"] == 1


def test_a_handler_exception_keeps_its_error_type_and_message_across_the_process_boundary(stopped_after):
    fn = stopped_after("retryable")
    with pytest.raises(HandlerError) as raised:
        fn.invoke({})
    assert type(raised.value).__name__ == "Clawster.Retryable"  # what Step Functions' Retry matches
    payload = error_payload(raised.value)
    assert payload["errorType"] == "Clawster.Retryable"
    assert json.loads(payload["errorMessage"])["message"] == "the gateway is still starting"
    assert any("retryable" in frame for frame in payload["stackTrace"])
    pid = fn.pids()
    with pytest.raises(HandlerError):
        fn.invoke({})
    assert fn.pids() == pid  # an exception does not cost the instance


def test_an_instance_that_dies_is_an_exit_error_and_the_next_call_gets_a_new_one(stopped_after):
    fn = stopped_after("crash")
    with pytest.raises(HandlerError) as raised:
        fn.invoke({})
    assert type(raised.value).__name__ == "Runtime.ExitError" and "exit status 3" in str(raised.value)
    assert fn.pids() == []
    broken = stopped_after("no_such_handler")
    with pytest.raises(HandlerError) as missing:
        broken.invoke({})
    assert type(missing.value).__name__ == "AttributeError"


def test_what_an_instance_prints_and_logs_reaches_the_stack_log(stopped_after, caplog):
    fn = stopped_after("chatty")
    mark = str(uuid.uuid4())
    with caplog.at_level(logging.INFO, logger="local.lambda"):
        assert fn.invoke({"mark": mark}) == {"ok": True}
        wait_for(lambda: sum(mark in r.getMessage() for r in caplog.records) >= 2, "both log lines")
    lines = {r.getMessage().split("] ", 1)[1]: r for r in caplog.records if mark in r.getMessage()}
    assert lines[f"printed {mark}"].name == "local.lambda.test-chatty"
    assert lines[f"clawster.test: logged {mark}"].levelno == logging.WARNING


def test_idle_instances_are_stopped(stopped_after):
    fn = stopped_after("whoami", idle_s=0.5)
    pid = fn.invoke({})["pid"]
    wait_for(lambda: fn.pids() == [] and gone(pid), "the idle instance to stop")
    assert fn.invoke({})["pid"] != pid  # a cold start again


def test_stop_leaves_no_instance_running(tmp_path):
    fn = function("barrier")
    event = {"dir": str(tmp_path), "n": 3, "ceiling_s": CEILING_S}
    with ThreadPoolExecutor(3) as pool:
        pids = {r["pid"] for r in pool.map(lambda _: fn.invoke(event), range(3))}
    assert len(pids) == 3 and not any(gone(pid) for pid in pids)
    fn.stop()
    assert all(gone(pid) for pid in pids) and fn.pids() == []


def test_in_process_mode_runs_the_handler_in_this_process():
    assert function("whoami", in_process=True).invoke({}) == {"pid": os.getpid()}


def test_moto_invoke_reports_the_exact_error_type_and_throttles_with_429(stack, tmp_path):
    """Through moto's Lambda service (the path Step Functions tasks take): a function error's
    errorType is the handler's exception name; a throttle is a TooManyRequestsException service
    error, which Step Functions names Lambda.TooManyRequestsException."""
    client = boto3.client("lambda", config=Config(retries={"total_max_attempts": 1}))
    role = "arn:aws:iam::123456789012:role/clawster-local-lambda"
    for name, handler in (("test-moto-retryable", "retryable"), ("test-moto-held", "held")):
        client.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler=f"{HERE}.{handler}",
                               Code={"ZipFile": _zip()}, Timeout=60)
    try:
        reply = client.invoke(FunctionName="test-moto-retryable", Payload=b"{}")
        assert reply["FunctionError"]
        assert json.loads(reply["Payload"].read())["errorType"] == "Clawster.Retryable"

        held_fn = LocalFunction("test-moto-held", f"{HERE}.held", timeout_s=60, concurrency=1, queue_timeout_s=0.2)
        lambda_runtime.REGISTRY.add(held_fn)
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(client.invoke, FunctionName="test-moto-held",
                                Payload=json.dumps({"dir": str(tmp_path), "i": 0}).encode())
            wait_for(lambda: (tmp_path / "running-0").exists(), "the first invocation to run")
            with pytest.raises(ClientError) as throttled:
                client.invoke(FunctionName="test-moto-held", Payload=json.dumps({"dir": str(tmp_path), "i": 1}).encode())
            assert throttled.value.response["Error"]["Code"] == "TooManyRequestsException"
            assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
            (tmp_path / "go-0").touch()
            assert "FunctionError" not in first.result(timeout=CEILING_S)
    finally:
        for name in ("test-moto-retryable", "test-moto-held"):
            client.delete_function(FunctionName=name)
            if (registered := lambda_runtime.REGISTRY.by_name.pop(name, None)) is not None:
                registered.stop()


def _zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "runs from the checkout")
    return buffer.getvalue()


STACK_SCRIPT = textwrap.dedent("""
    import json, os, sys, urllib.request
    from concurrent.futures import ThreadPoolExecutor
    from clawster.local.stack import LocalStack

    stack = LocalStack(sys.argv[1], api_port=0, moto_port=0, seed=False)
    stack.start()
    health = lambda _: urllib.request.urlopen(stack.api_url + "/health", timeout=120).read()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(health, range(4)))
    pids = [pid for function in stack.functions.values() for pid in function.pids()]
    stack.stop()

    def alive(pid):
        try:
            os.kill(pid, 0)  # our children: stop() has reaped each one that ended
            return True
        except ProcessLookupError:
            return False

    left = [pid for pid in pids if alive(pid)]
    print(json.dumps({"pids": pids, "left": left}), flush=True)
""")

KILLED_SCRIPT = textwrap.dedent("""
    import json, pathlib, sys, threading, time
    from clawster.local.lambda_runtime import LocalFunction

    handlers, folder = sys.argv[1], pathlib.Path(sys.argv[2])
    idle = LocalFunction("orphan-idle", handlers + ".whoami")
    idle.invoke({})
    busy = LocalFunction("orphan-busy", handlers + ".held")  # never released: busy when the stack dies
    threading.Thread(target=busy.invoke, args=({"dir": str(folder), "i": 0, "ceiling_s": 3600},), daemon=True).start()
    while not (folder / "running-0").exists():
        time.sleep(0.01)
    print(json.dumps(idle.pids() + busy.pids()), flush=True)
    threading.Event().wait()
""")


def _python(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return subprocess.Popen([sys.executable, "-c", *args], stdout=subprocess.PIPE, env=env, text=True)


def test_a_stopped_stack_has_stopped_every_instance(tmp_path):
    process = _python(STACK_SCRIPT, str(tmp_path / "state"))
    try:
        out, _ = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, out
    report = json.loads(out.splitlines()[-1])
    assert report["pids"] and report["left"] == []  # stop() itself ended them, not the exit hook


def test_instances_of_a_killed_stack_exit_by_themselves(tmp_path):
    """SIGKILL gives the stack no chance to stop anything: an idle instance reads EOF on its stdin; a
    busy one (its handler would run for an hour) notices that its parent is gone and exits."""
    process = _python(KILLED_SCRIPT, HERE, str(tmp_path))
    try:
        line = process.stdout.readline()
        assert line, f"the script failed (exit {process.wait()})"
        pids = json.loads(line)
        assert len(pids) == 2 and not any(gone(pid) for pid in pids)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=CEILING_S)
        wait_for(lambda: all(gone(pid) for pid in pids), "the orphaned instances to exit")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_stopped_function_can_serve_again():
    fn = function("whoami")
    try:
        first = fn.invoke({})["pid"]
        fn.stop()
        assert fn.invoke({})["pid"] != first
    finally:
        fn.stop()


class _AtItsLimit(LocalFunction):
    def invoke(self, event):
        raise TooManyRequestsException("Rate Exceeded")


def test_a_throttled_rest_invocation_is_the_500_api_gateway_answers(tmp_path):
    from clawster.local.api_gateway import LocalApiGateway
    from clawster.local.issuer import Issuer
    from functions import catalog
    from tests.helpers import Client

    gateway = LocalApiGateway({f.name: _AtItsLimit(f.name, "unused.handler") for f in catalog.FUNCTIONS},
                              Issuer(tmp_path), port=0)
    gateway.start()
    try:
        assert Client(gateway.url, None).get("/health").ok(500).body == {"message": "Internal server error"}
    finally:
        gateway.stop()
