"""Authorization: one check, driven by the permission table, before any route runs.

A caller who is not a member of the workspace gets 404 (the workspace's existence is not
revealed, and the answer and the work behind it are the same whether it exists or not); a member
whose role is too low gets 403. A member's refusal goes to the workspace's audit trail, a
non-member's to the caller's security partition (services/audit.py).
"""

from __future__ import annotations

from clawster import ids
from clawster.domain.errors import Forbidden, NotFound
from clawster.domain.roles import PERMISSIONS, Role, allows, is_workspace_scoped
from clawster.services import audit
from clawster.services.context import Access, Caller
from clawster.store.entities import Member


def workspace_not_found(workspace_id: str) -> NotFound:
    return NotFound(f"workspace {workspace_id} not found", {"workspace_id": workspace_id})


def authorize(caller: Caller, action: str, workspace_id: str | None, target: str) -> Access | None:
    """Return the caller's Access for a workspace action (None for actions outside a workspace)."""
    if not is_workspace_scoped(action):
        return None
    if not workspace_id or not ids.is_id(workspace_id):
        raise workspace_not_found(workspace_id or "")
    member = _member(workspace_id, caller.user_id)
    if member is None:
        audit.record_outsider(caller, workspace_id, action, target)
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
