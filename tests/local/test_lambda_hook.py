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
