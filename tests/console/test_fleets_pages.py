"""The fleets list with its bots counted by health and status, and a fleet's bots with the status and tag filters
and cursor pagination kept in the URL, in a real browser against the local stack. The bots are created through
the API without a target (PENDING, no gateway) and put in their statuses as a finished workflow would; every
expectation below is written out by hand."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.console.conftest import Held, assert_accessible, record_frames, sign_in, wait_subscribed
from tests.fakes.fake_gateway import FakeGateway
from tests.helpers import put_bot_in_status
from tests.loopback import hand_over

# name -> (status, tags), in creation order. The API lists a fleet's bots by status, then by id (creation order).
BOTS = {
    "b1": ("RUNNING", {"team": "red"}),
    "b2": ("RUNNING", {"team": "blue"}),
    "b3": ("ERROR", {"team": "red"}),
    "b4": ("PENDING", {}),
    "b5": ("RUNNING", {"team": "red"}),
    "b6": ("STOPPED", {"team": "blue"}),
    "b7": ("PENDING", {"team": "red"}),
}


@pytest.fixture
def fleet(team):
    """A fleet with the bots above, and an empty second fleet."""
    team.fleet_id = team.owner.post(f"{team.ws}/fleets", {"name": "alpha", "environment": "staging"}).ok(201).body["id"]
    team.owner.post(f"{team.ws}/fleets", {"name": "empty-one"}).ok(201)
    for name, (status, tags) in BOTS.items():
        bot = team.owner.post(f"{team.ws}/fleets/{team.fleet_id}/bots",
                              {"name": name, "template_id": "minimal", "tags": tags}).ok(201).body
        if status != "PENDING":
            put_bot_in_status(team.workspace_id, bot["id"], status)
    return team


def _rows(page) -> list[list[str]]:
    return page.locator("table tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.querySelectorAll('th, td')].map(c => c.innerText.trim()))")


def _shows(page, names: list[str]) -> None:
    """Wait until the table lists exactly these bots, in this order (the last page's rows stay while the next loads)."""
    expect(page.locator("table tbody tr th")).to_have_text(names)


def test_the_fleets_list_counts_each_fleets_bots_by_health_and_status(console_page, stack, fleet):
    page = console_page
    sign_in(page, stack, fleet.users["VIEWER"], f"w/{fleet.workspace_id}")
    expect(page.get_by_role("link", name="alpha")).to_be_visible()
    rows = {row[0]: row for row in _rows(page)}
    # Name, Environment, Target, Bots, Healthy, Unhealthy, In progress, Inactive, By status
    assert rows["alpha"][:8] == ["alpha", "staging", "—", "7", "3", "1", "0", "3"]
    assert re.sub(r"\s+", " ", rows["alpha"][8]) == "PENDING 2 RUNNING 3 STOPPED 1 ERROR 1"  # in the lifecycle order
    assert rows["empty-one"][:8] == ["empty-one", "dev", "—", "0", "0", "0", "0", "0"]
    assert rows["empty-one"][8] == "none"
    assert_accessible(page, "the fleets list")

    page.get_by_role("link", name="alpha").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fleet alpha")
    expect(page.get_by_text("7: 3 healthy, 1 unhealthy, 0 in progress, 3 inactive")).to_be_visible()


def test_a_fleets_bots_page_by_page_and_filtered_with_the_state_in_the_url(console_page, stack, fleet):
    page = console_page
    path = f"w/{fleet.workspace_id}/fleets/{fleet.fleet_id}"
    sign_in(page, stack, fleet.users["VIEWER"], f"{path}?limit=3")
    pages = [["b3", "b4", "b7"], ["b1", "b2", "b5"], ["b6"]]  # by status (ERROR, PENDING, RUNNING, STOPPED), then age
    expect(page.get_by_role("link", name="b3")).to_be_visible()
    _shows(page, pages[0])
    assert_accessible(page, "a fleet's bots")
    previous, following = page.get_by_role("button", name="Previous"), page.get_by_role("button", name="Next")
    expect(previous).to_be_disabled()
    held = Held(page, re.compile(r"/bots\?.*cursor="))  # the second page's answer waits
    following.click()
    expect(page.get_by_text("Page 2")).to_be_visible()
    expect(following).to_be_disabled()  # the first page's rows and cursor still show: a second Next would reuse it
    _shows(page, pages[0])
    held.release()
    expect(page.get_by_text("Page 2")).to_be_visible()
    _shows(page, pages[1])
    following.click()
    expect(page.get_by_text("Page 3")).to_be_visible()
    _shows(page, pages[2])
    expect(following).to_be_disabled()  # a short page: the API gives no cursor
    page.reload()  # the page is in the URL: a reload (a new sign-in through the hosted UI's session) comes back to it
    expect(page.get_by_text("Page 3")).to_be_visible()
    _shows(page, pages[2])
    page.get_by_role("button", name="Previous").click()
    expect(page.get_by_text("Page 2")).to_be_visible()
    _shows(page, pages[1])

    # A tag filter, then a status on top of it: each starts again from the first page.
    page.get_by_label("Tag (key or key=value)").fill("team=red")
    held = Held(page, re.compile(r"/bots\?.*tag="))  # the filtered answer waits
    page.get_by_role("button", name="Apply filters").click()
    # While it loads, the unfiltered rows are not shown under the new filter (a new page of one list keeps them).
    expect(page.get_by_text("Loading bots")).to_be_visible()
    expect(page.locator("table tbody tr th")).to_have_count(0)
    held.release()
    expect(page.get_by_text("Page 1")).to_be_visible()
    _shows(page, ["b3", "b7", "b1"])
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Page 2")).to_be_visible()
    _shows(page, ["b5"])
    page.get_by_label("Status", exact=True).select_option("RUNNING")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("link", name="b5")).to_be_visible()
    _shows(page, ["b1", "b5"])
    assert "status=RUNNING" in page.url and "tag=team%3Dred" in page.url
    shared = page.url

    # A colleague given the link signs in (their own browser) and sees the same filtered page, filters filled in.
    colleague = page.context.browser.new_context()
    other = colleague.new_page()
    sign_in(other, stack, fleet.users["OPERATOR"], shared.split("/console/", 1)[1])
    expect(other.get_by_role("link", name="b5")).to_be_visible()
    _shows(other, ["b1", "b5"])
    expect(other.get_by_label("Status", exact=True)).to_have_value("RUNNING")
    expect(other.get_by_label("Tag (key or key=value)")).to_have_value("team=red")
    colleague.close()

    page.get_by_label("Status", exact=True).select_option("DEGRADED")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("No bots match these filters.")).to_be_visible()
    page.get_by_role("button", name="Clear").click()
    expect(page.get_by_role("link", name="b3")).to_be_visible()
    _shows(page, pages[0])

    # By keyboard alone: a tag typed and applied with Enter, cleared, the next page, and a bot's link.
    page.get_by_label("Tag (key or key=value)").focus()
    page.keyboard.type("team=blue")
    page.keyboard.press("Enter")
    _shows(page, ["b2", "b6"])
    page.get_by_role("button", name="Clear").focus()
    page.keyboard.press("Enter")
    _shows(page, pages[0])
    page.get_by_role("button", name="Next").focus()
    page.keyboard.press("Enter")
    _shows(page, pages[1])
    page.get_by_role("link", name="b5").focus()
    page.keyboard.press("Enter")  # each bot links to its page
    expect(page).to_have_url(re.compile(f"/console/w/{fleet.workspace_id}/bots/{_bot_id(fleet, 'b5')}$"))


