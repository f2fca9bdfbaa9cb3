"""Shared fixtures. The environment is set before any project module is imported: entity models
read TABLE_NAME when they are defined."""

from __future__ import annotations

import os

os.environ.setdefault("TABLE_NAME", "clawster-test")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Clawster")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import itertools  # noqa: E402

import pytest  # noqa: E402

from tests.helpers import Client  # noqa: E402

_users = itertools.count()


@pytest.fixture(scope="session", autouse=True)
def _private_clawster_home(tmp_path_factory):
    """The CLI's config file and the pointer `clawster dev` records go to a scratch folder: tests
    never read a developer's profiles nor replace the pointer to their running dev stack."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLAWSTER_HOME", str(tmp_path_factory.mktemp("clawster-home")))
        yield


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The real local stack (moto server, local API Gateway, local issuer), once per test process."""
    from clawster.local.stack import LocalStack
    from layers.providers.registry import LOOPBACK_ENV

    inventory = tmp_path_factory.mktemp("loopback") / "inventory.json"
    with pytest.MonkeyPatch.context() as patch:
        # The loopback target's inventory (tests/fakes/loopback_fleet.py hands fake gateways to bots there): set
        # before the stack starts, so its Lambda workers inherit it.
        patch.setenv(LOOPBACK_ENV, str(inventory))
        with LocalStack(tmp_path_factory.mktemp("stack"), api_port=0, moto_port=0, seed=False, keep_gateways=False) as running:
            yield running


@pytest.fixture(scope="session")
def client_for(stack):
    """client_for("alice") -> an API client holding a fresh token for that user."""

    def make(user: str) -> Client:
        return Client(stack.api_url, stack.issuer.issue(user))

    return make


@pytest.fixture
def new_user():
    """A user id no other test uses (tests share one stack)."""
    return lambda prefix="user": f"{prefix}-{next(_users)}-{os.getpid()}"


@pytest.fixture
def team(client_for, new_user):
    """A workspace with one member of each role, created through the API. Returns a Team."""
    from tests.helpers import Team

    return Team.create(client_for, new_user)


def pytest_collection_modifyitems(items):
    """Longest files first, so both xdist workers finish together (tests/schedule.py)."""
    from tests.schedule import longest_first

    longest_first(items)
