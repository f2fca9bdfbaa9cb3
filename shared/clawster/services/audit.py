"""Audit trail: events are written in the transaction of the change they describe.

Refusals are recorded too, each in its own small write (there is no change to join): a member's
refusal (by the gate or, after it, by a service rule) in the workspace's trail; a non-member's in
the caller's own security partition, rate-limited and expiring, so outsiders cannot fill a tenant's
trail and the work done is the same whether the workspace they named exists or not.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError

from clawster import ids
from clawster.domain.diff import diff
from clawster.domain.errors import ClawsterError, Unavailable, ValidationFailed
from clawster.domain.roles import Role
from clawster.services.context import Access, Caller
from clawster.store import cursor
from clawster.store.entities import AuditEvent, Entity, SecurityEvent, SecurityRate, now
from clawster.store.transaction import Change

OUTSIDER_EVENTS_PER_MINUTE = 10  # per caller; further refusals in that minute are answered, not recorded
SECURITY_EVENT_TTL = timedelta(days=90)
RATE_COUNTER_TTL = timedelta(minutes=10)


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


def record_refusal(access: Access, target: str, error: ClawsterError) -> None:
    """A rule inside a service refused a request the gate let through (e.g. an ADMIN granting OWNER)."""
    record_denial(access.caller, access.workspace_id, access.action, target, access.role, error.message)


def record_outsider(caller: Caller, workspace_id: str, action: str, target: str) -> None:
    """A caller who is not a member addressed a workspace: one transaction, whether or not it exists,
    that counts the caller's refusals this minute and writes the event only while under the limit."""
    moment = now()
    counter = SecurityRate(*SecurityRate.key(caller.user_id, moment.strftime("%Y%m%dT%H%M")))
    count = counter.get_update_kwargs_from_instance(
        actions=[SecurityRate.count.add(1), SecurityRate.entity.set(SecurityRate.ENTITY),
                 SecurityRate.expires_at.set(int((moment + RATE_COUNTER_TTL).timestamp()))],
        condition=SecurityRate.count.does_not_exist() | (SecurityRate.count < OUTSIDER_EVENTS_PER_MINUTE),
        add_version_condition=False,
    )
    event = SecurityEvent.new(
        actor=caller.user_id, workspace_id=workspace_id, action=action, target=target,
        reason="not a member of the workspace", request_id=caller.request_id,
        expires_at=int((moment + SECURITY_EVENT_TTL).timestamp()),
    )
    put = event.get_save_kwargs_from_instance(condition=SecurityEvent.pk.does_not_exist())
    try:
        _connection().transact_write_items(condition_check_items=[], delete_items=[], put_items=[put],
                                           update_items=[count])
    except TransactWriteError as exc:
        codes = [getattr(reason, "code", None) for reason in exc.cancellation_reasons or ()]
        if "ConditionalCheckFailed" in codes:
            return  # over the limit this minute: answered, not recorded
        raise Unavailable("could not record the request; retry", {"retry": True}) from exc


@cache
def _connection() -> Connection:
    return Connection(region=Entity.Meta.region)


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
    return cursor.page(
        query,
        partition,
        range_condition,
        filter_condition=filters,
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=cursor.decode(cursor_in, {attr: partition}, within={sort_attr.attr_name: (
            ids.id_floor(since) if since else None, ids.id_ceiling(until) if until else None)}),
    )


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