def _bot_id(team, name: str) -> str:
    items = team.owner.get(f"{team.ws}/fleets/{team.fleet_id}/bots").ok(200).body["items"]
    return next(b["id"] for b in items if b["name"] == name)


def test_statuses_and_counts_follow_the_stream_without_a_reload(console_page, stack, team, tmp_path):
    """Two bots RUNNING on loopback fake gateways; deleting one makes its workflow run (DELETING) and fail (ERROR:
    the loopback target removes nothing), each change published on the stream. The open pages follow it."""
    team.fleet_id = team.owner.post(f"{team.ws}/fleets", {"name": "live"}).ok(201).body["id"]
    bots = [team.owner.post(f"{team.ws}/fleets/{team.fleet_id}/bots", {"name": n, "template_id": "minimal"}).ok(201)
            .body["id"] for n in ("live-1", "live-2")]
    fakes = [FakeGateway(f"tok-console-{i}").start() for i in range(2)]
    try:
        hand_over(team.workspace_id, bots, fakes, tmp_path / "secrets")
        page = console_page
        frames = record_frames(page)
        sign_in(page, stack, team.users["VIEWER"], f"w/{team.workspace_id}/fleets/{team.fleet_id}")
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name="live-1"))
        expect(row.get_by_text("RUNNING")).to_be_visible()
        expect(page.get_by_text("2: 2 healthy, 0 unhealthy")).to_be_visible()
        page.evaluate("window.notReloaded = true")
        wait_subscribed(page, frames, f"workspaces/{team.workspace_id}/fleets/{team.fleet_id}")
        _delete(team, bots[0])
        expect(row.get_by_text("ERROR")).to_be_visible(timeout=90_000)
        expect(page.get_by_text("2: 1 healthy, 1 unhealthy")).to_be_visible()

        page.get_by_role("link", name="All fleets").click()
        cells = page.get_by_role("row").filter(has=page.get_by_role("link", name="live")).get_by_role("cell")
        expect(cells.nth(3)).to_have_text("1")  # Healthy (after Environment, Target, Bots)
        wait_subscribed(page, frames, f"workspaces/{team.workspace_id}")
        _delete(team, bots[1])
        expect(cells.nth(3)).to_have_text("0", timeout=90_000)
        expect(cells.nth(4)).to_have_text("2")  # Unhealthy
        assert page.evaluate("window.notReloaded") is True  # followed on the stream, not by reloading the page
    finally:
        for fake in fakes:
            fake.stop()


def _delete(team, bot_id: str) -> None:
    bot = team.owner.get(f"{team.ws}/bots/{bot_id}").ok(200)
    team.owner.delete(f"{team.ws}/bots/{bot_id}", etag=bot.etag).ok(202)

