"""The Cloud Run target for the contract suite: the adapter through the official clients (REST transport) against
the local stand-in (clawster.local.cloud.gcp), whose containers run on the given ContainerHost. The control plane's
copies of each bot's token and config go to the session stack's Secrets Manager (moto), as on AWS."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from clawster.local.cloud.gcp import GcpStandIn
from layers.providers.cloudrun import ENDPOINT_ENV, CloudRunProvider, Settings

FAILURES = {"throttle": 429, "invalid": 400, "unavailable": 503}  # what Google answers a quota, a bad request, trouble


@contextlib.contextmanager
def running(tmp_path: Path, host) -> Iterator[tuple[CloudRunProvider, Callable[[str], None]]]:
    with serving(host) as (standin, provider):
        yield provider, lambda kind: standin.fail_next(FAILURES[kind])


@contextlib.contextmanager
def serving(host, **settings) -> Iterator[tuple[GcpStandIn, CloudRunProvider]]:
    """The stand-in on a port of its own and a provider whose clients talk to it (with a bearer token, as to Google)."""
    standin = GcpStandIn(host)
    url = standin.start()
    before = os.environ.get(ENDPOINT_ENV)
    os.environ[ENDPOINT_ENV] = url  # read when the provider builds its clients
    try:
        yield standin, CloudRunProvider(Settings(**{"project": "clawster-test", "region": "europe-west1",
                                                     "bucket": "clawster-test-state", **settings}))
    finally:
        if before is None:
            os.environ.pop(ENDPOINT_ENV, None)
        else:
            os.environ[ENDPOINT_ENV] = before
        standin.close()
