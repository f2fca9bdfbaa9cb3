"""The audit trail, read only: there is no route that changes or deletes an event."""

from __future__ import annotations

from functions.api import _boot  # noqa: F401  # isort: skip  (first: lazy Powertools facades, no gc while importing)
import re
from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BeforeValidator

from clawster.api.models import AuditEventOut, AuditPage
from clawster.services import audit
from functions.api._resolver import CURSOR, MEMBER, ROLE, create_app, documented, lambda_entry

app = create_app()
Text = Annotated[str | None, Query(min_length=1, max_length=256)]
ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$", re.ASCII)


def _iso_8601(value: object) -> object:
    """A date-time as the schema says (format date-time), not also a number of seconds since 1970,
    which pydantic would otherwise take."""
    if isinstance(value, str) and not ISO_8601.match(value):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-11-26T12:00:00Z")
    return value


When = Annotated[datetime | None, BeforeValidator(_iso_8601), Query()]


@app.get("/workspaces/<workspace_id>/audit", responses=documented(200, errors=MEMBER + ROLE + CURSOR), tags=["audit"])
def list_audit(
    workspace_id: str,
    actor: Text = None,
    target: Text = None,
    action: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    since: When = None,
    until: When = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> AuditPage:
    items, next_cursor = audit.list_events(app.context["access"], actor=actor, target=target, action=action,
                                           since=since, until=until, limit=limit, cursor_in=cursor)
    return AuditPage(items=[AuditEventOut.model_validate(e.public()) for e in items], next_cursor=next_cursor)


handler = lambda_entry(app)
