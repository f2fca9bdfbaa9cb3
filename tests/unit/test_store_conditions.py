"""The conditions of the store's writes, reached with stale reads straight through the store (the
services' own pre-checks pass on the stale item, so only the transaction can refuse). Each test fails
when the condition it targets is removed. Runs against the local stack's moto."""

from __future__ import annotations

import pytest

from clawster.domain.errors import Conflict, NotFound, VersionConflict
from clawster.domain.roles import Role
from clawster.services import bots, fleets, workspaces
from clawster.services.context import Access, Caller
from clawster.store.entities import Bot, Fleet, Member, Workspace
from clawster.store.transaction import Change


@pytest.fixture
def owner(stack, new_user) -> Access:
    caller = Caller(new_user("owner"), "test-store-conditions")
    workspace, _ = workspaces.create(caller, name="conditions", description="")
    return Access(caller, workspace.id, Role.OWNER, "test")


def new_fleet(access: Access) -> Fleet:
    return fleets.create(access, name="fleet", environment="dev", description="", tags={})


def new_bot(access: Access, fleet_id: str) -> Bot:
    return bots.create(access, fleet_id, name="bot", template_id="minimal", config=None, tags={})


def stored_fleet(access: Access, fleet_id: str) -> Fleet | None:
    try:
        return Fleet.get(*Fleet.key(access.workspace_id, fleet_id), consistent_read=True)
    except Fleet.DoesNotExist:
        return None


def bots_of(access: Access, fleet_id: str) -> list[Bot]:
    """The oracle for bot_count: the Bot items themselves."""
    items = Bot.query(Workspace.key(access.workspace_id)[0], Bot.sk.startswith("BOT#"), consistent_read=True)
    return [bot for bot in items if bot.fleet_id == fleet_id]


def owners_of(access: Access) -> list[str]:
    members = Member.query(Workspace.key(access.workspace_id)[0], Member.sk.startswith(Member.sk_prefix()),
                           consistent_read=True)
    return [member.user_id for member in members if member.role == Role.OWNER.value]


def stored_workspace(access: Access) -> Workspace:
    return Workspace.get(*Workspace.key(access.workspace_id), consistent_read=True)


def test_an_edit_from_a_read_older_than_a_counter_change_keeps_the_counter(owner, monkeypatch):
    """Issue 8.1 as reported: read a fleet, add a bot, commit the edit of the old read, delete the fleet."""
    fleet = new_fleet(owner)
    stale = fleets.get(owner, fleet.id)
    new_bot(owner, fleet.id)
    monkeypatch.setattr(fleets, "get", lambda access, fleet_id: stale)
    edited = fleets.update(owner, fleet.id, expected_version=1, changes={"name": "renamed"})
    monkeypatch.undo()

    stored = stored_fleet(owner, fleet.id)
    assert (stored.name, stored.version) == ("renamed", 2) and edited.version == 2
    assert stored.bot_count == len(bots_of(owner, fleet.id)) == 1
    with pytest.raises(Conflict):
        fleets.delete(owner, fleet.id, expected_version=2)
    assert stored_fleet(owner, fleet.id) is not None


def test_an_edit_of_a_stale_version_is_refused_by_the_transaction(owner):
    fleet = new_fleet(owner)
    stale = fleets.get(owner, fleet.id)
    fleets.update(owner, fleet.id, expected_version=1, changes={"name": "first"})
    stale.name = "second"
    with pytest.raises(VersionConflict):
        Change().edit(stale, ["name"], expected_version=1,
                      stale_error=lambda: workspaces.stale("fleet", fleet.id)).commit()
    stored = stored_fleet(owner, fleet.id)
    assert (stored.name, stored.version) == ("first", 2)


def test_a_delete_of_a_stale_version_is_refused_by_the_transaction(owner, monkeypatch):
    fleet = new_fleet(owner)
    stale = fleets.get(owner, fleet.id)
    fleets.update(owner, fleet.id, expected_version=1, changes={"name": "edited"})
    monkeypatch.setattr(fleets, "get", lambda access, fleet_id: stale)
    with pytest.raises(Conflict):
        fleets.delete(owner, fleet.id, expected_version=1)
    assert stored_fleet(owner, fleet.id).name == "edited"


