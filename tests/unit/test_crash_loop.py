"""A supervised gateway that exits at once looks FAILED only between its relaunches and STARTING right after
each: the ready wait must still end, by counting the restarts during the wait (the CI run where an upgrade to a
version with no gateway waited out its 900 s deadline: its FAILED looks kept being reset by STARTING ones)."""

from __future__ import annotations

import time

import pytest

from clawster.services import workflow
from functions.tasks import bot_workflow
from layers.providers.base import Failure, GatewayState, GatewayStatus
from layers.providers.errors import CrashLooping, StartFailed

BOT = "01BOT"


def look(state: GatewayState, restarts: int) -> GatewayStatus:
    failed = state is GatewayState.FAILED
    return GatewayStatus(BOT, state, "0.0.1", detail="exit code 1" if failed else "launching", restarts=restarts,
                         failure=Failure.START_FAILED if failed else None, exit_code=1 if failed else None)


class Scripted:
    """A provider whose describe() answers the looks of a script, one per call."""

    def __init__(self, looks: list[GatewayStatus]):
        self.looks = iter(looks)

    def describe(self, bot_id: str) -> GatewayStatus:
        return next(self.looks)


@pytest.fixture
def wait(monkeypatch):
    monkeypatch.setattr(workflow, "progress", lambda *args, **kwargs: None)  # the step record: not what is tested

    def run(looks: list[GatewayStatus], **state) -> list[str]:
        """Each look's outcome as the state machine sees it: the gateway state, or the error's class name."""
        provider = Scripted(looks)
        monkeypatch.setattr(bot_workflow, "_provider", lambda _state: provider)
        current = {"bot_id": BOT, "deadline_at": time.time() + 900} | state
        seen = []
        for _ in looks:
            try:
                current = bot_workflow.check_ready(current, "exec-1")
                seen.append(current["gateway_state"])
            except (CrashLooping, StartFailed) as error:
                seen.append(type(error).__name__)
        return seen

    return run


def test_a_gateway_relaunched_three_times_without_serving_is_a_crash_loop(wait):
    S, F = GatewayState.STARTING, GatewayState.FAILED
    looks = [look(S, 4), look(F, 4), look(S, 5), look(F, 5), look(S, 6), look(S, 7), look(F, 7), look(F, 7)]
    # Hand-written: STARTING looks go on waiting and FAILED ones are retried, until the third restart since
    # the first look (4 → 7), from which every look is the permanent crash loop.
    assert wait(looks) == ["STARTING", "StartFailed", "STARTING", "StartFailed", "STARTING",
                           "CrashLooping", "CrashLooping", "CrashLooping"]


def test_restarts_before_the_wait_and_in_another_wait_do_not_count(wait):
    S = GatewayState.STARTING
    # A gateway restarted 9 times in its life, 2 during this wait: still waiting.
    assert wait([look(S, 9), look(S, 10), look(S, 11)]) == ["STARTING"] * 3
    # The rollback's wait counts from its own first look, not from the upgrade's.
    rollback = {"waiting_step": "rollback_ready", "restarts_at": {"ready": 0}}
    assert wait([look(S, 5), look(S, 6)], **rollback) == ["STARTING"] * 2


def test_the_crash_loop_is_a_start_failure_that_is_not_retried():
    error = bot_workflow.crash_loop(look(GatewayState.FAILED, 3), 0)
    assert error is not None and error.code == "START_FAILED" and not error.retryable
    assert "restarted 3 times without serving" in error.message and error.details["exit_code"] == 1
    assert bot_workflow.crash_loop(look(GatewayState.FAILED, 2), 0) is None
