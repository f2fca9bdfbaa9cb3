"""The Swagger UI page served at /swagger: Powertools' page and the swagger-ui assets it bundles,
inlined (nothing is fetched from the internet), showing the one merged OpenAPI document.

Powertools' `enable_swagger` would show only the routes of the resolver it is called on (api-meta's
three); every route group here is its own function and resolver, so the page is built from the
same pieces around `openapi_doc.document()`.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from aws_lambda_powertools.event_handler.openapi import swagger_ui

from functions.api import openapi_doc

ASSETS = Path(swagger_ui.__file__).parent  # swagger-ui-bundle.min.js and swagger-ui.min.css ship with Powertools


@cache
def _assets() -> tuple[str, str]:
    return ((ASSETS / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
            (ASSETS / "swagger-ui.min.css").read_text(encoding="utf-8"))


def stage_prefix(stage: str | None, request_path: str | None) -> str:
    """"/prod" when the page was reached through the stage's execute-api URL (requestContext.path
    then starts with the stage), "" behind a custom domain or on the local stack (served at the root)."""
    if stage and stage != "$default" and (request_path or "").startswith(f"/{stage}/"):
        return f"/{stage}"
    return ""


def page(stage: str | None, request_path: str | None) -> str:
    """The HTML page. "Try it out" sends requests to the document's server: the stage this page came from."""
    document = openapi_doc.document() | {"servers": [{"url": stage_prefix(stage, request_path) or "/"}]}
    spec = json.dumps(document).replace("</", "<\\/")  # as Powertools does: the JSON must not end the <script>
    script, style = _assets()
    return swagger_ui.generate_swagger_html(spec, script, style, swagger_base_url="", oauth2_config=None)
