"""The console's main flow in a real browser, by a new user (issue 13, point 4): sign in, create a workspace and a
fleet, create a bot on the local target (a real OpenClaw gateway) and watch it reach RUNNING through the live view,
change its config and see the diff, restart it (from the keyboard alone), see the audit entries for all that, and
delete it. Every page visited passes the axe scan; any browser console error fails the test (console_page).

The bot is deleted at the end through the page, and in any case by the `finally` below, so no gateway outlives
the test."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import expect

from tests.console.conftest import assert_accessible, sign_in

pytestmark = pytest.mark.slow  # a real gateway, provisioned, changed, restarted and removed: minutes

PROVISION_MS = 180_000  # a real gateway on a busy 2-core machine: tens of seconds, sometimes more
GONE_S = 180
BEFORE, AFTER = "#111111", "#1b40ae"
# What the audit trail must show for the bot, written out by hand: the user's three requests (with their role)
# and the workflow's three completions (actor "workflow"). Checked as a subset: the trail may hold more.
EXPECTED_AUDIT = {("bot.create", "OWNER"), ("bot.update", "OWNER"), ("bot.restart", "OWNER"),
                  ("bot.provision.running", None), ("bot.apply.running", None), ("bot.restart.running", None)}

# Records each change of the step rows on the bot page, with the status shown then and how many reads of the
# steps (GET .../provisioning) had answered: rows added with no read in between came from the stream.
WATCH_STEPS = """() => {
  performance.setResourceTimingBufferSize(100000);
  window.__stepLog = [];
  const reads = () => performance.getEntriesByType('resource').filter(e => e.name.includes('/provisioning')).length;
  new MutationObserver(() => {
    const rows = [...document.querySelectorAll('table.steps tbody tr')].map(r => r.dataset.step + ':' +
      r.querySelector('td').textContent);
    const status = document.querySelector('[data-testid=bot-status]')?.textContent ?? null;
    const last = window.__stepLog[window.__stepLog.length - 1];
    if (!last || last.rows.join() !== rows.join()) window.__stepLog.push({rows, status, reads: reads()});
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def test_a_new_user_runs_a_bot_from_creation_to_deletion_in_the_console(console_page, stack, new_user, client_for):
    page, user = console_page, new_user("flow")
    api = client_for(user)
    workspace_id = bot_id = None
    try:
        sign_in(page, stack, user)
        assert_accessible(page, "the workspaces page")
        page.get_by_label("Name").fill("flow-workspace")
        page.get_by_role("button", name="Create workspace").click()
        page.get_by_role("link", name="flow-workspace").click()
        page.get_by_role("heading", name="Fleets · flow-workspace").wait_for()
        workspace_id = page.url.rstrip("/").split("/w/")[1]
        page.get_by_label("Name").fill("flow-fleet")
        page.get_by_role("button", name="Create fleet").click()
        fleet_link = page.get_by_role("link", name="flow-fleet")
        fleet_link.wait_for()
        assert_accessible(page, "the fleets page")
        fleet_path = fleet_link.get_attribute("href")

        # The fleet's page (its bot list) links "New bot" here; reached by its address, as a deep link is.
        page.goto(f"{stack.api_url}{fleet_path}/new")
        page.get_by_role("heading", name="New bot in flow-fleet").wait_for()
        assert_accessible(page, "the new-bot page")
        page.get_by_label("Name").fill("flow-bot")
        page.get_by_label("Template").select_option("minimal")
        page.get_by_label("Its own config (JSON, optional)").fill(json.dumps({"ui": {"seamColor": BEFORE}}))
        page.get_by_label("Target").select_option("local")
        page.evaluate(WATCH_STEPS)  # the page stays: the app navigates in place
        page.get_by_role("button", name="Create bot").click()

        page.wait_for_url(re.compile(r"/bots/\w+$"))
        bot_id = page.url.rsplit("/", 1)[1]
        status = page.get_by_test_id("bot-status")
        page.get_by_text("Live updates on").wait_for()
        page.locator("table.steps tbody tr").first.wait_for(timeout=PROVISION_MS)
        assert_accessible(page, "the bot page while it is provisioned")
        expect(status).to_have_text("RUNNING", timeout=PROVISION_MS)
        assert_live_steps(page.evaluate("window.__stepLog"))
        expect(page.get_by_test_id("revision-state")).to_have_text("(the desired one)")
        assert_accessible(page, "the bot page with a running bot")

        # Its own config, edited: a new revision, applied to the gateway, and its diff with the one before.
        editor = page.get_by_label("The bot's own config layer (JSON)")
        expect(editor).to_have_value(re.compile(re.escape(BEFORE)))
        editor.fill(json.dumps({"ui": {"seamColor": AFTER}}))
        page.get_by_role("button", name="Save config").click()
        page.get_by_role("heading", name="Revision #1 → #2").wait_for()
        row = page.locator("table.diff-table tbody tr").filter(has_text=BEFORE)
        expect(row.locator("td.left.removed")).to_contain_text(f'"seamColor": "{BEFORE}"')
        expect(row.locator("td.right.added")).to_contain_text(f'"seamColor": "{AFTER}"')
        expect(row.locator("td.left .sr-only")).to_have_text("removed: ")  # not by colour alone
        expect(row.locator("td.right .sr-only")).to_have_text("added: ")
        expect(page.get_by_role("list", name="Changed paths")).to_contain_text(f'ui.seamColor changed: "{BEFORE}" → "{AFTER}"')
        assert_accessible(page, "the bot page with a revision diff")
        expect(page.get_by_test_id("revision-state")).to_have_text("(the desired one)", timeout=PROVISION_MS)
        expect(status).to_have_text("RUNNING")

        # Restart from the keyboard alone: Tab from the page's heading reaches the button; Enter presses it.
        restart = page.get_by_role("button", name="Restart", exact=True)
        expect(restart).to_be_enabled()
        expect(page.get_by_role("button", name="Start", exact=True)).to_be_disabled()  # not what RUNNING takes
        page.get_by_role("heading", level=1).focus()
        for _ in range(80):
            page.keyboard.press("Tab")
            if restart.evaluate("button => button === document.activeElement"):
                break
        else:
            raise AssertionError("Tab never reached the Restart button")
        page.keyboard.press("Enter")
        page.get_by_text("restart is running").wait_for()
        page.get_by_text("restart ended").wait_for(timeout=PROVISION_MS)
        expect(status).to_have_text("RUNNING")
        assert_accessible(page, "the bot page after a restart")

        # The audit trail, filtered to the bot.
        page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Audit").click()
        page.get_by_label("Target").fill(f"bot/{bot_id}")
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_url(re.compile(rf"[?&]target=bot%2F{bot_id}"))
        table = page.get_by_role("table", name="Audit events, newest first")
        for action in sorted({action for action, _ in EXPECTED_AUDIT}):
            expect(table.locator(f"tr[data-action='{action}']").first).to_be_visible()
        shown = {(row.get_attribute("data-action"), role_of(row.locator("td").nth(1).inner_text()))
                 for row in table.locator("tbody tr").all()}
        assert EXPECTED_AUDIT <= shown, f"missing from the audit page: {EXPECTED_AUDIT - shown}"
        targets = table.locator("tbody tr td:nth-child(5)").all_inner_texts()
        assert targets and set(targets) == {f"bot/{bot_id}"}, targets
        assert_accessible(page, "the audit page")

        # Deleted through its page, confirmed first; the page follows the deletion to its end.
        page.get_by_role("link", name=f"bot/{bot_id}").first.click()
        page.get_by_role("button", name="Delete…").click()
        expect(page.get_by_role("button", name="Cancel")).to_be_focused()
        assert_accessible(page, "the bot page asking to confirm a delete")
        page.get_by_role("button", name="Delete bot flow-bot").click()
        page.get_by_role("heading", name="Bot deleted").wait_for(timeout=PROVISION_MS)
        assert api.get(f"/workspaces/{workspace_id}/bots/{bot_id}").status == 404
    finally:
        if workspace_id and bot_id:
            delete_bot(api, f"/workspaces/{workspace_id}/bots/{bot_id}")


def role_of(actor_cell: str) -> str | None:
    """The role the audit page shows in parentheses after the actor, if any."""
    found = re.search(r"\((\w+)\)$", actor_cell.strip())
    return found.group(1) if found else None


def assert_live_steps(log: list[dict]) -> None:
    """While the bot was not yet RUNNING, a step row appeared with no read of the steps answering in between:
    the stream, not a reload, put it there."""
    for before, after in zip(log, log[1:], strict=False):
        new_rows = {r.split(":")[0] for r in after["rows"]} - {r.split(":")[0] for r in before["rows"]}
        if before["rows"] and new_rows and after["reads"] == before["reads"] and after["status"] != "RUNNING":
            return
    raise AssertionError(f"no step appeared live before RUNNING: {log}")


def delete_bot(api, path: str) -> None:
    """Make sure the bot and its gateway are gone (after a failure midway: whatever state it was left in)."""
    deadline = time.monotonic() + GONE_S
    while time.monotonic() < deadline:
        bot = api.get(path)
        if bot.status == 404:
            return
        if bot.body["status"] not in ("CREATING", "RECONCILING", "DELETING"):
            api.delete(path, etag=bot.etag)
        time.sleep(1)  # polling the bot's state until it is gone, not a fixed wait
    raise AssertionError(f"the bot {path} was not gone after {GONE_S}s")
