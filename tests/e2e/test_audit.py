"""The audit trail: written with every change and every refusal; filterable; read only. Refusals of
non-members go to the caller's own security partition, rate-limited, never to the tenant's trail."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

from clawster.ids import new_id
from clawster.services.audit import OUTSIDER_EVENTS_PER_MINUTE
from clawster.store.entities import SecurityEvent


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

    events = _events(owner, ws)
    actions = [(e["action"], e["outcome"]) for e in events]
    assert actions[:3] == [("fleet.create", "DENIED"), ("fleet.update", "ALLOWED"), ("fleet.create", "ALLOWED")]
    update = events[1]  # newest first
    assert update["diff"] == {"name": {"from": "audited", "to": "audited-2"}}
    assert update["actor"] == team.users["OWNER"] and update["role"] == "OWNER"
    assert update["target"] == f"fleet/{fleet['id']}" and update["request_id"]
    denied = events[0]
    assert denied["actor"] == team.users["VIEWER"] and denied["role"] == "VIEWER" and "requires ADMIN" in denied["reason"]
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


def test_a_refusal_by_a_service_rule_is_audited(team, new_user):
    admin, ws = team.clients["ADMIN"], team.ws
    admin.put(f"{ws}/members/{new_user('crown')}", {"role": "OWNER"}).ok(403)  # the gate lets ADMIN in; the rule refuses
    admin.delete(f"{ws}/members/{team.users['OWNER']}").ok(403)
    newest = _events(team.owner, ws, actor=team.users["ADMIN"])[:2]
    assert [(e["action"], e["outcome"], e["role"]) for e in newest] == [
        ("member.delete", "DENIED", "ADMIN"), ("member.put", "DENIED", "ADMIN")]
    assert newest[0]["target"] == f"{ws}/members/{team.users['OWNER']}" and "OWNER" in newest[0]["reason"]
    assert newest[1]["reason"] == "only an OWNER may grant OWNER" and newest[1]["request_id"]


def _security_events(user: str) -> list[SecurityEvent]:
    return list(SecurityEvent.query(SecurityEvent.partition(user), SecurityEvent.sk.startswith(SecurityEvent.sk_prefix()),
                                    consistent_read=True))


def test_outsiders_refusals_go_to_their_own_partition_rate_limited(team, client_for, new_user):
    prober_id = new_user("prober")
    prober, before = client_for(prober_id), len(_events(team.owner, team.ws))
    for _ in range(OUTSIDER_EVENTS_PER_MINUTE + 3):
        prober.get(team.ws).ok(404)
    assert len(_events(team.owner, team.ws)) == before  # the tenant's trail is not theirs to fill
    recorded = _security_events(prober_id)
    # the limit is per minute: a burst that straddles a minute boundary may record up to twice as many
    assert OUTSIDER_EVENTS_PER_MINUTE <= len(recorded) <= 2 * OUTSIDER_EVENTS_PER_MINUTE
    first = recorded[0]
    assert (first.actor, first.workspace_id, first.action) == (prober_id, team.workspace_id, "workspace.read")
    assert first.expires_at > time.time() + 30 * 86400  # expires by TTL, in months


def _dynamodb_calls(monkeypatch, *needles: str) -> list[tuple]:
    """Record each DynamoDB request that names one of `needles` as (operation, key prefixes it touches).

    Recorded where the requests arrive, in the stack's moto server (this process): the handlers run
    in Lambda instances of their own (worker processes), which a patch of this process's botocore
    would never see. The request body is the call's parameters in DynamoDB JSON."""
    from moto.dynamodb.responses import DynamoHandler

    calls: list[tuple] = []
    original = DynamoHandler.call_action

    def counting(handler):
        if any(n in handler.body for n in needles):
            operation = handler.headers.get("X-Amz-Target", "").rpartition(".")[2]
            calls.append((operation, tuple(_key_prefixes(json.loads(handler.body)))))
        return original(handler)

    monkeypatch.setattr(DynamoHandler, "call_action", counting)
    return calls


def _key_prefixes(value) -> list[str]:
    """The kind of each item a call reads or writes: the part of its pk and sk before the first '#'."""
    if isinstance(value, dict):
        found = [f"{k}={v['S'].split('#')[0]}" for k, v in value.items() if k in ("pk", "sk") and isinstance(v, dict)]
        return found + [p for k, v in value.items() if k not in ("pk", "sk") for p in _key_prefixes(v)]
    if isinstance(value, list):
        return [p for v in value for p in _key_prefixes(v)]
    return []


def test_an_existing_and_a_random_workspace_look_the_same_to_an_outsider(team, client_for, new_user, monkeypatch):
    answers, work = {}, {}
    for kind, workspace_id in (("existing", team.workspace_id), ("random", new_id())):
        prober_id = new_user("prober")  # a fresh caller each time: both are under the rate limit
        calls = _dynamodb_calls(monkeypatch, workspace_id, prober_id)
        reply = client_for(prober_id).get(f"/workspaces/{workspace_id}").ok(404)
        answers[kind] = (reply.status, reply.body, sorted(reply.headers))
        answers[kind][1]["message"] = answers[kind][1]["message"].replace(workspace_id, "<id>")
        answers[kind][1]["details"]["workspace_id"] = "<id>"
        work[kind] = list(calls)
        monkeypatch.undo()
    assert answers["existing"] == answers["random"]
    assert work["existing"] == work["random"]
    assert [op for op, _ in work["existing"]] == ["GetItem", "TransactWriteItems"]  # membership, then the record


def test_a_refusal_of_a_very_long_path_is_a_403_recorded_not_a_5xx(team):
    """The refused path is the audit event's target, and the target is part of an index key (at most
    2,048 bytes): a caller-made path of any length must still be refused and recorded."""
    long_id = "%C3%AA" + "%F2%AA%A4%BD" * 700  # what schemathesis sent: ~8 KB once decoded
    refused = team.clients["VIEWER"].delete(f"{team.ws}/members/{long_id}")
    assert refused.status in (403, 422), refused.body  # refused at the gate or as a bad id: never a 5xx
    trail = team.owner.get(f"{team.ws}/audit").ok(200).body["items"]
    assert refused.status != 403 or any(e["outcome"] == "DENIED" for e in trail)
