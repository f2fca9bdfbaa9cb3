"""Fleet rollouts, pure: the spec (which bots, which change, how fast), the wave planner and the gate
decision. No I/O: the service reads the bots and persists; the state machine runs the waves.

Waves are numbered from 1. Percentages are of the target bots, cumulative (AppConfig / Argo steps):
`[10, 50, 100]` is three waves reaching 10 %, 50 % and every bot. A wave never rounds down to nothing:
each step adds at least one bot while bots remain, and the last wave always reaches every bot.

The gate decision follows the anchors (landscape.md §2.8): the abort threshold (IoT Jobs) counts failed
bots against the bots done so far, only once `min_done` bots are done; a failed gate rolls back; a gate
with no data or an inconclusive one PAUSES the rollout, it never passes it (Argo: Inconclusive -> pause).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from clawster.domain.errors import ValidationFailed

MAX_TARGETS = 1000
MAX_WAVES = 100
MAX_BAKE_S = 24 * 3600
MAX_CONCURRENCY = 100


class Strategy(StrEnum):
    ALL = "ALL"
    PERCENTAGE = "PERCENTAGE"
    CANARY = "CANARY"
    LINEAR = "LINEAR"
    EXPONENTIAL = "EXPONENTIAL"


class ChangeKind(StrEnum):
    CONFIG_PATCH = "config_patch"  # a JSON merge patch onto each bot's own config layer
    REFRESH = "refresh"  # a new revision per bot from the workspace's layers as they are now
    VERSION = "version"  # an OpenClaw version (the upgrade workflow)
    # Environment promotion: each bot's own config layer made equal to the source fleet's (see Change.config).
    PROMOTE_FLEET = "promote_fleet"


class RolloutStatus(StrEnum):
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    ABORTING = "ABORTING"  # asked to abort: the workflow rolls back what it changed
    ROLLING_BACK = "ROLLING_BACK"
    SUCCEEDED = "SUCCEEDED"
    ROLLED_BACK = "ROLLED_BACK"
    FAILED = "FAILED"  # the rollback itself did not end healthy: a person must look


ACTIVE = frozenset({RolloutStatus.RUNNING, RolloutStatus.PAUSED, RolloutStatus.AWAITING_APPROVAL,
                    RolloutStatus.ABORTING, RolloutStatus.ROLLING_BACK})

CONTROLS = ("pause", "resume", "approve", "abort", "promote")
# The statuses each control (POST .../rollouts/{id}/{action}) is taken from; from any other it is a 409.
CONTROL_FROM: dict[str, frozenset[RolloutStatus]] = {
    "pause": frozenset({RolloutStatus.RUNNING, RolloutStatus.AWAITING_APPROVAL}),
    "resume": frozenset({RolloutStatus.PAUSED}),
    "approve": frozenset({RolloutStatus.AWAITING_APPROVAL}),
    "abort": frozenset({RolloutStatus.RUNNING, RolloutStatus.PAUSED, RolloutStatus.AWAITING_APPROVAL}),
    "promote": frozenset({RolloutStatus.RUNNING}),
}


def allowed_actions(status: str) -> list[str]:
    """The controls a rollout in `status` takes now, in CONTROLS' order (the API shows them; a 409 names them)."""
    return [action for action in CONTROLS if RolloutStatus(status) in CONTROL_FROM[action]]


class BotState(StrEnum):
    PENDING = "PENDING"
    APPLYING = "APPLYING"
    DONE = "DONE"  # changed and healthy (or nothing to change: `skipped`)
    FAILED = "FAILED"
    ROLLING_BACK = "ROLLING_BACK"
    ROLLED_BACK = "ROLLED_BACK"
    ROLLBACK_FAILED = "ROLLBACK_FAILED"


class Reading(StrEnum):
    """One gate's result for a wave."""

    PASS = "PASS"
    FAIL = "FAIL"
    NO_DATA = "NO_DATA"
    INCONCLUSIVE = "INCONCLUSIVE"


class Verdict(StrEnum):
    CONTINUE = "CONTINUE"
    PAUSE = "PAUSE"
    ROLLBACK = "ROLLBACK"


GATES = ("gateway_health", "channel_health", "error_rate", "slo", "cloudwatch_alarm")  # what the workflow reads
MAX_ALARMS = 100  # DescribeAlarms takes at most 100 names in one call


