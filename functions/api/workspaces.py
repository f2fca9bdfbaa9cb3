"""Workspaces, members and roles."""

from __future__ import annotations

from functions.api import _boot  # noqa: F401  # isort: skip  (first: lazy Powertools facades, no gc while importing)
import re
from typing import Annotated
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from clawster.api.models import (
    MemberList,
    MemberOut,
    MemberPut,
    WorkspaceCreate,
    WorkspaceList,
    WorkspaceOut,
    WorkspaceSummary,
    WorkspaceUpdate,
)
from clawster.domain.errors import ValidationFailed
from clawster.services import workspaces
from functions.api._idempotency import IdempotencyKey, once
from functions.api._resolver import (
    BODY,
    CURSOR,
    EDIT,
    IDEMPOTENT,
    MEMBER,
    REMOVE,
    ROLE,
    TOKEN,
    WRITE,
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
USER_ID = re.compile(r"^[A-Za-z0-9._@+=-]{1,128}$")
# As sent: a client may percent-encode a character of the id (e.g. "@" as %40), and the resolver hands
# the segment over undecoded; _user_id decodes it and checks the id itself.
# Only the escapes of the id's own punctuation (@ + - . = _): any other escape would decode to a character
# the id may not hold, and the schema must refuse exactly what the handler refuses (schemathesis ST202).
UserId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^([A-Za-z0-9._@+=-]|%(40|2[BbDdEe]|3[Dd]|5[Ff]))+$")]


def _user_id(raw: str) -> str:
    user_id = unquote(raw)
    if not USER_ID.match(user_id):
        raise ValidationFailed("user_id", "must be 1 to 128 of A-Z a-z 0-9 . _ @ + = -")
    return user_id


def _access():
    return app.context["access"]


@app.post("/workspaces", responses=documented(201, errors=TOKEN + BODY + IDEMPOTENT + WRITE), tags=["workspaces"])
def create_workspace(body: WorkspaceCreate, idempotency_key: IdempotencyKey = None) -> Response[WorkspaceOut]:
    def create():
        workspace, _ = workspaces.create(app.context["caller"], name=body.name, description=body.description)
        return 201, WorkspaceOut.model_validate(workspace.public()), workspace.version

    return once(app, idempotency_key, body, create)


@app.get("/workspaces", responses=documented(200, errors=TOKEN + CURSOR), tags=["workspaces"])
def list_workspaces(limit: Limit = 50, cursor: Cursor = None) -> WorkspaceList:
    rows, next_cursor = workspaces.page_mine(app.context["caller"], limit=limit, cursor_in=cursor)
    return WorkspaceList(items=[WorkspaceSummary.model_validate({**w.public(), "role": r}) for w, r in rows],
                         next_cursor=next_cursor)


@app.get("/workspaces/<workspace_id>", responses=documented(200, errors=MEMBER), tags=["workspaces"])
def get_workspace(workspace_id: str) -> Response[WorkspaceOut]:
    workspace = workspaces.get(_access())
    return respond(200, WorkspaceOut.model_validate(workspace.public()), workspace.version)


@app.patch("/workspaces/<workspace_id>", responses=documented(200, errors=EDIT), tags=["workspaces"])
def update_workspace(workspace_id: str, body: WorkspaceUpdate, if_match: IfMatch = None) -> Response[WorkspaceOut]:
    changes = body.model_dump(exclude_none=True)
    workspace = workspaces.update(_access(), expected_version=require_if_match(if_match), changes=changes)
    return respond(200, WorkspaceOut.model_validate(workspace.public()), workspace.version)


@app.delete("/workspaces/<workspace_id>", responses=documented(204, errors=REMOVE), tags=["workspaces"])
def delete_workspace(workspace_id: str, if_match: IfMatch = None) -> Response[None]:
    workspaces.delete(_access(), expected_version=require_if_match(if_match))
    return respond(204)


@app.get("/workspaces/<workspace_id>/members", responses=documented(200, errors=MEMBER), tags=["members"])
def list_members(workspace_id: str) -> MemberList:
    return MemberList(items=[MemberOut.model_validate(m.public()) for m in workspaces.list_members(_access())])


@app.put("/workspaces/<workspace_id>/members/<user_id>", tags=["members"],
         responses=documented(200, 201, errors=MEMBER + ROLE + BODY + WRITE + (409,)))  # 409: stale, last OWNER
def put_member(workspace_id: str, user_id: UserId, body: MemberPut) -> Response[MemberOut]:
    member, created = workspaces.put_member(_access(), _user_id(user_id), body.role)
    return respond(201 if created else 200, MemberOut.model_validate(member.public()))


@app.delete("/workspaces/<workspace_id>/members/<user_id>", tags=["members"],
            responses=documented(204, errors=MEMBER + ROLE + WRITE + (409, 422)))  # 422: user_id pattern
def delete_member(workspace_id: str, user_id: UserId) -> Response[None]:
    workspaces.delete_member(_access(), _user_id(user_id))
    return respond(204)


handler = lambda_entry(app)
