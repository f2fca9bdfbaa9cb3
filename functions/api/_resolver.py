"""What every REST function shares: the resolver, the error mapping, and the authorization gate.

The gate runs before routing and validation: it finds the route's action in the catalog, reads
the caller from the authorizer's claims, and checks the permission table (a denied request never
reaches validation, so it learns nothing about the body it sent).
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Query

from clawster.domain.errors import (
    BadRequest,
    ClawsterError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PreconditionRequired,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from clawster.domain.roles import PERMISSIONS, PUBLIC
from clawster.services import audit
from clawster.services.access import authorize
from clawster.services.context import Access, Caller
from functions import catalog
from functions.errors import http_status, retry_after_seconds
from functions.tracing import traced

logger = Logger(service="clawster")

ROUTE_ACTIONS = {(r.method, r.path): r.action for _, r in catalog.rest_routes()}

ERROR_TEXT: dict[int, str] = {
    400: "Bad request: a cursor this listing did not issue, or a body that is not UTF-8",
    401: "Missing, expired or invalid token",
    403: "The caller's role does not allow this action",
    404: "Not found, or not in a workspace the caller belongs to",
    409: "Version conflict, invalid state, a name already taken, or an Idempotency-Key still in progress",
    413: "The request body is over 256 KiB",
    415: "The request body is not JSON (send Content-Type: application/json)",
    422: "Validation failed; details.errors names each field and reason",
    428: "If-Match header required",
    429: "Too many requests: the API's throttle (API Gateway, every route); retry later",
    503: "Temporarily unavailable (a write that kept conflicting, or the table throttled); retry",
}
ERROR_RESPONSES: dict[int, dict[str, Any]] = {
    code: {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
    for code, text in ERROR_TEXT.items()
}

# The error statuses a route can really return, in named pieces a route combines (docs/decisions.md,
# 2026-11-26). A status is listed only where some code path on that route produces it: status-code
# conformance (schemathesis) then checks something.
THROTTLED = (429,)  # API Gateway's stage throttle answers before any route: documented on every one
TOKEN = (401,)  # any route that needs a token: the authorizer refuses a missing or bad one
MEMBER = (401, 404, 503)  # workspace-scoped: 404 for a non-member or unknown workspace; the gate writes
#                           a non-member's refusal in a transaction, which can end in 503
ROLE = (403,)  # the route's minimum role is above VIEWER (or a service rule refuses, e.g. granting OWNER)
BODY = (400, 413, 415, 422)  # a JSON body: not UTF-8, too large, not JSON, invalid
WRITE = (503,)  # commits a transaction: a TransactionConflict that outlasts the retries
IF_MATCH = (409, 422, 428)  # optimistic locking: stale version, malformed If-Match, If-Match missing
CURSOR = (400, 422)  # a listing: a cursor it did not issue, limit out of range
IDEMPOTENT = (409, 422)  # Idempotency-Key: still in progress, malformed or reused with another body
GATEWAY = (409, 422)  # reads the bot's gateway: 409 when it has none (naming the status); 422 a bad query
CREATE = MEMBER + ROLE + BODY + IDEMPOTENT + WRITE  # POST of a new entity in a workspace (409: name taken)
EDIT = MEMBER + ROLE + BODY + IF_MATCH + WRITE  # PATCH of a versioned entity (role above VIEWER)
REMOVE = MEMBER + ROLE + IF_MATCH + WRITE  # DELETE of a versioned entity (409 also: not empty, wrong state)


# Parameters many routes share.
IfMatch = Annotated[str | None, Header(alias="If-Match", description="The version you read (ETag)")]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=2048)]


def documented(*success: int, errors: tuple[int, ...]) -> dict[int, dict[str, Any]]:
    """A route's OpenAPI responses: its success statuses (the schema comes from the return type;
    204 has no body) and exactly the error statuses in `errors` (plus the gateway's 429), with the
    ErrorBody schema."""
    responses: dict[int, dict[str, Any]] = {}
    for code in success:
        responses[code] = {"description": SUCCESS[code]} | ({"content": {}} if code == 204 else {})
    for code in sorted({*errors, *THROTTLED}):
        responses[code] = ERROR_RESPONSES[code]
    return responses


SUCCESS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content"}


def error_response(error: ClawsterError) -> Response:
    retry_after = retry_after_seconds(error)
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return Response(status_code=http_status(error), content_type=content_types.APPLICATION_JSON,
                    body=json.dumps(error.body()), headers=headers)


# CORS for the web console, which AWS serves from its own origin (CloudFront) while the API has another. The CDK
# app sets the variable on the API functions; locally the console is served from the API's origin: no CORS.
CONSOLE_ORIGIN_VARIABLE = "CLAWSTER_CONSOLE_ORIGIN"
CORS_ALLOW_HEADERS = ["Authorization", "Content-Type", "If-Match", "Idempotency-Key"]  # what the console sends
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After"]  # what it reads: the version for If-Match, when to retry


def cors_config() -> CORSConfig | None:
    """The console's origin only (never "*"), or None where the variable is not set."""
    origin = os.environ.get(CONSOLE_ORIGIN_VARIABLE, "").strip()
    if not origin:
        return None
    if origin == "*" or not origin.startswith(("https://", "http://")) or origin.count("/") != 2:
        raise ValueError(f"{CONSOLE_ORIGIN_VARIABLE}={origin!r}: expected one origin, e.g. https://console.example.com")
    return CORSConfig(allow_origin=origin, allow_headers=CORS_ALLOW_HEADERS, expose_headers=CORS_EXPOSE_HEADERS,
                      max_age=3600)


def cors_headers(cors: CORSConfig | None, event: dict[str, Any]) -> dict[str, str]:
    """The CORS headers for a response the resolver does not build (the gate's refusals)."""
    if cors is None:
        return {}
    origin = next((v for k, v in (event.get("headers") or {}).items() if k.lower() == "origin"), None)
    return cors.to_dict(origin)


def create_app() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True, cors=cors_config())

    @app.exception_handler(ClawsterError)
    def _domain_error(error: ClawsterError) -> Response:
        if http_status(error) >= 500:
            logger.warning("retryable failure", extra={"code": error.code})
        if isinstance(error, Forbidden) and app.context.get("access") is not None:  # a service rule refused it
            audit.record_refusal(app.context["access"], app.current_event.path, error)
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    def _invalid(error: RequestValidationError) -> Response:
        return error_response(_validation_failed(error.errors()))

    @app.not_found
    def _no_route(_: Exception) -> Response:
        event = app.current_event
        return error_response(NotFound(f"no route for {event.http_method} {event.path}"))

    return app


