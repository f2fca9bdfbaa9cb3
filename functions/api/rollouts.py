"""Fleet rollouts: create, list, get (per wave and per bot), and the controls."""

from __future__ import annotations

from functions.api import _boot  # noqa: F401  # isort: skip  (first: lazy Powertools facades, no gc while importing)

from aws_lambda_powertools.event_handler import Response

from clawster.api.rollout_models import Control, RolloutCreate, RolloutDetail, RolloutOut, RolloutPage
from clawster.services import rollouts
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
    respond,
)

app = create_app()
PREFIX = "/workspaces/<workspace_id>"


@app.post(PREFIX + "/rollouts", tags=["rollouts"],  # 409: a target bot is in another active rollout
          responses=documented(201, errors=MEMBER + ROLE + BODY + WRITE + (409,)))
def create_rollout(workspace_id: str, body: RolloutCreate) -> Response[RolloutOut]:
    """Roll a change (a config patch, a refresh from the layers, an OpenClaw version) across bots, wave by wave:
    each wave's bots at most max_concurrency at a time, a bake, the gates (no data pauses, never passes), and an
    automatic rollback of every bot changed when a gate fails or the abort threshold is reached."""
    rollout = rollouts.create(app.context["access"], body.model_dump(mode="json", exclude_defaults=False))
    return respond(201, RolloutOut.model_validate(rollouts.api_view(rollout)), rollout.version)


@app.get(PREFIX + "/rollouts", responses=documented(200, errors=MEMBER + CURSOR), tags=["rollouts"])
def list_rollouts(workspace_id: str, limit: Limit = 50, cursor: Cursor = None) -> RolloutPage:
    """The workspace's rollouts, newest first."""
    items, next_cursor = rollouts.list_page(app.context["access"], limit=limit, cursor_in=cursor)
    return RolloutPage(items=[RolloutOut.model_validate(rollouts.api_view(i)) for i in items], next_cursor=next_cursor)


@app.get(PREFIX + "/rollouts/<rollout_id>", responses=documented(200, errors=MEMBER), tags=["rollouts"])
def get_rollout(workspace_id: str, rollout_id: str) -> RolloutDetail:
    """The rollout with each wave (status, gate readings, verdict) and each bot's state in it."""
    return RolloutDetail.model_validate(rollouts.detail(app.context["access"], rollout_id))


@app.post(PREFIX + "/rollouts/<rollout_id>/<action>", tags=["rollouts"],  # 409: not in a state that takes it
          responses=documented(200, errors=MEMBER + ROLE + WRITE + (409, 422)))  # 422: an unknown action
def control_rollout(workspace_id: str, rollout_id: str, action: Control) -> Response[RolloutOut]:
    """pause (before the next wave), resume, approve (the wave waiting for it), abort (roll back what changed),
    promote (end the current bake now)."""
    rollout = rollouts.control(app.context["access"], rollout_id, action)
    return respond(200, RolloutOut.model_validate(rollouts.api_view(rollout)), rollout.version)


handler = lambda_entry(app)
