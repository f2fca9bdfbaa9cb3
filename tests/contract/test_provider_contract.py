"""One contract for every compute target: the same cases against the local provider (real openclaw gateways) and
each cloud adapter through its official SDK against its stand-in (moto and the ECS agent, the Cloud Run and
Secret Manager stand-in, the fake ARM endpoint), whose containers run on a ContainerHost.

What every provider owes the workflows (layers/providers/base.py): nothing blocks on a gateway start, every call is
idempotent under retry, and errors are typed: missing things GatewayNotFound, a different spec for a bot that has a
gateway GatewayExists, throttling and quota Throttled (retryable), a spec the target refuses InvalidSpec or
UnsupportedChange (permanent). Expectations are written here by hand, from that contract, not read from any adapter.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from clawster.gateway import AdminRpcTransport, GatewayClient
from clawster.secrets import resolve
from layers.providers.base import GatewaySpec, GatewayState, GatewayUpdate, Provider
from layers.providers.errors import GatewayExists, GatewayNotFound, InvalidSpec, Throttled, UnsupportedChange

CLOUD = ("ecs", "cloudrun", "aci")
TARGETS = [pytest.param("local", marks=pytest.mark.slow), *CLOUD]
READY_S = 240.0  # a real gateway starts in 7-14 s idle; a loaded CI machine takes much longer
_bots = itertools.count(1)


@dataclass
class Harness:
    target: str
    provider: Provider
    fail_next: Callable[[str], None] | None  # make the target's API refuse its next request: "throttle" | "invalid"


@pytest.fixture(scope="module", params=TARGETS)
def harness(request, tmp_path_factory, stack):
    """A provider for each target, on its stand-in (the session stack serves moto: Secrets Manager, ECS, EFS, IAM)."""
    target = request.param
    root = tmp_path_factory.mktemp(f"contract-{target}")
    with contextlib.ExitStack() as exits:
        if target == "local":
            from layers.providers.local import LocalProvider

            # Ports below the kernel's ephemeral range (32768+): see process.ready
            provider = LocalProvider(root / "gateways", base_port=31000, supervise_interval_s=0.5)
            exits.callback(provider.close)
            exits.callback(lambda: [provider.delete(b) for b in provider.bot_ids()])
            yield Harness(target, provider, None)
            return
        from clawster.local.cloud.container_host import ContainerHost
        from tests.fakes.container_launcher import FakeLauncher

        host = ContainerHost(root / "containers", FakeLauncher())
        exits.callback(host.close)
        module = importlib.import_module(f"tests.contract.target_{target}")
        provider, fail_next = exits.enter_context(module.running(root, host))
        yield Harness(target, provider, fail_next)


def new_bot(harness: Harness) -> str:
    return f"ct-{harness.target}-{next(_bots)}"


def wait_state(provider: Provider, bot_id: str, *states: GatewayState, timeout_s: float = READY_S):
    """Poll describe() until the gateway is in one of `states`; a FAILED one fails the test at once with why."""
    deadline = time.monotonic() + timeout_s
    seen = None
    while time.monotonic() < deadline:
        seen = provider.describe(bot_id)
        if seen.state in states:
            return seen
        if seen.state is GatewayState.FAILED and GatewayState.FAILED not in states:
            pytest.fail(f"{bot_id} FAILED: {seen.detail}")
        time.sleep(0.3)
    pytest.fail(f"{bot_id} never reached {[s.value for s in states]} in {timeout_s} s; last {seen}")


def gateway(provider: Provider, bot_id: str) -> GatewayClient:
    endpoint = provider.endpoint(bot_id)
    return GatewayClient(AdminRpcTransport(endpoint.http_url, resolve(endpoint.token_ref)))


@pytest.fixture
def bot(harness):
    """A bot with a running gateway, removed after the test."""
    bot_id = new_bot(harness)
    harness.provider.create(GatewaySpec(bot_id, config={"ui": {"seamColor": "#102030"}}))
    wait_state(harness.provider, bot_id, GatewayState.RUNNING)
    yield bot_id
    harness.provider.delete(bot_id)


def test_create_returns_at_once_and_the_gateway_serves_with_the_token_its_endpoint_names(harness):
    bot_id = new_bot(harness)
    spec = GatewaySpec(bot_id, config={"ui": {"seamColor": "#abcdef"}})
    started = time.monotonic()
    first = harness.provider.create(spec)
    assert time.monotonic() - started < 60, "create() must not wait for the gateway"
    assert first.state in (GatewayState.STARTING, GatewayState.RUNNING)
    try:
        running = wait_state(harness.provider, bot_id, GatewayState.RUNNING)
        assert running.openclaw_version == spec.openclaw_version
        with gateway(harness.provider, bot_id) as client:
            assert client.health()["ok"] is True
            assert client.config_get().source.get("ui", {}).get("seamColor") == "#abcdef"
        again = harness.provider.create(spec)  # a retried create: the same gateway, nothing new
        assert again.state is GatewayState.RUNNING
        with pytest.raises(GatewayExists):
            harness.provider.create(GatewaySpec(bot_id, config={"ui": {"seamColor": "#000000"}}))
    finally:
        harness.provider.delete(bot_id)


def test_a_bot_without_a_gateway_is_not_found_and_deleting_it_is_a_no_op(harness):
    ghost = new_bot(harness)
    for call in (harness.provider.describe, harness.provider.start, harness.provider.stop,
                 harness.provider.endpoint, lambda b: harness.provider.restart(b, request_id="r1"),
                 lambda b: harness.provider.update(b, GatewayUpdate(config={"ui": {}})),
                 lambda b: harness.provider.logs(b)):
        with pytest.raises(GatewayNotFound):
            call(ghost)
    harness.provider.delete(ghost)  # succeeds, twice: a deprovision can be retried
    harness.provider.delete(ghost)


def test_stop_keeps_the_state_and_start_brings_it_back(harness, bot):
    provider = harness.provider
    provider.update(bot, GatewayUpdate(config={"ui": {"seamColor": "#445566"}}))
    wait_state(provider, bot, GatewayState.RUNNING)
    provider.stop(bot)
    assert wait_state(provider, bot, GatewayState.STOPPED).state is GatewayState.STOPPED
    assert provider.stop(bot).state is GatewayState.STOPPED  # again: nothing changes
    assert provider.start(bot).state in (GatewayState.STARTING, GatewayState.RUNNING)
    wait_state(provider, bot, GatewayState.RUNNING)
    provider.start(bot)  # on a running gateway: nothing changes
    with gateway(provider, bot) as client:
        assert client.config_get().source["ui"]["seamColor"] == "#445566"


def test_a_restart_with_the_same_request_id_restarts_once(harness, bot):
    provider = harness.provider
    boot_before = _boot(provider, bot)
    provider.restart(bot, request_id="exec-1/restart")
    deadline = time.monotonic() + READY_S
    while _boot(provider, bot) in (boot_before, None):  # a new process (or container) answers
        assert time.monotonic() < deadline, "the gateway never came back from its restart"
        time.sleep(0.3)
    restarted = _boot(provider, bot)
    wait_state(provider, bot, GatewayState.RUNNING)
    provider.restart(bot, request_id="exec-1/restart")  # the retry of the same step
    wait_state(provider, bot, GatewayState.RUNNING)
    assert _boot(provider, bot) == restarted


def _boot(provider: Provider, bot_id: str) -> str | None:
    """Which run of the gateway answers: the bootId of its WebSocket hello (new on every start), None between runs."""
    from clawster.gateway.websocket import WebSocketTransport
    from layers.providers.errors import ProviderError

    try:
        endpoint = provider.endpoint(bot_id)
    except ProviderError:  # between runs a cloud target may have no address to give
        return None
    transport = WebSocketTransport(endpoint.ws_url, token=resolve(endpoint.token_ref), connect_timeout_s=5.0)
    try:
        hello = transport.connect(retry=False)
    except Exception:  # noqa: BLE001 - between runs nothing answers
        return None
    finally:
        transport.close()
    return ((hello or {}).get("server") or {}).get("bootId")


def test_update_applies_config_live_and_again_changes_nothing(harness, bot):
    provider = harness.provider
    provider.update(bot, GatewayUpdate(config={"ui": {"seamColor": "#778899"}}))
    wait_state(provider, bot, GatewayState.RUNNING)
    first = provider.live_config(bot)
    assert first.config["ui"]["seamColor"] == "#778899"
    provider.update(bot, GatewayUpdate(config={"ui": {"seamColor": "#778899"}}))
    wait_state(provider, bot, GatewayState.RUNNING)
    assert provider.live_config(bot).config["ui"] == first.config["ui"]


def test_versions_and_sizes_it_does_not_offer_are_refused_and_change_nothing(harness, bot):
    provider = harness.provider
    before = provider.describe(bot)
    with pytest.raises(UnsupportedChange):
        provider.update(bot, GatewayUpdate(openclaw_version="1999.1.1"))
    with pytest.raises(UnsupportedChange):
        provider.update(bot, GatewayUpdate(size="colossal"))
    after = wait_state(provider, bot, GatewayState.RUNNING)
    assert after.openclaw_version == before.openclaw_version
    with pytest.raises(UnsupportedChange):
        provider.create(GatewaySpec(new_bot(harness), openclaw_version="1999.1.1"))


def test_another_offered_version_and_size_relaunch_on_the_same_state(harness, bot):
    provider = harness.provider
    capabilities = provider.capabilities()
    others = [v for v in capabilities.openclaw_versions if v != provider.describe(bot).openclaw_version]
    sizes = [t.name for t in capabilities.size_tiers]
    if not others:
        pytest.skip(f"{harness.target} offers one OpenClaw version here")
    provider.update(bot, GatewayUpdate(config={"ui": {"seamColor": "#010203"}}))
    provider.update(bot, GatewayUpdate(openclaw_version=others[0], size=sizes[-1] if len(sizes) > 1 else None))
    running = wait_state(provider, bot, GatewayState.RUNNING)
    deadline = time.monotonic() + READY_S
    while running.openclaw_version != others[0]:
        assert time.monotonic() < deadline, f"still on {running.openclaw_version}"
        time.sleep(0.3)
        running = wait_state(provider, bot, GatewayState.RUNNING)
    with gateway(provider, bot) as client:
        assert client.config_get().source["ui"]["seamColor"] == "#010203"  # the state went with it


def test_logs_and_endpoint(harness, bot):
    provider = harness.provider
    chunk = provider.logs(bot)
    assert isinstance(chunk.lines, list) and isinstance(chunk.cursor, int)
    following = provider.logs(bot, cursor=chunk.cursor)
    assert following.cursor >= chunk.cursor
    endpoint = provider.endpoint(bot)
    assert endpoint.http_url.startswith("http") and endpoint.ws_url.startswith("ws")
    assert "$" not in endpoint.token_ref and len(endpoint.token_ref) < 600  # a reference, resolvable


def test_delete_removes_the_gateway_and_its_state(harness):
    provider = harness.provider
    bot_id = new_bot(harness)
    provider.create(GatewaySpec(bot_id, config={"ui": {"seamColor": "#222222"}}))
    wait_state(provider, bot_id, GatewayState.RUNNING)
    provider.delete(bot_id)
    with pytest.raises(GatewayNotFound):
        provider.describe(bot_id)
    provider.delete(bot_id)
    # A new gateway of the same bot starts from nothing: none of the old state is left behind.
    provider.create(GatewaySpec(bot_id, config={"ui": {"seamColor": "#333333"}}))
    try:
        wait_state(provider, bot_id, GatewayState.RUNNING)
        with gateway(provider, bot_id) as client:
            assert client.config_get().source["ui"]["seamColor"] == "#333333"
    finally:
        provider.delete(bot_id)


@pytest.mark.parametrize("kind, error, retryable", [("throttle", Throttled, True), ("invalid", InvalidSpec, False)])
def test_the_targets_refusals_are_typed_retryable_or_permanent(harness, kind, error, retryable):
    if harness.fail_next is None:
        pytest.skip(f"{harness.target} has no remote API to refuse")
    bot_id = new_bot(harness)
    harness.fail_next(kind)
    with pytest.raises(error) as refused:
        harness.provider.create(GatewaySpec(bot_id))
    assert refused.value.retryable is retryable
    harness.provider.delete(bot_id)  # whatever the refused create left is removable
