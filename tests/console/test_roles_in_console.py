"""What each role may do, as the console shows it: on every page, each control that changes something is enabled
exactly when the role may take that action, and a disabled one says which role it needs. The expectations are
written out here by hand per role and page (not read from the console's generated table); a call the console
would not offer, forced anyway, is refused by the API and shown as "Not allowed"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.console.conftest import assert_accessible, enabled_mutating_actions, sign_in

# The mutating controls of each page and the role each needs. "any" = any signed-in user (creating a workspace).
CONTROLS = {
    "workspaces": {"Create workspace": "any"},
    "fleets": {"Create fleet": "ADMIN"},
    "fleet": {"New bot": "OPERATOR", "Save fleet": "ADMIN", "Delete fleet": "ADMIN"},
    "members": {"Remove {OWNER}": "ADMIN", "Remove {ADMIN}": "ADMIN", "Remove {OPERATOR}": "ADMIN",
                "Remove {VIEWER}": "ADMIN", "Save member": "ADMIN", "Save workspace": "ADMIN",
                "Delete workspace": "OWNER"},
    "rollouts": {"Start rollout": "OPERATOR"},
    "bot": {"Restart": "OPERATOR", "Stop": "OPERATOR", "Start": "OPERATOR", "Pause": "OPERATOR", "Resume": "OPERATOR",
            "Provision": "OPERATOR", "Delete…": "ADMIN", "Save config": "OPERATOR"},
    "audit": {},  # reading it needs ADMIN: below that, the API's 403 is the page
}
# Controls the role's rank allows but that stay disabled for another reason, with that reason.
HELD_BACK = {
    **{action: "Not while PENDING" for action in ("Restart", "Stop", "Start", "Pause", "Resume")},  # the bot's status
    "Remove {OWNER}": "Only an OWNER may change an OWNER",  # the API's rule: only an OWNER changes an OWNER
    "Delete workspace": "Type the workspace's name first",  # until the name is typed
}
RANK = {"any": 0, "VIEWER": 1, "OPERATOR": 2, "ADMIN": 3, "OWNER": 4}
# role -> the controls enabled for it on each page, by hand
ENABLED = {
    "VIEWER": {"workspaces": ["Create workspace"], "fleets": [], "fleet": [], "members": [], "rollouts": [], "bot": [],
               "audit": []},
    "OPERATOR": {"workspaces": ["Create workspace"], "fleets": [], "fleet": ["New bot"], "members": [],
                 "rollouts": ["Start rollout"], "bot": ["Provision", "Save config"], "audit": []},
    "ADMIN": {"workspaces": ["Create workspace"], "fleets": ["Create fleet"],
              "fleet": ["New bot", "Save fleet", "Delete fleet"],
              "members": ["Remove {ADMIN}", "Remove {OPERATOR}", "Remove {VIEWER}", "Save member", "Save workspace"],
              "rollouts": ["Start rollout"], "bot": ["Provision", "Delete…", "Save config"], "audit": []},
    "OWNER": {"workspaces": ["Create workspace"], "fleets": ["Create fleet"],
              "fleet": ["New bot", "Save fleet", "Delete fleet"],
              "members": ["Remove {OWNER}", "Remove {ADMIN}", "Remove {OPERATOR}", "Remove {VIEWER}", "Save member",
                          "Save workspace"],
              "rollouts": ["Start rollout"], "bot": ["Provision", "Delete…", "Save config"], "audit": []},
}


def _pages(team, role: str) -> dict[str, tuple[str, str]]:
    """page -> (its path, the text that shows it has loaded)."""
    ws = f"w/{team.workspace_id}"
    return {"workspaces": ("", "team"), "fleets": (ws, "fleet-a"), "fleet": (f"{ws}/fleets/{team.fleet_id}", "bot-a"),
            "members": (f"{ws}/members", "Delete workspace"),
            "rollouts": (f"{ws}/rollouts", "No rollouts yet: start one below."),
            "bot": (f"{ws}/bots/{team.bot_id}", "Bot bot-a"),
            "audit": (f"{ws}/audit", "Not allowed" if RANK[role] < RANK["ADMIN"] else "bot.create")}


def _controls(page) -> dict[str, tuple[bool, str | None]]:
    """Each mutating control's text -> (enabled, the reason shown beside it when disabled)."""
    found = page.eval_on_selector_all("[data-mutating='true']", """els => els.map(e => [e.textContent, !e.disabled,
        e.getAttribute('aria-describedby') && document.getElementById(e.getAttribute('aria-describedby'))?.textContent])""")
    return {text: (enabled, reason) for text, enabled, reason in found}


