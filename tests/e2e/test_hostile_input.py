"""Hostile input against every route of docs/openapi.json, through the real local stack: whatever a
client sends (strings, bodies, headers, path and query params), the answer is never a 5xx.

Generation is seeded (hypothesis, derandomized) and bounded: a few hundred requests in total.
Each class of 5xx this found once has a fixed example here too, so it cannot come back unseen.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.api._resolver import MAX_BODY_BYTES, MAX_DEPTH
from tests.helpers import Client, Reply

SPEC = json.loads((Path(__file__).parents[2] / "docs" / "openapi.json").read_text())
ROUTES = [(method.upper(), path) for path, item in SPEC["paths"].items() for method in item]
WRITES = [(m, p) for m, p in ROUTES if m in ("POST", "PUT", "PATCH")]
LISTINGS = [(m, p) for m, p in ROUTES if m == "GET" and any(
    q.get("name") == "cursor" for q in SPEC["paths"][p]["get"].get("parameters", []))]

HOSTILE = [
    "", " ", "\x00", "a\x00b", "\ud800", "a\udfffb", "\ufeff", "\u202e", "\r\n", "\t", "\x7f", "\U0001f600",
    "𝕏" * 300, "A" * 5000, "..", "../../etc/passwd", "%00", "%2F", "/", "?", "#", "' OR '1'='1", "${jndi:x}",
    "null", "true", "-1", "0", "1e309", "NaN", "9" * 5000, "{}", "[]", '{"S":"x"}', "\\", '"', "é" * 2000,
]
hostile_text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=300),
                         st.text(st.characters(codec=None, categories=["Cc", "Cs", "Co", "Cn", "Zs"]), max_size=50))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=12,
)

# 60 examples a test by default; CLAWSTER_FUZZ_EXAMPLES=1000 explores further (still seeded).
FUZZ = settings(max_examples=int(os.environ.get("CLAWSTER_FUZZ_EXAMPLES", "60")), derandomize=True, database=None, deadline=None,
                suppress_health_check=list(HealthCheck))


def nested(depth: int, leaf: Any = 1) -> Any:
    for _ in range(depth):
        leaf = {"a": leaf}
    return leaf


@pytest.fixture(scope="module")
def owned(client_for):
    """An owner's client and real ids, so requests get past the 404s and reach the handlers."""
    from tests.helpers import Team

    users = iter(range(100))
    team = Team.create(client_for, lambda prefix="user": f"hostile-{prefix}-{next(users)}-{os.getpid()}").with_bot()
    return team


def fill(path: str, team, value: str | None = None) -> str:
    ids = {"workspace_id": team.workspace_id, "fleet_id": team.fleet_id, "bot_id": team.bot_id,
           "revision_id": team.revision_id, "user_id": team.users["VIEWER"], "action": "restart"}
    for name, real in ids.items():
        part = real if value is None else urllib.parse.quote(value.encode("utf-8", "surrogatepass"), safe="")
        path = path.replace("{" + name + "}", part)
    return path


def call(client: Client, method: str, path: str, **kw: Any) -> Reply:
    reply = client.request(method, path, **kw)
    assert reply.status < 500, f"{method} {path[:200]} {str(kw)[:300]} -> {reply.status} {str(reply.body)[:300]}"
    return reply


def dumps(value: Any) -> bytes:
    """JSON as a client may send it: lone surrogates escaped (\\ud800), so the bytes are valid UTF-8."""
    return json.dumps(value).encode()


@FUZZ
@given(route=st.sampled_from(ROUTES), value=hostile_text)
def test_hostile_path_params(owned, route, value):
    method, path = route
    call(owned.owner, method, fill(path, owned, value), raw=b"{}" if method != "GET" else None,
         headers={"If-Match": '"1"'})


@FUZZ
@given(route=st.sampled_from(WRITES), body=json_values, field=hostile_text)
def test_hostile_json_bodies(owned, route, body, field):
    method, path = route
    call(owned.owner, method, fill(path, owned), raw=dumps(body), headers={"If-Match": '"1"'})
    call(owned.owner, method, fill(path, owned), raw=dumps({"name": field, "tags": {field: field}, "config": body,
                                                             "description": field, "role": field}),
         headers={"If-Match": '"1"'})


