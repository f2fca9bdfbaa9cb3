"""A local API Gateway WebSocket API (the stream API) and its `@connections` management endpoint.

As the deployed API does, it:
- runs the catalog's $connect authorizer function on every handshake (a REQUEST authorizer event;
  an "Unauthorized" failure answers the handshake 401, a Deny policy 403), then the $connect function
  with the authorizer's context (a non-2xx result, or a failure, refuses the handshake too); the
  Sec-WebSocket-Protocol the $connect function returns is the one the handshake selects;
- routes each message by the route selection expression `$request.body.action` to the catalog's
  route, else to $default, and sends a route's result body back on the socket when the route replies;
- runs $disconnect when a connection closes, whoever closed it;
- serves `@connections/{id}` (POST sends, GET describes, DELETE closes) on its own HTTP port, with 410
  GoneException for a connection that is unknown or closed, as API Gateway's management API does.

The WebSocket side runs on an asyncio loop in its own thread; functions run through LocalFunction.invoke
in worker threads, never on the loop.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from functions import catalog

from .issuer import Issuer
from .lambda_runtime import LocalFunction
from .ports import BACKLOG, PortUnavailable, listen

log = logging.getLogger("local.ws")

STAGE = "local"
API_ID = "clawsterlocalws"
ACCOUNT = "123456789012"
MAX_MESSAGE = 128 * 1024  # API Gateway's WebSocket message limit (frames of 32 KB at most)
POST_TIMEOUT_S = 10


@dataclass
class _Conn:
    """One open connection, as the gateway knows it."""

    id: str
    socket: ServerConnection
    authorizer: dict[str, Any]
    source_ip: str
    user_agent: str
    connected_at: float = field(default_factory=time.time)
    last_active_at: float = field(default_factory=time.time)


class LocalWebSocketApi:
    def __init__(self, functions: dict[str, LocalFunction], issuer: Issuer, host: str = "127.0.0.1", port: int = 8788,
                 management_port: int = 0):
        self.functions, self.issuer, self.host = functions, issuer, host
        self.routes = {route.route_key: (functions[f.name], route) for f, route in catalog.websocket_routes()}
        spec = catalog.websocket_authorizer()
        self.authorizer = functions[spec.name] if spec else None
        self._sock = listen(host, port, "WebSocket API", "--ws-port")
        self.port = self._sock.getsockname()[1]
        self.connections: dict[str, _Conn] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self.management = _ManagementServer(self, host, management_port)

    # -- what callers read -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def management_url(self) -> str:
        """The endpoint a `apigatewaymanagementapi` client is given (WS_MANAGEMENT_ENDPOINT)."""
        return f"{self.management.url}/{STAGE}"

    @property
    def jwks_url(self) -> str:
        return f"{self.management.url}/.well-known/jwks.json"

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        self.management.start()
        self._thread = threading.Thread(target=self._run, name="ws-api", daemon=True)
        self._thread.start()
        if not self._started.wait(30):
            raise RuntimeError("the local WebSocket API did not start")

    def stop(self) -> None:
        """Close every connection (each gets its $disconnect), then stop serving."""
        if self._loop and self._server:
            future = asyncio.run_coroutine_threadsafe(self._close(), self._loop)
            try:
                future.result(timeout=60)
            except Exception:  # noqa: BLE001
                log.warning("the WebSocket API did not close cleanly", exc_info=True)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(timeout=10)
        self.management.stop()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(self._serve())
        self._started.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    async def _serve(self) -> Server:
        return await serve(self._session, sock=self._sock, process_response=self._handshake, max_size=MAX_MESSAGE,
                           ping_interval=None, server_header=None, compression=None)

    async def _close(self) -> None:
        assert self._server
        self._server.close(close_connections=True)
        await self._server.wait_closed()

    # -- the handshake: authorizer, then $connect ----------------------------------------------------

    async def _handshake(self, socket: ServerConnection, request: Request, response: Response) -> Response | None:
        if response.status_code != 101:
            return None
        connection_id = _new_connection_id()
        query = _query(request.path)
        headers = {name: value for name, value in request.headers.raw_items()}
        source_ip = str(socket.remote_address[0]) if socket.remote_address else "127.0.0.1"
        context = self._request_context("$connect", "CONNECT", connection_id, source_ip, headers)
        authorizer: dict[str, Any] = {}
        if self.authorizer is not None:
            event = {"type": "REQUEST", "methodArn": f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{API_ID}/{STAGE}/$connect",
                     "headers": headers, "multiValueHeaders": _multi(request.headers),
                     "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
                     "multiValueQueryStringParameters": query or None, "stageVariables": None,
                     "requestContext": context}
            try:
                policy = await asyncio.to_thread(self.authorizer.invoke, event)
            except Exception as error:  # noqa: BLE001
                unauthorized = str(error) == "Unauthorized"
                if not unauthorized:
                    log.exception("the $connect authorizer failed")
                return _refuse(socket, 401 if unauthorized else 500, "Unauthorized" if unauthorized else
                               "Internal server error")
            if not _allows(policy):
                return _refuse(socket, 403, "Forbidden")
            authorizer = {**(policy.get("context") or {}), "principalId": policy.get("principalId")}
        context["authorizer"] = authorizer
        route = self.routes.get("$connect")
        if route is not None:
            event = {"headers": headers, "multiValueHeaders": _multi(request.headers),
                     "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
                     "multiValueQueryStringParameters": query or None, "requestContext": context,
                     "isBase64Encoded": False}
            try:
                result = await asyncio.to_thread(route[0].invoke, event)
            except Exception:  # noqa: BLE001
                log.exception("$connect failed")
                return _refuse(socket, 502, "Internal server error")
            status = result.get("statusCode", 200) if isinstance(result, dict) else 200
            if not 200 <= int(status) < 300:
                return _refuse(socket, int(status), "Forbidden")
            chosen = ((result.get("headers") or {}) if isinstance(result, dict) else {}).get("Sec-WebSocket-Protocol")
            if "Sec-WebSocket-Protocol" in response.headers:
                del response.headers["Sec-WebSocket-Protocol"]
            if chosen:
                response.headers["Sec-WebSocket-Protocol"] = chosen
        user_agent = headers.get("User-Agent", "")
        socket.clawster = _Conn(connection_id, socket, authorizer, source_ip, user_agent)  # type: ignore[attr-defined]
        with self._lock:
            self.connections[connection_id] = socket.clawster  # type: ignore[attr-defined]
        return None

    # -- an open connection: messages, then $disconnect ----------------------------------------------

    async def _session(self, socket: ServerConnection) -> None:
        conn: _Conn = socket.clawster  # type: ignore[attr-defined]
        try:
            async for message in socket:
                conn.last_active_at = time.time()
                await self._message(conn, message)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self.connections.pop(conn.id, None)
            await self._disconnect(conn, socket)

    async def _message(self, conn: _Conn, message: str | bytes) -> None:
        text = message if isinstance(message, str) else None
        route_key = _route_key(text, self.routes)
        if route_key is None:
            await _send(conn.socket, json.dumps({"message": "Forbidden", "connectionId": conn.id,
                                                 "requestId": str(uuid.uuid4())}))
            return
        function, route = self.routes[route_key]
        context = self._request_context(route_key, "MESSAGE", conn.id, conn.source_ip, None, conn)
        event = {"requestContext": context, "isBase64Encoded": text is None,
                 "body": text if text is not None else base64.b64encode(message).decode()}  # type: ignore[arg-type]
        try:
            result = await asyncio.to_thread(function.invoke, event)
        except Exception:  # noqa: BLE001
            log.exception("%s failed on route %s", function.name, route_key)
            await _send(conn.socket, json.dumps({"message": "Internal server error", "connectionId": conn.id,
                                                 "requestId": context["requestId"]}))
            return
        if route.replies and isinstance(result, dict) and result.get("body"):
            body = result["body"]
            await _send(conn.socket, base64.b64decode(body) if result.get("isBase64Encoded") else body)

    async def _disconnect(self, conn: _Conn, socket: ServerConnection) -> None:
        route = self.routes.get("$disconnect")
        if route is None:
            return
        context = self._request_context("$disconnect", "DISCONNECT", conn.id, conn.source_ip, None, conn)
        context["disconnectStatusCode"] = socket.close_code
        context["disconnectReason"] = socket.close_reason or ""
        try:
            await asyncio.to_thread(route[0].invoke, {"requestContext": context, "isBase64Encoded": False})
        except Exception:  # noqa: BLE001  # as on AWS: $disconnect is best effort
            log.exception("$disconnect failed")

    def _request_context(self, route_key: str, event_type: str, connection_id: str, source_ip: str,
                         headers: dict[str, str] | None, conn: _Conn | None = None) -> dict[str, Any]:
        now = datetime.now(UTC)
        request_id = str(uuid.uuid4())
        context: dict[str, Any] = {
            "routeKey": route_key, "eventType": event_type, "messageDirection": "IN",
            "extendedRequestId": request_id, "requestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"), "requestTimeEpoch": int(now.timestamp() * 1000),
            "stage": STAGE, "domainName": f"{self.host}:{self.port}", "apiId": API_ID, "connectionId": connection_id,
            "connectedAt": int((conn.connected_at if conn else now.timestamp()) * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": (headers or {}).get("User-Agent")
                         or (conn.user_agent if conn else None)},
        }
        if event_type == "MESSAGE":
            context["messageId"] = base64.b64encode(os.urandom(9)).decode()
        if conn is not None:
            context["authorizer"] = conn.authorizer
        return context

    # -- @connections (called on the management server's threads) -----------------------------------

    def find(self, connection_id: str) -> _Conn | None:
        with self._lock:
            conn = self.connections.get(connection_id)
        return conn if conn is not None and conn.socket.close_code is None else None

    def post(self, connection_id: str, data: bytes) -> bool:
        conn = self.find(connection_id)
        if conn is None or self._loop is None:
            return False
        try:
            text = data.decode()
        except UnicodeDecodeError:
            payload: str | bytes = data
        else:
            payload = text
        future = asyncio.run_coroutine_threadsafe(conn.socket.send(payload), self._loop)
        try:
            future.result(timeout=POST_TIMEOUT_S)
        except ConnectionClosed:
            return False
        return True

    def close(self, connection_id: str) -> bool:
        conn = self.find(connection_id)
        if conn is None or self._loop is None:
            return False
        asyncio.run_coroutine_threadsafe(conn.socket.close(1000, "closed by @connections DELETE"), self._loop)
        return True


def _new_connection_id() -> str:
    """Like API Gateway's: 12 characters of base64 ending in "=" (URL-safe, so it fits a path)."""
    return base64.urlsafe_b64encode(os.urandom(8)).decode().rstrip("=")[:11] + "="


