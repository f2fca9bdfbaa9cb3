"""Listening ports of the local stack, and the one clear error when one cannot be had."""

from __future__ import annotations

import errno
import socket

BACKLOG = 128  # like a real server: a burst of clients waits in the queue instead of having its SYNs dropped


class PortUnavailable(RuntimeError):
    """A server of the local stack cannot listen on its port (usually: another `clawster dev` has it)."""

    def __init__(self, what: str, host: str, port: int, option: str, error: OSError):
        reason = "already in use (is another `clawster dev` running?)" if error.errno == errno.EADDRINUSE else (
            error.strerror or str(error))
        super().__init__(f"cannot listen on the {what} port {host}:{port}: {reason}. Stop the other process, "
                         f"or pick a free port with {option} <port>")
        self.port = port


def listen(host: str, port: int, what: str, option: str) -> socket.socket:
    """A listening TCP socket on host:port (0 picks a free port), or PortUnavailable."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as http.server does: TIME_WAIT is not "busy"
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as error:
        sock.close()
        raise PortUnavailable(what, host, port, option, error) from None
    return sock


def ensure_free(host: str, port: int, what: str, option: str) -> None:
    """Fail fast, before anything starts, when a fixed port is taken."""
    if port:
        listen(host, port, what, option).close()
