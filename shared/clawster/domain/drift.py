"""Drift: a running gateway's config against the revision Clawster applied to it, path by path, and what
a drift policy says to do with each changed path. Pure: no I/O (services/drift.py reads and writes).

What the gateway should hold is the applied revision with what its provider enforces on top (port, bind,
token, log file: the provider's `LiveConfig.enforced`). Both sides are compared as the gateway shows them:
a secret reference {"$secretRef": ...} in the revision is the gateway's "__OPENCLAW_REDACTED__", so a
redacted value where the revision has a reference is no drift. The gateway's own bookkeeping is not drift
either: `meta` (stamped into every config it writes) and empty objects it adds (e.g. `agents.entries.main:
{}`), which set nothing.

Each changed path gets a class (CLASS_RULES, first match wins) and the action its policy names for that
class: adopt it into a new revision (agent self-evolution, pairing approvals made on the gateway), revert
it (the apply workflow puts the revision back), or only alert. A secret is never adopted: only references
are stored, and the gateway shows no value to reference; such a path is alerted instead. Findings never
carry a secret's value: a value at a secret path, a redacted one, or one shaped like a credential is
masked; large values are left out.
"""

from __future__ import annotations

import copy
import enum
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from clawster.domain.config_policy import credential_kind, is_secret_path
from clawster.domain.errors import ValidationFailed
from clawster.domain.secret_refs import CONFIG_KEY

REDACTED = "__OPENCLAW_REDACTED__"  # what the gateway shows in place of a secret
GATEWAY_BOOKKEEPING = ("meta",)  # top-level keys the gateway writes for itself
MAX_SHOWN_BYTES = 512  # a finding shows a value up to this size (JSON); larger ones are left out


class DriftClass(enum.StrEnum):
    PAIRING = "pairing"  # who may message the bot: channel allowlists, as approved pairings change them
    AGENT = "agent"  # what the agent changes about itself: agents, skills, memory, cron
    SECURITY = "security"  # the gateway, tools, sandboxes, auth, plugins, hooks, secrets, DM/group policies
    OTHER = "other"


class DriftAction(enum.StrEnum):
    ADOPT = "adopt"
    REVERT = "revert"
    ALERT = "alert"


CLASSES = frozenset(c.value for c in DriftClass)
ACTIONS = frozenset(a.value for a in DriftAction)

DEFAULT_POLICY: dict[DriftClass, DriftAction] = {
    DriftClass.SECURITY: DriftAction.REVERT,
    DriftClass.PAIRING: DriftAction.ADOPT,
    DriftClass.AGENT: DriftAction.ADOPT,
    DriftClass.OTHER: DriftAction.ALERT,
}

# (pattern, class): the first pattern that matches a path names its class. `*` is one key, `**` any number
# of keys (none included). Secret paths are security whatever the pattern (classify).
CLASS_RULES: tuple[tuple[str, DriftClass], ...] = (
    ("channels.**.dmPolicy", DriftClass.SECURITY),
    ("channels.**.groupPolicy", DriftClass.SECURITY),
    ("channels.**.allowFrom", DriftClass.PAIRING),
    ("channels.**.groupAllowFrom", DriftClass.PAIRING),
    ("agents.**.sandbox.**", DriftClass.SECURITY),
    ("agents.**.tools.**", DriftClass.SECURITY),
    ("agents.**.elevatedDefault", DriftClass.SECURITY),
    ("agents.**", DriftClass.AGENT),
    ("skills.**", DriftClass.AGENT),
    ("memory.**", DriftClass.AGENT),
    ("cron.**", DriftClass.AGENT),
    *((f"{key}.**", DriftClass.SECURITY) for key in (
        "gateway", "tools", "auth", "security", "secrets", "plugins", "hooks", "update", "env", "approvals",
        "accessGroups", "proxy", "mcp", "logging.redactPatterns", "logging.audit")),
)
_RULES = tuple((tuple(pattern.split(".")), cls) for pattern, cls in CLASS_RULES)


def _matches(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_matches(rest, path[i:]) for i in range(len(path) + 1))
    return bool(path) and head in ("*", path[0]) and _matches(rest, path[1:])


def classify(path: tuple[str, ...]) -> DriftClass:
    """The class of a config path (its keys)."""
    if is_secret_path(path):
        return DriftClass.SECURITY
    return next((cls for pattern, cls in _RULES if _matches(pattern, path)), DriftClass.OTHER)


# -- policy --------------------------------------------------------------------------------------------------
def validate_rules(rules: Any, field_name: str = "rules") -> dict[str, str]:
    """A policy's rules {class: action}, checked: an unknown class or action is a 422 naming the field."""
    if not isinstance(rules, dict):
        raise ValidationFailed(field_name, "must be an object of class -> action")
    checked = {}
    for key, value in rules.items():
        if key not in CLASSES:
            raise ValidationFailed(f"{field_name}.{key}", f"unknown drift class; one of {', '.join(DriftClass)}")
        if not isinstance(value, str) or value not in ACTIONS:
            raise ValidationFailed(f"{field_name}.{key}", f"unknown action {str(value)[:40]!r}; one of "
                                                          f"{', '.join(DriftAction)}")
        checked[str(key)] = str(value)
    return checked


