"""`clawster rollout ...`: roll a change across bots wave by wave, follow it, and control it."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from clawster.cli.output import col, show_item, show_page, table
from clawster.cli.params import All, Cursor, Limit, Workspace
from clawster.cli.session import connect, output

rollout_app = typer.Typer(help="Fleet rollouts: a change (config patch, layer refresh, OpenClaw version) across "
                               "bots in waves, with bake time, health gates, abort threshold and automatic "
                               "rollback", no_args_is_help=True)

ROLLOUT = [col("ID"), col("STATUS"), col("WAVE", "current_wave"), col("WAVES", "wave_count"), col("BOTS", "bot_count"),
           col("REASON", "status_reason")]
BOT = [col("WAVE"), col("BOT", "bot_id"), col("STATE"), col("HEALTH"), col("DETAIL")]
WAVE = [col("WAVE", "number"), col("STATUS"), col("VERDICT"), col("REASON")]


def _tags(values: list[str] | None) -> dict[str, str]:
    tags = {}
    for value in values or []:
        key, sep, val = value.partition("=")
        if not sep:
            raise typer.BadParameter(f"{value!r} is not key=value", param_hint="--tag")
        tags[key] = val
    return tags


def _show(rollout: dict[str, Any]) -> None:
    if output() != "table":
        show_item(rollout, output(), [])
        return
    print(table(ROLLOUT, [rollout]))
    if rollout.get("waves"):
        print()
        print(table(WAVE, rollout["waves"]))
        print()
        print(table(BOT, [b for wave in rollout["waves"] for b in wave["bots"]]))


@rollout_app.command("create")
def rollout_create(
    bot: Annotated[list[str] | None, typer.Option("--bot", help="A target bot id; repeat for several")] = None,
    fleet: Annotated[list[str] | None, typer.Option("--fleet", help="Select the bots of this fleet")] = None,
    environment: Annotated[list[str] | None, typer.Option("--environment", help="Select by environment")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Select by tag key=value")] = None,
    patch: Annotated[str | None, typer.Option(help="A JSON merge patch onto each bot's config")] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="A new revision per bot from the layers")] = False,
    version: Annotated[str | None, typer.Option("--version", help="An OpenClaw version")] = None,
    strategy: Annotated[str, typer.Option(help="ALL, PERCENTAGE, CANARY, LINEAR or EXPONENTIAL")] = "ALL",
    step: Annotated[list[float] | None, typer.Option("--step", help="A cumulative percentage; repeat")] = None,
    canary: Annotated[list[str] | None, typer.Option("--canary", help="A canary bot id; repeat")] = None,
    step_percent: Annotated[float, typer.Option(help="LINEAR growth per wave")] = 0,
    initial_percent: Annotated[float, typer.Option(help="EXPONENTIAL first wave")] = 0,
    growth_factor: Annotated[float, typer.Option(help="EXPONENTIAL growth")] = 2.0,
    max_concurrency: Annotated[int, typer.Option(help="Bots at once in a wave")] = 10,
    bake: Annotated[int, typer.Option("--bake", help="Seconds of bake after each wave")] = 0,
    abort_percent: Annotated[float, typer.Option(help="Roll back above this failed share...")] = 0,
    abort_min: Annotated[int, typer.Option(help="...once this many bots are done")] = 1,
    gate: Annotated[list[str] | None, typer.Option("--gate", help=(
        "gateway_health, channel_health, error_rate, slo, or a JSON object with thresholds, e.g. "
        "'{\"gate\": \"error_rate\", \"max\": 0.05}' or '{\"gate\": \"cloudwatch_alarm\", \"alarms\": [\"a\"]}'; "
        "repeat"))] = None,
    approval: Annotated[list[int] | None, typer.Option("--approval-before", help="A wave number that waits")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Follow it live to its end (exit 9 unless it succeeds)")] = False,
    ceiling: Annotated[float, typer.Option(help="With --watch: give up after this many seconds")] = 3600,
    workspace: Workspace = None,
) -> None:
    """Start a rollout."""
    kinds = [k for k, given in (("config_patch", patch), ("refresh", refresh), ("version", version)) if given]
    if len(kinds) != 1:
        raise typer.BadParameter("give one of --patch, --refresh, --version")
    change: dict[str, Any] = {"kind": kinds[0]}
    if patch:
        change["patch"] = json.loads(patch)
    if version:
        change["openclaw_version"] = version
    body = {"targets": {"bot_ids": bot or [], "fleet_ids": fleet or [], "environments": environment or [],
                        "tags": _tags(tag)},
            "change": change,
            "strategy": {"kind": strategy.upper(), "steps": step or [], "canary_bot_ids": canary or [],
                         "step_percent": step_percent, "initial_percent": initial_percent,
                         "growth_factor": growth_factor},
            "max_concurrency": max_concurrency, "bake_s": bake,
            "abort": {"failed_percent": abort_percent, "min_done": abort_min},
            "gates": [_gate(g) for g in gate or ["gateway_health"]], "approval_before_waves": approval or []}
    conn = connect()
    ws = conn.workspace(workspace)
    if not watch:
        _show(conn.api.call("POST", f"/workspaces/{ws}/rollouts", body)[1])
        return
    from clawster.cli.watch import Stream, post_followed

    stream = Stream.open(conn.ws_url, conn.api.token, f"workspaces/{ws}")  # before the POST: no message is missed
    created = post_followed(conn.api, f"/workspaces/{ws}/rollouts", body, stream)
    _watch(conn, f"/workspaces/{ws}/rollouts/{created['id']}", stream, ceiling)


def _gate(text: str) -> Any:
    """A gate's name, or its JSON object (thresholds)."""
    if not text.lstrip().startswith("{"):
        return text
    try:
        return json.loads(text)
    except ValueError as error:
        raise typer.BadParameter(f"--gate {text!r} is not a JSON object: {error}") from None


