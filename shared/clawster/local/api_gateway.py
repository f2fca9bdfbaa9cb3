"""A local API Gateway (REST, proxy integration) in front of the catalog's functions.

Like the deployed API it matches the request to a catalog route, runs the authorizer (the local
issuer instead of Cognito) on every non-public route, hands the function a REST proxy event with
the token's claims in requestContext.authorizer.claims, and turns a handler exception or a
malformed result into 502 {"message": "Internal server error"} (a throttled invocation into 500, as
API Gateway answers when Lambda refuses the invocation with a 429).

Many clients at once are queued by a real listen backlog, and a request whose body framing is
unusable (a bad or conflicting Content-Length, a body that stops arriving, an unknown
Transfer-Encoding) gets a JSON error and a closed connection, never a hang.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

from functions import catalog

from .console_site import ConsoleSite
from .hosted_ui import LocalHostedUi
from .issuer import InvalidToken, Issuer
from .lambda_runtime import LocalFunction, TooManyRequestsException
from .ports import BACKLOG, PortUnavailable

log = logging.getLogger("local.api")

STAGE = "local"
API_ID = "clawsterlocal"
MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class Route:
    def __init__(self, function: LocalFunction, route: catalog.RestRoute):
        self.function, self.route = function, route
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path))
        self.regex = re.compile(f"^{pattern}$")


class Router:
    def __init__(self, functions: dict[str, LocalFunction]):
        self.routes = [Route(functions[f.name], r) for f, r in catalog.rest_routes()]
        # Literal segments beat parameters, as in API Gateway: /bots/{id}/revisions before /bots/{id}/{action}.
        self.routes.sort(key=lambda r: r.route.path.count("{"))

    def resource(self, path: str) -> str | None:
        """The resource (path template) a path selects: the most specific one that matches, as API
        Gateway picks it before looking at the method (POST .../revisions is that resource's, not
        .../{action}'s)."""
        return next((candidate.route.path for candidate in self.routes if candidate.regex.match(path)), None)

    def methods(self, path: str) -> list[str]:
        """The methods the path's resource has."""
        resource = self.resource(path)
        return sorted({candidate.route.method for candidate in self.routes if candidate.route.path == resource})

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, path parameters, whether the path's resource exists under another method)."""
        resource = self.resource(path)
        for candidate in self.routes:
            if candidate.route.path == resource and candidate.route.method == method:
                found = candidate.regex.match(path)
                return candidate, {k: unquote(v) for k, v in found.groupdict().items()}, True
        return None, {}, resource is not None


def proxy_event(route: catalog.RestRoute, method: str, raw_path: str, params: dict[str, str],
                headers: list[tuple[str, str]], body: bytes, claims: dict[str, Any] | None,
                source_ip: str) -> dict[str, Any]:
    """The REST API proxy integration event (v1), with every field Powertools' model requires."""
    split = urlsplit(raw_path)
    query = parse_qs(split.query, keep_blank_values=True)
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        single_headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    is_text = _is_text(body)
    return {
        "resource": route.path,
        "path": split.path,
        "httpMethod": method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": API_ID,
            "resourceId": route.path,
            "resourcePath": route.path,
            "httpMethod": method,
            "path": split.path,  # served at the root, like a custom domain: no "/{stage}" prefix
            "stage": STAGE,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "domainName": single_headers.get("Host", "localhost"),
            "identity": {"sourceIp": source_ip, "userAgent": single_headers.get("User-Agent"),
                         "accessKey": None, "accountId": None, "caller": None, "user": None, "userArn": None,
                         "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
                         "cognitoAuthenticationType": None, "cognitoAuthenticationProvider": None},
            "authorizer": {"claims": claims} if claims is not None else None,
        },
        "body": (body.decode() if is_text else base64.b64encode(body).decode()) if body else None,
        "isBase64Encoded": bool(body) and not is_text,
    }


def _is_text(body: bytes) -> bool:
    try:
        body.decode()
        return True
    except UnicodeDecodeError:
        return False


def _error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or {}}


