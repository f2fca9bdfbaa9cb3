"""moto's Lambda service runs catalog handlers in-process (direct invoke; Step Functions and stream
mappings take the same path). One test per moto patch, so a moto upgrade that breaks it fails here."""

from __future__ import annotations

import json

import boto3


def test_invoking_a_catalog_function_through_moto_runs_its_handler(stack):
    client = boto3.client("lambda")
    event = {"resource": "/health", "path": "/health", "httpMethod": "GET", "headers": {}, "requestContext": {}}
    reply = client.invoke(FunctionName="api-meta", Payload=json.dumps(event).encode())
    payload = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply
    assert payload["statusCode"] == 200 and json.loads(payload["body"]) == {"status": "ok"}


def test_a_handler_exception_comes_back_as_a_function_error(stack):
    client = boto3.client("lambda")
    reply = client.invoke(FunctionName="api-meta", Payload=b'"not an event"')
    payload = json.loads(reply["Payload"].read())
    assert reply["FunctionError"] and payload["errorType"] and payload["errorMessage"]


def test_a_handler_that_overran_its_timeout_still_returns_what_it_committed(caplog, monkeypatch):
    """On a busy machine a handler can finish past its timeout after it committed its write: the
    caller must get the result (and a warning in the log), not an error for a change that happened."""
    from clawster.local import lambda_runtime

    committed = []

    def handler(event, context):
        committed.append(event)
        return {"statusCode": 201}

    function = lambda_runtime.LocalFunction("slow", "unused.handler", timeout_s=0)  # overran at once
    monkeypatch.setattr(function, "handler", lambda: handler)
    with caplog.at_level("WARNING", logger="local.lambda"):
        assert function.invoke({"n": 1}) == {"statusCode": 201}
    assert committed == [{"n": 1}]
    assert any("past its 0 s timeout" in record.getMessage() for record in caplog.records)
