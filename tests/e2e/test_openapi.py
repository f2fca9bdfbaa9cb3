"""The served OpenAPI document is the one kept in docs/openapi.json; it and its Swagger UI page are
served without a token, and the page works with no internet."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_lambda_powertools.event_handler.openapi import swagger_ui

from functions.api import swagger_page
from tests.helpers import Client

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
PUBLIC_OPERATIONS = {("get", "/health"), ("get", "/openapi.json")}  # hand-written: what needs no token


def test_served_document_equals_docs_openapi_json(stack):
    served = Client(stack.api_url, None).get("/openapi.json").ok(200).body  # no token needed
    assert served["openapi"].startswith("3.1")
    assert served == json.loads(DOCS.read_text()), "docs/openapi.json is stale: run `make openapi`"


def test_the_swagger_page_shows_the_whole_document_with_inlined_assets(stack):
    reply = Client(stack.api_url, None).get("/swagger").ok(200)  # no token needed
    assert reply.headers["Content-Type"].startswith("text/html")
    page = reply.body
    assert "<title>Swagger UI</title>" in page and "SwaggerUIBundle(swaggerUIOptions)" in page
    # Offline: swagger-ui itself is in the page (Powertools ships it), nothing is loaded from elsewhere.
    assets = Path(swagger_ui.__file__).parent
    for asset in ("swagger-ui-bundle.min.js", "swagger-ui.min.css"):
        assert (assets / asset).read_text(encoding="utf-8") in page, f"{asset} is not inlined"
    assert not re.search(r"<(script|link)[^>]*(src|href)=", page), "the page loads something from a URL"
    # The page shows the one merged document (every route group), with "Try it out" aimed at this server.
    spec, _ = json.JSONDecoder().raw_decode(page[page.index("spec: ") + len("spec: "):])
    assert spec == json.loads(DOCS.read_text()) | {"servers": [{"url": "/"}]}


@pytest.mark.parametrize("stage,request_path,server", [
    ("prod", "/prod/swagger", "/prod"),  # the execute-api URL: the stage is the first path segment
    ("prod", "/swagger", ""),  # a custom domain mapped to the stage
    ("$default", "/swagger", ""),
    ("local", "/swagger", ""),  # the local stack serves at the root
])
def test_try_it_out_targets_the_stage_the_page_came_from(stage, request_path, server):
    assert swagger_page.stage_prefix(stage, request_path) == server


def test_only_the_public_operations_drop_the_bearer_requirement():
    doc = json.loads(DOCS.read_text())
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert doc["security"] == [{"bearerAuth": []}]
    public = {(method, path) for path, operations in doc["paths"].items() for method, operation in operations.items()
              if operation.get("security") == []}
    assert public == PUBLIC_OPERATIONS


def test_document_declares_error_bodies():
    doc = json.loads(DOCS.read_text())
    fleets = doc["paths"]["/workspaces/{workspace_id}/fleets"]["post"]
    for code in ("401", "403", "404", "409", "422"):
        assert fleets["responses"][code]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorBody"}


def test_every_operation_documents_its_success_response():
    doc = json.loads(DOCS.read_text())
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            success = [code for code in operation["responses"] if code.startswith("2")]
            assert success, f"{method} {path} documents no success status"
            for code in success:
                content = operation["responses"][code].get("content", {})
                if code == "204":
                    assert not content, f"{method} {path}: 204 has no body"
                else:
                    assert content["application/json"]["schema"], f"{method} {path} {code} has no schema"
