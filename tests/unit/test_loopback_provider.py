"""The loopback provider over a fake gateway: it describes it, writes a bot's whole config with the gateway's
own access kept (its token stays, redacted on the way), waits out the write limit, and leaves the rest to the
gateway's owner."""

from __future__ import annotations

import json

import pytest

from layers.providers.base import GatewaySpec, GatewayState, GatewayUpdate
from layers.providers.errors import GatewayNotFound, UnsupportedChange
from layers.providers.loopback import LoopbackProvider
from tests.fakes.fake_gateway import FakeGateway


@pytest.fixture
def provider(tmp_path):
    with FakeGateway("loop-token", write_limit=1, write_window_ms=800) as fake:
        token = tmp_path / "token"
        token.write_text(fake.token)
        token.chmod(0o600)
        inventory = tmp_path / "inventory.json"
        inventory.write_text(json.dumps({"bot-1": {"http_url": fake.http_url, "ws_url": fake.ws_url,
                                                   "token_ref": f"file:{token}"}}))
        yield LoopbackProvider(inventory), fake


def test_it_describes_and_writes_a_config_keeping_the_gateways_access(provider):
    loopback, fake = provider
    assert loopback.describe("bot-1").state is GatewayState.RUNNING
    config = {"gateway": {"mode": "local"}, "ui": {"seamColor": "#101010"}}
    assert loopback.update("bot-1", GatewayUpdate(config=config)).state is GatewayState.RUNNING
    assert fake.config["ui"]["seamColor"] == "#101010" and fake.token == "loop-token"
    # A second write within the window (limit 1) is delayed as the gateway says, not refused.
    loopback.update("bot-1", GatewayUpdate(config={**config, "ui": {"seamColor": "#202020"}}))
    assert fake.config["ui"]["seamColor"] == "#202020"
    assert loopback.live_config("bot-1").hash == fake.config_hash


def test_what_it_does_not_own_is_refused(provider):
    loopback, _ = provider
    with pytest.raises(GatewayNotFound):
        loopback.describe("nobody")
    with pytest.raises(UnsupportedChange):
        loopback.create(GatewaySpec("bot-2"))
    with pytest.raises(UnsupportedChange):
        loopback.update("bot-1", GatewayUpdate(openclaw_version="2026.9.5"))
