"""Policy packs: rules checked on a bot's effective OpenClaw config before it is deployed.

A rule has an id, a type, a severity (ERROR blocks a deploy, WARNING and INFO are reported with it), the
environments it applies to (none: every environment), its type's config, and `enabled`. A pack is a list of
rules with its own environments; a rule applies where both its pack's and its own environments allow.

The OpenClaw rule types (landscape.md §1.4) read real OpenClaw 2026.9.6 keys only; each type lists the
schema paths it reads in RULE_PATHS ("*" is any key of an object), and tests/unit/test_policy.py checks
them against openclaw_schemas/2026.9.6.json. Rules that need more than a config (file permissions, port
spacing across bots, token age, skill signatures) are not here: docs/decisions.md (2026-11-26) says why.
An agent is an entry of `agents.entries`; a channel is any object under `channels` but `defaults` and
`modelByChannel`, and a channel with `enabled: false` is skipped.

Where a key is unset, a rule judges OpenClaw's own default for it where the schema gives one (a channel's
dmPolicy "pairing", groupPolicy "allowlist"). The sandbox's docker options and tools.fs.workspaceOnly
(default false) are flagged only when set to the weak value: requiring them everywhere would refuse every
built-in template in dev (docs/decisions.md). tools.profile unset means every tool (limit_tool_profile
flags it); an unset gateway auth or bind is flagged.

A workspace's own packs add the declarative "path" type: {"path": "a.b.*.c", "op": equals | not_equals |
in | not_in | exists | absent, "value": ...}; a finding for each value at the path (or the path itself,
when nothing is there) that does not satisfy the condition.

Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from clawster.domain.errors import ValidationFailed

SEVERITIES = ("ERROR", "WARNING", "INFO")
ENVIRONMENTS = ("dev", "staging", "prod")
PATH_OPS = ("equals", "not_equals", "in", "not_in", "exists", "absent")
_MISSING = object()
_NOT_CHANNELS = ("defaults", "modelByChannel")


@dataclass(frozen=True)
class Finding:
    rule_id: str
    pack_id: str
    severity: str
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"rule_id": self.rule_id, "pack_id": self.pack_id, "severity": self.severity, "path": self.path,
                "message": self.message}


@dataclass(frozen=True)
class Rule:
    id: str
    type: str
    severity: str = "ERROR"
    environments: tuple[str, ...] = ()  # empty: every environment
    config: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True


@dataclass(frozen=True)
class Pack:
    id: str
    name: str
    rules: tuple[Rule, ...]
    builtin: bool = False
    environments: tuple[str, ...] = ()  # empty: every environment


@dataclass(frozen=True)
class Evaluation:
    valid: bool
    errors: tuple[Finding, ...]
    warnings: tuple[Finding, ...]
    infos: tuple[Finding, ...]


# --- reading the config ---------------------------------------------------------------------------

def _at(config: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(concrete path, value) for each match of a dot path; "*" matches every key of an object. A path
    without "*" always yields once (the value may be _MISSING)."""
    matches: list[tuple[str, Any]] = [("", config)]
    for key in path.split("."):
        step: list[tuple[str, Any]] = []
        for here, node in matches:
            if key == "*":
                if isinstance(node, dict):
                    step += [(f"{here}.{k}".lstrip("."), v) for k, v in node.items()]
            else:
                step.append((f"{here}.{key}".lstrip("."), node.get(key, _MISSING) if isinstance(node, dict) else _MISSING))
        matches = step
    return iter(matches)


def _get(config: Any, path: str) -> Any:
    return next(_at(config, path))[1]


