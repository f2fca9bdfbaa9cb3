"""The rollout pages in a real browser (console/src/pages/rollouts.tsx, rollout.tsx): a rollout driven from the
page against the session's stack, its waves and bots changing in the open page from the stream, the controls
per status and per role, the create form's 422, the list's pages, and axe on both pages.

The bots run on FakeGateways handed over by the loopback provider (tests/fakes/loopback_fleet.py, as the rollout
tests at scale do): the rollout's changes are real applies on a gateway that answers, in seconds. Expectations
are written here by hand from the rollout's spec (two waves: the canary, then the other bot; an approval before
each) and from the API's rules (docs/decisions.md, 2026-11-26: which control each status takes)."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect
from ulid import ULID

from layers.providers.registry import LOOPBACK_ENV
from tests.console.conftest import assert_accessible, enabled_mutating_actions, sign_in
from tests.fakes.loopback_fleet import LoopbackFleet

ROLLOUT_MS = 180_000  # a rollout's step on this busy 2-core machine: a ceiling, not a sleep
CONTROLS = ["Pause", "Resume", "Approve", "End bake now", "Abort"]
# status -> the controls a person may press in it (the API's rules, written out by hand)
ENABLED = {
    "AWAITING_APPROVAL": {"Pause", "Approve", "Abort"},
    "PAUSED": {"Resume", "Abort"},
    "ROLLED_BACK": set(),
}
COLOR = "#1b40ae"


@pytest.fixture
def fleet_on_fakes(stack, team, tmp_path):
    """Two bots of a new fleet, each RUNNING on a FakeGateway of its own (stopped after the test)."""
    gateways = LoopbackFleet(os.environ[LOOPBACK_ENV], tmp_path / "secrets")
    team.fleet_id = team.owner.post(f"{team.ws}/fleets", {"name": "console-rollouts"}).ok(201).body["id"]
    bots = [team.owner.post(f"{team.ws}/fleets/{team.fleet_id}/bots", {"name": name, "template_id": "minimal"})
            .ok(201).body["id"] for name in ("canary", "second")]
    fakes = gateways.start(len(bots))
    gateways.hand_over(team.workspace_id, bots, fakes)
    team.extra.update(bots=bots, fakes=dict(zip(bots, fakes, strict=True)))
    yield team
    gateways.stop()


def acknowledged_topics(page) -> list[str]:
    """The topics the page's stream connections were told they follow (the stream's "subscribed" answers)."""
    topics: list[str] = []

    def note(payload) -> None:
        try:
            message = json.loads(payload)
        except (TypeError, ValueError):
            return
        if message.get("type") == "subscribed":
            topics.append(message.get("topic"))

    page.on("websocket", lambda socket: socket.on("framereceived", note))
    return topics


def wait_until(page, holds, what: str, ceiling_ms: int = 60_000) -> None:
    """Poll `holds()` while the page's events run, up to the ceiling."""
    for _ in range(ceiling_ms // 100):
        if holds():
            return
        page.wait_for_timeout(100)
    pytest.fail(f"never saw {what}")


def rollouts_path(team) -> str:
    return f"/w/{team.workspace_id}/rollouts"


def status(page):
    return page.get_by_test_id("rollout-status")


def bot_state(page, wave: int, bot_id: str):
    return page.get_by_test_id(f"wave-{wave}").locator(f"tr[data-bot='{bot_id}'] td").first


def assert_controls(page, enabled: set[str], reason) -> None:
    """Each control enabled or disabled as the table says; a disabled one names why (`reason(label)`)."""
    for label in CONTROLS:
        button = page.get_by_role("button", name=label, exact=True)
        if label in enabled:
            expect(button).to_be_enabled()
        else:
            expect(button).to_be_disabled()
            expect(button).to_have_accessible_description(reason(label))


def by_status(state: str):
    return lambda label: f"Not while the rollout is {state}"


def test_an_operator_drives_a_rollout_from_the_page_and_sees_it_move_live(console_page, stack, fleet_on_fakes):
    team, page = fleet_on_fakes, console_page
    canary, second = team.extra["bots"]
    sign_in(page, stack, team.users["OPERATOR"], rollouts_path(team))
    expect(page.get_by_text("No rollouts yet")).to_be_visible()
    assert_accessible(page, "the rollouts page, empty")

    # The form sends what it is given; the API's 422 names the field, and the page shows it.
    page.get_by_label("Bot ids", exact=True).fill(f"{canary} {second}")
    page.get_by_label("Fleet", exact=True).select_option(team.fleet_id)
    page.get_by_label("Patch (JSON merge patch onto each bot's own config)").fill(json.dumps({"ui": {"seamColor": COLOR}}))
    page.get_by_role("button", name="Start rollout").click()
    expect(page.get_by_role("alert")).to_contain_text("targets: bot_ids or a selector, not both")
    assert [p for p in page.console_problems if "422" in p] == page.console_problems != []  # the browser's own line
    page.console_problems.clear()
    page.get_by_label("Fleet", exact=True).select_option("")
    page.get_by_label("Waves", exact=True).select_option("CANARY")
    page.get_by_label("Canary bot ids").fill(canary)
    page.get_by_label("Approval before waves").fill("1, 2")
    page.get_by_label("Bots at once in a wave").fill("1")
    page.get_by_label("Roll back above this share failed (%)").fill("50")
    page.get_by_label("…once this many bots are done").fill("2")
    page.get_by_role("button", name="Start rollout").click()

    # Its page: two waves, nothing moved; the workflow holds it for the first approval.
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Rollout \w+$"))
    rollout_id = page.url.rsplit("/", 1)[1]
    page.evaluate("window.stayed = true")  # gone if the page were loaded again
    spec = team.owner.get(f"{team.ws}/rollouts/{rollout_id}").ok(200).body["spec"]  # what the form sent
    assert (spec["targets"], spec["change"]["patch"], spec["strategy"]["kind"], spec["strategy"]["canary_bot_ids"],
            spec["max_concurrency"], spec["bake_s"], spec["abort"], spec["gates"], spec["approval_before_waves"]) == (
        {"bot_ids": [canary, second], "fleet_ids": [], "environments": [], "tags": {}}, {"ui": {"seamColor": COLOR}},
        "CANARY", [canary], 1, 0, {"failed_percent": 50, "min_done": 2}, ["gateway_health"], [1, 2])
    expect(status(page)).to_have_text("AWAITING_APPROVAL", timeout=ROLLOUT_MS)
    expect(bot_state(page, 1, canary)).to_have_text("PENDING")
    expect(bot_state(page, 2, second)).to_have_text("PENDING")
    assert_controls(page, ENABLED["AWAITING_APPROVAL"], by_status("AWAITING_APPROVAL"))
    assert_accessible(page, "a rollout awaiting approval")

    page.get_by_role("button", name="Pause", exact=True).click()
    expect(status(page)).to_have_text("PAUSED")
    assert_controls(page, ENABLED["PAUSED"], by_status("PAUSED"))
    page.get_by_role("button", name="Resume", exact=True).click()  # a pause while awaiting does not approve
    expect(status(page)).to_have_text("AWAITING_APPROVAL", timeout=ROLLOUT_MS)
    expect(bot_state(page, 1, canary)).to_have_text("PENDING")

    # Approved: the canary is changed on its gateway, its gate read, and the second wave waits; all of it
    # arrives on the stream while the page stays open (after the approve's own answer, nothing polls).
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(bot_state(page, 1, canary)).to_have_text("DONE", timeout=ROLLOUT_MS)
    wave1 = page.get_by_test_id("wave-1")
    expect(wave1.get_by_role("row", name=re.compile("gateway_health"))).to_contain_text("PASS", timeout=ROLLOUT_MS)
    expect(status(page)).to_have_text("AWAITING_APPROVAL", timeout=ROLLOUT_MS)
    expect(page.get_by_text("wave 2 needs an approval")).to_be_visible()
    expect(bot_state(page, 2, second)).to_have_text("PENDING")
    assert team.extra["fakes"][canary].config["ui"]["seamColor"] == COLOR

    # Abort asks first; then every bot the rollout changed goes back, live.
    page.get_by_role("button", name="Abort", exact=True).click()
    page.get_by_role("button", name="Abort the rollout").click()
    expect(status(page)).to_have_text("ROLLED_BACK", timeout=ROLLOUT_MS)
    expect(bot_state(page, 1, canary)).to_have_text("ROLLED_BACK", timeout=ROLLOUT_MS)
    expect(bot_state(page, 2, second)).to_have_text("PENDING")
    assert_controls(page, ENABLED["ROLLED_BACK"], by_status("ROLLED_BACK"))
    assert page.evaluate("window.stayed") is True
    assert (team.extra["fakes"][canary].config.get("ui") or {}).get("seamColor") != COLOR

    page.get_by_role("link", name="All rollouts").click()
    row = page.locator(f"tr[data-rollout='{rollout_id}']")
    expect(row).to_contain_text("ROLLED_BACK")
    expect(row).to_contain_text(team.users["OPERATOR"])


def test_a_viewer_sees_rollouts_arrive_live_and_every_control_disabled_with_the_reason(console_page, stack,
                                                                                       fleet_on_fakes):
    team, page = fleet_on_fakes, console_page
    canary, second = team.extra["bots"]
    followed = acknowledged_topics(page)
    sign_in(page, stack, team.users["VIEWER"], rollouts_path(team))
    expect(page.get_by_text("No rollouts yet")).to_be_visible()
    topic = f"workspaces/{team.workspace_id}"
    wait_until(page, lambda: topic in followed, f"the page following {topic}")
    viewer = "Needs the OPERATOR role; you are VIEWER"
    start = page.get_by_role("button", name="Start rollout")
    expect(start).to_be_disabled()
    expect(start).to_have_accessible_description(viewer)

    body = {"targets": {"bot_ids": [canary, second]}, "approval_before_waves": [1],
            "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": COLOR}}}}
    created = team.clients["OPERATOR"].post(f"{team.ws}/rollouts", body).ok(201).body
    try:
        link = page.get_by_role("link", name=created["id"])
        expect(link).to_be_visible()  # from the stream: the list read again on the rollout's status message
        assert_accessible(page, "the rollouts page")
        link.click()
        expect(status(page)).to_have_text("AWAITING_APPROVAL", timeout=ROLLOUT_MS)
        assert_controls(page, set(), lambda label: viewer)
        assert enabled_mutating_actions(page) == []
        assert_accessible(page, "a rollout, as a VIEWER")
    finally:
        team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{created['id']}/abort").ok(200)


