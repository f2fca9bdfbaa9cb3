"""WebSocket transport behaviour the contract suite cannot provoke on demand: retry while the gateway
starts, a silent (dead) link, out-of-order responses, a full event queue. Loopback only."""

from __future__ import annotations

import json
import threading
import time

import pytest
from websockets.sync.server import serve

from clawster.gateway import ConnectionLost, GatewayClient, GatewayUnavailable, WebSocketTransport
from tests.fakes.fake_gateway import FakeGateway


def test_connect_retries_while_the_gateway_is_starting():
    with FakeGateway("t", startup_unavailable_connects=2, retry_after_ms=50) as fake:
        started = time.monotonic()
        transport = WebSocketTransport(fake.ws_url, token="t", connect_timeout_s=10)
        assert transport.connect()["type"] == "hello-ok"
        transport.close()
    assert time.monotonic() - started >= 0.1  # two waits of retryAfterMs


def test_connect_gives_up_with_unavailable_after_its_budget():
    with FakeGateway("t", startup_unavailable_connects=1000, retry_after_ms=50) as fake:
        transport = WebSocketTransport(fake.ws_url, token="t", connect_timeout_s=0.5)
        with pytest.raises(GatewayUnavailable) as caught:
            transport.connect()
    assert caught.value.retryable


class ScriptedGateway:
    """A minimal server: completes the handshake, then runs `script(ws, requests)` for the test."""

    def __init__(self, script, tick_ms: int = 30_000):
        self.script, self.tick_ms = script, tick_ms
        self.server = serve(self._handle, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handle(self, ws):
        ws.send(json.dumps({"type": "event", "event": "connect.challenge", "payload": {"nonce": "n", "ts": 1}}))
        connect = json.loads(ws.recv())
        hello = {"type": "hello-ok", "protocol": 4, "auth": {"role": "operator", "scopes": []},
                 "policy": {"tickIntervalMs": self.tick_ms}}
        ws.send(json.dumps({"type": "res", "id": connect["id"], "ok": True, "payload": hello}))
        self.script(ws)

    def close(self):
        self.server.shutdown()


def test_a_silent_link_is_declared_dead_after_two_ticks():
    gateway = ScriptedGateway(lambda ws: time.sleep(2), tick_ms=100)
    transport = WebSocketTransport(gateway.url, token="t")
    transport.connect()
    started = time.monotonic()
    with pytest.raises(ConnectionLost, match="dead link"):
        transport.call("health", timeout_s=5)
    assert time.monotonic() - started < 2
    gateway.close()


def test_responses_are_matched_by_id_even_out_of_order():
    def answer_in_reverse(ws):
        first, second = json.loads(ws.recv()), json.loads(ws.recv())
        for request in (second, first):
            ws.send(json.dumps({"type": "res", "id": request["id"], "ok": True, "payload": {"method": request["method"]}}))
        time.sleep(1)

    gateway = ScriptedGateway(answer_in_reverse)
    transport = WebSocketTransport(gateway.url, token="t")
    transport.connect()
    results = {}
    threads = [threading.Thread(target=lambda m=m: results.update({m: transport.call(m)})) for m in ("health", "status")]
    threads[0].start()
    time.sleep(0.1)  # "health" is sent first, answered last
    threads[1].start()
    for t in threads:
        t.join(5)
    assert results == {"health": {"method": "health"}, "status": {"method": "status"}}
    gateway.close()


def test_a_full_event_queue_drops_the_oldest_event():
    def flood(ws):
        for n in range(5):
            ws.send(json.dumps({"type": "event", "event": "presence", "payload": {"n": n}}))
        time.sleep(1)

    gateway = ScriptedGateway(flood)
    transport = WebSocketTransport(gateway.url, token="t", max_events=3)
    seen = []
    transport.subscribe(seen.append)
    transport.connect()
    time.sleep(0.3)
    queued = [transport.next_event(0.5)["payload"]["n"] for _ in range(3)]
    assert queued == [2, 3, 4] and len(seen) == 5
    gateway.close()


def test_the_client_reconnects_after_the_gateway_closed_the_link():
    with FakeGateway("t") as fake:
        client = GatewayClient(WebSocketTransport(fake.ws_url, token="t"))
        assert client.health()["ok"]
        first_conn = client.transport.hello["server"]["connId"]
        client.transport.close()  # as after a 1012 restart: the next call opens a new link
        assert client.health()["ok"]
        assert client.transport.hello["server"]["connId"] != first_conn


def test_a_link_reset_during_the_opening_handshake_is_unavailable(monkeypatch):
    """A gateway restarting as we connect can reset the TCP link mid-handshake: websockets then raises
    ConnectionClosedError (seen in CI against a real gateway). That is the retryable GatewayUnavailable, like any
    other link that would not open, and a connect with retries tries again."""
    from websockets.exceptions import ConnectionClosedError

    from clawster.gateway import websocket

    real_connect, resets = websocket.connect, []

    def reset_once(*args, **kwargs):
        if not resets:
            resets.append(1)
            try:
                raise ConnectionResetError(104, "Connection reset by peer")
            except ConnectionResetError as reset:
                raise ConnectionClosedError(None, None) from reset
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(websocket, "connect", reset_once)
    with FakeGateway("t") as fake:
        with pytest.raises(GatewayUnavailable) as caught:
            WebSocketTransport(fake.ws_url, token="t").connect(retry=False)
        assert caught.value.retryable and "cannot open" in caught.value.message
        resets.clear()
        transport = WebSocketTransport(fake.ws_url, token="t", connect_timeout_s=10)
        assert transport.connect()["type"] == "hello-ok"  # retried past the reset
        transport.close()
