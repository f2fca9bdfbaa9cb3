"""Checks on a bot's OpenClaw config before it is stored.

Secrets only by reference: a value under a secret-like key must be a reference object
{"$secretRef": "<Secrets Manager name or ARN>"}; a plaintext value is refused (422), so no
secret ever reaches DynamoDB, an API response or a log.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from clawster.domain.errors import ValidationFailed

SECRET_KEY = re.compile(r"(token|secret|password|passwd|api[_-]?key|apikey|private[_-]?key|credential)", re.I)
SECRET_REF = "$secretRef"
SECRET_REF_VALUE = re.compile(r"^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}$")
MAX_CONFIG_BYTES = 64 * 1024


def is_secret_ref(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {SECRET_REF}
        and isinstance(value[SECRET_REF], str)
        and bool(SECRET_REF_VALUE.match(value[SECRET_REF]))
    )


def _walk(node: Any, path: str, field: str) -> None:
    if isinstance(node, dict):
        if is_secret_ref(node):
            return
        if SECRET_REF in node:
            raise ValidationFailed(f"{field}{path}", "a secret reference is {\"$secretRef\": \"<name or ARN>\"}")
        for key, value in node.items():
            child = f"{path}.{key}"
            if SECRET_KEY.search(str(key)) and not _is_reference_or_empty(value):
                raise ValidationFailed(
                    f"{field}{child}",
                    "plaintext secrets are not accepted; store it in Secrets Manager and use "
                    '{"$secretRef": "<name or ARN>"}',
                )
            _walk(value, child, field)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _walk(value, f"{path}[{index}]", field)


def _is_reference_or_empty(value: Any) -> bool:
    # Booleans/numbers/containers under a secret-like key are settings (e.g. tokenLimit), not secrets.
    return value is None or is_secret_ref(value) or not isinstance(value, str) or value == ""


def check_config(config: dict[str, Any], field: str = "config") -> str:
    """Validate and return the canonical JSON of a config (the form stored in a revision)."""
    _walk(config, "", field)
    canonical = canonical_json(config)
    if len(canonical.encode()) > MAX_CONFIG_BYTES:
        raise ValidationFailed(field, f"config is larger than {MAX_CONFIG_BYTES // 1024} KiB")
    return canonical


def canonical_json(config: dict[str, Any]) -> str:
    return json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_hash(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()
