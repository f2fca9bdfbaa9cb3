"""The bot pages and the audit page in a real browser, on bots without a gateway (fast; the flow with a real
gateway is test_bot_flow.py): the audit trail's filters in the URL and its pages both ways, the 403 below ADMIN,
a VIEWER's disabled actions, the actions a bot's status takes, and a config edit the API refuses, named by its
field."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.console.conftest import Held, assert_accessible, enabled_mutating_actions, sign_in

FLEET_EDITS = 52  # with its create, 53 events on the fleet: a page of 50 (the audit page's size), then 3


def expect_refused_in_console(page, status: int) -> None:
    """The browser logs a request the API refused (4xx) as a console error: expected here, so taken off the
    problems that fail the test, after checking that this refusal, and only it, is what was logged."""
    logged = [p for p in page.console_problems if f"status of {status}" in p]
    assert logged, f"expected the {status} in the browser console: {page.console_problems}"
    for problem in logged:
        page.console_problems.remove(problem)


def test_the_audit_filters_live_in_the_url_and_its_pages_go_both_ways(console_page, stack, team):
    page = console_page
    fleet = team.owner.post(f"{team.ws}/fleets", {"name": "audited"}).ok(201).body
    for version in range(1, FLEET_EDITS + 1):
        team.owner.patch(f"{team.ws}/fleets/{fleet['id']}", {"tags": {"n": str(version)}}, etag=f'"{version}"').ok(200)
    target = f"fleet/{fleet['id']}"
    sign_in(page, stack, team.users["ADMIN"], f"/w/{team.workspace_id}/audit?target={target.replace('/', '%2F')}")
    rows = page.get_by_role("table", name="Audit events, newest first").locator("tbody tr")
    expect(page.get_by_label("Target")).to_have_value(target)  # the form shows the URL's filter
    expect(rows).to_have_count(50)
    expect(page.get_by_role("button", name="Previous")).to_be_disabled()
    assert_accessible(page, "the audit page")

    page.get_by_role("button", name="Next").click()
    page.wait_for_url(re.compile(r"[?&]cursor="))
    expect(rows).to_have_count(3)  # the oldest three: the create and the first two edits
    expect(rows.locator("td:nth-child(3)")).to_have_text(["fleet.update", "fleet.update", "fleet.create"])
    expect(page.get_by_text("Page 2")).to_be_visible()
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    page.get_by_role("button", name="Previous").click()
    expect(rows).to_have_count(50)
    assert "cursor=" not in page.url and f"target={target.replace('/', '%2F')}" in page.url
    page.go_back()  # the browser's history holds each page: back is page 2 again
    expect(rows).to_have_count(3)
    expect(page.get_by_text("Page 2")).to_be_visible()

    page.get_by_label("Action").fill("fleet.create")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"action=fleet\.create"))
    assert "cursor=" not in page.url  # new filters start at the first page
    expect(rows).to_have_count(1)
    page.get_by_label("Actor").fill("nobody-at-all")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("No event matches these filters.")).to_be_visible()
    page.get_by_role("button", name="Clear").click()
    page.wait_for_url(re.compile(r"/audit$"))
    expect(page.get_by_label("Target")).to_have_value("")
    expect(rows.first).to_be_visible()

    # A page emptied meanwhile (as the one after an exactly full last page) says there are no more, and Previous
    # leads back. The trail is append-only through the API: the oldest three are taken off the table itself.
    page.get_by_label("Target").fill(target)
    page.get_by_role("button", name="Apply filters").click()
    expect(rows).to_have_count(50)
    page.get_by_role("button", name="Next").click()
    expect(rows).to_have_count(3)
    _delete_oldest_events(team.workspace_id, target, 3)
    page.reload()  # a new sign-in through the hosted UI's session, back to the URL's page
    expect(page.get_by_text("No more audit events: this page is past the last one.")).to_be_visible()
    expect(rows).to_have_count(0)
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    page.get_by_role("button", name="Previous").click()
    expect(rows).to_have_count(50)


def _delete_oldest_events(workspace_id: str, target: str, count: int) -> None:
    from clawster.store.entities import AuditEvent

    events = AuditEvent.query(AuditEvent.partition(workspace_id), filter_condition=AuditEvent.target == target)
    for event in sorted(events, key=lambda e: e.id)[:count]:
        event.delete()


def test_older_revisions_are_read_one_request_at_a_time_and_a_failed_read_can_be_retried(console_page, stack, team):
    team.with_bot()
    bot_path = f"{team.ws}/bots/{team.bot_id}"
    for n in range(20):  # with its first, 21 revisions: the page shows the newest 20, then the oldest
        bot = team.owner.get(bot_path).ok(200)
        team.owner.patch(bot_path, {"config": {"ui": {"seamColor": f"#0000{n:02}"}}}, etag=bot.etag).ok(200)
    page = console_page
    sign_in(page, stack, team.users["VIEWER"], f"/w/{team.workspace_id}/bots/{team.bot_id}")
    revisions = page.get_by_role("table", name="Revisions, newest first").locator("tbody tr")
    expect(revisions).to_have_count(20)
    older = page.get_by_role("button", name="Older revisions")
    held = Held(page, re.compile(r"/revisions\?.*cursor="))
    older.click()
    expect(older).to_be_disabled()  # a second click would read the same page again
    held.fail()
    expect(page.get_by_role("alert")).to_contain_text("Something went wrong")
    assert page.console_problems and all("ERR_FAILED" in p for p in page.console_problems), page.console_problems
    page.console_problems.clear()
    older.click()
    expect(revisions).to_have_count(21)
    expect(page.get_by_role("alert")).to_have_count(0)  # the failure's note goes with the read that succeeded


def test_below_admin_the_audit_trail_is_not_allowed(console_page, stack, team):
    page = console_page
    sign_in(page, stack, team.users["OPERATOR"], f"/w/{team.workspace_id}/audit")
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("Not allowed")
    expect(refusal).to_contain_text("Forbidden")
    assert_accessible(page, "the audit page refused")
    expect_refused_in_console(page, 403)


def test_a_viewer_sees_every_action_of_the_bot_pages_disabled_with_the_reason(console_page, stack, team):
    team.with_bot()
    page = console_page
    sign_in(page, stack, team.users["VIEWER"], f"/w/{team.workspace_id}/bots/{team.bot_id}")
    page.get_by_role("heading", name="Bot bot-a").wait_for()
    expect(page.get_by_role("button", name="Restart")).to_be_disabled()
    expect(page.get_by_role("button", name="Save config")).to_be_disabled()
    expect(page.get_by_text("Needs the OPERATOR role; you are VIEWER").first).to_be_visible()
    expect(page.get_by_text("Needs the ADMIN role; you are VIEWER")).to_be_visible()  # delete: ADMIN
    assert enabled_mutating_actions(page) == []
    assert_accessible(page, "the bot page, for a VIEWER")

    page.goto(f"{stack.console_url}w/{team.workspace_id}/fleets/{team.fleet_id}/new")
    page.get_by_role("heading", name="New bot in fleet-a").wait_for()
    expect(page.get_by_role("button", name="Create bot")).to_be_disabled()
    # only the targets a bot may name (the test stack's GET /targets also lists its test-only loopback target)
    offered = page.get_by_label("Target").locator("option").evaluate_all("options => options.map(o => o.value)")
    assert sorted(offered) == sorted(["", "local", "ecs", "cloudrun", "aci"])
    assert enabled_mutating_actions(page) == []
    assert_accessible(page, "the new-bot page, for a VIEWER")


def test_a_config_edit_the_api_refuses_is_shown_with_its_field_and_a_stale_one_as_a_conflict(console_page, stack, team):
    team.with_bot()
    page = console_page
    bot_path = f"{team.ws}/bots/{team.bot_id}"
    sign_in(page, stack, team.users["OPERATOR"], f"/w/{team.workspace_id}/bots/{team.bot_id}")
    editor = page.get_by_label("The bot's own config layer (JSON)")
    expect(editor).to_have_value("{}")  # the bot's own layer: everything else is its template's
    # what a PENDING bot takes (the API's allowed_actions): a provision; not a restart, with the reason
    expect(page.get_by_role("button", name="Provision")).to_be_enabled()
    expect(page.get_by_role("button", name="Restart")).to_be_disabled()
    expect(page.get_by_role("button", name="Restart")).to_have_accessible_description("Not while PENDING")
    save = page.get_by_role("button", name="Save config")

    editor.fill('{"gateway": ')
    save.click()
    expect(page.get_by_role("alert")).to_contain_text("config: not valid JSON")  # not sent at all

    editor.fill('{"gateway": {"port": "nope"}}')
    save.click()
    expect(page.get_by_role("alert")).to_contain_text("config.gateway.port")
    expect_refused_in_console(page, 422)

    bot = team.owner.get(bot_path).ok(200)
    team.owner.patch(bot_path, {"name": "renamed"}, etag=bot.etag).ok(200)  # someone else, meanwhile
    editor.fill('{"gateway": {"port": 18801}}')
    save.click()
    expect(page.get_by_role("alert")).to_contain_text("is at version 2, not 1")
    expect_refused_in_console(page, 409)
    expect(page.get_by_text("Edited from version 1; the bot is at version 2 now")).to_be_visible()
    expect(editor).to_have_value('{"gateway": {"port": 18801}}')  # the user's text is kept
    page.get_by_role("button", name="Discard changes and reload").click()
    expect(editor).to_have_value("{}")
    editor.fill('{"gateway": {"port": 18801}}')
    save.click()
    page.get_by_role("heading", name="Revision #1 → #2").wait_for()
    expect(page.get_by_role("list", name="Changed paths")).to_contain_text("gateway.port added: 18801")
    assert team.owner.get(bot_path).ok(200).body["config"] == {"gateway": {"port": 18801}}
    assert_accessible(page, "the bot page after a config edit")
