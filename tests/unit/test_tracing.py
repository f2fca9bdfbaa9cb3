"""Opt-in X-Ray tracing (functions/tracing.py). Off, the X-Ray SDK is not even imported; on, the
handler and its DynamoDB calls run inside Powertools Tracer subsegments that really reach the
daemon address, as they would reach the X-Ray daemon in Lambda."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from functions import tracing

ROOT = Path(__file__).resolve().parents[2]
TRACE_ROOT = "1-67891233-abcdef012345678912345678"
PARENT = "53995c3f42cd8ad8"


def call_handler(module: str, path: str, env: dict[str, str]) -> dict:
    """Import an entry module in a fresh interpreter (a cold start), send it GET `path`, return what it saw."""
    resource = "/workspaces/{workspace_id}/fleets" if "fleets" in path else path
    event = {"resource": resource, "path": path, "httpMethod": "GET", "headers": {}, "multiValueHeaders": {},
             "queryStringParameters": None, "multiValueQueryStringParameters": None,
             "pathParameters": {"workspace_id": path.split("/")[2]} if "fleets" in path else None,
             "body": None, "isBase64Encoded": False,
             "requestContext": {"requestId": "r-1", "resourcePath": resource, "httpMethod": "GET",
                                "authorizer": {"claims": {"sub": "tracer-user"}}}}
    code = textwrap.dedent(f"""
        import json, sys
        sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'shared')!r}]
        import {module} as entry
        class Context:
            function_name = "probe"; memory_limit_in_mb = 256; aws_request_id = "r-1"
            invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:probe"
        response = entry.handler({event!r}, Context())
        print(json.dumps({{"status": response["statusCode"], "xray": "aws_xray_sdk" in sys.modules}}))
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("value", "on"), [(None, False), ("true", False), ("1", False), ("maybe", False),
                                            ("false", True), ("FALSE", True), ("0", True), ("off", True)])
def test_tracing_is_on_only_where_the_stage_turned_it_on(monkeypatch, value, on):
    if value is None:
        monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    else:
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", value)
    assert tracing.enabled() is on
    if not on:  # (a Tracer built here would change Powertools' process-wide state: "on" runs in a fresh process below)
        handler = lambda event, context: event  # noqa: E731
        assert tracing.traced(handler, "clawster") is handler


def test_off_a_cold_start_does_not_import_the_xray_sdk():
    env = {k: v for k, v in os.environ.items() if k != "POWERTOOLS_TRACE_DISABLED"}  # unset: off
    seen = call_handler("functions.api.meta", "/health", env)
    assert seen == {"status": 200, "xray": False}


@pytest.fixture
def dynamodb():
    """A moto DynamoDB server with a table of its own: (endpoint, table name). moto's state is
    process-wide, so the name must differ from the table of a stack another test started here."""
    import uuid

    import boto3
    from moto.server import ThreadedMotoServer

    from clawster.store import schema

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server.get_host_and_port()[1]}"
    table = f"tracing-{uuid.uuid4().hex[:8]}"
    schema.create_table(boto3.client("dynamodb", endpoint_url=endpoint), table)
    yield endpoint, table
    server.stop()


def test_on_the_handler_and_its_dynamodb_calls_reach_the_xray_daemon(tmp_path, dynamodb):
    endpoint, table = dynamodb
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "false", "POWERTOOLS_SERVICE_NAME": "clawster",
               "AWS_ENDPOINT_URL": endpoint, "TABLE_NAME": table,
               "LAMBDA_TASK_ROOT": str(tmp_path),  # Lambda mode of the X-Ray SDK
               "_X_AMZN_TRACE_ID": f"Root={TRACE_ROOT};Parent={PARENT};Sampled=1",
               "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}"}
        seen = call_handler("functions.api.fleets", "/workspaces/01J0000000000000000000000W/fleets", env)
        daemon.settimeout(5)  # the child has exited: what it sent waits in the socket
        entities = []
        while "## handler" not in {e["name"] for e in entities}:  # the handler's subsegment closes last
            header, _, body = daemon.recv(65536).decode().partition("\n")
            assert json.loads(header) == {"format": "json", "version": 1}
            entities.append(json.loads(body))

    assert seen == {"status": 404, "xray": True}  # not a member: refused after real DynamoDB reads
    handler = entities.pop()
    assert handler["trace_id"] == TRACE_ROOT and handler["parent_id"] == PARENT
    assert handler["annotations"] == {"ColdStart": True, "Service": "clawster"}
    assert entities and all(e["name"] == "dynamodb" and e["parent_id"] == handler["id"] for e in entities)  # each call once
    # the membership read, then the outsider's refusal recorded in their own partition (services/audit.py)
    assert sorted(e["aws"]["operation"] for e in entities) == ["GetItem", "TransactWriteItems"]
    assert {e["aws"].get("table_name") for e in entities if e["aws"]["operation"] == "GetItem"} == {table}
