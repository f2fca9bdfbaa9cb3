"""Drift reconciliation (job-drift, every minute): each RUNNING or DEGRADED bot that has a gateway, an applied
revision and no workflow owning it is compared with its gateway's live config (the provider's `live_config`:
the gateway's own config.get). The rules of the comparison are clawster.domain.drift; what is done:

- in sync: the live hash is the one recorded when the revision was applied (`applied_config_hash`), or the
  comparison finds no changed path;
- adopt: a new immutable revision (source "drift", created by "system:drift") made of the applied config and
  the live value of each adopted path (secret references kept), the bot's desired and applied revision both
  pointing at it; with nothing else left to do, `applied_config_hash` becomes the live hash. One transaction
  with its audit event, conditioned on the bot as read (version, status, no intent, same applied revision):
  a concurrent change wins and the next run looks again. A live change Clawster would refuse (its config
  schema, a secret in plain text, an ERROR of a policy pack) is not adopted: it is reverted;
- revert: the `apply` workflow of the applied revision (after any adoption), as a config change starts it
  (services/bots `_own`): the bot is RECONCILING, owned by the request, in one transaction with its audit
  event; a workflow that took the bot meanwhile wins (the write is conditioned on no intent);
- alert: only recorded.

Every check that finds something new is recorded on the bot's DriftReport (GET .../bots/{id}/drift) and
announced on the stream ("bot.drift" on the bot's, fleet's and workspace's topics). Findings never hold a
secret's value (domain.drift masks them). A gateway that does not answer is left to the health poller.

Paging, concurrency and budget are the health poller's (services/health.py): the status index, one Query per
shard and page, a rotating first shard, a thread pool fed as pages arrive, and no new check with less than
RESERVE_MS left. At 10,000 bots a check is one config.get over the admin RPC (~50-150 ms for a ~64 KiB
config) plus a GetItem of the previous report: 10,000 x 0.15 s / 32 = ~47 s on CONCURRENCY 32, so at that
size a run reaches most bots and the rotating shard spreads the rest over the next runs (`stopped_early`);
raise the Lambda's timeout or set a slower schedule (docs/deploy.md, `drift_schedule`) to suit. Revision
reads and writes happen only for bots whose hash moved.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from clawster.domain import bots as machine
from clawster.domain import config_policy
from clawster.domain import drift as rules
from clawster.domain.diff import diff
from clawster.domain.errors import InvalidState, PermanentError, VersionConflict
from clawster.domain.roles import Role
from clawster.services import executions, sweep
from clawster.services.context import Access, Caller
from clawster.store.entities import AuditEvent, Bot, DriftPolicy, DriftReport, Fleet, Revision, now
from clawster.store.transaction import Change

log = logging.getLogger(__name__)

DRIFT_ACTOR = "system:drift"
PAGE_SIZE = 100
CONCURRENCY = 32
RESERVE_MS = 10_000
REPORT_REFRESH = timedelta(minutes=15)  # an unchanged report is rewritten this often (its checked_at)
MAX_FINDINGS = 200  # kept per report (the rest counted); a stream message carries at most MAX_ANNOUNCED
MAX_ANNOUNCED = 50
CHECKED = (machine.BotStatus.RUNNING, machine.BotStatus.DEGRADED)


@dataclass
class DriftRunReport(sweep.Tally):
    listed: int = 0
    checked: int = 0
    in_sync: int = 0
    drifted: int = 0
    adopted: int = 0  # revisions written by adoption
    reverted: int = 0  # apply workflows started
    alerted: int = 0  # bots with findings only alerted on
    unreachable: int = 0
    raced: int = 0  # the bot changed between the read and the write: left for the next run
    skipped: int = 0  # a desired revision not applied yet, or a workflow took the bot meanwhile


LiveReader = Callable[[Bot], Any]  # bot -> layers.providers.base.LiveConfig


def run(*, live: LiveReader, remaining_ms: Callable[[], int], request_id: str, concurrency: int = CONCURRENCY,
        first_shard: int | None = None) -> DriftRunReport:
    """Check every eligible bot (module docstring). `live(bot)` reads its gateway's config (`gateway_live`)."""
    started, report = time.monotonic(), DriftRunReport()
    bots = (bot for bot in sweep.bots_in([s.value for s in CHECKED], first_shard=first_shard, page_size=PAGE_SIZE,
                                         listed=lambda: report.add(listed=1))
            if _checkable(bot))
    report.stopped_early = sweep.fan_out(bots, lambda bot: _guarded(bot, live, request_id, report),
                                         concurrency=concurrency, remaining_ms=remaining_ms, reserve_ms=RESERVE_MS,
                                         name="drift")
    report.elapsed_s = round(time.monotonic() - started, 3)
    log.info("drift run: %s", report.as_dict())
    return report


