"""Bots, lifecycle intents and revisions."""

from __future__ import annotations

from functions.api import _boot  # noqa: F401  # isort: skip  (first: lazy Powertools facades, no gc while importing)
import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from clawster.api.models import (
    BotCreate,
    BotDetail,
    BotOut,
    BotPage,
    BotRollback,
    BotUpdate,
    BotUpgrade,
    EffectiveConfig,
    GatewayLogs,
    IntentAccepted,
    Provisioning,
    Refreshed,
    RevisionDiff,
    RevisionOut,
    RevisionPage,
    RevisionSummary,
)
from clawster.domain.bots import BotAction, BotStatus
from clawster.domain.errors import ValidationFailed
from clawster.services import bots, logs, targets
from functions.api._idempotency import IdempotencyKey, once
from functions.api._resolver import (
    BODY,
    CREATE,
    CURSOR,
    EDIT,
    GATEWAY,
    IDEMPOTENT,
    IF_MATCH,
    MEMBER,
    REMOVE,
    ROLE,
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
TagFilter = Annotated[
    list[str] | None,
    Query(description="key or key=value; repeat to require several tags", max_length=10),
]
TAG_FILTER = re.compile(r"^(?P<key>[A-Za-z0-9_.:/+@-]{1,64})(=(?P<value>[^\x00-\x1f\x7f]{0,256}))?$")
Against = Annotated[str | None, Query(max_length=64, pattern=r"^[0-9A-Za-z]+$",
                                     description="The base revision (default: the applied one)")]
PREFIX = "/workspaces/<workspace_id>"


def _out(bot) -> BotOut:
    out = BotOut.model_validate(bot.public())
    out.cost_estimate = targets.cost_estimate(bot.target, out.target_settings)
    out.policy_warnings = getattr(bot, "policy_warnings", None)  # a deploy's WARNING findings, not stored
    return out


def _detail(bot) -> BotDetail:
    return BotDetail.model_validate({**_out(bot).model_dump(), "config": bots.own_layer(bot)})


def _tag_filters(raw: list[str] | None) -> dict[str, str | None]:
    filters: dict[str, str | None] = {}
    for item in raw or []:
        match = TAG_FILTER.match(item)
        if not match:
            raise ValidationFailed("tag", f"'{item[:80]}' is not key or key=value")
        filters[match["key"]] = match["value"]
    return filters


@app.post(PREFIX + "/fleets/<fleet_id>/bots", responses=documented(201, errors=CREATE), tags=["bots"])
def create_bot(workspace_id: str, fleet_id: str, body: BotCreate,
               idempotency_key: IdempotencyKey = None) -> Response[BotOut]:
    def create():
        bot = bots.create(app.context["access"], fleet_id, name=body.name, template_id=body.template_id,
                          config=body.config, tags=body.tags, target=body.target.value if body.target else None,
                          target_settings=body.target_settings,
                          ready_timeout_s=body.ready_timeout_s, openclaw_version=body.openclaw_version)
        return 201, _out(bot), bot.version  # with a target: the WARNING findings of the policy packs

    return once(app, idempotency_key, body, create)


@app.get(PREFIX + "/fleets/<fleet_id>/bots", responses=documented(200, errors=MEMBER + CURSOR), tags=["bots"])
def list_bots(workspace_id: str, fleet_id: str, status: BotStatus | None = None, tag: TagFilter = None,
              limit: Limit = 50, cursor: Cursor = None) -> BotPage:
    items, next_cursor = bots.list_page(app.context["access"], fleet_id, status=status.value if status else None,
                                        tags=_tag_filters(tag), limit=limit, cursor_in=cursor)
    return BotPage(items=[_out(b) for b in items], next_cursor=next_cursor)


@app.get(PREFIX + "/bots/<bot_id>", responses=documented(200, errors=MEMBER), tags=["bots"])
def get_bot(workspace_id: str, bot_id: str) -> Response[BotDetail]:
    bot = bots.get(app.context["access"], bot_id)
    return respond(200, _detail(bot), bot.version)


@app.patch(PREFIX + "/bots/<bot_id>", responses=documented(200, errors=EDIT), tags=["bots"])
def update_bot(workspace_id: str, bot_id: str, body: BotUpdate, if_match: IfMatch = None) -> Response[BotDetail]:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    bot = bots.update(app.context["access"], bot_id, expected_version=require_if_match(if_match), changes=changes)
    return respond(200, _detail(bot), bot.version)  # with the policy packs' WARNING findings on a config applied live


DELETE_RESPONSES = documented(202, 204, errors=REMOVE) | {202: {
    "description": "Accepted: DELETING while its workflow removes the gateway, then the bot",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IntentAccepted"}}}}}


# The return type is not a model: a 204 has no body to validate, and the 202's schema is given above.
@app.delete(PREFIX + "/bots/<bot_id>", responses=DELETE_RESPONSES, tags=["bots"])
def delete_bot(workspace_id: str, bot_id: str, if_match: IfMatch = None) -> Response[Any]:
    """204: gone (it never had a gateway). 202: DELETING while its workflow removes the gateway, then the bot."""
    bot = bots.delete(app.context["access"], bot_id, expected_version=require_if_match(if_match))
    if bot is None:
        return respond(204)
    accepted = IntentAccepted.model_validate({"bot_id": bot.id, "intent": bot.public()["intent"]})
    return respond(202, accepted.model_dump(mode="json"))


# Before the lifecycle route: "upgrade" is not one of its actions, and the first matching route wins.
@app.post(PREFIX + "/bots/<bot_id>/upgrade", tags=["lifecycle"],  # 422 also: a version the target does not offer
          responses=documented(202, errors=MEMBER + ROLE + BODY + IDEMPOTENT + WRITE))
def upgrade_bot(workspace_id: str, bot_id: str, body: BotUpgrade,
                idempotency_key: IdempotencyKey = None) -> Response[IntentAccepted]:
    def request():
        bot = bots.upgrade(app.context["access"], bot_id, body.openclaw_version)
        return 202, IntentAccepted.model_validate({"bot_id": bot.id, "intent": bot.public()["intent"]}), None

    return once(app, idempotency_key, body.model_dump(mode="json"), request)


# Before the lifecycle route, as upgrade: "rollback" is not one of its actions.
@app.post(PREFIX + "/bots/<bot_id>/rollback", tags=["revisions"],  # 422: the desired one already, or now invalid
          responses=documented(200, errors=MEMBER + ROLE + BODY + WRITE + (409,)))  # 409: a workflow owns the bot
def rollback_bot(workspace_id: str, bot_id: str, body: BotRollback) -> Response[BotOut]:
    bot = bots.rollback(app.context["access"], bot_id, body.revision_id)
    return respond(200, _out(bot), bot.version)


# Before the lifecycle route, as upgrade.
@app.post(PREFIX + "/bots/<bot_id>/refresh", tags=["revisions"],  # 409: locked path, stale, a workflow owns it
          responses=documented(200, errors=MEMBER + ROLE + IF_MATCH + WRITE))  # 422: a config its OpenClaw refuses
def refresh_bot(workspace_id: str, bot_id: str, if_match: IfMatch = None) -> Response[Refreshed]:
    """Resolve the bot's config again from the workspace's layers as they are now (a template, profile or
    overlay changed since): a new desired revision when it differs, applied at once if the gateway runs."""
    bot, changed = bots.refresh(app.context["access"], bot_id, expected_version=require_if_match(if_match))
    return respond(200, Refreshed(bot=_out(bot), changed=changed), bot.version)


@app.get(PREFIX + "/bots/<bot_id>/effective-config", responses=documented(200, errors=MEMBER + (409, 422)),
         tags=["revisions"])  # 409/422: the layers as they are now give this bot no valid config
def get_effective_config(workspace_id: str, bot_id: str) -> EffectiveConfig:
    """The bot's config as its layers resolve now, with which layer set each path (provenance)."""
    return EffectiveConfig.model_validate(bots.effective_config(app.context["access"], bot_id))


@app.post(PREFIX + "/bots/<bot_id>/<action>", tags=["lifecycle"],  # 422 also: an unknown action
          responses=documented(202, errors=MEMBER + ROLE + IDEMPOTENT + WRITE))
def request_intent(workspace_id: str, bot_id: str, action: BotAction,
                   idempotency_key: IdempotencyKey = None) -> Response[IntentAccepted]:
    def request():
        bot = bots.request_intent(app.context["access"], bot_id, action)
        return 202, IntentAccepted.model_validate({"bot_id": bot.id, "intent": bot.public()["intent"]}), None

    return once(app, idempotency_key, {}, request)


@app.get(PREFIX + "/bots/<bot_id>/provisioning", responses=documented(200, errors=MEMBER), tags=["lifecycle"])
def get_provisioning(workspace_id: str, bot_id: str) -> Provisioning:
    return Provisioning.model_validate(bots.provisioning(app.context["access"], bot_id))


LogCursor = Annotated[int | None, Query(ge=0, le=2**53, description="The cursor a previous page returned; "
                                                                   "omitted: the last `limit` lines")]
LogLimit = Annotated[int, Query(ge=1, le=1000)]


@app.get(PREFIX + "/bots/<bot_id>/logs", responses=documented(200, errors=MEMBER + GATEWAY), tags=["lifecycle"])
def get_logs(workspace_id: str, bot_id: str, cursor: LogCursor = None, limit: LogLimit = 200) -> GatewayLogs:
    """The gateway's own log lines (JSON, oldest first), as openclaw wrote them: it redacts secrets itself
    (tokens, keys and secret references never reach its log), and nothing else is read (no config, state
    or credentials). 409 names the bot's status when it has no gateway."""
    return GatewayLogs.model_validate(logs.gateway_logs(app.context["access"], bot_id, cursor=cursor, limit=limit))


@app.get(PREFIX + "/bots/<bot_id>/revisions", responses=documented(200, errors=MEMBER + CURSOR), tags=["revisions"])
def list_revisions(workspace_id: str, bot_id: str, limit: Limit = 50, cursor: Cursor = None) -> RevisionPage:
    items, next_cursor = bots.list_revisions(app.context["access"], bot_id, limit=limit, cursor_in=cursor)
    return RevisionPage(items=[RevisionSummary.model_validate(r.public()) for r in items], next_cursor=next_cursor)


@app.get(PREFIX + "/bots/<bot_id>/revisions/<revision_id>", responses=documented(200, errors=MEMBER), tags=["revisions"])
def get_revision(workspace_id: str, bot_id: str, revision_id: str) -> RevisionOut:
    return RevisionOut.from_public(bots.get_revision(app.context["access"], bot_id, revision_id).public())


@app.get(PREFIX + "/bots/<bot_id>/revisions/<revision_id>/diff", responses=documented(200, errors=MEMBER + (422,)),
         tags=["revisions"])
def diff_revision(workspace_id: str, bot_id: str, revision_id: str,
                  against: Against = None) -> RevisionDiff:
    return RevisionDiff.model_validate(bots.revision_diff(app.context["access"], bot_id, revision_id, against))


handler = lambda_entry(app)
