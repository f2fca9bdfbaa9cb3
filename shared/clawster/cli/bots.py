"""`clawster bot ...` (bots and their lifecycle intents) and `clawster revision ...`."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from clawster.cli.exits import CliError, ExitCode
from clawster.cli.output import col, show_fields, show_item, show_message, show_page, table
from clawster.cli.params import (
    All,
    ConfigFile,
    Cursor,
    IfMatch,
    Limit,
    Tags,
    TargetSettings,
    Workspace,
    changes,
    json_file,
    tags,
    target_settings,
)
from clawster.cli.session import connect, output
from clawster.cli.watch import Stream, follow, post_followed
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
LOG_POLL_S = 1.0  # --follow: how often new lines are read


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


Wait = Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the workflow to its end (live progress on "
                                                              "stderr), or return at once with what was accepted.")]
Timeout = Annotated[float, typer.Option("--timeout", min=1, help="Seconds to wait before giving up (the workflow goes on).")]
TargetOption = Annotated[str | None, typer.Option(
    "--target", help="Where its gateway runs: 'local' (a real OpenClaw gateway on this machine), a cloud target "
                     "('ecs', 'cloudrun', 'aci': `clawster target list`) or 'none' (only recorded, PENDING). Default: local "
                     "when the API is the dev stack `make dev` runs (the one its "
                     "stack file, stack.json, names), else none.")]


@bot_app.command("create")
def bot_create(name: str, fleet: Fleet,
               template: Annotated[str | None, typer.Option(help="Built-in template id (clawster template list)")]
               = None,
               config_file: ConfigFile = None, tag: Tags = None, target: TargetOption = None,
               target_setting: TargetSettings = None,
               openclaw_version: Annotated[str | None, typer.Option(help="The OpenClaw version to provision "
                                                                     "(default: the target's newest)")] = None,
               ready_timeout: Annotated[int | None, typer.Option(help="Seconds its gateway may take to become "
                                                                  "healthy when a workflow starts it (default 900)")]
               = None,
               wait: Wait = True, timeout: Timeout = 1800, workspace: Workspace = None) -> None:
    """Create a bot from a template, a config, or both (the config is merged onto the template); with a
    target, provision it and follow its steps until it is RUNNING (exit 0) or ERROR (exit 9)."""
    body: dict[str, Any] = {"name": name, "tags": tags(tag)}
    if template:
        body["template_id"] = template
    if config_file:
        body["config"] = json_file(config_file)
    conn = connect()
    chosen = target if target is not None else ("local" if conn.local else "none")
    if chosen != "none":
        body["target"] = chosen
    if target_setting:
        body["target_settings"] = target_settings(target_setting)
    if openclaw_version:
        body["openclaw_version"] = openclaw_version
    if ready_timeout is not None:
        body["ready_timeout_s"] = ready_timeout
    ws = conn.workspace(workspace)
    started = time.monotonic()
    stream = Stream.open(conn.ws_url, conn.api.token, f"workspaces/{ws}/fleets/{fleet}") \
        if wait and chosen != "none" else None
    bot = post_followed(conn.api, f"/workspaces/{ws}/fleets/{fleet}/bots", body, stream)
    _finish(conn, ws, bot, stream, wait=wait, timeout=timeout, started=started)


def _finish(conn: Any, ws: str, accepted: dict, stream: Stream | None, *, wait: bool, timeout: float,
            started: float) -> None:
    """Print what was accepted (no wait, or nothing carries it out), or follow its workflow and print the bot
    it left; a workflow that ends in ERROR is exit 9 with the reason."""
    bot_id, intent = accepted.get("bot_id") or accepted["id"], accepted.get("intent") or {}
    if not wait or not intent.get("execution_arn"):
        if stream:
            stream.close()
        show_item(accepted, output(), INTENT if "bot_id" in accepted else BOT)
        return
    path = f"/workspaces/{ws}/bots/{bot_id}"
    bot = follow(conn.api, path, bot_id, intent["id"], stream, title=f"bot {bot_id} {intent['action']}",
                 timeout_s=timeout, started=started)
    if bot is None:
        show_message(f"deleted bot {bot_id}", {"deleted": "bot", "id": bot_id}, output())
        return
    show_item(bot, output(), BOT)
    if bot["status"] == "ERROR":
        raise CliError(ExitCode.BOT_ERROR, f"bot {bot_id} is ERROR: {bot.get('status_reason') or 'no reason recorded'}")


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
def bot_delete(bot_id: str, if_match: IfMatch = None, wait: Wait = True, timeout: Timeout = 1800,
               workspace: Workspace = None) -> None:
    """Delete a bot: at once when it has no gateway; else its workflow removes the gateway first (followed
    until the bot is gone, unless --no-wait)."""
    conn = connect()
    ws = conn.workspace(workspace)
    started = time.monotonic()
    stream = Stream.open(conn.ws_url, conn.api.token, f"workspaces/{ws}/bots/{bot_id}") if wait else None
    try:
        accepted = conn.api.write("DELETE", _bot_path(conn, ws, bot_id), if_match=if_match)
    except BaseException:
        if stream:
            stream.close()
        raise
    if accepted is None:  # 204: it had no gateway, and is gone
        if stream:
            stream.close()
        show_message(f"deleted bot {bot_id}", {"deleted": "bot", "id": bot_id}, output())
        return
    _finish(conn, ws, accepted, stream, wait=wait, timeout=timeout, started=started)


def _post_and_follow(workspace: str | None, bot_id: str, tail: str, body: Any, *, wait: bool,
                     timeout: float) -> None:
    """POST to one of the bot's routes that starts (or may start) a workflow, then `_finish` it. The stream
    is opened first, so no progress message of the workflow is missed."""
    conn = connect()
    ws = conn.workspace(workspace)
    started = time.monotonic()
    stream = Stream.open(conn.ws_url, conn.api.token, f"workspaces/{ws}/bots/{bot_id}") if wait else None
    accepted = post_followed(conn.api, f"{_bot_path(conn, ws, bot_id)}/{tail}", body, stream)
    _finish(conn, ws, accepted, stream, wait=wait, timeout=timeout, started=started)


def _intent_command(action: BotAction) -> None:
    def request(bot_id: str, wait: Wait = True, timeout: Timeout = 1800, workspace: Workspace = None) -> None:
        _post_and_follow(workspace, bot_id, action.value, None, wait=wait, timeout=timeout)

    request.__doc__ = (f"Ask for a {action.value} of the bot and follow its workflow to the end (live progress; "
                       "exit 9 if it ends in ERROR), or with --no-wait print the accepted intent at once.")
    bot_app.command(action.value)(request)


for _action in BotAction:
    _intent_command(_action)


@bot_app.command("upgrade")
def bot_upgrade(bot_id: str, version: Annotated[str, typer.Argument(help="The OpenClaw version, e.g. 2026.9.6")],
                wait: Wait = True, timeout: Timeout = 3600, workspace: Workspace = None) -> None:
    """Run the bot on another OpenClaw version: its state is backed up first and restored, with the old
    version, if the new one fails its health check. Followed to the end (exit 9 if it ends in ERROR; a
    rolled-back upgrade ends RUNNING with the reason), or with --no-wait the accepted intent at once."""
    _post_and_follow(workspace, bot_id, "upgrade", {"openclaw_version": version}, wait=wait, timeout=timeout)


STEP = [col("STEP"), col("STATUS"), col("ATTEMPTS"), col("STARTED", "started_at"), col("ENDED", "ended_at"),
        ("DETAIL", lambda s: s.get("error") or s.get("detail"))]


@bot_app.command("status")
def bot_status(bot_id: str, workspace: Workspace = None) -> None:
    """The bot, and the steps of its running workflow (or of its last one)."""
    conn = connect()
    path = _bot_path(conn, workspace, bot_id)
    bot, provisioning = conn.api.get(path), conn.api.get(f"{path}/provisioning")
    if output() != "table":
        show_item({"bot": bot, "provisioning": provisioning}, output(), [])
        return
    workflow = provisioning.get("workflow") or {}
    show_fields({"id": bot["id"], "name": bot["name"], "status": bot["status"], "reason": bot.get("status_reason"),
                 "target": bot.get("target"), "openclaw_version": bot.get("openclaw_version"),
                 "applied_revision": bot.get("applied_revision_id"), "desired_revision": bot["desired_revision_id"],
                 "workflow": f"{workflow['action']} {workflow['id']} ({'running' if provisioning['running'] else 'ended'})"
                 if workflow else "none yet"}, "table")
    if provisioning["steps"]:
        print()
        print(table(STEP, provisioning["steps"]))


@bot_app.command("logs")
def bot_logs(bot_id: str,
             lines: Annotated[int, typer.Option("--lines", "-n", min=1, max=1000, help="How many of the last lines")]
             = 100,
             follow_: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl-C")]
             = False,
             workspace: Workspace = None) -> None:
    """The gateway's own log lines (JSON, as openclaw writes them; it redacts secrets). -o json/yaml without
    --follow prints {lines, cursor}."""
    conn = connect()
    path = f"{_bot_path(conn, workspace, bot_id)}/logs"
    page = conn.api.get(path, {"limit": lines})
    if output() != "table" and not follow_:
        show_item(page, output(), [])
        return
    try:
        while True:
            for line in page["lines"]:
                print(line, flush=True)
            if not follow_:
                return
            time.sleep(LOG_POLL_S)
            page = conn.api.get(path, {"cursor": page["cursor"], "limit": 1000})
    except KeyboardInterrupt:
        return


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


DIFF = [col("OP"), col("PATH"), col("FROM"), col("TO")]


@revision_app.command("diff")
def revision_diff(revision_id: str, bot: Bot,
                  against: Annotated[str | None, typer.Option(help="The base revision (default: the applied one)")]
                  = None, workspace: Workspace = None) -> None:
    """What changes from a base revision (default: the one the gateway runs) to this one, path by path."""
    conn = connect()
    query = f"?against={against}" if against else ""
    diff = conn.api.get(f"{_bot_path(conn, workspace, bot)}/revisions/{revision_id}/diff{query}")
    show_page({**diff, "items": diff["changes"]}, output(), DIFF, "changes") if output() == "table" \
        else show_item(diff, output(), DIFF)


@bot_app.command("rollback")
def bot_rollback(bot_id: str, revision_id: str, wait: Wait = True, timeout: Timeout = 1800,
                 workspace: Workspace = None) -> None:
    """Make an older revision the desired one again; on a running bot it is applied to the gateway and
    followed to the end (exit 9 if it ends in ERROR), or with --no-wait the bot is printed at once."""
    _post_and_follow(workspace, bot_id, "rollback", {"revision_id": revision_id}, wait=wait, timeout=timeout)


@bot_app.command("refresh")
def bot_refresh(bot_id: str, if_match: IfMatch = None, workspace: Workspace = None) -> None:
    """Resolve the bot's config again from the workspace's templates, profiles and overlays as they are now:
    a new desired revision when it differs (applied to a running gateway by a workflow)."""
    conn = connect()
    path = _bot_path(conn, workspace, bot_id)
    if if_match is None:
        if_match = conn.api.call("GET", path)[0].get("etag")
    result = conn.api.write("POST", f"{path}/refresh", None, if_match)
    if output() == "table":
        show_message(f"bot {bot_id}: " + ("a new desired revision " + result["bot"]["desired_revision_id"]
                                          if result["changed"] else "its config is up to date"), result, output())
    else:
        show_item(result, output(), BOT)


@bot_app.command("effective-config")
def bot_effective_config(bot_id: str, workspace: Workspace = None) -> None:
    """The bot's config as its layers resolve now, and which layer set each path (table: the provenance)."""
    conn = connect()
    result = conn.api.get(f"{_bot_path(conn, workspace, bot_id)}/effective-config")
    if output() == "table":
        rows = [{"path": path, "set_by": layer} for path, layer in result["provenance"].items()]
        show_page({"items": rows}, output(), [col("PATH"), col("SET-BY", "set_by")], "paths")
    else:
        show_item(result, output(), [col("BOT", "bot_id")])
