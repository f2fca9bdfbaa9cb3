"""Authorization: one check, driven by the permission table, before any route runs.

A caller who is not a member of the workspace gets 404 (the workspace's existence is not
revealed); a member whose role is too low gets 403. Both are recorded in the audit trail.
"""

from __future__ import annotations

from clawster import ids
from clawster.domain.errors import Forbidden, NotFound
from clawster.domain.roles import PERMISSIONS, Role, allows, is_workspace_scoped
from clawster.services import audit
from clawster.services.context import Access, Caller
from clawster.store.entities import Member, Workspace


def workspace_not_found(workspace_id: str) -> NotFound:
    return NotFound(f"workspace {workspace_id} not found", {"workspace_id": workspace_id})


def _exists(model, *key_parts) -> bool:
    try:
        model.get(*model.key(*key_parts), attributes_to_get=["pk"])
        return True
    except model.DoesNotExist:
        return False


def authorize(caller: Caller, action: str, workspace_id: str | None, target: str) -> Access | None:
    """Return the caller's Access for a workspace action (None for actions outside a workspace)."""
    if not is_workspace_scoped(action):
        return None
    if not workspace_id or not ids.is_id(workspace_id):
        raise workspace_not_found(workspace_id or "")
    member = _member(workspace_id, caller.user_id)
    if member is None:
        if _exists(Workspace, workspace_id):
            audit.record_denial(caller, workspace_id, action, target, None, "not a member of the workspace")
        raise workspace_not_found(workspace_id)
    role = Role(member.role)
    if not allows(role, action):
        required = PERMISSIONS[action]
        reason = f"role {role.value} may not {action} (requires {required.value} or higher)"
        audit.record_denial(caller, workspace_id, action, target, role, reason)
        raise Forbidden(reason, {"action": action, "role": role.value, "required": required.value})
    return Access(caller=caller, workspace_id=workspace_id, role=role, action=action)


def _member(workspace_id: str, user_id: str) -> Member | None:
    try:
        return Member.get(*Member.key(workspace_id, user_id), consistent_read=True)
    except Member.DoesNotExist:
        return None