def _checkable(bot: Bot) -> bool:
    return bool(bot.target and not bot.intent and bot.applied_revision_id
                and bot.status in {s.value for s in CHECKED})


def _guarded(bot: Bot, live: LiveReader, request_id: str, report: DriftRunReport) -> None:
    try:
        check(bot, live, request_id, report)
    except Exception:  # noqa: BLE001 - one bot's surprise must not end the run
        log.exception("drift check of bot %s failed", bot.id)


def check(listed: Bot, live: LiveReader, request_id: str, report: DriftRunReport) -> DriftReport | None:
    """Check one bot and act on what is found; returns the report written (None: nothing written)."""
    try:
        bot = Bot.get(*Bot.key(listed.workspace_id, listed.id), consistent_read=True)  # the index may lag
    except Bot.DoesNotExist:
        return None
    if not _checkable(bot) or bot.desired_revision_id != bot.applied_revision_id:
        report.add(skipped=1)  # a workflow owns it, or a new desired revision waits for its apply
        return None
    try:
        snapshot = live(bot)
    except Exception as error:  # noqa: BLE001 - a gateway that does not answer is the health poller's
        log.info("drift: the gateway of bot %s did not answer: %s", bot.id, error)
        report.add(unreachable=1)
        return None
    report.add(checked=1)
    if snapshot.hash == bot.applied_config_hash:  # what the gateway ran when the revision was applied
        report.add(in_sync=1)
        return _record(bot, bot.applied_revision_id, snapshot.hash, "IN_SYNC", [])
    applied = Revision.get(*Revision.key(bot.workspace_id, bot.id, bot.applied_revision_id), consistent_read=True)
    policy = rules.effective_policy(*policy_rules(bot.workspace_id, bot.fleet_id, bot.id))
    findings = rules.compare(json.loads(applied.config), snapshot.config, snapshot.enforced, policy)
    if not findings:
        report.add(in_sync=1)
        return _record(bot, applied.id, snapshot.hash, "IN_SYNC", [])
    report.add(drifted=1)
    return _act(bot, applied, snapshot.hash, findings, request_id, report)


def _act(bot: Bot, applied: Revision, live_hash: str, findings: list[rules.Finding], request_id: str,
         report: DriftRunReport) -> DriftReport | None:
    plan = rules.Plan.of(findings)
    outcomes: dict[tuple[str, ...], str] = {f.path: "alerted" for f in plan.alert}
    to_revert, adopted_id, revert_id = list(plan.revert), None, None
    if plan.adopt:
        settled = not plan.revert and not plan.alert  # nothing left to differ: the live hash is the applied one
        try:
            revision = _adopt(bot, applied, findings, live_hash if settled else bot.applied_config_hash, request_id)
        except VersionConflict:
            report.add(raced=1)
            return None
        except PermanentError as refused:  # Clawster would refuse this config: put the revision back instead
            reason = f"not adoptable ({refused.message[:200]}): reverting"
            outcomes |= {f.path: reason for f in plan.adopt}
            to_revert += plan.adopt
        else:
            adopted_id = revision.id
            outcomes |= {f.path: f"adopted into revision {revision.number}" for f in plan.adopt}
            report.add(adopted=1)
    if to_revert:
        try:
            revert_id = _revert(bot, request_id)
        except (VersionConflict, InvalidState):
            report.add(raced=1)
            return None
        except executions.WorkflowsUnavailable as error:
            outcomes |= {f.path: f"revert failed: {error.message[:200]}" for f in to_revert}
        else:
            outcomes |= {f.path: outcomes.get(f.path, "reverting") for f in to_revert}
            report.add(reverted=1)
    if not (plan.adopt or to_revert):
        report.add(alerted=1)
    rows = [f.record(outcomes.get(f.path, "")) for f in findings]
    return _record(bot, applied.id, live_hash, "DRIFTED", rows, adopted_id=adopted_id, revert_id=revert_id)


