"""`clawster fleet ...`."""

from __future__ import annotations

from typing import Annotated

import typer

from clawster.cli.output import col, show_item, show_message, show_page
from clawster.cli.params import All, Cursor, IfMatch, Limit, Tags, TargetSettings, Workspace, changes, tags, target_settings
from clawster.cli.session import connect, output

fleet_app = typer.Typer(help="Fleets of bots (environment dev, staging or prod; tags)", no_args_is_help=True)

# HEALTH: the fleet's bots per health, those with any (e.g. healthy=3,unhealthy=1); -o json has them per status too
FLEET = [col("ID"), col("NAME"), col("ENVIRONMENT"), col("BOTS", "bot_count"),
         ("HEALTH", lambda fleet: {k: n for k, n in (fleet.get("bot_summary") or {}).get("by_health", {}).items() if n}),
         col("TAGS"), col("VERSION")]
Environment = Annotated[str | None, typer.Option(help="dev, staging or prod")]
FleetTarget = Annotated[str | None, typer.Option("--target", help="Where its bots run when they name no target: local, "
                                                                  "ecs, cloudrun or aci (`clawster target list`)")]


def _target_fields(target: str | None, settings: list[str] | None) -> dict:
    """The fleet's target, and its bots' default settings for that target (--target-setting needs --target)."""
    if settings and not target:
        raise typer.BadParameter("settings belong to a target: give --target too", param_hint="--target-setting")
    fields = {"target": target} if target else {}
    if settings:
        fields["target_settings"] = {target: target_settings(settings)}
    return fields


@fleet_app.command("list")
def fleet_list(workspace: Workspace = None, limit: Limit = None, cursor: Cursor = None, all_pages: All = False) -> None:
    conn = connect()
    page = conn.api.page(f"/workspaces/{conn.workspace(workspace)}/fleets", {}, limit, cursor, all_pages)
    show_page(page, output(), FLEET, "fleets")


@fleet_app.command("create")
def fleet_create(name: str, environment: Environment = "dev", description: str = "", tag: Tags = None,
                 target: FleetTarget = None, target_setting: TargetSettings = None, workspace: Workspace = None) -> None:
    conn = connect()
    body = {"name": name, "environment": environment, "description": description, "tags": tags(tag),
            **_target_fields(target, target_setting)}
    show_item(conn.api.call("POST", f"/workspaces/{conn.workspace(workspace)}/fleets", body)[1], output(), FLEET)


@fleet_app.command("get")
def fleet_get(fleet_id: str, workspace: Workspace = None) -> None:
    conn = connect()
    show_item(conn.api.get(f"/workspaces/{conn.workspace(workspace)}/fleets/{fleet_id}"), output(), FLEET)


@fleet_app.command("update")
def fleet_update(fleet_id: str, name: str | None = None, environment: Environment = None,
                 description: str | None = None,
                 tag: Annotated[list[str] | None, typer.Option("--tag", help="key=value; replaces all tags")] = None,
                 clear_tags: Annotated[bool, typer.Option("--clear-tags", help="Remove every tag")] = False,
                 target: FleetTarget = None, target_setting: TargetSettings = None,
                 if_match: IfMatch = None, workspace: Workspace = None) -> None:
    """Change a fleet's name, environment, description, tags or target (--target-setting replaces the fleet's
    settings; bots deployed already keep theirs)."""
    new_tags = {} if clear_tags else (tags(tag) if tag else None)
    body = changes("--name, --environment, --description, --tag, --clear-tags, --target",
                   name=name, environment=environment, description=description, tags=new_tags,
                   **_target_fields(target, target_setting))
    conn = connect()
    path = f"/workspaces/{conn.workspace(workspace)}/fleets/{fleet_id}"
    show_item(conn.api.write("PATCH", path, body, if_match), output(), FLEET)


@fleet_app.command("delete")
def fleet_delete(fleet_id: str, if_match: IfMatch = None, workspace: Workspace = None) -> None:
    """Delete a fleet (it must have no bots)."""
    conn = connect()
    conn.api.write("DELETE", f"/workspaces/{conn.workspace(workspace)}/fleets/{fleet_id}", if_match=if_match)
    show_message(f"deleted fleet {fleet_id}", {"deleted": "fleet", "id": fleet_id}, output())
