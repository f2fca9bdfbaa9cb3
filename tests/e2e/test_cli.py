"""The `clawster` CLI against the running local stack: every kind of operation, end to end."""

from __future__ import annotations

import json

import pytest

from tests.e2e.cli_runner import clawster, fails, ok
from tests.helpers import Client, put_bot_in_status


@pytest.fixture
def cli(stack, tmp_path):
    """cli(*args, token=...) runs the CLI against the test stack, as that token's user."""

    def run(*args: str, token: str | None = None, check: bool = True, **kw):
        env = {"CLAWSTER_API_URL": stack.api_url, "CLAWSTER_STATE_DIR": str(stack.state_dir)}
        if token:
            env["CLAWSTER_TOKEN"] = token
        result = clawster(*args, home=tmp_path / "home", env=env, **kw)
        return ok(result) if check else result

    return run


def _json(run) -> dict:
    return json.loads(run.stdout)


def test_cli_creates_a_fleet_and_a_bot_and_lists_the_audit_trail(cli, stack, new_user):
    token = stack.issuer.issue(new_user("cli"))
    workspace = _json(cli("-o", "json", "workspace", "create", "cli-ws", token=token))
    ws = ["--workspace", workspace["id"]]
    fleet = _json(cli("fleet", "create", "cli-fleet", "--environment", "prod", "--tag", "team=core", *ws, "-o", "json",
                      token=token))
    assert fleet["environment"] == "prod" and fleet["tags"] == {"team": "core"}
    bot = _json(cli("bot", "create", "cli-bot", "--fleet", fleet["id"], "--template", "minimal", "--target", "none",
                    *ws, "-o", "json", token=token))
    listed = cli("bot", "list", "--fleet", fleet["id"], *ws, token=token).stdout
    assert bot["id"] in listed and "cli-bot" in listed and "PENDING" in listed
    audit = cli("audit", "list", *ws, token=token).stdout
    for action in ("workspace.create", "fleet.create", "bot.create"):
        assert action in audit
    assert cli("bot", "delete", bot["id"], *ws, token=token).stdout.strip() == f"deleted bot {bot['id']}"
    cli("fleet", "delete", fleet["id"], *ws, token=token)
    assert fleet["id"] not in cli("fleet", "list", *ws, token=token).stdout


def test_cli_updates_with_the_current_version_and_manages_members(cli, stack, new_user):
    owner = new_user("owner")
    token = stack.issuer.issue(owner)
    workspace = _json(cli("-o", "json", "workspace", "create", "before", token=token))
    updated = _json(cli("-o", "json", "workspace", "update", workspace["id"], "--name", "after",
                        "--description", "renamed", token=token))
    assert (updated["name"], updated["description"], updated["version"]) == ("after", "renamed", workspace["version"] + 1)
    ws = ["--workspace", workspace["id"]]

    fleet = _json(cli("-o", "json", "fleet", "create", "f", "--tag", "a=1", *ws, token=token))
    fleet = _json(cli("-o", "json", "fleet", "update", fleet["id"], "--environment", "staging", "--tag", "b=2", *ws,
                      token=token))
    assert fleet["environment"] == "staging" and fleet["tags"] == {"b": "2"}
    fleet = _json(cli("-o", "json", "fleet", "update", fleet["id"], "--clear-tags", *ws, token=token))
    assert fleet["tags"] == {} and fleet["version"] == 3

    viewer = new_user("viewer")
    member = _json(cli("-o", "json", "member", "set", viewer, "--role", "viewer", *ws, token=token))
    assert (member["user_id"], member["role"]) == (viewer, "VIEWER")
    members = cli("member", "list", *ws, token=token).stdout
    assert viewer in members and owner in members and "VIEWER" in members and "OWNER" in members
    cli("member", "remove", viewer, *ws, token=token)
    assert viewer not in cli("member", "list", *ws, token=token).stdout


