"""How the local stack serves the web console: its files under /console/ with the security headers CloudFront
adds on AWS, config.json naming this stack, index.html for the app's own routes, and nothing outside the build."""

from __future__ import annotations

import json

import pytest

from clawster.local.console_site import ConsoleSite
from clawster.local.hosted_ui import CLIENT_ID


@pytest.fixture
def dist(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>app</title>")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path.parent / "secret.txt").write_text("not for the browser")
    return tmp_path


@pytest.fixture
def site(dist):
    return ConsoleSite("ws://127.0.0.1:9999", dist)


def headers_of(answer) -> dict[str, str]:
    return {k.lower(): v for k, v in answer[1]}


def directives(csp: str) -> dict[str, set[str]]:
    parsed = {}
    for part in csp.split(";"):
        name, *values = part.split()
        parsed[name] = set(values)
    return parsed


def test_every_answer_carries_the_security_headers_with_a_strict_policy(site):
    for path in ("/console/", "/console/assets/index-abc123.js", "/console/config.json", "/console/nope.js"):
        headers = headers_of(site.handle("GET", path, "http://127.0.0.1:8787"))
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        policy = directives(headers["content-security-policy"])
        # hand-written: what the console needs and nothing more (no inline script or style, no other origin)
        assert policy == {
            "default-src": {"'self'"}, "script-src": {"'self'"}, "style-src": {"'self'"}, "img-src": {"'self'", "data:"},
            "font-src": {"'self'"}, "connect-src": {"'self'", "ws://127.0.0.1:9999"}, "frame-ancestors": {"'none'"},
            "base-uri": {"'none'"}, "form-action": {"'self'"}, "object-src": {"'none'"},
        }


@pytest.mark.parametrize("path", ["/console/", "/console/w/ws_1", "/console/w/ws_1/bots/b_2", "/console/audit"])
def test_the_apps_own_routes_get_index_html_uncached(site, path):
    status, _, body = answer = site.handle("GET", path, "http://127.0.0.1:8787")
    assert (status, body) == (200, b"<!doctype html><title>app</title>")
    assert headers_of(answer)["cache-control"] == "no-cache"


def test_hashed_assets_are_cached_for_good(site):
    status, _, body = answer = site.handle("GET", "/console/assets/index-abc123.js", "http://127.0.0.1:8787")
    assert (status, body) == (200, b"console.log(1)")
    assert headers_of(answer)["content-type"] in ("text/javascript", "application/javascript")
    assert "immutable" in headers_of(answer)["cache-control"]


@pytest.mark.parametrize("path", ["/console/../secret.txt", "/console/assets/../../secret.txt",
                                  "/console/%2e%2e/secret.txt", "/console/missing.js",
                                  "/console/" + "a" * 300 + ".js", "/console/a\x00b.js"])  # no 5xx either
def test_nothing_outside_the_build_is_served(site, path):
    status, _, body = site.handle("GET", path, "http://127.0.0.1:8787")
    assert status == 404 and b"not for the browser" not in body


def test_config_names_this_stack_and_its_sign_in(site):
    status, _, body = site.handle("GET", "/console/config.json", "http://localhost:8787")
    assert status == 200
    assert json.loads(body) == {
        "apiUrl": "http://localhost:8787", "wsUrl": "ws://127.0.0.1:9999",
        "auth": {"authorizeUrl": "http://localhost:8787/oauth2/authorize", "tokenUrl": "http://localhost:8787/oauth2/token",
                 "logoutUrl": "http://localhost:8787/logout", "clientId": CLIENT_ID, "scope": "openid email profile"},
        "redirectPath": "/console/",
    }


def test_writes_are_refused_and_a_missing_build_says_how_to_build(site, tmp_path):
    assert site.handle("POST", "/console/", "http://127.0.0.1:8787")[0] == 405
    unbuilt = ConsoleSite("ws://127.0.0.1:9999", tmp_path / "empty")
    status, _, body = unbuilt.handle("GET", "/console/", "http://127.0.0.1:8787")
    assert status == 503 and b"scripts/build_console.sh" in body


def test_the_stack_serves_the_console_at_the_apis_origin(stack):
    import urllib.request

    with urllib.request.urlopen(f"{stack.api_url}/console/config.json", timeout=60) as response:
        config = json.loads(response.read())
    assert config["apiUrl"] == stack.api_url and config["wsUrl"] == stack.ws_url
    assert stack.console_url == f"{stack.api_url}/console/"
