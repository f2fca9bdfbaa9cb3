"""One botocore session per thread for every pynamodb model.

pynamodb gives each Model class its own Connection, and each Connection its own botocore session,
so a request touching three entity types loaded the DynamoDB service model three times on a cold
start. Sessions are not thread-safe for client creation, hence one per thread (the local stack
serves requests on several threads; Lambda uses one).
"""

from __future__ import annotations

import threading

import botocore.session
import pynamodb.connection.base

_local = threading.local()


def shared_session() -> botocore.session.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = botocore.session.get_session()
    return session


def install() -> None:
    pynamodb.connection.base.get_session = shared_session