def test_cli_updates_a_bot_lists_its_revisions_and_requests_intents(cli, stack, new_user, tmp_path):
    token = stack.issuer.issue(new_user("bots"))
    client = Client(stack.api_url, token)
    workspace = client.post("/workspaces", {"name": "bots"}).ok(201).body["id"]
    fleet = client.post(f"/workspaces/{workspace}/fleets", {"name": "f"}).ok(201).body["id"]
    ws = ["--workspace", workspace]
    templates = _json(cli("-o", "json", "template", "list", token=token))["items"]
    assert "minimal" in [t["id"] for t in templates]
    bot = _json(cli("-o", "json", "bot", "create", "b", "--fleet", fleet, "--template", "minimal", "--target", "none",
                    *ws, token=token))

    config = tmp_path / "config.json"
    config.write_text(json.dumps({"gateway": {"mode": "local"}, "agents": {"defaults": {"timeoutSeconds": 77}}}))
    changed = _json(cli("-o", "json", "bot", "update", bot["id"], "--name", "renamed", "--config-file", str(config),
                        *ws, token=token))
    assert changed["name"] == "renamed" and changed["desired_revision_id"] != bot["desired_revision_id"]

    revisions = _json(cli("-o", "json", "revision", "list", "--bot", bot["id"], *ws, token=token))["items"]
    assert {r["id"] for r in revisions} == {bot["desired_revision_id"], changed["desired_revision_id"]}
    latest = _json(cli("-o", "json", "revision", "get", changed["desired_revision_id"], "--bot", bot["id"], *ws,
                       token=token))
    assert latest["config"]["agents"]["defaults"]["timeoutSeconds"] == 77
    table = cli("revision", "get", changed["desired_revision_id"], "--bot", bot["id"], *ws, token=token).stdout
    assert changed["desired_revision_id"] in table and '"timeoutSeconds": 77' in table

    # A new bot is PENDING (no gateway): it may be provisioned or deleted, not paused.
    fails(cli("bot", "pause", bot["id"], *ws, token=token, check=False), 5, "409")
    put_bot_in_status(workspace, bot["id"], "RUNNING")  # as a finished provision leaves it
    accepted = _json(cli("-o", "json", "bot", "stop", bot["id"], "--no-wait", *ws, token=token))
    assert accepted["bot_id"] == bot["id"] and accepted["intent"]["action"] == "stop"
    now = client.get(f"/workspaces/{workspace}/bots/{bot['id']}").ok(200).body
    assert (now["intent"] or now["last_workflow"])["id"] == accepted["intent"]["id"]  # it may have ended already


def test_cli_token_grants_a_role_through_the_local_issuer(cli, stack, client_for, new_user):
    owner_id = new_user("owner")
    workspace = client_for(owner_id).post("/workspaces", {"name": "granting"}).ok(201).body
    viewer_id = new_user("viewer")
    token = cli("token", "--user", viewer_id, "--role", "viewer", "--workspace", workspace["id"]).stdout.strip()
    viewer = Client(stack.api_url, token)
    assert viewer.get(f"/workspaces/{workspace['id']}").ok(200).body["name"] == "granting"
    assert viewer.post(f"/workspaces/{workspace['id']}/fleets", {"name": "x"}).ok(403)
    issued = _json(cli("-o", "json", "token", "--user", viewer_id, "--ttl", "120"))
    assert issued["user"] == viewer_id and Client(stack.api_url, issued["token"]).get("/workspaces").ok(200)
    fails(cli("token", "--user", "x", "--role", "emperor", "--workspace", workspace["id"], check=False), 2,
          "Invalid value for --role", "VIEWER")


def test_health_needs_no_token_and_openapi_prints_the_document(cli, stack, tmp_path):
    elsewhere = clawster("-o", "json", "--api-url", stack.api_url, "health", home=tmp_path / "no-stack")
    assert json.loads(ok(elsewhere).stdout) == {"api_url": stack.api_url, "status": "ok"}
    document = _json(cli("openapi"))
    assert "/workspaces" in document["paths"]