def _query(path: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(path).query, keep_blank_values=True)


def _multi(headers: Headers) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in headers.raw_items():
        found.setdefault(name, []).append(value)
    return found


def _allows(policy: Any) -> bool:
    """An Allow statement for execute-api:Invoke on $connect and no Deny, as API Gateway reads the policy."""
    if not isinstance(policy, dict) or not policy.get("principalId"):
        return False
    statements = (policy.get("policyDocument") or {}).get("Statement") or []
    statements = statements if isinstance(statements, list) else [statements]
    effects = {str(s.get("Effect")) for s in statements if isinstance(s, dict)}
    return "Allow" in effects and "Deny" not in effects


def _refuse(socket: ServerConnection, status: int, message: str) -> Response:
    response = socket.respond(status, json.dumps({"message": message}))
    response.headers["Content-Type"] = "application/json"
    return response


def _route_key(text: str | None, routes: dict[str, Any]) -> str | None:
    """$request.body.action: the route named by the JSON body's `action`, else $default (if there is one)."""
    action = None
    if text is not None:
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("action"), str):
            action = body["action"]
    if action is not None and not action.startswith("$") and action in routes:
        return action
    return "$default" if "$default" in routes else None


async def _send(socket: ServerConnection, payload: str | bytes) -> None:
    try:
        await socket.send(payload)
    except ConnectionClosed:
        pass


