"""One botocore session and one DynamoDB client per process, for every pynamodb model.

pynamodb gives each Model class its own Connection, each with its own botocore session and
client, so a request touching three entity types loaded the DynamoDB service model three times
on a cold start (~130 ms each). botocore clients are thread-safe once made; making a session or a
client is not, so that happens once, under a lock. One per thread would cost the local stack a new
client on every request: its API Gateway serves each connection on a new thread. All our models
share one table and the same connection settings, so sharing the client changes nothing else.
"""

from __future__ import annotations

import threading

import botocore.session
import pynamodb.connection.base as pynamodb_base

_lock = threading.RLock()  # re-entered: making a client asks for the session
_session: botocore.session.Session | None = None
_clients: dict[tuple[str | None, str | None], object] = {}
_own_client = pynamodb_base.Connection.client


def shared_session() -> botocore.session.Session:
    global _session
    with _lock:
        if _session is None:
            _session = botocore.session.get_session()
        return _session


def _shared_client(connection: pynamodb_base.Connection):
    key = (connection.region, connection.host)
    client = _clients.get(key)
    if client is None or (client._request_signer and not client._request_signer._credentials):
        with _lock:
            client = _clients.get(key)
            if client is None or (client._request_signer and not client._request_signer._credentials):
                connection._client = None
                client = _clients[key] = _own_client.fget(connection)
    connection._client = client
    return client


def install() -> None:
    pynamodb_base.get_session = shared_session
    pynamodb_base.Connection.client = property(_shared_client)
