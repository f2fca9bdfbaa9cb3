"""The local scheduler: AWS schedule expressions, the event each run gets, fire(), the timer on its rate,
never two runs of one job at once, and a clean stop. No stack: targets are small doubles."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import pytest

from clawster.local.scheduler import Cron, LocalScheduler, Rate, parse
from functions import catalog
from functions.catalog import Function, Schedule

CEILING_S = 60  # generous: CI has 2 busy cores


def _job(name: str = "probe", expression: str = "rate(1 minute)") -> Function:
    return Function(name=name, handler="functions.api.meta.handler", triggers=(Schedule(expression),))


class Recorder:
    """A target that records each event, optionally taking `run_s`, and the most runs seen at once."""

    def __init__(self, run_s: float = 0.0, fail: bool = False):
        self.events: list[dict] = []
        self.run_s, self.fail = run_s, fail
        self.active = self.most_active = 0
        self._lock = threading.Lock()

    def invoke(self, event):
        with self._lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            time.sleep(self.run_s)
            self.events.append(event)
            if self.fail:
                raise RuntimeError("boom")
            return {"run": len(self.events)}
        finally:
            with self._lock:
                self.active -= 1


def _until(what: str, probe, ceiling_s: float = CEILING_S) -> None:
    deadline = time.monotonic() + ceiling_s
    while not probe():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


@pytest.mark.parametrize(("expression", "period_s"), [
    ("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(1 hour)", 3600), ("rate(2 hours)", 7200),
    ("rate(1 day)", 86400), ("rate(3 days)", 259200),
])
def test_rate_expressions_parse_to_their_period(expression, period_s):
    assert parse(expression) == Rate(period_s)


@pytest.mark.parametrize("expression", [
    "rate(1 minutes)", "rate(2 minute)", "rate(0 minutes)", "rate(5 seconds)", "every minute",
    "cron(0 12 * * * *)", "cron(0 12 ? * ? *)", "cron(0 12 L * ? *)", "cron(0 12 ? * 2#1 *)", "cron(0 12 1W * ? *)",
    "cron(0 24 * * ? *)", "cron(0 12 * * ?)",
])
def test_unsupported_or_invalid_expressions_are_refused(expression):
    with pytest.raises(ValueError):
        parse(expression)


@pytest.mark.parametrize(("expression", "after", "expected"), [
    ("cron(0 12 * * ? *)", "2026-11-26T04:00", "2026-11-26T12:00"),
    ("cron(0 12 * * ? *)", "2026-11-26T12:00", "2026-11-27T12:00"),
    ("cron(*/15 * * * ? *)", "2026-11-26T04:07", "2026-11-26T04:15"),
    ("cron(0 8 ? * MON-FRI *)", "2026-11-27T09:00", "2026-11-30T08:00"),  # Friday after 8 -> Monday
    ("cron(30 1 1 JAN,JUL ? *)", "2026-11-26T00:00", "2027-01-01T01:30"),
    ("cron(0 0 ? * 1 *)", "2026-11-26T00:00", "2026-11-29T00:00"),  # 1 = Sunday, as on AWS
    ("cron(0 6 29 2 ? 2028)", "2026-11-26T00:00", "2028-02-29T06:00"),
])
def test_cron_expressions_find_their_next_run_in_utc(expression, after, expected):
    schedule = parse(expression)
    assert isinstance(schedule, Cron)
    moment = datetime.fromisoformat(after).replace(tzinfo=timezone.utc)
    assert schedule.next_after(moment) == datetime.fromisoformat(expected).replace(tzinfo=timezone.utc)


def test_every_catalog_schedule_parses_and_the_jobs_are_scheduled():
    scheduled = catalog.schedules()
    assert {f.name for f, _, _ in scheduled} >= {"job-sweeper", "job-health", "job-drift"}
    assert catalog.BY_NAME["job-drift"].triggers == (catalog.Schedule("rate(1 minute)"),)  # locally every minute
    for function, _, trigger in scheduled:
        parse(trigger.expression)
        assert function.timeout_s <= 60, "a job must finish before its next minute's run"
    scheduler = LocalScheduler({})
    assert set(scheduler.jobs) == {catalog.schedule_name(f, i) for f, i, _ in scheduled}


def test_fire_runs_the_job_now_with_the_schedule_event_and_returns_its_result():
    target = Recorder()
    scheduler = LocalScheduler({"probe": target}, [_job()])
    assert scheduler.fire("probe") == {"run": 1}  # by function name
    assert scheduler.fire("clawster-probe") == {"run": 2}  # by schedule name
    event = target.events[0]
    template = catalog.schedule_input(_job(), 0)
    assert set(event) == set(template)
    assert event["schedule"] == "clawster-probe" and event["expression"] == "rate(1 minute)"
    assert event["attempt"] == "1" and "<aws" not in str(event)
    datetime.strptime(event["scheduled_time"], "%Y-%m-%dT%H:%M:%SZ")
    assert target.events[0]["execution_id"] != target.events[1]["execution_id"]


def test_fire_raises_the_jobs_error_and_counts_it():
    scheduler = LocalScheduler({"probe": Recorder(fail=True)}, [_job()])
    with pytest.raises(RuntimeError, match="boom"):
        scheduler.fire("probe")
    assert scheduler.job("probe").failures == 1


def test_an_unknown_job_is_named_in_the_error():
    with pytest.raises(KeyError, match="clawster-probe"):
        LocalScheduler({"probe": Recorder()}, [_job()]).fire("nope")


def test_the_timer_fires_each_job_on_its_rate_and_stops_cleanly():
    fast, slow = Recorder(), Recorder()
    scheduler = LocalScheduler({"fast": fast, "slow": slow},
                               [_job("fast", "rate(1 minute)"), _job("slow", "rate(1 hour)")], time_scale=0.002)
    scheduler.start()  # a minute lasts 0.12 s; an hour 7.2 s
    try:
        _until("three runs of the fast job", lambda: len(fast.events) >= 3)
        assert slow.events == []  # not before its own period
        first = [datetime.strptime(e["scheduled_time"], "%Y-%m-%dT%H:%M:%SZ") for e in fast.events]
        assert first == sorted(first)
    finally:
        scheduler.stop()
    assert not scheduler.running
    runs = len(fast.events)
    time.sleep(0.5)  # several periods: nothing runs after stop()
    assert len(fast.events) == runs


def test_a_job_never_overlaps_itself():
    target = Recorder(run_s=0.5)
    scheduler = LocalScheduler({"probe": target}, [_job()], time_scale=0.001)  # ticks every 0.06 s
    scheduler.start()
    try:
        _until("ticks skipped while a run was going", lambda: scheduler.job("probe").skipped >= 3)
        assert scheduler.fire("probe")  # waits for the run in flight, then runs alone
    finally:
        scheduler.stop()
    assert target.most_active == 1
    assert scheduler.job("probe").runs == len(target.events)


def test_stop_waits_for_the_run_in_flight():
    target = Recorder(run_s=0.5)
    scheduler = LocalScheduler({"probe": target}, [_job()], time_scale=0.001)
    scheduler.start()
    _until("a run in flight", lambda: target.active == 1)
    scheduler.stop()
    assert target.active == 0 and len(target.events) >= 1
