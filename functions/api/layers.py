"""Config layers of a workspace: its own templates, profiles and overlays, and the preview of a change to
one (the bots it would touch). The same five routes for each kind, made by `_routes`."""

from functions.api import _boot  # noqa: F401  # isort: skip  (first: lazy Powertools facades, no gc while importing)
from typing import Any

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel, ValidationError

from clawster.api.models import (
    BlastRadius,
    LayerOut,
    LayerPage,
    LayerPreview,
    OverlayCreate,
    OverlayUpdate,
    ProfileCreate,
    ProfileUpdate,
    TemplateCreate,
    TemplateUpdate,
)
from clawster.domain.errors import ValidationFailed
from clawster.services import layers
from functions.api._idempotency import IdempotencyKey, once
from functions.api._resolver import (
    BODY,
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
PREFIX = "/workspaces/<workspace_id>"
MODELS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "template": (TemplateCreate, TemplateUpdate),
    "profile": (ProfileCreate, ProfileUpdate),
    "overlay": (OverlayCreate, OverlayUpdate),
}
# A 409 also: a change some bot cannot take (a locked path); 422: a config some bot's OpenClaw refuses.
WHY = {"template": "A workspace's own template: a starting config bots name by its id.",
       "profile": "Defaults for fleets, with paths the layers after it may not change (locked).",
       "overlay": "Config for the bots its selector picks (by bot, fleet, environment, tags), optionally "
                  "only in a time window."}


def _out(item) -> LayerOut:
    return LayerOut.model_validate(layers.view(item))


def _fields(body: BaseModel) -> dict[str, Any]:
    """The fields an update gives. A null leaves a field as it is, but for `window`, where null means always
    (no window), and `selector`, where null means no criterion (every bot), as an empty one does."""
    fields = body.model_dump(exclude_unset=True)
    if "selector" in fields and fields["selector"] is None:
        fields["selector"] = {}
    return {key: value for key, value in fields.items() if value is not None or key == "window"}


def _routes(kind: str) -> None:
    create_model, update_model = MODELS[kind]
    path = f"{PREFIX}/{kind}s"

    def create(workspace_id: str, body: create_model, idempotency_key: IdempotencyKey = None) -> Response[LayerOut]:
        def run():
            item = layers.create(app.context["access"], kind, body.model_dump())
            return 201, _out(item), item.version

        return once(app, idempotency_key, body, run)

    def list_(workspace_id: str, limit: Limit = 50, cursor: Cursor = None) -> LayerPage:
        items, next_cursor = layers.list_page(app.context["access"], kind, limit=limit, cursor_in=cursor)
        return LayerPage(items=[_out(i) for i in items], next_cursor=next_cursor)

    def get(workspace_id: str, layer_id: str) -> Response[LayerOut]:
        item = layers.get(app.context["access"], kind, layer_id)
        return respond(200, _out(item), item.version)

    def update(workspace_id: str, layer_id: str, body: update_model, if_match: IfMatch = None) -> Response[LayerOut]:
        item = layers.update(app.context["access"], kind, layer_id, expected_version=require_if_match(if_match),
                             changes=_fields(body))
        return respond(200, _out(item), item.version)

    def delete(workspace_id: str, layer_id: str, if_match: IfMatch = None) -> Response[None]:
        layers.delete(app.context["access"], kind, layer_id, expected_version=require_if_match(if_match))
        return respond(204)

    for function, verb in ((create, "create"), (list_, "list"), (get, "get"), (update, "update"), (delete, "delete")):
        function.__name__ = function.__qualname__ = f"{verb}_{kind}"
        function.__doc__ = WHY[kind]
    tags = ["config"]
    app.post(path, responses=documented(201, errors=CREATE), tags=tags)(create)
    app.get(path, responses=documented(200, errors=MEMBER + CURSOR), tags=tags)(list_)
    app.get(path + "/<layer_id>", responses=documented(200, errors=MEMBER), tags=tags)(get)
    app.patch(path + "/<layer_id>", responses=documented(200, errors=EDIT), tags=tags)(update)
    app.delete(path + "/<layer_id>", responses=documented(204, errors=REMOVE), tags=tags)(delete)


for _kind in MODELS:
    _routes(_kind)


@app.post(PREFIX + "/config-preview", responses=documented(200, errors=MEMBER + BODY), tags=["config"])
def preview_layer_change(workspace_id: str, body: LayerPreview) -> BlastRadius:
    """The blast radius of a proposed template, profile or overlay change, nothing saved: every bot whose
    config it would change, with the changes, the policy findings on its new config, and the bots that
    could not take it (a locked path, a config their OpenClaw refuses)."""
    if body.layer_id is None and (body.remove or body.change is None):
        raise ValidationFailed("change", "a new layer needs its create body in `change` (or name layer_id)")
    if body.layer_id is not None and body.remove == (body.change is not None):
        raise ValidationFailed("change", "give either `change` (an edit) or `remove: true` with layer_id")
    fields = None
    if body.change is not None:
        create_model, update_model = MODELS[body.kind]
        model = create_model if body.layer_id is None else update_model
        try:
            fields = _fields(model.model_validate(body.change))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in ("change", *first["loc"]))
            raise ValidationFailed(where, first["msg"]) from None
        if body.layer_id is None:
            fields = model.model_validate(body.change).model_dump()
    result = layers.preview(app.context["access"], body.kind, body.layer_id, fields)
    return BlastRadius.model_validate(result)


handler = lambda_entry(app)
