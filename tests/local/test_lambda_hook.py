"""moto's Lambda service runs catalog handlers through the local runtime, in Lambda instances of
their own (direct invoke; Step Functions and stream mappings take the same path). One test per moto
patch, so a moto upgrade that breaks it fails here."""

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


def test_a_handler_that_overran_its_timeout_still_returns_what_it_committed(caplog, tmp_path):
    """On a busy machine a handler can finish past its timeout after it committed its write: the
    caller must get the result (and a warning in the log), not an error for a change that happened."""
    from clawster.local import lambda_runtime

    function = lambda_runtime.LocalFunction("slow", "tests.local.test_lambda_runtime.commit", timeout_s=0)
    try:
        with caplog.at_level("WARNING", logger="local.lambda"):
            assert function.invoke({"file": str(tmp_path / "written"), "n": 1}) == {"statusCode": 201}
    finally:
        function.stop()
    assert (tmp_path / "written").read_text() == "1"  # committed in the instance
    assert any("past its 0 s timeout" in record.getMessage() for record in caplog.records)
