"""Idempotency-Key on POST creates, through the local stack: a retried create returns the first
response and creates nothing more; another body under the same key is a 422 naming the header."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from clawster.store.entities import Entity
from clawster.store.schema import TTL_ATTRIBUTE
from tests.helpers import put_bot_in_status

KEY = "Idempotency-Key"


def key() -> dict[str, str]:
    return {KEY: str(uuid.uuid4())}


def fleet_names(team) -> list[str]:
    return [f["name"] for f in team.owner.get(f"{team.ws}/fleets", query={"limit": 100}).ok(200).body["items"]]


def test_a_retried_fleet_create_returns_the_first_response(team):
    path, headers = f"{team.ws}/fleets", key()
    first = team.owner.post(path, {"name": "once", "environment": "dev"}, headers=headers).ok(201)
    again = team.owner.post(path, {"name": "once", "environment": "dev"}, headers=headers).ok(201)
    assert again.body == first.body and again.etag == first.etag == '"1"'
    assert fleet_names(team).count("once") == 1
    # without the key the same body is a new create (and here its name is taken)
    assert team.owner.post(path, {"name": "once", "environment": "dev"}).status == 409


def test_the_same_key_with_another_body_is_a_422_naming_the_header(team):
    path, headers = f"{team.ws}/fleets", key()
    team.owner.post(path, {"name": "first-body", "environment": "dev"}, headers=headers).ok(201)
    refused = team.owner.post(path, {"name": "other-body", "environment": "dev"}, headers=headers).ok(422)
    assert [e["field"] for e in refused.body["details"]["errors"]] == [KEY]
    assert "other-body" not in fleet_names(team)


def test_a_key_is_the_callers_own_and_the_routes_own(team):
    headers = key()
    mine = team.owner.post(f"{team.ws}/fleets", {"name": "mine", "environment": "dev"}, headers=headers).ok(201)
    theirs = team.clients["ADMIN"].post(f"{team.ws}/fleets", {"name": "theirs", "environment": "dev"},
                                        headers=headers).ok(201)
    workspace = team.owner.post("/workspaces", {"name": "keyed"}, headers=headers).ok(201)
    assert len({mine.body["id"], theirs.body["id"], workspace.body["id"]}) == 3
    assert team.owner.post("/workspaces", {"name": "keyed"}, headers=headers).ok(201).body == workspace.body


def test_a_failed_create_is_not_remembered(team):
    path, headers = f"{team.ws}/fleets", key()
    holder = team.owner.post(path, {"name": "taken"}).ok(201)
    team.owner.post(path, {"name": "taken"}, headers=headers).ok(409)
    team.owner.patch(f"{path}/{holder.body['id']}", {"name": "moved"}, etag=holder.etag).ok(200)
    created = team.owner.post(path, {"name": "taken"}, headers=headers).ok(201)
    assert team.owner.post(path, {"name": "taken"}, headers=headers).ok(201).body == created.body


def test_bot_create_and_lifecycle_intent_honour_the_key(team):
    team.with_bot()
    bots, headers = f"{team.ws}/fleets/{team.fleet_id}/bots", key()
    first = team.owner.post(bots, {"name": "keyed-bot", "template_id": "minimal"}, headers=headers).ok(201)
    assert team.owner.post(bots, {"name": "keyed-bot", "template_id": "minimal"}, headers=headers).ok(201).body \
        == first.body
    intent_headers = key()
    put_bot_in_status(team.workspace_id, first.body["id"], "RUNNING")
    pause = f"{team.ws}/bots/{first.body['id']}/stop"
    accepted = team.owner.post(pause, headers=intent_headers).ok(202)
    assert team.owner.post(pause, headers=intent_headers).ok(202).body == accepted.body  # same intent id


def test_parallel_retries_with_one_key_create_once(team):
    path, headers = f"{team.ws}/fleets", key()
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(
            lambda _: team.owner.post(path, {"name": "burst", "environment": "dev"}, headers=headers), range(4)))
    created = [r for r in replies if r.status == 201]
    assert created and {r.body["id"] for r in created} == {created[0].body["id"]}, [r.body for r in replies]
    assert all(r.status == 201 or (r.status == 409 and r.body["details"].get("retry")) for r in replies)
    assert fleet_names(team).count("burst") == 1


def test_the_record_sits_in_the_callers_partition_and_expires_by_the_tables_ttl(team):
    before = time.time()
    team.owner.post(f"{team.ws}/fleets", {"name": "recorded"}, headers=key()).ok(201)
    connection = Entity._get_connection().connection
    partition = f"IDEMPOTENCY#{team.users['OWNER']}"
    items = connection.query(Entity.Meta.table_name, partition, consistent_read=True)["Items"]
    assert len(items) == 1
    expires = int(items[0][TTL_ATTRIBUTE]["N"])
    assert before + 23 * 3600 < expires < time.time() + 25 * 3600