def _named(names: list[str] | dict, team) -> list[str]:
    return [name.format(**team.users) for name in names]


@pytest.mark.parametrize("role", ["VIEWER", "OPERATOR", "ADMIN", "OWNER"])
def test_each_role_sees_exactly_its_actions_enabled_and_the_reason_for_the_others(console_page, stack, team, role):
    team.with_bot()
    page = console_page
    sign_in(page, stack, team.users[role])
    for name, (path, loaded) in _pages(team, role).items():
        page.goto(f"{stack.console_url}{path}")
        page.get_by_role("heading", level=1).wait_for()
        expect(page.get_by_text(loaded, exact=True).first).to_be_visible()
        expect(page.locator("[data-mutating='true']")).to_have_count(len(CONTROLS[name]))  # every part has loaded
        controls = _controls(page)
        assert sorted(controls) == sorted(_named(list(CONTROLS[name]), team)), name
        assert sorted(enabled_mutating_actions(page)) == sorted(_named(ENABLED[role][name], team)), name
        for control, needs in CONTROLS[name].items():
            enabled, reason = controls[control.format(**team.users)]
            if RANK[role] < RANK[needs]:
                assert reason == f"Needs the {needs} role; you are {role}", (name, control)
            elif not enabled:
                assert reason == HELD_BACK[control], (name, control)
        if role in ("VIEWER", "OWNER"):
            assert_accessible(page, f"the {name} page as {role}")
        if name == "audit" and loaded == "Not allowed":  # the browser logs the refused read: expected here, only here
            assert all("status of 403" in p for p in page.console_problems), page.console_problems
            page.console_problems.clear()


def test_an_operators_forced_member_change_is_refused_by_the_api_and_shown_as_not_allowed(console_page, stack, team):
    page = console_page
    sign_in(page, stack, team.users["OPERATOR"], f"w/{team.workspace_id}/members")
    save = page.get_by_role("button", name="Save member")
    expect(save).to_be_disabled()
    page.get_by_label("User id").fill("someone-new")
    page.get_by_label("Role", exact=True).select_option("ADMIN")
    page.locator("#add-member-form").evaluate("form => form.requestSubmit()")  # past the disabled button
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("Not allowed")
    expect(refusal).to_contain_text("Forbidden")
    # The browser logs the refused request itself; that, and only that, is expected here.
    assert page.console_problems and all("status of 403" in p for p in page.console_problems), page.console_problems
    page.console_problems.clear()
    members = team.owner.get(f"{team.ws}/members").ok(200).body["items"]
    assert "someone-new" not in [m["user_id"] for m in members]


def test_a_member_of_more_workspaces_than_a_page_holds_reaches_each_with_its_role(console_page, stack, client_for,
                                                                                 new_user):
    """101 workspaces: the list shows 100, its next page the last one; opened, that one's actions are enabled for
    its OWNER (the console finds the caller's role there on the API's second page of workspaces)."""
    user = new_user("many")
    api = client_for(user)
    for n in range(101):
        api.post("/workspaces", {"name": f"many-{n:03}"}).ok(201)
    page = console_page
    sign_in(page, stack, user)
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(100)
    page.get_by_role("button", name="Next page").click()
    expect(rows).to_have_count(1)
    rows.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Fleets · many-\d{3}$"))
    expect(page.get_by_role("button", name="Create fleet")).to_be_enabled()