@dataclass(frozen=True)
class Gate:
    """One gate of a rollout: its kind and, for the measured ones, its thresholds (clawster.domain.gates reads
    them). Given as a bare name (the defaults) or an object {"gate": kind, ...}."""

    kind: str
    max: float = 0.05  # error_rate: the highest share of error log events that passes
    min_samples: int = 20  # error_rate: fewer log events in the window than this is no data
    target: float = 0.99  # slo: the share of healthy probes aimed at; 1 - target is the error budget
    max_burn: float = 1.0  # slo: a burn rate above this fails (1.0: spending the budget exactly as fast as allowed)
    min_probes: int = 5  # slo: fewer health probes in the window than this is no data
    alarms: tuple[str, ...] = ()  # cloudwatch_alarm: the alarms' names


@dataclass(frozen=True)
class Targets:
    """Explicit bot ids, or a selector: every bot matching all of the given fleet ids, environments and tags."""

    bot_ids: tuple[str, ...] = ()
    fleet_ids: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def is_explicit(self) -> bool:
        return bool(self.bot_ids)

    def matches(self, *, bot_id: str, fleet_id: str, environment: str, tags: Mapping[str, str]) -> bool:
        if self.bot_ids:
            return bot_id in self.bot_ids
        return ((not self.fleet_ids or fleet_id in self.fleet_ids)
                and (not self.environments or environment in self.environments)
                and all(tags.get(key) == value for key, value in self.tags.items()))


@dataclass(frozen=True)
class Change:
    """What a rollout changes on each bot. A fleet's revision (PROMOTE_FLEET) is the own config layer its bots
    share (the layer PATCH /bots/{id} sets); `config` is that layer as the create read it (a snapshot: a later
    edit of the source does not move a running promotion). Each target bot's own layer becomes it, replaced, not
    merged; its template, profile, overlays and environment's secure defaults still resolve around it, so the
    target environment keeps its own layers and its policy packs judge the result."""

    kind: ChangeKind
    patch: Mapping[str, Any] | None = None
    openclaw_version: str | None = None
    source_fleet_id: str | None = None
    config: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Plan:
    strategy: Strategy = Strategy.ALL
    steps: tuple[float, ...] = ()  # PERCENTAGE (and CANARY after its canaries): cumulative percentages
    canary_bot_ids: tuple[str, ...] = ()  # CANARY: the first wave, in this order
    step_percent: float = 0  # LINEAR: each wave adds this share
    initial_percent: float = 0  # EXPONENTIAL: the first wave's share...
    growth_factor: float = 2.0  # ...multiplied by this for each next wave


@dataclass(frozen=True)
class AbortThreshold:
    """Roll back once at least `min_done` bots are done and more than `failed_percent` % of them failed.
    The default (0 %, 1 bot) rolls back at the first failed bot."""

    failed_percent: float = 0.0
    min_done: int = 1

    def reached(self, done: int, failed: int) -> bool:
        return done >= self.min_done and failed * 100 > self.failed_percent * done


@dataclass(frozen=True)
class RolloutSpec:
    targets: Targets
    change: Change
    plan: Plan = Plan()
    max_concurrency: int = 10
    bake_s: int = 0
    abort: AbortThreshold = AbortThreshold()
    gates: tuple[Gate, ...] = (Gate("gateway_health"),)
    approval_before_waves: tuple[int, ...] = ()  # wave numbers (from 1) that wait for an approval first


