"""The measured gates of a rollout, pure: error rate (the gateway's own log), SLO burn (Clawster's health probes)
and CloudWatch alarms. Each turns what was read over a wave's bake window into a Reading and a one-line detail
for the wave's view. Not enough to judge is NO_DATA (the rollout pauses); it never passes.

Each is judged over the wave as a whole (its bots' samples summed), as Argo and Flagger judge a canary's
metric: a quiet bot does not hold back a wave whose other bots say enough. A bot whose source could not be read
at all makes the wave NO_DATA: an unread bot is not a passing one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clawster.domain.rollouts import Gate, Reading

PRECISION = 9  # rounding before a comparison: 0.2 / (1 - 0.9) is 2.0000000000000004, and must not fail "at most 2"
ERROR_LEVEL_ID = 5  # tslog (the gateway's file log): 3 INFO, 4 WARN, 5 ERROR, 6 FATAL


@dataclass(frozen=True)
class GateResult:
    reading: Reading
    detail: str


@dataclass(frozen=True)
class LogCount:
    """One gateway's log events in a window: all of them, and those at ERROR or worse."""

    total: int
    errors: int


def count_log_lines(lines: Iterable[Any], since: float) -> LogCount:
    """The events of a `logs.tail` answer (JSON lines, tslog: `_meta.logLevelId`, `time` ISO 8601) at or after
    `since` (epoch seconds). A line that is not such an event (not JSON, no level, no time) is not a sample."""

    total = errors = 0
    for line in lines:
        try:
            event = json.loads(line) if isinstance(line, str) else None
        except ValueError:
            continue
        if not isinstance(event, dict) or not isinstance(event.get("_meta"), dict):
            continue
        level, moment = event["_meta"].get("logLevelId"), event.get("time")
        if isinstance(level, bool) or not isinstance(level, int) or not isinstance(moment, str):
            continue
        try:
            at = datetime.fromisoformat(moment).timestamp()
        except ValueError:
            continue
        if at >= since:
            total += 1
            errors += level >= ERROR_LEVEL_ID
    return LogCount(total, errors)


def error_rate(gate: Gate, counts: Sequence[LogCount | None]) -> GateResult:
    """The share of error events over the wave's gateways: above `max` fails; fewer than `min_samples` events
    (or a gateway whose log could not be read, or no gateway) is no data."""
    if not counts:
        return GateResult(Reading.NO_DATA, "no gateway to read")
    unread = sum(1 for c in counts if c is None)
    if unread:
        return GateResult(Reading.NO_DATA, f"the log of {unread} of {len(counts)} gateways could not be read")
    total, errors = sum(c.total for c in counts if c), sum(c.errors for c in counts if c)
    if total < gate.min_samples:
        return GateResult(Reading.NO_DATA, f"{total} log events in the window; at least {gate.min_samples} needed")
    share = round(errors / total, PRECISION)
    seen = f"{errors} of {total} log events were errors ({share:.1%}; at most {gate.max:.1%})"
    return GateResult(Reading.FAIL if share > gate.max else Reading.PASS, seen)


def slo_burn(gate: Gate, probes: Sequence[Sequence[bool]]) -> GateResult:
    """Burn rate = the share of failed health probes / the error budget (1 - target), over the wave's bots'
    probes in the window: above `max_burn` fails; fewer than `min_probes` probes is no data."""
    flat = [ok for bot in probes for ok in bot]
    if len(flat) < gate.min_probes:
        return GateResult(Reading.NO_DATA, f"{len(flat)} health probes in the window; at least {gate.min_probes} needed")
    failed = flat.count(False)
    burn = round(failed / len(flat) / (1 - gate.target), PRECISION)
    seen = (f"{failed} of {len(flat)} health probes failed: burn rate {burn:.2f} against an SLO of {gate.target:.2%} "
            f"(at most {gate.max_burn:g})")
    return GateResult(Reading.FAIL if burn > gate.max_burn else Reading.PASS, seen)


def alarms(gate: Gate, states: Mapping[str, str | None]) -> GateResult:
    """CloudWatch alarm states by name (None: no such alarm): any ALARM fails; else a missing alarm or
    INSUFFICIENT_DATA (or a state never seen) is no data; all OK passes."""
    by_state: dict[str, list[str]] = {}
    for name in gate.alarms:
        state = states.get(name)
        key = state if state in ("OK", "ALARM", "INSUFFICIENT_DATA") else "MISSING" if state is None else "UNKNOWN"
        by_state.setdefault(key, []).append(name)
    seen = "; ".join(f"{key}: {', '.join(names)}" for key, names in sorted(by_state.items()))
    if "ALARM" in by_state:
        return GateResult(Reading.FAIL, seen)
    if set(by_state) - {"OK"} or not by_state:
        return GateResult(Reading.NO_DATA, seen or "no alarm named")
    return GateResult(Reading.PASS, seen)