# -- the management endpoint -------------------------------------------------------------------------

_CONNECTION_PATH = re.compile(r"^(?:/[^/@%]+)?/(?:@|%40)connections/([^/]+)$")


class _ManagementServer:
    """`@connections` (POST / GET / DELETE) as API Gateway's management API answers it, and the local
    issuer's JWKS (the authorizer fetches keys from it, as it fetches Cognito's on AWS)."""

    def __init__(self, api: LocalWebSocketApi, host: str, port: int):
        self.api = api
        handler = type("ManagementHandler", (_ManagementHandler,), {"api": api})
        try:
            self.server = _HttpServer((host, port), handler)
        except OSError as error:
            raise PortUnavailable("@connections", host, port, "--ws-port", error) from None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name="ws-management", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _HttpServer(ThreadingHTTPServer):
    request_queue_size = BACKLOG
    daemon_threads = True


class _ManagementHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api: LocalWebSocketApi

    def do_GET(self) -> None:  # noqa: N802
        if urlsplit(self.path).path == "/.well-known/jwks.json":
            self._answer(200, self.api.issuer.jwks())
            return
        conn = self._connection()
        if conn is not None:
            self._answer(200, {"connectedAt": _iso(conn.connected_at), "lastActiveAt": _iso(conn.last_active_at),
                               "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent}})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length)
        connection_id = self._connection_id()
        if connection_id is None:
            return
        if length > MAX_MESSAGE:
            self._answer(413, {"message": "Message too long"}, "PayloadTooLargeException")
        elif self.api.post(connection_id, data):
            self._answer(200, None)
        else:
            self._gone()

    def do_DELETE(self) -> None:  # noqa: N802
        connection_id = self._connection_id()
        if connection_id is None:
            return
        if self.api.close(connection_id):
            self._answer(204, None)
        else:
            self._gone()

    def _connection_id(self) -> str | None:
        found = _CONNECTION_PATH.match(urlsplit(self.path).path)
        if not found:
            self._answer(404, {"message": "Not Found"}, "NotFoundException")
            return None
        return unquote(found.group(1))

    def _connection(self) -> _Conn | None:
        connection_id = self._connection_id()
        if connection_id is None:
            return None
        conn = self.api.find(connection_id)
        if conn is None:
            self._gone()
        return conn

    def _gone(self) -> None:
        self._answer(410, {"message": None}, "GoneException")

    def _answer(self, status: int, body: Any, error_type: str | None = None) -> None:
        raw = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")
