"""`clawster bot ...` (bots and their lifecycle intents) and `clawster revision ...`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from clawster.cli.output import col, show_item, show_message, show_page
from clawster.cli.params import All, ConfigFile, Cursor, IfMatch, Limit, Tags, Workspace, changes, json_file, tags
from clawster.cli.session import connect, output
from clawster.domain.bots import BotAction

bot_app = typer.Typer(help="Bots (one OpenClaw gateway each) and their lifecycle", no_args_is_help=True)
revision_app = typer.Typer(help="A bot's immutable config revisions", no_args_is_help=True)

BOT = [col("ID"), col("NAME"), col("STATUS"), col("FLEET", "fleet_id"), col("TEMPLATE", "template_id"),
       col("TAGS"), ("INTENT", lambda bot: (bot.get("intent") or {}).get("action")), col("VERSION")]
INTENT = [("BOT", lambda r: r["bot_id"]), ("ACTION", lambda r: r["intent"]["action"]),
          ("INTENT", lambda r: r["intent"]["id"]), ("REQUESTED-BY", lambda r: r["intent"]["requested_by"]),
          ("REQUESTED-AT", lambda r: r["intent"]["requested_at"])]
REVISION = [col("ID"), col("NUMBER"), col("SOURCE"), col("TEMPLATE", "template_id"),
            ("HASH", lambda r: r["config_hash"][:12]), col("CREATED-BY"), col("CREATED", "created_at")]
Fleet = Annotated[str, typer.Option("--fleet", "-f", help="Fleet id")]
Bot = Annotated[str, typer.Option("--bot", "-b", help="Bot id")]


def _bot_path(conn: Any, workspace: str | None, bot_id: str) -> str:
    return f"/workspaces/{conn.workspace(workspace)}/bots/{bot_id}"


@bot_app.command("list")
def bot_list(fleet: Fleet, status: Annotated[str | None, typer.Option(help="Only bots in this status")] = None,
             tag: Annotated[list[str] | None, typer.Option("--tag", help="key or key=value; repeat to require several")]
             = None,
             workspace: Workspace = None, limit: Limit = None, cursor: Cursor = None, all_pages: All = False) -> None:
    conn = connect()
    path = f"/workspaces/{conn.workspace(workspace)}/fleets/{fleet}/bots"
    page = conn.api.page(path, {"status": status, "tag": tag or None}, limit, cursor, all_pages)
    show_page(page, output(), BOT, "bots")


@bot_app.command("create")
def bot_create(name: str, fleet: Fleet,
               template: Annotated[str | None, typer.Option(help="Built-in template id (clawster template list)")]
               = None,
               config_file: ConfigFile = None, tag: Tags = None, workspace: Workspace = None) -> None:
    """Create a bot from a template, a config, or both (the config is merged onto the template)."""
    body: dict[str, Any] = {"name": name, "tags": tags(tag)}
    if template:
        body["template_id"] = template
    if config_file:
        body["config"] = json_file(config_file)
    conn = connect()
    path = f"/workspaces/{conn.workspace(workspace)}/fleets/{fleet}/bots"
    show_item(conn.api.call("POST", path, body)[1], output(), BOT)


@bot_app.command("get")
def bot_get(bot_id: str, workspace: Workspace = None) -> None:
    conn = connect()
    show_item(conn.api.get(_bot_path(conn, workspace, bot_id)), output(), BOT)


@bot_app.command("update")
def bot_update(bot_id: str, name: str | None = None,
               tag: Annotated[list[str] | None, typer.Option("--tag", help="key=value; replaces all tags")] = None,
               clear_tags: Annotated[bool, typer.Option("--clear-tags", help="Remove every tag")] = False,
               config_file: ConfigFile = None,
               if_match: IfMatch = None, workspace: Workspace = None) -> None:
    """Rename, retag, or give a bot a full new config (a new revision)."""
    new_tags = {} if clear_tags else (tags(tag) if tag else None)
    body = changes("--name, --tag, --clear-tags, --config-file", name=name, tags=new_tags,
                   config=json_file(config_file) if config_file else None)
    conn = connect()
    show_item(conn.api.write("PATCH", _bot_path(conn, workspace, bot_id), body, if_match), output(), BOT)


@bot_app.command("delete")
def bot_delete(bot_id: str, if_match: IfMatch = None, workspace: Workspace = None) -> None:
    conn = connect()
    conn.api.write("DELETE", _bot_path(conn, workspace, bot_id), if_match=if_match)
    show_message(f"deleted bot {bot_id}", {"deleted": "bot", "id": bot_id}, output())


def _intent_command(action: BotAction) -> None:
    def request(bot_id: str, workspace: Workspace = None) -> None:
        conn = connect()
        accepted = conn.api.call("POST", f"{_bot_path(conn, workspace, bot_id)}/{action.value}")[1]
        show_item(accepted, output(), INTENT)

    request.__doc__ = f"Ask for a {action.value} of the bot (accepted now, carried out by the provisioner)."
    bot_app.command(action.value)(request)


for _action in BotAction:
    _intent_command(_action)


@revision_app.command("list")
def revision_list(bot: Bot, workspace: Workspace = None, limit: Limit = None, cursor: Cursor = None,
                  all_pages: All = False) -> None:
    conn = connect()
    page = conn.api.page(f"{_bot_path(conn, workspace, bot)}/revisions", {}, limit, cursor, all_pages)
    show_page(page, output(), REVISION, "revisions")


@revision_app.command("get")
def revision_get(revision_id: str, bot: Bot, workspace: Workspace = None) -> None:
    """A revision with its full config (shown as JSON under the table)."""
    conn = connect()
    revision = conn.api.get(f"{_bot_path(conn, workspace, bot)}/revisions/{revision_id}")
    show_item(revision, output(), REVISION)
    if output() == "table":
        print(json.dumps(revision["config"], indent=2, ensure_ascii=False))