# -- parsing ---------------------------------------------------------------------------------------
def parse(body: Mapping[str, Any]) -> RolloutSpec:
    """The spec from the API's (already schema-checked) body; a rule the schema cannot say is a 422 naming the
    field."""
    targets_in = body.get("targets") or {}
    targets = Targets(bot_ids=tuple(targets_in.get("bot_ids") or ()), fleet_ids=tuple(targets_in.get("fleet_ids") or ()),
                      environments=tuple(targets_in.get("environments") or ()), tags=dict(targets_in.get("tags") or {}))
    if not (targets.bot_ids or targets.fleet_ids or targets.environments or targets.tags):
        raise ValidationFailed("targets", "name bot_ids, or a selector (fleet_ids, environments, tags)")
    if targets.bot_ids and (targets.fleet_ids or targets.environments or targets.tags):
        raise ValidationFailed("targets", "bot_ids or a selector, not both")
    if len(set(targets.bot_ids)) != len(targets.bot_ids):
        raise ValidationFailed("targets.bot_ids", "a bot is named twice")
    change = _change(body.get("change") or {})
    plan = _plan(body.get("strategy") or {})
    gates = _gates(body.get("gates") or ("gateway_health",))
    abort_in = body.get("abort") or {}
    abort = AbortThreshold(failed_percent=float(abort_in.get("failed_percent", 0)),
                           min_done=int(abort_in.get("min_done", 1)))
    if not 0 <= abort.failed_percent < 100:
        raise ValidationFailed("abort.failed_percent", "must be at least 0 and below 100")
    if abort.min_done < 1:
        raise ValidationFailed("abort.min_done", "must be at least 1")
    concurrency = int(body.get("max_concurrency", 10))
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValidationFailed("max_concurrency", f"must be 1 to {MAX_CONCURRENCY}")
    bake = int(body.get("bake_s", 0))
    if not 0 <= bake <= MAX_BAKE_S:
        raise ValidationFailed("bake_s", f"must be 0 to {MAX_BAKE_S}")
    approvals = tuple(sorted(set(body.get("approval_before_waves") or ())))
    if any(n < 1 for n in approvals):
        raise ValidationFailed("approval_before_waves", "wave numbers start at 1")
    return RolloutSpec(targets=targets, change=change, plan=plan, max_concurrency=concurrency, bake_s=bake,
                       abort=abort, gates=gates, approval_before_waves=approvals)


def _gates(raw: Sequence[Any]) -> tuple[Gate, ...]:
    gates = tuple(_gate(item, f"gates[{index}]") for index, item in enumerate(raw))
    kinds = [gate.kind for gate in gates]
    if len(set(kinds)) != len(kinds):
        raise ValidationFailed("gates", "a gate is named twice (each gate kind at most once)")
    return gates


_GATE_FIELDS = {"gateway_health": (), "channel_health": (), "error_rate": ("max", "min_samples"),
                "slo": ("target", "max_burn", "min_probes"), "cloudwatch_alarm": ("alarms",)}


def _gate(raw: Any, where: str) -> Gate:
    """A bare name, or {"gate": kind, ...its thresholds}. Numbers must be numbers (strict: no "0.05", no true)."""
    fields = raw if isinstance(raw, Mapping) else {"gate": raw}
    kind = fields.get("gate")
    if kind not in GATES:
        raise ValidationFailed(f"{where}.gate" if isinstance(raw, Mapping) else "gates",
                               f"unknown gate {kind!r} (known: {', '.join(GATES)})")
    extra = sorted(set(fields) - {"gate", *_GATE_FIELDS[kind]})
    if extra:
        raise ValidationFailed(f"{where}.{extra[0]}", f"not a field of the {kind} gate")
    gate = Gate(kind, max=_number(fields, "max", 0.05, where), min_samples=_count(fields, "min_samples", 20, where),
                target=_number(fields, "target", 0.99, where), max_burn=_number(fields, "max_burn", 1.0, where),
                min_probes=_count(fields, "min_probes", 5, where), alarms=tuple(fields.get("alarms") or ()))
    if not 0 <= gate.max < 1:
        raise ValidationFailed(f"{where}.max", "a share of error events: at least 0 and below 1")
    if not 1 <= gate.min_samples <= 100_000:
        raise ValidationFailed(f"{where}.min_samples", "1 to 100000 log events")
    if not 0 < gate.target < 1:
        raise ValidationFailed(f"{where}.target", "a share of healthy probes above 0 and below 1 (e.g. 0.99)")
    if not 0 < gate.max_burn <= 1000:
        raise ValidationFailed(f"{where}.max_burn", "a burn rate above 0 and at most 1000")
    if not 1 <= gate.min_probes <= 10_000:
        raise ValidationFailed(f"{where}.min_probes", "1 to 10000 probes")
    if kind == "cloudwatch_alarm":
        names = gate.alarms
        if not names or len(names) > MAX_ALARMS or len(set(names)) != len(names) or \
                any(not isinstance(n, str) or not 1 <= len(n) <= 255 for n in names):
            raise ValidationFailed(f"{where}.alarms", f"1 to {MAX_ALARMS} distinct alarm names of 1 to 255 characters")
    return gate


