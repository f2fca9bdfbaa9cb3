"""The one secret-reference format, for bot configs and providers alike.

A reference is a string naming where a secret lives, never the secret:
  <name>                                      Secrets Manager, by name (e.g. clawster/acme/openai)
  arn:aws:secretsmanager:<region>:<account>:secret:<name>   Secrets Manager, by ARN
  file:<absolute path>                        the local provider's store (a 0600 file); internal only
In a config it is wrapped as {"$secretRef": "<reference>"}. Configs written through the API may use
only Secrets Manager references: a `file:` one would let a caller read the control plane's disk.
clawster.secrets resolves references; this module only parses them (no I/O).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from clawster.domain.errors import ValidationFailed

CONFIG_KEY = "$secretRef"
SECRETS_MANAGER = "secretsmanager"
FILE = "file"

# Secrets Manager's own rules: names of 1-512 of these characters; ARNs in any AWS partition.
_NAME = r"[A-Za-z0-9/_+=.@-]{1,512}"
_ARN = re.compile(rf"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{{12}}:secret:{_NAME}$")
_BARE_NAME = re.compile(rf"^{_NAME}$")
FORMAT = "a Secrets Manager name or ARN"


class InvalidSecretRef(ValidationFailed):
    """Not a reference in the one format; `field` names where it was found."""

    def __init__(self, field: str, reason: str = f"a secret reference is {FORMAT}"):
        super().__init__(field, reason)


@dataclass(frozen=True)
class SecretRef:
    store: Literal["secretsmanager", "file"]
    id: str  # the name or ARN, or the file's path

    @classmethod
    def parse(cls, text: Any, *, field: str = "secretRef", allow_file: bool = False) -> SecretRef:
        if not isinstance(text, str):
            raise InvalidSecretRef(field)
        if text.startswith(f"{FILE}:"):
            path = text[len(FILE) + 1:]
            if not allow_file:
                raise InvalidSecretRef(field, f"file references are internal to the local provider; use {FORMAT}")
            if not path.startswith("/") or "\x00" in path:
                raise InvalidSecretRef(field, "a file reference needs an absolute path")
            return cls(FILE, path)
        if _ARN.match(text) or (_BARE_NAME.match(text) and not text.startswith("arn:")):
            return cls(SECRETS_MANAGER, text)
        raise InvalidSecretRef(field)

    @classmethod
    def from_config(cls, value: Any, *, field: str = "secretRef") -> SecretRef:
        """The reference in a config value {"$secretRef": "..."} (a Secrets Manager one only)."""
        if not (isinstance(value, dict) and set(value) == {CONFIG_KEY}):
            raise InvalidSecretRef(field, f'a secret reference is {{"{CONFIG_KEY}": "<{FORMAT}>"}}')
        return cls.parse(value[CONFIG_KEY], field=field)

    def __str__(self) -> str:
        return f"{FILE}:{self.id}" if self.store == FILE else self.id

    def for_config(self) -> dict[str, str]:
        return {CONFIG_KEY: str(self)}


# A connector's secret (services/connectors.py): clawster/<workspace id>/<connector id>, ids being ULIDs.
_CONNECTOR_SECRET = re.compile(r"^clawster/([0-9A-HJKMNP-TV-Z]{26})/")


def check_workspace(ref: SecretRef, workspace_id: str, *, field: str = "secretRef") -> None:
    """A connector's secret belongs to its workspace: a reference, by name or ARN, to
    clawster/<another workspace>/... is refused (a bot must not run on another tenant's credentials)."""
    if ref.store != SECRETS_MANAGER:
        return
    name = ref.id.split(":secret:", 1)[1] if ref.id.startswith("arn:") else ref.id
    match = _CONNECTOR_SECRET.match(name)
    if match and match.group(1) != workspace_id:
        raise InvalidSecretRef(field, "names a connector secret of another workspace")


def is_config_ref(value: Any) -> bool:
    try:
        SecretRef.from_config(value)
    except InvalidSecretRef:
        return False
    return True
