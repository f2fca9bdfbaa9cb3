"""The bot status machine and the actions that move a bot through it (DESIGN §3).

One table of transitions, enforced by every writer: the API when it accepts an action, the
workflow tasks when they record an outcome, the sweeper and the health poller. An action moves the
bot into its working status (CREATING, RECONCILING or DELETING) while its workflow runs; the
workflow ends it in the action's outcome, or in ERROR with the reason, never losing the bot or its
last good revision.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from clawster.domain.errors import InvalidState


class BotStatus(StrEnum):
    PENDING = "PENDING"  # recorded; no gateway yet
    CREATING = "CREATING"  # the provision workflow runs
    RECONCILING = "RECONCILING"  # a lifecycle or upgrade workflow runs on an existing gateway
    RUNNING = "RUNNING"
    DEGRADED = "DEGRADED"  # running, but the health poller sees it unhealthy
    PAUSED = "PAUSED"
    STOPPED = "STOPPED"
    ERROR = "ERROR"  # the last workflow failed; `status_reason` says why
    DELETING = "DELETING"  # the deprovision workflow runs


class BotAction(StrEnum):
    """The lifecycle intents a caller may request on a bot (POST .../bots/{id}/{action})."""

    PROVISION = "provision"  # (again) on the bot's target: from PENDING, or from ERROR after a failed one
    RESTART = "restart"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    START = "start"


S = BotStatus

TRANSITIONS: dict[BotStatus, frozenset[BotStatus]] = {
    S.PENDING: frozenset({S.CREATING, S.DELETING}),
    S.CREATING: frozenset({S.RUNNING, S.ERROR}),
    S.RECONCILING: frozenset({S.RUNNING, S.PAUSED, S.STOPPED, S.DEGRADED, S.ERROR}),
    S.RUNNING: frozenset({S.RECONCILING, S.DEGRADED, S.DELETING, S.ERROR}),
    S.DEGRADED: frozenset({S.RUNNING, S.RECONCILING, S.DELETING, S.ERROR}),
    S.PAUSED: frozenset({S.RECONCILING, S.DELETING, S.ERROR}),
    S.STOPPED: frozenset({S.RECONCILING, S.DELETING, S.ERROR}),
    S.ERROR: frozenset({S.CREATING, S.RECONCILING, S.DELETING}),
    S.DELETING: frozenset({S.ERROR}),  # success removes the bot
}

WORKING = frozenset({S.CREATING, S.RECONCILING, S.DELETING})  # a workflow owns the bot


class BotHealth(StrEnum):
    """A bot's health as an operator reads a fleet at a glance, from its status alone."""

    HEALTHY = "healthy"  # its gateway runs and the health poller finds it well (RUNNING)
    UNHEALTHY = "unhealthy"  # needs a look: the poller finds it unwell (DEGRADED), or its last workflow failed (ERROR)
    IN_PROGRESS = "in_progress"  # a workflow owns it (WORKING): the outcome is not known yet
    INACTIVE = "inactive"  # not running by intent: not deployed yet (PENDING), PAUSED or STOPPED


HEALTH: dict[BotStatus, BotHealth] = {
    S.RUNNING: BotHealth.HEALTHY,
    S.DEGRADED: BotHealth.UNHEALTHY, S.ERROR: BotHealth.UNHEALTHY,
    **{status: BotHealth.IN_PROGRESS for status in WORKING},
    S.PENDING: BotHealth.INACTIVE, S.PAUSED: BotHealth.INACTIVE, S.STOPPED: BotHealth.INACTIVE,
}


def summarize(statuses: Iterable[str]) -> dict[str, Any]:
    """How many of these bots are in each status and each health (every key present, zeros included)."""
    by_status = dict.fromkeys((s.value for s in BotStatus), 0)
    by_health = dict.fromkeys((h.value for h in BotHealth), 0)
    for status in statuses:
        by_status[status] += 1
        by_health[HEALTH[BotStatus(status)].value] += 1
    return {"total": sum(by_status.values()), "by_status": by_status, "by_health": by_health}


class Workflow(StrEnum):
    """Every workflow action, the API's intents and the ones with their own routes."""

    PROVISION = "provision"
    RESTART = "restart"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    START = "start"
    UPGRADE = "upgrade"
    APPLY = "apply"  # a new config revision onto the running gateway (a bot PATCH with a config starts it)
    DELETE = "delete"


