"""Workspaces (tenant boundaries) and their members."""

from __future__ import annotations

from pynamodb.exceptions import UpdateError

from clawster.domain.errors import Conflict, Forbidden, NotFound, VersionConflict
from clawster.domain.roles import Role
from clawster.services import audit
from clawster.services.access import workspace_not_found
from clawster.services.context import Access, Caller
from clawster.store import cursor
from clawster.store.entities import Member, Workspace
from clawster.store.transaction import Change

MAX_MEMBERS_ON_DELETE = 90  # a workspace and its members go in one transaction (limit 100 items)


def stale(kind: str, key: str) -> VersionConflict:
    return VersionConflict(f"{kind} {key} was changed by someone else; read it again and retry", {"id": key})


def create(caller: Caller, *, name: str, description: str) -> tuple[Workspace, Member]:
    workspace = Workspace.new(name=name, description=description, created_by=caller.user_id)
    workspace.owner_count = 1
    owner = Member.new(workspace_id=workspace.id, user_id=caller.user_id, role=Role.OWNER.value, added_by=caller.user_id)
    access = Access(caller=caller, workspace_id=workspace.id, role=Role.OWNER, action="workspace.create")
    change = Change().create(workspace, exists_error=lambda: Conflict("workspace id collision"))
    change.create(owner, exists_error=lambda: Conflict("member already exists"))
    change.audit(audit.event(access, f"workspace/{workspace.id}", None, workspace.public()))
    change.commit()
    return workspace, owner


def list_mine(caller: Caller) -> list[tuple[Workspace, Role]]:
    """Every workspace of the caller (the local seed; the API pages with page_mine)."""
    rows, cursor_out = page_mine(caller, limit=100, cursor_in=None)
    while cursor_out:
        more, cursor_out = page_mine(caller, limit=100, cursor_in=cursor_out)
        rows += more
    return rows


def page_mine(caller: Caller, *, limit: int, cursor_in: str | None) -> tuple[list[tuple[Workspace, Role]], str | None]:
    """One page of the caller's workspaces with their role: a Query of their memberships (paged),
    then one BatchGet of those workspaces. A user may belong to any number of workspaces."""
    partition = Member.user_partition(caller.user_id)
    members, next_cursor = cursor.page(Member.by_user.query, partition, limit=limit,
                                       last_evaluated_key=cursor.decode(cursor_in, {"gsi1pk": partition}))
    if not members:
        return [], None
    found = {w.id: w for w in Workspace.batch_get([Workspace.key(m.workspace_id) for m in members])}
    return [(found[m.workspace_id], Role(m.role)) for m in members if m.workspace_id in found], next_cursor


def get(access: Access) -> Workspace:
    try:
        return Workspace.get(*Workspace.key(access.workspace_id))
    except Workspace.DoesNotExist:
        raise workspace_not_found(access.workspace_id) from None


def update(access: Access, *, expected_version: int, changes: dict) -> Workspace:
    workspace = get(access)
    check_version("workspace", workspace.id, workspace.version, expected_version)
    before = workspace.public()
    for field, value in changes.items():
        setattr(workspace, field, value)
    change = Change().edit(workspace, changes, expected_version=expected_version,
                           stale_error=lambda: stale("workspace", workspace.id))
    change.audit(audit.event(access, f"workspace/{workspace.id}", before, workspace.public()))
    change.commit()
    return workspace


def delete(access: Access, *, expected_version: int) -> None:
    workspace = get(access)
    check_version("workspace", workspace.id, workspace.version, expected_version)
    if workspace.fleet_count:
        raise Conflict(f"workspace has {workspace.fleet_count} fleet(s); delete them first",
                       {"fleet_count": workspace.fleet_count})
    members = list(Member.query(Workspace.key(workspace.id)[0], Member.sk.startswith(Member.sk_prefix())))
    if len(members) > MAX_MEMBERS_ON_DELETE:
        raise Conflict(f"remove members first (at most {MAX_MEMBERS_ON_DELETE} can remain)", {"members": len(members)})
    change = Change().delete(
        workspace, expected_version=expected_version, condition=Workspace.fleet_count == 0,
        stale_error=lambda: Conflict("workspace changed (a fleet was added or it was edited); read it again"),
    )
    for member in members:
        change.delete(member, expected_version=member.version, stale_error=lambda: stale("member", "list"))
    change.audit(audit.event(access, f"workspace/{workspace.id}", workspace.public(), None))
    change.commit()


def list_members(access: Access) -> list[Member]:
    return list(Member.query(Workspace.key(access.workspace_id)[0], Member.sk.startswith(Member.sk_prefix())))