def effective_policy(fleet_rules: dict[str, str] | None, bot_rules: dict[str, str] | None) -> dict[str, dict[str, str]]:
    """{class: {"action", "source": default|fleet|bot}}: the bot's rule, else the fleet's, else the default."""
    policy = {}
    for cls in DriftClass:
        if cls.value in (bot_rules or {}):
            policy[cls.value] = {"action": bot_rules[cls.value], "source": "bot"}  # type: ignore[index]
        elif cls.value in (fleet_rules or {}):
            policy[cls.value] = {"action": fleet_rules[cls.value], "source": "fleet"}  # type: ignore[index]
        else:
            policy[cls.value] = {"action": DEFAULT_POLICY[cls].value, "source": "default"}
    return policy


# -- comparison ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    path: tuple[str, ...]
    op: str  # added | removed | changed (live against the revision)
    drift_class: DriftClass
    action: DriftAction
    live: Any = None  # the live value (None when removed); never shown when `masked`
    masked: bool = False  # a secret, or a value shaped like one: its value is never kept or shown
    note: str = ""

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    def record(self, outcome: str = "") -> dict[str, Any]:
        """The finding as it is stored and shown: no secret, no large value."""
        row: dict[str, Any] = {"path": self.dotted, "op": self.op, "drift_class": self.drift_class.value,
                               "action": self.action.value, "masked": self.masked}
        if not self.masked and self.op != "removed":
            shown = json.dumps(self.live, sort_keys=True)
            if len(shown.encode()) <= MAX_SHOWN_BYTES:
                row["value"] = self.live
        if outcome:
            row["outcome"] = outcome
        if self.note:
            row["note"] = self.note
        return row


def as_gateway_shows(config: Any) -> Any:
    """The revision's config as the gateway shows it: each secret reference redacted."""
    if isinstance(config, dict):
        if set(config) == {CONFIG_KEY}:
            return REDACTED
        return {key: as_gateway_shows(value) for key, value in config.items()}
    if isinstance(config, list):
        return [as_gateway_shows(value) for value in config]
    return config


def expected_config(applied: dict[str, Any], enforced: dict[str, Any]) -> dict[str, Any]:
    """What the gateway should hold: the applied revision, as the gateway shows it, under what the provider enforces."""
    return _merge(as_gateway_shows(applied), enforced)


def compare(applied: dict[str, Any], live: dict[str, Any], enforced: dict[str, Any],
            policy: dict[str, dict[str, str]]) -> list[Finding]:
    """Every path where the live config differs from the applied revision, classified, with its policy's action."""
    expected = expected_config(applied, enforced)
    live = {key: value for key, value in live.items() if key not in GATEWAY_BOOKKEEPING}
    findings = []
    for path, op, value in _changes(expected, live, ()):
        cls = classify(path)
        masked = _secret(path, value)
        action = DriftAction(policy[cls.value]["action"])
        note = ""
        if action is DriftAction.ADOPT and (masked or _redacted_inside(value)):
            action, note = DriftAction.ALERT, "a secret value is never adopted (only references are stored)"
        findings.append(Finding(path, op, cls, action, None if masked else value, masked, note))
    return findings


def _changes(expected: Any, live: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    """(path, op, live value) for each leaf that differs, as clawster.domain.diff.config_diff walks (objects
    key by key; a list or a secret is one value), with key tuples (a key may hold a dot) and without the
    empty objects a gateway adds or drops on its own."""
    if isinstance(expected, dict) and isinstance(live, dict):
        for key in sorted(set(expected) | set(live)):
            where = (*path, key)
            if key not in live:
                yield from ((p, "removed", None) for p, _ in _leaves(expected[key], where))
            elif key not in expected:
                yield from ((p, "added", v) for p, v in _leaves(live[key], where))
            else:
                yield from _changes(expected[key], live[key], where)
    elif expected != live:
        yield path, "changed", live


def _leaves(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _leaves(value[key], (*path, key))  # an empty object yields nothing: it sets nothing
    else:
        yield path, value


def _secret(path: tuple[str, ...], value: Any) -> bool:
    if is_secret_path(path) or value == REDACTED:
        return True
    text = json.dumps(value) if not isinstance(value, str) else value
    return credential_kind(text) is not None


def _redacted_inside(value: Any) -> bool:
    return REDACTED in json.dumps(value)


# -- adoption ------------------------------------------------------------------------------------------------
def adopted_config(applied: dict[str, Any], findings: list[Finding]) -> dict[str, Any]:
    """The applied revision with the live value of each finding to adopt (its secret references kept)."""
    config = copy.deepcopy(applied)
    for finding in findings:
        if finding.action is not DriftAction.ADOPT:
            continue
        if finding.op == "removed":
            _remove(config, finding.path)
        else:
            _set(config, finding.path, copy.deepcopy(finding.live))
    return config


def _set(config: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = config
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value


def _remove(config: dict[str, Any], path: tuple[str, ...]) -> None:
    """Remove the path, and the objects it leaves empty."""
    parents, node = [], config
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            return
        parents.append((node, key))
        node = node[key]
    node.pop(path[-1], None)
    for parent, key in reversed(parents):
        if parent[key]:
            break
        del parent[key]


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@dataclass
class Plan:
    """What one check does: the findings to adopt, to revert, and to alert on only."""

    adopt: list[Finding] = field(default_factory=list)
    revert: list[Finding] = field(default_factory=list)
    alert: list[Finding] = field(default_factory=list)

    @classmethod
    def of(cls, findings: list[Finding]) -> Plan:
        plan = cls()
        for finding in findings:
            {DriftAction.ADOPT: plan.adopt, DriftAction.REVERT: plan.revert,
             DriftAction.ALERT: plan.alert}[finding.action].append(finding)
        return plan
