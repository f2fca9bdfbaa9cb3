"""The local API Gateway on the wire (raw sockets): a burst of clients waits in the listen backlog,
and every malformed body framing gets a JSON error and a cleanly closed connection, never a hang."""

from __future__ import annotations

import json
import logging
import socket
import struct
import threading

import pytest

from clawster.local.api_gateway import LocalApiGateway
from clawster.local.issuer import Issuer
from clawster.local.lambda_runtime import LocalFunction
from functions import catalog

CEILING_S = 60  # generous: a busy machine is slow, a hang is forever


class Echo(LocalFunction):
    """Answers 200 with the body it was handed (None when there was none)."""

    def __init__(self, name):
        super().__init__(name, "unused.handler")

    def invoke(self, event):
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"body": event["body"], "base64": event["isBase64Encoded"]})}


def make_gateway(tmp_path) -> LocalApiGateway:
    return LocalApiGateway({f.name: Echo(f.name) for f in catalog.FUNCTIONS}, Issuer(tmp_path), port=0)


@pytest.fixture
def gateway(tmp_path):
    gateway = make_gateway(tmp_path)
    gateway.read_timeout_s = 1.0  # how long the server waits for a stalled body (the test itself waits CEILING_S)
    gateway.start()
    yield gateway
    gateway.stop()


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP response off the socket (framed by its Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    length = int(headers["content-length"])
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the body"
        rest += chunk
    return int(status_line.split()[1]), headers, rest[:length]


def exchange(gateway: LocalApiGateway, raw: bytes, *, half_close: bool = False):
    """Send raw bytes, read the answer and then EOF: the server must close the connection cleanly
    (a reset raises ConnectionResetError here)."""
    with socket.create_connection(gateway.server.server_address[:2], timeout=CEILING_S) as sock:
        sock.sendall(raw)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        status, headers, body = read_response(sock)
        assert sock.recv(65536) == b"", "the server kept the connection open after an unreadable body"
    return status, headers, json.loads(body)


def post(headers: str, body: bytes = b"") -> bytes:
    return f"POST /workspaces HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n{headers}\r\n".encode() + body


# name -> (request, status, header named in details, words in the message). Hand-written, from RFC 9112 §6.
REFUSED = {
    "non-numeric length": (post("Content-Length: abc\r\n", b"{}"), 400, "Content-Length", "non-negative integer"),
    "negative length": (post("Content-Length: -2\r\n", b"{}"), 400, "Content-Length", "non-negative integer"),
    "signed length": (post("Content-Length: +2\r\n", b"{}"), 400, "Content-Length", "non-negative integer"),
    "two conflicting headers": (post("Content-Length: 2\r\nContent-Length: 3\r\n", b"{}"), 400, "Content-Length",
                                "conflicting"),
    "conflicting list": (post("Content-Length: 2, 3\r\n", b"{}"), 400, "Content-Length", "conflicting"),
    "over 10 MB": (post("Content-Length: 10485761\r\n", b"{}"), 413, "Content-Length", "10 MB"),
    "length and chunked": (post("Content-Length: 2\r\nTransfer-Encoding: chunked\r\n", b"2\r\n{}\r\n0\r\n\r\n"), 400,
                           "Transfer-Encoding", "not both"),
    "unknown coding": (post("Transfer-Encoding: gzip\r\n", b"\x1f\x8b"), 501, "Transfer-Encoding", "not supported"),
    "coding before chunked": (post("Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"), 501, "Transfer-Encoding",
                              "not supported"),
    "bad chunk size": (post("Transfer-Encoding: chunked\r\n", b"zz\r\n{}\r\n0\r\n\r\n"), 400, "Transfer-Encoding",
                       "chunk size"),
    "chunk longer than its size": (post("Transfer-Encoding: chunked\r\n", b"1\r\n{}\r\n0\r\n\r\n"), 400,
                                   "Transfer-Encoding", "chunk"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unusable_body_framing_gets_a_json_error_and_a_clean_close(gateway, name):
    request, status, header, words = REFUSED[name]
    got, headers, body = exchange(gateway, request)
    assert got == status, body
    assert headers["content-type"] == "application/json" and headers["connection"] == "close"
    assert body["details"] == {"header": header} and words in body["message"], body
    assert set(body) == {"code", "message", "details"}


def test_a_body_shorter_than_its_length_gets_400_when_the_client_closes(gateway):
    status, _, body = exchange(gateway, post("Content-Length: 10\r\n", b"{}"), half_close=True)
    assert status == 400 and "ended after 2 of the 10 bytes" in body["message"], body


def test_a_body_that_stops_arriving_gets_400_instead_of_a_hang(gateway):
    status, _, body = exchange(gateway, post("Content-Length: 10\r\n", b"{}"))  # and the client waits
    assert status == 400 and body["details"] == {"header": "Content-Length"}, body
    assert "no body data" in body["message"]


def test_a_stalled_chunked_body_gets_400_too(gateway):
    status, _, body = exchange(gateway, post("Transfer-Encoding: chunked\r\n", b"a\r\n{}"))
    assert status == 400 and body["details"] == {"header": "Transfer-Encoding"}, body


def test_malformed_headers_get_a_json_error(gateway):
    many = "".join(f"X-H{i}: v\r\n" for i in range(101))  # http.server allows 100 headers
    status, headers, body = exchange(gateway, post(many))
    assert status == 431 and body["code"] == "REQUEST_HEADER_FIELDS_TOO_LARGE", body


def test_chunked_bodies_and_bodies_without_a_length_reach_the_function_on_one_connection(gateway):
    chunked = b"4;ext=1\r\n{\"na\r\n9\r\nme\": \"x\"}\r\n0\r\nX-Trailer: t\r\n\r\n"
    auth = f"Authorization: Bearer {gateway.issuer.issue('wire')}\r\n"
    requests = [
        (post(auth + "Transfer-Encoding: chunked\r\n", chunked), '{"name": "x"}'),
        (post(auth), None),  # neither header: no body (RFC 9112 §6.3), as API Gateway treats it
        (post(auth + "Content-Length: 2, 2\r\n", b"{}"), "{}"),  # a repeated identical length is one length
        (post(auth + "Content-Length: 0\r\n"), None),
    ]
    with socket.create_connection(gateway.server.server_address[:2], timeout=CEILING_S) as sock:
        for request, expected in requests:  # keep-alive: each body was consumed exactly
            sock.sendall(request)
            status, headers, body = read_response(sock)
            assert status == 200 and "connection" not in headers, body
            assert json.loads(body) == {"body": expected, "base64": False}


def test_a_burst_of_clients_waits_in_the_listen_backlog(tmp_path):
    """50 clients connect at once while the server is busy (here: not accepting yet). The kernel
    queues as many connections as the listen backlog allows; with socketserver's default of 5
    the others' SYNs are dropped and their connect() hangs in retries (1 s, 3 s, 7 s, ...)."""
    clients = 50
    gateway = make_gateway(tmp_path)  # listening, not accepting
    address = gateway.server.server_address[:2]
    barrier, connected, answers = threading.Barrier(clients), threading.Condition(), {}
    count = [0]

    def client(i):
        barrier.wait()
        with socket.create_connection(address, timeout=3 * CEILING_S) as sock:
            with connected:
                count[0] += 1
                connected.notify_all()
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
            answers[i] = read_response(sock)[0]

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    try:
        with connected:
            connected.wait_for(lambda: count[0] == clients, timeout=CEILING_S)
            queued = count[0]
        assert queued == clients, f"only {queued} of {clients} connections were queued while the server was busy"
    finally:
        gateway.start()  # now serve them (and let stuck clients finish when the assertion failed)
        for thread in threads:
            thread.join(timeout=3 * CEILING_S)
        gateway.stop()
    assert answers == {i: 200 for i in range(clients)}


def watch_errors(gateway: LocalApiGateway) -> threading.Event:
    """Set once the server has handled an exception out of a connection (socketserver's handle_error)."""
    handled, original = threading.Event(), gateway.server.handle_error

    def observed(request, client_address):
        try:
            original(request, client_address)
        finally:
            handled.set()

    gateway.server.handle_error = observed
    return handled


def hang_up_between_requests(sock: socket.socket, gateway: LocalApiGateway) -> None:
    """A browser closing a kept-alive connection: the server is waiting for the next request line."""
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
    assert read_response(sock)[0] == 200


def hang_up_inside_an_answer(sock: socket.socket, gateway: LocalApiGateway) -> None:
    """A tab closed while a large answer streams: more than the socket buffers hold, so the server is still
    writing when the connection resets (its first bytes arrived; the client reads no further)."""
    body = b'"' + b"x" * 9_000_000 + b'"'
    auth = f"Authorization: Bearer {gateway.issuer.issue('wire')}\r\n"
    sock.sendall(post(auth + f"Content-Length: {len(body)}\r\n", body))
    assert sock.recv(1)


@pytest.mark.parametrize("hang_up", [hang_up_between_requests, hang_up_inside_an_answer])
def test_a_client_hanging_up_is_no_server_error(gateway, caplog, capsys, hang_up):
    handled = watch_errors(gateway)
    gateway.read_timeout_s = CEILING_S  # the server's writes wait this long too: the reset, not a timeout, ends them
    caplog.set_level(logging.DEBUG, logger="local.api")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    sock.settimeout(CEILING_S)
    sock.connect(gateway.server.server_address[:2])
    hang_up(sock, gateway)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # with linger 0: a reset, as a browser's abort sends
    assert handled.wait(CEILING_S), "the server never saw the hang-up"
    assert "Traceback" not in capsys.readouterr().err
    assert [r for r in caplog.records if r.name == "local.api" and "hung up" in r.getMessage()]


def test_a_real_error_on_a_connection_still_shows_its_traceback(gateway, capsys, monkeypatch):
    handled = watch_errors(gateway)

    def broken(*args):
        raise RuntimeError("a bug in the gateway")

    monkeypatch.setattr(gateway, "handle", broken)
    with socket.create_connection(gateway.server.server_address[:2], timeout=CEILING_S) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        assert handled.wait(CEILING_S)
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: a bug in the gateway" in err
