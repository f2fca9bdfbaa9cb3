"""`-o table|json|yaml` on every command (before or after it), full ids in tables at any terminal
width, and listings that say when there is more (`--cursor`) or fetch it all (`--all`)."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.e2e.cli_runner import clawster, ok
from tests.helpers import Client


@pytest.fixture
def five_fleets(stack, new_user):
    """A workspace with five fleets, one of them with a long name; (token, workspace id, fleet ids)."""
    token = stack.issuer.issue(new_user("lister"))
    client = Client(stack.api_url, token)
    workspace = client.post("/workspaces", {"name": "listing"}).ok(201).body["id"]
    names = ["alpha", "beta", "gamma", "delta", "a-fleet-with-a-rather-long-name-that-would-not-fit-a-narrow-terminal"]
    ids = [client.post(f"/workspaces/{workspace}/fleets", {"name": n, "tags": {"team": "core"}}).ok(201).body["id"]
           for n in names]
    return token, workspace, ids


def _cli(stack, tmp_path, token, *args, columns=200, **env):
    return ok(clawster(*args, home=tmp_path / "home", columns=columns,
                       env={"CLAWSTER_API_URL": stack.api_url, "CLAWSTER_TOKEN": token, **env}))


def test_tables_show_every_id_in_full_on_a_narrow_terminal(stack, tmp_path, five_fleets):
    token, workspace, ids = five_fleets
    run = _cli(stack, tmp_path, token, "fleet", "list", "--workspace", workspace, columns=40)
    lines = run.stdout.splitlines()
    assert len(lines) == 1 + len(ids)  # a header and one line per fleet: nothing wrapped
    assert lines[0].split() == ["ID", "NAME", "ENVIRONMENT", "BOTS", "HEALTH", "TAGS", "VERSION"]
    assert sorted(line.split()[0] for line in lines[1:]) == sorted(ids)
    assert "a-fleet-with-a-rather-long-name-that-would-not-fit-a-narrow-terminal" in run.stdout


def test_json_and_yaml_print_the_same_listing(stack, tmp_path, five_fleets):
    token, workspace, ids = five_fleets
    as_json = json.loads(_cli(stack, tmp_path, token, "-o", "json", "fleet", "list", "-w", workspace).stdout)
    as_yaml = yaml.safe_load(_cli(stack, tmp_path, token, "fleet", "list", "-w", workspace, "-o", "yaml").stdout)
    assert as_json == as_yaml
    assert sorted(f["id"] for f in as_json["items"]) == sorted(ids) and as_json["next_cursor"] is None
    # The option after the command wins over the one before it and over the environment.
    last = _cli(stack, tmp_path, token, "-o", "yaml", "workspace", "list", "-o", "json", CLAWSTER_OUTPUT="yaml")
    assert workspace in [w["id"] for w in json.loads(last.stdout)["items"]]
    from_env = _cli(stack, tmp_path, token, "workspace", "get", workspace, CLAWSTER_OUTPUT="yaml")
    assert yaml.safe_load(from_env.stdout)["id"] == workspace


def test_a_listing_with_more_pages_prints_the_next_cursor_and_all_follows_it(stack, tmp_path, five_fleets):
    token, workspace, ids = five_fleets
    first = _cli(stack, tmp_path, token, "fleet", "list", "-w", workspace, "--limit", "2")
    assert len(first.stdout.splitlines()) == 1 + 2
    hint = re.search(r"--cursor (\S+)", first.stderr)
    assert hint, first.stderr

    second = json.loads(_cli(stack, tmp_path, token, "-o", "json", "fleet", "list", "-w", workspace, "--limit", "2",
                             "--cursor", hint[1]).stdout)
    assert second["next_cursor"] and len(second["items"]) == 2
    seen = [line.split()[0] for line in first.stdout.splitlines()[1:]] + [f["id"] for f in second["items"]]
    assert len(set(seen)) == 4 and set(seen) <= set(ids)

    every = _cli(stack, tmp_path, token, "-o", "json", "fleet", "list", "-w", workspace, "--limit", "2", "--all")
    page = json.loads(every.stdout)
    assert sorted(f["id"] for f in page["items"]) == sorted(ids) and page["next_cursor"] is None
    assert "--cursor" not in every.stderr


def test_a_fleets_row_shows_its_bots_health(stack, tmp_path, five_fleets):
    from tests.helpers import put_bot_in_status

    token, workspace, ids = five_fleets
    client = Client(stack.api_url, token)
    for name, status in (("up", "RUNNING"), ("up-too", "RUNNING"), ("broken", "ERROR")):
        bot = client.post(f"/workspaces/{workspace}/fleets/{ids[0]}/bots", {"name": name, "template_id": "minimal"})
        put_bot_in_status(workspace, bot.ok(201).body["id"], status)
    lines = _cli(stack, tmp_path, token, "fleet", "get", ids[0], "-w", workspace).stdout.splitlines()
    assert lines[1].split()[3:5] == ["3", "healthy=2,unhealthy=1"]  # BOTS, HEALTH
