"""Unique names: a fleet's in its workspace, a bot's in its fleet, case-insensitive, enforced by a
NameClaim item in the entity's own transaction. Parallel creates and renames are driven with the
barrier of test_races (every writer has read and passed the service's checks before any commits)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from clawster.domain.errors import Conflict, VersionConflict
from clawster.domain.roles import Role
from clawster.services import bots, fleets, workspaces
from clawster.services.context import Access, Caller
from clawster.store.entities import Fleet, NameClaim
from tests.e2e.test_races import bots_in, kinds, race

WRITERS = 6


@pytest.fixture
def owner(stack, new_user) -> Access:
    caller = Caller(new_user("owner"), "test-unique-names")
    workspace, _ = workspaces.create(caller, name="names", description="")
    return Access(caller, workspace.id, Role.OWNER, "test")


def new_fleet(access: Access, name: str) -> Fleet:
    return fleets.create(access, name=name, environment="dev", description="", tags={})


def new_bot(access: Access, fleet_id: str, name: str):
    return bots.create(access, fleet_id, name=name, template_id="minimal", config=None, tags={})


def fleet_names(access: Access) -> list[str]:
    partition = Fleet.key(access.workspace_id, "")[0]
    return sorted(f.name for f in Fleet.query(partition, Fleet.sk.startswith(Fleet.sk_prefix()), consistent_read=True))


def names_a_taken_name(error: Exception) -> bool:
    return (type(error) is Conflict
            and [e["field"] for e in error.details["errors"]] == ["name"])


def test_parallel_fleet_creates_of_one_name_make_one_fleet(owner, monkeypatch):
    spellings = ["prod-eu", "PROD-EU", "Prod-Eu"]
    results = race(monkeypatch, [lambda i=i: new_fleet(owner, spellings[i % 3]) for i in range(WRITERS)])
    assert kinds(results) == {"ok": 1, "Conflict": WRITERS - 1}, results
    assert all(names_a_taken_name(r) for r in results if isinstance(r, Exception)), results
    winner = next(r for r in results if isinstance(r, Fleet))
    assert fleet_names(owner) == [winner.name]


def test_parallel_bot_creates_of_one_name_make_one_bot_per_fleet(owner, monkeypatch):
    first, second = new_fleet(owner, "first"), new_fleet(owner, "second")
    results = race(monkeypatch, [lambda fleet=fleet: new_bot(owner, fleet.id, "helper")
                                 for fleet in [first, second] * (WRITERS // 2)])
    assert kinds(results) == {"ok": 2, "Conflict": WRITERS - 2}, results
    assert all(names_a_taken_name(r) for r in results if isinstance(r, Exception)), results
    assert [len(bots_in(owner.workspace_id, f.id)) for f in (first, second)] == [1, 1]
    assert [Fleet.get(*Fleet.key(owner.workspace_id, f.id)).bot_count for f in (first, second)] == [1, 1]


def test_parallel_renames_to_one_name_leave_one_holder(owner, monkeypatch):
    contenders = [new_fleet(owner, f"old-{i}") for i in range(WRITERS)]
    results = race(monkeypatch, [
        lambda fleet=fleet: fleets.update(owner, fleet.id, expected_version=1, changes={"name": "Wanted"})
        for fleet in contenders
    ])
    assert kinds(results) == {"ok": 1, "Conflict": WRITERS - 1}, results
    assert all(names_a_taken_name(r) for r in results if isinstance(r, Exception)), results
    winner = next(r for r in results if isinstance(r, Fleet))
    assert fleet_names(owner) == sorted(["Wanted"] + [f.name for f in contenders if f.id != winner.id])
    # the winner's old name is free again, the losers' are still held
    new_fleet(owner, next(f.name for f in contenders if f.id == winner.id))
    loser = next(f for f in contenders if f.id != winner.id)
    with pytest.raises(Conflict) as taken:
        new_fleet(owner, loser.name.upper())
    assert names_a_taken_name(taken.value)


def test_renames_move_the_name_and_deletes_free_it(owner):
    fleet, other = new_fleet(owner, "alpha"), new_fleet(owner, "beta")
    with pytest.raises(Conflict) as taken:
        fleets.update(owner, other.id, expected_version=1, changes={"name": "ALPHA"})
    assert names_a_taken_name(taken.value)
    recased = fleets.update(owner, fleet.id, expected_version=1, changes={"name": "Alpha"})  # its own name
    fleets.update(owner, fleet.id, expected_version=recased.version, changes={"name": "gamma"})
    fleets.update(owner, other.id, expected_version=1, changes={"name": "alpha"})  # freed by the rename

    bot = new_bot(owner, fleet.id, "worker")
    with pytest.raises(Conflict):
        new_bot(owner, fleet.id, "Worker")
    new_bot(owner, other.id, "worker")  # another fleet is another scope
    renamed = bots.update(owner, bot.id, expected_version=1, changes={"name": "builder"})
    new_bot(owner, fleet.id, "worker")
    bots.delete(owner, bot.id, expected_version=renamed.version)
    new_bot(owner, fleet.id, "builder")


def test_a_fleet_from_before_name_claims_never_releases_anothers_claim(owner):
    legacy = new_fleet(owner, "shared")
    NameClaim.of_fleet(legacy).delete()  # as written before claims existed
    newer = new_fleet(owner, "Shared")  # nothing held the name
    fleets.delete(owner, legacy.id, expected_version=1)
    with pytest.raises(Conflict) as taken:
        new_fleet(owner, "shared")
    assert names_a_taken_name(taken.value)
    assert fleet_names(owner) == [newer.name]


def test_a_stale_rename_is_a_version_conflict_not_a_name_conflict(owner, monkeypatch):
    fleet = new_fleet(owner, "moving")
    stale = fleets.get(owner, fleet.id)
    fleets.update(owner, fleet.id, expected_version=1, changes={"name": "moved"})
    monkeypatch.setattr(fleets, "get", lambda access, fleet_id: stale)
    with pytest.raises(VersionConflict):
        fleets.update(owner, fleet.id, expected_version=1, changes={"name": "elsewhere"})


def test_parallel_http_creates_of_one_name_one_201_the_rest_409(team):
    path = f"{team.ws}/fleets"
    with ThreadPoolExecutor(WRITERS) as pool:
        replies = list(pool.map(lambda _: team.owner.post(path, {"name": "edge", "environment": "dev"}),
                                range(WRITERS)))
    assert sorted(r.status for r in replies) == [201] + [409] * (WRITERS - 1), [r.body for r in replies]
    refused = next(r for r in replies if r.status == 409)
    assert refused.body["details"]["errors"][0]["field"] == "name"
    listed = team.owner.get(path, query={"limit": 100}).ok(200).body["items"]
    assert [f["name"] for f in listed].count("edge") == 1
