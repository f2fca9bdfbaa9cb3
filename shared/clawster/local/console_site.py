"""The web console as the local stack serves it, at the API's own origin under /console/ (so the browser
needs no CORS): the built files of console/dist, config.json from the running stack, and the same security
headers CloudFront adds on AWS (infra-cdk), so a page that breaks the content security policy fails here too.

Paths without a file extension are the single-page app's own routes (deep links): they get index.html.
"""

from __future__ import annotations

import json
import mimetypes
import os
from pathlib import Path

from .hosted_ui import CLIENT_ID

PREFIX = "/console"
DIST = Path(os.environ.get("CLAWSTER_CONSOLE_DIST") or Path(__file__).resolve().parents[3] / "console" / "dist")

Answer = tuple[int, list[tuple[str, str]], bytes]


def csp(ws_origin: str) -> str:
    return "; ".join([
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
        f"connect-src 'self' {ws_origin}", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'",
        "object-src 'none'",
    ])


class ConsoleSite:
    def __init__(self, ws_url: str, dist: Path = DIST):
        self.ws_url, self.dist = ws_url.rstrip("/"), dist.resolve()
        ws_origin = "/".join(self.ws_url.split("/")[:3])
        self.headers = [
            ("Content-Security-Policy", csp(ws_origin)),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
        ]

    def handles(self, path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    def handle(self, method: str, path: str, origin: str) -> Answer:
        if method not in ("GET", "HEAD"):
            return self._answer(405, "text/plain", b"the console's files are read-only", [("Allow", "GET, HEAD")])
        if path == PREFIX:
            return 301, [("Location", PREFIX + "/")], b""
        rest = path[len(PREFIX) + 1:]
        if rest == "config.json":
            return self._answer(200, "application/json", json.dumps(self.config(origin)).encode(), _NO_CACHE)
        if not (self.dist / "index.html").is_file():
            text = b"The console is not built: run scripts/build_console.sh (make setup does)."
            return self._answer(503, "text/plain; charset=utf-8", text, _NO_CACHE)
        if rest and "." in rest.rsplit("/", 1)[-1]:
            return self._file(rest)
        return self._answer(200, "text/html; charset=utf-8", (self.dist / "index.html").read_bytes(), _NO_CACHE)

    def config(self, origin: str) -> dict:
        """What the console reads first: where the API and the stream are, and how to sign in."""
        return {
            "apiUrl": origin,
            "wsUrl": self.ws_url,
            "auth": {"authorizeUrl": f"{origin}/oauth2/authorize", "tokenUrl": f"{origin}/oauth2/token",
                     "logoutUrl": f"{origin}/logout", "clientId": CLIENT_ID, "scope": "openid email profile"},
            "redirectPath": PREFIX + "/",
        }

    def _file(self, rest: str) -> Answer:
        try:
            target = (self.dist / rest).resolve()
            found = target.is_relative_to(self.dist) and target.is_file()
        except (OSError, ValueError):  # a name too long for the file system, or with a NUL: no such file either
            found = False
        if not found:
            return self._answer(404, "text/plain", f"no file {PREFIX}/{rest}".encode(), _NO_CACHE)
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        # Vite names built assets by their content hash: they never change under one name.
        cache = [("Cache-Control", "public, max-age=31536000, immutable")] if rest.startswith("assets/") else _NO_CACHE
        return self._answer(200, kind, target.read_bytes(), cache)

    def _answer(self, status: int, kind: str, body: bytes, extra: list[tuple[str, str]] = ()) -> Answer:  # type: ignore[assignment]
        return status, [("Content-Type", kind), *self.headers, *extra], body


_NO_CACHE = [("Cache-Control", "no-cache")]
