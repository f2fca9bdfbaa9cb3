"""A user of another workspace sees nothing of this one in the console: it is not in their list, and deep links
to its pages (which they could only have been given) show that it was not found, never its data."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.console.conftest import assert_accessible, sign_in


def test_a_user_of_another_workspace_sees_nothing_of_it(console_page, stack, client_for, new_user):
    owner, member, outsider = new_user("owner"), new_user("secret-member"), new_user("outsider")
    names = ["hidden-ws-4821", "hidden-fleet-7730", "hidden-bot-1159", member]  # none may appear to the outsider
    api = client_for(owner)
    ws = api.post("/workspaces", {"name": names[0], "description": "hidden-description"}).ok(201).body["id"]
    fleet = api.post(f"/workspaces/{ws}/fleets", {"name": names[1]}).ok(201).body["id"]
    bot = api.post(f"/workspaces/{ws}/fleets/{fleet}/bots", {"name": names[2], "template_id": "minimal"}).ok(201).body["id"]
    api.put(f"/workspaces/{ws}/members/{member}", {"role": "VIEWER"}).ok(201)
    client_for(outsider).post("/workspaces", {"name": "outsiders-own"}).ok(201)

    page = console_page
    sign_in(page, stack, outsider)
    expect(page.get_by_role("link", name="outsiders-own")).to_be_visible()
    assert len(page.locator("table tbody tr").all()) == 1  # their own workspace only
    _shows_none_of(page, names + [ws, owner])

    for path in (f"w/{ws}", f"w/{ws}/fleets/{fleet}", f"w/{ws}/bots/{bot}", f"w/{ws}/members", f"w/{ws}/audit",
                 f"w/{ws}/rollouts",
                 f"w/{ws}/fleets/{fleet}/new"):
        page.goto(f"{stack.console_url}{path}")
        expect(page.get_by_role("alert").or_(page.get_by_role("heading", name="Not found"))).to_be_visible()
        alerts = page.get_by_role("alert")
        if alerts.count():
            expect(alerts).to_contain_text(f"workspace {ws} not found")  # the API's 404: not even "forbidden"
        _shows_none_of(page, names + [owner, "hidden-description"])
        assert_accessible(page, f"{path} for a user of another workspace")
        # The browser logs each refused request; 404s and nothing else are expected here.
        assert all("status of 404" in p for p in page.console_problems), page.console_problems
        page.console_problems.clear()


def test_a_page_reached_straight_from_another_workspaces_page_is_read_in_its_own(console_page, stack, team):
    """Going two pages back at once (the back button's menu) from a workspace's page to another's fleet: the page
    asks its own workspace (with the last one's still in place, it asked that one for this fleet: a 404, which
    the browser logs and `console_page` fails on)."""
    team.with_bot()
    team.owner.post("/workspaces", {"name": "other"}).ok(201)
    page, heading = console_page, console_page.get_by_role("heading", level=1)
    sign_in(page, stack, team.users["OWNER"], f"w/{team.workspace_id}/fleets/{team.fleet_id}")
    expect(heading).to_have_text("Fleet fleet-a")
    page.get_by_role("link", name="Clawster").click()
    page.get_by_role("link", name="other").click()
    expect(heading).to_have_text("Fleets · other")
    page.evaluate("history.go(-2)")
    expect(heading).to_have_text("Fleet fleet-a")
    expect(page.get_by_role("link", name="bot-a")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)


def _shows_none_of(page, secrets: list[str]) -> None:
    html = page.content()
    for secret in secrets:
        assert secret not in html, f"{secret!r} is on the page"
