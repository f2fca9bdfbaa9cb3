"""The local hosted UI (the console's sign-in on the dev stack) refuses what Cognito's refuses: a code without
its PKCE verifier, a code used twice, a redirect URI off the console, an unknown client; and hands out ID tokens
the API accepts, refreshed by a refresh token. Driven over real HTTP through the session's local stack."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from clawster.local.hosted_ui import CLIENT_ID, SESSION_COOKIE


class Http:
    """Plain HTTP without following redirects (each hop is what is under test)."""

    def __init__(self, base: str):
        self.host = urlsplit(base).netloc
        self.origin = base.rstrip("/")

    def send(self, method: str, path: str, form: dict | None = None, cookie: str | None = None, host: str | None = None,
             origin: str | None = None):
        connection = http.client.HTTPConnection(self.host, timeout=60)
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
        if origin:  # the page a browser's form was posted from
            headers["Origin"] = origin
        if cookie:
            headers["Cookie"] = cookie
        if host:  # the name the browser connected by (else this connection's own)
            headers["Host"] = host
        connection.request(method, path, body=urlencode(form) if form is not None else None, headers=headers)
        response = connection.getresponse()
        body = response.read()
        connection.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    # RFC 7636 appendix B: BASE64URL(SHA256(ASCII(verifier))) without padding (written out here, not imported)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")
    return verifier, challenge


@pytest.fixture
def web(stack):
    return Http(stack.api_url)


def authorize_params(web: Http, challenge: str, **overrides) -> dict:
    return {"client_id": CLIENT_ID, "redirect_uri": f"{web.origin}/console/", "response_type": "code",
            "scope": "openid email profile", "state": "s-123", "code_challenge": challenge,
            "code_challenge_method": "S256", **overrides}


def sign_in(web: Http, user: str, challenge: str) -> tuple[str, str]:
    """The form's POST: returns (code, session cookie)."""
    status, headers, _ = web.send("POST", "/login", {**authorize_params(web, challenge), "username": user})
    assert status == 302, status
    location = urlsplit(headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{web.origin}/console/"
    query = parse_qs(location.query)
    assert query["state"] == ["s-123"]
    cookie = re.match(rf"{SESSION_COOKIE}=([^;]+)", headers["set-cookie"]).group(1)
    assert "HttpOnly" in headers["set-cookie"]
    return query["code"][0], f"{SESSION_COOKIE}={cookie}"


def exchange(web: Http, code: str, verifier: str, **overrides):
    form = {"grant_type": "authorization_code", "client_id": CLIENT_ID, "code": code,
            "redirect_uri": f"{web.origin}/console/", "code_verifier": verifier, **overrides}
    status, _, body = web.send("POST", "/oauth2/token", form)
    return status, json.loads(body)


def test_authorize_shows_a_sign_in_form_with_the_request_carried(web):
    _, challenge = pkce()
    status, headers, body = web.send("GET", "/oauth2/authorize?" + urlencode(authorize_params(web, challenge)))
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    page = body.decode()
    assert '<label for="username">' in page and f'value="{challenge}"' in page


def test_the_code_flow_gives_an_id_token_the_api_accepts(web, stack):
    verifier, challenge = pkce()
    code, _ = sign_in(web, "pkce-user", challenge)
    status, tokens = exchange(web, code, verifier)
    assert status == 200, tokens
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] > 0 and tokens["refresh_token"]
    assert stack.issuer.verify(tokens["id_token"])["sub"] == "pkce-user"
    status, _, body = web.send("GET", "/workspaces")  # no token: refused
    assert status == 401
    connection = http.client.HTTPConnection(web.host, timeout=60)
    connection.request("GET", "/workspaces", headers={"Authorization": f"Bearer {tokens['id_token']}"})
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 200


def test_a_code_needs_its_own_verifier_and_works_once(web):
    verifier, challenge = pkce()
    code, _ = sign_in(web, "once-user", challenge)
    other_verifier, _ = pkce()
    status, body = exchange(web, code, other_verifier)
    assert (status, body["error"]) == (400, "invalid_grant")
    # the failed attempt used the code up, as a stolen code must not be retried until it fits
    status, body = exchange(web, code, verifier)
    assert (status, body["error"]) == (400, "invalid_grant")

    code, _ = sign_in(web, "once-user", challenge)
    assert exchange(web, code, verifier)[0] == 200
    assert exchange(web, code, verifier)[0] == 400  # replayed