def put_member(access: Access, user_id: str, role: Role) -> tuple[Member, bool]:
    """Add a member or change a role. Returns (member, created)."""
    if role == Role.OWNER and access.role != Role.OWNER:
        raise Forbidden("only an OWNER may grant OWNER", {"role": access.role.value, "required": "OWNER"})
    current = _find_member(access.workspace_id, user_id)
    if current is not None:
        _guard_owner_change(access, current, role)
    return write_member(access, user_id, role, current)


def write_member(access: Access, user_id: str, role: Role, current: Member | None) -> tuple[Member, bool]:
    """Create a member (`current` is None) or change the role read in `current`; returns (member, created).

    One transaction: the member, conditioned on the version and role read; the workspace's
    `owner_count` when an OWNER is granted or taken away (never below one: that is its condition,
    so two owners demoting each other at once cannot both succeed); the audit event."""
    change = Change()
    was_owner = current is not None and current.role == Role.OWNER.value
    if current is None:
        member, before = Member.new(workspace_id=access.workspace_id, user_id=user_id, role=role.value,
                                    added_by=access.caller.user_id), None
        change.create(member, exists_error=lambda: stale("member", user_id))
    else:
        member, before, read_role = current, current.public(), current.role
        member.role = role.value
        change.edit(member, ["role"], expected_version=current.version, condition=Member.role == read_role,
                    stale_error=lambda: stale("member", user_id))
    owners_delta = int(role == Role.OWNER) - int(was_owner)
    if owners_delta:
        _count_owners(change, access.workspace_id, owners_delta, user_id)
    elif current is None:
        change.check(Workspace, Workspace.key(access.workspace_id), Workspace.pk.exists(),
                     error=lambda: workspace_not_found(access.workspace_id))
    change.audit(audit.event(access, f"member/{user_id}", before, member.public())).commit()
    return member, current is None


def delete_member(access: Access, user_id: str) -> None:
    current = _find_member(access.workspace_id, user_id)
    if current is None:
        raise NotFound(f"member {user_id} not found", {"user_id": user_id})
    _guard_owner_change(access, current, None)
    change = Change().delete(current, expected_version=current.version, stale_error=lambda: stale("member", user_id))
    if current.role == Role.OWNER.value:
        _count_owners(change, access.workspace_id, -1, user_id)
    change.audit(audit.event(access, f"member/{user_id}", current.public(), None)).commit()


def _guard_owner_change(access: Access, current: Member, new_role: Role | None) -> None:
    """Only owners touch owners, and a workspace always keeps one owner."""
    if current.role != Role.OWNER.value:
        return
    if access.role != Role.OWNER:
        raise Forbidden("only an OWNER may change or remove an OWNER", {"required": "OWNER"})


def _count_owners(change: Change, workspace_id: str, delta: int, user_id: str) -> None:
    """Add `delta` to the workspace's owner_count in `change`; a demotion or removal is conditioned
    on another owner remaining, in the same transaction as the member's write."""
    _backfill_owner_count(workspace_id)
    workspace = Workspace(*Workspace.key(workspace_id))
    if delta > 0:
        change.adjust(workspace, Workspace.owner_count, delta, error=lambda: workspace_not_found(workspace_id))
        return
    change.adjust(workspace, Workspace.owner_count, delta, condition=Workspace.owner_count > -delta,
                  error=lambda: Conflict("a workspace must keep at least one OWNER", {"user_id": user_id}))


def _backfill_owner_count(workspace_id: str) -> None:
    """A workspace written before owner_count existed gets it once, counted from its members.

    Safe against racing writers: every owner change backfills first, and the set is conditioned on
    the counter still missing, so a count that is no longer true is never written."""
    try:
        workspace = Workspace.get(*Workspace.key(workspace_id), consistent_read=True)
    except Workspace.DoesNotExist:
        return  # the transaction's existence condition reports it
    if workspace.owner_count is not None:
        return
    members = Member.query(workspace.pk, Member.sk.startswith(Member.sk_prefix()), consistent_read=True)
    owners = sum(1 for member in members if member.role == Role.OWNER.value)
    try:
        workspace.update(actions=[Workspace.owner_count.set(owners)], condition=Workspace.owner_count.does_not_exist())
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def _find_member(workspace_id: str, user_id: str) -> Member | None:
    try:
        return Member.get(*Member.key(workspace_id, user_id), consistent_read=True)
    except Member.DoesNotExist:
        return None


def check_version(kind: str, key: str, stored: int, expected: int) -> None:
    if stored != expected:
        raise VersionConflict(
            f"{kind} {key} is at version {stored}, not {expected}; read it again and retry",
            {"id": key, "current_version": stored, "expected_version": expected},
        )

