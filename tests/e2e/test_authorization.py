"""Authorization against a hand-written policy: the table below is the oracle, written from the product's
rules and not read from the code's permission table, so a wrong entry in PERMISSIONS fails here. Plus the
rules a table cannot express (who may touch an OWNER, the last OWNER, raising one's own role), members
of another workspace getting 404, and bad tokens getting 401."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from clawster.domain.roles import PERMISSIONS
from functions import catalog
from tests.helpers import ROLES, Client

WS = "/workspaces/{workspace_id}"
# method, path -> the lowest role that may call it. PUBLIC: no token; AUTHENTICATED: any valid token.
MINIMUM_ROLE = {
    ("GET", "/health"): "PUBLIC",
    ("GET", "/openapi.json"): "PUBLIC",
    ("GET", "/swagger"): "PUBLIC",
    ("GET", "/templates"): "AUTHENTICATED",
    ("GET", "/targets"): "AUTHENTICATED",
    ("POST", "/workspaces"): "AUTHENTICATED",
    ("GET", "/workspaces"): "AUTHENTICATED",
    ("GET", WS): "VIEWER",
    ("PATCH", WS): "ADMIN",
    ("DELETE", WS): "OWNER",
    ("GET", WS + "/members"): "VIEWER",
    ("PUT", WS + "/members/{user_id}"): "ADMIN",
    ("DELETE", WS + "/members/{user_id}"): "ADMIN",
    ("GET", WS + "/fleets"): "VIEWER",
    ("POST", WS + "/fleets"): "ADMIN",
    ("GET", WS + "/fleets/{fleet_id}"): "VIEWER",
    ("PATCH", WS + "/fleets/{fleet_id}"): "ADMIN",
    ("DELETE", WS + "/fleets/{fleet_id}"): "ADMIN",
    ("GET", WS + "/fleets/{fleet_id}/bots"): "VIEWER",
    ("POST", WS + "/fleets/{fleet_id}/bots"): "OPERATOR",
    ("GET", WS + "/bots/{bot_id}"): "VIEWER",
    ("PATCH", WS + "/bots/{bot_id}"): "OPERATOR",
    ("DELETE", WS + "/bots/{bot_id}"): "ADMIN",
    ("POST", WS + "/bots/{bot_id}/upgrade"): "OPERATOR",
    ("POST", WS + "/bots/{bot_id}/rollback"): "OPERATOR",
    ("POST", WS + "/bots/{bot_id}/pairing/approve"): "OPERATOR",
    ("GET", WS + "/bots/{bot_id}/revisions/{revision_id}/diff"): "VIEWER",
    ("POST", WS + "/bots/{bot_id}/{action}"): "OPERATOR",
    ("GET", WS + "/bots/{bot_id}/provisioning"): "VIEWER",
    ("GET", WS + "/bots/{bot_id}/logs"): "VIEWER",
    ("GET", WS + "/bots/{bot_id}/revisions"): "VIEWER",
    ("GET", WS + "/bots/{bot_id}/revisions/{revision_id}"): "VIEWER",
    ("GET", WS + "/audit"): "ADMIN",
    ("POST", WS + "/templates"): "OPERATOR",
    ("GET", WS + "/templates"): "VIEWER",
    ("GET", WS + "/templates/{layer_id}"): "VIEWER",
    ("PATCH", WS + "/templates/{layer_id}"): "OPERATOR",
    ("DELETE", WS + "/templates/{layer_id}"): "OPERATOR",
    ("POST", WS + "/profiles"): "ADMIN",
    ("GET", WS + "/profiles"): "VIEWER",
    ("GET", WS + "/profiles/{layer_id}"): "VIEWER",
    ("PATCH", WS + "/profiles/{layer_id}"): "ADMIN",
    ("DELETE", WS + "/profiles/{layer_id}"): "ADMIN",
    ("POST", WS + "/overlays"): "OPERATOR",
    ("GET", WS + "/overlays"): "VIEWER",
    ("GET", WS + "/overlays/{layer_id}"): "VIEWER",
    ("PATCH", WS + "/overlays/{layer_id}"): "OPERATOR",
    ("DELETE", WS + "/overlays/{layer_id}"): "OPERATOR",
    ("POST", WS + "/config-preview"): "VIEWER",
    ("POST", WS + "/bots/{bot_id}/refresh"): "OPERATOR",
    ("GET", WS + "/bots/{bot_id}/effective-config"): "VIEWER",
    ("GET", WS + "/drift"): "VIEWER",
    ("GET", WS + "/bots/{bot_id}/drift"): "VIEWER",
    ("PUT", WS + "/bots/{bot_id}/drift-policy"): "ADMIN",  # whether security drift is reverted: governance
    ("PUT", WS + "/fleets/{fleet_id}/drift-policy"): "ADMIN",
    ("GET", "/policy-packs/builtin"): "AUTHENTICATED",
    ("GET", WS + "/policy-packs"): "VIEWER",
    ("POST", WS + "/policy-packs"): "ADMIN",
    ("POST", WS + "/policy-packs/evaluate"): "VIEWER",
    ("GET", WS + "/policy-packs/{pack_id}"): "VIEWER",
    ("PATCH", WS + "/policy-packs/{pack_id}"): "ADMIN",
    ("DELETE", WS + "/policy-packs/{pack_id}"): "ADMIN",
    ("POST", WS + "/connectors"): "OPERATOR",
    ("GET", WS + "/connectors"): "VIEWER",
    ("GET", WS + "/connectors/{connector_id}"): "VIEWER",
    ("PATCH", WS + "/connectors/{connector_id}"): "OPERATOR",
    ("DELETE", WS + "/connectors/{connector_id}"): "ADMIN",
    ("POST", WS + "/connectors/{connector_id}/test"): "OPERATOR",
    ("POST", WS + "/connectors/{connector_id}/rotate"): "OPERATOR",
    ("GET", WS + "/connectors/{connector_id}/rotations/{rotation_id}"): "VIEWER",
    ("POST", WS + "/rollouts"): "OPERATOR",  # changes bots, as PATCH of a bot does
    ("GET", WS + "/rollouts"): "VIEWER",
    ("GET", WS + "/rollouts/{rollout_id}"): "VIEWER",
    ("POST", WS + "/rollouts/{rollout_id}/{action}"): "OPERATOR",  # pause, resume, approve, abort, promote
}
RANK = {"VIEWER": 1, "OPERATOR": 2, "ADMIN": 3, "OWNER": 4}  # each role can do what the ones below can
UNDOCUMENTED = {("GET", "/swagger")}  # a page about the API, kept out of its document
ROUTES = {(route.method, route.path): route.action for _, route in catalog.rest_routes()}


def _operations() -> set[tuple[str, str]]:
    doc = json.loads((Path(__file__).parents[2] / "docs" / "openapi.json").read_text())
    return {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}


def test_the_table_covers_every_operation_of_the_api():
    assert set(MINIMUM_ROLE) - UNDOCUMENTED == _operations()  # a new route needs a row here
    assert set(MINIMUM_ROLE) == set(ROUTES)
    assert set(ROUTES.values()) == set(PERMISSIONS)  # no unused permission, no unchecked route


# A request each caller may send without destroying the fixture: it passes (or fails) the gate,
# and an allowed one then fails later on a stale If-Match, a body it cannot use, or a bot state.
BODIES = {"POST": {}, "PUT": {}, "PATCH": {"name": "x"}}
HEADERS = {"PATCH": {"If-Match": '"999"'}, "DELETE": {"If-Match": '"999"'}}


def _fill(path: str, team) -> str:
    values = {"workspace_id": team.workspace_id, "fleet_id": team.fleet_id, "bot_id": team.bot_id,
              "revision_id": team.revision_id, "user_id": "not-a-member", "action": "pause",
              "pack_id": "01J0000000000000000000000P", "layer_id": "01J0000000000000000000000L",
              "connector_id": "01J0000000000000000000000C", "rotation_id": "01J0000000000000000000000R",
              "rollout_id": "01J0000000000000000000000U"}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def _gate_refused(reply, team) -> str | None:
    if reply.status == 403 and reply.body["code"] == "FORBIDDEN":
        return "403"
    if reply.status == 404 and (reply.body.get("details") or {}).get("workspace_id") == team.workspace_id:
        return "404"
    return None


@pytest.fixture(scope="module")
def matrix_team(client_for):
    from tests.helpers import Team

    counter = iter(range(1000))
    return Team.create(client_for, lambda prefix="u": f"matrix-{prefix}-{next(counter)}").with_bot()


@pytest.mark.parametrize("method,path", sorted(MINIMUM_ROLE), ids=[f"{m} {p}" for m, p in sorted(MINIMUM_ROLE)])
def test_each_role_passes_the_gate_exactly_when_the_table_allows_it(matrix_team, method, path):
    team, url, minimum = matrix_team, _fill(path, matrix_team), MINIMUM_ROLE[(method, path)]
    callers = {role: team.clients[role] for role in ROLES} | {"outsider": team.outsider}
    for who, client in callers.items():
        reply = client.request(method, url, BODIES.get(method), headers=HEADERS.get(method))
        assert reply.status < 500, (who, reply.status, reply.body)
        refused = _gate_refused(reply, team)
        if minimum in ("PUBLIC", "AUTHENTICATED"):
            assert refused is None, (who, reply.body)
        elif who == "outsider":
            assert refused == "404", (who, reply.status, reply.body)  # existence is not revealed
        elif RANK[who] >= RANK[minimum]:
            assert refused is None, (who, reply.status, reply.body)
        else:
            assert refused == "403", (who, reply.status, reply.body)
            assert reply.body["details"] == {"action": ROUTES[(method, path)], "role": who, "required": minimum}


def test_only_the_public_routes_answer_without_a_token(stack, matrix_team):
    anonymous = Client(stack.api_url, None)
    for (method, path), minimum in MINIMUM_ROLE.items():
        reply = anonymous.request(method, _fill(path, matrix_team), BODIES.get(method), headers=HEADERS.get(method))
        expected = 200 if minimum == "PUBLIC" else 401
        assert reply.status == expected, (method, path, reply.status, str(reply.body)[:200])


def _roles(team) -> dict[str, str]:
    return {m["user_id"]: m["role"] for m in team.owner.get(f"{team.ws}/members").ok(200).body["items"]}


def test_an_admin_cannot_grant_change_or_remove_an_owner(team, new_user):
    admin, ws, before = team.clients["ADMIN"], team.ws, _roles(team)
    newcomer = new_user("newcomer")
    assert admin.put(f"{ws}/members/{newcomer}", {"role": "OWNER"}).ok(403).body["code"] == "FORBIDDEN"
    admin.put(f"{ws}/members/{team.users['VIEWER']}", {"role": "OWNER"}).ok(403)
    admin.put(f"{ws}/members/{team.users['OWNER']}", {"role": "VIEWER"}).ok(403)
    admin.delete(f"{ws}/members/{team.users['OWNER']}").ok(403)
    assert _roles(team) == before
    # what an ADMIN may do with members: anything below OWNER, on anyone below OWNER
    admin.put(f"{ws}/members/{newcomer}", {"role": "ADMIN"}).ok(201)
    admin.put(f"{ws}/members/{newcomer}", {"role": "VIEWER"}).ok(200)
    admin.delete(f"{ws}/members/{newcomer}").ok(204)
    assert _roles(team) == before


def test_the_last_owner_stays(team):
    owner, ws, me = team.owner, team.ws, team.users["OWNER"]
    assert owner.put(f"{ws}/members/{me}", {"role": "ADMIN"}).ok(409).body["code"] == "CONFLICT"
    assert owner.delete(f"{ws}/members/{me}").ok(409).body["code"] == "CONFLICT"
    # with a second owner, either may step down; then the one left is the last again
    owner.put(f"{ws}/members/{team.users['ADMIN']}", {"role": "OWNER"}).ok(200)
    owner.put(f"{ws}/members/{me}", {"role": "ADMIN"}).ok(200)
    second = team.clients["ADMIN"]  # now the only OWNER
    second.delete(f"{ws}/members/{team.users['ADMIN']}").ok(409)
    second.put(f"{ws}/members/{team.users['ADMIN']}", {"role": "VIEWER"}).ok(409)
    assert [u for u, r in _roles(team).items() if r == "OWNER"] == [team.users["ADMIN"]]


def test_nobody_raises_their_own_role(team):
    for role in ("VIEWER", "OPERATOR", "ADMIN"):
        me, client = team.users[role], team.clients[role]
        for higher in (r for r in RANK if RANK[r] > RANK[role]):
            reply = client.put(f"{team.ws}/members/{me}", {"role": higher})
            assert reply.status == 403 and reply.body["code"] == "FORBIDDEN", (role, higher, reply.body)
    assert _roles(team) == {team.users[r]: r for r in ROLES}


def test_resources_of_another_workspace_are_404_even_by_id(team, client_for, new_user):
    team.with_bot()
    stranger = client_for(new_user("stranger"))
    own = stranger.post("/workspaces", {"name": "mine"}).ok(201).body["id"]
    # the stranger is OWNER of `own` but asks for the team's fleet, bot and revision through it
    for path in (f"/workspaces/{own}/fleets/{team.fleet_id}", f"/workspaces/{own}/bots/{team.bot_id}",
                 f"/workspaces/{own}/bots/{team.bot_id}/revisions/{team.revision_id}",
                 f"/workspaces/{own}/fleets/{team.fleet_id}/bots"):
        reply = stranger.get(path).ok(404)
        assert "team" not in str(reply.body) and reply.body["code"] == "NOT_FOUND"
    bot = stranger.post(f"/workspaces/{own}/fleets/{team.fleet_id}/bots", {"name": "x", "template_id": "minimal"})
    assert bot.status == 404
    assert team.owner.get(f"{team.ws}/fleets/{team.fleet_id}").body["bot_count"] == 1


def test_missing_expired_and_wrongly_signed_tokens_get_401(stack, team):
    path = f"{team.ws}/fleets"
    assert Client(stack.api_url, None).get(path).status == 401
    assert Client(stack.api_url, "not.a.jwt").get(path).status == 401
    expired = stack.issuer.issue(team.users["OWNER"], ttl_s=-60)
    assert Client(stack.api_url, expired).get(path).ok(401).body["code"] == "UNAUTHORIZED"
    claims = jwt.decode(stack.issuer.issue(team.users["OWNER"]), options={"verify_signature": False})
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    forged = jwt.encode(claims, pem, algorithm="RS256")
    assert Client(stack.api_url, forged).get(path).ok(401).body["code"] == "UNAUTHORIZED"
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    assert Client(stack.api_url, unsigned).get(path).status == 401
    assert Client(stack.api_url, stack.issuer.issue(team.users["OWNER"])).get(path).status == 200
    assert Client(stack.api_url, None).get("/health").ok(200).body == {"status": "ok"}
