"""The bot status machine, against a table written here by hand (not read from clawster.domain.bots):
which action each status allows, and where a bot may go from each status."""

from __future__ import annotations

import pytest

from clawster.domain import bots
from clawster.domain.errors import InvalidState

STATUSES = ["PENDING", "CREATING", "RECONCILING", "RUNNING", "DEGRADED", "PAUSED", "STOPPED", "ERROR", "DELETING"]

# status -> the actions a caller may start from it. A workflow's working status allows none.
ALLOWED = {
    "PENDING": {"provision", "delete"},
    "CREATING": set(),
    "RECONCILING": set(),
    "RUNNING": {"restart", "pause", "stop", "upgrade", "apply", "delete"},
    "DEGRADED": {"restart", "pause", "stop", "upgrade", "apply", "delete"},
    "PAUSED": {"resume", "stop", "delete"},
    "STOPPED": {"start", "delete"},
    "ERROR": {"provision", "restart", "stop", "delete"},
    "DELETING": set(),
}
# action -> (status while it runs, status it ends in; None: the bot is gone)
RUNS_AS = {
    "provision": ("CREATING", "RUNNING"), "restart": ("RECONCILING", "RUNNING"),
    "pause": ("RECONCILING", "PAUSED"), "resume": ("RECONCILING", "RUNNING"),
    "stop": ("RECONCILING", "STOPPED"), "start": ("RECONCILING", "RUNNING"),
    "upgrade": ("RECONCILING", "RUNNING"), "apply": ("RECONCILING", "RUNNING"), "delete": ("DELETING", None),
}
# Moves nothing may make (a sample a reviewer can check at a glance).
NEVER = [("DELETING", "RUNNING"), ("PENDING", "RUNNING"), ("STOPPED", "RUNNING"), ("CREATING", "DELETING"),
         ("PAUSED", "RUNNING"), ("ERROR", "RUNNING"), ("RECONCILING", "DELETING")]


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", sorted(RUNS_AS))
def test_each_action_starts_only_from_its_statuses(status, action):
    workflow = bots.Workflow(action)
    if action in ALLOWED[status]:
        assert bots.begin(workflow, status) == RUNS_AS[action][0]
        assert bots.outcome(workflow) == (RUNS_AS[action][1] and bots.BotStatus(RUNS_AS[action][1]))
    else:
        with pytest.raises(InvalidState) as refused:
            bots.begin(workflow, status)
        assert refused.value.details == {"status": status, "allowed_actions": sorted(ALLOWED[status])}
        assert status in refused.value.message


@pytest.mark.parametrize("status", STATUSES)
def test_the_allowed_actions_named_in_a_refusal_are_the_tables(status):
    assert bots.allowed_actions(status) == sorted(ALLOWED[status])


@pytest.mark.parametrize("action", sorted(RUNS_AS))
def test_every_action_path_is_a_legal_transition(action):
    working, done = RUNS_AS[action]
    for status in STATUSES:
        if action in ALLOWED[status]:
            bots.check_transition(status, working)
    if done:
        bots.check_transition(working, done)
    bots.check_transition(working, "ERROR")  # every workflow may fail


@pytest.mark.parametrize(("current", "target"), NEVER)
def test_illegal_moves_are_refused(current, target):
    with pytest.raises(InvalidState):
        bots.check_transition(current, target)


def test_the_api_intents_are_workflows():
    assert {a.value for a in bots.BotAction} == {"provision", "restart", "pause", "resume", "stop", "start"}


# status -> the health a fleet's summary counts it in (the console's fleet list shows these)
HEALTH = {
    "RUNNING": "healthy",
    "DEGRADED": "unhealthy", "ERROR": "unhealthy",
    "CREATING": "in_progress", "RECONCILING": "in_progress", "DELETING": "in_progress",
    "PENDING": "inactive", "PAUSED": "inactive", "STOPPED": "inactive",
}


@pytest.mark.parametrize("status", STATUSES)
def test_each_status_counts_in_one_health(status):
    summary = bots.summarize([status])
    assert summary["by_health"] == {h: int(h == HEALTH[status]) for h in ("healthy", "unhealthy", "in_progress", "inactive")}
    assert summary["by_status"] == {s: int(s == status) for s in STATUSES} and summary["total"] == 1


def test_a_summary_counts_every_status_and_health_zeros_included():
    summary = bots.summarize(["RUNNING", "RUNNING", "ERROR", "STOPPED", "CREATING"])
    assert summary == {
        "total": 5,
        "by_status": {"PENDING": 0, "CREATING": 1, "RECONCILING": 0, "RUNNING": 2, "DEGRADED": 0, "PAUSED": 0,
                      "STOPPED": 1, "ERROR": 1, "DELETING": 0},
        "by_health": {"healthy": 2, "unhealthy": 1, "in_progress": 1, "inactive": 1},
    }
    assert bots.summarize([]) == {"total": 0, "by_status": dict.fromkeys(STATUSES, 0),
                                  "by_health": {"healthy": 0, "unhealthy": 0, "in_progress": 0, "inactive": 0}}
