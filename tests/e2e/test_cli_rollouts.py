"""`clawster rollout` against the running local stack: create (a canary rollout), get, list, pause, resume,
abort, and `watch` following it live from the stream to its end (exit 9: it was rolled back)."""

from __future__ import annotations

import json

from tests.e2e.cli_runner import clawster, fails, ok
from tests.workflows.test_rollouts import stopped_bot, wait_for


def test_cli_creates_controls_and_watches_a_rollout(stack, team, tmp_path):
    team.fleet_id = team.owner.post(f"{team.ws}/fleets", {"name": "cli-fleet"}).ok(201).body["id"]
    a, b = stopped_bot(team, "cli-a"), stopped_bot(team, "cli-b")
    env = {"CLAWSTER_API_URL": stack.api_url, "CLAWSTER_STATE_DIR": str(stack.state_dir),
           "CLAWSTER_TOKEN": stack.issuer.issue(team.users["OPERATOR"]), "CLAWSTER_WORKSPACE": team.workspace_id}

    def cli(*args: str):
        return clawster(*args, home=tmp_path / "home", env=env)

    created = json.loads(ok(cli("-o", "json", "rollout", "create", "--bot", a, "--bot", b, "--strategy", "canary",
                                "--canary", a, "--patch", '{"ui": {"seamColor": "#777777"}}')).stdout)
    assert created["status"] == "RUNNING" and created["wave_count"] == 2
    fails(cli("rollout", "create", "--bot", a, "--refresh"), 5, "active rollout")  # one active rollout per bot
    fails(cli("rollout", "create", "--bot", a, "--refresh", "--strategy", "PERCENTAGE"), 6, "strategy.steps")
    wait_for(team, created["id"], lambda r: r["status"] == "PAUSED", "paused after the canary")
    table = ok(cli("rollout", "get", created["id"])).stdout
    assert "PAUSED" in table and a in table and b in table and "NO_DATA" in table  # waves: verdict and reason
    assert created["id"] in ok(cli("rollout", "list")).stdout
    ok(cli("rollout", "abort", created["id"]))
    watched = fails(cli("rollout", "watch", created["id"]), 9, "ROLLED_BACK")
    assert "ROLLED_BACK" in watched.stdout and a in watched.stdout


def test_cli_gates_are_names_or_json_objects(stack, team, tmp_path):
    team.fleet_id = team.owner.post(f"{team.ws}/fleets", {"name": "cli-gates"}).ok(201).body["id"]
    a = stopped_bot(team, "cli-gates-a")
    env = {"CLAWSTER_API_URL": stack.api_url, "CLAWSTER_STATE_DIR": str(stack.state_dir),
           "CLAWSTER_TOKEN": stack.issuer.issue(team.users["OPERATOR"]), "CLAWSTER_WORKSPACE": team.workspace_id}

    def cli(*args: str):
        return clawster(*args, home=tmp_path / "home", env=env)

    fails(cli("rollout", "create", "--bot", a, "--refresh", "--gate", '{"gate": "slo", "target": 1}'), 6, "gates")
    fails(cli("rollout", "create", "--bot", a, "--refresh", "--gate", "{not json"), 2, "not a JSON object")
    created = json.loads(ok(cli("-o", "json", "rollout", "create", "--bot", a, "--refresh", "--gate", "gateway_health",
                                "--gate", '{"gate": "error_rate", "max": 0.1}')).stdout)
    assert created["spec"]["gates"] == ["gateway_health", {"gate": "error_rate", "max": 0.1, "min_samples": 20}]
    ok(cli("rollout", "abort", created["id"]))
    wait_for(team, created["id"], lambda r: r["status"] in ("ROLLED_BACK", "FAILED"), "ended after the abort")
