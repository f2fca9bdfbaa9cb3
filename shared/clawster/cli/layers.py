"""`clawster template|profile|overlay ...`: a workspace's config layers, and `clawster config preview`.

The three kinds share create/list/get/update/delete, made by `_commands`; each adds its own options."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from clawster.cli.meta import template_app
from clawster.cli.output import col, show_item, show_message, show_page
from clawster.cli.params import All, ConfigFile, Cursor, IfMatch, Limit, Workspace, changes, json_file, tags
from clawster.cli.session import connect, output

profile_app = typer.Typer(help="Profiles: defaults for fleets, with locked paths", no_args_is_help=True)
overlay_app = typer.Typer(help="Overlays: config for the bots a selector picks, optionally in a time window",
                          no_args_is_help=True)
config_app = typer.Typer(help="What a config layer change would do, before it is saved", no_args_is_help=True)

LAYER = [col("ID"), col("KIND"), col("NAME"),
         ("PRIORITY", lambda layer: "" if layer.get("priority") is None else layer["priority"]), col("VERSION")]
BLAST = [col("BOT", "bot_id"), col("NAME"), col("ENVIRONMENT"), ("CHANGES", lambda b: len(b.get("changes") or [])),
         ("FINDINGS", lambda b: len(b.get("findings") or [])),
         ("REFUSED", lambda b: (b.get("error") or {}).get("message", ""))]
Priority = Annotated[int | None, typer.Option(help="Higher is applied later, so it wins (default 0)")]
Locks = Annotated[list[str] | None, typer.Option("--lock", help="A dot path the layers above may not change; repeat")]
Fleets = Annotated[list[str] | None, typer.Option("--fleet", help="A fleet it applies to; repeat (default: all)")]
SelectBots = Annotated[list[str] | None, typer.Option("--select-bot", help="Select this bot id; repeat")]
SelectFleets = Annotated[list[str] | None, typer.Option("--select-fleet", help="Select the bots of this fleet; repeat")]
SelectEnvs = Annotated[list[str] | None, typer.Option("--select-env", help="Select bots in dev, staging or prod; repeat")]
SelectTags = Annotated[list[str] | None, typer.Option("--select-tag", help="key=value every selected bot has; repeat")]
When = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"],
                                               help="ISO 8601 with a zone, e.g. 2026-12-01T08:00+00:00")]


def _path(conn: Any, workspace: str | None, kind: str) -> str:
    return f"/workspaces/{conn.workspace(workspace)}/{kind}s"


def _config(config_file: Path | None, required: bool) -> dict[str, Any] | None:
    if config_file is None:
        if required:
            raise typer.BadParameter("give the layer's config as a JSON file", param_hint="--config-file")
        return None
    return json_file(config_file)


def _selector(bots: list[str] | None, fleets: list[str] | None, envs: list[str] | None,
              tag_values: list[str] | None) -> dict[str, Any] | None:
    if not (bots or fleets or envs or tag_values):
        return None
    selector = {"bot_ids": bots or [], "fleet_ids": fleets or [], "environments": envs or [],
                "tags": tags(tag_values)}
    return selector


def _window(start: datetime | None, end: datetime | None) -> dict[str, str] | None:
    if start is None and end is None:
        return None
    return {key: value.isoformat() for key, value in (("start", start), ("end", end)) if value is not None}


def _commands(group: typer.Typer, kind: str, extra_create, extra_update) -> None:
    """list/get/delete for `kind`; create and update take the kind's own options through extra_*."""

    @group.command("get")
    def get(layer_id: str, workspace: Workspace = None) -> None:
        conn = connect()
        show_item(conn.api.get(f"{_path(conn, workspace, kind)}/{layer_id}"), output(), LAYER)

    @group.command("delete")
    def delete(layer_id: str, if_match: IfMatch = None, workspace: Workspace = None) -> None:
        conn = connect()
        conn.api.write("DELETE", f"{_path(conn, workspace, kind)}/{layer_id}", if_match=if_match)
        show_message(f"deleted {kind} {layer_id}", {"deleted": kind, "id": layer_id}, output())

    group.command("create")(extra_create)
    group.command("update")(extra_update)
    get.__doc__ = f"One {kind} of the workspace, with its config (-o json)."
    delete.__doc__ = f"Remove a {kind} (refused while a bot would be left without a valid config)."


def _create(kind: str, body: dict[str, Any], workspace: str | None) -> None:
    conn = connect()
    show_item(conn.api.call("POST", _path(conn, workspace, kind), body)[1], output(), LAYER)


def _update(kind: str, layer_id: str, body: dict[str, Any], if_match: str | None, workspace: str | None) -> None:
    conn = connect()
    show_item(conn.api.write("PATCH", f"{_path(conn, workspace, kind)}/{layer_id}", body, if_match), output(), LAYER)


def _list(kind: str, workspace: str | None, limit: int | None, cursor: str | None, all_pages: bool) -> None:
    conn = connect()
    show_page(conn.api.page(_path(conn, workspace, kind), {}, limit, cursor, all_pages), output(), LAYER, f"{kind}s")


