"""Fleets: groups of bots in one environment."""

from __future__ import annotations

from typing import Any

from clawster.domain.bots import summarize
from clawster.domain.errors import Conflict, NotFound
from clawster.services import audit, names, targets
from clawster.services.access import workspace_not_found
from clawster.services.context import Access
from clawster.services.workspaces import check_version, stale
from clawster.store import cursor
from clawster.store.entities import Bot, Fleet, NameClaim, Workspace
from clawster.store.transaction import Change


def fleet_not_found(fleet_id: str) -> NotFound:
    return NotFound(f"fleet {fleet_id} not found", {"fleet_id": fleet_id})


def create(access: Access, **fields: Any) -> Fleet:
    targets.check_fleet_settings(fields.get("target_settings"))
    fleet = Fleet.new(workspace_id=access.workspace_id, **fields)
    change = audit.audited(access, f"fleet/{fleet.id}", None, fleet.public())
    change.create(fleet, exists_error=lambda: Conflict("fleet id collision"))
    names.claim(change, NameClaim.of_fleet(fleet))
    change.adjust(Workspace(*Workspace.key(access.workspace_id)), Workspace.fleet_count, 1,
                  error=lambda: workspace_not_found(access.workspace_id))
    change.commit()
    return fleet


def get(access: Access, fleet_id: str) -> Fleet:
    try:
        return Fleet.get(*Fleet.key(access.workspace_id, fleet_id))
    except Fleet.DoesNotExist:
        raise fleet_not_found(fleet_id) from None


def list_page(access: Access, *, limit: int, cursor_in: str | None) -> tuple[list[Fleet], str | None]:
    partition = Fleet.key(access.workspace_id, "")[0]
    return cursor.page(
        Fleet.query, partition, Fleet.sk.startswith(Fleet.sk_prefix()), limit=limit,
        last_evaluated_key=cursor.decode(cursor_in, {"pk": partition}, {"sk": Fleet.sk_prefix()}),
    )


def bot_summary(access: Access, fleet_id: str) -> dict[str, Any]:
    """The fleet's bots counted by status and health: one Query of its partition of gsi1 (access pattern #40),
    projecting only each bot's status (DynamoDB pages it per MB). Counted when read, not kept on the fleet item:
    every status change of every bot would then write that one item, and concurrent transactions on it (a
    rollout's, the health job's) would cancel each other (docs/decisions.md)."""
    bots = Bot.by_fleet.query(Bot.fleet_partition(fleet_id), filter_condition=Bot.workspace_id == access.workspace_id,
                              attributes_to_get=["status"])
    return summarize(bot.status for bot in bots)


SUMMARY_QUERIES_AT_ONCE = 8  # a page of 100 fleets is then ~13 Query round trips long, not 100


def bot_summaries(access: Access, fleet_ids: list[str]) -> dict[str, dict[str, Any]]:
    """bot_summary of each fleet of a page, their Queries run side by side (each waits on DynamoDB, not the CPU)."""
    if len(fleet_ids) <= 1:
        return {fleet_id: bot_summary(access, fleet_id) for fleet_id in fleet_ids}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(SUMMARY_QUERIES_AT_ONCE, len(fleet_ids))) as pool:
        return dict(zip(fleet_ids, pool.map(lambda fleet_id: bot_summary(access, fleet_id), fleet_ids), strict=True))


def update(access: Access, fleet_id: str, *, expected_version: int, changes: dict[str, Any]) -> Fleet:
    fleet = get(access, fleet_id)
    check_version("fleet", fleet_id, fleet.version, expected_version)
    targets.check_fleet_settings(changes.get("target_settings"))
    before, old_name = fleet.public(), NameClaim.of_fleet(fleet)
    for field, value in changes.items():
        setattr(fleet, field, value)
    change = Change().edit(fleet, changes, expected_version=expected_version, stale_error=lambda: stale("fleet", fleet_id))
    names.rename(change, old_name, NameClaim.of_fleet(fleet), stale_error=lambda: stale("fleet", fleet_id))
    change.audit(audit.event(access, f"fleet/{fleet_id}", before, fleet.public())).commit()
    return fleet


def delete(access: Access, fleet_id: str, *, expected_version: int) -> None:
    """Only an empty fleet can be deleted; the bot counter is checked in the same transaction."""
    fleet = get(access, fleet_id)
    check_version("fleet", fleet_id, fleet.version, expected_version)
    if fleet.bot_count:
        raise Conflict(f"fleet has {fleet.bot_count} bot(s); delete them first", {"bot_count": fleet.bot_count})
    change = Change().delete(
        fleet, expected_version=expected_version, condition=Fleet.bot_count == 0,
        stale_error=lambda: Conflict("fleet changed (a bot was added or it was edited); read it again"),
    )
    change.adjust(Workspace(*Workspace.key(access.workspace_id)), Workspace.fleet_count, -1,
                  error=lambda: workspace_not_found(access.workspace_id))
    names.release(change, NameClaim.of_fleet(fleet), stale_error=lambda: stale("fleet", fleet_id))
    change.audit(audit.event(access, f"fleet/{fleet_id}", fleet.public(), None)).commit()
