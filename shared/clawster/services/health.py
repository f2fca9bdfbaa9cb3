"""The health poller (job-health, every minute): each RUNNING or DEGRADED bot that has a gateway and no
workflow owning it is checked, and moves RUNNING -> DEGRADED when its gateway is unhealthy, DEGRADED ->
RUNNING when it is healthy again. Each transition is recorded (a conditional write with its audit event,
actor "clawster-health") and streamed (bot.status on the bot's, fleet's and workspace's topics).

A check: the provider's describe (RUNNING, or why not: STARTING, FAILED, STOPPED, gone), then the gateway's
own `health` over its admin RPC with a short timeout (HEALTH_TIMEOUT_S): healthy when it answers ok. A
provider that cannot answer (its API throttled or down) says nothing about the gateway: no transition.
Each judged probe is appended to the bot's probe history (services/probe_history.py: one small UpdateItem; the
rollout's SLO gate reads it).
The write is conditioned on the version read, the status read and no intent, so a workflow that took the
bot meanwhile, or a user edit, wins; the next run looks again.

Paging: the status index (gsi2 `BOTS#<status>#<shard>`), one Query per shard and page, for RUNNING then
DEGRADED: never a Scan. Each run starts at another shard (the minute of the hour, mod 16), so when a run
is cut short by its budget the bots it did not reach are first in line on a later run.

Concurrency and budget: checks run on a thread pool of CONCURRENCY, fed as the pages arrive (at most
2 x CONCURRENCY in flight, so memory stays flat); no new check starts with less than RESERVE_MS of the
Lambda's time left (context.get_remaining_time_in_millis). The report says how many were checked and
whether the run stopped early.

At 10,000 bots (Lambda timeout 60 s, 1,024 MB; rate(1 minute)):
- reading: 2 statuses x 16 shards = 32 partitions; 10,000 items / PAGE_SIZE 100 = 100 pages + <= 32 last
  pages = ~130 Queries x ~10 ms = ~1.3 s, on the pool's feeder thread while checks already run;
- a healthy check: describe (~50-100 ms, one cloud API call; locally two loopback HTTP probes) + health
  RPC (~20-50 ms) = <= ~150 ms; an unhealthy one is bounded by the timeouts: <= HEALTH_TIMEOUT_S = 3 s for
  the RPC (a describe that hangs is the provider's own timeout);
- CONCURRENCY 64 checks at once over (60 - 10 reserve) = 50 s is 3,200 check-seconds per run:
  all 10,000 healthy: 10,000 x 0.15 s / 64 = ~23 s; with 5 % (500) hung at the 3 s timeout:
  (9,500 x 0.15 + 500 x 3) / 64 = ~46 s: both fit. Transitions add one TransactWriteItems (~20 ms) and
  the stream fan-out each, only for the bots that changed.
- Beyond that (e.g. a whole region down: 10,000 x 3 s / 64 = ~470 s) the budget stops the run at ~1,000
  checks and the rotating first shard spreads the rest over the next runs; `stopped_early` and
  `checked` in the report (and the log) say so.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clawster.domain import bots as machine
from clawster.domain.diff import diff
from clawster.domain.errors import VersionConflict
from clawster.services import sweep
from clawster.store.entities import AuditEvent, Bot
from clawster.store.transaction import Change

log = logging.getLogger(__name__)

HEALTH_ACTOR = "clawster-health"
PAGE_SIZE = 100
CONCURRENCY = 64
HEALTH_TIMEOUT_S = 3.0
RESERVE_MS = 10_000  # no new check with less than this left: the ones in flight end within it
POLLED = (machine.BotStatus.RUNNING, machine.BotStatus.DEGRADED)


@dataclass(frozen=True)
class Health:
    healthy: bool | None  # None: unknown (the provider did not answer): no transition
    detail: str = ""


@dataclass
class HealthReport(sweep.Tally):
    listed: int = 0  # bots read from the index
    checked: int = 0
    healthy: int = 0
    unhealthy: int = 0
    unknown: int = 0
    degraded: int = 0  # RUNNING -> DEGRADED by this run
    recovered: int = 0  # DEGRADED -> RUNNING by this run
    raced: int = 0  # the bot changed between the read and the write: left for the next run


def poll(*, probe: Callable[[Bot], Health], remaining_ms: Callable[[], int], request_id: str,
         concurrency: int = CONCURRENCY, first_shard: int | None = None) -> HealthReport:
    """Check every eligible bot (module docstring). `probe(bot)` is the health check (`gateway_health` with a
    provider); `request_id` goes on the audit events (the job's invocation)."""
    started, report = time.monotonic(), HealthReport()
    bots = (bot for bot in sweep.bots_in([s.value for s in POLLED], first_shard=first_shard, page_size=PAGE_SIZE,
                                         listed=lambda: report.add(listed=1))
            if bot.target and not bot.intent)
    report.stopped_early = sweep.fan_out(bots, lambda bot: _check(bot, probe, request_id, report),
                                         concurrency=concurrency, remaining_ms=remaining_ms, reserve_ms=RESERVE_MS,
                                         name="health")
    report.elapsed_s = round(time.monotonic() - started, 3)
    log.info("health poll: %s", report.as_dict())
    return report


def _check(bot: Bot, probe: Callable[[Bot], Health], request_id: str, report: HealthReport) -> None:
    try:
        health = probe(bot)
    except Exception as error:  # noqa: BLE001 - one bot's surprise must not end the run
        log.warning("health check of bot %s failed: %s", bot.id, error)
        health = Health(None, str(error))
    report.add(checked=1)
    if health.healthy is None:
        report.add(unknown=1)
        return
    report.add(healthy=1) if health.healthy else report.add(unhealthy=1)
    _remember(bot, health.healthy)
    if bot.status == machine.BotStatus.RUNNING.value and not health.healthy:
        if transition(bot, machine.BotStatus.DEGRADED, f"health check failed: {health.detail}"[:1000], request_id):
            report.add(degraded=1)
        else:
            report.add(raced=1)
    elif bot.status == machine.BotStatus.DEGRADED.value and health.healthy:
        if transition(bot, machine.BotStatus.RUNNING, None, request_id):
            report.add(recovered=1)
        else:
            report.add(raced=1)


def _remember(bot: Bot, healthy: bool) -> None:
    """The probe's outcome into the bot's probe history (the rollout SLO gate reads it). A failed write loses one
    sample, never the run."""
    from clawster.services import probe_history

    try:
        probe_history.record(bot.workspace_id, bot.id, healthy)
    except Exception as error:  # noqa: BLE001 - the history is an aid; the health transition is the job's work
        log.warning("recording the health probe of bot %s failed: %s", bot.id, error)


def transition(bot: Bot, status: machine.BotStatus, reason: str | None, request_id: str) -> bool:
    """Move the bot as read to `status` (a legal transition), if it is still as read: same version and status,
    no workflow owning it. Recorded with its audit event, then streamed. False when it changed meanwhile."""
    from clawster.services.workflow import announce

    machine.check_transition(bot.status, status)
    before, read_status, read_version = _view(bot), bot.status, bot.version
    bot.status, bot.status_reason = status.value, reason
    change = Change().edit(bot, ["status", "status_reason"], expected_version=read_version,
                           condition=(Bot.status == read_status) & Bot.intent.does_not_exist(),
                           stale_error=lambda: VersionConflict("the bot changed since the health check read it"))
    after = _view(bot)
    change.audit(AuditEvent.new(workspace_id=bot.workspace_id, actor=HEALTH_ACTOR, role=None,
                                action=f"bot.health.{status.value.lower()}", outcome="ALLOWED", target=f"bot/{bot.id}",
                                before=before, after=after, diff=diff(before, after), reason=reason,
                                request_id=request_id))
    try:
        change.commit()
    except VersionConflict:
        return False
    announce(bot, "bot.status", {"status": bot.status, "reason": reason, "action": "health", "request_id": request_id})
    return True


def _view(bot: Bot) -> dict[str, Any]:
    return json.loads(json.dumps(bot.public(), default=str))


def gateway_health(provider_for: Callable[..., Any], bot: Bot, timeout_s: float = HEALTH_TIMEOUT_S) -> Health:
    """The provider's view of the bot's gateway, then the gateway's own `health` (admin RPC, `timeout_s`)."""
    from clawster.gateway.client import GatewayClient
    from clawster.gateway.errors import GatewayError
    from clawster.gateway.http_rpc import AdminRpcTransport
    from clawster.secrets import resolve
    from clawster.services.targets import settings_of
    from layers.providers.base import GatewayState
    from layers.providers.errors import GatewayNotFound, ProviderError

    try:
        provider = provider_for(bot.target, settings_of(bot))
        status = provider.describe(bot.id)
    except GatewayNotFound:
        return Health(False, f"the {bot.target} provider has no gateway for this bot")
    except ProviderError as error:
        return Health(None, f"the {bot.target} provider did not answer: {error.message}")
    if status.state is not GatewayState.RUNNING:
        return Health(False, f"the gateway is {status.state.value}" + (f": {status.detail}" if status.detail else ""))
    endpoint = status.endpoint or provider.endpoint(bot.id)
    client = GatewayClient(AdminRpcTransport(endpoint.http_url, resolve(endpoint.token_ref), timeout_s=timeout_s))
    try:
        payload = client.health()
    except GatewayError as error:
        return Health(False, f"the gateway's health call failed: {error.message}")
    finally:
        client.close()
    if isinstance(payload, dict) and payload.get("ok") is True:
        return Health(True, "ok")
    return Health(False, "the gateway reports itself unhealthy")