# -- request body framing (RFC 9112 §6) -----------------------------------------------------------

class BadFraming(Exception):
    """The body of a request cannot be read as framed: answer `status` and close the connection."""

    def __init__(self, status: HTTPStatus, message: str, header: str):
        super().__init__(message)
        self.status, self.message, self.header = status, message, header

    def response(self) -> tuple[int, list[tuple[str, str]], bytes]:
        return _json(self.status, _error_body(_code(self.status), self.message, {"header": self.header}))


def _code(status: HTTPStatus) -> str:
    return "PAYLOAD_TOO_LARGE" if status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE else status.name


_DIGITS = re.compile(r"[0-9]{1,19}")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}")
_TOO_LARGE = "the request body is over 10 MB (API Gateway's payload limit)"


def read_body(headers: Message, rfile: BinaryIO) -> bytes:
    """The request body: chunked, or exactly Content-Length bytes, or none when neither header is
    sent (RFC 9112 §6.3; API Gateway passes such a request on with no body)."""
    encodings = [c.strip().lower() for v in headers.get_all("Transfer-Encoding") or [] for c in v.split(",")]
    lengths = [v.strip() for value in headers.get_all("Content-Length") or [] for v in value.split(",")]
    if any(encodings):
        if lengths:  # the classic request-smuggling ambiguity: refuse rather than pick one
            raise BadFraming(HTTPStatus.BAD_REQUEST, "send Content-Length or Transfer-Encoding, not both",
                             "Transfer-Encoding")
        if encodings != ["chunked"]:
            raise BadFraming(HTTPStatus.NOT_IMPLEMENTED, f"Transfer-Encoding {', '.join(encodings)!r} is not supported: "
                             "send Content-Length or Transfer-Encoding: chunked", "Transfer-Encoding")
        return _read_chunked(rfile)
    if not lengths:
        return b""
    if len(set(lengths)) > 1:
        raise BadFraming(HTTPStatus.BAD_REQUEST, f"conflicting Content-Length values {sorted(set(lengths))}",
                         "Content-Length")
    if not _DIGITS.fullmatch(lengths[0]):
        raise BadFraming(HTTPStatus.BAD_REQUEST, f"Content-Length must be a non-negative integer, not {lengths[0]!r}",
                         "Content-Length")
    length = int(lengths[0])
    if length > MAX_BODY:
        raise BadFraming(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _TOO_LARGE, "Content-Length")
    body = rfile.read(length)
    if len(body) < length:
        raise BadFraming(HTTPStatus.BAD_REQUEST, f"the body ended after {len(body)} of the {length} bytes its "
                         "Content-Length announced", "Content-Length")
    return body


def _read_chunked(rfile: BinaryIO) -> bytes:
    body = bytearray()
    while True:
        line = rfile.readline(1024)
        size_field = line.split(b";", 1)[0].strip()  # a chunk extension (";name=value") is ignored
        if not line.endswith(b"\n") or not _CHUNK_SIZE.fullmatch(size_field):
            raise BadFraming(HTTPStatus.BAD_REQUEST, f"malformed chunk size line {line[:40]!r}", "Transfer-Encoding")
        size = int(size_field, 16)
        if size == 0:
            break
        if len(body) + size > MAX_BODY:
            raise BadFraming(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _TOO_LARGE, "Transfer-Encoding")
        chunk = rfile.read(size)
        if len(chunk) < size or rfile.readline(3) not in (b"\r\n", b"\n"):
            raise BadFraming(HTTPStatus.BAD_REQUEST, "a chunk is shorter than its size line says", "Transfer-Encoding")
        body += chunk
    for _ in range(100):  # the trailer section ends with an empty line; trailers themselves are dropped
        line = rfile.readline(8192)
        if line in (b"\r\n", b"\n"):
            return bytes(body)
        if not line.endswith(b"\n"):
            break
    raise BadFraming(HTTPStatus.BAD_REQUEST, "the chunked body does not end with an empty line", "Transfer-Encoding")


