"""The stream API: WebSocket connections, their topic subscriptions, and publishing to them.

A connection is an item (`Connection`) written at $connect; each subscription is an item in its
topic's partition (`Subscription`), so `publish` finds a topic's subscribers with one Query and posts
to each through API Gateway's `@connections` API. A connection that answers 410 Gone (it vanished
without a $disconnect) is removed by the publisher that found out. Everything carries a TTL.

Producers (bot status, step progress, health) call `publish(topic, event_type, data)`, or
`publish_bot(...)` for a change of a bot (its own, its fleet's and its workspace's topics). The
management endpoint is WS_MANAGEMENT_ENDPOINT (set by the CDK app and by the local stack).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import size

from clawster.domain import topics
from clawster.domain.errors import Conflict, NotFound, Unavailable
from clawster.domain.topics import Topic
from clawster.services.access import authorize
from clawster.services.context import Caller
from clawster.store.entities import Bot, Connection, Fleet, Subscription

log = logging.getLogger("clawster.stream")

ENDPOINT_VARIABLE = "WS_MANAGEMENT_ENDPOINT"
CONNECTION_TTL = timedelta(hours=2, minutes=10)  # API Gateway closes a connection after 2 hours at most
MAX_TOPICS_PER_CONNECTION = 50
POST_WORKERS = 8  # posts to one topic's subscribers in parallel


# -- connections and subscriptions (the WebSocket route functions) -----------------------------------

def connect(connection_id: str, user_id: str) -> Connection:
    connection = Connection(connection_id=connection_id, user_id=user_id, expires_at=_expiry())
    connection.stamp()
    connection.save()
    return connection


def subscribe(connection_id: str, caller: Caller, text: Any) -> Topic:
    """Follow a topic. Refused with NotFound for a workspace the caller is not a member of (whether it
    exists or not: the refusal goes to the caller's security partition, services/audit.py), or for a
    fleet or bot the workspace does not hold."""
    topic = topics.parse(text)
    authorize(caller, topic.action, topic.workspace_id, f"stream:{topic}")
    _require_target(topic)
    connection = _connection(connection_id)
    if connection.user_id != caller.user_id:  # the gateway hands each connection its own identity
        raise NotFound(f"connection {connection_id} not found")
    # Two ordered writes, each safe to repeat: the connection first (it exists, and stays within its
    # limit), then the subscription a publisher queries. A failure between them leaves a topic listed
    # with no subscription: the client got no acknowledgment and subscribes again.
    room = (Connection.topics.does_not_exist() | Connection.topics.contains(topic.name)
            | (size(Connection.topics) < MAX_TOPICS_PER_CONNECTION))
    try:
        connection.update(actions=[Connection.topics.add({topic.name})], condition=Connection.pk.exists() & room)
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise Unavailable("the table refused an update; retry") from error
        raise Conflict(f"a connection follows at most {MAX_TOPICS_PER_CONNECTION} topics: unsubscribe from one first",
                       {"limit": MAX_TOPICS_PER_CONNECTION}) from None
    subscription = Subscription(topic=topic.name, connection_id=connection_id, user_id=caller.user_id,
                                expires_at=connection.expires_at)
    subscription.stamp()
    subscription.save()
    return topic


def unsubscribe(connection_id: str, text: Any) -> Topic:
    """Stop following a topic (answered the same whether the connection followed it or not)."""
    topic = topics.parse(text)
    _remove(connection_id, [topic.name])
    return topic


def disconnect(connection_id: str) -> None:
    """Remove a connection and its subscriptions (on $disconnect, or when a post found it gone)."""
    try:
        connection = Connection.get(*Connection.key(connection_id), consistent_read=True)
    except Connection.DoesNotExist:
        return
    for name in connection.topics or ():
        Subscription(*Subscription.key(name, connection_id)).delete()
    connection.delete()


def _remove(connection_id: str, names: list[str]) -> None:
    for name in names:
        Subscription(*Subscription.key(name, connection_id)).delete()
    try:
        Connection(*Connection.key(connection_id)).update(actions=[Connection.topics.delete(set(names))],
                                                          condition=Connection.pk.exists())
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":  # gone already: nothing to tidy
            raise Unavailable("the table refused an update; retry") from error


def _connection(connection_id: str) -> Connection:
    try:
        connection = Connection.get(*Connection.key(connection_id), consistent_read=True)
    except Connection.DoesNotExist:
        raise NotFound(f"connection {connection_id} not found") from None
    if connection.expires_at <= time.time():
        raise NotFound(f"connection {connection_id} not found")
    return connection


def _require_target(topic: Topic) -> None:
    """A member may only follow a fleet or bot that the workspace holds."""
    if topic.kind == "workspace":
        return
    model: type[Fleet] | type[Bot] = Fleet if topic.kind == "fleets" else Bot
    try:
        model.get(*model.key(topic.workspace_id, topic.id))
    except model.DoesNotExist:
        if topic.kind == "fleets":
            raise NotFound(f"fleet {topic.id} not found", {"fleet_id": topic.id}) from None
        raise NotFound(f"bot {topic.id} not found", {"bot_id": topic.id}) from None


def _expiry() -> int:
    return int(time.time() + CONNECTION_TTL.total_seconds())


_burst: dict[str, list[str]] | None = None  # subscribers looked up during a burst (`one_burst`), by topic


@contextmanager
def one_burst() -> Iterator[None]:
    """Within it, each topic's subscribers are looked up once: for a burst of messages on the same topics that
    lasts seconds (one bot's inline apply: a dozen step messages). A watcher who subscribes during the burst
    gets the messages after it, and reads the rest from the table, as after any missed message."""
    global _burst
    outer, _burst = _burst, {} if _burst is None else _burst
    try:
        yield
    finally:
        _burst = outer


def subscribers(topic: Topic | str) -> list[str]:
    """The connection ids following a topic (one Query on its partition; expired items skipped)."""
    if _burst is not None:
        if str(topic) not in _burst:
            _burst[str(topic)] = _query_subscribers(topic)
        return _burst[str(topic)]
    return _query_subscribers(topic)


def _query_subscribers(topic: Topic | str) -> list[str]:
    query = Subscription.query(Subscription.partition(str(topic)), Subscription.sk.startswith(Subscription.sk_prefix()),
                               filter_condition=Subscription.expires_at > int(time.time()))
    return [item.connection_id for item in query]


# -- publishing -----------------------------------------------------------------------------------

@dataclass
class Published:
    """What one publish did: connections posted to, and those found gone (and removed)."""

    delivered: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def publish(topic: Topic | str | Iterable[Topic | str], event_type: str, data: dict[str, Any] | None = None) -> Published:
    """Post {topic, type, data, at} to every connection following `topic` (or each of several topics;
    a connection following more than one of them gets one message per topic). A connection that is
    gone is removed; any other failure to post is logged and counted, never raised: a status change
    must not fail because a watcher's socket did."""
    names = [str(topic)] if isinstance(topic, Topic | str) else [str(t) for t in topic]
    result = Published()
    jobs = [(name, cid) for name in names for cid in subscribers(name)]
    if not jobs:
        return result
    bodies = {name: json.dumps(topics.envelope(name, event_type, data)).encode() for name in names}

    def post(job: tuple[str, str]) -> tuple[str, str]:
        name, cid = job
        return cid, post_to_connection(cid, bodies[name])

    with ThreadPoolExecutor(max_workers=min(POST_WORKERS, len(jobs))) as pool:
        outcomes = list(pool.map(post, jobs))
    for cid, outcome in outcomes:
        getattr(result, outcome).append(cid)
    for cid in dict.fromkeys(result.gone):
        disconnect(cid)
    return result


def publish_bot(workspace_id: str, fleet_id: str, bot_id: str, event_type: str, data: dict[str, Any]) -> Published:
    """A change of a bot, to the bot's, its fleet's and its workspace's subscribers."""
    return publish(topics.bot_topics(workspace_id, fleet_id, bot_id), event_type, {"bot_id": bot_id, **data})


def post_to_connection(connection_id: str, body: bytes) -> str:
    """"delivered", "gone" (410: the connection no longer exists) or "failed"."""
    try:
        _management().post_to_connection(ConnectionId=connection_id, Data=body)
        return "delivered"
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "GoneException":
            return "gone"
        log.warning("post to connection %s failed: %s", connection_id, error)
        return "failed"


def send(connection_id: str, event_type: str, data: dict[str, Any], topic: Topic | str | None = None) -> str:
    """One message to one connection (not through a topic)."""
    body = json.dumps(topics.envelope(topic or "", event_type, data)).encode()
    outcome = post_to_connection(connection_id, body)
    if outcome == "gone":
        disconnect(connection_id)
    return outcome


def management_endpoint() -> str:
    endpoint = os.environ.get(ENDPOINT_VARIABLE)
    if not endpoint:
        raise RuntimeError(f"{ENDPOINT_VARIABLE} is not set: the function was deployed without the stream API's "
                           "@connections endpoint (functions/catalog.py: posts_to_connections)")
    return endpoint


@cache
def _client_for(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint, config=config)


def _management() -> Any:
    return _client_for(management_endpoint())

