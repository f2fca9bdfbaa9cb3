"""Policy packs: the built-in ones, a workspace's own, and a dry-run evaluation."""

from __future__ import annotations

from functions.api import _boot  # noqa: F401  # isort: skip  (first: lazy Powertools facades, no gc while importing)

from aws_lambda_powertools.event_handler import Response

from clawster.api.models import (
    PolicyEvaluate,
    PolicyEvaluation,
    PolicyPackCreate,
    PolicyPackOut,
    PolicyPackPage,
    PolicyPackUpdate,
)
from clawster.domain import policy
from clawster.services import policy_packs
from functions.api._idempotency import IdempotencyKey, once
from functions.api._resolver import (
    BODY,
    CREATE,
    CURSOR,
    EDIT,
    MEMBER,
    REMOVE,
    TOKEN,
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
PREFIX = "/workspaces/<workspace_id>/policy-packs"


def _out(item) -> PolicyPackOut:
    return PolicyPackOut.model_validate(policy_packs.view(item))


@app.get("/policy-packs/builtin", responses=documented(200, errors=TOKEN), tags=["policy"])
def list_builtin_packs() -> PolicyPackPage:
    """The built-in OpenClaw packs, applied to every deploy in every workspace."""
    return PolicyPackPage(items=[PolicyPackOut.model_validate(policy_packs.builtin_view(p))
                                 for p in policy.BUILTIN_PACKS])


@app.post(PREFIX, responses=documented(201, errors=CREATE), tags=["policy"])
def create_pack(workspace_id: str, body: PolicyPackCreate,
                idempotency_key: IdempotencyKey = None) -> Response[PolicyPackOut]:
    def create():
        item = policy_packs.create(app.context["access"], name=body.name, description=body.description,
                                   environments=list(body.environments),
                                   rules=[r.model_dump(exclude_unset=True) for r in body.rules])
        return 201, _out(item), item.version

    return once(app, idempotency_key, body, create)


@app.get(PREFIX, responses=documented(200, errors=MEMBER + CURSOR), tags=["policy"])
def list_packs(workspace_id: str, limit: Limit = 50, cursor: Cursor = None) -> PolicyPackPage:
    """The workspace's own packs (GET /policy-packs/builtin lists the built-in ones)."""
    items, next_cursor = policy_packs.list_page(app.context["access"], limit=limit, cursor_in=cursor)
    return PolicyPackPage(items=[_out(p) for p in items], next_cursor=next_cursor)


@app.post(PREFIX + "/evaluate", responses=documented(200, errors=MEMBER + BODY), tags=["policy"])
def evaluate_packs(workspace_id: str, body: PolicyEvaluate) -> PolicyEvaluation:
    """A dry run, nothing stored: the packs' findings on `config` as it would be deployed in `environment`
    (with the secure defaults every gateway gets). ERROR findings would refuse the deploy."""
    result = policy_packs.evaluate(app.context["access"], body.config, body.environment, body.pack_ids)
    return PolicyEvaluation.model_validate({
        "valid": result.valid, "errors": [f.as_dict() for f in result.errors],
        "warnings": [f.as_dict() for f in result.warnings], "infos": [f.as_dict() for f in result.infos]})


@app.get(PREFIX + "/<pack_id>", responses=documented(200, errors=MEMBER), tags=["policy"])
def get_pack(workspace_id: str, pack_id: str) -> Response[PolicyPackOut]:
    item = policy_packs.get(app.context["access"], pack_id)
    return respond(200, _out(item), item.version)


@app.patch(PREFIX + "/<pack_id>", responses=documented(200, errors=EDIT), tags=["policy"])
def update_pack(workspace_id: str, pack_id: str, body: PolicyPackUpdate,
                if_match: IfMatch = None) -> Response[PolicyPackOut]:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if body.rules is not None:
        changes["rules"] = [r.model_dump(exclude_unset=True) for r in body.rules]
    item = policy_packs.update(app.context["access"], pack_id, expected_version=require_if_match(if_match),
                               changes=changes)
    return respond(200, _out(item), item.version)


@app.delete(PREFIX + "/<pack_id>", responses=documented(204, errors=REMOVE), tags=["policy"])
def delete_pack(workspace_id: str, pack_id: str, if_match: IfMatch = None) -> Response[None]:
    policy_packs.delete(app.context["access"], pack_id, expected_version=require_if_match(if_match))
    return respond(204)


handler = lambda_entry(app)
