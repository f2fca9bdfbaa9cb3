"""The audit trail, read only: there is no route that changes or deletes an event."""

from __future__ import annotations

from functions.api import _boot  # noqa: F401  # isort: skip  (first: lazy Powertools facades, no gc while importing)
from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from clawster.api.models import AuditEventOut, AuditPage
from clawster.services import audit
from functions.api._resolver import CURSOR, MEMBER, ROLE, create_app, documented, lambda_entry

app = create_app()
Text = Annotated[str | None, Query(min_length=1, max_length=256)]


@app.get("/workspaces/<workspace_id>/audit", responses=documented(200, errors=MEMBER + ROLE + CURSOR), tags=["audit"])
def list_audit(
    workspace_id: str,
    actor: Text = None,
    target: Text = None,
    action: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> AuditPage:
    items, next_cursor = audit.list_events(app.context["access"], actor=actor, target=target, action=action,
                                           since=since, until=until, limit=limit, cursor_in=cursor)
    return AuditPage(items=[AuditEventOut.model_validate(e.public()) for e in items], next_cursor=next_cursor)


handler = lambda_entry(app)
