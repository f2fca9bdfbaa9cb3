"""Roles and the one permission table every route is checked against."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "VIEWER"
    OPERATOR = "OPERATOR"
    ADMIN = "ADMIN"
    OWNER = "OWNER"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.ADMIN: 3, Role.OWNER: 4}

PUBLIC = "PUBLIC"  # no token needed (health, and the API description: /openapi.json, /swagger)
AUTHENTICATED = "AUTHENTICATED"  # any valid token; not scoped to a workspace

# action -> who may do it. Workspace-scoped actions name the lowest role that is allowed.
PERMISSIONS: dict[str, str | Role] = {
    "health.read": PUBLIC,
    "openapi.read": PUBLIC,
    "template.list": AUTHENTICATED,
    "target.list": AUTHENTICATED,
    "workspace.create": AUTHENTICATED,
    "workspace.list": AUTHENTICATED,
    "workspace.read": Role.VIEWER,
    "workspace.update": Role.ADMIN,
    "workspace.delete": Role.OWNER,
    "member.list": Role.VIEWER,
    "member.put": Role.ADMIN,
    "member.delete": Role.ADMIN,
    "fleet.list": Role.VIEWER,
    "fleet.read": Role.VIEWER,
    "fleet.create": Role.ADMIN,
    "fleet.update": Role.ADMIN,
    "fleet.delete": Role.ADMIN,
    "bot.list": Role.VIEWER,
    "bot.read": Role.VIEWER,
    "bot.create": Role.OPERATOR,
    "bot.update": Role.OPERATOR,
    "bot.delete": Role.ADMIN,
    "bot.lifecycle": Role.OPERATOR,
    "bot.upgrade": Role.OPERATOR,
    "bot.pairing.approve": Role.OPERATOR,
    "revision.list": Role.VIEWER,
    "revision.read": Role.VIEWER,
    "audit.list": Role.ADMIN,
    "layer.list": Role.VIEWER,
    "layer.read": Role.VIEWER,
    "layer.preview": Role.VIEWER,
    "template.write": Role.OPERATOR,
    "overlay.write": Role.OPERATOR,
    "profile.write": Role.ADMIN,  # a profile's locks bind every layer above it: governance
    "drift.list": Role.VIEWER,
    "drift.read": Role.VIEWER,
    "drift.policy.update": Role.ADMIN,
    "rollout.list": Role.VIEWER,
    "rollout.read": Role.VIEWER,
    "rollout.create": Role.OPERATOR,
    "rollout.control": Role.OPERATOR,  # pause, resume, approve, abort, promote
    "policy.builtin": AUTHENTICATED,
    "policy.list": Role.VIEWER,
    "policy.read": Role.VIEWER,
    "policy.evaluate": Role.VIEWER,
    "policy.create": Role.ADMIN,
    "policy.update": Role.ADMIN,
    "policy.delete": Role.ADMIN,
    "connector.list": Role.VIEWER,
    "connector.read": Role.VIEWER,  # metadata only: a value is never returned
    "connector.create": Role.OPERATOR,
    "connector.update": Role.OPERATOR,
    "connector.test": Role.OPERATOR,  # reads the value (server-side) to check it
    "connector.rotate": Role.OPERATOR,
    "connector.delete": Role.ADMIN,
}


def is_workspace_scoped(action: str) -> bool:
    return isinstance(PERMISSIONS[action], Role)


def allows(role: Role | None, action: str) -> bool:
    """True when a caller holding `role` in the workspace may perform `action`."""
    required = PERMISSIONS[action]
    if required in (PUBLIC, AUTHENTICATED):
        return True
    return role is not None and role.at_least(required)  # type: ignore[arg-type]
