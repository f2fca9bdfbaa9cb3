"""Units of the stream API: topics, the token check of the $connect authorizer, route selection and
connection ids of the local gateway. The end-to-end behaviour is in tests/e2e/test_websocket.py."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import jwt
import pytest

from clawster.domain import topics
from clawster.domain.errors import ValidationFailed
from clawster.local.issuer import AUDIENCE, ISSUER, Issuer
from clawster.local.ws_api import _allows, _new_connection_id, _route_key
from clawster.services import tokens

# Fixed ids: the parametrized test names hold them, and every xdist worker must collect the same names.
WS, FLEET, BOT = "01J0000000000000000000WS00", "01J0000000000000000000F1EE", "01J0000000000000000000B0T0"


# -- topics ------------------------------------------------------------------------------------------

def test_topics_name_their_workspace_and_need_its_read_permission():
    assert topics.parse(f"workspaces/{WS}") == topics.workspace_topic(WS)
    assert topics.parse(f"workspaces/{WS}/fleets/{FLEET}").action == "fleet.read"
    bot = topics.parse(f"workspaces/{WS}/bots/{BOT}")
    assert bot == topics.bot_topic(WS, BOT) and bot.action == "bot.read" and str(bot) == f"workspaces/{WS}/bots/{BOT}"
    assert [str(t) for t in topics.bot_topics(WS, FLEET, BOT)] == [
        f"workspaces/{WS}/bots/{BOT}", f"workspaces/{WS}/fleets/{FLEET}", f"workspaces/{WS}"]


@pytest.mark.parametrize("text", [
    None, "", 3, ["workspaces", WS], f"workspace/{WS}", "workspaces/not-an-id", f"workspaces/{WS}/bots",
    f"workspaces/{WS}/secrets/{BOT}", f"workspaces/{WS}/bots/{BOT}/extra", f"workspaces/{WS}/bots/../{BOT}",
    "workspaces/" + "A" * 500,
])
def test_anything_else_is_not_a_topic(text):
    with pytest.raises(ValidationFailed) as refused:
        topics.parse(text)
    assert refused.value.details["errors"][0]["field"] == "topic"


def test_every_message_has_the_same_envelope():
    message = topics.envelope(topics.bot_topic(WS, BOT), "bot.status", {"status": "RUNNING"})
    assert set(message) == {"topic", "type", "data", "at"}
    assert message["at"].endswith("Z") and message["topic"] == f"workspaces/{WS}/bots/{BOT}"
    json.dumps(message)


# -- the authorizer's token check ------------------------------------------------------------------------

@pytest.fixture
def issuer(tmp_path, monkeypatch):
    """The local issuer's keys, served to tokens.verify as a JWKS endpoint would."""
    local = Issuer(tmp_path)
    monkeypatch.setenv("TOKEN_ISSUER", ISSUER)
    monkeypatch.setenv("TOKEN_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("JWKS_URL", "http://jwks.invalid/keys")

    class Keys:
        def get_signing_key_from_jwt(self, token):
            kid = jwt.get_unverified_header(token).get("kid")
            for key in jwt.PyJWKSet.from_dict(local.jwks()).keys:
                if key.key_id == kid:
                    return key
            raise jwt.PyJWKClientError(f"no key {kid}")

    monkeypatch.setattr(tokens, "_jwks", lambda url: Keys())
    return local


def test_a_token_is_found_in_the_query_string_or_among_the_subprotocols(issuer):
    token = issuer.issue("alice")
    assert tokens.token_of({"token": token}, {}) == token
    assert tokens.token_of(None, {"Sec-WebSocket-Protocol": f"clawster, {token}"}) == token
    assert tokens.token_of(None, {"sec-websocket-protocol": "clawster"}) is None
    assert tokens.offers_subprotocol({"Sec-WebSocket-Protocol": f"clawster, {token}"})
    assert not tokens.offers_subprotocol({"Sec-WebSocket-Protocol": token})


def test_only_id_tokens_of_the_configured_issuer_and_audience_pass(issuer, tmp_path):
    assert tokens.verify(issuer.issue("alice"))["sub"] == "alice"
    now = int(time.time())
    key = issuer._private
    header = {"kid": issuer.kid}
    base = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "token_use": "id", "iat": now, "exp": now + 600}
    refused = {
        "no token": None,
        "expired": issuer.issue("alice", ttl_s=-600),
        "another key": Issuer(tmp_path / "other").issue("alice"),
        "another audience": jwt.encode({**base, "aud": "someone-else"}, key, "RS256", headers=header),
        "another issuer": jwt.encode({**base, "iss": "https://evil.invalid"}, key, "RS256", headers=header),
        "an access token": jwt.encode({**base, "token_use": "access"}, key, "RS256", headers=header),
        "HMAC": jwt.encode(base, "a-shared-secret-of-thirty-two-bytes!", "HS256", headers=header),
        "unsigned": jwt.encode(base, None, "none", headers=header),
        "no kid": jwt.encode(base, key, "RS256"),
    }
    for reason, token in refused.items():
        with pytest.raises(tokens.InvalidToken):
            tokens.verify(token)
            pytest.fail(f"accepted a token with {reason}")


