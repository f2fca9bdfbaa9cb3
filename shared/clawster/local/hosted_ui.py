"""The local stack's stand-in for Cognito's hosted UI: the OAuth 2.0 authorization-code flow with PKCE that the
console speaks to Cognito on AWS, at the same paths (/oauth2/authorize, /oauth2/token, /logout), so the
console has one sign-in code path.

Locally nobody has a password (the CLI mints tokens for any user too): the sign-in form asks only who you
are. Everything else is checked as Cognito checks it: the client id, a redirect URI on the console's own
origin, S256 PKCE (a code is refused without its verifier), one use per code within 5 minutes, and refresh
tokens that outlive ID tokens. A session cookie makes a second authorize redirect at once, as the hosted UI's
own session does, so a reload of the console (whose tokens live in memory only) signs in again without a form.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from .issuer import Issuer

CLIENT_ID = "clawster-console-local"
SESSION_COOKIE = "clawster_local_session"
CODE_TTL_S = 300
REFRESH_TTL_S = 12 * 3600
USER = re.compile(r"[A-Za-z0-9._@+-]{1,64}")
VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 §4.1

Answer = tuple[int, list[tuple[str, str]], bytes]


@dataclass
class _Grant:
    user: str
    redirect_uri: str
    challenge: str
    expires: float


class LocalHostedUi:
    def __init__(self, issuer: Issuer, console_path: str = "/console/", token_ttl_s: int = 3600):
        self.issuer, self.console_path, self.token_ttl_s = issuer, console_path, token_ttl_s
        self._codes: dict[str, _Grant] = {}
        self._refresh: dict[str, tuple[str, float]] = {}  # refresh token -> (user, expires)
        self._sessions: dict[str, str] = {}  # session cookie -> user
        self._lock = threading.Lock()

    def handles(self, path: str) -> bool:
        return path in ("/oauth2/authorize", "/oauth2/token", "/login", "/logout")

    def handle(self, method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, origin: str) -> Answer:
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/oauth2/authorize" and method in ("GET", "HEAD"):
            return self._authorize(query, _cookie(headers), origin)
        if parts.path == "/login" and method == "POST":
            sent_from = _header(headers, "origin")
            if sent_from is not None and sent_from != origin:  # login CSRF: another site's form signing you in
                return _oauth_error(403, "invalid_request", "the sign-in form is posted from the sign-in page only")
            return self._login(_form(body), origin)
        if parts.path == "/oauth2/token" and method == "POST":
            return self._token(_form(body), origin)
        if parts.path == "/logout" and method in ("GET", "HEAD"):
            return self._logout(query, _cookie(headers), origin)
        return _oauth_error(405, "invalid_request", f"{method} is not allowed on {parts.path}")

    # -- authorize and sign in -----------------------------------------------------------------------

    def _authorize(self, query: dict[str, str], session: str | None, origin: str) -> Answer:
        refused = self._check_request(query, origin)
        if refused:
            return refused
        with self._lock:
            user = self._sessions.get(session or "")
        if user:
            return self._redirect_with_code(user, query)
        return _page(200, _sign_in_form(query))

    def _login(self, form: dict[str, str], origin: str) -> Answer:
        refused = self._check_request(form, origin)
        if refused:
            return refused
        user = form.get("username", "").strip()
        if not USER.fullmatch(user):
            return _page(400, _sign_in_form(form, "A user name is 1 to 64 letters, digits or . _ @ + -"))
        session = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[session] = user
        status, headers, body = self._redirect_with_code(user, form)
        cookie = f"{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"
        return status, [*headers, ("Set-Cookie", cookie)], body

    def _check_request(self, params: dict[str, str], origin: str) -> Answer | None:
        """What Cognito refuses before showing its form: an unknown client, a redirect URI not registered, a
        flow other than code + S256 PKCE."""
        if params.get("client_id") != CLIENT_ID:
            return _oauth_error(400, "invalid_client", f"client_id must be {CLIENT_ID}")
        if params.get("redirect_uri") != origin + self.console_path:
            return _oauth_error(400, "invalid_request", f"redirect_uri must be {origin + self.console_path}")
        if params.get("response_type") != "code":
            return _oauth_error(400, "unsupported_response_type", "response_type must be code")
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return _oauth_error(400, "invalid_request", "a code_challenge with code_challenge_method=S256 is required")
        return None

    def _redirect_with_code(self, user: str, params: dict[str, str]) -> Answer:
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _Grant(user, params["redirect_uri"], params["code_challenge"], time.time() + CODE_TTL_S)
        back = {"code": code, **({"state": params["state"]} if params.get("state") else {})}
        return 302, [("Location", f"{params['redirect_uri']}?{urlencode(back)}"), ("Cache-Control", "no-store")], b""

    def _logout(self, query: dict[str, str], session: str | None, origin: str) -> Answer:
        if query.get("client_id") != CLIENT_ID:
            return _oauth_error(400, "invalid_client", f"client_id must be {CLIENT_ID}")
        if query.get("logout_uri") != origin + self.console_path:
            return _oauth_error(400, "invalid_request", f"logout_uri must be {origin + self.console_path}")
        with self._lock:
            user = self._sessions.pop(session or "", None)
            if user:  # Cognito's sign-out revokes the session, not tokens already issued; the console drops those
                self._sessions = {k: v for k, v in self._sessions.items() if v != user}
        expired = f"{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        return 302, [("Location", query["logout_uri"]), ("Set-Cookie", expired)], b""

    # -- tokens --------------------------------------------------------------------------------------

    def _token(self, form: dict[str, str], origin: str) -> Answer:
        if form.get("client_id") != CLIENT_ID:
            return _oauth_error(400, "invalid_client", f"client_id must be {CLIENT_ID}")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._exchange_code(form)
        if grant == "refresh_token":
            return self._exchange_refresh(form)
        return _oauth_error(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")

    def _exchange_code(self, form: dict[str, str]) -> Answer:
        with self._lock:
            granted = self._codes.pop(form.get("code", ""), None)  # one use, whatever the outcome
        if granted is None or granted.expires < time.time():
            return _oauth_error(400, "invalid_grant", "the code is unknown, used or expired")
        if form.get("redirect_uri") != granted.redirect_uri:
            return _oauth_error(400, "invalid_grant", "redirect_uri differs from the authorize request's")
        verifier = form.get("code_verifier", "")
        if not VERIFIER.fullmatch(verifier) or _s256(verifier) != granted.challenge:
            return _oauth_error(400, "invalid_grant", "code_verifier does not match the code_challenge")
        refresh = secrets.token_urlsafe(48)
        with self._lock:
            self._refresh[refresh] = (granted.user, time.time() + REFRESH_TTL_S)
        return self._tokens(granted.user, refresh)

    def _exchange_refresh(self, form: dict[str, str]) -> Answer:
        with self._lock:
            user, expires = self._refresh.get(form.get("refresh_token", ""), ("", 0.0))
        if not user or expires < time.time():
            return _oauth_error(400, "invalid_grant", "the refresh token is unknown or expired")
        return self._tokens(user, None)  # as Cognito: a refresh returns new ID and access tokens, not a new refresh token

    def _tokens(self, user: str, refresh: str | None) -> Answer:
        token = self.issuer.issue(user, ttl_s=self.token_ttl_s)
        body: dict[str, Any] = {"id_token": token, "access_token": token, "token_type": "Bearer",
                                "expires_in": self.token_ttl_s}
        if refresh:
            body["refresh_token"] = refresh
        return 200, [("Content-Type", "application/json"), ("Cache-Control", "no-store")], json.dumps(body).encode()


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def _form(body: bytes) -> dict[str, str]:
    try:
        return {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    except UnicodeDecodeError:
        return {}


def _header(headers: list[tuple[str, str]], wanted: str) -> str | None:
    return next((value for name, value in headers if name.lower() == wanted), None)


def _cookie(headers: list[tuple[str, str]]) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    for name, value in headers:
        if name.lower() == "cookie":
            try:
                jar.load(value)
            except Exception:  # noqa: BLE001 - a malformed cookie header is no session
                return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel else None


def _oauth_error(status: int, error: str, description: str) -> Answer:
    body = json.dumps({"error": error, "error_description": description}).encode()
    return status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body


PAGE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'")
_HIDDEN = ("client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method")


def _sign_in_form(params: dict[str, str], problem: str = "") -> str:
    hidden = "".join(f'<input type="hidden" name="{name}" value="{html.escape(params.get(name, ""))}">'
                     for name in _HIDDEN)
    alert = f'<p role="alert" class="problem">{html.escape(problem)}</p>' if problem else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>Sign in · Clawster (local)</title>
<style>body{{font:16px system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem;color:#1a1a1a}}
label{{display:block;margin:1rem 0 .25rem}}input[type=text]{{width:100%;padding:.5rem;font-size:1rem}}
button{{margin-top:1rem;padding:.5rem 1.25rem;font-size:1rem;background:#0b5cad;color:#fff;border:0;border-radius:4px}}
.problem{{color:#a00000}}.note{{color:#555;font-size:.9rem}}</style></head>
<body><main><h1>Sign in to Clawster</h1>
<p class="note">Local stack: no password; you sign in as the user you name.</p>{alert}
<form method="post" action="/login">{hidden}
<label for="username">User name</label>
<input id="username" name="username" type="text" autocomplete="username" required autofocus
 value="{html.escape(params.get("username", ""))}">
<button type="submit">Sign in</button></form></main></body></html>"""


def _page(status: int, text: str) -> Answer:
    return status, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                    ("Content-Security-Policy", PAGE_CSP), ("X-Frame-Options", "DENY"),
                    ("X-Content-Type-Options", "nosniff")], text.encode()
