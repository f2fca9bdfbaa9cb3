"""Connectors: LLM provider keys and channel tokens in Secrets Manager, metadata only in the answers;
their offline connection test and their coordinated rotation across the bots that use them.

No Idempotency-Key on create and rotate: Powertools would keep a hash of the body, and the body holds the
secret (docs/decisions.md, 2026-11-26)."""

from __future__ import annotations

from functions.api import _boot  # noqa: F401  # isort: skip  (first: lazy Powertools facades, no gc while importing)
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Query

from clawster.api.connector_models import (
    ConnectorCreate,
    ConnectorOut,
    ConnectorPage,
    ConnectorRotate,
    ConnectorTest,
    ConnectorUpdate,
    RotationOut,
)
from clawster.services import connectors
from functions.api._resolver import (
    BODY,
    CURSOR,
    EDIT,
    MEMBER,
    REMOVE,
    ROLE,
    WRITE,
    create_app,
    documented,
    lambda_entry,
    require_if_match,
    respond,
)

app = create_app()
IfMatch = Annotated[str | None, Header(alias="If-Match", description="The version you read (ETag)")]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=2048)]
PREFIX = "/workspaces/<workspace_id>/connectors"
SECRETS = (503,)  # Secrets Manager did not answer


def _out(item) -> ConnectorOut:
    return ConnectorOut.model_validate(connectors.view(item))


@app.post(PREFIX, responses=documented(201, errors=MEMBER + ROLE + BODY + WRITE + SECRETS), tags=["connectors"])
def create_connector(workspace_id: str, body: ConnectorCreate) -> Response[ConnectorOut]:
    """The value goes to a new Secrets Manager secret; the answer is its metadata and the reference to put
    in a bot config. 422: a value whose shape is wrong for its kind (the reason names the shape)."""
    item = connectors.create(app.context["access"], name=body.name, kind=body.kind, value=body.value)
    return respond(201, _out(item), item.version)


@app.get(PREFIX, responses=documented(200, errors=MEMBER + CURSOR), tags=["connectors"])
def list_connectors(workspace_id: str, limit: Limit = 50, cursor: Cursor = None) -> ConnectorPage:
    items, next_cursor = connectors.list_page(app.context["access"], limit=limit, cursor_in=cursor)
    return ConnectorPage(items=[_out(c) for c in items], next_cursor=next_cursor)


@app.get(PREFIX + "/<connector_id>", responses=documented(200, errors=MEMBER), tags=["connectors"])
def get_connector(workspace_id: str, connector_id: str) -> Response[ConnectorOut]:
    item = connectors.get(app.context["access"], connector_id)
    return respond(200, _out(item), item.version)


@app.patch(PREFIX + "/<connector_id>", responses=documented(200, errors=EDIT), tags=["connectors"])
def update_connector(workspace_id: str, connector_id: str, body: ConnectorUpdate,
                     if_match: IfMatch = None) -> Response[ConnectorOut]:
    """Rename it (its value changes only by a rotation)."""
    item = connectors.rename(app.context["access"], connector_id, expected_version=require_if_match(if_match),
                             name=body.name)
    return respond(200, _out(item), item.version)


@app.delete(PREFIX + "/<connector_id>", responses=documented(204, errors=REMOVE), tags=["connectors"])
def delete_connector(workspace_id: str, connector_id: str, if_match: IfMatch = None) -> Response[None]:
    """409 while a rotation runs or a bot's applied or desired config references it."""
    connectors.delete(app.context["access"], connector_id, expected_version=require_if_match(if_match))
    return respond(204)


@app.post(PREFIX + "/<connector_id>/test", responses=documented(200, errors=MEMBER + ROLE + WRITE),
          tags=["connectors"])
def test_connector(workspace_id: str, connector_id: str) -> ConnectorTest:
    """The offline checks of the current value (its shape for its kind); liveness at the provider needs its
    network and is reported untested."""
    return ConnectorTest.model_validate(connectors.test(app.context["access"], connector_id))


@app.post(PREFIX + "/<connector_id>/rotate", responses=documented(202, errors=MEMBER + ROLE + BODY + WRITE + (409,)),
          tags=["connectors"])
def rotate_connector(workspace_id: str, connector_id: str, body: ConnectorRotate) -> Response[RotationOut]:
    """A new value, rolled out to the bots that use it in batches, each verified healthy; then it becomes
    current and the old one is retired. A failure stops it and keeps the old value. 409: one is running."""
    rotation = connectors.rotate(app.context["access"], connector_id, value=body.value, batch_size=body.batch_size)
    return respond(202, RotationOut.model_validate(connectors.rotation_view(rotation)), rotation.version)


@app.get(PREFIX + "/<connector_id>/rotations/<rotation_id>", responses=documented(200, errors=MEMBER),
         tags=["connectors"])
def get_rotation(workspace_id: str, connector_id: str, rotation_id: str) -> Response[RotationOut]:
    rotation = connectors.get_rotation(app.context["access"], connector_id, rotation_id)
    return respond(200, RotationOut.model_validate(connectors.rotation_view(rotation)), rotation.version)


handler = lambda_entry(app)
