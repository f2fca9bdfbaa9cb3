"""Health, the OpenAPI document and its Swagger UI page, the built-in templates and the compute targets."""

from __future__ import annotations

from functions.api import _boot  # noqa: F401  # isort: skip  (first: lazy Powertools facades, no gc while importing)
from aws_lambda_powertools.event_handler import Response, content_types

from clawster.api.models import Health, TargetList, TemplateList, TemplateOut
from clawster.domain.templates import TEMPLATES
from functions.api._resolver import TOKEN, create_app, documented, lambda_entry

app = create_app()


@app.get("/health", responses=documented(200, errors=()), tags=["meta"])
def health() -> Health:
    return Health(status="ok")


@app.get("/openapi.json", responses=documented(200, errors=()), tags=["meta"], include_in_schema=True)
def openapi() -> Response[dict]:
    from functions.api import openapi_doc  # imports every route group: only this route pays for it

    return Response(200, content_type=content_types.APPLICATION_JSON, body=openapi_doc.document())


@app.get("/swagger", include_in_schema=False)  # a page about the API, not an operation of it
def swagger() -> Response[str]:
    from functions.api import swagger_page  # 1.7 MB of inlined swagger-ui: only this route reads it

    context = app.current_event.request_context
    return Response(200, content_type="text/html; charset=utf-8", body=swagger_page.page(context.stage, context.path))


@app.get("/templates", responses=documented(200, errors=TOKEN), tags=["templates"])
def list_templates() -> TemplateList:
    return TemplateList(items=[TemplateOut(id=t.id, name=t.name, description=t.description, config=t.config)
                               for t in TEMPLATES.values()])


@app.get("/targets", responses=documented(200, errors=TOKEN), tags=["targets"])
def list_targets() -> TargetList:
    """Where bots can run: which targets this deployment serves (and why not the others), each one's settings
    schema, size tiers with an hourly estimate from its price table, and OpenClaw versions."""
    from clawster.services import targets

    return TargetList(items=targets.listing())


handler = lambda_entry(app)
