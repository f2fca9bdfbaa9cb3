"""The one OpenAPI 3.1 document: every route group's schema, merged. Served at /openapi.json and
kept in docs/openapi.json (a test fails when the two differ)."""

from __future__ import annotations

import importlib
import json
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from clawster.domain.roles import PERMISSIONS, Role
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
    for function in (f for f in catalog.FUNCTIONS if f.rest_routes):  # the REST groups (not WebSocket, tasks)
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
    _only_declared_errors(merged)
    _runtime_rules(merged)
    _add_links(merged)
    for _, route in catalog.rest_routes():
        operation = merged["paths"].get(route.path, {}).get(route.method.lower())  # None: /swagger, a page
        if operation is None:
            continue
        if route.public:
            operation["security"] = []  # no token needed
        # Who may call it, from the permission table the API enforces: the console disables what a role may not do.
        operation["x-clawster-action"] = route.action
        required = PERMISSIONS[route.action]
        operation["x-clawster-role"] = required.value if isinstance(required, Role) else required
    merged["paths"] = dict(sorted(merged["paths"].items()))
    return merged


def _only_declared_errors(doc: dict[str, Any]) -> None:
    """Powertools adds a 422 with its own HTTPValidationError schema to every operation; the API
    answers validation failures with ErrorBody, and only where a route declares 422
    (functions/api/_resolver.py, documented). Drop the generated one, and its schemas."""
    for operations in doc["paths"].values():
        for operation in operations.values():
            generated = operation["responses"].get("422", {}).get("content", {}).get("application/json", {})
            if generated.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                del operation["responses"]["422"]
    text = json.dumps(doc["paths"])
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        if f"/{name}\"" not in text:
            doc["components"]["schemas"].pop(name, None)


# Rules the handlers check themselves, which the generated schema would otherwise not state, so a
# request the schema calls valid would be refused (schemathesis: positive_data_acceptance).
IF_MATCH = r'^(W/)?"?[0-9]{1,12}"?$'  # functions/api/_resolver.py require_if_match
IDEMPOTENCY_KEY = r"^[!-~]{1,255}$"  # functions/api/_idempotency.py KEY: visible ASCII
TAG_FILTER = r"^[A-Za-z0-9_.:/+@-]{1,64}(=[^\u0000-\u001f\u007f]{0,256})?$"  # functions/api/bots.py TAG_FILTER