def test_every_app_client_of_the_pool_named_in_the_audience_list_is_accepted(issuer, monkeypatch):
    """On AWS the CLI's and the web console's app clients both sign users in: the ID token's `aud` is the
    client's id, and the CDK app lists both in TOKEN_AUDIENCE."""
    monkeypatch.setenv("TOKEN_AUDIENCE", "cli-client-id, console-client-id")
    now = int(time.time())
    base = {"sub": "alice", "iss": ISSUER, "token_use": "id", "iat": now, "exp": now + 600}

    def signed(audience: str) -> str:
        return jwt.encode({**base, "aud": audience}, issuer._private, "RS256", headers={"kid": issuer.kid})

    assert tokens.verify(signed("console-client-id"))["sub"] == "alice"
    assert tokens.verify(signed("cli-client-id"))["sub"] == "alice"
    for other in ("another-client-id", "console-client", "cli-client-id, console-client-id"):
        with pytest.raises(tokens.InvalidToken):
            tokens.verify(signed(other))
    monkeypatch.setenv("TOKEN_AUDIENCE", " , ")
    with pytest.raises(RuntimeError, match="no app client"):
        tokens.verify(signed("cli-client-id"))


def test_the_authorizer_allows_with_the_callers_identity_or_refuses_with_unauthorized(issuer):
    from functions.ws import authorizer

    arn = "arn:aws:execute-api:us-east-1:123456789012:api/v1/$connect"
    context = SimpleNamespace(function_name="ws-authorizer", memory_limit_in_mb=256, aws_request_id="r1",
                              invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:ws-authorizer")
    allowed = authorizer.handler({"methodArn": arn, "queryStringParameters": {"token": issuer.issue("bob")}}, context)
    assert allowed["principalId"] == "bob" and allowed["context"]["sub"] == "bob"
    (statement,) = allowed["policyDocument"]["Statement"]
    assert statement == {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": arn}
    with pytest.raises(Exception, match="^Unauthorized$"):  # the exact text API Gateway turns into 401
        authorizer.handler({"methodArn": arn, "headers": {"Sec-WebSocket-Protocol": "clawster"}}, context)


# -- the local gateway's pieces ------------------------------------------------------------------------

def test_messages_are_routed_by_their_action_else_to_default():
    routes = {"$connect": 1, "$default": 2, "subscribe": 3}
    assert _route_key('{"action": "subscribe", "topic": "x"}', routes) == "subscribe"
    assert _route_key('{"action": "publish"}', routes) == "$default"
    assert _route_key('{"action": "$connect"}', routes) == "$default"  # a client cannot name a special route
    assert _route_key("not json", routes) == "$default"
    assert _route_key(None, routes) == "$default"  # a binary frame
    assert _route_key('{"action": "publish"}', {"subscribe": 3}) is None  # no $default: API Gateway refuses it


def test_only_an_allow_policy_with_a_principal_lets_a_handshake_through():
    allow = {"principalId": "u", "policyDocument": {"Statement": [{"Effect": "Allow"}]}}
    assert _allows(allow)
    assert not _allows({**allow, "principalId": ""})
    assert not _allows({"principalId": "u", "policyDocument": {"Statement": [{"Effect": "Deny"}]}})
    assert not _allows({"principalId": "u", "policyDocument": {"Statement": [{"Effect": "Allow"}, {"Effect": "Deny"}]}})
    assert not _allows(None)


def test_connection_ids_look_like_api_gateways_and_fit_a_path():
    made = {_new_connection_id() for _ in range(200)}
    assert len(made) == 200
    for connection_id in made:
        assert len(connection_id) == 12 and connection_id.endswith("=") and "/" not in connection_id