@rollout_app.command("promote-fleet")
def rollout_promote_fleet(
    source: Annotated[str, typer.Option("--from", help="The fleet whose config is promoted (its bots share it)")],
    target: Annotated[str, typer.Option("--to", help="The fleet whose bots get it")],
    canary: Annotated[list[str] | None, typer.Option("--canary", help="A canary bot id of --to; repeat")] = None,
    step: Annotated[list[float] | None, typer.Option("--step", help="A cumulative percentage; repeat")] = None,
    max_concurrency: Annotated[int, typer.Option(help="Bots at once in a wave")] = 10,
    bake: Annotated[int, typer.Option("--bake", help="Seconds of bake after each wave")] = 0,
    approval: Annotated[list[int] | None, typer.Option("--approval-before", help="A wave number that waits")] = None,
    workspace: Workspace = None,
) -> None:
    """Promote a fleet's config to another fleet (dev -> staging -> prod): a rollout over the --to fleet's bots
    giving each the own config the --from fleet's bots share. Into a prod fleet its first wave waits for an
    approval, and prod's policy packs judge each bot's config."""
    strategy = "CANARY" if canary else "PERCENTAGE" if step else "ALL"
    body = {"targets": {"fleet_ids": [target]}, "change": {"kind": "promote_fleet", "source_fleet_id": source},
            "strategy": {"kind": strategy, "steps": step or [], "canary_bot_ids": canary or []},
            "max_concurrency": max_concurrency, "bake_s": bake, "approval_before_waves": approval or []}
    conn = connect()
    _show(conn.api.call("POST", f"/workspaces/{conn.workspace(workspace)}/rollouts", body)[1])


@rollout_app.command("list")
def rollout_list(workspace: Workspace = None, limit: Limit = None, cursor: Cursor = None, all_pages: All = False) -> None:
    """The workspace's rollouts, newest first."""
    conn = connect()
    page = conn.api.page(f"/workspaces/{conn.workspace(workspace)}/rollouts", {}, limit, cursor, all_pages)
    show_page(page, output(), ROLLOUT, "rollouts")


@rollout_app.command("get")
def rollout_get(rollout_id: str, workspace: Workspace = None) -> None:
    """The rollout, each wave and each bot."""
    conn = connect()
    _show(conn.api.get(f"/workspaces/{conn.workspace(workspace)}/rollouts/{rollout_id}"))


def _control(action: str, doc: str):
    def command(rollout_id: str, workspace: Workspace = None) -> None:
        conn = connect()
        _show(conn.api.call("POST", f"/workspaces/{conn.workspace(workspace)}/rollouts/{rollout_id}/{action}")[1])

    command.__doc__ = doc
    command.__name__ = f"rollout_{action}"
    rollout_app.command(action)(command)


@rollout_app.command("watch")
def rollout_watch(rollout_id: str, workspace: Workspace = None,
                  ceiling: Annotated[float, typer.Option(help="Give up after this many seconds")] = 3600) -> None:
    """Follow the rollout live, from the stream (its waves, gates, bots), until it ends; then show it. Exits 9
    when it ended ROLLED_BACK or FAILED. Without the stream it polls."""
    from clawster.cli.watch import Stream

    conn = connect()
    ws = conn.workspace(workspace)
    stream = Stream.open(conn.ws_url, conn.api.token, f"workspaces/{ws}")
    _watch(conn, f"/workspaces/{ws}/rollouts/{rollout_id}", stream, ceiling)


def _watch(conn: Any, path: str, stream: Any, ceiling: float) -> None:
    """The live view (clawster/cli/rollout_view.py) to the rollout's end, the rollout shown, and exit 9 unless it
    SUCCEEDED."""
    from clawster.cli.exits import CliError, ExitCode
    from clawster.cli.rollout_view import follow

    rollout = follow(conn.api, path, stream, ceiling_s=ceiling)
    _show(rollout)
    if rollout["status"] != "SUCCEEDED":
        raise CliError(ExitCode.BOT_ERROR,
                       f"rollout {rollout['id']} ended {rollout['status']}: {rollout.get('status_reason')}")


for _action, _doc in (("pause", "Hold before the next wave."), ("resume", "Go on (past a gate that paused it)."),
                      ("approve", "Let the wave that waits for an approval start."),
                      ("abort", "Stop and roll back every bot changed."), ("promote", "End the current bake now.")):
    _control(_action, _doc)
