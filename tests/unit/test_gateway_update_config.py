"""update_config waits out the gateway's write rate limit (RateLimited + retry_after_ms) within its
deadline, against the fake with a low limit and a short window (the real one's is 30 per 60 s)."""

from __future__ import annotations

import time

import pytest

from clawster.gateway import AdminRpcTransport, GatewayClient, RateLimited, WebSocketTransport
from tests.fakes.fake_gateway import FakeGateway

LIMIT, WINDOW_MS = 3, 1500


@pytest.fixture
def fake():
    with FakeGateway("t", write_limit=LIMIT, write_window_ms=WINDOW_MS) as gateway:
        yield gateway


def recording_sleep(waits: list[float]):
    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)
    return sleep


def exhaust(client: GatewayClient) -> RateLimited:
    for n in range(LIMIT):
        client.config_patch({"ui": {"seamColor": f"#00000{n}"}}, base_hash=client.config_get().hash)
    with pytest.raises(RateLimited) as caught:
        client.config_patch({"ui": {"seamColor": "#0000ff"}}, base_hash=client.config_get().hash)
    return caught.value


def test_a_rate_limited_write_is_retried_after_the_time_the_gateway_names(fake):
    client = GatewayClient(AdminRpcTransport(fake.http_url, "t"))
    limited = exhaust(client)
    assert 0 < limited.retry_after_ms <= WINDOW_MS and limited.details["limit"] == f"{LIMIT} per 1s"
    waits: list[float] = []
    write = client.update_config({"ui": {"seamColor": "#123456"}}, deadline_s=30, sleep=recording_sleep(waits))
    assert fake.config["ui"]["seamColor"] == "#123456" and write.hash == fake.config_hash
    assert len(waits) == 1 and limited.retry_after_ms / 1000 - 0.5 <= waits[0] <= WINDOW_MS / 1000 + 0.5


def test_the_wait_does_not_count_as_a_conflict_attempt(fake):
    client = GatewayClient(AdminRpcTransport(fake.http_url, "t"))
    exhaust(client)
    waits: list[float] = []
    client.update_config({"ui": {"seamColor": "#654321"}}, attempts=1, deadline_s=30, sleep=recording_sleep(waits))
    assert fake.config["ui"]["seamColor"] == "#654321" and waits


def test_a_wait_past_the_deadline_raises_at_once_and_writes_nothing(fake):
    client = GatewayClient(AdminRpcTransport(fake.http_url, "t"))
    exhaust(client)
    before, waits = fake.config_hash, []
    with pytest.raises(RateLimited) as caught:
        client.update_config({"ui": {"seamColor": "#abcdef"}}, deadline_s=0.1, sleep=recording_sleep(waits))
    assert waits == [] and caught.value.retryable and fake.config_hash == before


def test_each_caller_has_its_own_budget_and_the_window_resets(fake):
    http = GatewayClient(AdminRpcTransport(fake.http_url, "t"))
    limited = exhaust(http)
    with GatewayClient(WebSocketTransport(fake.ws_url, token="t")) as ws:  # another connection: another budget
        ws.config_patch({"ui": {"seamColor": "#111111"}}, base_hash=ws.config_get().hash)
    deadline = time.monotonic() + 30
    while True:  # the window ends on the gateway's clock: poll until it lets a write through
        try:
            http.config_patch({"ui": {"seamColor": "#222222"}}, base_hash=http.config_get().hash)
            break
        except RateLimited as error:
            assert time.monotonic() < deadline, error
            time.sleep(min(0.05, error.retry_after_ms / 1000))
    assert limited.retry_after_ms <= WINDOW_MS


def exhaust_apply(client: GatewayClient, config: dict) -> RateLimited:
    """The limit is per method: spend config.apply's budget."""
    for n in range(LIMIT):
        client.config_apply({**config, "ui": {"seamColor": f"#00000{n}"}}, base_hash=client.config_get().hash)
    with pytest.raises(RateLimited) as caught:
        client.config_apply(config, base_hash=client.config_get().hash)
    return caught.value


def test_a_whole_config_apply_waits_out_the_limit_too(fake):
    """The apply workflow (and so every rollout) writes with apply_config: the limit delays it, never fails it."""
    client = GatewayClient(AdminRpcTransport(fake.http_url, "t"))
    config = {**fake.config, "ui": {"seamColor": "#0a0b0c"}}
    limited = exhaust_apply(client, config)
    waits: list[float] = []
    write = client.apply_config(config, deadline_s=30, sleep=recording_sleep(waits))
    assert fake.config["ui"]["seamColor"] == "#0a0b0c" and write.hash == fake.config_hash
    assert len(waits) == 1 and limited.retry_after_ms / 1000 - 0.5 <= waits[0] <= WINDOW_MS / 1000 + 0.5
    with pytest.raises(RateLimited):  # the budget of the window the wait opened, spent
        for _ in range(LIMIT + 1):
            client.config_apply(config, base_hash=client.config_get().hash)
    with pytest.raises(RateLimited):  # past its deadline it raises (retryable), and writes nothing
        client.apply_config({**config, "ui": {"seamColor": "#ffffff"}}, deadline_s=0.1, sleep=recording_sleep([]))
    assert fake.config["ui"]["seamColor"] != "#ffffff"
