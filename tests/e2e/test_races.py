"""Parallel writers. The service-level races hold every writer between its read and its commit until
all have read (a barrier in Change.commit), so each race is driven, not hoped for: only the
transaction's conditions decide. The service-level races run in this process, where the barrier is.
The HTTP races send real parallel requests through the local stack; there each request runs in a
Lambda instance of its own (a worker process, as on AWS), so requests to one function interleave too."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from clawster.domain.errors import Conflict, NotFound, VersionConflict
from clawster.domain.roles import Role
from clawster.services import bots, fleets, workspaces
from clawster.services.context import Access, Caller
from clawster.store.entities import AuditEvent, Bot, Fleet, Member, Workspace
from clawster.store.transaction import Change

RACER = "racer"


def race(monkeypatch, writers: list[Callable[[], Any]]) -> list[Any]:
    """Run the writers on parallel threads, each held at its commit until all have got there.
    Returns each writer's result or the exception it raised, in order."""
    barrier = threading.Barrier(len(writers), timeout=300)
    commit = Change.commit

    def held_commit(change: Change) -> None:
        if threading.current_thread().name.startswith(RACER):
            barrier.wait()
        commit(change)

    def run(writer: Callable[[], Any]) -> Any:
        try:
            return writer()
        except Exception as exc:  # noqa: BLE001 - the outcome is the result
            barrier.abort()  # a writer that fails before its commit must not hold the others
            return exc

    monkeypatch.setattr(Change, "commit", held_commit)
    with ThreadPoolExecutor(len(writers), thread_name_prefix=RACER) as pool:
        results = list(pool.map(run, writers))
    monkeypatch.setattr(Change, "commit", commit)
    assert not any(isinstance(r, threading.BrokenBarrierError) for r in results), results
    return results


def kinds(results: list[Any]) -> Counter:
    return Counter(type(r).__name__ if isinstance(r, Exception) else "ok" for r in results)


@pytest.fixture
def owner(stack, new_user) -> Access:
    caller = Caller(new_user("owner"), "test-races")
    workspace, _ = workspaces.create(caller, name="races", description="")
    return Access(caller, workspace.id, Role.OWNER, "test")


def as_action(access: Access, action: str) -> Access:
    return Access(access.caller, access.workspace_id, access.role, action)


def bots_in(workspace_id: str, fleet_id: str) -> list[Bot]:
    items = Bot.query(Workspace.key(workspace_id)[0], Bot.sk.startswith("BOT#"), consistent_read=True)
    return [bot for bot in items if bot.fleet_id == fleet_id]


def stored_fleet(workspace_id: str, fleet_id: str) -> Fleet | None:
    try:
        return Fleet.get(*Fleet.key(workspace_id, fleet_id), consistent_read=True)
    except Fleet.DoesNotExist:
        return None


def owners_of(workspace_id: str) -> list[str]:
    members = Member.query(Workspace.key(workspace_id)[0], Member.sk.startswith(Member.sk_prefix()),
                           consistent_read=True)
    return [m.user_id for m in members if m.role == Role.OWNER.value]


def test_parallel_edits_of_one_version_one_wins_the_rest_conflict(owner, monkeypatch):
    writers = 8
    fleet = fleets.create(owner, name="contested", environment="dev", description="", tags={})
    update = as_action(owner, "fleet.update")
    results = race(monkeypatch, [
        lambda i=i: fleets.update(update, fleet.id, expected_version=1, changes={"name": f"name-{i}"})
        for i in range(writers)
    ])
    assert kinds(results) == {"ok": 1, "VersionConflict": writers - 1}, results
    winner = next(r for r in results if not isinstance(r, Exception))
    stored = stored_fleet(owner.workspace_id, fleet.id)
    assert (stored.name, stored.version) == (winner.name, 2)
    events = AuditEvent.by_target.query(AuditEvent.target_partition(owner.workspace_id, f"fleet/{fleet.id}"))
    assert [e.diff.as_dict() for e in events if e.action == "fleet.update"] == [
        {"name": {"from": "contested", "to": winner.name}}]


def test_an_edit_racing_bot_creates_keeps_every_count(owner, monkeypatch):
    fleet = fleets.create(owner, name="counted", environment="dev", description="", tags={})
    new_bot = as_action(owner, "bot.create")
    results = race(monkeypatch, [
        lambda: fleets.update(as_action(owner, "fleet.update"), fleet.id, expected_version=1,
                              changes={"description": "edited"}),
        *[lambda i=i: bots.create(new_bot, fleet.id, name=f"b{i}", template_id="minimal", config=None, tags={})
          for i in range(3)],
    ])
    assert kinds(results) == {"ok": 4}, results
    stored = stored_fleet(owner.workspace_id, fleet.id)
    assert (stored.description, stored.bot_count) == ("edited", len(bots_in(owner.workspace_id, fleet.id)))
    assert stored.bot_count == 3


