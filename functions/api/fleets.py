"""Fleets."""

from __future__ import annotations

from functions.api import _boot  # noqa: F401  # isort: skip  (first: lazy Powertools facades, no gc while importing)

from aws_lambda_powertools.event_handler import Response

from clawster.api.models import FleetCreate, FleetOut, FleetPage, FleetUpdate
from clawster.domain.bots import summarize
from clawster.services import fleets
from functions.api._idempotency import IdempotencyKey, once
from functions.api._resolver import (
    CREATE,
    CURSOR,
    EDIT,
    MEMBER,
    REMOVE,
    Cursor,
    IfMatch,
    Limit,
    create_app,
    documented,
    lambda_entry,
    require_if_match,
    respond,
)

app = create_app()


def _out(fleet, *, new: bool = False, summary: dict | None = None) -> FleetOut:
    """The fleet with its bots counted by status and health (a fleet just created has none: no Query)."""
    if summary is None:
        summary = summarize(()) if new else fleets.bot_summary(app.context["access"], fleet.id)
    return FleetOut.model_validate({**fleet.public(), "bot_summary": summary})


@app.post("/workspaces/<workspace_id>/fleets", responses=documented(201, errors=CREATE), tags=["fleets"])
def create_fleet(workspace_id: str, body: FleetCreate, idempotency_key: IdempotencyKey = None) -> Response[FleetOut]:
    def create():
        fleet = fleets.create(app.context["access"], **body.model_dump(mode="json"))
        return 201, _out(fleet, new=True), fleet.version

    return once(app, idempotency_key, body, create)


@app.get("/workspaces/<workspace_id>/fleets", responses=documented(200, errors=MEMBER + CURSOR), tags=["fleets"])
def list_fleets(workspace_id: str, limit: Limit = 50, cursor: Cursor = None) -> FleetPage:
    items, next_cursor = fleets.list_page(app.context["access"], limit=limit, cursor_in=cursor)
    summaries = fleets.bot_summaries(app.context["access"], [f.id for f in items])
    return FleetPage(items=[_out(f, summary=summaries[f.id]) for f in items], next_cursor=next_cursor)


@app.get("/workspaces/<workspace_id>/fleets/<fleet_id>", responses=documented(200, errors=MEMBER), tags=["fleets"])
def get_fleet(workspace_id: str, fleet_id: str) -> Response[FleetOut]:
    fleet = fleets.get(app.context["access"], fleet_id)
    return respond(200, _out(fleet), fleet.version)


@app.patch("/workspaces/<workspace_id>/fleets/<fleet_id>", responses=documented(200, errors=EDIT), tags=["fleets"])
def update_fleet(workspace_id: str, fleet_id: str, body: FleetUpdate, if_match: IfMatch = None) -> Response[FleetOut]:
    changes = body.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    fleet = fleets.update(app.context["access"], fleet_id, expected_version=require_if_match(if_match), changes=changes)
    return respond(200, _out(fleet), fleet.version)


@app.delete("/workspaces/<workspace_id>/fleets/<fleet_id>", responses=documented(204, errors=REMOVE), tags=["fleets"])
def delete_fleet(workspace_id: str, fleet_id: str, if_match: IfMatch = None) -> Response[None]:
    fleets.delete(app.context["access"], fleet_id, expected_version=require_if_match(if_match))
    return respond(204)


handler = lambda_entry(app)
