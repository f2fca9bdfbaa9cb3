"""Bot status machine and lifecycle intents (DESIGN §3)."""

from __future__ import annotations

from enum import StrEnum

from clawster.domain.errors import InvalidState


class BotStatus(StrEnum):
    CREATING = "CREATING"
    PENDING = "PENDING"
    RECONCILING = "RECONCILING"
    RUNNING = "RUNNING"
    DEGRADED = "DEGRADED"
    PAUSED = "PAUSED"
    STOPPED = "STOPPED"
    ERROR = "ERROR"
    DELETING = "DELETING"


class BotAction(StrEnum):
    RESTART = "restart"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


S = BotStatus
# Which statuses each intent may be requested from. The provisioner (a later issue) executes them.
ALLOWED_FROM: dict[BotAction, frozenset[BotStatus]] = {
    BotAction.RESTART: frozenset({S.RUNNING, S.DEGRADED, S.ERROR}),
    BotAction.PAUSE: frozenset({S.RUNNING, S.DEGRADED}),
    BotAction.RESUME: frozenset({S.PAUSED}),
    BotAction.STOP: frozenset({S.PENDING, S.RUNNING, S.DEGRADED, S.PAUSED, S.ERROR}),
}

INITIAL_STATUS = BotStatus.PENDING  # recorded, waiting for the provisioner


def check_intent(action: BotAction, status: str, pending: str | None) -> None:
    """Raise InvalidState (409) when `action` cannot be requested now."""
    if pending:
        raise InvalidState(f"bot already has a pending '{pending}' intent", {"pending_intent": pending})
    allowed = ALLOWED_FROM[action]
    if BotStatus(status) not in allowed:
        raise InvalidState(
            f"cannot {action.value} a bot that is {status}",
            {"status": status, "allowed_from": sorted(s.value for s in allowed)},
        )


def check_deletable(status: str) -> None:
    if status == BotStatus.DELETING:
        raise InvalidState("bot is already being deleted", {"status": status})
