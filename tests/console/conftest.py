"""The web console in a real browser: Playwright drives Debian's headless chromium (/usr/bin/chromium, installed by
scripts/setup.sh: Playwright's own browser builds cannot be fetched here) against the session's local stack, which
serves the built console (console/dist) at /console/ beside the API.

Every page a test opens is watched: a console error or an uncaught exception in the page fails the test
(`console_page`), and `axe_scan` runs axe-core (console/node_modules, pinned) on what the page shows."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "console" / "node_modules" / "axe-core" / "axe.min.js"
DIST = Path(__file__).resolve().parents[2] / "console" / "dist" / "index.html"
# A busy 2-core machine: generous ceilings, never fixed sleeps (each wait ends on what it waits for).
WAIT_MS = 60_000
SERIOUS = ("serious", "critical")
expect.set_options(timeout=WAIT_MS)  # Playwright's default of 5 s is too tight for a busy 2-core machine


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run scripts/setup.sh (it installs Debian's chromium)")
    if not DIST.exists():
        pytest.fail("the console is not built: run scripts/build_console.sh")
    # No background networking: this machine's closed network refuses chromium's own connections.
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]}


@pytest.fixture
def console_page(context, stack):
    """A new page on the console; the test fails on any browser console error or page exception in it."""
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"console.{message.type}: {message.text} "
                                                       f"({message.location.get('url')})")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.console_problems = problems  # a test that provokes an error on purpose may inspect and clear it
    yield page
    assert not problems, "the browser reported errors:\n" + "\n".join(problems)


def sign_in(page, stack, user: str, path: str = "") -> None:
    """Sign in through the console's own flow (authorization code + PKCE against the local hosted UI)."""
    page.goto(f"{stack.console_url}{path.lstrip('/')}")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("User name").fill(user)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {user}").wait_for()


def axe_scan(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now (each with its nodes' targets)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())  # evaluated by the driver, not a <script>: the page's CSP stays on
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => "
                          "({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target)})))")
    return [v for v in found if v["impact"] in SERIOUS]


def assert_accessible(page, what: str) -> None:
    violations = axe_scan(page)
    assert not violations, f"axe found serious or critical violations on {what}:\n{json.dumps(violations, indent=1)}"


def enabled_mutating_actions(page) -> list[str]:
    """The text of every enabled control marked as changing something (ActionButton sets data-mutating)."""
    return page.eval_on_selector_all("[data-mutating='true']:not([disabled])", "els => els.map(e => e.textContent)")


def record_frames(page) -> list[dict]:
    """The stream's messages to the page, as they arrive (for wait_subscribed)."""
    frames: list[dict] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: frames.append(json.loads(frame))))
    return frames


def wait_subscribed(page, frames: list[dict], topic: str) -> None:
    """Until the stream confirms the page's subscription to `topic` (the changes after it are what is tested)."""
    deadline = time.monotonic() + 60
    while not any(f.get("type") == "subscribed" and f.get("topic") == topic for f in frames):
        assert time.monotonic() < deadline, f"no subscription to {topic}: {frames}"
        page.wait_for_timeout(100)  # lets the driver deliver the frames received meanwhile


class Held:
    """Requests to a URL held back until `release` (they go on) or `fail` (they fail, as with no network); the
    later ones go on."""

    def __init__(self, page, url):
        self.page, self.url, self.routes = page, url, []
        page.route(url, lambda route: self.routes.append(route))

    def release(self) -> None:
        for route in self._held():
            route.continue_()
        self.page.unroute(self.url)

    def fail(self) -> None:
        for route in self._held():
            route.abort()
        self.page.unroute(self.url)

    def _held(self) -> list:
        deadline = time.monotonic() + 60
        while not self.routes:  # the request may not have reached the route yet
            assert time.monotonic() < deadline, f"no request to {self.url}"
            self.page.wait_for_timeout(100)  # lets the driver deliver the route meanwhile
        return self.routes