def test_a_fleet_delete_read_before_a_bot_was_added_is_refused(owner, monkeypatch):
    fleet = new_fleet(owner)
    stale = fleets.get(owner, fleet.id)  # bot_count 0: the service's own check passes
    new_bot(owner, fleet.id)
    monkeypatch.setattr(fleets, "get", lambda access, fleet_id: stale)
    with pytest.raises(Conflict):
        fleets.delete(owner, fleet.id, expected_version=1)
    assert stored_fleet(owner, fleet.id).bot_count == len(bots_of(owner, fleet.id)) == 1


def test_a_bot_create_that_read_a_fleet_since_deleted_is_refused(owner, monkeypatch):
    fleet = new_fleet(owner)
    stale = fleets.get(owner, fleet.id)
    fleets.delete(owner, fleet.id, expected_version=1)
    monkeypatch.setattr(bots, "get_fleet", lambda access, fleet_id: stale)
    with pytest.raises(NotFound):
        new_bot(owner, fleet.id)
    assert bots_of(owner, fleet.id) == [] and stored_fleet(owner, fleet.id) is None


def test_a_workspace_delete_read_before_a_fleet_was_added_is_refused(owner, monkeypatch):
    stale = workspaces.get(owner)
    new_fleet(owner)
    monkeypatch.setattr(workspaces, "get", lambda access: stale)
    with pytest.raises(Conflict):
        workspaces.delete(owner, expected_version=1)
    monkeypatch.undo()
    assert stored_workspace(owner).fleet_count == 1


def test_a_workspace_edit_keeps_its_counters(owner):
    stale = workspaces.get(owner)
    new_fleet(owner)
    stale.name = "renamed"
    Change().edit(stale, ["name"], expected_version=1, stale_error=lambda: workspaces.stale("workspace", "")).commit()
    stored = stored_workspace(owner)
    assert (stored.name, stored.version, stored.fleet_count, stored.owner_count) == ("renamed", 2, 1, 1)


def test_an_owner_demotion_read_before_the_other_owner_left_is_refused(owner, new_user):
    """Issue 8.2 through the store: the last-owner rule holds without any read-time guard."""
    other = new_user("owner2")
    workspaces.put_member(owner, other, Role.OWNER)
    stale_other = workspaces._find_member(owner.workspace_id, other)
    me = owner.caller.user_id
    workspaces.put_member(owner, me, Role.ADMIN)  # allowed: `other` is still an owner
    with pytest.raises(Conflict, match="at least one OWNER"):
        workspaces.write_member(owner, other, Role.VIEWER, stale_other)
    assert owners_of(owner) == [other] and stored_workspace(owner).owner_count == 1


def test_a_role_change_of_a_member_changed_since_it_was_read_is_refused(owner, new_user):
    user = new_user("member")
    workspaces.put_member(owner, user, Role.ADMIN)
    stale = workspaces._find_member(owner.workspace_id, user)
    workspaces.put_member(owner, user, Role.OWNER)
    with pytest.raises(VersionConflict):
        workspaces.write_member(owner, user, Role.VIEWER, stale)
    assert sorted(owners_of(owner)) == sorted([owner.caller.user_id, user])
    assert stored_workspace(owner).owner_count == 2


def test_a_workspace_without_an_owner_count_gets_it_from_its_members(owner, new_user):
    """Workspaces written before the counter existed: the first owner change counts the owners."""
    stored_workspace(owner).update(actions=[Workspace.owner_count.remove()])
    assert stored_workspace(owner).owner_count is None
    other = new_user("owner2")
    workspaces.put_member(owner, other, Role.OWNER)
    assert stored_workspace(owner).owner_count == 2
    workspaces.delete_member(owner, other)
    assert stored_workspace(owner).owner_count == 1
    with pytest.raises(Conflict, match="at least one OWNER"):
        workspaces.put_member(owner, owner.caller.user_id, Role.ADMIN)
    assert owners_of(owner) == [owner.caller.user_id]


def test_an_edit_writes_only_the_named_fields_and_the_derived_keys(owner):
    fleet = new_fleet(owner)
    bot = new_bot(owner, fleet.id)
    updated = bots.update(owner, bot.id, expected_version=1, changes={"tags": {"tier": "gold"},
                                                                      "config": {"agents": {}}})
    stored = Bot.get(*Bot.key(owner.workspace_id, bot.id), consistent_read=True)
    assert stored.tags.as_dict() == {"tier": "gold"} and stored.version == updated.version == 2
    assert (stored.revision_count, stored.desired_revision_id) == (2, updated.desired_revision_id)
    assert (stored.gsi1pk, stored.gsi1sk) == (Bot.fleet_partition(fleet.id), f"{bot.status}#{bot.id}")
