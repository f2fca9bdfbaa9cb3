"""Signing in to the console in a real browser: the authorization-code flow with PKCE against the local hosted
UI, tokens held in memory only, refreshed before they expire, a reload that signs in again without the form,
a deep link that survives sign-in, and sign-out."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

from tests.console.conftest import assert_accessible, sign_in

JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")


@contextmanager
def console_token_ttl(stack, seconds: int):
    hosted_ui = stack._gateway.hosted_ui
    before = hosted_ui.token_ttl_s
    hosted_ui.token_ttl_s = seconds
    try:
        yield
    finally:
        hosted_ui.token_ttl_s = before


def test_sign_in_uses_the_code_flow_with_pkce_and_keeps_tokens_out_of_storage(console_page, stack, new_user):
    page, user = console_page, new_user("signin")
    authorize_urls: list[str] = []
    token_forms: list[dict] = []
    page.on("request", lambda r: authorize_urls.append(r.url) if "/oauth2/authorize" in r.url else None)
    page.on("request", lambda r: token_forms.append(parse_qs(r.post_data or "")) if r.url.endswith("/oauth2/token") else None)
    page.goto(stack.console_url)
    assert_accessible(page, "the landing page")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("User name").wait_for()
    assert_accessible(page, "the local sign-in form")
    page.get_by_label("User name").fill(user)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {user}").wait_for()
    page.get_by_role("heading", name="Workspaces").wait_for()

    query = parse_qs(urlsplit(authorize_urls[0]).query)
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
    assert re.fullmatch(r"[\w-]{43}", query["code_challenge"][0])  # base64url of a SHA-256, unpadded
    exchange = token_forms[0]
    assert exchange["grant_type"] == ["authorization_code"] and len(exchange["code_verifier"][0]) >= 43
    assert "code=" not in page.url  # the code is taken off the address bar

    stored = page.evaluate("JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])")
    assert not JWT.search(stored), f"a token is in web storage or a script-readable cookie: {stored}"
    assert "refresh" not in stored.lower()


def test_tokens_are_refreshed_before_they_expire(console_page, stack, new_user):
    page = console_page
    refreshes: list[float] = []
    unauthorized: list[str] = []
    page.on("request", lambda r: refreshes.append(time.time())
            if r.url.endswith("/oauth2/token") and "grant_type=refresh_token" in (r.post_data or "") else None)
    page.on("response", lambda r: unauthorized.append(r.url) if r.status == 401 else None)
    with console_token_ttl(stack, 8):
        sign_in(page, stack, new_user("refresh"))
        first_expiry = page.evaluate("Date.now()") / 1000 + 8
        # The first token's lifetime passes while the page stays open (polling the clock; the page's CSP forbids
        # the string evaluation wait_for_function would use).
        while page.evaluate("Date.now()") / 1000 < first_expiry + 1:
            page.wait_for_timeout(250)
        assert refreshes and refreshes[0] < first_expiry, "no refresh before the first token expired"
        page.get_by_role("link", name="Clawster").click()
        page.get_by_role("heading", name="Workspaces").wait_for()
        page.get_by_role("button", name="Create workspace").wait_for()
    assert not unauthorized, f"requests went out with an expired token: {unauthorized}"


def test_a_reload_signs_in_again_without_the_form_and_a_deep_link_survives_sign_in(console_page, stack, new_user, client_for):
    page, user = console_page, new_user("reload")
    owner = client_for(user)
    workspace = owner.post("/workspaces", {"name": "Reload WS"}).ok(201).body["id"]
    forms: list[int] = []
    page.on("response", lambda r: forms.append(r.status) if "/oauth2/authorize" in r.url else None)

    sign_in(page, stack, user, path=f"w/{workspace}")  # a deep link, before signing in
    page.get_by_role("heading", name="Fleets · Reload WS").wait_for()
    assert urlsplit(page.url).path == f"/console/w/{workspace}"

    forms.clear()
    page.reload()
    page.get_by_role("heading", name="Fleets · Reload WS").wait_for()
    assert forms == [302], "the reload should go through the hosted UI's session, straight back with a code"


def test_sign_out_ends_the_session(console_page, stack, new_user):
    page = console_page
    sign_in(page, stack, new_user("signout"))
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    page.reload()
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("User name").wait_for()  # the form again: the hosted UI session is over
