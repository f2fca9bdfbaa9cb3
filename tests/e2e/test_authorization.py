"""Every route in the OpenAPI document x every role gets the allow/deny of the permission table;
members of another workspace get 404; bad tokens get 401."""

from __future__ import annotations

import re

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from clawster.domain.roles import AUTHENTICATED, PERMISSIONS, PUBLIC, Role, allows
from functions import catalog
from functions.api import openapi_doc
from tests.helpers import ROLES, Client

ROUTES = [(route.method, route.path, route.action) for _, route in catalog.rest_routes()]
# Hand-written: what anyone may read without a token, and the one route that is a page about the API
# rather than an operation of it (kept out of its document, like Powertools' own Swagger route).
PUBLIC_ROUTES = {("GET", "/health"), ("GET", "/openapi.json"), ("GET", "/swagger")}
UNDOCUMENTED = {("GET", "/swagger")}


def _operations():
    doc = openapi_doc.document()
    return sorted((method.upper(), path) for path, ops in doc["paths"].items() for method in ops)


def test_the_matrix_covers_every_route_in_the_openapi_document():
    assert _operations() == sorted((m, p) for m, p, _ in ROUTES if (m, p) not in UNDOCUMENTED)
    assert {a for *_, a in ROUTES} == set(PERMISSIONS)  # no unused permission, no unchecked route


# A request each caller may send without destroying the fixture: it passes (or fails) the gate,
# and an allowed one then fails later on a stale If-Match, a body it cannot use, or a bot state.
BODIES = {"POST": {}, "PUT": {}, "PATCH": {"name": "x"}}
HEADERS = {"PATCH": {"If-Match": '"999"'}, "DELETE": {"If-Match": '"999"'}}


def _fill(path: str, team) -> str:
    values = {"workspace_id": team.workspace_id, "fleet_id": team.fleet_id, "bot_id": team.bot_id,
              "revision_id": team.revision_id, "user_id": "not-a-member", "action": "pause"}
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


@pytest.mark.parametrize("method,path,action", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_route_allows_exactly_the_roles_of_the_permission_table(matrix_team, method, path, action):
    team, url = matrix_team, _fill(path, matrix_team)
    callers = {role: team.clients[role] for role in ROLES} | {"outsider": team.outsider}
    for who, client in callers.items():
        reply = client.request(method, url, BODIES.get(method), headers=HEADERS.get(method))
        assert reply.status < 500, (who, reply.status, reply.body)
        refused = _gate_refused(reply, team)
        required = PERMISSIONS[action]
        if required in (PUBLIC, AUTHENTICATED):
            assert refused is None, (who, reply.body)
        elif who == "outsider":
            assert refused == "404", (who, reply.status, reply.body)  # existence is not revealed
        elif allows(Role(who), action):
            assert refused is None, (who, reply.status, reply.body)
        else:
            assert refused == "403", (who, reply.status, reply.body)
            assert reply.body["details"] == {"action": action, "role": who, "required": required.value}


def test_only_the_public_routes_answer_without_a_token(stack, matrix_team):
    anonymous = Client(stack.api_url, None)
    for method, path, _ in ROUTES:
        reply = anonymous.request(method, _fill(path, matrix_team), BODIES.get(method), headers=HEADERS.get(method))
        expected = 200 if (method, path) in PUBLIC_ROUTES else 401
        assert reply.status == expected, (method, path, reply.status, str(reply.body)[:200])


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
