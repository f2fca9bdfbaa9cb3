"""The audit trail: written with every change, denials included; filterable; read only."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone


def _events(client, ws, **query):
    items, cursor = [], None
    while True:
        page = client.get(f"{ws}/audit", query={**query, "limit": 3, "cursor": cursor}).ok(200).body
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def test_every_mutation_and_denial_is_audited_with_a_diff(team):
    owner, ws = team.owner, team.ws
    fleet = owner.post(f"{ws}/fleets", {"name": "audited"}).ok(201).body
    owner.patch(f"{ws}/fleets/{fleet['id']}", {"name": "audited-2"}, etag='"1"').ok(200)
    team.clients["VIEWER"].post(f"{ws}/fleets", {"name": "nope"}).ok(403)
    team.outsider.get(ws).ok(404)

    events = _events(owner, ws)
    actions = [(e["action"], e["outcome"]) for e in events]
    assert actions[:4] == [("workspace.read", "DENIED"), ("fleet.create", "DENIED"),
                           ("fleet.update", "ALLOWED"), ("fleet.create", "ALLOWED")]  # newest first
    update = events[2]
    assert update["diff"] == {"name": {"from": "audited", "to": "audited-2"}}
    assert update["actor"] == team.users["OWNER"] and update["role"] == "OWNER"
    assert update["target"] == f"fleet/{fleet['id']}" and update["request_id"]
    denied = events[1]
    assert denied["actor"] == team.users["VIEWER"] and denied["role"] == "VIEWER" and "requires ADMIN" in denied["reason"]
    assert events[0]["role"] is None and events[0]["reason"] == "not a member of the workspace"
    # workspace creation and the three member grants of the fixture are there too
    assert [a for a, _ in actions].count("member.put") == 3 and ("workspace.create", "ALLOWED") in actions


def test_a_refused_change_leaves_no_audit_event_and_no_change(team):
    owner, ws = team.owner, team.ws
    fleet = owner.post(f"{ws}/fleets", {"name": "f"}).ok(201).body
    before = len(_events(owner, ws))
    owner.patch(f"{ws}/fleets/{fleet['id']}", {"name": "g"}, etag='"7"').ok(409)
    assert len(_events(owner, ws)) == before
    assert owner.get(f"{ws}/fleets/{fleet['id']}").body["name"] == "f"


def test_filters_by_actor_target_action_and_time(team):
    owner, admin, ws = team.owner, team.clients["ADMIN"], team.ws
    start = datetime.now(timezone.utc) - timedelta(seconds=1)
    a = owner.post(f"{ws}/fleets", {"name": "a"}).ok(201).body
    b = admin.post(f"{ws}/fleets", {"name": "b"}).ok(201).body
    admin.patch(f"{ws}/fleets/{b['id']}", {"name": "b2"}, etag='"1"').ok(200)

    by_admin = _events(owner, ws, actor=team.users["ADMIN"])
    assert [e["action"] for e in by_admin] == ["fleet.update", "fleet.create"]
    on_b = _events(owner, ws, target=f"fleet/{b['id']}")
    assert [e["action"] for e in on_b] == ["fleet.update", "fleet.create"]
    creates = _events(owner, ws, action="fleet.create", since=start.isoformat())
    assert sorted(e["target"] for e in creates) == sorted([f"fleet/{a['id']}", f"fleet/{b['id']}"])
    assert _events(owner, ws, actor=team.users["ADMIN"], target=f"fleet/{a['id']}") == []
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert _events(owner, ws, since=future) == []
    time.sleep(0.01)
    assert owner.get(f"{ws}/audit", query={"since": future, "until": start.isoformat()}).ok(422).body[
        "details"]["errors"][0]["field"] == "since"


def test_audit_events_cannot_be_changed_through_the_api(team):
    owner, ws = team.owner, team.ws
    event = owner.get(f"{ws}/audit").ok(200).body["items"][0]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert owner.request(method, f"{ws}/audit", {"id": event["id"]}).status in (404, 405)
        assert owner.request(method, f"{ws}/audit/{event['id']}").status in (404, 405)
    assert owner.get(f"{ws}/audit").body["items"][0] == event
