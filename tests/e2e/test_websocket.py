"""The stream API end to end: the local stack's WebSocket API and @connections endpoint, the catalog's
ws-* functions, and the publisher (clawster.services.stream), with real `websockets` clients.

Nothing sleeps for a fixed time: a test waits for the message or the table change it expects, with a
generous ceiling. "Nothing arrived" is shown with a sentinel: the publisher posts in order, so once a
message published later has arrived, one published earlier that did not arrive never will.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import quote

import boto3
import pytest
from botocore.exceptions import ClientError
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from clawster import ids
from clawster.domain import topics
from clawster.services import stream
from clawster.store.entities import Connection, Subscription

CEILING_S = 60  # CI has two busy cores: wait long, but only as long as needed


@pytest.fixture
def open_socket(stack) -> Iterator[Callable[..., ClientConnection]]:
    """open_socket(user) -> a connected client holding a fresh token for that user (closed afterwards)."""
    opened: list[ClientConnection] = []

    def make(user: str, *, via: str = "query") -> ClientConnection:
        token = stack.issuer.issue(user)
        if via == "query":
            socket = connect(f"{stack.ws_url}/?token={quote(token)}", open_timeout=CEILING_S)
        else:
            socket = connect(stack.ws_url, subprotocols=["clawster", token], open_timeout=CEILING_S)
        opened.append(socket)
        return socket

    yield make
    for socket in opened:
        socket.close()


def receive(socket: ClientConnection) -> dict:
    return json.loads(socket.recv(timeout=CEILING_S))


def request(socket: ClientConnection, action: str, topic: str) -> dict:
    socket.send(json.dumps({"action": action, "topic": topic}))
    return receive(socket)


def subscribe(socket: ClientConnection, topic: str) -> None:
    reply = request(socket, "subscribe", topic)
    assert reply["type"] == "subscribed" and reply["topic"] == topic, reply


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + CEILING_S
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)  # polling interval, not a wait for something to happen


def connection_of(topic: str) -> str:
    """The one connection following a topic only this test uses."""
    (connection_id,) = stream.subscribers(topic)
    return connection_id


def refusal_status(url: str, **kwargs) -> int:
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=CEILING_S, **kwargs)
    return refused.value.response.status_code


@contextmanager
def sentinel_after(socket: ClientConnection, own_topic: str) -> Iterator[None]:
    """Subscribe to a topic of the caller's own, run the body (which publishes), then publish a sentinel
    there: it must be the next message on the socket."""
    subscribe(socket, own_topic)
    yield
    stream.publish(own_topic, "sentinel", {})
    message = receive(socket)
    assert message["type"] == "sentinel", f"received something before the sentinel: {message}"


# -- delivery ----------------------------------------------------------------------------------------

def test_a_member_receives_what_is_published_on_a_bot_a_fleet_and_a_workspace_topic(team, open_socket):
    team.with_bot()
    viewer = open_socket(team.users["VIEWER"])  # the lowest role may watch
    bot, fleet, workspace = topics.bot_topics(team.workspace_id, team.fleet_id, team.bot_id)
    for topic in (bot, fleet, workspace):
        subscribe(viewer, str(topic))

    for topic in (bot, fleet, workspace):
        published = stream.publish(topic, "bot.status", {"bot_id": team.bot_id, "status": "RUNNING"})
        assert len(published.delivered) == 1 and not published.gone
        message = receive(viewer)
        assert message["topic"] == str(topic) and message["type"] == "bot.status"
        assert message["data"] == {"bot_id": team.bot_id, "status": "RUNNING"}
        assert message["at"].endswith("Z")

    # A change of the bot reaches all three of its topics.
    stream.publish_bot(team.workspace_id, team.fleet_id, team.bot_id, "bot.step", {"step": "start", "status": "DONE"})
    got = {receive(viewer)["topic"] for _ in range(3)}
    assert got == {str(bot), str(fleet), str(workspace)}


def test_the_token_may_travel_in_the_subprotocol_header(team, open_socket):
    socket = open_socket(team.users["OPERATOR"], via="subprotocol")
    assert socket.subprotocol == "clawster"  # selected by $connect; the token is never echoed
    topic = str(topics.workspace_topic(team.workspace_id))
    subscribe(socket, topic)
    stream.publish(topic, "health", {"ok": True})
    assert receive(socket)["data"] == {"ok": True}


def test_unsubscribe_stops_delivery(team, open_socket):
    team.with_bot()
    socket = open_socket(team.users["ADMIN"])
    bot = str(topics.bot_topic(team.workspace_id, team.bot_id))
    subscribe(socket, bot)
    reply = request(socket, "unsubscribe", bot)
    assert reply["type"] == "unsubscribed" and reply["topic"] == bot
    assert stream.subscribers(bot) == []
    with sentinel_after(socket, str(topics.workspace_topic(team.workspace_id))):
        assert stream.publish(bot, "bot.status", {"status": "STOPPED"}).delivered == []


def test_an_unknown_action_or_a_malformed_topic_is_answered_with_an_error(team, open_socket):
    socket = open_socket(team.users["OWNER"])
    socket.send("not json at all")
    reply = receive(socket)
    assert reply["type"] == "error" and reply["data"]["code"] == "VALIDATION_FAILED"
    reply = request(socket, "subscribe", "workspaces/not-an-id")
    assert reply["type"] == "error" and reply["data"]["code"] == "VALIDATION_FAILED"
    assert reply["data"]["details"]["errors"][0]["field"] == "topic"


# -- who may connect and subscribe ------------------------------------------------------------------

def test_a_handshake_without_a_valid_token_is_refused(stack, tmp_path):
    from clawster.local.issuer import Issuer

    assert refusal_status(stack.ws_url) == 401  # no token anywhere
    assert refusal_status(f"{stack.ws_url}/?token=abc.def.ghi") == 401  # not a token
    forged = Issuer(tmp_path).issue("mallory")  # right claims, signed by another key
    assert refusal_status(f"{stack.ws_url}/?token={forged}") == 401
    expired = stack.issuer.issue("alice", ttl_s=-600)
    assert refusal_status(f"{stack.ws_url}/?token={expired}") == 401
    assert refusal_status(stack.ws_url, subprotocols=["clawster", forged]) == 401


def test_a_member_of_another_workspace_cannot_subscribe_and_receives_nothing(team, open_socket):
    team.with_bot()
    outsider_id = team.outsider.get("/workspaces").ok(200).body["items"][0]["id"]
    socket = open_socket(_user_of(team.outsider))
    theirs = [str(t) for t in topics.bot_topics(team.workspace_id, team.fleet_id, team.bot_id)]
    nowhere = str(topics.workspace_topic(ids.new_id()))  # a workspace that does not exist
    with sentinel_after(socket, str(topics.workspace_topic(outsider_id))):
        refusals = [request(socket, "subscribe", topic) for topic in [*theirs, nowhere]]
        for topic, reply in zip([*theirs, nowhere], refusals, strict=True):
            assert reply["type"] == "error" and reply["topic"] == topic
            assert reply["data"]["code"] == "NOT_FOUND" and reply["data"]["action"] == "subscribe"
        # The same answer whether the workspace exists or not (only the id in it differs).
        assert _without_ids(refusals[-1]["data"]) == _without_ids(refusals[-2]["data"])
        for topic in theirs:
            assert stream.publish(topic, "bot.status", {"status": "RUNNING"}).delivered == []


def test_a_member_cannot_follow_a_bot_the_workspace_does_not_hold(team, open_socket):
    socket = open_socket(team.users["VIEWER"])
    reply = request(socket, "subscribe", str(topics.bot_topic(team.workspace_id, ids.new_id())))
    assert reply["type"] == "error" and reply["data"]["code"] == "NOT_FOUND"


# -- connection bookkeeping ----------------------------------------------------------------------------

def test_connection_items_carry_a_ttl_and_a_closed_connection_is_removed_on_disconnect(team, open_socket):
    team.with_bot()
    socket = open_socket(team.users["VIEWER"])
    bot = str(topics.bot_topic(team.workspace_id, team.bot_id))
    subscribe(socket, bot)
    connection_id = connection_of(bot)
    connection = Connection.get(*Connection.key(connection_id), consistent_read=True)
    subscription = Subscription.get(*Subscription.key(bot, connection_id), consistent_read=True)
    now = time.time()
    assert connection.user_id == team.users["VIEWER"] and connection.topics == {bot}
    assert now + 2 * 3600 < connection.expires_at < now + 3 * 3600  # past API Gateway's 2-hour maximum
    assert subscription.expires_at == connection.expires_at

    socket.close()
    wait_until(lambda: not _exists(Connection, Connection.key(connection_id)), "$disconnect to remove the connection")
    assert not _exists(Subscription, Subscription.key(bot, connection_id))
    assert stream.subscribers(bot) == []


def test_a_connection_gone_without_disconnect_is_removed_by_the_publisher_on_410(team):
    team.with_bot()
    bot = str(topics.bot_topic(team.workspace_id, team.bot_id))
    vanished = "gone1234567="  # the gateway lost it (no $disconnect ran): only the items remain
    expires = int(time.time()) + 3600
    for item in (Connection(connection_id=vanished, user_id=team.users["VIEWER"], topics={bot}, expires_at=expires),
                 Subscription(topic=bot, connection_id=vanished, user_id=team.users["VIEWER"], expires_at=expires)):
        item.stamp()
        item.save()
    assert stream.subscribers(bot) == [vanished]

    published = stream.publish(bot, "bot.status", {"status": "RUNNING"})
    assert published.gone == [vanished] and published.delivered == []
    assert not _exists(Connection, Connection.key(vanished))
    assert not _exists(Subscription, Subscription.key(bot, vanished))


def test_an_expired_subscription_is_not_published_to(team):
    team.with_bot()
    bot = str(topics.bot_topic(team.workspace_id, team.bot_id))
    stale = Subscription(topic=bot, connection_id="expired0000=", user_id="x", expires_at=int(time.time()) - 60)
    stale.stamp()
    stale.save()  # the TTL has passed; DynamoDB (and moto) may still return the item
    assert stream.subscribers(bot) == []


# -- the @connections management endpoint ---------------------------------------------------------------

def test_the_management_endpoint_behaves_as_api_gateways(stack, team, open_socket):
    client = boto3.client("apigatewaymanagementapi", endpoint_url=stack.ws_management_url, region_name="us-east-1")
    for call in (lambda: client.post_to_connection(ConnectionId="unknown0000=", Data=b"x"),
                 lambda: client.get_connection(ConnectionId="unknown0000="),
                 lambda: client.delete_connection(ConnectionId="unknown0000=")):
        with pytest.raises(ClientError) as gone:
            call()
        assert gone.value.response["Error"]["Code"] == "GoneException"
        assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410

    socket = open_socket(team.users["VIEWER"])
    topic = str(topics.workspace_topic(team.workspace_id))
    subscribe(socket, topic)
    connection_id = connection_of(topic)
    client.post_to_connection(ConnectionId=connection_id, Data=b'{"hello": 1}')
    assert receive(socket) == {"hello": 1}
    described = client.get_connection(ConnectionId=connection_id)
    assert described["Identity"]["SourceIp"] == "127.0.0.1" and described["ConnectedAt"]

    client.delete_connection(ConnectionId=connection_id)  # the gateway closes it, and $disconnect runs
    wait_until(lambda: not _exists(Connection, Connection.key(connection_id)), "$disconnect after DELETE")
    with pytest.raises(ClientError) as gone:
        client.post_to_connection(ConnectionId=connection_id, Data=b"x")
    assert gone.value.response["Error"]["Code"] == "GoneException"


# -- helpers -------------------------------------------------------------------------------------------

def _exists(model, key: tuple[str, str]) -> bool:
    try:
        model.get(*key, consistent_read=True)
    except model.DoesNotExist:
        return False
    return True


def _user_of(client) -> str:
    from jwt import decode

    return decode(client.token, options={"verify_signature": False})["sub"]


def _without_ids(data: dict) -> str:
    import re

    return re.sub(r"[0-9A-HJKMNP-TV-Z]{26}", "<id>", json.dumps(data, sort_keys=True))


def test_the_cli_finds_the_stream_api_in_the_stack_file(stack):
    from clawster.local import discovery

    found = discovery.locate(stack.state_dir)
    assert found is not None and found.ws_url == stack.ws_url and found.ws_url.startswith("ws://127.0.0.1:")
