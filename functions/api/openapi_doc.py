"""The one OpenAPI 3.1 document: every route group's schema, merged. Served at /openapi.json and
kept in docs/openapi.json (a test fails when the two differ)."""

from __future__ import annotations

import importlib
import json
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from functions import catalog

TITLE = "Clawster API"
VERSION = "0.1.0"
BEARER = "bearerAuth"
ERROR_BODY = {
    "type": "object",
    "title": "ErrorBody",
    "required": ["code", "message", "details"],
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "details": {"type": "object"},
    },
}


def _group_schema(module_name: str) -> dict[str, Any]:
    app = importlib.import_module(module_name).app
    schema = app.get_openapi_schema(
        title=TITLE, version=VERSION,
        security_schemes={BEARER: HTTPBearer(bearerFormat="JWT", description="Cognito (or local issuer) ID token")},
        security=[{BEARER: []}],
    )
    return json.loads(schema.model_dump_json(by_alias=True, exclude_none=True))


@cache
def document() -> dict[str, Any]:
    merged: dict[str, Any] | None = None
    for function in catalog.FUNCTIONS:
        part = _group_schema(function.module)
        if merged is None:
            merged = part
            continue
        merged["paths"].update(part.get("paths", {}))
        merged.setdefault("components", {}).setdefault("schemas", {}).update(
            part.get("components", {}).get("schemas", {})
        )
    assert merged is not None
    merged["components"]["schemas"]["ErrorBody"] = ERROR_BODY
    for _, route in catalog.rest_routes():
        operation = merged["paths"].get(route.path, {}).get(route.method.lower())  # None: /swagger, a page
        if route.public and operation is not None:
            operation["security"] = []  # no token needed
    merged["paths"] = dict(sorted(merged["paths"].items()))
    return merged


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