def _adopt(bot: Bot, applied: Revision, findings: list[rules.Finding], config_hash: str | None,
           request_id: str) -> Revision:
    """The adopted paths into a new revision, desired and applied (module docstring); raises a PermanentError
    for a config Clawster would refuse, VersionConflict when the bot changed since it was read."""
    from clawster.services import policy_packs

    config = rules.adopted_config(json.loads(applied.config), findings)
    canonical = config_policy.check_config(config, openclaw_version=bot.openclaw_version)
    fleet = Fleet.get(*Fleet.key(bot.workspace_id, bot.fleet_id))
    policy_packs.check_deploy(bot.workspace_id, json.loads(canonical), fleet.environment)
    before, read_version, read_status = _view(bot), bot.version, bot.status
    revision = Revision.new(workspace_id=bot.workspace_id, bot_id=bot.id, number=bot.revision_count + 1,
                            config=canonical, config_hash=config_policy.config_hash(canonical), source="drift",
                            template_id=bot.template_id, created_by=DRIFT_ACTOR)
    bot.revision_count += 1
    bot.desired_revision_id = bot.applied_revision_id = revision.id
    bot.applied_config_hash = config_hash
    bot.override = _adopted_override(bot, findings)
    revision.openclaw_version, revision.target = bot.openclaw_version, bot.target
    edited = ["revision_count", "desired_revision_id", "applied_revision_id", "applied_config_hash", "override"]
    paths = ", ".join(f.dotted for f in findings if f.action is rules.DriftAction.ADOPT)
    change = Change().create(revision, exists_error=lambda: VersionConflict("revision id collision"))
    change.edit(bot, edited, expected_version=read_version,
                condition=(Bot.status == read_status) & Bot.intent.does_not_exist()
                & (Bot.applied_revision_id == applied.id),
                stale_error=lambda: VersionConflict("the bot changed since the drift check read it"))
    change.audit(_event(bot, before, "bot.drift.adopt", f"adopted from the gateway: {paths}"[:1000], request_id))
    change.commit()
    return revision