QUERIES = {(m, p): [q["name"] for q in SPEC["paths"][p][m.lower()].get("parameters", []) if q["in"] == "query"]
           for m, p in ROUTES if m == "GET"}
QUERIES = {route: names for route, names in QUERIES.items() if names}
DATES = ["2026-11-26T00:00:00Z", "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00",
         "2026-02-30T00:00:00Z", "2026-11-26", "-1", "1e9"]
STATUSES = ["RUNNING", "PAUSED", "running", "RUNNING#", "#"]
cursors = st.one_of(hostile_text, json_values.map(lambda v: base64.urlsafe_b64encode(dumps(v)).decode()),
                    st.dictionaries(st.sampled_from(["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"]),
                                    st.builds(lambda s: {"S": s}, hostile_text), max_size=6)
                    .map(lambda key: base64.urlsafe_b64encode(dumps(key)).decode().rstrip("=")))
query_values = st.one_of(hostile_text, st.sampled_from(["-1", "1e9", "0", "101", "1.5", *DATES, *STATUSES]))


@FUZZ
@given(route=st.sampled_from(sorted(QUERIES)), data=st.data())
def test_hostile_query_params(owned, route, data):
    method, path = route
    query: dict[str, Any] = {}
    for name in data.draw(st.lists(st.sampled_from(QUERIES[route]), min_size=1, unique=True)):
        value = data.draw(cursors if name == "cursor" else query_values)
        query[name] = [value.encode("utf-8", "surrogatepass")] * data.draw(st.integers(1, 2))
    call(owned.owner, method, fill(path, owned), query=query)


def test_audit_range_and_cursor_edges(owned):
    audit = f"{owned.ws}/audit"
    first = owned.owner.get(audit, query={"limit": 1}).ok(200).body["next_cursor"]
    assert first
    for query in ({"since": DATES[2], "until": DATES[1]}, {"since": DATES[2], "cursor": first},
                  {"until": DATES[1], "cursor": first}, {"since": DATES[3]}, {"until": DATES[2]}):
        call(owned.owner, "GET", audit, query=query)
    for query in ({"since": DATES[2], "cursor": first}, {"until": DATES[1], "cursor": first}):
        reply = call(owned.owner, "GET", audit, query=query)  # a start key outside the range DynamoDB refuses
        assert reply.status == 400 and reply.body["details"]["field"] == "cursor", (query, reply.body)
    owned.owner.get(audit, query={"since": DATES[1], "until": DATES[2], "cursor": first}).ok(200)
    for status in STATUSES:
        call(owned.owner, "GET", f"{owned.ws}/fleets/{owned.fleet_id}/bots", query={"status": status})


@FUZZ
@given(route=st.sampled_from(ROUTES), if_match=hostile_text, content_type=st.one_of(hostile_text, st.sampled_from([
    "application/json; charset=latin-1", "text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
    "application/merge-patch+json", "APPLICATION/JSON", ";", "application/json;;;"])))
def test_hostile_headers(owned, route, if_match, content_type):
    method, path = route
    headers = {name: value.encode("utf-8", "surrogatepass").decode("latin-1")
               for name, value in (("If-Match", if_match), ("Content-Type", content_type))
               if "\r" not in value and "\n" not in value and "\x00" not in value}
    call(owned.owner, method, fill(path, owned), raw=b'{"name": "x"}' if method != "GET" else None, headers=headers)


@FUZZ
@given(route=st.sampled_from(ROUTES), method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]),
       authorization=st.one_of(hostile_text.map(lambda t: "Bearer " + t), hostile_text,
                               st.sampled_from(["Bearer", "Bearer a.b.c", "Basic Zm9vOmJhcg==", "Bearer " + "A" * 8000])))
def test_hostile_methods_and_tokens(stack, owned, route, method, authorization):
    _, path = route
    anonymous = Client(stack.api_url, None)
    header = authorization.encode("utf-8", "surrogatepass").decode("latin-1")
    headers = {"Authorization": header} if not set(header) & {"\r", "\n", "\x00"} else {}
    call(anonymous, method, fill(path, owned), headers=headers)
    call(owned.owner, method, fill(path, owned), raw=b"{}" if method in ("POST", "PUT", "PATCH") else None)