def _channels(config: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    channels = config.get("channels")
    for name, channel in (channels.items() if isinstance(channels, dict) else ()):
        if name not in _NOT_CHANNELS and isinstance(channel, dict) and channel.get("enabled") is not False:
            yield f"channels.{name}", channel


def _agent_scopes(config: dict[str, Any]) -> Iterator[str]:
    """Where agent settings live: the defaults, then each agent of agents.entries."""
    yield "agents.defaults"
    entries = _get(config, "agents.entries")
    for agent in (entries if isinstance(entries, dict) else ()):
        yield f"agents.entries.{agent}"


Check = Callable[[dict[str, Any], dict[str, Any]], Iterator[tuple[str, str]]]  # (config, rule config) -> (path, why)


# --- the OpenClaw rule types ----------------------------------------------------------------------

def _gateway_auth(config: dict[str, Any], _: dict[str, Any]) -> Iterator[tuple[str, str]]:
    mode = _get(config, "gateway.auth.mode")
    if mode in (_MISSING, "none"):
        yield "gateway.auth.mode", "the gateway must require auth (token, password or trusted-proxy)"
    elif mode in ("token", "password") and _get(config, f"gateway.auth.{mode}") in (_MISSING, None, ""):
        yield f"gateway.auth.{mode}", f"auth mode {mode} needs a {mode}"


def _host_binding(config: dict[str, Any], rule: dict[str, Any]) -> Iterator[tuple[str, str]]:
    allowed = rule.get("allowed", ["loopback", "lan", "tailnet"])
    bind = _get(config, "gateway.bind")
    if bind not in allowed:
        shown = "unset" if bind is _MISSING else repr(bind)
        yield "gateway.bind", f"gateway.bind is {shown}; allowed: {', '.join(allowed)}"


def _dm_policy(config: dict[str, Any], rule: dict[str, Any]) -> Iterator[tuple[str, str]]:
    allowed = rule.get("allowed", ["pairing", "allowlist", "disabled"])
    for path, channel in _channels(config):
        policy = channel.get("dmPolicy", "pairing")  # OpenClaw's default
        if policy not in allowed:
            yield f"{path}.dmPolicy", f"direct messages are {policy!r}; allowed: {', '.join(allowed)}"


def _open_group_policy(config: dict[str, Any], _: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if _get(config, "channels.defaults.groupPolicy") == "open":
        yield "channels.defaults.groupPolicy", "groups are open to everyone by default"
    for path, channel in _channels(config):
        if channel.get("groupPolicy") == "open":
            yield f"{path}.groupPolicy", "groups are open to everyone"


def _channel_allowlist(config: dict[str, Any], _: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for path, channel in _channels(config):
        for key in ("allowFrom", "groupAllowFrom"):
            entries = channel.get(key)
            if isinstance(entries, list) and any(str(e).strip() == "*" for e in entries):
                yield f"{path}.{key}", f"{key} holds the wildcard \"*\": it admits everyone"


def _elevated_tools(config: dict[str, Any], _: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for scope in ("", *(s + "." for s in _agent_scopes(config) if s != "agents.defaults")):
        if _get(config, f"{scope}tools.elevated.enabled") is True:
            yield f"{scope}tools.elevated.enabled", "elevated (host) tools are enabled"


def _dangerous_tools(config: dict[str, Any], _: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for scope in ("", *(s + "." for s in _agent_scopes(config) if s != "agents.defaults")):
        if _get(config, f"{scope}tools.exec.security") == "full":
            yield f"{scope}tools.exec.security", "exec runs any command (security \"full\")"
    yield from _dangerously_flags(config, "")


def _dangerously_flags(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every OpenClaw `dangerously*` switch turned on, wherever it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}".lstrip(".")
            if key.startswith("dangerously") and value is True:
                yield here, f"{key} is on"
            else:
                yield from _dangerously_flags(value, here)


def _tool_profile(config: dict[str, Any], rule: dict[str, Any]) -> Iterator[tuple[str, str]]:
    allowed = rule.get("allowed", ["minimal", "coding", "messaging"])
    profile = _get(config, "tools.profile")
    if profile not in allowed:
        shown = "unset (every tool)" if profile is _MISSING else repr(profile)
        yield "tools.profile", f"tools.profile is {shown}; allowed: {', '.join(allowed)}"
    for scope in _agent_scopes(config):
        if scope != "agents.defaults":
            profile = _get(config, f"{scope}.tools.profile")
            if profile is not _MISSING and profile not in allowed:
                yield f"{scope}.tools.profile", f"tools.profile is {profile!r}; allowed: {', '.join(allowed)}"


def _sandbox(config: dict[str, Any], rule: dict[str, Any]) -> Iterator[tuple[str, str]]:
    modes = rule.get("modes", ["all", "non-main"])
    mode = _get(config, "agents.defaults.sandbox.mode")
    if mode not in modes:
        shown = "unset (off)" if mode is _MISSING else repr(mode)
        yield "agents.defaults.sandbox.mode", f"the sandbox mode is {shown}; allowed: {', '.join(modes)}"
    for scope in _agent_scopes(config):
        mode = _get(config, f"{scope}.sandbox.mode")
        if scope != "agents.defaults" and mode is not _MISSING and mode not in modes:
            yield f"{scope}.sandbox.mode", f"the sandbox mode is {mode!r}; allowed: {', '.join(modes)}"


def _sandbox_security(config: dict[str, Any], _: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for scope in _agent_scopes(config):
        docker = f"{scope}.sandbox.docker"
        if _get(config, f"{docker}.readOnlyRoot") is False:
            yield f"{docker}.readOnlyRoot", "the sandbox's root filesystem is writable"
        cap_drop = _get(config, f"{docker}.capDrop")
        if isinstance(cap_drop, list) and "ALL" not in cap_drop:
            yield f"{docker}.capDrop", "the sandbox keeps Linux capabilities (capDrop lacks \"ALL\")"
        if _get(config, f"{docker}.network") == "host":
            yield f"{docker}.network", "the sandbox shares the host's network"


def _model_guardrails(config: dict[str, Any], _: dict[str, Any]) -> Iterator[tuple[str, str]]:
    allow = _get(config, "agents.defaults.modelPolicy.allow")
    if not (isinstance(allow, list) and allow):
        yield "agents.defaults.modelPolicy.allow", "no model allowlist: an agent may switch to any model"


def _workspace_isolation(config: dict[str, Any], _: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for scope in ("", *(s + "." for s in _agent_scopes(config) if s != "agents.defaults")):
        if _get(config, f"{scope}tools.fs.workspaceOnly") is False:
            yield f"{scope}tools.fs.workspaceOnly", "file tools may reach outside the agent's workspace"
    owners: dict[str, str] = {}
    for scope in _agent_scopes(config):
        workspace = _get(config, f"{scope}.workspace")
        if scope != "agents.defaults" and isinstance(workspace, str):
            if workspace in owners:
                yield f"{scope}.workspace", f"shares its workspace with {owners[workspace]}"
            owners.setdefault(workspace, scope)


CHECKS: dict[str, Check] = {
    "require_gateway_auth": _gateway_auth,
    "require_gateway_host_binding": _host_binding,
    "require_dm_policy": _dm_policy,
    "forbid_open_group_policy": _open_group_policy,
    "require_channel_allowlist": _channel_allowlist,
    "forbid_elevated_tools": _elevated_tools,
    "forbid_dangerous_tools": _dangerous_tools,
    "limit_tool_profile": _tool_profile,
    "require_sandbox": _sandbox,
    "require_sandbox_security_options": _sandbox_security,
    "require_model_guardrails": _model_guardrails,
    "require_workspace_isolation": _workspace_isolation,
}

# The OpenClaw 2026.9.6 schema paths each type reads ("*": any key; <channel>: each channel named below).
CHANNEL_KEYS = ("dmPolicy", "groupPolicy", "allowFrom", "groupAllowFrom", "enabled")
RULE_PATHS: dict[str, tuple[str, ...]] = {
    "require_gateway_auth": ("gateway.auth.mode", "gateway.auth.token", "gateway.auth.password"),
    "require_gateway_host_binding": ("gateway.bind",),
    "require_dm_policy": ("channels.telegram.dmPolicy", "channels.slack.dmPolicy", "channels.discord.dmPolicy"),
    "forbid_open_group_policy": ("channels.defaults.groupPolicy", "channels.telegram.groupPolicy",
                                 "channels.slack.groupPolicy", "channels.discord.groupPolicy"),
    "require_channel_allowlist": ("channels.telegram.allowFrom", "channels.telegram.groupAllowFrom",
                                  "channels.slack.allowFrom", "channels.discord.allowFrom"),
    "forbid_elevated_tools": ("tools.elevated.enabled", "agents.entries.*.tools.elevated.enabled"),
    "forbid_dangerous_tools": ("tools.exec.security", "agents.entries.*.tools.exec.security",
                               "gateway.controlUi.dangerouslyDisableDeviceAuth",
                               "agents.defaults.sandbox.docker.dangerouslyAllowContainerNamespaceJoin"),
    "limit_tool_profile": ("tools.profile", "agents.entries.*.tools.profile"),
    "require_sandbox": ("agents.defaults.sandbox.mode", "agents.entries.*.sandbox.mode"),
    "require_sandbox_security_options": (
        "agents.defaults.sandbox.docker.readOnlyRoot", "agents.defaults.sandbox.docker.capDrop",
        "agents.defaults.sandbox.docker.network", "agents.entries.*.sandbox.docker.readOnlyRoot",
        "agents.entries.*.sandbox.docker.capDrop", "agents.entries.*.sandbox.docker.network"),
    "require_model_guardrails": ("agents.defaults.modelPolicy.allow",),
    "require_workspace_isolation": ("tools.fs.workspaceOnly", "agents.entries.*.tools.fs.workspaceOnly",
                                    "agents.entries.*.workspace"),
}

# Each type's config keys and what they must be (lists of strings).
_LIST_OPTIONS = {"require_gateway_host_binding": "allowed", "require_dm_policy": "allowed",
                 "limit_tool_profile": "allowed", "require_sandbox": "modes"}


def _path_rule(config: dict[str, Any], rule: dict[str, Any]) -> Iterator[tuple[str, str]]:
    op, value = rule["op"], rule.get("value")
    shown = json.dumps(value)
    tests: dict[str, tuple[Callable[[Any], bool], str]] = {
        "equals": (lambda v: v == value, f"must equal {shown}"),
        "not_equals": (lambda v: v != value, f"must not equal {shown}"),
        "in": (lambda v: v in value, f"must be one of {shown}"),
        "not_in": (lambda v: v not in value, f"must not be one of {shown}"),
        "exists": (lambda v: v is not _MISSING, "must be set"),
        "absent": (lambda v: v is _MISSING, "must not be set"),
    }
    holds, why = tests[op]
    matches = list(_at(config, rule["path"]))
    if not matches and op == "exists":
        yield rule["path"], why
    for path, found in matches:
        if not holds(found):
            yield path, why


CHECKS["path"] = _path_rule
RULE_TYPES = tuple(CHECKS)


# --- validation of a rule given by a user ---------------------------------------------------------

def check_rule(rule: Rule, field_name: str) -> None:
    """422 naming the field, for a rule the evaluator could not run."""
    if rule.type not in CHECKS:
        raise ValidationFailed(f"{field_name}.type", f"unknown rule type {rule.type!r}; one of {', '.join(RULE_TYPES)}")
    if rule.severity not in SEVERITIES:
        raise ValidationFailed(f"{field_name}.severity", f"one of {', '.join(SEVERITIES)}")
    for env in rule.environments:
        if env not in ENVIRONMENTS:
            raise ValidationFailed(f"{field_name}.environments", f"unknown environment {env!r}")
    config = rule.config
    if rule.type == "path":
        path = config.get("path")
        if not isinstance(path, str) or not path or any(not k for k in path.split(".")):
            raise ValidationFailed(f"{field_name}.config.path", "a dot path such as gateway.bind (\"*\": any key)")
        if config.get("op") not in PATH_OPS:
            raise ValidationFailed(f"{field_name}.config.op", f"one of {', '.join(PATH_OPS)}")
        if config["op"] in ("in", "not_in") and not isinstance(config.get("value"), list):
            raise ValidationFailed(f"{field_name}.config.value", f"op {config['op']} needs a list")
        if config["op"] in ("equals", "not_equals") and "value" not in config:
            raise ValidationFailed(f"{field_name}.config.value", f"op {config['op']} needs a value")
        extra = set(config) - {"path", "op", "value"}
    else:
        option = _LIST_OPTIONS.get(rule.type)
        extra = set(config) - ({option} if option else set())
        if option in config and not (isinstance(config[option], list)
                                     and all(isinstance(v, str) for v in config[option])):
            raise ValidationFailed(f"{field_name}.config.{option}", "a list of strings")
    if extra:
        raise ValidationFailed(f"{field_name}.config.{sorted(extra)[0]}", f"not a setting of rule type {rule.type}")


# --- evaluation -----------------------------------------------------------------------------------

def _applies(environments: tuple[str, ...], environment: str) -> bool:
    return not environments or environment in environments


def evaluate(config: dict[str, Any], packs: Iterable[Pack], environment: str) -> Evaluation:
    """The findings of every enabled rule that applies in `environment`, by severity, in pack and rule order."""
    findings: list[Finding] = []
    for pack in packs:
        if not _applies(pack.environments, environment):
            continue
        for rule in pack.rules:
            if rule.enabled and _applies(rule.environments, environment):
                findings += [Finding(rule.id, pack.id, rule.severity, path, message)
                             for path, message in CHECKS[rule.type](config, rule.config)]
    errors = tuple(f for f in findings if f.severity == "ERROR")
    return Evaluation(not errors, errors, tuple(f for f in findings if f.severity == "WARNING"),
                      tuple(f for f in findings if f.severity == "INFO"))


# --- the built-in packs ---------------------------------------------------------------------------

def _rule(type_: str, severity: str = "ERROR", **config: Any) -> Rule:
    return Rule(id=type_.replace("_", "-"), type=type_, severity=severity, config=config)


BUILTIN_PACKS: tuple[Pack, ...] = (
    Pack("builtin-openclaw-security-baseline", "OpenClaw security baseline", builtin=True, rules=(
        _rule("require_gateway_auth"),
        _rule("require_dm_policy"),
        _rule("forbid_elevated_tools", "WARNING"),
        _rule("require_workspace_isolation"),
        _rule("forbid_dangerous_tools"),
        _rule("require_gateway_host_binding"),
        _rule("require_sandbox_security_options", "WARNING"),
        _rule("require_channel_allowlist"),
    )),
    Pack("builtin-openclaw-channel-safety", "OpenClaw channel safety", builtin=True, rules=(
        # Stricter than the baseline: direct messages only after pairing or from an allowlist.
        _rule("require_dm_policy", "WARNING", allowed=["pairing", "allowlist"]),
    )),
    Pack("builtin-openclaw-production-hardening", "OpenClaw production hardening", builtin=True,
         environments=("prod",), rules=(
             _rule("require_sandbox", modes=["all", "non-main"]),
             _rule("limit_tool_profile", "WARNING"),
             _rule("require_model_guardrails", "WARNING"),
             _rule("forbid_open_group_policy"),
         )),
)
BUILTIN_IDS = frozenset(p.id for p in BUILTIN_PACKS)