def _number(fields: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = fields.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed(f"{where}.{key}", "must be a number")
    return float(value)


def _count(fields: Mapping[str, Any], key: str, default: int, where: str) -> int:
    value = fields.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"{where}.{key}", "must be a whole number")
    return value


def _change(raw: Mapping[str, Any]) -> Change:
    try:
        kind = ChangeKind(raw.get("kind"))
    except ValueError:
        raise ValidationFailed("change.kind", f"one of {', '.join(k.value for k in ChangeKind)}") from None
    if kind is ChangeKind.CONFIG_PATCH:
        if not isinstance(raw.get("patch"), dict) or not raw["patch"]:
            raise ValidationFailed("change.patch", "a config_patch needs a non-empty JSON object")
        return Change(kind, patch=raw["patch"])
    if kind is ChangeKind.VERSION:
        if not raw.get("openclaw_version"):
            raise ValidationFailed("change.openclaw_version", "a version change names the version")
        return Change(kind, openclaw_version=raw["openclaw_version"])
    if kind is ChangeKind.PROMOTE_FLEET:
        if not isinstance(raw.get("source_fleet_id"), str) or not raw["source_fleet_id"]:
            raise ValidationFailed("change.source_fleet_id", "a promotion names the fleet whose config it promotes")
        config = raw.get("config")
        return Change(kind, source_fleet_id=raw["source_fleet_id"], config=config if isinstance(config, dict) else None)
    return Change(kind)


