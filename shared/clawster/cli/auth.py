"""`clawster login`, `clawster whoami` and `clawster token` (a token from the local issuer)."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from clawster.cli import cognito
from clawster.cli.exits import CliError, ExitCode
from clawster.cli.output import col, show_fields, table
from clawster.cli.params import Workspace
from clawster.cli.session import connect, globals_, output, profile, same_url, token_claims
from clawster.local import discovery

Seconds = Annotated[int, typer.Option(min=60, help="Lifetime in seconds")]


def login(
    user: Annotated[str, typer.Option("--user", "-u", help="Local stack: the user to sign in as")] = "admin",
    ttl: Seconds = 12 * 3600,
    cognito_client_id: Annotated[str | None, typer.Option(help="AWS: the user pool's app client id (stack "
                                                          "output UserPoolClientId). Default: the profile's")] = None,
    region: Annotated[str | None, typer.Option(help="AWS: the user pool's region. Default: the profile's")] = None,
    username: Annotated[str | None, typer.Option(help="AWS: your Cognito user name or e-mail. Default: the "
                                                 "profile's")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password (then any new "
                                                 "password or MFA code) from stdin, one per line")] = False,
) -> None:
    """Get a token and save it in the profile (config file, mode 0600).

    On AWS (--cognito-client-id, or a profile that has one): Cognito sign-in with your password, a new password on
    first sign-in, and TOTP MFA. Locally: a token for --user from the running stack's issuer."""
    prof = profile(create=True)
    client_id = cognito_client_id or prof.values.get("cognito_client_id")
    if client_id:
        api_url = globals_().api_url or prof.values.get("api_url")
        username = username or prof.values.get("username")
        region = region or prof.values.get("region")
        if not api_url or not username:
            raise CliError(ExitCode.USAGE, "Cognito login needs --api-url and --username (or both in the profile)")
        tokens = cognito.login(client_id, region, username, _asker(password_stdin))
        prof.save(api_url=api_url, token=tokens["id_token"], refresh_token=tokens["refresh_token"] or None,
                  cognito_client_id=client_id, region=region, username=username)
    else:
        api_url = globals_().api_url or prof.values.get("api_url")
        local = discovery.locate(globals_().state_dir)
        if api_url and not (local and same_url(local.api_url, api_url)):
            raise CliError(ExitCode.USAGE, f"{api_url} is not the local stack: give --cognito-client-id and --region "
                                   "to sign in with Cognito")
        if local is None or not local.running:
            reason = local.why_not_running() if local else "no local stack found"
            raise CliError(ExitCode.UNREACHABLE, f"{reason}: start it with `make dev`")
        from clawster.local.issuer import Issuer

        prof.save(api_url=local.api_url, token=Issuer(local.state_dir).issue(user, ttl_s=ttl), refresh_token=None,
                  cognito_client_id=None)
    claims = token_claims(prof.values["token"])
    show_fields({"profile": prof.name, "user": claims.get("sub"), "expires_at": _time(claims.get("exp")),
                 "api_url": prof.values["api_url"], "config": str(prof.config.path)}, output())


def _asker(from_stdin: bool) -> cognito.Ask:
    def ask(prompt: str, secret: bool) -> str:
        if not from_stdin:
            return typer.prompt(prompt, hide_input=secret)
        line = sys.stdin.readline()
        if not line:
            raise CliError(ExitCode.USAGE, f"--password-stdin: stdin ended before the {prompt.lower()}")
        return line.rstrip("\r\n")

    return ask


def whoami() -> None:
    """Who the token says you are, until when, and your role in each workspace."""
    conn = connect()
    claims = token_claims(conn.api.token or "")
    workspaces = [{"id": w["id"], "name": w["name"], "role": w["role"]}
                  for w in conn.api.get("/workspaces")["items"]]
    identity = {"user": claims.get("sub"), "username": claims.get("cognito:username"), "email": claims.get("email"),
                "issuer": claims.get("iss"), "expires_at": _time(claims.get("exp")), "api_url": conn.api.url,
                "profile": profile().name if profile().values else None, "workspaces": workspaces}
    show_fields(identity, output())
    if output() == "table" and workspaces:
        print()
        print(table([col("WORKSPACE", "id"), col("NAME"), col("ROLE")], workspaces))


def token(
    user: Annotated[str, typer.Option("--user", "-u", help="User id (the token's subject)")],
    role: Annotated[str | None, typer.Option("--role", "-r", help="Also grant this role (OWNER, ADMIN, "
                                             "OPERATOR, VIEWER) in the workspace, through the local stack")] = None,
    workspace: Workspace = None,
    ttl: Seconds = 3600,
) -> None:
    """Print a token from the local issuer (the local stack's stand-in for Cognito)."""
    from clawster.domain.roles import Role
    from clawster.local.issuer import Issuer

    local = discovery.locate(globals_().state_dir)
    if local is None:
        raise CliError(ExitCode.UNREACHABLE, "no local stack found: start one with `make dev`")
    if role is not None:
        try:
            granted = Role(role.upper())
        except ValueError:
            raise typer.BadParameter(f"must be one of {', '.join(r.value for r in Role)}", param_hint="--role") from None
        if not local.running:
            raise CliError(ExitCode.UNREACHABLE, local.why_not_running() + ": start it with `make dev`")
        assert local.info is not None
        workspace = workspace or local.info.get("demo_workspace_id")
        if not workspace:
            raise CliError(ExitCode.USAGE, "--workspace is required (the stack has no demo workspace)")
        os.environ.update(AWS_ENDPOINT_URL=local.info["moto_url"], TABLE_NAME=local.info["table_name"],
                          AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", AWS_DEFAULT_REGION="us-east-1")
        from clawster.services.seed import grant

        grant(workspace, user, granted)
        print(f"granted {granted.value} in workspace {workspace} to {user}", file=sys.stderr)
    issued = Issuer(local.state_dir).issue(user, ttl_s=ttl)
    if output() == "table":
        print(issued)  # just the token, for $(clawster token --user carol)
    else:
        show_fields({"user": user, "token": issued, "expires_at": _time(token_claims(issued).get("exp"))}, output())


def _time(epoch: object) -> str | None:
    if not isinstance(epoch, int | float):
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def register(app: typer.Typer) -> None:
    app.command("login")(login)
    app.command("whoami")(whoami)
    app.command("token")(token)
