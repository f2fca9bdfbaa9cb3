"""The `clawster` command: its groups, the global options, and the one place failures become exit codes."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from clawster.cli import auth, meta
from clawster.cli.audit import audit_app
from clawster.cli.bots import bot_app, revision_app
from clawster.cli.connectors import connector_app
from clawster.cli.drift import drift_app
from clawster.cli.exits import CliError, epilog
from clawster.cli.fleets import fleet_app
from clawster.cli.layers import config_app, overlay_app, profile_app
from clawster.cli.policies import policy_app
from clawster.cli.rollouts import rollout_app
from clawster.cli.session import command_options, globals_, reset, root_options
from clawster.cli.workspaces import member_app, workspace_app
from clawster.local import discovery

app = typer.Typer(
    help="Manage Clawster workspaces, fleets and bots on the local stack (`make dev`) or a deployed API.",
    epilog=epilog(), no_args_is_help=True, pretty_exceptions_enable=False,
)
for name, group in (("workspace", workspace_app), ("member", member_app), ("fleet", fleet_app), ("bot", bot_app),
                    ("revision", revision_app), ("template", meta.template_app), ("target", meta.target_app),
                    ("audit", audit_app),
                    ("policy", policy_app), ("profile", profile_app), ("overlay", overlay_app),
                    ("config", config_app), ("drift", drift_app), ("connector", connector_app),
                    ("rollout", rollout_app)):
    app.add_typer(group, name=name)
auth.register(app)
meta.register(app)


@app.callback()
@root_options
def _root() -> None:
    pass


@app.command()
def dev(
    api_port: Annotated[int, typer.Option(envvar="CLAWSTER_API_PORT")] = 8787,
    moto_port: Annotated[int, typer.Option(envvar="CLAWSTER_MOTO_PORT")] = 5061,
    ws_port: Annotated[int, typer.Option(envvar="CLAWSTER_WS_PORT",
                                         help="the stream API (WebSocket); 0: a free port, in the banner and stack.json")] = 0,
) -> None:
    """Run the whole control plane locally (moto, the API, the local issuer) until Ctrl-C; the CLI finds it from any directory."""
    from clawster.local.stack import run_forever

    state_dir = globals_().state_dir or discovery.DEFAULT_STATE_DIR
    discovery.record(state_dir)
    try:
        code = run_forever(state_dir, api_port, moto_port, ws_port)
    finally:
        discovery.forget()
    raise typer.Exit(code or 0)


def _accept_global_options(group: typer.Typer) -> None:
    for info in group.registered_commands:
        info.callback = command_options(info.callback)
    for sub in group.registered_groups:
        if sub.typer_instance:
            _accept_global_options(sub.typer_instance)


_accept_global_options(app)


def main() -> None:
    reset()
    try:
        app(prog_name="clawster")
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(int(error.code)) from None
