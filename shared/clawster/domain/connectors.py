"""Connectors: an LLM provider key or a channel token, kept in Secrets Manager and referenced from bot
configs. This module is pure: the kinds, and the offline checks a value of each kind can be put to.

A connection test checks what can be checked without the provider's network (the control plane has
none in the local stack, and a liveness call would spend the provider's quota): the value's shape as
the provider documents it, and for a Discord token the user id it embeds. The liveness of the value
(does the provider accept it?) is reported as "untested", never guessed. No check ever returns or
quotes the value: details name what was expected, not what was found.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

KINDS = ("openai", "anthropic", "slack-bot", "slack-app", "telegram", "discord", "webhook", "generic")
MAX_VALUE_BYTES = 8192  # a token or key; Secrets Manager's own limit is 64 KiB

PASSED, FAILED, UNTESTED = "passed", "failed", "untested"


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # passed | failed | untested
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


@dataclass(frozen=True)
class TestResult:
    result: str  # passed | failed | untested
    checks: tuple[Check, ...]
    reason: str

    def as_dict(self) -> dict:
        return {"result": self.result, "checks": [c.as_dict() for c in self.checks], "reason": self.reason}


def _shape(name: str, pattern: str, expected: str) -> Callable[[str], Check]:
    compiled = re.compile(pattern)

    def check(value: str) -> Check:
        ok = compiled.fullmatch(value) is not None
        return Check(name, PASSED if ok else FAILED, f"{'is' if ok else 'is not'} {expected}")

    return check


def _discord_user_id(value: str) -> Check:
    """A Discord bot token is <base64 of the bot's user id>.<timestamp>.<HMAC>: the first part must
    decode to a snowflake (a decimal id of 17-20 digits)."""
    first = value.split(".", 1)[0]
    try:
        decoded = base64.b64decode(first + "=" * (-len(first) % 4), altchars=b"-_", validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return Check("user-id", FAILED, "its first part is not base64")
    ok = re.fullmatch(r"[1-9][0-9]{16,19}", decoded) is not None
    return Check("user-id", PASSED if ok else FAILED,
                 "its first part encodes a Discord user id" if ok else "its first part does not encode a Discord user id")


def _https_url(value: str) -> Check:
    try:
        parts = urlsplit(value)
        ok = parts.scheme == "https" and bool(parts.hostname) and not parts.username and not any(
            c.isspace() for c in value)
    except ValueError:
        ok = False
    return Check("url", PASSED if ok else FAILED,
                 "is an https URL with a host" if ok else "is not an https URL with a host (and no user info)")


def _no_whitespace(value: str) -> Check:
    ok = value == value.strip() and "\n" not in value
    return Check("whitespace", PASSED if ok else FAILED,
                 "has no surrounding whitespace or line break" if ok else "has surrounding whitespace or a line break")


# kind -> (offline checks, where liveness would be checked)
_CHECKS: dict[str, tuple[tuple[Callable[[str], Check], ...], str]] = {
    "openai": ((_shape("prefix", r"sk-[A-Za-z0-9_-]{20,}", "an OpenAI key (sk-…, 20+ more characters)"),),
               "api.openai.com"),
    "anthropic": ((_shape("prefix", r"sk-ant-[A-Za-z0-9_-]{20,}", "an Anthropic key (sk-ant-…)"),),
                  "api.anthropic.com"),
    "slack-bot": ((_shape("prefix", r"xoxb-[0-9]+-[0-9]+-[A-Za-z0-9]{16,}", "a Slack bot token (xoxb-<team>-<bot>-…)"),),
                  "slack.com/api/auth.test"),
    "slack-app": ((_shape("prefix", r"xapp-[0-9]+-[A-Z0-9]+-[0-9]+-[a-f0-9]{32,}",
                          "a Slack app-level token (xapp-1-<app>-<n>-<hex>)"),), "slack.com/api/apps.connections.open"),
    "telegram": ((_shape("shape", r"[0-9]{5,12}:[A-Za-z0-9_-]{35}", "a Telegram bot token (<bot id>:<35 characters>)"),),
                 "api.telegram.org/getMe"),
    "discord": ((_shape("shape", r"[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,40}",
                        "a Discord bot token (three dot-separated base64 parts)"), _discord_user_id),
                "discord.com/api/users/@me"),
    "webhook": ((_https_url,), "the webhook's own host"),
    "generic": ((), ""),
}


def offline_test(kind: str, value: str) -> TestResult:
    """Every offline check of `kind` on `value`; then liveness, untested (it needs the provider)."""
    checks = [_no_whitespace(value)]
    offline, live_at = _CHECKS[kind]
    if checks[0].status == PASSED:
        checks += [check(value) for check in offline]
    failed = [c for c in checks if c.status == FAILED]
    if failed:
        return TestResult(FAILED, tuple(checks), "; ".join(f"{c.name}: the value {c.detail}" for c in failed))
    if live_at:
        checks.append(Check("live", UNTESTED, f"needs a call to {live_at}, which is not made from here"))
        reason = f"the value has the shape of a {kind} credential; whether {live_at} accepts it is untested"
    else:
        checks.append(Check("live", UNTESTED, "a generic secret has no provider to ask"))
        reason = "a generic secret has no shape to check and no provider to ask: untested"
    return TestResult(UNTESTED, tuple(checks), reason)