def test_the_token_request_must_name_the_same_redirect_uri(web):
    verifier, challenge = pkce()
    code, _ = sign_in(web, "redirect-user", challenge)
    status, body = exchange(web, code, verifier, redirect_uri=f"{web.origin}/elsewhere/")
    assert (status, body["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(("override", "error"), [
    ({"client_id": "someone-else"}, "invalid_client"),
    ({"redirect_uri": "https://attacker.invalid/console/"}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),  # no implicit flow
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": ""}, "invalid_request"),
])
def test_authorize_refuses_what_cognito_refuses(web, override, error):
    _, challenge = pkce()
    status, _, body = web.send("GET", "/oauth2/authorize?" + urlencode(authorize_params(web, challenge, **override)))
    assert (status, json.loads(body)["error"]) == (400, error)
    status, _, body = web.send("POST", "/login", {**authorize_params(web, challenge, **override), "username": "x"})
    assert (status, json.loads(body)["error"]) == (400, error)


def test_the_sign_in_form_is_taken_only_from_the_sign_in_page(web):
    """Login CSRF: another site's page posting the form would sign the browser in as a user of its choosing (the
    local form asks no password) and hand the console that user's code. A browser names the posting page."""
    _, challenge = pkce()
    form = {**authorize_params(web, challenge), "username": "admin"}
    status, headers, body = web.send("POST", "/login", form, origin="http://evil.example")
    assert (status, json.loads(body)["error"]) == (403, "invalid_request") and "set-cookie" not in headers
    status, headers, _ = web.send("POST", "/login", form, origin=web.origin)
    assert status == 302 and headers["set-cookie"].startswith(SESSION_COOKIE)


def test_a_bad_user_name_gets_the_form_again_with_the_reason(web):
    _, challenge = pkce()
    status, _, body = web.send("POST", "/login", {**authorize_params(web, challenge), "username": "no spaces <b>"})
    assert status == 400
    assert 'role="alert"' in body.decode() and "<b>" not in body.decode()  # escaped, never markup


def test_the_session_cookie_skips_the_form_until_sign_out(web):
    verifier, challenge = pkce()
    _, cookie = sign_in(web, "session-user", challenge)
    query = "/oauth2/authorize?" + urlencode(authorize_params(web, challenge))
    status, headers, _ = web.send("GET", query, cookie=cookie)
    assert status == 302
    code = parse_qs(urlsplit(headers["location"]).query)["code"][0]
    assert exchange(web, code, verifier)[0] == 200

    logout = "/logout?" + urlencode({"client_id": CLIENT_ID, "logout_uri": f"{web.origin}/console/"})
    status, headers, _ = web.send("GET", logout, cookie=cookie)
    assert status == 302 and headers["location"] == f"{web.origin}/console/"
    assert "Max-Age=0" in headers["set-cookie"]
    status, _, _ = web.send("GET", query, cookie=cookie)
    assert status == 200  # the form again


def test_a_refresh_token_gives_new_id_tokens_and_nothing_else_does(web, stack):
    verifier, challenge = pkce()
    code, _ = sign_in(web, "refresh-user", challenge)
    first = exchange(web, code, verifier)[1]
    status, _, body = web.send("POST", "/oauth2/token", {"grant_type": "refresh_token", "client_id": CLIENT_ID,
                                                         "refresh_token": first["refresh_token"]})
    assert status == 200
    again = json.loads(body)
    assert stack.issuer.verify(again["id_token"])["sub"] == "refresh-user"
    assert "refresh_token" not in again  # as Cognito: the refresh token stays the same
    status, _, body = web.send("POST", "/oauth2/token", {"grant_type": "refresh_token", "client_id": CLIENT_ID,
                                                         "refresh_token": "made-up"})
    assert (status, json.loads(body)["error"]) == (400, "invalid_grant")
    status, _, body = web.send("POST", "/oauth2/token", {"grant_type": "password", "client_id": CLIENT_ID})
    assert (status, json.loads(body)["error"]) == (400, "unsupported_grant_type")


def test_a_page_whose_name_is_rebound_to_this_machine_gets_no_sign_in_at_its_origin(web):
    """DNS rebinding: a web page's own name made to resolve to 127.0.0.1 reaches the stack with its Host. The form
    asks no password, so a sign-in at that origin would hand the page a token for any user: the console's config
    and the redirects name the stack's own origin then, which that page cannot read."""
    port = urlsplit(web.origin).port
    rebound = f"rebound.example:{port}"
    _, challenge = pkce()
    params = authorize_params(web, challenge, redirect_uri=f"http://{rebound}/console/")
    status, _, body = web.send("GET", "/oauth2/authorize?" + urlencode(params), host=rebound)
    assert (status, json.loads(body)["error"]) == (400, "invalid_request")
    status, _, body = web.send("POST", "/login", {**params, "username": "admin"}, host=rebound)
    assert (status, json.loads(body)["error"]) == (400, "invalid_request")
    status, _, body = web.send("GET", "/console/config.json", host=rebound)
    assert status == 200 and json.loads(body)["apiUrl"] == web.origin
    # localhost is the stack's own name too: a sign-in there redirects back there
    local = f"localhost:{port}"
    status, _, _ = web.send("GET", "/oauth2/authorize?" + urlencode(
        authorize_params(web, challenge, redirect_uri=f"http://{local}/console/")), host=local)
    assert status == 200
