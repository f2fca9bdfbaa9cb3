"""Workspaces and members through the local API Gateway."""

from __future__ import annotations


def test_creator_becomes_owner_and_sees_only_their_workspaces(client_for, new_user):
    alice, bob = client_for(new_user("alice")), client_for(new_user("bob"))
    mine = alice.post("/workspaces", {"name": "Alpha", "description": "first"}).ok(201).body
    alice.post("/workspaces", {"name": "Beta"}).ok(201)
    bob.post("/workspaces", {"name": "Bobs"}).ok(201)
    listed = alice.get("/workspaces").ok(200).body["items"]
    assert sorted(w["name"] for w in listed) == ["Alpha", "Beta"]
    assert {w["role"] for w in listed} == {"OWNER"}
    assert alice.get(f"/workspaces/{mine['id']}").ok(200).body == {**mine}


def test_members_and_roles(team):
    owner, ws = team.owner, team.ws
    members = {m["user_id"]: m["role"] for m in team.clients["VIEWER"].get(f"{ws}/members").ok(200).body["items"]}
    assert members == {team.users[r]: r for r in ("OWNER", "ADMIN", "OPERATOR", "VIEWER")}

    promoted = owner.put(f"{ws}/members/{team.users['VIEWER']}", {"role": "OPERATOR"}).ok(200).body
    assert promoted["role"] == "OPERATOR" and promoted["version"] == 2
    # an ADMIN may manage members but not create or touch owners
    admin = team.clients["ADMIN"]
    assert admin.put(f"{ws}/members/{team.users['VIEWER']}", {"role": "OWNER"}).ok(403).body["code"] == "FORBIDDEN"
    assert admin.delete(f"{ws}/members/{team.users['OWNER']}").ok(403).body["code"] == "FORBIDDEN"
    # the last owner cannot leave or be demoted
    assert owner.put(f"{ws}/members/{team.users['OWNER']}", {"role": "ADMIN"}).ok(409).body["code"] == "CONFLICT"
    assert owner.delete(f"{ws}/members/{team.users['OWNER']}").ok(409).body["code"] == "CONFLICT"
    owner.delete(f"{ws}/members/{team.users['VIEWER']}").ok(204)
    assert team.clients["VIEWER"].get(ws).ok(404).body["code"] == "NOT_FOUND"  # removed: no longer sees it
    assert owner.put(f"{ws}/members/bad%20user!", {"role": "VIEWER"}).ok(422).body["code"] == "VALIDATION_FAILED"
    assert owner.put(f"{ws}/members/x", {"role": "KING"}).ok(422).body["details"]["errors"][0]["field"] == "role"


def test_workspace_update_and_delete(team):
    owner, ws = team.owner, team.ws
    assert owner.patch(ws, {}, etag='"1"').ok(422).body["code"] == "VALIDATION_FAILED"
    assert owner.patch(ws, {"name": "x" * 101}, etag='"1"').ok(422).body["details"]["errors"][0]["field"] == "name"
    assert owner.patch(ws, {"name": "Renamed"}, etag='"x"').ok(422).body["details"]["errors"][0]["field"] == "If-Match"
    renamed = owner.patch(ws, {"name": "Renamed"}, etag='"1"').ok(200)
    assert renamed.body["name"] == "Renamed" and renamed.etag == '"2"'

    fleet = owner.post(f"{ws}/fleets", {"name": "keep"}).ok(201).body
    assert owner.delete(ws, etag='"2"').ok(409).body["details"]["fleet_count"] == 1
    owner.delete(f"{ws}/fleets/{fleet['id']}", etag='"1"').ok(204)
    owner.delete(ws, etag='"2"').ok(204)
    assert owner.get(ws).ok(404)
    assert team.clients["ADMIN"].get(ws).ok(404)  # memberships went with it
    assert team.workspace_id not in [w["id"] for w in team.clients["ADMIN"].get("/workspaces").body["items"]]


def test_unknown_routes_and_methods(team):
    assert team.owner.get("/nope").ok(404).body["code"] == "NOT_FOUND"
    reply = team.owner.request("PUT", "/workspaces")
    assert reply.status in (404, 405) and reply.body["code"] in ("NOT_FOUND", "METHOD_NOT_ALLOWED")


def test_the_workspace_list_is_paged_however_many_a_user_belongs_to(client_for, new_user):
    client = client_for(new_user("many"))
    made = {client.post("/workspaces", {"name": f"ws-{i}"}).ok(201).body["id"] for i in range(5)}
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = client.get("/workspaces", query=query).ok(200).body
        assert len(page["items"]) <= 2
        seen += [w["id"] for w in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made) and pages == 3  # 2 + 2 + 1, each once
    foreign = client.get("/workspaces", query={"limit": "1"}).ok(200).body["next_cursor"]
    assert client.get(f"/workspaces/{next(iter(made))}/fleets", query={"cursor": foreign}).ok(400)
    assert client.get("/workspaces", query={"limit": "0"}).ok(422)
