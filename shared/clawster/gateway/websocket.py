"""The WebSocket protocol v4 transport (sync API over a reader thread, so Lambdas and CLIs can use it).

Handshake: wait for `connect.challenge`, send `connect` (shared token as gateway-client/backend, or an
Ed25519 device identity), keep the issued deviceToken. Then requests are matched to responses by id
(they may arrive out of order), `agent`-style methods send two responses ("accepted", then final),
events are queued, and 2x tickIntervalMs of silence is a dead link. UNAVAILABLE on connect (close
1013, "gateway starting") is retried after retryAfterMs with a capped backoff.
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from .device import DeviceIdentity
from .errors import ConnectionLost, GatewayError, GatewayUnavailable, ProtocolMismatch, from_error

log = logging.getLogger(__name__)

PROTOCOL = 4
OPERATOR_SCOPES = ("operator.admin", "operator.read", "operator.write", "operator.approvals", "operator.pairing")
CLIENT_VERSION = "clawster-0.1"
DEFAULT_TICK_MS = 30_000
_CLOSED = object()  # put on a pending queue when the link dies


class WebSocketTransport:
    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        device: DeviceIdentity | None = None,
        device_token: str | None = None,
        client_id: str = "gateway-client",
        client_mode: str = "backend",
        client_info: dict[str, str] | None = None,
        scopes: tuple[str, ...] = OPERATOR_SCOPES,
        connect_timeout_s: float = 30.0,
        max_backoff_s: float = 5.0,
        max_events: int = 1000,
        protocol: int = PROTOCOL,
    ):
        self.url = url
        self._token = token
        self.device = device
        self.device_token = device_token
        # client_info adds or overrides connect.client fields the gateway knows (displayName, timeZone, buildId, ...)
        self.client = {"id": client_id, "version": CLIENT_VERSION, "platform": "linux", "mode": client_mode,
                       **(client_info or {})}
        self.scopes = list(scopes)
        self.protocol = protocol
        self.connect_timeout_s = connect_timeout_s
        self.max_backoff_s = max_backoff_s
        self.hello: dict | None = None
        self.close_code: int | None = None
        self._ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._pending: dict[str, queue.Queue] = {}
        self._lock = threading.Lock()
        self._events: queue.Queue = queue.Queue(maxsize=max_events)
        self._listeners: list[Callable[[dict], None]] = []

    def __repr__(self) -> str:  # never the token
        return f"WebSocketTransport({self.url!r})"

    # -- connection ---------------------------------------------------------------------------
    def connect(self, *, retry: bool = True) -> dict:
        """Handshake (retrying while the gateway is starting, unless `retry` is False); returns hello-ok."""
        deadline = time.monotonic() + self.connect_timeout_s
        delay = 0.25
        while True:
            try:
                return self._connect_once(deadline)
            except GatewayUnavailable as error:
                wait = max((error.retry_after_ms or 0) / 1000, delay)
                if not retry or time.monotonic() + wait > deadline:
                    raise
                log.info("gateway unavailable (%s); retrying in %.2fs", error.message, wait)
                time.sleep(wait)
                delay = min(delay * 2, self.max_backoff_s)

    def _connect_once(self, deadline: float) -> dict:
        try:
            ws = connect(self.url, open_timeout=max(0.1, deadline - time.monotonic()), compression=None, max_size=None)
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI, ConnectionClosed) as error:
            # ConnectionClosed: the gateway reset the link during the opening handshake (it was restarting)
            raise GatewayUnavailable(f"cannot open {self.url}: {error}") from error
        try:
            challenge = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if challenge.get("event") != "connect.challenge":
                raise ProtocolMismatch(f"expected connect.challenge, got {challenge.get('event') or challenge.get('type')}")
            ws.send(json.dumps({"type": "req", "id": "c1", "method": "connect", "params": self._connect_params(challenge)}))
            while True:
                frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                if frame.get("type") == "res" and frame.get("id") == "c1":
                    break
        except (ConnectionClosed, TimeoutError) as error:
            ws.close()
            raise GatewayUnavailable(f"handshake with {self.url} did not complete: {error}") from error
        except GatewayError:
            ws.close()
            raise
        if not frame.get("ok"):
            ws.close()
            raise from_error(frame.get("error") or {})
        hello = frame["payload"]
        self.device_token = (hello.get("auth") or {}).get("deviceToken") or self.device_token
        self.hello, self._ws, self.close_code = hello, ws, None
        threading.Thread(target=self._read_loop, args=(ws, self._tick_ms()), name="gateway-ws-reader", daemon=True).start()
        return hello

    def _connect_params(self, challenge: dict) -> dict:
        # The shared token when we have one; otherwise the deviceToken a previous hello-ok issued.
        if self._token:
            auth = {"token": self._token}
        elif self.device_token:
            auth = {"deviceToken": self.device_token}
        else:
            auth = {}
        params: dict[str, Any] = {
            "minProtocol": self.protocol,
            "maxProtocol": self.protocol,
            "client": self.client,
            "role": "operator",
            "scopes": self.scopes,
            "caps": [],
            "auth": auth,
            "locale": "en-US",
            "userAgent": "clawster/0.1",
        }
        if self.device:
            nonce = challenge["payload"]["nonce"]
            params["device"] = self.device.connect_block(
                client=self.client, role="operator", scopes=self.scopes,
                auth_secret=next(iter(auth.values()), ""), nonce=nonce, signed_at_ms=int(challenge["payload"]["ts"]),
            )
        return params

    def _tick_ms(self) -> int:
        return int(((self.hello or {}).get("policy") or {}).get("tickIntervalMs") or DEFAULT_TICK_MS)

    @property
    def connected(self) -> bool:
        return self._ws is not None

    def close(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            ws.close()

    # -- reading ------------------------------------------------------------------------------
    def _read_loop(self, ws: ClientConnection, tick_ms: int) -> None:
        reason = "closed"
        try:
            while True:
                try:
                    raw = ws.recv(timeout=2 * tick_ms / 1000)
                except TimeoutError:
                    reason = f"no frame for {2 * tick_ms} ms (2x tickIntervalMs): dead link"
                    ws.close(code=1001, reason="dead link")
                    break
                self._dispatch(json.loads(raw))
        except ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd else None
            reason = f"closed ({self.close_code}: {closed.rcvd.reason if closed.rcvd else ''})"
        if self._ws is ws:
            self._ws = None
        with self._lock:
            pending, self._pending = self._pending, {}
        for q in pending.values():
            q.put((_CLOSED, reason))

    def _dispatch(self, frame: dict) -> None:
        if frame.get("type") == "res":
            with self._lock:
                q = self._pending.get(frame.get("id"))
            if q is not None:
                q.put((frame, None))
        elif frame.get("type") == "event":
            if frame.get("event") == "tick":
                return  # its only job is to keep the link alive (recv above just saw it)
            for listener in list(self._listeners):
                listener(frame)
            try:
                self._events.put_nowait(frame)
            except queue.Full:  # a slow consumer loses the oldest event, never blocks the reader
                self._events.get_nowait()
                self._events.put_nowait(frame)

    def subscribe(self, listener: Callable[[dict], None]) -> None:
        """Call `listener(event_frame)` on the reader thread for every event (keep it quick)."""
        self._listeners.append(listener)

    def next_event(self, timeout_s: float = 5.0, name: str | None = None) -> dict | None:
        """The next queued event (optionally the next one called `name`), or None on timeout."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = self._events.get(timeout=left)
            except queue.Empty:
                return None
            if name is None or frame.get("event") == name:
                return frame
        return None

    # -- requests -----------------------------------------------------------------------------
    def call(
        self,
        method: str,
        params: dict | None = None,
        *,
        expect_final: bool = False,
        timeout_s: float = 30.0,
        on_accepted: Callable[[dict], None] | None = None,
    ) -> Any:
        """Send one request and wait for its (final) response payload."""
        if self._ws is None:
            self.connect()
        request_id = f"r{next(self._ids)}"
        q: queue.Queue = queue.Queue()
        with self._lock:
            self._pending[request_id] = q
        frame: dict[str, Any] = {"type": "req", "id": request_id, "method": method}
        if params is not None:
            frame["params"] = params
        try:
            ws = self._ws
            if ws is None:
                raise ConnectionLost("link closed before the request was sent")
            try:
                ws.send(json.dumps(frame))
            except ConnectionClosed as error:
                raise ConnectionLost(f"link closed while sending {method}") from error
            return self._await(method, q, expect_final, timeout_s, on_accepted)
        finally:
            with self._lock:
                self._pending.pop(request_id, None)

    def _await(self, method, q: queue.Queue, expect_final: bool, timeout_s: float, on_accepted) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                frame, reason = q.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise GatewayUnavailable(f"{method}: no response within {timeout_s}s", code="TIMEOUT") from None
            if frame is _CLOSED:
                raise ConnectionLost(f"{method}: link {reason}", code="CONNECTION_LOST")
            if not frame.get("ok"):
                raise from_error(frame.get("error") or {})
            payload = frame.get("payload")
            if expect_final and isinstance(payload, dict) and payload.get("status") == "accepted":
                if on_accepted:
                    on_accepted(payload)
                continue  # the same id answers again with the final result
            return payload
