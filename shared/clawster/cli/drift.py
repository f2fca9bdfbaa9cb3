"""`clawster drift ...`: what drift detection found on a bot or a workspace, and the drift policies."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from clawster.cli.output import col, show_item, show_page, table
from clawster.cli.params import All, Cursor, Limit, Workspace
from clawster.cli.session import connect, output

drift_app = typer.Typer(help="Drift: where a gateway's live config differs from its applied revision, and what "
                             "is done about it (adopt, revert or alert, per policy)", no_args_is_help=True)

REPORT = [col("BOT", "bot_id"), col("STATE"), col("FINDINGS", "finding_count"), col("CHECKED", "checked_at"),
          col("REVISION", "applied_revision_id")]
FINDING = [col("PATH"), col("OP"), col("CLASS", "drift_class"), col("ACTION"), col("OUTCOME")]
POLICY = [("CLASS", lambda row: row["class"]), col("ACTION"), col("SOURCE")]
Rules = Annotated[list[str] | None, typer.Option(
    "--rule", help="class=action (classes: pairing, agent, security, other; actions: adopt, revert, alert); "
                   "repeat for several; none: remove every rule of this scope")]


def _rules(values: list[str] | None) -> dict[str, str]:
    rules = {}
    for value in values or []:
        cls, sep, action = value.partition("=")
        if not sep:
            raise typer.BadParameter(f"{value!r} is not class=action", param_hint="--rule")
        rules[cls.strip()] = action.strip()
    return rules


def _show_policy(reply: dict[str, Any]) -> None:
    if output() != "table":
        show_item(reply, output(), [])
        return
    print(table(POLICY, [{"class": cls, **entry} for cls, entry in reply["effective"].items()]))


@drift_app.command("get")
def drift_get(bot_id: str, workspace: Workspace = None) -> None:
    """The bot's last drift check: its findings and its effective policy."""
    conn = connect()
    report = conn.api.get(f"/workspaces/{conn.workspace(workspace)}/bots/{bot_id}/drift")
    if output() != "table":
        show_item(report, output(), [])
        return
    print(table(REPORT, [report]))
    if report["findings"]:
        print()
        print(table(FINDING, report["findings"]))


@drift_app.command("list")
def drift_list(workspace: Workspace = None, limit: Limit = None, cursor: Cursor = None, all_pages: All = False) -> None:
    """The last drift report of each checked bot of the workspace."""
    conn = connect()
    page = conn.api.page(f"/workspaces/{conn.workspace(workspace)}/drift", {}, limit, cursor, all_pages)
    show_page(page, output(), REPORT, "drift reports")


@drift_app.command("set-bot-policy")
def drift_set_bot_policy(bot_id: str, rule: Rules = None, workspace: Workspace = None) -> None:
    """Replace a bot's drift rules (they override its fleet's)."""
    conn = connect()
    path = f"/workspaces/{conn.workspace(workspace)}/bots/{bot_id}/drift-policy"
    _show_policy(conn.api.call("PUT", path, {"rules": _rules(rule)})[1])


@drift_app.command("set-fleet-policy")
def drift_set_fleet_policy(fleet_id: str, rule: Rules = None, workspace: Workspace = None) -> None:
    """Replace a fleet's drift rules (they override the defaults: security revert, pairing and agent adopt,
    other alert)."""
    conn = connect()
    path = f"/workspaces/{conn.workspace(workspace)}/fleets/{fleet_id}/drift-policy"
    _show_policy(conn.api.call("PUT", path, {"rules": _rules(rule)})[1])


@drift_app.command("approve-pairing")
def drift_approve_pairing(bot_id: str, channel: Annotated[str, typer.Option(help="e.g. telegram")],
                          sender: Annotated[str, typer.Option(help="the sender's id on the channel")],
                          account: Annotated[str | None, typer.Option(help="one of the channel's accounts")] = None,
                          workspace: Workspace = None) -> None:
    """Allow a sender on a bot's channel through its desired config (a new revision, applied by the workflow),
    never on the gateway directly, so drift detection has nothing to reconcile."""
    conn = connect()
    body = {"channel": channel, "sender": sender} | ({"account": account} if account else {})
    bot = conn.api.call("POST", f"/workspaces/{conn.workspace(workspace)}/bots/{bot_id}/pairing/approve", body)[1]
    show_item(bot, output(), [col("ID"), col("STATUS"), col("DESIRED", "desired_revision_id"),
                              col("APPLIED", "applied_revision_id")])
