"""Cold start of each API function vs the minimal-Powertools floor of our stack and vs plain boto3.

For every catalog API function, three kinds of fresh Python process serve one real GET request (a
REST proxy event) against a moto DynamoDB server:
  function  imports the function's module, as Lambda's runtime does, and calls its handler;
  floor     the floor of the chosen stack, as issue 7 defines it: a minimal Powertools handler, i.e.
            APIGatewayRestResolver(enable_validation=True) + one pydantic model + a boto3 client making
            the same DynamoDB calls. Plain and honest: no lazy-import shim, no gc handling;
  boto3     imports boto3, creates a DynamoDB client and replays the same calls.
The DynamoDB calls are those the function made in an untimed warm-up run.

Each child is timed from spawn until it writes "response done" to a pipe; it then ends with
os._exit(0), so interpreter shutdown (which Lambda never pays) is not timed. The child reports, on the
same clock (time.perf_counter is CLOCK_MONOTONIC on Linux, shared by every process), when its script
started, when its imports and module-level set-up were done and when its first response was ready:
the split start / import / first request, and its own CPU time (user + sys) until then, which a busy
machine disturbs far less than the wall clock. Children run with -S and an explicit sys.path, so the dev
venv's editable-install hook (a .pth, ~30 ms) that Lambda never runs is not timed either; and they
read bytecode from a private cache the warm-up runs fill (PYTHONPYCACHEPREFIX), since the Lambda
bundle ships .pyc files for our code too, whatever PYTHONDONTWRITEBYTECODE says here.

Runs are interleaved (the order rotates each round) so machine noise hits every kind alike. Min and
median are printed; on a shared machine the min is the robust number. Aim: every function <= 1.05x
the floor.

Run: make bench   (or .venv/bin/python bench/cold_start.py [--runs 11] [--function api-fleets] [--instructions] [--tracing])
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]
CHILD_PATH = [str(ROOT), str(ROOT / "shared"), sysconfig.get_paths()["purelib"]]
AIM = 1.05

PRELUDE = """\
import time
started = time.perf_counter()
import json, os, sys
sys.path[:0] = {path!r}
EVENT = json.loads({event!r})
class Context:
    function_name = "bench"; memory_limit_in_mb = 512; aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    def get_remaining_time_in_millis(self): return 10000
"""

EPILOGUE = """
assert response["statusCode"] == 200, response
os.write(int(os.environ["BENCH_FD"]), f"{started} {imported} {responded} {time.process_time()}\\n".encode())
os._exit(0)
"""

FUNCTION = """
if os.environ.get("BENCH_RECORD"):
    import botocore.client
    calls = []
    original = botocore.client.BaseClient._make_api_call
    def record(self, name, params):
        calls.append([self._service_model.service_name, name, params])
        return original(self, name, params)
    botocore.client.BaseClient._make_api_call = record
import importlib
module = importlib.import_module({module!r})
imported = time.perf_counter()
response = module.handler(EVENT, Context())
responded = time.perf_counter()
if os.environ.get("BENCH_RECORD"):
    json.dump([c for c in calls if c[0] == "dynamodb"], open(os.environ["BENCH_RECORD"], "w"), default=str)
"""

FLOOR = """
import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from botocore import xform_name
from pydantic import BaseModel

class Result(BaseModel):
    calls: int
    items: int

CALLS = json.loads({calls!r})
client = boto3.client("dynamodb")
app = APIGatewayRestResolver(enable_validation=True)

@app.get({route!r})
def serve({params}) -> Result:
    items = 0
    for _, name, params in CALLS:
        items += len(getattr(client, xform_name(name))(**params).get("Items", ()))
    return Result(calls=len(CALLS), items=items)

imported = time.perf_counter()
response = app.resolve(EVENT, Context())
responded = time.perf_counter()
"""

BOTO3 = """
import boto3
from botocore import xform_name
CALLS = json.loads({calls!r})
client = boto3.client("dynamodb")
imported = time.perf_counter()
items = 0
for _, name, params in CALLS:
    items += len(getattr(client, xform_name(name))(**params).get("Items", ()))
