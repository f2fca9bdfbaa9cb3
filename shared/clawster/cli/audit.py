"""`clawster audit list`."""

from __future__ import annotations

from typing import Annotated

import typer

from clawster.cli.output import col, show_page
from clawster.cli.params import All, Cursor, Limit, Workspace
from clawster.cli.session import connect, output

audit_app = typer.Typer(help="The audit trail (every change and every denied request)", no_args_is_help=True)

EVENT = [col("AT"), col("ACTOR"), col("ROLE"), col("ACTION"), col("OUTCOME"), col("TARGET"), col("REASON")]


@audit_app.command("list")
def audit_list(actor: Annotated[str | None, typer.Option(help="Only this user's events")] = None,
               target: Annotated[str | None, typer.Option(help="Only events on this path")] = None,
               action: Annotated[str | None, typer.Option(help="Only this action, e.g. fleet.create")] = None,
               since: Annotated[str | None, typer.Option(help="ISO 8601 time, e.g. 2026-11-26T00:00:00Z")] = None,
               until: Annotated[str | None, typer.Option(help="ISO 8601 time")] = None,
               workspace: Workspace = None, limit: Limit = None, cursor: Cursor = None, all_pages: All = False) -> None:
    """Newest first."""
    conn = connect()
    query = {"actor": actor, "target": target, "action": action, "since": since, "until": until}
    page = conn.api.page(f"/workspaces/{conn.workspace(workspace)}/audit", query, limit, cursor, all_pages)
    show_page(page, output(), EVENT, "audit events")
