"""The scheduled jobs' own rules, without a table: which intents are overdue, their deadlines, and the
health poller's pool and budget against doubles (the real runs are in tests/workflows/test_jobs.py)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from clawster.domain.bots import INTENT_DEADLINE_S, Workflow, intent_deadline
from clawster.services import drift, health, probe_history, sweeper
from clawster.store.entities import Bot

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def probes(monkeypatch):
    """The probes the poller records into the bots' probe history (no table here: a list)."""
    recorded: list[tuple[str, bool]] = []
    monkeypatch.setattr(probe_history, "record", lambda ws, bot_id, healthy: recorded.append((bot_id, healthy)))
    return recorded


def _bot(status: str, intent: dict | None) -> Bot:
    return Bot(id="b1", workspace_id="w", fleet_id="f", name="n", status=status, desired_revision_id="r",
               intent=intent, target="local", version=1)


def test_every_workflow_has_a_deadline_beyond_the_state_machines_own():
    from functions.tasks.bot_workflow import READY_DEADLINE_S

    for action in Workflow:
        assert INTENT_DEADLINE_S[action] >= READY_DEADLINE_S + 600, action
    assert INTENT_DEADLINE_S[Workflow.UPGRADE] >= 2 * READY_DEADLINE_S + 600  # new version, then the rollback


def test_a_request_with_its_own_ready_wait_gets_that_much_more():
    assert intent_deadline(Workflow.PROVISION, NOW, 1200) == NOW + timedelta(seconds=1800 + 1200)


@pytest.mark.parametrize(("status", "intent", "overdue"), [
    ("CREATING", {"id": "r", "action": "provision", "deadline_at": (NOW - timedelta(seconds=1)).isoformat()}, True),
    ("CREATING", {"id": "r", "action": "provision", "deadline_at": (NOW + timedelta(seconds=1)).isoformat()}, False),
    # Recorded before intents carried a deadline: the request time plus the allowance.
    ("RECONCILING", {"id": "r", "action": "restart", "requested_at": (NOW - timedelta(hours=1)).isoformat()}, True),
    ("DELETING", {"id": "r", "action": "delete", "requested_at": (NOW - timedelta(minutes=5)).isoformat()}, False),
    ("RUNNING", {"id": "r", "action": "restart", "deadline_at": (NOW - timedelta(hours=1)).isoformat()}, False),
    ("CREATING", None, False),
])
def test_only_a_working_bot_past_its_intents_deadline_is_overdue(status, intent, overdue):
    assert (sweeper.overdue(_bot(status, intent), NOW) is not None) is overdue


class Pages:
    """Bot.by_status.query, patched: `count` RUNNING bots in shard 0, none elsewhere."""

    def __init__(self, count: int):
        self.count = count
        self.partitions: list[str] = []

    def query(self, partition, page_size=None):
        self.partitions.append(partition)
        if partition != Bot.status_partition("RUNNING", 0):
            return iter(())
        return iter(_bot("RUNNING", None) for _ in range(self.count))


def test_the_poller_checks_on_a_pool_and_reads_every_shard_of_both_statuses(monkeypatch, probes):
    pages = Pages(200)
    monkeypatch.setattr(Bot, "by_status", pages)
    active, most = [0], [0]
    lock = threading.Lock()

    def probe(bot):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return health.Health(True, "ok")

    started = time.monotonic()
    report = health.poll(probe=probe, remaining_ms=lambda: 60_000, request_id="r", concurrency=32, first_shard=5)
    elapsed = time.monotonic() - started
    assert report.checked == report.healthy == 200 and not report.stopped_early
    assert probes == [("b1", True)] * 200  # each judged probe is kept for the rollout SLO gate
    assert most[0] > 1 and elapsed < 200 * 0.05 / 2  # concurrent: far below the sequential 10 s
    assert len(pages.partitions) == 2 * Bot.STATUS_SHARDS
    assert pages.partitions[0] == Bot.status_partition("RUNNING", 5)  # a rotating first shard


def test_the_poller_starts_no_check_once_its_budget_is_used(monkeypatch):
    monkeypatch.setattr(Bot, "by_status", Pages(500))
    left = iter([60_000] * 10 + [health.RESERVE_MS - 1] * 1000)
    report = health.poll(probe=lambda bot: health.Health(True), remaining_ms=lambda: next(left), request_id="r",
                         first_shard=0)
    assert report.stopped_early and report.checked == 10


def test_an_unknown_answer_changes_nothing(monkeypatch, probes):
    monkeypatch.setattr(Bot, "by_status", Pages(3))
    calls = []
    monkeypatch.setattr(health, "transition", lambda *args: calls.append(args) or True)
    report = health.poll(probe=lambda bot: health.Health(None, "provider down"), remaining_ms=lambda: 60_000,
                         request_id="r", first_shard=0)
    assert report.unknown == 3 and calls == []
    assert probes == []  # no answer is no data: not a failed probe


def test_a_failed_recording_of_a_probe_does_not_stop_the_run(monkeypatch):
    monkeypatch.setattr(Bot, "by_status", Pages(3))
    monkeypatch.setattr(health, "transition", lambda *args: True)

    def broken(*args):
        raise RuntimeError("table throttled")

    monkeypatch.setattr(probe_history, "record", broken)
    report = health.poll(probe=lambda bot: health.Health(False, "down"), remaining_ms=lambda: 60_000,
                         request_id="r", first_shard=0)
    assert report.checked == report.unhealthy == report.degraded == 3


def test_the_drift_job_reads_every_shard_checks_only_bots_it_may_and_keeps_its_budget(monkeypatch):
    pages = Pages(30)
    monkeypatch.setattr(Bot, "by_status", pages)
    checked = []
    monkeypatch.setattr(drift, "check", lambda bot, live, request_id, report: checked.append(bot))
    report = drift.run(live=lambda bot: None, remaining_ms=lambda: 60_000, request_id="r", first_shard=3)
    assert report.listed == 30 and checked == []  # Pages' bots have no applied revision: nothing to compare
    assert len(pages.partitions) == 2 * Bot.STATUS_SHARDS and pages.partitions[0] == Bot.status_partition("RUNNING", 3)

    def applied(status, intent):
        bot = _bot(status, intent)
        bot.applied_revision_id = "r"
        return bot

    monkeypatch.setattr(Pages, "query", lambda self, partition, page_size=None: iter(
        [applied("RUNNING", None), applied("RUNNING", {"id": "x", "action": "apply"})] * 10
        if partition == Bot.status_partition("RUNNING", 0) else ()))
    left = iter([60_000] * 4 + [drift.RESERVE_MS - 1] * 100)
    report = drift.run(live=lambda bot: None, remaining_ms=lambda: next(left), request_id="r", first_shard=0)
    assert report.stopped_early and len(checked) == 4 and all(b.intent is None for b in checked)