response = {{"statusCode": 200, "body": json.dumps({{"calls": len(CALLS), "items": items}})}}
responded = time.perf_counter()
"""

KINDS = ("function", "floor", "boto3")
LABELS = {"function": "function", "floor": "floor (minimal Powertools)", "boto3": "plain boto3"}


@dataclass
class Samples:
    """One kind of child: the total (spawn to response) and its parts, in seconds, one per run."""

    total: list[float] = field(default_factory=list)
    start: list[float] = field(default_factory=list)
    imports: list[float] = field(default_factory=list)
    request: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def _event(method: str, resource: str, params: dict[str, str], user: str) -> dict:
    path = resource
    for key, value in params.items():
        path = path.replace("{" + key + "}", value)
    return {
        "resource": resource, "path": path, "httpMethod": method, "headers": {}, "multiValueHeaders": {},
        "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": params or None,
        "stageVariables": None, "body": None, "isBase64Encoded": False,
        "requestContext": {"requestId": "bench", "resourcePath": resource, "httpMethod": method, "stage": "bench",
                           "authorizer": {"claims": {"sub": user}}},
    }


def _seed() -> dict[str, str]:
    from clawster.domain.roles import Role
    from clawster.services import bots, fleets, workspaces
    from clawster.services.context import Access, Caller

    caller = Caller("bench-user", "seed")
    ws, _ = workspaces.create(caller, name="bench", description="")
    access = Access(caller, ws.id, Role.OWNER, "seed")
    fleet = fleets.create(access, name="f", environment="dev", description="", tags={})
    bot = bots.create(access, fleet.id, name="b", template_id="minimal", config=None, tags={})
    return {"workspace_id": ws.id, "fleet_id": fleet.id, "bot_id": bot.id}


def _request_for(function, ids: dict[str, str]) -> tuple[str, str, dict[str, str]]:
    """The function's first GET route whose path parameters we can fill."""
    for route in function.rest_routes:
        names = [p.strip("{}") for p in route.path.split("/") if p.startswith("{")]
        if route.method == "GET" and all(n in ids for n in names) and route.path != "/openapi.json":
            return route.method, route.path, {n: ids[n] for n in names}
    raise LookupError(function.name)


def _scripts(function, event: str, resource: str, params: dict[str, str], calls: str) -> dict[str, str]:
    prelude = PRELUDE.format(path=CHILD_PATH, event=event)
    route = resource.replace("{", "<").replace("}", ">")  # Powertools' path syntax
    signature = ", ".join(f"{name}: str" for name in params)
    return {
        "function": prelude + FUNCTION.format(module=function.module) + EPILOGUE,
        "floor": prelude + FLOOR.format(calls=calls, route=route, params=signature) + EPILOGUE,
        "boto3": prelude + BOTO3.format(calls=calls) + EPILOGUE,
    }


def _run_child(script: str, env: dict[str, str], samples: Samples | None = None) -> None:
    """Spawn one child and time it until it reports its response (its exit is not timed)."""
    read_end, write_end = os.pipe()
    try:
        spawned = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-S", "-c", script], env={**env, "BENCH_FD": str(write_end)},
                                 pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(write_end)
        line = os.read(read_end, 256)
        done = time.perf_counter()
        _, stderr = child.communicate()
    finally:
        os.close(read_end)
    if not line:
        raise SystemExit(f"child failed ({child.returncode}):\n{stderr.decode()}\n--- script ---\n{script}")
    started, imported, responded, cpu = (float(x) for x in line.split())
    if samples is not None:
        samples.total.append(done - spawned)
        samples.start.append(started - spawned)
        samples.imports.append(imported - started)
        samples.request.append(responded - imported)
        samples.cpu.append(cpu)


def _ms(values: list[float]) -> str:
    return f"{min(values) * 1000:4.0f} /{statistics.median(values) * 1000:4.0f}"


def _report(name: str, route: str, results: dict[str, Samples]) -> dict[str, tuple[float, float]]:
    print(f"\n{name}: {route}, {len(results['function'].total)} runs")
    print(f"  {'ms, min / median':<28} {'total':>11} {'start':>11} {'import':>11} {'1st request':>11} {'cpu':>11}")
    for kind in KINDS:
        s = results[kind]
        parts = (s.total, s.start, s.imports, s.request, s.cpu)
        print(f"  {LABELS[kind]:<28}" + "".join(f" {_ms(p):>11}" for p in parts))

    def ratio(a: str, b: str, part: str = "total") -> tuple[float, float]:
        x, y = getattr(results[a], part), getattr(results[b], part)
        return min(x) / min(y), statistics.median(x) / statistics.median(y)

    ratios = {"function / floor": ratio("function", "floor"), "function / boto3": ratio("function", "boto3"),
              "floor / boto3": ratio("floor", "boto3"), "cpu function / floor": ratio("function", "floor", "cpu")}
    print("  ratios (min, median):  " + ";  ".join(f"{k} {v[0]:.2f}, {v[1]:.2f}" for k, v in ratios.items()))
    return ratios


def _start_moto() -> tuple[object, int]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, port


def _timed(scripts: dict[str, str], env: dict[str, str], runs: int) -> dict[str, Samples]:
    results = {kind: Samples() for kind in KINDS}
    for run in range(runs):
        for i in range(len(KINDS)):
            kind = KINDS[(run + i) % len(KINDS)]
            _run_child(scripts[kind], env, results[kind])
    return results