def _runtime_rules(doc: dict[str, Any]) -> None:
    """If-Match is optional in the handlers' signatures only so that a missing one is a 428 naming
    the header (require_if_match), not a generic 422: to a client it is required, and a version.
    The Idempotency-Key and tag filters have a pattern."""

    for operations in doc["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()):
                name = parameter["name"].lower()
                if parameter["in"] == "header" and name == "if-match":
                    parameter["required"] = True
                    parameter["schema"] = {"type": "string", "title": "If-Match", "pattern": IF_MATCH,
                                           "description": parameter.get("description", "")}
                elif parameter["in"] == "header" and name == "idempotency-key":
                    parameter["schema"]["anyOf"][0]["pattern"] = IDEMPOTENCY_KEY
                elif parameter["in"] == "query" and name == "tag":
                    parameter["schema"]["anyOf"][0]["items"]["pattern"] = TAG_FILTER
    schemas = doc["components"]["schemas"]
    # The models' "at least one" validators (clawster/api/models.py), as schema.
    schemas["BotCreate"]["anyOf"] = [_given("template_id", "string"), _given("config", "object")]
    schemas["WorkspaceUpdate"]["anyOf"] = [_given("name", "string"), _given("description", "string")]
    for name in ("FleetUpdate", "BotUpdate", "PolicyPackUpdate", "TemplateUpdate", "ProfileUpdate", "OverlayUpdate"):
        schemas[name]["minProperties"] = 1
    for schema in schemas.values():
        _closed_maps(schema)


def _closed_maps(node: Any) -> None:
    """A map with patternProperties (tags) takes no other key: pydantic refuses keys that do not
    match, so the schema says additionalProperties false (it would otherwise allow any value)."""
    if isinstance(node, dict):
        if "patternProperties" in node:
            node.setdefault("additionalProperties", False)
        for child in node.values():
            _closed_maps(child)
    elif isinstance(node, list):
        for child in node:
            _closed_maps(child)


def _given(field: str, json_type: str) -> dict[str, Any]:
    """`field` is present and not null."""
    return {"required": [field], "properties": {field: {"type": json_type}}}


WS = "/workspaces/{workspace_id}"
# OpenAPI links, so a client (and schemathesis's stateful phase) can chain create -> read -> update
# -> delete: (from path, method, status) -> {link name: (to path, method, {parameter: expression})}.
_ID, _VERSION = "$response.body#/id", "$response.header.ETag"  # the ETag is a string; the body's version an int
_IN_WS = {"path.workspace_id": "$response.body#/workspace_id"}
_WORKSPACE = {"path.workspace_id": _ID}
_FLEET = _IN_WS | {"path.fleet_id": _ID}
_BOT = _IN_WS | {"path.bot_id": _ID}
_LOCKED = {"header.if-match": _VERSION}
_ENTITIES = (
    (WS, _WORKSPACE, (("GetWorkspace", "get", {}), ("UpdateWorkspace", "patch", _LOCKED),
                      ("DeleteWorkspace", "delete", _LOCKED))),
    (WS + "/fleets/{fleet_id}", _FLEET, (("GetFleet", "get", {}), ("UpdateFleet", "patch", _LOCKED),
                                         ("DeleteFleet", "delete", _LOCKED))),
    (WS + "/bots/{bot_id}", _BOT, (("GetBot", "get", {}), ("UpdateBot", "patch", _LOCKED),
                                   ("DeleteBot", "delete", _LOCKED))),
)
_CHILDREN = {  # what a created entity opens up
    WS: (("CreateFleet", WS + "/fleets", "post"), ("ListFleets", WS + "/fleets", "get"),
         ("ListMembers", WS + "/members", "get"), ("ListAudit", WS + "/audit", "get")),
    WS + "/fleets/{fleet_id}": (("CreateBot", WS + "/fleets/{fleet_id}/bots", "post"),
                                ("ListBots", WS + "/fleets/{fleet_id}/bots", "get")),
    WS + "/bots/{bot_id}": (("RequestIntent", WS + "/bots/{bot_id}/{action}", "post"),
                            ("ListRevisions", WS + "/bots/{bot_id}/revisions", "get")),
}
_CREATED_BY = {WS: ("/workspaces", "post"), WS + "/fleets/{fleet_id}": (WS + "/fleets", "post"),
               WS + "/bots/{bot_id}": (WS + "/fleets/{fleet_id}/bots", "post")}


def _add_links(doc: dict[str, Any]) -> None:
    """Links from an entity's create (201), read and update (200) to its read, update, delete and
    its children's create and listings; the ids and the version (If-Match) come from the body."""
    paths = doc["paths"]

    def link(path: str, method: str, parameters: dict[str, str]) -> dict[str, Any]:
        return {"operationId": paths[path][method]["operationId"], "parameters": parameters}

    for item, ids, operations in _ENTITIES:
        links = {name: link(item, method, ids | extra) for name, method, extra in operations}
        links |= {name: link(path, method, ids) for name, path, method in _CHILDREN[item]}
        if item == WS + "/bots/{bot_id}":
            links["GetDesiredRevision"] = link(WS + "/bots/{bot_id}/revisions/{revision_id}", "get",
                                               ids | {"path.revision_id": "$response.body#/desired_revision_id"})
        create_path, create_method = _CREATED_BY[item]
        sources = ((create_path, create_method, "201"), (item, "get", "200"), (item, "patch", "200"))
        for path, method, status in sources:
            own = {k: v for k, v in links.items() if method != "get" or not k.startswith("Get")}  # no self-loop
            paths[path][method]["responses"][status]["links"] = own


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
