"""Who is calling and with which rights: built once per request by the API entry point."""

from __future__ import annotations

from dataclasses import dataclass

from clawster.domain.roles import Role


@dataclass(frozen=True)
class Caller:
    user_id: str
    request_id: str


@dataclass(frozen=True)
class Access:
    """A caller authorized for one action in one workspace."""

    caller: Caller
    workspace_id: str
    role: Role
    action: str