def _validation_failed(errors: Any) -> ClawsterError:
    rows = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
        field = ".".join(loc) or "body"
        rows.append({"field": field, "reason": error.get("msg", "invalid")})
    failure = ValidationFailed(rows[0]["field"], rows[0]["reason"]) if rows else ValidationFailed("body", "invalid")
    failure.details = {"errors": rows}
    if len(rows) > 1:
        failure.message = "; ".join(f"{r['field']}: {r['reason']}" for r in rows)
    return failure


def caller_of(event: dict[str, Any]) -> Caller:
    context = event.get("requestContext") or {}
    claims = (context.get("authorizer") or {}).get("claims") or {}
    user = claims.get("sub")
    if not user:
        raise Unauthorized("missing, expired or invalid token")
    return Caller(user_id=user, request_id=context.get("requestId") or "unknown")


def require_json_body(event: dict[str, Any]) -> None:
    """Bodies are JSON. Refuse anything else up front: the resolver would try to parse it (e.g. as
    multipart) and fail with a 500 on bytes that are not UTF-8."""
    if not event.get("body"):
        return
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    media_type = (headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"request bodies must be JSON, not {media_type!r}",
                                   {"header": "Content-Type", "expected": "application/json"})
    if event.get("isBase64Encoded"):
        raise BadRequest("the request body is not valid UTF-8 JSON", {"field": "body"})
    check_json_body(event["body"])


MAX_BODY_BYTES = 256 * 1024  # well under DynamoDB's 400 KB item, which also holds the audit copy
MAX_DEPTH = 32  # DynamoDB's limit on nesting in an item: a deeper config could not be stored and served