def fleet_revision(own_layers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The source fleet's revision for a promotion: the own config layer every one of its bots has. None, or
    bots that differ, is a 422 (which of several configs would be promoted is not for the service to guess)."""
    import json

    distinct = {json.dumps(layer, sort_keys=True) for layer in own_layers}
    if not distinct:
        raise ValidationFailed("change.source_fleet_id", "the source fleet has no bot: it has no config to promote")
    if len(distinct) > 1:
        raise ValidationFailed("change.source_fleet_id", f"its bots' own configs differ ({len(distinct)} distinct): "
                                                         "a promotion moves one config; make them equal first")
    return json.loads(distinct.pop())


def _plan(raw: Mapping[str, Any]) -> Plan:
    try:
        kind = Strategy(raw.get("kind", "ALL"))
    except ValueError:
        raise ValidationFailed("strategy.kind", f"one of {', '.join(s.value for s in Strategy)}") from None
    steps = tuple(float(s) for s in raw.get("steps") or ())
    if kind is Strategy.PERCENTAGE and not steps:
        raise ValidationFailed("strategy.steps", "PERCENTAGE needs its cumulative steps, e.g. [10, 50, 100]")
    if any(not 0 < s <= 100 for s in steps) or list(steps) != sorted(set(steps)):
        raise ValidationFailed("strategy.steps", "increasing percentages, each above 0 and at most 100")
    canaries = tuple(raw.get("canary_bot_ids") or ())
    if kind is Strategy.CANARY and not canaries:
        raise ValidationFailed("strategy.canary_bot_ids", "CANARY names its canary bots")
    step_percent = float(raw.get("step_percent", 0))
    if kind is Strategy.LINEAR and not 0 < step_percent <= 100:
        raise ValidationFailed("strategy.step_percent", "LINEAR grows by a share above 0 and at most 100")
    initial = float(raw.get("initial_percent", 0))
    growth = float(raw.get("growth_factor", 2.0))
    if kind is Strategy.EXPONENTIAL and not 0 < initial <= 100:
        raise ValidationFailed("strategy.initial_percent", "EXPONENTIAL starts at a share above 0 and at most 100")
    if kind is Strategy.EXPONENTIAL and growth <= 1:
        raise ValidationFailed("strategy.growth_factor", "must be above 1")
    return Plan(kind, steps=steps, canary_bot_ids=canaries, step_percent=step_percent, initial_percent=initial,
                growth_factor=growth)


# -- planning --------------------------------------------------------------------------------------
def plan_waves(bot_ids: Sequence[str], plan: Plan) -> list[list[str]]:
    """The waves, in order, of the target bots (given in a stable order). Each bot is in exactly one wave."""
    if not bot_ids:
        raise ValidationFailed("targets", "no bot matches")
    if len(bot_ids) > MAX_TARGETS:
        raise ValidationFailed("targets", f"{len(bot_ids)} bots match; a rollout takes at most {MAX_TARGETS}")
    if plan.strategy is Strategy.CANARY:
        missing = [b for b in plan.canary_bot_ids if b not in bot_ids]
        if missing:
            raise ValidationFailed("strategy.canary_bot_ids", f"not among the targets: {', '.join(missing)}")
        rest = [b for b in bot_ids if b not in plan.canary_bot_ids]
        waves = [list(plan.canary_bot_ids)] + (_by_shares(rest, plan.steps or (100.0,)) if rest else [])
    else:
        waves = _by_shares(list(bot_ids), _shares(plan))
    if len(waves) > MAX_WAVES:
        raise ValidationFailed("strategy", f"{len(waves)} waves; at most {MAX_WAVES}")
    return waves


def _shares(plan: Plan) -> tuple[float, ...]:
    if plan.strategy is Strategy.ALL:
        return (100.0,)
    if plan.strategy is Strategy.PERCENTAGE:
        return plan.steps
    shares: list[float] = []
    share = plan.step_percent if plan.strategy is Strategy.LINEAR else plan.initial_percent
    while share < 100 and len(shares) < MAX_WAVES:
        shares.append(share)
        share = share + plan.step_percent if plan.strategy is Strategy.LINEAR else share * plan.growth_factor
    return (*shares, 100.0)


def _by_shares(bot_ids: list[str], shares: Sequence[float]) -> list[list[str]]:
    waves, reached = [], 0
    total = len(bot_ids)
    for number, share in enumerate(shares, 1):
        last = number == len(shares)
        upto = total if last else min(total, max(reached + 1, math.ceil(total * share / 100 - 1e-9)))
        if upto > reached:
            waves.append(bot_ids[reached:upto])
            reached = upto
        if reached == total:
            break
    return waves


# -- deciding --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str


def decide(readings: Mapping[str, Reading], abort: AbortThreshold, *, done: int, failed: int) -> Decision:
    """After a wave's bake: roll back, pause or go on. The abort threshold and a failed gate roll back; a gate
    with no data or an inconclusive one pauses (never passes); no gate read at all pauses too."""
    if abort.reached(done, failed):
        return Decision(Verdict.ROLLBACK, f"abort threshold reached: {failed} of {done} bots failed "
                                          f"(more than {abort.failed_percent:g} % with at least {abort.min_done} done)")
    failing = sorted(gate for gate, reading in readings.items() if reading is Reading.FAIL)
    if failing:
        return Decision(Verdict.ROLLBACK, f"gate failed: {', '.join(failing)}")
    unsure = sorted(gate for gate, reading in readings.items() if reading in (Reading.NO_DATA, Reading.INCONCLUSIVE))
    if unsure:
        return Decision(Verdict.PAUSE, "no data or inconclusive: " + ", ".join(f"{g} {readings[g].value}" for g in unsure))
    if not readings:
        return Decision(Verdict.PAUSE, "no gate was read")
    return Decision(Verdict.CONTINUE, "every gate passed")


def combine(per_bot: Sequence[Reading]) -> Reading:
    """A gate's reading over a wave from each bot's: any FAIL fails it; else any missing or unsure reading makes
    it that; no bot at all is NO_DATA."""
    if not per_bot:
        return Reading.NO_DATA
    for worst in (Reading.FAIL, Reading.NO_DATA, Reading.INCONCLUSIVE):
        if worst in per_bot:
            return worst
    return Reading.PASS


def channel_reading(payload: Any) -> Reading:
    """The channel health gate from a gateway's channels.status answer ({channelOrder, channelAccounts,
    statusIssues, ...}): an issue fails it; a gateway with no channel has no data (pause, never pass); an answer
    of another shape is inconclusive."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("channelOrder", []), list):
        return Reading.INCONCLUSIVE
    if payload.get("statusIssues"):
        return Reading.FAIL
    return Reading.PASS if payload.get("channelOrder") else Reading.NO_DATA


def merge_patch(base: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: objects merge, null removes a key, anything else replaces."""
    if not isinstance(patch, Mapping):
        return patch
    merged = dict(base) if isinstance(base, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged
