"""`clawster drift` against the running local stack: policies set on a fleet and a bot, a bot's report
(never checked yet: no gateway), the workspace's reports, a refused rule and a refused pairing."""

from __future__ import annotations

import json

from tests.e2e.cli_runner import clawster, ok


def test_cli_sets_drift_policies_and_reads_a_bots_drift(stack, tmp_path, new_user):
    token = stack.issuer.issue(new_user("cli-drift"))
    env = {"CLAWSTER_API_URL": stack.api_url, "CLAWSTER_STATE_DIR": str(stack.state_dir), "CLAWSTER_TOKEN": token}

    def cli(*args: str, check: bool = True):
        result = clawster(*args, home=tmp_path / "home", env=env)
        return ok(result) if check else result

    workspace = json.loads(cli("-o", "json", "workspace", "create", "drift-ws").stdout)
    ws = ["--workspace", workspace["id"]]
    fleet = json.loads(cli("-o", "json", "fleet", "create", "f", *ws).stdout)
    bot = json.loads(cli("-o", "json", "bot", "create", "b", "--fleet", fleet["id"], "--template", "minimal",
                         "--target", "none", *ws).stdout)

    table = cli("drift", "set-fleet-policy", fleet["id"], "--rule", "agent=alert", "--rule", "other=revert", *ws).stdout
    assert "agent     alert   fleet" in table and "security  revert  default" in table, table
    set_bot = json.loads(cli("-o", "json", "drift", "set-bot-policy", bot["id"], "--rule", "agent=adopt", *ws).stdout)
    assert set_bot["rules"] == {"agent": "adopt"} and set_bot["effective"]["other"] == {"action": "revert",
                                                                                       "source": "fleet"}
    report = json.loads(cli("-o", "json", "drift", "get", bot["id"], *ws).stdout)
    assert report["state"] == "NOT_CHECKED" and report["policy"]["agent"] == {"action": "adopt", "source": "bot"}
    assert "NOT_CHECKED" in cli("drift", "get", bot["id"], *ws).stdout
    assert json.loads(cli("-o", "json", "drift", "list", *ws).stdout)["items"] == []  # no gateway: never checked

    refused = cli("drift", "set-bot-policy", bot["id"], "--rule", "agent=ignore", *ws, check=False)
    assert refused.returncode != 0 and "rules.agent" in refused.stderr, refused.stderr
    pairing = cli("drift", "approve-pairing", bot["id"], "--channel", "telegram", "--sender", "42", *ws, check=False)
    assert pairing.returncode != 0 and "no channel 'telegram'" in pairing.stderr, pairing.stderr
