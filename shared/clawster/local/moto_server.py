"""moto in server mode, served from a thread of this process.

moto's own ThreadedMotoServer binds inside its server thread. On a busy port werkzeug answers the
bind error with sys.exit(1), which only ends that thread, and ThreadedMotoServer.start() then waits
forever for a "ready" event nobody sets. Here the socket is bound first, in the caller's thread, so
a busy port is a PortUnavailable the caller can report.

moto's router lists its own package folder (a listdir and a stat per service) to route each request
(`backends.list_of_moto_modules`, written for moto 5.2.5): that folder never changes while the stack runs,
so it is listed once.
"""

from __future__ import annotations

import threading

from .ports import listen


def _list_moto_modules_once() -> None:
    from moto import backends

    if getattr(backends.list_of_moto_modules, "listed_once", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def listed() -> tuple[str, ...]:
        return modules

    listed.listed_once = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = listed


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        _list_moto_modules_once()
        with listen(host, port, "moto", "--moto-port") as listener:  # werkzeug serves a duplicate of it
            self._server = make_server(host, port, DomainDispatcherApplication(create_backend_app), threaded=True,
                                       request_handler=MotoRequestHandler, fd=listener.fileno())
        self.port: int = self._server.port
        # stop() waits up to one poll interval (werkzeug's default: 0.5 s)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name="moto", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
