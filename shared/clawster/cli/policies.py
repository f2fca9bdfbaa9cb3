"""`clawster policy ...`: policy packs (the built-in ones and a workspace's own) and a dry-run evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from clawster.cli.exits import CliError, ExitCode
from clawster.cli.output import col, show_item, show_message, show_page, table
from clawster.cli.params import All, ConfigFile, Cursor, IfMatch, Limit, Workspace, changes, json_file
from clawster.cli.session import connect, output

policy_app = typer.Typer(help="Policy packs: rules a bot's config must meet before it is deployed",
                         no_args_is_help=True)

PACK = [col("ID"), col("NAME"), ("ENVIRONMENTS", lambda p: ",".join(p.get("environments") or []) or "all"),
        ("RULES", lambda p: len(p.get("rules") or [])), col("VERSION")]
FINDING = [col("SEVERITY"), col("PACK", "pack_id"), col("RULE", "rule_id"), col("PATH"), col("MESSAGE")]
RulesFile = Annotated[Path | None, typer.Option(
    "--rules-file", exists=True, dir_okay=False, help="The pack's rules, a JSON list: [{\"id\", \"type\", "
    "\"severity\", \"config\"} or {\"id\", \"type\": \"path\", \"path\", \"op\", \"value\"}]")]
Environments = Annotated[list[str] | None, typer.Option(
    "--environment", "-e", help="dev, staging or prod; repeat for several (default: every environment)")]


def _packs(conn: Any, workspace: str | None) -> str:
    return f"/workspaces/{conn.workspace(workspace)}/policy-packs"


@policy_app.command("builtin")
def policy_builtin() -> None:
    """The built-in OpenClaw packs every deploy is checked against (-o json shows their rules)."""
    show_page(connect().api.get("/policy-packs/builtin"), output(), PACK, "policy packs")


@policy_app.command("list")
def policy_list(workspace: Workspace = None, limit: Limit = None, cursor: Cursor = None, all_pages: All = False) -> None:
    """The workspace's own packs."""
    conn = connect()
    show_page(conn.api.page(_packs(conn, workspace), {}, limit, cursor, all_pages), output(), PACK, "policy packs")


@policy_app.command("create")
def policy_create(name: str, rules_file: RulesFile = None, environment: Environments = None,
                  description: str = "", workspace: Workspace = None) -> None:
    """A workspace pack: its ERROR rules refuse a deploy, its WARNING rules are reported with it."""
    if rules_file is None:
        raise typer.BadParameter("give the rules as a JSON file", param_hint="--rules-file")
    body = {"name": name, "description": description, "environments": environment or [],
            "rules": json_file(rules_file)}
    conn = connect()
    show_item(conn.api.call("POST", _packs(conn, workspace), body)[1], output(), PACK)


@policy_app.command("get")
def policy_get(pack_id: str, workspace: Workspace = None) -> None:
    conn = connect()
    show_item(conn.api.get(f"{_packs(conn, workspace)}/{pack_id}"), output(), PACK)


@policy_app.command("update")
def policy_update(pack_id: str, name: str | None = None, description: str | None = None,
                  rules_file: RulesFile = None, environment: Environments = None,
                  if_match: IfMatch = None, workspace: Workspace = None) -> None:
    """Change a pack's name, description, environments or rules (the rules file replaces them all)."""
    body = changes("--name, --description, --rules-file, --environment", name=name, description=description,
                   rules=json_file(rules_file) if rules_file else None, environments=environment)
    conn = connect()
    show_item(conn.api.write("PATCH", f"{_packs(conn, workspace)}/{pack_id}", body, if_match), output(), PACK)


@policy_app.command("delete")
def policy_delete(pack_id: str, if_match: IfMatch = None, workspace: Workspace = None) -> None:
    conn = connect()
    conn.api.write("DELETE", f"{_packs(conn, workspace)}/{pack_id}", if_match=if_match)
    show_message(f"deleted policy pack {pack_id}", {"deleted": "policy-pack", "id": pack_id}, output())


@policy_app.command("evaluate")
def policy_evaluate(config_file: ConfigFile = None,
                    environment: Annotated[str, typer.Option("--environment", "-e", help="dev, staging or prod")]
                    = "dev",
                    pack: Annotated[list[str] | None, typer.Option("--pack", help="Only this pack; repeat for "
                                                                                   "several")] = None,
                    workspace: Workspace = None) -> None:
    """A dry run (nothing is stored): the packs' findings on a config. Exits 6 when an ERROR finding would
    refuse the deploy."""
    if config_file is None:
        raise typer.BadParameter("give the OpenClaw config as a JSON file", param_hint="--config-file")
    body: dict[str, Any] = {"config": json_file(config_file), "environment": environment}
    if pack:
        body["pack_ids"] = pack
    conn = connect()
    result = conn.api.call("POST", f"{_packs(conn, workspace)}/evaluate", body)[1]
    if output() == "table":
        findings = result["errors"] + result["warnings"] + result.get("infos", [])
        print(table(FINDING, findings) if findings else "no findings")
    else:
        show_item(result, output(), FINDING)
    if not result["valid"]:
        raise CliError(ExitCode.VALIDATION, f"{len(result['errors'])} ERROR finding(s): a deploy would be refused")