def _instructions(script: str, env: dict[str, str]) -> int:
    """The child's instruction count under valgrind (cachegrind, no cache simulation), spawn to os._exit."""
    run = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                          sys.executable, "-S", "-c", script], env={**env, "BENCH_FD": "2", "PYTHONHASHSEED": "0"},
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    refs = re.search(r"I\s+refs:\s+([\d,]+)", run.stderr)
    if run.returncode or not refs:
        raise SystemExit(f"child failed under valgrind ({run.returncode}):\n{run.stderr[-3000:]}")
    return int(refs.group(1).replace(",", ""))


def _report_instructions(name: str, route: str, counts: dict[str, int]) -> dict[str, float]:
    print(f"\n{name}: {route}, millions of instructions")
    for kind in KINDS:
        print(f"  {LABELS[kind]:<28} {counts[kind] / 1e6:8.0f}")
    ratios = {"function / floor": counts["function"] / counts["floor"], "function / boto3": counts["function"] / counts["boto3"],
              "floor / boto3": counts["floor"] / counts["boto3"]}
    print("  ratios:  " + ";  ".join(f"{k} {v:.3f}" for k, v in ratios.items()))
    return ratios


def _summary(summary: dict[str, dict[str, tuple[float, float]]]) -> None:
    columns = ("function / floor", "function / boto3", "floor / boto3", "cpu function / floor")
    print(f"\n{'min, median':<16}" + "".join(f"{c:>22}" for c in columns))
    for name, r in summary.items():
        print(f"{name:<16}" + "".join(f"{r[c][0]:>16.2f}, {r[c][1]:.2f}" for c in columns))
    worst_min = max(r["function / floor"][0] for r in summary.values())
    worst_median = max(r["function / floor"][1] for r in summary.values())
    verdict = "met" if worst_min <= AIM else "NOT met"
    print(f"worst function / floor: {worst_min:.2f} (min), {worst_median:.2f} (median); aim <= {AIM} on the min: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--function", action="append", help="only this catalog function (repeatable)")
    parser.add_argument("--instructions", action="store_true",
                        help="count each child's instructions under valgrind instead of timing it (one run each; "
                             "a busy machine does not change the count, but it is not what Lambda bills)")
    parser.add_argument("--tracing", action="store_true",
                        help="functions run as in a stage with tracing on (Powertools Tracer and the X-Ray SDK, "
                             "segments sent to a loopback UDP socket); the floor and boto3 handlers have no tracer")
    args = parser.parse_args()
    if args.instructions and not shutil.which("valgrind"):
        raise SystemExit("--instructions counts under valgrind: install it (e.g. apt-get install valgrind)")

    server, port = _start_moto()
    env = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "TABLE_NAME": "bench",
           "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_SERVICE_NAME": "clawster",
           "AWS_LAMBDA_FUNCTION_NAME": "bench", "POWERTOOLS_LOG_LEVEL": "WARNING"}
    os.environ.update(env)
    bytecode = tempfile.TemporaryDirectory(prefix="bench-pycache-")
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONPYCACHEPREFIX": bytecode.name}
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # stands in for the X-Ray daemon (never read)
    daemon.bind(("127.0.0.1", 0))
    if args.tracing:
        env |= {"POWERTOOLS_TRACE_DISABLED": "false", "LAMBDA_TASK_ROOT": str(ROOT),
                "_X_AMZN_TRACE_ID": "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1",
                "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}"}
        print("tracing on: the functions run with Powertools' Tracer (X-Ray SDK)")
    try:
        import boto3

        from clawster.store import schema
        from functions import catalog

        schema.create_table(boto3.client("dynamodb"), "bench")
        ids = _seed()
        print(__doc__.split("\n\n")[1])
        summary, counted = {}, {}
        for function in catalog.FUNCTIONS:
            if args.function and function.name not in args.function:
                continue
            method, resource, params = _request_for(function, ids)
            event = json.dumps(_event(method, resource, params, "bench-user"))
            with tempfile.NamedTemporaryFile(suffix=".json") as record:  # untimed warm-up that records the calls
                _run_child(_scripts(function, event, resource, params, "[]")["function"], {**env, "BENCH_RECORD": record.name})
                calls = Path(record.name).read_text()
            scripts = _scripts(function, event, resource, params, calls)
            route = f"{method} {resource} ({len(json.loads(calls))} DynamoDB calls)"
            for kind in KINDS:  # untimed: each kind works, and its .pyc files are written
                _run_child(scripts[kind], env)
            if args.instructions:
                counts = {kind: _instructions(scripts[kind], env) for kind in KINDS}
                counted[function.name] = _report_instructions(function.name, route, counts)
            else:
                summary[function.name] = _report(function.name, route, _timed(scripts, env, args.runs))
        if args.instructions:
            worst = max(r["function / floor"] for r in counted.values())
            print(f"\nworst function / floor: {worst:.3f} instructions; aim <= {AIM}: {'met' if worst <= AIM else 'NOT met'}")
        else:
            _summary(summary)
    finally:
        server.stop()
        daemon.close()
        bytecode.cleanup()


if __name__ == "__main__":
    main()
