"""The last page of a listing has no next_cursor, also when it ends exactly at the last item (DynamoDB still
answers a LastEvaluatedKey then: shared/clawster/store/cursor.py reads one item more to know), and a page stays
`limit` items when a filter drops some of those read.

The local stack's moto answers no LastEvaluatedKey when a page ends at the last item its key condition matches
(DynamoDB does), so there the empty last page showed only on filtered listings (bots, audit by action); the
fleets case is the one operators met on AWS."""

from __future__ import annotations

from tests.helpers import put_bot_in_status


def pages(client, path: str, limit: int, **query) -> list[tuple[int, bool]]:
    """Each page of the listing as (item count, whether it names a next cursor), following the cursors."""
    seen, cursor, ids = [], None, []
    while True:
        page = client.get(path, query={**query, "limit": limit, "cursor": cursor}).ok(200).body
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        seen.append((len(page["items"]), cursor is not None))
        if not cursor:
            assert len(ids) == len(set(ids))  # no item twice across pages
            return seen


def test_fleets_end_without_a_cursor_on_a_full_last_page(team):
    owner, fleets = team.owner, f"{team.ws}/fleets"
    for i in range(3):
        owner.post(fleets, {"name": f"f{i}"}).ok(201)
    assert pages(owner, fleets, 3) == [(3, False)]
    assert pages(owner, fleets, 4) == [(3, False)]
    assert pages(owner, fleets, 2) == [(2, True), (1, False)]
    owner.post(fleets, {"name": "f3"}).ok(201)
    assert pages(owner, fleets, 2) == [(2, True), (2, False)]
    assert pages(owner, fleets, 3) == [(3, True), (1, False)]


def test_bots_filtered_by_status_or_tag_page_by_what_passes(team):
    owner, ws = team.owner, team.ws
    fleet = owner.post(f"{ws}/fleets", {"name": "paged"}).ok(201).body["id"]
    bots = f"{ws}/fleets/{fleet}/bots"
    # The index orders a fleet's bots by status, then id (ids sort by creation): the tagged ones come first, so
    # a tag filter reads on past its last match through bots it drops.
    for name, tags, status in (("a", {"tier": "gold"}, "RUNNING"), ("b", {"tier": "gold"}, "RUNNING"),
                               ("c", {}, "RUNNING"), ("d", {}, "STOPPED"), ("e", {}, "STOPPED")):
        bot = owner.post(bots, {"name": name, "template_id": "minimal", "tags": tags}).ok(201).body
        put_bot_in_status(team.workspace_id, bot["id"], status)
    assert pages(owner, bots, 5) == [(5, False)]
    assert pages(owner, bots, 2) == [(2, True), (2, True), (1, False)]
    assert pages(owner, bots, 3, status="RUNNING") == [(3, False)]
    assert pages(owner, bots, 2, status="STOPPED") == [(2, False)]
    assert pages(owner, bots, 2, tag="tier=gold") == [(2, False)]
    assert pages(owner, bots, 1, tag="tier=gold") == [(1, True), (1, False)]


def test_audit_by_target_and_action_ends_without_a_cursor(team):
    owner, ws = team.owner, team.ws
    fleet = owner.post(f"{ws}/fleets", {"name": "audited"}).ok(201).body["id"]
    for version, name in ((1, "audited-2"), (2, "audited-3")):
        owner.patch(f"{ws}/fleets/{fleet}", {"name": name}, etag=f'"{version}"').ok(200)
    audit, target = f"{ws}/audit", f"fleet/{fleet}"  # a create and two updates
    assert pages(owner, audit, 3, target=target) == [(3, False)]
    assert pages(owner, audit, 2, target=target) == [(2, True), (1, False)]
    assert pages(owner, audit, 1, target=target) == [(1, True), (1, True), (1, False)]
    assert pages(owner, audit, 2, target=target, action="fleet.update") == [(2, False)]  # filtered: the create
    assert pages(owner, audit, 1, target=target, action="fleet.create") == [(1, False)]