def _adopted_override(bot: Bot, findings: list[rules.Finding]) -> str:
    """The bot's own layer with each adopted path in it (a removal as null, which deletes what a lower layer
    set), so the next revision resolved from its layers keeps what was adopted."""
    from clawster.services import layers

    override = layers.override_of(bot)
    for finding in findings:
        if finding.action is not rules.DriftAction.ADOPT:
            continue
        node = override
        for key in finding.path[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[finding.path[-1]] = None if finding.op == "removed" else finding.live
    return config_policy.check_layer(override)


def _revert(bot: Bot, request_id: str) -> str:
    """Start the apply workflow of the bot's applied revision, owned as a config change owns the bot (services/
    bots `_own`); returns its request id."""
    from clawster.services import bots

    before, read_version, previous = _view(bot), bot.version, bot.status
    access = Access(Caller(DRIFT_ACTOR, request_id), bot.workspace_id, Role.VIEWER, "bot.drift.revert")  # names
    #                                                       the requester only: no role is checked or recorded
    apply_id, start = bots._own(access, bot, machine.Workflow.APPLY, bot.target)
    change = Change().edit(bot, ["intent", "status", "target", "status_reason"], expected_version=read_version,
                           condition=Bot.intent.does_not_exist(),
                           stale_error=lambda: VersionConflict("the bot changed since the drift check read it"))
    change.audit(_event(bot, before, "bot.drift.revert", "reverting the gateway's config to the applied revision",
                        request_id))
    change.commit()
    bots._announce(bot, machine.Workflow.APPLY, apply_id)
    try:
        start()
    except executions.WorkflowsUnavailable:
        bots._release(bot, previous, apply_id, reason="drift was not reverted: workflows are unavailable")
        bots._announce(bot, machine.Workflow.APPLY, apply_id)
        raise
    return apply_id


def _event(bot: Bot, before: dict[str, Any], action: str, reason: str, request_id: str) -> AuditEvent:
    after = _view(bot)
    return AuditEvent.new(workspace_id=bot.workspace_id, actor=DRIFT_ACTOR, role=None, action=action,
                          outcome="ALLOWED", target=f"bot/{bot.id}", before=before, after=after,
                          diff=diff(before, after), reason=reason, request_id=request_id)


def _view(bot: Bot) -> dict[str, Any]:
    return json.loads(json.dumps(bot.public(), default=str))


# -- the report ------------------------------------------------------------------------------------------------
def _record(bot: Bot, revision_id: str, live_hash: str, state: str, rows: list[dict[str, Any]], *,
            adopted_id: str | None = None, revert_id: str | None = None) -> DriftReport:
    """Write the bot's report when what it says changed (or it is due a refresh), and announce a change."""
    findings = json.dumps(rows[:MAX_FINDINGS], sort_keys=True)
    try:
        previous = DriftReport.get(*DriftReport.key(bot.workspace_id, bot.id))
    except DriftReport.DoesNotExist:
        previous = None
    report = DriftReport(workspace_id=bot.workspace_id, bot_id=bot.id, fleet_id=bot.fleet_id, checked_at=now(),
                         applied_revision_id=revision_id, live_hash=live_hash, state=state, findings=findings,
                         adopted_revision_id=adopted_id, revert_request_id=revert_id,
                         detail=f"{len(rows) - MAX_FINDINGS} more findings not kept" if len(rows) > MAX_FINDINGS
                         else None)
    news = previous is None or (previous.state, previous.findings, previous.applied_revision_id) != \
        (state, findings, revision_id) or adopted_id or revert_id
    if not news and previous is not None and previous.checked_at > now() - REPORT_REFRESH \
            and previous.live_hash == live_hash:
        return previous
    report.stamp()
    report.save()
    if news:
        from clawster.services.workflow import announce

        announce(bot, "bot.drift", public(report, limit=MAX_ANNOUNCED))
    return report


def public(report: DriftReport, limit: int | None = None) -> dict[str, Any]:
    findings = json.loads(report.findings or "[]")
    return {"bot_id": report.bot_id, "fleet_id": report.fleet_id, "state": report.state,
            "checked_at": report.checked_at.isoformat(), "applied_revision_id": report.applied_revision_id,
            "live_hash": report.live_hash, "adopted_revision_id": report.adopted_revision_id,
            "revert_request_id": report.revert_request_id, "detail": report.detail,
            "finding_count": len(findings), "findings": findings[:limit] if limit else findings}


# -- policies --------------------------------------------------------------------------------------------------
def policy_rules(workspace_id: str, fleet_id: str, bot_id: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """(the fleet's rules, the bot's rules): {} where none is set."""
    return _rules_of(workspace_id, "FLEET", fleet_id), (_rules_of(workspace_id, "BOT", bot_id) if bot_id else {})


def _rules_of(workspace_id: str, scope: str, owner_id: str) -> dict[str, str]:
    try:
        return json.loads(DriftPolicy.get(*DriftPolicy.key(workspace_id, scope, owner_id)).rules)
    except DriftPolicy.DoesNotExist:
        return {}


def gateway_live(provider_for: Callable[..., Any], bot: Bot) -> Any:
    """The bot's gateway's live config, through its provider."""
    from clawster.services.targets import settings_of

    return provider_for(bot.target, settings_of(bot)).live_config(bot.id)