def test_huge_headers(owned):
    for name in ("If-Match", "X-Anything", "Content-Type", "Accept"):
        call(owned.owner, "PATCH", f"{owned.ws}/fleets/{owned.fleet_id}", raw=b'{"name": "x"}',
             headers={name: "9" * 20_000})


RAW_BODIES = [
    b"", b"{", b"[" * 100_000, b'{"a":' * 50_000, b"\xff\xfe\x00", b"\xed\xa0\x80", b"null", b"[]", b'"x"', b"NaN",
    b'{"name": 1e999999}', b'{"name": ' + b"9" * 10_000 + b"}", b'{"name": "\\ud800"}', b'{"name": "\\u0000"}',
    b'{"name": "x", "name": "y"}', b'{"config": ' + dumps(nested(300)) + b"}", b"\x00" * 100,
]


@pytest.mark.parametrize("raw", RAW_BODIES, ids=lambda raw: repr(raw[:20]))
def test_raw_bodies(owned, raw):
    for method, path in WRITES:
        call(owned.owner, method, fill(path, owned), raw=raw, headers={"If-Match": '"1"'})


def test_deep_config_is_a_422_naming_the_field_and_never_stored(owned):
    bots = f"{owned.ws}/fleets/{owned.fleet_id}/bots"
    for depth in (MAX_DEPTH, 300):  # the body's own object is one level: config.a.a… is one more
        reply = call(owned.owner, "POST", bots, raw=dumps({"name": "deep", "config": nested(depth)}))
        assert reply.status == 422, reply.body
        assert reply.body["details"]["errors"][0]["field"].startswith("config"), reply.body
    # as deep as it may go, inside a plugin's free-form config (anywhere else OpenClaw's schema refuses "a")
    deepest = {"plugins": {"entries": {"deep": {"config": nested(MAX_DEPTH - 1 - 4)}}}}
    ok = owned.owner.post(bots, {"name": "deepest", "config": deepest}).ok(201).body
    revision = owned.owner.get(f"{owned.ws}/bots/{ok['id']}/revisions/{ok['desired_revision_id']}").ok(200).body
    assert revision["config"] == {**deepest, "gateway": {"auth": {"mode": "token"}, "bind": "loopback"}}  # + secure defaults
    owned.owner.get(f"{owned.ws}/audit", query={"target": f"bot/{ok['id']}"}).ok(200)


def test_body_size_and_lone_surrogates_are_refused_at_the_edge(owned):
    big = call(owned.owner, "POST", "/workspaces", raw=dumps({"name": "x", "description": "d" * MAX_BODY_BYTES}))
    assert big.status == 413 and big.body["details"]["field"] == "body", big.body
    bots = f"{owned.ws}/fleets/{owned.fleet_id}/bots"
    lone = call(owned.owner, "POST", bots, raw=b'{"name": "x", "config": {"k": ["\\ud800"]}}')
    assert lone.status == 422 and lone.body["details"]["errors"][0]["field"] == "config.k.0", lone.body


def test_cursor_from_another_listing_or_workspace_is_a_400(owned, client_for, new_user):
    from tests.helpers import Team

    other = Team.create(client_for, new_user).with_bot()
    for team in (owned, other):
        for name in ("f2", "f3"):
            team.owner.post(f"{team.ws}/fleets", {"name": name}).ok(201)
    foreign = other.owner.get(f"{other.ws}/fleets", query={"limit": 1}).ok(200).body["next_cursor"]
    mine = owned.owner.get(f"{owned.ws}/fleets", query={"limit": 1}).ok(200).body["next_cursor"]
    assert foreign and mine
    for path, cursor in ((f"{owned.ws}/fleets", foreign), (f"{owned.ws}/audit", mine),
                         (f"{owned.ws}/fleets/{owned.fleet_id}/bots", mine),
                         (f"{owned.ws}/bots/{owned.bot_id}/revisions", mine)):
        reply = call(owned.owner, "GET", path, query={"cursor": cursor})
        assert reply.status == 400, (path, reply.body)
        assert reply.body["details"].get("field") == "cursor"
