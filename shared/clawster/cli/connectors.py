"""`clawster connector ...`: LLM keys and channel tokens kept in Secrets Manager, their offline test and
their rotation. A value is never an argument (shell history, `ps`): it is read from a file, from stdin
(`--value-file -`) or from a hidden prompt, and it is never printed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from clawster.cli.output import col, show_item, show_message, show_page
from clawster.cli.params import All, Cursor, IfMatch, Limit, Workspace
from clawster.cli.session import connect, output

connector_app = typer.Typer(help="Connectors: LLM provider keys and channel tokens, referenced from bot configs",
                            no_args_is_help=True)

CONNECTOR = [col("ID"), col("NAME"), col("KIND"), ("REFERENCE", lambda c: c.get("secret_name", "")),
             ("TEST", lambda c: (c.get("last_test") or {}).get("result", "-")),
             ("ROTATION", lambda c: c.get("rotation_id") or (c.get("last_rotation") or {}).get("status", "-")),
             col("VERSION")]
ROTATION = [col("ID"), col("STATUS"), ("BATCHES", lambda r: f"{r.get('batches_done', 0)}/{r.get('batch_count', 0)}"),
            ("BOTS", lambda r: len(r.get("bots") or {})), ("REASON", lambda r: r.get("reason") or "")]
CHECK = [col("RESULT"), col("REASON")]
ValueFile = Annotated[Path | None, typer.Option(
    "--value-file", help="A file holding the value, or - for stdin (default: a hidden prompt)", allow_dash=True)]


def _connectors(conn: Any, workspace: str | None) -> str:
    return f"/workspaces/{conn.workspace(workspace)}/connectors"


def _value(path: Path | None) -> str:
    if path is None:
        return typer.prompt("value", hide_input=True)
    text = sys.stdin.read() if str(path) == "-" else path.read_text()
    return text.rstrip("\n")


@connector_app.command("create")
def connector_create(name: str, kind: Annotated[str, typer.Option(
        help="openai, anthropic, slack-bot, slack-app, telegram, discord, webhook or generic")],
        value_file: ValueFile = None, workspace: Workspace = None) -> None:
    """Store a value in Secrets Manager; prints the reference to put in a bot config."""
    conn = connect()
    body = {"name": name, "kind": kind, "value": _value(value_file)}
    show_item(conn.api.call("POST", _connectors(conn, workspace), body)[1], output(), CONNECTOR)


@connector_app.command("list")
def connector_list(workspace: Workspace = None, limit: Limit = None, cursor: Cursor = None,
                   all_pages: All = False) -> None:
    conn = connect()
    show_page(conn.api.page(_connectors(conn, workspace), {}, limit, cursor, all_pages), output(), CONNECTOR,
              "connectors")


@connector_app.command("get")
def connector_get(connector_id: str, workspace: Workspace = None) -> None:
    conn = connect()
    show_item(conn.api.get(f"{_connectors(conn, workspace)}/{connector_id}"), output(), CONNECTOR)


@connector_app.command("rename")
def connector_rename(connector_id: str, name: str, if_match: IfMatch = None, workspace: Workspace = None) -> None:
    conn = connect()
    show_item(conn.api.write("PATCH", f"{_connectors(conn, workspace)}/{connector_id}", {"name": name}, if_match),
              output(), CONNECTOR)


@connector_app.command("delete")
def connector_delete(connector_id: str, if_match: IfMatch = None, workspace: Workspace = None) -> None:
    """Refused while a bot's config references it."""
    conn = connect()
    conn.api.write("DELETE", f"{_connectors(conn, workspace)}/{connector_id}", if_match=if_match)
    show_message(f"deleted connector {connector_id}", {"deleted": "connector", "id": connector_id}, output())


@connector_app.command("test")
def connector_test(connector_id: str, workspace: Workspace = None) -> None:
    """Offline checks of the current value; liveness at the provider is reported untested."""
    conn = connect()
    show_item(conn.api.call("POST", f"{_connectors(conn, workspace)}/{connector_id}/test", None)[1], output(), CHECK)


@connector_app.command("rotate")
def connector_rotate(connector_id: str, value_file: ValueFile = None,
                     batch_size: Annotated[int | None, typer.Option(min=1, max=100)] = None,
                     workspace: Workspace = None) -> None:
    """Roll a new value out to the bots that use it, batch by batch; `connector rotation` follows it."""
    conn = connect()
    body: dict[str, Any] = {"value": _value(value_file)}
    if batch_size is not None:
        body["batch_size"] = batch_size
    show_item(conn.api.call("POST", f"{_connectors(conn, workspace)}/{connector_id}/rotate", body)[1], output(),
              ROTATION)


@connector_app.command("rotation")
def connector_rotation(connector_id: str, rotation_id: str, workspace: Workspace = None) -> None:
    """A rotation's progress: its batches and each bot's status."""
    conn = connect()
    show_item(conn.api.get(f"{_connectors(conn, workspace)}/{connector_id}/rotations/{rotation_id}"), output(),
              ROTATION)
