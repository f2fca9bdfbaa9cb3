"""`clawster workspace ...` and `clawster member ...`."""

from __future__ import annotations

from typing import Annotated

import typer

from clawster.cli.output import col, show_item, show_message, show_page
from clawster.cli.params import IfMatch, Workspace, changes
from clawster.cli.session import connect, output

workspace_app = typer.Typer(help="Workspaces (tenants: members, fleets, bots, audit)", no_args_is_help=True)
member_app = typer.Typer(help="Members of a workspace and their roles", no_args_is_help=True)

WORKSPACE = [col("ID"), col("NAME"), col("ROLE"), col("FLEETS", "fleet_count"), col("VERSION"),
             col("DESCRIPTION")]
MEMBER = [col("USER", "user_id"), col("ROLE"), col("ADDED-BY"), col("VERSION"), col("UPDATED", "updated_at")]
Role = Annotated[str, typer.Option("--role", "-r", help="OWNER, ADMIN, OPERATOR or VIEWER")]


@workspace_app.command("list")
def workspace_list() -> None:
    """The workspaces you belong to, with your role in each."""
    show_page(connect().api.get("/workspaces"), output(), WORKSPACE, "workspaces")


@workspace_app.command("create")
def workspace_create(name: str, description: str = "") -> None:
    """Create a workspace; you become its OWNER."""
    body = connect().api.call("POST", "/workspaces", {"name": name, "description": description})[1]
    show_item(body, output(), WORKSPACE)


@workspace_app.command("get")
def workspace_get(workspace_id: str) -> None:
    show_item(connect().api.get(f"/workspaces/{workspace_id}"), output(), WORKSPACE)


@workspace_app.command("update")
def workspace_update(workspace_id: str, name: str | None = None, description: str | None = None,
                     if_match: IfMatch = None) -> None:
    """Rename or describe a workspace."""
    body = changes("--name, --description", name=name, description=description)
    show_item(connect().api.write("PATCH", f"/workspaces/{workspace_id}", body, if_match), output(), WORKSPACE)


@workspace_app.command("delete")
def workspace_delete(workspace_id: str, if_match: IfMatch = None) -> None:
    """Delete a workspace (it must have no fleets)."""
    connect().api.write("DELETE", f"/workspaces/{workspace_id}", if_match=if_match)
    show_message(f"deleted workspace {workspace_id}", {"deleted": "workspace", "id": workspace_id}, output())


@member_app.command("list")
def member_list(workspace: Workspace = None) -> None:
    conn = connect()
    show_page(conn.api.get(f"/workspaces/{conn.workspace(workspace)}/members"), output(), MEMBER, "members")


@member_app.command("set")
def member_set(user_id: str, role: Role, workspace: Workspace = None) -> None:
    """Add a member, or change a member's role."""
    conn = connect()
    path = f"/workspaces/{conn.workspace(workspace)}/members/{user_id}"
    show_item(conn.api.call("PUT", path, {"role": role.upper()})[1], output(), MEMBER)


@member_app.command("remove")
def member_remove(user_id: str, workspace: Workspace = None) -> None:
    conn = connect()
    workspace_id = conn.workspace(workspace)
    conn.api.call("DELETE", f"/workspaces/{workspace_id}/members/{user_id}")
    show_message(f"removed {user_id} from workspace {workspace_id}",
                 {"removed": user_id, "workspace_id": workspace_id}, output())