class _Server(ThreadingHTTPServer):
    request_queue_size = BACKLOG  # socketserver's 5 drops the SYNs of a burst of 20 clients
    daemon_threads = True

    def serve_forever(self, poll_interval: float = 0.1) -> None:
        super().serve_forever(poll_interval)  # shutdown() waits up to one interval (socketserver: 0.5 s)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (a browser closing its tab or kept-alive connection) is no server error. Only the
        # connection's own reads and writes raise these here: a function's errors are answered 502 in _route.
        error = sys.exc_info()[1]
        if isinstance(error, CLIENT_GONE):
            log.debug("%s hung up: %r", client_address[0], error)
            return
        super().handle_error(request, client_address)  # anything else: socketserver's traceback on stderr


def _listen(host: str, port: int, handler: type[BaseHTTPRequestHandler]) -> _Server:
    try:
        return _Server((host, port), handler)
    except OSError as error:
        raise PortUnavailable("API", host, port, "--api-port", error) from None


class LocalApiGateway:
    read_timeout_s = 60.0  # an idle keep-alive connection is closed, a stalled body answered 400, after this

    def __init__(self, functions: dict[str, LocalFunction], issuer: Issuer, host: str = "127.0.0.1",
                 port: int = 8787, console: ConsoleSite | None = None, hosted_ui: LocalHostedUi | None = None):
        self.router = Router(functions)
        self.issuer = issuer
        self.console, self.hosted_ui = console, hosted_ui  # the web console and its sign-in, at this origin
        self._in_flight = 0
        self._closing = False
        self._idle = threading.Condition()
        self.server = _listen(host, port, self._handler_class())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name="api-gateway", daemon=True)
        self._thread.start()

    def stop(self, drain_s: float = 60) -> bool:
        """Stop accepting, then wait for the requests already inside a function to finish, so the
        caller can save knowing no handler is still writing. Returns False if some did not finish."""
        self.server.shutdown()
        with self._idle:
            self._closing = True
            drained = self._idle.wait_for(lambda: self._in_flight == 0, timeout=drain_s)
        if not drained:
            log.warning("%d requests still running after %.0f s", self._in_flight, drain_s)
        self.server.server_close()
        return drained

    def handle(self, method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes,
               source_ip: str) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request, as API Gateway would answer it: (status, headers, body)."""
        with self._idle:
            if self._closing:  # a request on a kept-alive connection after stop() began
                return _json(503, _error_body("UNAVAILABLE", "the local stack is stopping; retry when it is back"))
            self._in_flight += 1
        try:
            return self._route(method, raw_path, headers, body, source_ip)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _route(self, method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes,
               source_ip: str) -> tuple[int, list[tuple[str, str]], bytes]:
        path = urlsplit(raw_path).path
        if self.console and self.console.handles(path):
            return self.console.handle(method, path, _origin(headers, self.url))
        if self.hosted_ui and self.hosted_ui.handles(path):
            return self.hosted_ui.handle(method, raw_path, headers, body, _origin(headers, self.url))
        route, params, path_known = self.router.match(method, path)
        if route is None:
            if path_known:  # RFC 9110: a 405 names the methods the resource has
                status, out_headers, out_body = _json(405, _error_body("METHOD_NOT_ALLOWED",
                                                                       f"{method} is not allowed on {path}"))
                return status, [*out_headers, ("Allow", ", ".join(self.router.methods(path)))], out_body
            return _json(404, _error_body("NOT_FOUND", f"no route for {method} {path}"))
        claims = None
        if not route.route.public:
            authorization = next((v for k, v in headers if k.lower() == "authorization"), "")
            scheme, _, token = authorization.partition(" ")
            try:
                if scheme.lower() != "bearer":
                    raise InvalidToken("expected an Authorization: Bearer <token> header")
                claims = {k: str(v) for k, v in self.issuer.verify(token.strip()).items()}
            except InvalidToken as error:
                return _json(401, _error_body("UNAUTHORIZED", f"missing, expired or invalid token ({error})"))
        event = proxy_event(route.route, method, raw_path, params, headers, body, claims, source_ip)
        started = time.perf_counter()
        try:
            result = route.function.invoke(event)
            status, out_headers, out_body = _from_proxy_result(result)
        except TooManyRequestsException:  # Lambda throttled: a proxy integration answers 500, as on AWS
            log.warning("%s throttled on %s %s (at its concurrency limit)", route.function.name, method, path)
            return _json(500, {"message": "Internal server error"})
        except Exception as error:
            remote = "".join(getattr(error, "payload", {}).get("stackTrace") or [])  # the handler's own, from its instance
            log.exception("%s failed on %s %s%s", route.function.name, method, path,
                          f"\nin the function:\n{remote}" if remote else "")
            return _json(502, {"message": "Internal server error"})
        finally:
            log.debug("%s %s -> %s in %.1f ms", method, path, route.function.name,
                      (time.perf_counter() - started) * 1000)
        return status, out_headers, out_body

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return type("Handler", (_Handler,), {"gateway": self})


class _Handler(BaseHTTPRequestHandler):
    """One connection: read each request's body as framed, answer through the gateway."""

    protocol_version = "HTTP/1.1"
    gateway: LocalApiGateway

    @property
    def timeout(self) -> float:  # type: ignore[override]  # socket reads: an idle or stalled client
        return self.gateway.read_timeout_s

    def _serve(self) -> None:
        try:
            raw = read_body(self.headers, self.rfile)
        except BadFraming as refused:
            self._respond(*refused.response(), close=True)
            return
        except TimeoutError:
            header = "Transfer-Encoding" if "Transfer-Encoding" in self.headers else "Content-Length"
            stalled = BadFraming(HTTPStatus.BAD_REQUEST, f"no body data for {self.timeout:g} s: the body is shorter "
                                 f"than its {header} says, or the client stopped sending", header)
            self._respond(*stalled.response(), close=True)
            return
        status, headers, body = self.gateway.handle(self.command, self.path, list(self.headers.items()), raw,
                                                    self.client_address[0])
        self._respond(status, headers, body)

    def _respond(self, status: int, headers: list[tuple[str, str]], body: bytes, close: bool = False) -> None:
        if status in (204, 304):  # HTTP forbids a body here; API Gateway drops it too
            body = b""
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if close:  # the rest of the request is unread: this connection cannot carry another one
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # The request line or headers were unusable (400, 414, 431, 505): answer in JSON too.
        status = HTTPStatus(code)
        self.log_error("code %d, message %s", code, message)
        _, headers, body = _json(code, _error_body(_code(status), message or status.phrase))
        self._respond(code, headers, body, close=True)

    def __getattr__(self, name: str) -> Any:
        # Every method reaches the router (TRACE, CONNECT, ...), which answers 405 or 404.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)


def _origin(headers: list[tuple[str, str]], default: str) -> str:
    """The origin the browser used, localhost or 127.0.0.1: the console's config and redirects must name it. Any
    other Host gets the stack's own: a page whose name was rebound to this machine (DNS rebinding) must not be
    signed in at its own origin (the local form asks no password)."""
    host = next((v for k, v in headers if k.lower() == "host"), "")
    return f"http://{host}" if _LOOPBACK_HOST.fullmatch(host) else default


_LOOPBACK_HOST = re.compile(r"(localhost|127\.0\.0\.1)(:[0-9]{1,5})?")


def _json(status: int, body: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("Content-Type", "application/json")], json.dumps(body).encode()


def _from_proxy_result(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Validate the function's proxy result as API Gateway does (a malformed one is a 502)."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        raise ValueError(f"malformed Lambda proxy response: {str(result)[:200]}")
    # API Gateway merges the two maps; for a name in both, multiValueHeaders wins.
    multi = result.get("multiValueHeaders") or {}
    lowered = {name.lower() for name in multi}
    headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items() if k.lower() not in lowered]
    for name, values in multi.items():
        headers += [(name, str(v)) for v in values]
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return result["statusCode"], headers, raw
