"""Drift: a bot's last drift report, a workspace's reports, and the drift policies of fleets and bots."""

from __future__ import annotations

from functions.api import _boot  # noqa: F401  # isort: skip  (first: lazy Powertools facades, no gc while importing)


from clawster.api.drift_models import BotDrift, DriftPage, DriftPolicyOut, DriftPolicySet, DriftReportOut
from clawster.services import drift_access
from functions.api._resolver import (
    BODY,
    CURSOR,
    MEMBER,
    ROLE,
    WRITE,
    Cursor,
    Limit,
    create_app,
    documented,
    lambda_entry,
)

app = create_app()
PREFIX = "/workspaces/<workspace_id>"
SET_POLICY = documented(200, errors=MEMBER + ROLE + BODY + WRITE + (409,))  # 409: a concurrent policy write


@app.get(PREFIX + "/bots/<bot_id>/drift", responses=documented(200, errors=MEMBER), tags=["drift"])
def get_bot_drift(workspace_id: str, bot_id: str) -> BotDrift:
    """The bot's last drift check: each path where its gateway differs from the applied revision, its class, the
    policy's action and what was done; secrets are never shown. NOT_CHECKED before the drift job's first check."""
    return BotDrift.model_validate(drift_access.bot_drift(app.context["access"], bot_id))


@app.get(PREFIX + "/drift", responses=documented(200, errors=MEMBER + CURSOR), tags=["drift"])
def list_drift(workspace_id: str, limit: Limit = 50, cursor: Cursor = None) -> DriftPage:
    """The last drift report of each checked bot in the workspace."""
    items, next_cursor = drift_access.workspace_drift(app.context["access"], limit=limit, cursor_in=cursor)
    return DriftPage(items=[DriftReportOut.model_validate(i) for i in items], next_cursor=next_cursor)


@app.put(PREFIX + "/bots/<bot_id>/drift-policy", responses=SET_POLICY, tags=["drift"])
def set_bot_drift_policy(workspace_id: str, bot_id: str, body: DriftPolicySet) -> DriftPolicyOut:
    """Replace the bot's drift rules (they override its fleet's); {} makes it follow its fleet again."""
    return DriftPolicyOut.model_validate(drift_access.set_policy(app.context["access"], "BOT", bot_id, body.rules))


@app.put(PREFIX + "/fleets/<fleet_id>/drift-policy", responses=SET_POLICY, tags=["drift"])
def set_fleet_drift_policy(workspace_id: str, fleet_id: str, body: DriftPolicySet) -> DriftPolicyOut:
    """Replace the fleet's drift rules (they override the defaults: security revert, pairing and agent adopt,
    other alert); {} brings the defaults back."""
    return DriftPolicyOut.model_validate(drift_access.set_policy(app.context["access"], "FLEET", fleet_id, body.rules))


handler = lambda_entry(app)
