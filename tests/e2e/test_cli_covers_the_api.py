"""Every operation of the API (docs/openapi.json) has a `clawster` command. The table is written by
hand: an operation added to the API without a command makes this test fail."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from clawster.cli import app

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
W = "/workspaces/{workspace_id}"

COMMANDS: dict[tuple[str, str], list[str]] = {
    ("GET", "/health"): ["health"],
    ("GET", "/openapi.json"): ["openapi"],
    ("GET", "/templates"): ["template list"],
    ("GET", "/targets"): ["target list"],
    ("GET", "/workspaces"): ["workspace list", "whoami"],
    ("POST", "/workspaces"): ["workspace create"],
    ("GET", W): ["workspace get"],
    ("PATCH", W): ["workspace update"],
    ("DELETE", W): ["workspace delete"],
    ("GET", f"{W}/members"): ["member list"],
    ("PUT", f"{W}/members/{{user_id}}"): ["member set"],
    ("DELETE", f"{W}/members/{{user_id}}"): ["member remove"],
    ("GET", f"{W}/fleets"): ["fleet list"],
    ("POST", f"{W}/fleets"): ["fleet create"],
    ("GET", f"{W}/fleets/{{fleet_id}}"): ["fleet get"],
    ("PATCH", f"{W}/fleets/{{fleet_id}}"): ["fleet update"],
    ("DELETE", f"{W}/fleets/{{fleet_id}}"): ["fleet delete"],
    ("GET", f"{W}/fleets/{{fleet_id}}/bots"): ["bot list"],
    ("POST", f"{W}/fleets/{{fleet_id}}/bots"): ["bot create"],
    ("GET", f"{W}/bots/{{bot_id}}"): ["bot get"],
    ("PATCH", f"{W}/bots/{{bot_id}}"): ["bot update"],
    ("DELETE", f"{W}/bots/{{bot_id}}"): ["bot delete"],
    ("POST", f"{W}/bots/{{bot_id}}/{{action}}"): ["bot restart", "bot pause", "bot resume", "bot stop", "bot start",
                                                  "bot provision"],
    ("POST", f"{W}/bots/{{bot_id}}/upgrade"): ["bot upgrade"],
    ("POST", f"{W}/bots/{{bot_id}}/rollback"): ["bot rollback"],
    ("POST", f"{W}/bots/{{bot_id}}/pairing/approve"): ["drift approve-pairing"],
    ("GET", f"{W}/bots/{{bot_id}}/revisions/{{revision_id}}/diff"): ["revision diff"],
    ("GET", f"{W}/bots/{{bot_id}}/provisioning"): ["bot status"],
    ("GET", f"{W}/bots/{{bot_id}}/logs"): ["bot logs"],
    ("GET", f"{W}/bots/{{bot_id}}/revisions"): ["revision list"],
    ("GET", f"{W}/bots/{{bot_id}}/revisions/{{revision_id}}"): ["revision get"],
    ("GET", f"{W}/audit"): ["audit list"],
    ("POST", f"{W}/templates"): ["template create"],
    ("GET", f"{W}/templates"): ["template custom"],
    ("GET", f"{W}/templates/{{layer_id}}"): ["template get"],
    ("PATCH", f"{W}/templates/{{layer_id}}"): ["template update"],
    ("DELETE", f"{W}/templates/{{layer_id}}"): ["template delete"],
    ("POST", f"{W}/profiles"): ["profile create"],
    ("GET", f"{W}/profiles"): ["profile list"],
    ("GET", f"{W}/profiles/{{layer_id}}"): ["profile get"],
    ("PATCH", f"{W}/profiles/{{layer_id}}"): ["profile update"],
    ("DELETE", f"{W}/profiles/{{layer_id}}"): ["profile delete"],
    ("POST", f"{W}/overlays"): ["overlay create"],
    ("GET", f"{W}/overlays"): ["overlay list"],
    ("GET", f"{W}/overlays/{{layer_id}}"): ["overlay get"],
    ("PATCH", f"{W}/overlays/{{layer_id}}"): ["overlay update"],
    ("DELETE", f"{W}/overlays/{{layer_id}}"): ["overlay delete"],
    ("POST", f"{W}/config-preview"): ["config preview"],
    ("POST", f"{W}/bots/{{bot_id}}/refresh"): ["bot refresh"],
    ("GET", f"{W}/bots/{{bot_id}}/effective-config"): ["bot effective-config"],
    ("GET", f"{W}/drift"): ["drift list"],
    ("GET", f"{W}/bots/{{bot_id}}/drift"): ["drift get"],
    ("PUT", f"{W}/bots/{{bot_id}}/drift-policy"): ["drift set-bot-policy"],
    ("PUT", f"{W}/fleets/{{fleet_id}}/drift-policy"): ["drift set-fleet-policy"],
    ("GET", "/policy-packs/builtin"): ["policy builtin"],
    ("GET", f"{W}/policy-packs"): ["policy list"],
    ("POST", f"{W}/policy-packs"): ["policy create"],
    ("POST", f"{W}/policy-packs/evaluate"): ["policy evaluate"],
    ("GET", f"{W}/policy-packs/{{pack_id}}"): ["policy get"],
    ("PATCH", f"{W}/policy-packs/{{pack_id}}"): ["policy update"],
    ("DELETE", f"{W}/policy-packs/{{pack_id}}"): ["policy delete"],
    ("POST", f"{W}/connectors"): ["connector create"],
    ("GET", f"{W}/connectors"): ["connector list"],
    ("GET", f"{W}/connectors/{{connector_id}}"): ["connector get"],
    ("PATCH", f"{W}/connectors/{{connector_id}}"): ["connector rename"],
    ("DELETE", f"{W}/connectors/{{connector_id}}"): ["connector delete"],
    ("POST", f"{W}/connectors/{{connector_id}}/test"): ["connector test"],
    ("POST", f"{W}/connectors/{{connector_id}}/rotate"): ["connector rotate"],
    ("GET", f"{W}/connectors/{{connector_id}}/rotations/{{rotation_id}}"): ["connector rotation"],
    ("POST", f"{W}/rollouts"): ["rollout create", "rollout promote-fleet"],
    ("GET", f"{W}/rollouts"): ["rollout list"],
    ("GET", f"{W}/rollouts/{{rollout_id}}"): ["rollout get"],
    ("POST", f"{W}/rollouts/{{rollout_id}}/{{action}}"): ["rollout pause", "rollout resume", "rollout approve",
                                                        "rollout abort", "rollout promote"],
}


def _operations() -> dict[tuple[str, str], dict]:
    paths = json.loads(OPENAPI.read_text())["paths"]
    return {(method.upper(), path): operation for path, methods in paths.items() for method, operation in methods.items()}


def _leaf_commands() -> set[str]:
    found, stack = set(), [("", typer.main.get_command(app))]
    while stack:
        prefix, command = stack.pop()
        children = getattr(command, "commands", None)
        if children is None:
            found.add(prefix)
        else:
            stack += [(f"{prefix} {name}".strip(), child) for name, child in children.items()]
    return found


def test_every_api_operation_has_a_command():
    missing = sorted(f"{method} {path}" for method, path in _operations() if (method, path) not in COMMANDS)
    assert not missing, f"API operations with no `clawster` command: {missing}"
    stale = sorted(f"{method} {path}" for method, path in COMMANDS if (method, path) not in _operations())
    assert not stale, f"the table names operations the API no longer has: {stale}"
    commands = _leaf_commands()
    for operation, names in COMMANDS.items():
        for name in names:
            assert name in commands, f"{operation}: `clawster {name}` does not exist"


def test_every_lifecycle_action_the_api_accepts_has_a_command():
    operation = _operations()[("POST", f"{W}/bots/{{bot_id}}/{{action}}")]
    [action] = [p for p in operation["parameters"] if p["name"] == "action"]
    schema = action["schema"]
    if "$ref" in schema:
        schema = json.loads(OPENAPI.read_text())["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert {f"bot {value}" for value in schema["enum"]} <= _leaf_commands()
