"""The write paths of the members and fleet pages, in a real browser: add a member, change a role, remove one (after
confirming); rename a workspace and delete one by typing its name; create a fleet on a target, edit it, delete it
(after confirming), and the API's refusal to delete a fleet that still has bots. Each outcome is checked through
the API, not only on the page."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.console.conftest import assert_accessible, record_frames, sign_in, wait_subscribed


def test_an_owner_adds_a_member_changes_the_role_and_removes_them(console_page, stack, team):
    page, newcomer = console_page, f"new-{team.users['VIEWER']}"
    sign_in(page, stack, team.users["OWNER"], f"w/{team.workspace_id}/members")
    page.get_by_label("User id").fill(newcomer)
    page.get_by_label("Role", exact=True).select_option("VIEWER")
    page.get_by_role("button", name="Save member").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=newcomer, exact=True))
    expect(row).to_be_visible()
    assert _roles(team)[newcomer] == "VIEWER"

    row.get_by_label(f"Role of {newcomer}").select_option("OPERATOR")
    row.get_by_role("button", name="Save role").click()
    # saved: neither the button nor its busy state remains once the row's role is the member's
    expect(row.get_by_role("button", name=re.compile("Save role|Working"))).to_have_count(0)
    assert _roles(team)[newcomer] == "OPERATOR"

    row.get_by_role("button", name=f"Remove {newcomer}").click()
    confirm = row.get_by_role("button", name="Yes, remove")
    expect(confirm).to_be_focused()  # the question takes the keyboard's focus
    assert_accessible(page, "the members page, confirming a removal")
    page.keyboard.press("Enter")
    expect(row).to_have_count(0)
    assert newcomer not in _roles(team)


def test_an_owner_renames_the_workspace_and_deletes_it_by_typing_its_name(console_page, stack, client_for, new_user):
    owner = new_user("owner")
    ws = client_for(owner).post("/workspaces", {"name": "short-lived"}).ok(201).body["id"]
    page = console_page
    sign_in(page, stack, owner, f"w/{ws}/members")
    expect(page.get_by_role("heading", level=1)).to_have_text("Members · short-lived")
    page.get_by_label("Name", exact=True).fill("renamed-here")
    page.get_by_label("Description").fill("from the console")
    page.get_by_role("button", name="Save workspace").click()
    expect(page.get_by_text("Type the workspace's name, renamed-here, to confirm")).to_be_visible()
    # the page's heading and title follow at once (not only once the workspace is opened again)
    expect(page.get_by_role("heading", level=1)).to_have_text("Members · renamed-here")
    expect(page).to_have_title("Members · renamed-here · Clawster")
    stored = client_for(owner).get(f"/workspaces/{ws}").ok(200).body
    assert (stored["name"], stored["description"], stored["version"]) == ("renamed-here", "from the console", 2)

    delete = page.get_by_role("button", name="Delete workspace")
    expect(delete).to_be_disabled()
    page.get_by_label("Type the workspace's name").fill("renamed")  # not quite
    expect(delete).to_be_disabled()
    page.get_by_label("Type the workspace's name").fill("renamed-here")
    delete.click()
    expect(page.get_by_role("heading", name="Workspaces")).to_be_visible()
    expect(page.get_by_text("You belong to no workspace yet", exact=False)).to_be_visible()
    assert client_for(owner).get(f"/workspaces/{ws}").status == 404


def test_an_admin_creates_a_fleet_on_a_target_edits_and_deletes_it(console_page, stack, team):
    page = console_page
    sign_in(page, stack, team.users["ADMIN"], f"w/{team.workspace_id}")
    expect(page.get_by_text("No fleets yet.", exact=False)).to_be_visible()
    page.get_by_label("Name").fill("made-here")
    page.get_by_label("Environment").select_option("prod")
    page.get_by_label("Target").select_option("local")
    # only the targets a fleet may name (the test stack's GET /targets also lists its test-only loopback target)
    offered = page.get_by_label("Target").locator("option").evaluate_all("options => options.map(o => o.value)")
    assert sorted(offered) == sorted(["", "local", "ecs", "cloudrun", "aci"])
    page.get_by_role("button", name="Create fleet").click()
    page.get_by_role("link", name="made-here").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fleet made-here")
    expect(page.get_by_text("No bots in this fleet yet.")).to_be_visible()
    [fleet] = team.owner.get(f"{team.ws}/fleets").ok(200).body["items"]
    assert (fleet["name"], fleet["environment"], fleet["target"]) == ("made-here", "prod", "local")

    page.get_by_label("Description").fill("edited here")
    page.get_by_label("Environment").select_option("staging")
    page.get_by_role("button", name="Save fleet").click()
    expect(page.get_by_role("definition").filter(has_text="edited here")).to_be_visible()
    stored = team.owner.get(f"{team.ws}/fleets/{fleet['id']}").ok(200).body
    assert (stored["description"], stored["environment"], stored["version"]) == ("edited here", "staging", 2)

    page.get_by_role("button", name="Delete fleet").click()
    page.get_by_role("button", name="Yes, delete the fleet").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fleets · team")
    expect(page.get_by_text("No fleets yet.", exact=False)).to_be_visible()
    assert team.owner.get(f"{team.ws}/fleets/{fleet['id']}").status == 404


def test_a_fleet_renamed_elsewhere_keeps_its_name_when_its_open_page_saves_a_description(console_page, stack, team):
    """The fleet's page reads the fleet again on a message of its stream; its settings then start from that version,
    so saving them does not send back the name the page showed before."""
    from clawster.services import stream

    fleet = team.owner.post(f"{team.ws}/fleets", {"name": "before"}).ok(201).body
    topic = f"workspaces/{team.workspace_id}/fleets/{fleet['id']}"
    page = console_page
    frames = record_frames(page)
    sign_in(page, stack, team.users["ADMIN"], f"w/{team.workspace_id}/fleets/{fleet['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Fleet before")
    wait_subscribed(page, frames, topic)
    team.owner.patch(f"{team.ws}/fleets/{fleet['id']}", {"name": "after"}, etag='"1"').ok(200)
    stream.publish(topic, "bot.status", {"bot_id": "elsewhere", "status": "RUNNING"})  # the page reads its fleet
    expect(page.get_by_role("heading", level=1)).to_have_text("Fleet after")

    page.get_by_label("Description").fill("edited here")
    page.get_by_role("button", name="Save fleet").click()
    expect(page.get_by_role("definition").filter(has_text="edited here")).to_be_visible()
    stored = team.owner.get(f"{team.ws}/fleets/{fleet['id']}").ok(200).body
    assert (stored["name"], stored["description"], stored["version"]) == ("after", "edited here", 3)


def test_deleting_a_fleet_with_bots_shows_the_apis_refusal(console_page, stack, team):
    team.with_bot()
    page = console_page
    sign_in(page, stack, team.users["ADMIN"], f"w/{team.workspace_id}/fleets/{team.fleet_id}")
    page.get_by_role("button", name="Delete fleet").click()
    page.get_by_role("button", name="Yes, delete the fleet").click()
    expect(page.get_by_role("alert")).to_contain_text("fleet has 1 bot(s); delete them first")
    assert page.console_problems and all("status of 409" in p for p in page.console_problems), page.console_problems
    page.console_problems.clear()
    assert team.owner.get(f"{team.ws}/fleets/{team.fleet_id}").ok(200).body["bot_count"] == 1


def _roles(team) -> dict[str, str]:
    return {m["user_id"]: m["role"] for m in team.owner.get(f"{team.ws}/members").ok(200).body["items"]}