W = Workflow
# action -> (statuses it may start from, the status while it runs, the status it ends in)
ACTIONS: dict[Workflow, tuple[frozenset[BotStatus], BotStatus, BotStatus | None]] = {
    W.PROVISION: (frozenset({S.PENDING, S.ERROR}), S.CREATING, S.RUNNING),
    W.RESTART: (frozenset({S.RUNNING, S.DEGRADED, S.ERROR}), S.RECONCILING, S.RUNNING),
    W.PAUSE: (frozenset({S.RUNNING, S.DEGRADED}), S.RECONCILING, S.PAUSED),
    W.RESUME: (frozenset({S.PAUSED}), S.RECONCILING, S.RUNNING),
    W.STOP: (frozenset({S.RUNNING, S.DEGRADED, S.PAUSED, S.ERROR}), S.RECONCILING, S.STOPPED),
    W.START: (frozenset({S.STOPPED}), S.RECONCILING, S.RUNNING),
    W.UPGRADE: (frozenset({S.RUNNING, S.DEGRADED}), S.RECONCILING, S.RUNNING),
    W.APPLY: (frozenset({S.RUNNING, S.DEGRADED}), S.RECONCILING, S.RUNNING),
    W.DELETE: (frozenset({S.PENDING, S.RUNNING, S.DEGRADED, S.PAUSED, S.STOPPED, S.ERROR}), S.DELETING, None),
}

INITIAL_STATUS = BotStatus.PENDING

# How long a workflow may own a bot, from its request, before the stuck-work sweeper (services/sweeper.py)
# stops its execution and ends the bot in ERROR. Well beyond the state machines' own deadlines, so a live
# workflow always ends itself first (functions/tasks/bot_workflow.py): the wait for ready, stopped or gone
# ends READY_DEADLINE_S = 900 s after `begin`; each task's Retry adds at most ~60 s (Clawster.Retryable:
# 2+4+8+16+30 s) or ~63 s (Lambda service errors), and no more than ~5 tasks run outside that window, so a
# provision or lifecycle workflow ends within ~900 + 5 x 125 = ~1,525 s. Upgrade may wait twice (the new
# version, then the rollback): ~2 x 900 + 8 x 125 = ~2,800 s. The sweeper runs every minute, so a dead
# workflow's bot is released at most a minute after these.
INTENT_DEADLINE_S: dict[Workflow, int] = {action: 1800 for action in Workflow} | {Workflow.UPGRADE: 3600}


def intent_deadline(action: Workflow, requested_at: datetime, ready_deadline_s: float | None = None) -> datetime:
    """When the sweeper may end a workflow requested at `requested_at`. A request that sets its own wait
    for ready (`ready_deadline_s`) gets that much more."""
    return requested_at + timedelta(seconds=INTENT_DEADLINE_S[Workflow(action.value)] + (ready_deadline_s or 0))


class Target(StrEnum):
    """Where a bot's gateway can run (GET /targets says which this deployment serves, with their settings)."""

    LOCAL = "local"
    ECS = "ecs"  # AWS ECS on Fargate, state on EFS
    CLOUDRUN = "cloudrun"  # GCP Cloud Run, state on Cloud Storage
    ACI = "aci"  # Azure Container Instances, state on Azure Files


def allowed_actions(status: str) -> list[str]:
    return sorted(action.value for action, (sources, _, _) in ACTIONS.items() if BotStatus(status) in sources)


def begin(action: Workflow | BotAction, status: str) -> BotStatus:
    """The working status `action` puts a bot in from `status`, or InvalidState (409) naming the
    current status and the actions allowed from it."""
    sources, working, _ = ACTIONS[Workflow(action.value)]
    if BotStatus(status) not in sources:
        allowed = allowed_actions(status)
        raise InvalidState(
            f"cannot {action.value} a bot that is {status}"
            + (f"; allowed now: {', '.join(allowed)}" if allowed else "; wait for the running workflow to end"),
            {"status": status, "allowed_actions": allowed},
        )
    return working


def outcome(action: Workflow | BotAction) -> BotStatus | None:
    return ACTIONS[Workflow(action.value)][2]


def check_transition(current: str, target: str) -> None:
    """InvalidState unless the status machine allows current -> target."""
    if BotStatus(target) not in TRANSITIONS[BotStatus(current)]:
        raise InvalidState(f"a bot cannot go from {current} to {target}",
                           {"status": current, "allowed_actions": allowed_actions(current)})
