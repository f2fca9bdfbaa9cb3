"""The local stand-in for EventBridge Scheduler: fires each Schedule-triggered catalog function on its rate
while the stack runs (moto stores schedules but never fires them: aws-local-emulation.md §1d).

Each Schedule trigger is a job named as its schedule is on AWS (`catalog.schedule_name`, e.g.
"clawster-job-health"; the function's name works too) and gets the event the schedule's Input
describes (`catalog.schedule_input`) with the context attributes filled in.

- `start()` runs a timer thread; `stop()` ends it and waits for the runs in flight. The dev stack starts
  it; the tests' stack does not, so only `fire()` runs jobs there and every run is one the test asked for.
- `fire(name)` runs the job now, in the caller's thread, and returns the function's result: deterministic
  tests. It waits for a run already in flight to end first.
- A job never overlaps itself: a tick that finds the previous run still going is skipped (counted in
  `skipped`), as a run would have been late anyway, and `fire` waits its turn.
- A run that raises is logged and counted (`failures`); the next tick runs again, as a schedule's next
  invocation would.

Expressions (AWS syntax, evaluated in UTC):
- `rate(1 minute)`, `rate(N minutes)`, `rate(1 hour)`, `rate(N hours)`, `rate(1 day)`, `rate(N days)`:
  singular unit for 1, plural otherwise, as AWS requires. The first run is one period after `start()`.
- `cron(minutes hours day-of-month month day-of-week year)`: each field `*`, a number, a range `a-b`, a
  step `*/n` or `a/n` or `a-b/n`, or a comma list of those; month and day-of-week also take names (JAN,
  MON; day-of-week 1-7 is SUN-SAT, as on AWS); `?` in exactly one of day-of-month and day-of-week.
  Not supported (refused with ValueError): `L`, `W`, `#`, time zones.
`time_scale` shrinks every period (0.01: a minute lasts 0.6 s), for tests of the timer itself.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

log = logging.getLogger("local.scheduler")

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {m: i for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                                        "NOV", "DEC"), start=1)}
_DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
CRON_HORIZON_DAYS = 366 * 5  # a cron expression with no run in this many days is refused


class Target(Protocol):
    def invoke(self, event: Any) -> Any: ...


# -- expressions -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rate:
    period_s: int

    def next_after(self, moment: datetime) -> datetime:
        return moment + timedelta(seconds=self.period_s)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: "?" (day-of-week decides)
    months: frozenset[int]
    weekdays: frozenset[int] | None  # AWS numbering, 1 = Sunday; None: "?"
    years: frozenset[int] | None  # None: "*"

    def matches(self, moment: datetime) -> bool:
        weekday = (moment.isoweekday() % 7) + 1  # Monday=1..Sunday=7 -> Sunday=1..Saturday=7
        return (moment.minute in self.minutes and moment.hour in self.hours and moment.month in self.months
                and (self.days is None or moment.day in self.days)
                and (self.weekdays is None or weekday in self.weekdays)
                and (self.years is None or moment.year in self.years))

    def next_after(self, moment: datetime) -> datetime:
        """The first whole minute strictly after `moment` that matches."""
        candidate = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        end = candidate + timedelta(days=CRON_HORIZON_DAYS)
        while candidate < end:
            day_matches = (candidate.month in self.months and (self.years is None or candidate.year in self.years)
                           and (self.days is None or candidate.day in self.days)
                           and (self.weekdays is None or (candidate.isoweekday() % 7) + 1 in self.weekdays))
            if not day_matches:  # skip the rest of the day at once
                candidate = candidate.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            if self.matches(candidate):
                return candidate
            candidate += timedelta(minutes=1)
        raise ValueError("the cron expression has no run in the next five years")


def parse(expression: str) -> Rate | Cron:
    """A Rate or Cron for an AWS schedule expression; ValueError (naming what is wrong) otherwise."""
    text = expression.strip()
    if rate := _RATE.match(text):
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            raise ValueError(f"{expression!r}: the rate must be at least 1")
        if (value == 1) != (not unit.endswith("s")):
            raise ValueError(f"{expression!r}: AWS wants the singular unit for 1 and the plural otherwise")
        return Rate(value * _UNIT_S[unit.rstrip("s")])
    if cron := _CRON.match(text):
        fields = cron.group(1).split()
        if len(fields) != 6:
            raise ValueError(f"{expression!r}: cron() takes 6 fields (minutes hours day-of-month month "
                             "day-of-week year)")
        minutes, hours, days, months, weekdays, years = fields
        if (days == "?") == (weekdays == "?"):
            raise ValueError(f"{expression!r}: exactly one of day-of-month and day-of-week must be '?'")
        return Cron(
            minutes=_field(minutes, 0, 59, {}, expression),
            hours=_field(hours, 0, 23, {}, expression),
            days=None if days == "?" else _field(days, 1, 31, {}, expression),
            months=_field(months, 1, 12, _MONTHS, expression),
            weekdays=None if weekdays == "?" else _field(weekdays, 1, 7, _DAYS, expression),
            years=None if years == "*" else _field(years, 1970, 2199, {}, expression),
        )
    raise ValueError(f"{expression!r}: not a rate() or cron() expression")


def _field(text: str, low: int, high: int, names: dict[str, int], expression: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = _number(step_text, names, expression) if step_text else 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _number(first, names, expression), _number(last, names, expression)
        else:
            start = _number(base, names, expression)
            end = high if step_text else start
        if not (low <= start <= end <= high) or step < 1:
            raise ValueError(f"{expression!r}: {part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _number(text: str, names: dict[str, int], expression: str) -> int:
    if text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ValueError(f"{expression!r}: {text!r} is not supported here (numbers, names, *, -, /, ',' and ?)")
    return int(text)


# -- the scheduler -----------------------------------------------------------------------------------------
@dataclass
class Job:
    name: str  # the schedule's name
    function: str  # the catalog function it invokes
    expression: str
    event: dict[str, str]  # the schedule's input, with <aws.scheduler.*> placeholders
    schedule: Rate | Cron = field(init=False)
    runs: int = 0
    failures: int = 0
    skipped: int = 0  # ticks that found the previous run still going
    last_result: Any = None
    _running: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _next_at: datetime | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.schedule = parse(self.expression)


class LocalScheduler:
    def __init__(self, targets: dict[str, Target], entries: Iterable[Any] | None = None, *, time_scale: float = 1.0):
        """`targets`: function name -> something with `.invoke(event)` (the stack's LocalFunctions).
        `entries`: catalog functions (default: functions.catalog.FUNCTIONS); each Schedule trigger is a job."""
        from functions import catalog

        self.targets, self.time_scale = targets, time_scale
        self.jobs: dict[str, Job] = {}
        for function in catalog.FUNCTIONS if entries is None else entries:
            for index, trigger in enumerate(function.triggers):
                if isinstance(trigger, catalog.Schedule):
                    name = catalog.schedule_name(function, index)
                    self.jobs[name] = Job(name, function.name, trigger.expression,
                                          catalog.schedule_input(function, index))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._runs: set[threading.Thread] = set()
        self._runs_lock = threading.Lock()

    # -- running a job -------------------------------------------------------------------------------------
    def job(self, name: str) -> Job:
        """A job by its schedule name, or by its function's name when that function has one schedule."""
        if name in self.jobs:
            return self.jobs[name]
        found = [job for job in self.jobs.values() if job.function == name]
        if len(found) != 1:
            raise KeyError(f"no schedule {name!r} (known: {', '.join(sorted(self.jobs))})")
        return found[0]

    def fire(self, name: str, timeout_s: float = 600.0) -> Any:
        """Run the job now and return its result (its exception is raised). Waits up to `timeout_s` for a run
        already in flight to end: never two runs of one job at once."""
        job = self.job(name)
        if not job._running.acquire(timeout=timeout_s):
            raise TimeoutError(f"{job.name}: the run in flight did not end within {timeout_s}s")
        try:
            return self._run(job, datetime.now(timezone.utc))
        finally:
            job._running.release()

    def _run(self, job: Job, scheduled: datetime) -> Any:
        event = dict(job.event, scheduled_time=scheduled.strftime("%Y-%m-%dT%H:%M:%SZ"),
                     execution_id=str(uuid.uuid4()), attempt="1")
        job.runs += 1
        try:
            job.last_result = self.targets[job.function].invoke(event)
        except Exception:
            job.failures += 1
            raise
        return job.last_result

    def _tick(self, job: Job, scheduled: datetime) -> None:
        """A timer's run, on a thread of its own; skipped while the previous run is still going."""
        try:
            if not job._running.acquire(blocking=False):
                job.skipped += 1
                log.warning("%s: skipped the %s run, the previous one is still going", job.name, scheduled.isoformat())
                return
            try:
                self._run(job, scheduled)
            except Exception:  # a failed run is logged; the next tick runs again
                log.exception("%s: the scheduled run failed", job.name)
            finally:
                job._running.release()
        finally:
            with self._runs_lock:
                self._runs.discard(threading.current_thread())

    # -- the timer -----------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        now = datetime.now(timezone.utc)
        for job in self.jobs.values():
            job._next_at = self._after(job, now)
        self._thread = threading.Thread(target=self._loop, name="local-scheduler", daemon=True)
        self._thread.start()

    def stop(self, grace_s: float = 60.0) -> None:
        """End the timer, then wait (up to `grace_s`) for the runs it started."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        deadline = time.monotonic() + grace_s
        with self._runs_lock:
            runs = list(self._runs)
        for run in runs:
            run.join(timeout=max(0.0, deadline - time.monotonic()))

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _after(self, job: Job, moment: datetime) -> datetime:
        if isinstance(job.schedule, Rate):
            return moment + timedelta(seconds=job.schedule.period_s * self.time_scale)
        return job.schedule.next_after(moment)  # cron is wall-clock: time_scale does not apply

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = datetime.now(timezone.utc)
            for job in self.jobs.values():
                assert job._next_at is not None
                if job._next_at <= now:
                    scheduled, job._next_at = job._next_at, self._after(job, max(now, job._next_at))
                    run = threading.Thread(target=self._tick, args=(job, scheduled), name=f"schedule-{job.name}",
                                           daemon=True)
                    with self._runs_lock:
                        self._runs.add(run)
                    run.start()
            upcoming = min((job._next_at for job in self.jobs.values() if job._next_at), default=None)
            wait_s = 1.0 if upcoming is None else (upcoming - datetime.now(timezone.utc)).total_seconds()
            self._stop.wait(min(max(wait_s, 0.01), 1.0))