def test_the_list_pages_through_the_apis_cursor_newest_first(console_page, stack, team):
    """25 ended rollouts, written to the table as a finished rollout leaves them (real ones take seconds each):
    a page shows 20, newest first; the next shows the other 5 and has no next page. The page is in the URL (a
    reload stays on it), and a page emptied meanwhile (as the one after an exactly full last page) says there are
    no more, with Previous leading back."""
    from clawster.store.entities import Rollout

    start = datetime.now(timezone.utc) - timedelta(hours=1)
    ids, items = [], []
    for n in range(25):
        rollout_id = str(ULID.from_datetime(start + timedelta(seconds=n)))
        spec = {"targets": {"bot_ids": [f"B{n}"]}, "change": {"kind": "refresh"}}
        item = Rollout(id=rollout_id, workspace_id=team.workspace_id, status="SUCCEEDED", spec=json.dumps(spec),
                       waves="[]", bot_count=1, created_by=team.users["OWNER"], ended_at=start)
        item.stamp()
        item.save()
        ids.append(rollout_id)
        items.append(item)
    newest_first = ids[::-1]

    sign_in(console_page, stack, team.users["VIEWER"], rollouts_path(team))
    rows = console_page.locator("tbody tr[data-rollout]")
    expect(rows).to_have_count(20)
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.rollout)") == newest_first[:20]
    previous, following = (console_page.get_by_role("button", name=n) for n in ("Previous page", "Next page"))
    expect(previous).to_be_disabled()
    following.click()
    expect(rows).to_have_count(5)
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.rollout)") == newest_first[20:]
    expect(following).to_be_disabled()
    console_page.reload()  # a new sign-in through the hosted UI's session, back to the URL's page
    expect(rows).to_have_count(5)
    expect(console_page.get_by_text("Page 2")).to_be_visible()
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.rollout)") == newest_first[20:]
    previous.click()
    expect(rows).to_have_count(20)
    expect(rows.first).to_have_attribute("data-rollout", newest_first[0])

    following.click()
    expect(rows).to_have_count(5)
    for item in items[:5]:  # the oldest five: the second page is now past the last one
        item.delete()
    console_page.reload()
    expect(console_page.get_by_text("No more rollouts: this page is past the last one.")).to_be_visible()
    expect(rows).to_have_count(0)
    expect(following).to_be_disabled()
    assert_accessible(console_page, "an empty page of rollouts")
    previous.click()
    expect(rows).to_have_count(20)

    # A rollout the workspace does not hold: the page says so (the API's 404), with a retry.
    missing = str(ULID())
    console_page.goto(f"{stack.console_url}{rollouts_path(team).lstrip('/')}/{missing}")
    expect(console_page.get_by_role("alert")).to_contain_text(f"rollout {missing} not found")
    expect(console_page.get_by_role("alert").get_by_role("button", name="Retry")).to_be_enabled()
    assert all("404" in p for p in console_page.console_problems)  # the browser's own line for the 404
    console_page.console_problems.clear()


def test_the_new_rollout_form_offers_every_fleet_beyond_the_first_page(console_page, stack, team):
    """101 fleets: the API gives them 100 at a time, and the form's Fleet and Source fleet choices hold all 101."""
    names = [f"many-fleet-{n:03}" for n in range(101)]
    for name in names:
        team.owner.post(f"{team.ws}/fleets", {"name": name}).ok(201)
    sign_in(console_page, stack, team.users["OPERATOR"], rollouts_path(team))
    fleet = console_page.get_by_label("Fleet", exact=True)
    expect(fleet.locator("option", has_text="many-fleet-100")).to_have_count(1)
    offered = fleet.locator("option").evaluate_all("os => os.map(o => o.textContent)")
    assert {name for name in names if any(text.startswith(f"{name} (") for text in offered)} == set(names)
