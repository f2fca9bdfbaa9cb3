"""The stuck-work sweeper (job-sweeper, every minute): a bot owned by a workflow past its deadline ends in
ERROR with the reason, and that workflow's execution is stopped.

A workflow owns its bot through `intent` (services/bots.py `_own`), whose `deadline_at` is generous beyond
the state machine's own deadlines (domain/bots.py INTENT_DEADLINE_S): a live workflow always ends itself
first, so only one that died or wedged is swept. For each overdue bot the sweeper re-reads it (the index is
eventually consistent on AWS), stops the execution named in the intent (one that is missing or already
ended is fine), then settles the bot to ERROR through services/workflow.settle with the intent's request id:
that write is conditioned on the same request still owning the bot, so a workflow that finished meanwhile
wins and the sweeper leaves its outcome alone. A bot within its deadline is never touched.

Paging: the status index (gsi2 `BOTS#<status>#<shard>`, Bot.in_status), one Query per shard and page, for
each working status (CREATING, RECONCILING, DELETING): never a Scan.

At 10,000 bots (all of them in working statuses, the worst case; normally a handful):
- reading: 3 statuses x 16 shards = 48 partitions, 10,000 items / PAGE_SIZE 100 = 100 pages + <= 48 last
  pages = ~150 Queries x ~10 ms = ~1.5 s (items ~2 KB: ~20 MB read, ~2,500 RCU eventually consistent,
  spread over 48 index partitions);
- sweeping one overdue bot: a consistent GetItem (~5 ms) + StopExecution (~50 ms) + one TransactWriteItems
  (~20 ms) + the stream fan-out (~10 ms per subscriber) = ~100 ms, one at a time: ~450 bots per 60 s run.
  The budget (context.get_remaining_time_in_millis) stops new sweeps with RESERVE_MS left; the rest are
  swept on the next minute's run (`unfinished` in the report). 10,000 stuck at once: ~23 runs, but the
  index read is repeated each time (~1.5 s), so every run makes progress.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from clawster.domain import bots as machine
from clawster.services import workflow
from clawster.store.entities import Bot

log = logging.getLogger(__name__)

PAGE_SIZE = 100
RESERVE_MS = 10_000  # stop starting sweeps with this much of the Lambda's time left


@dataclass
class SweepReport:
    examined: int = 0  # bots read from the index
    overdue: int = 0  # past their deadline by the index read
    swept: int = 0  # ended in ERROR by this run
    stopped: int = 0  # executions stopped (the others were missing)
    finished_meanwhile: int = 0  # their workflow settled (or a new request took the bot) before our write
    failed: int = 0  # could not stop the execution: tried again on the next run
    unfinished: bool = False  # the time budget ran out before every overdue bot was swept
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def deadline_of(intent: dict[str, Any]) -> datetime | None:
    """The intent's deadline: `deadline_at`, or for an intent recorded before it existed, the request time plus
    the action's allowance."""
    if intent.get("deadline_at"):
        return datetime.fromisoformat(intent["deadline_at"])
    if intent.get("requested_at") and intent.get("action"):
        extra = intent.get("extra") or {}
        return machine.intent_deadline(machine.Workflow(intent["action"]), datetime.fromisoformat(intent["requested_at"]),
                                       extra.get("ready_deadline_s"))
    return None


def overdue(bot: Bot, moment: datetime) -> dict[str, Any] | None:
    """The bot's intent when a workflow owns it past its deadline, else None."""
    intent = bot.intent.as_dict() if bot.intent else None
    if not intent or not intent.get("id") or bot.status not in machine.WORKING:
        return None
    deadline = deadline_of(intent)
    return intent if deadline is not None and deadline < moment else None


def sweep(*, stop_execution: Callable[[str, str], bool], remaining_ms: Callable[[], int],
          moment: datetime | None = None, before_settle: Callable[[Bot], None] | None = None) -> SweepReport:
    """Sweep every overdue bot (see the module docstring). `stop_execution(arn, cause)` stops an execution and
    returns whether there was one (services/executions.stop); `before_settle` is a seam for tests that drive
    the race with a workflow finishing between the sweeper's read and its write."""
    started, report = time.monotonic(), SweepReport()
    moment = moment or datetime.now(timezone.utc)
    for status in sorted(machine.WORKING):
        for bot in Bot.in_status(status, page_size=PAGE_SIZE):
            report.examined += 1
            if overdue(bot, moment) is None:
                continue
            report.overdue += 1
            if remaining_ms() < RESERVE_MS:
                report.unfinished = True
                continue  # keep counting what is left; sweep it on the next run
            _sweep_one(bot, moment, report, stop_execution, before_settle)
    report.elapsed_s = round(time.monotonic() - started, 3)
    return report


def _sweep_one(listed: Bot, moment: datetime, report: SweepReport, stop_execution: Callable[[str, str], bool],
               before_settle: Callable[[Bot], None] | None) -> None:
    try:
        bot = workflow.load(listed.workspace_id, listed.id)  # consistent: the index may lag
    except workflow.Superseded:
        report.finished_meanwhile += 1  # deleted meanwhile
        return
    intent = overdue(bot, moment)
    if intent is None or intent["id"] != (listed.intent.as_dict().get("id") if listed.intent else None):
        report.finished_meanwhile += 1
        return
    action, deadline = intent["action"], deadline_of(intent)
    assert deadline is not None
    reason = (f"the {action} workflow did not finish by its deadline {deadline.isoformat(timespec='seconds')} "
              f"(requested {intent.get('requested_at', '?')}): the sweeper stopped it")
    arn = intent.get("execution_arn")
    if arn:
        try:
            if stop_execution(arn, reason):
                report.stopped += 1
        except Exception as error:  # noqa: BLE001 - Step Functions unavailable: leave the bot for the next run
            log.warning("could not stop %s for bot %s: %s", arn, bot.id, error)
            report.failed += 1
            return
    if before_settle is not None:
        before_settle(bot)
    state = {"workspace_id": bot.workspace_id, "bot_id": bot.id, "request_id": intent["id"], "action": action,
             "fleet_id": bot.fleet_id}
    try:
        settled = workflow.settle(state, machine.BotStatus.ERROR, reason=reason)
    except workflow.Superseded:
        report.finished_meanwhile += 1
        return
    last = settled.last_workflow.as_dict() if settled.last_workflow else {}
    if settled.status == machine.BotStatus.ERROR.value and last.get("reason") == reason:
        report.swept += 1
        log.info("swept bot %s: %s", bot.id, reason)
    else:
        report.finished_meanwhile += 1  # the workflow settled it first (settle found it done by the request)
