"""Checks on a bot's OpenClaw config before it is stored.

Secrets only by reference. At a secret path the only value accepted is a reference object
{"$secretRef": "<Secrets Manager name or ARN>"} (or nothing: null or ""); any other value (a string, a
number, an object, a list) is refused (422). The secret paths are the ones OpenClaw itself redacts in
`config.get`: its key-name rule, ported below, and the paths its schema marks sensitive
(openclaw_secret_paths.py, taken from the installed gateway). Anywhere else, a string shaped like a
credential (a provider key, a bearer header, a URL with a password or a secret query parameter, a PEM
private key) is refused too. A refusal names the path and the kind of value, never the value, so no
secret ever reaches DynamoDB, an API response or a log.

Then the config must be one the bot's OpenClaw version accepts: its config schema
(openclaw_config_schema) refuses unknown keys and bad values, each named by its path and reason. A
secret reference stands for a string there (the secret's value is written in its place).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from clawster.domain import openclaw_config_schema, secret_refs
from clawster.domain.errors import PermanentError, ValidationFailed
from clawster.domain.openclaw_secret_paths import SENSITIVE_PATHS

SECRET_REF = secret_refs.CONFIG_KEY
MAX_CONFIG_BYTES = 64 * 1024
USE_A_REFERENCE = 'store it in Secrets Manager and use {"$secretRef": "<name or ARN>"}'

# OpenClaw's key-name rule (src/config/sensitive-paths.ts in 2026.9.6), tested against the whole path
# as OpenClaw writes it (keys joined by ".", "[]" for a list item), plus two names of Clawster's own.
_SECRET_NAME = re.compile(
    r"token$|password|secret|api.?key|encrypt.?key|private.?key|serviceaccount(?:ref)?$|credential|passwd", re.I
)
_NOT_SECRET_SUFFIXES = ("maxtokens", "maxoutputtokens", "maxinputtokens", "maxcompletiontokens", "contexttokens",
                        "totaltokens", "tokencount", "tokenlimit", "tokenbudget", "passwordfile")
_LIST_ITEM = "[]"
_SENSITIVE: dict[int, list[tuple[str, ...]]] = {}  # by number of segments
for _path in SENSITIVE_PATHS:
    _segments = tuple(_path.replace(_LIST_ITEM, "." + _LIST_ITEM).split("."))
    _SENSITIVE.setdefault(len(_segments), []).append(_segments)


def _mixed(body: str) -> bool:
    """Random-looking: upper and lower case letters and digits (a key, not a name like sk-my-project-2)."""
    return bool(re.search(r"[a-z]", body) and re.search(r"[A-Z]", body) and re.search(r"\d", body))


# (kind, pattern, extra check on the match) -- searched for inside every string value and key.
_CREDENTIAL_SHAPES: tuple[tuple[str, re.Pattern[str], Any], ...] = (
    ("an OpenAI or Anthropic API key",
     re.compile(r"(?<![\w-])sk-(?:ant-|proj-|svcacct-|admin-)?([A-Za-z0-9_-]{20,})"), lambda m: _mixed(m.group(1))),
    ("an AWS access key id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"), None),
    ("a GitHub token", re.compile(r"(?<![\w])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})"), None),
    ("a Slack token", re.compile(r"(?<![\w-])xox[abprs]-[A-Za-z0-9-]{10,}"), None),
    ("a Google API key", re.compile(r"(?<![\w-])AIza[A-Za-z0-9_-]{35}"), None),
    ("a Telegram bot token", re.compile(r"(?<!\d)\d{6,12}:[A-Za-z0-9_-]{35}(?![\w-])"), None),
    ("a bearer token", re.compile(r"(?i:\bbearer)\s+([A-Za-z0-9._~+/=-]{16,})"),
     lambda m: bool(re.search(r"\d", m.group(1)) and re.search(r"[A-Za-z]", m.group(1)))),
    ("a URL with a password", re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@"), None),
    ("a URL with a secret query parameter",
     re.compile(r"[?&#](?:access_token|auth_token|refresh_token|id_token|token|api[_-]?key|key|secret|"
                r"client_secret|password|passwd|sig|signature|x-amz-signature|x-amz-security-token)=[^&#\s]+", re.I),
     None),
    ("a PEM private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"), None),
)


def credential_kind(text: str) -> str | None:
    """What kind of credential `text` holds, or None if it looks like none."""
    for kind, pattern, check in _CREDENTIAL_SHAPES:
        if any(check is None or check(m) for m in pattern.finditer(text)):
            return kind
    return None


def is_secret_path(segments: tuple[str, ...]) -> bool:
    """Whether OpenClaw redacts the value at this path (keys, with "[]" for a list item)."""
    text = ".".join(segments).replace("." + _LIST_ITEM, _LIST_ITEM)
    lowered = text.lower()
    if "localservice.env." in lowered:
        return True
    if not lowered.endswith(_NOT_SECRET_SUFFIXES) and _SECRET_NAME.search(text):
        return True
    return any(all(h in ("*", s) for h, s in zip(p, segments, strict=True)) for p in _SENSITIVE.get(len(segments), ()))


def _walk(node: Any, path: str, segments: tuple[str, ...], field: str) -> None:
    if isinstance(node, dict) and SECRET_REF in node:
        secret_refs.SecretRef.from_config(node, field=f"{field}{path}")  # raises, naming the path and why
        return
    if segments and is_secret_path(segments):
        if node is None or node == "":
            return
        raise ValidationFailed(
            f"{field}{path}", f"this is a secret path: plaintext values are not accepted; {USE_A_REFERENCE}")
    if isinstance(node, str):
        kind = credential_kind(node)
        if kind:
            raise ValidationFailed(f"{field}{path}", f"the value looks like {kind}; {USE_A_REFERENCE}")
    elif isinstance(node, dict):
        for key, value in node.items():
            kind = credential_kind(str(key))
            if kind:  # the path would show the key, so name the object that holds it
                raise ValidationFailed(f"{field}{path}", f"a key here looks like {kind}; secrets go in values, "
                                                         f"by reference: {USE_A_REFERENCE}")
            _walk(value, f"{path}.{key}", (*segments, str(key)), field)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _walk(value, f"{path}[{index}]", (*segments, _LIST_ITEM), field)


SECRET_PLACEHOLDER = "clawster-secret-reference"  # what a reference is checked as: the value it stands for is a string


class ConfigRefused(ValidationFailed):
    """422: the OpenClaw config schema refuses the config; one error per issue, each naming its field."""

    def __init__(self, errors: list[dict[str, str]]):
        PermanentError.__init__(self, "; ".join(f"{e['field']}: {e['reason']}" for e in errors), {"errors": errors})


def _without_refs(node: Any) -> Any:
    """The config with each secret reference replaced by a string, as the gateway will see it."""
    if isinstance(node, dict):
        if SECRET_REF in node:
            return SECRET_PLACEHOLDER
        return {key: _without_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_without_refs(value) for value in node]
    return node


def schema_issues(config: dict[str, Any], openclaw_version: str | None, field: str = "config") -> list[dict[str, str]]:
    """What the config schema of the OpenClaw version refuses, as API errors [{"field", "reason"}]."""
    version = openclaw_config_schema.schema_version(openclaw_version)
    return [{"field": field if issue["path"] == openclaw_config_schema.ROOT else f"{field}.{issue['path']}",
             "reason": f"{issue['reason']} (config schema of openclaw {version})"}
            for issue in openclaw_config_schema.validate(_without_refs(config), version)]


def check_config(config: dict[str, Any], field: str = "config", openclaw_version: str | None = None) -> str:
    """Validate and return the canonical JSON of a config (the form stored in a revision). The schema
    is that of `openclaw_version` (the default version's when it is None or has no schema here)."""
    _walk(config, "", (), field)
    canonical = canonical_json(config)
    if len(canonical.encode()) > MAX_CONFIG_BYTES:
        raise ValidationFailed(field, f"config is larger than {MAX_CONFIG_BYTES // 1024} KiB")
    errors = schema_issues(config, openclaw_version, field)
    if errors:
        raise ConfigRefused(errors)
    return canonical


def check_layer(config: dict[str, Any], field: str = "config", *, workspace_id: str | None = None) -> str:
    """A layer's config (a template, profile, overlay or override): secrets by reference (and, given the
    workspace, none to another workspace's connector) and the size; the schema is checked on the effective
    config of each bot the layer reaches (null deletes a key, so a layer alone is not a config the schema
    could judge). Returns the canonical JSON."""
    _walk(config, "", (), field)
    if workspace_id is not None:
        _own_workspace_refs(config, field, workspace_id)
    canonical = canonical_json(config)
    if len(canonical.encode()) > MAX_CONFIG_BYTES:
        raise ValidationFailed(field, f"config is larger than {MAX_CONFIG_BYTES // 1024} KiB")
    return canonical


def _own_workspace_refs(node: Any, path: str, workspace_id: str) -> None:
    if isinstance(node, dict) and SECRET_REF in node:
        secret_refs.check_workspace(secret_refs.SecretRef.from_config(node, field=path), workspace_id, field=path)
    elif isinstance(node, dict):
        for key, value in node.items():
            _own_workspace_refs(value, f"{path}.{key}", workspace_id)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _own_workspace_refs(value, f"{path}[{index}]", workspace_id)


def canonical_json(config: dict[str, Any]) -> str:
    return json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_hash(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()