# -- templates (the built-in ones: `template list`) ----------------------------------------------------------
def template_create(name: str, config_file: ConfigFile = None, description: str = "",
                    workspace: Workspace = None) -> None:
    """A workspace template: bots name it by its id (`bot create --template ID`)."""
    _create("template", {"name": name, "description": description, "config": _config(config_file, True)}, workspace)


def template_update(template_id: str, name: str | None = None, description: str | None = None,
                    config_file: ConfigFile = None, if_match: IfMatch = None, workspace: Workspace = None) -> None:
    """Change a workspace template (bots take it at their next revision: `bot refresh`)."""
    body = changes("--name, --description, --config-file", name=name, description=description,
                   config=_config(config_file, False))
    _update("template", template_id, body, if_match, workspace)


@template_app.command("custom")
def template_custom(workspace: Workspace = None, limit: Limit = None, cursor: Cursor = None,
                    all_pages: All = False) -> None:
    """The workspace's own templates."""
    _list("template", workspace, limit, cursor, all_pages)


_commands(template_app, "template", template_create, template_update)


# -- profiles ----------------------------------------------------------------------------------------------
def profile_create(name: str, config_file: ConfigFile = None, priority: Priority = None, lock: Locks = None,
                   fleet: Fleets = None, description: str = "", workspace: Workspace = None) -> None:
    """Defaults for fleets (all, or --fleet ...); --lock paths the layers above it may not change."""
    _create("profile", {"name": name, "description": description, "config": _config(config_file, True),
                        "priority": priority or 0, "locked_paths": lock or [], "fleet_ids": fleet or []}, workspace)


def profile_update(profile_id: str, name: str | None = None, description: str | None = None,
                   config_file: ConfigFile = None, priority: Priority = None, lock: Locks = None,
                   fleet: Fleets = None, if_match: IfMatch = None, workspace: Workspace = None) -> None:
    """Change a profile (--lock and --fleet replace the lists)."""
    body = changes("--name, --description, --config-file, --priority, --lock, --fleet", name=name,
                   description=description, config=_config(config_file, False), priority=priority,
                   locked_paths=lock, fleet_ids=fleet)
    _update("profile", profile_id, body, if_match, workspace)


@profile_app.command("list")
def profile_list(workspace: Workspace = None, limit: Limit = None, cursor: Cursor = None, all_pages: All = False) -> None:
    _list("profile", workspace, limit, cursor, all_pages)


_commands(profile_app, "profile", profile_create, profile_update)


# -- overlays ----------------------------------------------------------------------------------------------
def overlay_create(name: str, config_file: ConfigFile = None, priority: Priority = None,
                   select_bot: SelectBots = None, select_fleet: SelectFleets = None, select_env: SelectEnvs = None,
                   select_tag: SelectTags = None, start: When = None, end: When = None, description: str = "",
                   workspace: Workspace = None) -> None:
    """Config for the bots the selector picks (no --select-*: every bot), from --start until --end."""
    body = {"name": name, "description": description, "config": _config(config_file, True), "priority": priority or 0,
            "selector": _selector(select_bot, select_fleet, select_env, select_tag) or {},
            "window": _window(start, end)}
    _create("overlay", body, workspace)


def overlay_update(overlay_id: str, name: str | None = None, description: str | None = None,
                   config_file: ConfigFile = None, priority: Priority = None, select_bot: SelectBots = None,
                   select_fleet: SelectFleets = None, select_env: SelectEnvs = None, select_tag: SelectTags = None,
                   start: When = None, end: When = None, if_match: IfMatch = None, workspace: Workspace = None) -> None:
    """Change an overlay (any --select-* replaces the whole selector; --start/--end the window)."""
    body = changes("--name, --description, --config-file, --priority, --select-*, --start, --end", name=name,
                   description=description, config=_config(config_file, False), priority=priority,
                   selector=_selector(select_bot, select_fleet, select_env, select_tag), window=_window(start, end))
    _update("overlay", overlay_id, body, if_match, workspace)


@overlay_app.command("list")
def overlay_list(workspace: Workspace = None, limit: Limit = None, cursor: Cursor = None, all_pages: All = False) -> None:
    _list("overlay", workspace, limit, cursor, all_pages)


_commands(overlay_app, "overlay", overlay_create, overlay_update)


# -- preview -----------------------------------------------------------------------------------------------
ChangeFile = Annotated[Path | None, typer.Option(
    "--change-file", exists=True, dir_okay=False,
    help="The proposed layer as JSON: a create body (new layer) or an update body (with --layer)")]


@config_app.command("preview")
def config_preview(kind: str, layer: Annotated[str | None, typer.Option(help="The layer to change or remove")] = None,
                   change_file: ChangeFile = None, remove: bool = False, workspace: Workspace = None) -> None:
    """The blast radius of a template, profile or overlay change, nothing saved: every bot it would change,
    how, the policy findings, and the bots that would refuse it."""
    body: dict[str, Any] = {"kind": kind, "layer_id": layer, "remove": remove}
    if change_file is not None:
        body["change"] = json_file(change_file)
    conn = connect()
    result = conn.api.call("POST", f"/workspaces/{conn.workspace(workspace)}/config-preview", body)[1]
    if output() == "table":
        show_page({**result, "items": result["bots"]}, output(), BLAST, "bots touched")
    else:
        show_item(result, output(), BLAST)
