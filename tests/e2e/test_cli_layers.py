"""`clawster template|profile|overlay|config preview|bot refresh|bot effective-config` against the running
local stack, as the README shows them: a profile with a lock, an overlay by tag, a preview that saves
nothing, a refused change to a locked path (exit 5, naming it), and a refresh that takes a profile edit."""

from __future__ import annotations

import json

from tests.e2e.cli_runner import clawster, ok


def test_cli_manages_layers_previews_and_refreshes(stack, tmp_path, new_user):
    token = stack.issuer.issue(new_user("cli-layers"))
    env = {"CLAWSTER_API_URL": stack.api_url, "CLAWSTER_STATE_DIR": str(stack.state_dir), "CLAWSTER_TOKEN": token}

    def cli(*args: str, check: bool = True):
        result = clawster(*args, home=tmp_path / "home", env=env)
        return ok(result) if check else result

    def write(name: str, body: dict) -> str:
        path = tmp_path / name
        path.write_text(json.dumps(body))
        return str(path)

    ws = ["--workspace", json.loads(cli("-o", "json", "workspace", "create", "layers-ws").stdout)["id"]]
    fleet = json.loads(cli("-o", "json", "fleet", "create", "f", *ws).stdout)["id"]
    template = json.loads(cli("-o", "json", "template", "create", "base", "--config-file",
                              write("t.json", {"logging": {"level": "info"}}), *ws).stdout)
    profile = json.loads(cli("-o", "json", "profile", "create", "safe", "--priority", "10", "--lock", "ui.seamColor",
                             "--fleet", fleet, "--config-file", write("p.json", {"ui": {"seamColor": "#222222"}}),
                             *ws).stdout)
    assert (profile["locked_paths"], profile["fleet_ids"], profile["priority"]) == (["ui.seamColor"], [fleet], 10)
    overlay = json.loads(cli("-o", "json", "overlay", "create", "gold", "--select-tag", "tier=gold", "--config-file",
                             write("o.json", {"logging": {"level": "warn"}}), *ws).stdout)
    assert overlay["selector"]["tags"] == {"tier": "gold"} and overlay["window"] is None
    bot = json.loads(cli("-o", "json", "bot", "create", "b", "--fleet", fleet, "--template", template["id"],
                         "--tag", "tier=gold", "--target", "none", *ws).stdout)

    provenance = cli("bot", "effective-config", bot["id"], *ws).stdout
    assert "ui.seamColor" in provenance and f"profile:{profile['id']}" in provenance, provenance
    assert f"overlay:{overlay['id']}" in provenance
    assert [row["id"] for row in json.loads(cli("-o", "json", "template", "custom", *ws).stdout)["items"]] == \
        [template["id"]]

    # The blast radius of a profile edit: the bot, the change; nothing saved.
    edit = write("edit.json", {"config": {"ui": {"seamColor": "#333333"}}})
    radius = json.loads(cli("-o", "json", "config", "preview", "profile", "--layer", profile["id"], "--change-file",
                            edit, *ws).stdout)
    assert [b["bot_id"] for b in radius["bots"]] == [bot["id"]]
    assert radius["bots"][0]["changes"] == [{"path": "ui.seamColor", "op": "changed", "from": "#222222",
                                             "to": "#333333"}]
    assert json.loads(cli("-o", "json", "profile", "get", profile["id"], *ws).stdout)["version"] == 1

    # The bot's own config may not change the locked path: exit 5 (conflict), naming it and the profile.
    refused = cli("bot", "update", bot["id"], "--config-file", write("b.json", {"ui": {"seamColor": "#000000"}}),
                  *ws, check=False)
    assert refused.returncode == 5 and "ui.seamColor" in refused.stderr and profile["id"] in refused.stderr, \
        refused.stderr

    cli("profile", "update", profile["id"], "--config-file", write("p2.json", {"ui": {"seamColor": "#333333"}}), *ws)
    refreshed = json.loads(cli("-o", "json", "bot", "refresh", bot["id"], *ws).stdout)
    assert refreshed["changed"] is True
    assert "its config is up to date" in cli("bot", "refresh", bot["id"], *ws).stdout
    cli("overlay", "delete", overlay["id"], *ws)
    assert json.loads(cli("-o", "json", "overlay", "list", *ws).stdout)["items"] == []
