"""Secret references: the only form in which tokens travel through the control plane.

`file:<path>` is the local provider's store (a 0600 file in the bot's folder); cloud providers add
their own schemes (e.g. Secrets Manager ARNs) here.
"""

from __future__ import annotations

from pathlib import Path


class UnknownSecretRef(ValueError):
    pass


def resolve(ref: str) -> str:
    scheme, _, rest = ref.partition(":")
    if scheme == "file" and rest:
        return Path(rest).read_text().strip()
    raise UnknownSecretRef(f"cannot resolve secret reference scheme {scheme!r}")
