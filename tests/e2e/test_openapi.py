"""The served OpenAPI document is the one kept in docs/openapi.json."""

from __future__ import annotations

import json
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_served_document_equals_docs_openapi_json(client_for):
    served = client_for("reader").get("/openapi.json").ok(200).body
    assert served["openapi"].startswith("3.1")
    assert served == json.loads(DOCS.read_text()), "docs/openapi.json is stale: run `make openapi`"


def test_document_declares_bearer_auth_and_error_bodies():
    doc = json.loads(DOCS.read_text())
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert doc["paths"]["/health"]["get"]["security"] == []
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