@pytest.mark.parametrize("round_", range(4))
def test_bot_creates_racing_a_fleet_delete_never_leave_a_bot_in_a_deleted_fleet(owner, monkeypatch, round_):
    fleet = fleets.create(owner, name="doomed", environment="dev", description="", tags={})
    new_bot = as_action(owner, "bot.create")
    results = race(monkeypatch, [
        lambda: fleets.delete(as_action(owner, "fleet.delete"), fleet.id, expected_version=1),
        *[lambda i=i: bots.create(new_bot, fleet.id, name=f"b{i}", template_id="minimal", config=None, tags={})
          for i in range(3)],
    ])
    deleted, created = results[0], results[1:]
    stored, present = stored_fleet(owner.workspace_id, fleet.id), bots_in(owner.workspace_id, fleet.id)
    if deleted is None:  # the delete committed first: every bot create found no fleet
        assert stored is None and present == [] and all(isinstance(r, NotFound) for r in created), results
    else:  # a bot committed first: the delete is refused and every bot is counted
        assert isinstance(deleted, Conflict) and not isinstance(deleted, VersionConflict), results
        assert stored.bot_count == len(present) == sum(isinstance(r, Bot) for r in created) >= 1


def test_two_owners_demoting_each_other_at_once_leave_one_owner(owner, new_user, monkeypatch):
    other = new_user("owner2")
    workspaces.put_member(owner, other, Role.OWNER)
    other_access = Access(Caller(other, "test-races"), owner.workspace_id, Role.OWNER, "member.put")
    me = owner.caller.user_id
    results = race(monkeypatch, [
        lambda: workspaces.put_member(as_action(owner, "member.put"), other, Role.ADMIN),
        lambda: workspaces.put_member(other_access, me, Role.ADMIN),
    ])
    assert kinds(results) == {"ok": 1, "Conflict": 1}, results
    assert len(owners_of(owner.workspace_id)) == 1
    assert Workspace.get(*Workspace.key(owner.workspace_id), consistent_read=True).owner_count == 1


def test_two_owners_removing_each_other_at_once_leave_one_owner(owner, new_user, monkeypatch):
    other = new_user("owner2")
    workspaces.put_member(owner, other, Role.OWNER)
    other_access = Access(Caller(other, "test-races"), owner.workspace_id, Role.OWNER, "member.delete")
    results = race(monkeypatch, [
        lambda: workspaces.delete_member(as_action(owner, "member.delete"), other),
        lambda: workspaces.delete_member(other_access, owner.caller.user_id),
    ])
    assert kinds(results) == {"ok": 1, "Conflict": 1}, results
    assert len(owners_of(owner.workspace_id)) == 1


# --- real parallel HTTP requests through the local stack -----------------------------------------

def parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_http_parallel_edits_with_one_if_match(team):
    owner, ws = team.owner, team.ws
    fleet = owner.post(f"{ws}/fleets", {"name": "http-contested"}).ok(201).body
    path = f"{ws}/fleets/{fleet['id']}"
    replies = parallel([lambda i=i: owner.patch(path, {"name": f"n-{i}"}, etag='"1"') for i in range(6)])
    assert sorted(r.status for r in replies) == [200] + [409] * 5
    events = owner.get(f"{ws}/audit", query={"target": f"fleet/{fleet['id']}", "action": "fleet.update"}).ok(200)
    assert len(events.body["items"]) == 1
    assert owner.get(path).ok(200).body["version"] == 2


def test_http_bot_creates_racing_a_fleet_delete(team):
    owner, ws = team.owner, team.ws
    fleet = owner.post(f"{ws}/fleets", {"name": "http-doomed"}).ok(201).body
    path = f"{ws}/fleets/{fleet['id']}"
    bot = {"name": "b", "template_id": "minimal"}
    replies = parallel([lambda: owner.delete(path, etag='"1"'),
                        *[lambda: owner.post(f"{path}/bots", bot)] * 4])
    created = sum(r.status == 201 for r in replies[1:])
    if replies[0].status == 204:
        assert owner.get(path).status == 404 and bots_in(team.workspace_id, fleet["id"]) == []
    else:
        assert replies[0].status == 409 and owner.get(path).ok(200).body["bot_count"] == created >= 1
    assert len(bots_in(team.workspace_id, fleet["id"])) == created


def test_http_two_owners_demoting_each_other(team, client_for, new_user):
    other = new_user("owner2")
    team.owner.put(f"{team.ws}/members/{other}", {"role": "OWNER"}).ok(201)
    replies = parallel([
        lambda: team.owner.put(f"{team.ws}/members/{other}", {"role": "ADMIN"}),
        lambda: client_for(other).put(f"{team.ws}/members/{team.users['OWNER']}", {"role": "ADMIN"}),
    ])
    # The loser is refused as a non-owner (403: it was demoted first) or as the last owner (409).
    assert sorted(r.status for r in replies) in ([200, 403], [200, 409]), [r.body for r in replies]
    assert len(owners_of(team.workspace_id)) == 1
