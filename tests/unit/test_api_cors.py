"""CORS on the REST functions' own responses (functions/api/_resolver.py): on AWS the web console is served
by CloudFront from another origin than the API's, and a browser hides any response (a 403 included) that
does not name the console's origin. The CDK app sets CLAWSTER_CONSOLE_ORIGIN on the API functions; locally
it is unset and no CORS header is sent. API Gateway answers the preflight and its own errors (tests/infra)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from clawster.domain.errors import VersionConflict
from functions.api._resolver import CONSOLE_ORIGIN_VARIABLE, cors_config, create_app, lambda_entry, respond

CONSOLE = "https://d111111abcdef8.cloudfront.net"
CONTEXT = SimpleNamespace(function_name="api-probe", memory_limit_in_mb=256, aws_request_id="r-1",
                          invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:api-probe")


def entry(monkeypatch, origin: str | None):
    """A REST function built as the entry modules build theirs, with the variable as given."""
    if origin is None:
        monkeypatch.delenv(CONSOLE_ORIGIN_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(CONSOLE_ORIGIN_VARIABLE, origin)
    app = create_app()

    @app.get("/probe/ok")  # not a catalog route: the gate lets it through to the resolver
    def ok():
        return respond(200, {"ok": True}, version=3)

    @app.get("/probe/conflict")
    def conflict():
        raise VersionConflict("stale version")

    return lambda_entry(app)


def call(handler, path: str, origin: str | None, resource: str | None = None) -> dict:
    headers = {"Origin": origin} if origin else {}
    event = {"resource": resource or path, "path": path, "httpMethod": "GET", "headers": headers,
             "multiValueHeaders": {k: [v] for k, v in headers.items()}, "queryStringParameters": None,
             "multiValueQueryStringParameters": None, "pathParameters": None, "body": None, "isBase64Encoded": False,
             "requestContext": {"requestId": "r-1", "resourcePath": resource or path, "httpMethod": "GET"}}
    response = handler(event, CONTEXT)
    merged = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        merged.setdefault(key.lower(), ",".join(values))
    return {"status": response["statusCode"], "headers": merged}


# Each kind of answer a REST function gives: a route's result, a domain error mapped by the exception
# handler, the gate's refusal before routing (no token on a catalog route), and the resolver's 404.
ANSWERS = [("/probe/ok", None, 200), ("/probe/conflict", None, 409), ("/workspaces", "/workspaces", 401),
           ("/nowhere", None, 404)]


@pytest.mark.parametrize(("path", "resource", "status"), ANSWERS)
def test_with_the_console_origin_set_every_answer_names_it_to_the_console(monkeypatch, path, resource, status):
    handler = entry(monkeypatch, CONSOLE)
    seen = call(handler, path, CONSOLE, resource)
    assert seen["status"] == status
    headers = seen["headers"]
    assert headers.get("access-control-allow-origin") == CONSOLE, headers
    assert {h.strip() for h in headers["access-control-expose-headers"].split(",")} == {"ETag", "Retry-After"}
    allowed = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "if-match", "idempotency-key"} <= allowed
    assert headers["vary"] == "Origin"  # the answer differs by Origin: no cache may give it to another origin
    # Another site's page gets no CORS header: its script cannot read the answer.
    assert "access-control-allow-origin" not in call(handler, path, "https://evil.example", resource)["headers"]


@pytest.mark.parametrize(("path", "resource", "status"), ANSWERS)
def test_without_the_variable_no_cors_header_is_sent(monkeypatch, path, resource, status):
    """Locally the console is served from the API's own origin: nothing to allow."""
    seen = call(entry(monkeypatch, None), path, CONSOLE, resource)
    assert seen["status"] == status
    assert not [h for h in seen["headers"] if h.startswith("access-control-") or h == "vary"], seen["headers"]


def test_the_etag_is_still_sent_for_the_console_to_read(monkeypatch):
    seen = call(entry(monkeypatch, CONSOLE), "/probe/ok", CONSOLE)
    assert seen["headers"]["etag"] == '"3"'


@pytest.mark.parametrize("origin", ["*", "d111111abcdef8.cloudfront.net", "https://console.example.com/console/"])
def test_anything_but_one_origin_is_refused(monkeypatch, origin):
    monkeypatch.setenv(CONSOLE_ORIGIN_VARIABLE, origin)
    with pytest.raises(ValueError, match=CONSOLE_ORIGIN_VARIABLE):
        cors_config()