def check_json_body(body: str) -> None:
    """Edge limits on a JSON body, before the resolver parses it: its size, that it parses (a number
    of 5000 digits or 100k nested brackets raise in json.loads), its nesting depth, and that every
    string is Unicode a table can store (no lone surrogates escaped as \\ud800)."""
    if len(body) > MAX_BODY_BYTES or len(body.encode(errors="surrogatepass")) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body is over {MAX_BODY_BYTES // 1024} KiB",
                              {"field": "body", "limit_bytes": MAX_BODY_BYTES})
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)[:200]
        raise ValidationFailed("body", f"not valid JSON: {reason}") from None
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise ValidationFailed(_field(path[:3]), f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            for key, child in node.items():
                _check_text(key, path)
                stack.append((child, (*path, key)))
        elif isinstance(node, list):
            stack.extend((child, (*path, str(i))) for i, child in enumerate(node))
        elif isinstance(node, str):
            _check_text(node, path)


def _check_text(text: str, path: tuple[str, ...]) -> None:
    try:
        text.encode()
    except UnicodeEncodeError:
        raise ValidationFailed(_field(path), "contains a lone UTF-16 surrogate (not Unicode text)") from None


def _field(path: tuple[str, ...]) -> str:
    printable = ".".join(p.encode(errors="replace").decode()[:64] for p in path)[:200]
    return printable or "body"


def gate(event: dict[str, Any]) -> tuple[Caller | None, Access | None]:
    """Authorize the request against the permission table; raise a ClawsterError to refuse it."""
    action = ROUTE_ACTIONS.get((event.get("httpMethod"), event.get("resource")))
    if action is None:
        return None, None  # unknown route: the resolver answers 404
    if PERMISSIONS[action] == PUBLIC:
        return None, None
    caller = caller_of(event)
    params = event.get("pathParameters") or {}
    target = event.get("path") or ""
    return caller, authorize(caller, action, params.get("workspace_id"), target)


def lambda_entry(app: APIGatewayRestResolver):
    """The Lambda handler of a route group: gate, then route; traced where the stage turned tracing on.
    Called last in an entry module, it also ends the cold-start import phase (functions.api._boot)."""

    cors = cors_config()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            caller, access = gate(event)
            require_json_body(event)
        except ClawsterError as error:  # refused before the resolver: the console must still read why
            return _vary_on_origin(cors, _raw(error, cors_headers(cors, event)))
        app.append_context(caller=caller, access=access)
        return _vary_on_origin(cors, app.resolve(event, context))

    entry = traced(handler, service=logger.service)
    entry = logger.inject_lambda_context(entry, correlation_id_path="requestContext.requestId", clear_state=True)
    from functions.api import _boot  # here, not at the top: importing this module alone must not pause the collector

    _boot.ready()
    return entry


def _vary_on_origin(cors: CORSConfig | None, response: dict[str, Any]) -> dict[str, Any]:
    """With CORS on, an answer's headers depend on the request's Origin: say so, so that no cache (the browser's,
    a proxy's) hands one origin's answer to another."""
    if cors is not None:
        response.setdefault("multiValueHeaders", {}).setdefault("Vary", []).append("Origin")
    return response


def _raw(error: ClawsterError, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "statusCode": http_status(error),
        "headers": {"Content-Type": content_types.APPLICATION_JSON, **headers},
        "multiValueHeaders": {},
        "body": json.dumps(error.body()),
        "isBase64Encoded": False,
    }


def require_if_match(value: str | None) -> int:
    """Parse If-Match ("3" or 3 or W/"3") into the expected version."""
    if value is None:
        raise PreconditionRequired("send If-Match with the version you read (the ETag of the GET)",
                                   {"header": "If-Match"})
    cleaned = value.strip().removeprefix("W/").strip('"')
    if not cleaned.isdigit() or len(cleaned) > 12:
        raise ValidationFailed("If-Match", "must be the resource version as a number, e.g. \"3\"")
    return int(cleaned)


def respond(status: int, body: Any = None, version: int | None = None) -> Response:
    """A JSON response; `version` becomes the ETag the client sends back in If-Match."""
    headers = {"ETag": f'"{version}"'} if version is not None else None
    if status == 204:  # no body at all (a JSON "null" would be read as the start of the next response)
        return Response(status_code=204, body="", headers=headers)
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)
