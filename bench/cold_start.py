"""Cold start of each API function vs a minimal plain-boto3 handler making the same DynamoDB calls.

For every catalog function with table access (and api-meta), a fresh Python process imports the
function's module and serves one real request (a REST proxy event) against a moto DynamoDB server.
The reference is a fresh process that imports boto3, creates a DynamoDB client and replays exactly
the DynamoDB calls the function made (recorded in an untimed warm-up run). Both are timed from
process spawn to exit; the ratio of the medians is printed. Aim: <= 1.3.

Run: make bench   (or .venv/bin/python bench/cold_start.py [--runs 7])
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

CHILD_HANDLER = r"""
import json, os, sys
sys.path[:0] = [{root!r}, {shared!r}]
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
class Context:
    function_name = {name!r}; memory_limit_in_mb = 512; aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + {name!r}
    def get_remaining_time_in_millis(self): return 10000
response = module.handler(json.loads({event!r}), Context())
assert response["statusCode"] == 200, response
if os.environ.get("BENCH_RECORD"):
    json.dump([c for c in calls if c[0] == "dynamodb"], open(os.environ["BENCH_RECORD"], "w"), default=str)
"""

CHILD_REFERENCE = r"""
import json
import boto3
client = boto3.client("dynamodb")
for _, name, params in json.loads({calls!r}):
    getattr(client, __import__("botocore").xform_name(name))(**params)
"""


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


def _time(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    import socket

    import boto3
    from moto.server import ThreadedMotoServer

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "TABLE_NAME": "bench",
           "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_SERVICE_NAME": "clawster",
           "AWS_LAMBDA_FUNCTION_NAME": "bench", "POWERTOOLS_LOG_LEVEL": "WARNING"}
    os.environ.update(env)
    try:
        from clawster.store import schema
        from functions import catalog

        schema.create_table(boto3.client("dynamodb"), "bench")
        ids = _seed()
        print(f"{'function':<16} {'route':<52} {'handler ms':>10} {'boto3 ms':>9} {'ratio':>6}")
        ratios = []
        for function in catalog.FUNCTIONS:
            method, resource, params = _request_for(function, ids)
            event = json.dumps(_event(method, resource, params, "bench-user"))
            handler_cmd = [sys.executable, "-c", CHILD_HANDLER.format(
                root=str(ROOT), shared=str(ROOT / "shared"), module=function.module, name=function.name, event=event)]
            with tempfile.NamedTemporaryFile(suffix=".json") as record:
                subprocess.run(handler_cmd, env={**env, "BENCH_RECORD": record.name}, check=True)
                calls = Path(record.name).read_text()
            reference_cmd = [sys.executable, "-c", CHILD_REFERENCE.format(calls=calls)]
            handler_times, reference_times = [], []
            for _ in range(args.runs):  # interleaved, so machine noise hits both alike
                handler_times.append(_time(handler_cmd, env))
                reference_times.append(_time(reference_cmd, env))
            h, r = statistics.median(handler_times) * 1000, statistics.median(reference_times) * 1000
            ratios.append(h / r)
            n_calls = len(json.loads(calls))
            print(f"{function.name:<16} {method + ' ' + resource:<52} {h:>10.0f} {r:>9.0f} {h / r:>6.2f}"
                  f"  ({n_calls} DynamoDB call{'s' if n_calls != 1 else ''})")
        print(f"worst ratio {max(ratios):.2f} (aim <= 1.3); median {statistics.median(ratios):.2f}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
