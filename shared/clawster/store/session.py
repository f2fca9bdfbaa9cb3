"""One botocore session and one DynamoDB client per thread, for every pynamodb model.

pynamodb gives each Model class its own Connection, each with its own botocore session and
client, so a request touching three entity types loaded the DynamoDB service model three times
on a cold start. Sessions and client creation are not thread-safe, hence one per thread (the
local stack serves requests on several threads; Lambda uses one). All our models share one table
and the same connection settings, so sharing the client changes nothing else.
"""

from __future__ import annotations

import threading

import botocore.session
import pynamodb.connection.base as pynamodb_base

_local = threading.local()
_own_client = pynamodb_base.Connection.client


def shared_session() -> botocore.session.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = botocore.session.get_session()
    return session


def _shared_client(connection: pynamodb_base.Connection):
    clients = _local.__dict__.setdefault("clients", {})
    key = (connection.region, connection.host)
    client = clients.get(key)
    if client is None or (client._request_signer and not client._request_signer._credentials):
        connection._client = None
        client = clients[key] = _own_client.fget(connection)
    connection._client = client
    return client


def install() -> None:
    pynamodb_base.get_session = shared_session
    pynamodb_base.Connection.client = property(_shared_client)
