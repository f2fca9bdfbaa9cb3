"""Audit trail: events are written in the transaction of the change they describe."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from clawster import ids
from clawster.domain.diff import diff
from clawster.domain.errors import ValidationFailed
from clawster.domain.roles import Role
from clawster.services.context import Access, Caller
from clawster.store import cursor
from clawster.store.entities import AuditEvent
from clawster.store.transaction import Change


def event(access: Access, target: str, before: dict[str, Any] | None, after: dict[str, Any] | None,
          action: str | None = None) -> AuditEvent:
    return AuditEvent.new(
        workspace_id=access.workspace_id,
        actor=access.caller.user_id,
        role=access.role.value,
        action=action or access.action,
        outcome="ALLOWED",
        target=target,
        before=before,
        after=after,
        diff=diff(before, after),
        request_id=access.caller.request_id,
    )


def audited(access: Access, target: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> Change:
    """A Change that already carries its audit event."""
    return Change().audit(event(access, target, before, after))


def record_denial(caller: Caller, workspace_id: str, action: str, target: str, role: Role | None, reason: str) -> None:
    Change().audit(
        AuditEvent.new(
            workspace_id=workspace_id,
            actor=caller.user_id,
            role=role.value if role else None,
            action=action,
            outcome="DENIED",
            target=target,
            reason=reason,
            request_id=caller.request_id,
        )
    ).commit()


def list_events(access: Access, *, actor: str | None, target: str | None, action: str | None,
                since: datetime | None, until: datetime | None, limit: int, cursor_in: str | None):
    """Newest first. Actor or target pick an index; action filters; since/until bound the sort key."""
    since, until = _utc(since), _utc(until)
    if since and until and since > until:
        raise ValidationFailed("since", "must not be after until")
    ws = access.workspace_id
    if actor:
        index, attr, partition = AuditEvent.by_actor, "gsi1pk", AuditEvent.actor_partition(ws, actor)
    elif target:
        index, attr, partition = AuditEvent.by_target, "gsi2pk", AuditEvent.target_partition(ws, target)
    else:
        index, attr, partition = None, "pk", AuditEvent.partition(ws)
    sort_attr = {"pk": AuditEvent.sk, "gsi1pk": AuditEvent.gsi1sk, "gsi2pk": AuditEvent.gsi2sk}[attr]
    range_condition = _time_range(sort_attr, since, until)
    filters = AuditEvent.action == action if action else None
    if actor and target:
        target_filter = AuditEvent.target == target
        filters = target_filter if filters is None else filters & target_filter
    query = (index or AuditEvent).query
    result = query(
        partition,
        range_condition,
        filter_condition=filters,
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=cursor.decode(cursor_in, {attr: partition}),
    )
    items = list(result)
    return items, cursor.encode(result.last_evaluated_key) if len(items) == limit else None


def _time_range(sort_attr, since: datetime | None, until: datetime | None):
    if since and until:
        return sort_attr.between(ids.id_floor(since), ids.id_ceiling(until))
    if since:
        return sort_attr >= ids.id_floor(since)
    if until:
        return sort_attr <= ids.id_ceiling(until)
    return None


def _utc(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment
