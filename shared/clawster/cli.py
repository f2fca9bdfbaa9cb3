"""`clawster`: run the local stack, issue local tokens, and manage workspaces, fleets, bots and the
audit trail against the local stack or a deployed API (--api-url or CLAWSTER_API_URL)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
workspace_app = typer.Typer(help="Workspaces", no_args_is_help=True)
fleet_app = typer.Typer(help="Fleets", no_args_is_help=True)
bot_app = typer.Typer(help="Bots", no_args_is_help=True)
audit_app = typer.Typer(help="Audit trail", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")
app.add_typer(fleet_app, name="fleet")
app.add_typer(bot_app, name="bot")
app.add_typer(audit_app, name="audit")

out = Console()
err = Console(stderr=True)

StateDir = Annotated[Path, typer.Option(envvar="CLAWSTER_STATE_DIR", help="Local stack state folder")]
ApiUrl = Annotated[str | None, typer.Option(envvar="CLAWSTER_API_URL", help="API base URL")]
Token = Annotated[str | None, typer.Option(envvar="CLAWSTER_TOKEN", help="Bearer token")]
Workspace = Annotated[str | None, typer.Option("--workspace", "-w", envvar="CLAWSTER_WORKSPACE",
                                               help="Workspace id (default: the local demo workspace)")]
DEFAULT_STATE = Path(".clawster/dev")


class CliError(Exception):
    pass


# --- the local stack -----------------------------------------------------------------------------

@app.command()
def dev(
    state_dir: StateDir = DEFAULT_STATE,
    api_port: Annotated[int, typer.Option(envvar="CLAWSTER_API_PORT")] = 8787,
    moto_port: Annotated[int, typer.Option(envvar="CLAWSTER_MOTO_PORT")] = 5061,
) -> None:
    """Run the whole control plane locally (moto, the API, the local issuer) until Ctrl-C."""
    from clawster.local.stack import run_forever

    raise typer.Exit(run_forever(state_dir, api_port, moto_port) or 0)


@app.command()
def token(
    user: Annotated[str, typer.Option("--user", "-u", help="User id (the token's subject)")],
    role: Annotated[str | None, typer.Option("--role", "-r", help="Also grant this role (OWNER, ADMIN, "
                                             "OPERATOR, VIEWER) in the workspace, through the local issuer")] = None,
    workspace: Workspace = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds")] = 3600,
    state_dir: StateDir = DEFAULT_STATE,
) -> None:
    """Issue a token from the local issuer (the dev stack's stand-in for Cognito)."""
    from clawster.domain.roles import Role
    from clawster.local.issuer import Issuer

    if role is not None:
        try:
            granted = Role(role.upper())
        except ValueError:
            raise CliError(f"--role must be one of {', '.join(r.value for r in Role)}") from None
        stack = _stack(state_dir)
        workspace = workspace or stack.get("demo_workspace_id")
        if not workspace:
            raise CliError("--workspace is required (the stack has no demo workspace)")
        os.environ.update(AWS_ENDPOINT_URL=stack["moto_url"], TABLE_NAME=stack["table_name"],
                          AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", AWS_DEFAULT_REGION="us-east-1")
        from clawster.services.seed import grant

        grant(workspace, user, granted)
        err.print(f"granted {granted.value} in workspace {workspace} to {user}")
    print(Issuer(state_dir).issue(user, ttl_s=ttl))


# --- the API client ------------------------------------------------------------------------------

def _stack(state_dir: Path) -> dict[str, Any]:
    path = state_dir / "stack.json"
    if not path.exists():
        raise CliError(f"no local stack is running ({path} not found): start it with `make dev`")
    return json.loads(path.read_text())


class Api:
    def __init__(self, api_url: str | None, token: str | None, state_dir: Path):
        stack = None
        if api_url is None or token is None:
            if not (state_dir / "stack.json").exists() and api_url is not None:
                raise CliError("no token: pass --token or set CLAWSTER_TOKEN")
            stack = _stack(state_dir)
        self.url = (api_url or stack["api_url"]).rstrip("/")
        if token is None:
            from clawster.local.issuer import Issuer

            token = Issuer(state_dir).issue("admin")
        self.token = token
        self.demo_workspace = stack.get("demo_workspace_id") if stack else None

    def call(self, method: str, path: str, body: Any = None, query: dict | None = None,
             headers: dict | None = None) -> tuple[int, dict[str, str], Any]:
        url = self.url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None}, doseq=True)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, dict(response.headers), json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                detail = json.loads(raw)
            except ValueError:
                detail = {"message": raw.decode(errors="replace")}
            raise CliError(f"{error.code} {detail.get('code', '')}: {detail.get('message', '')}"
                           + _field_errors(detail)) from None
        except urllib.error.URLError as error:
            raise CliError(f"cannot reach {self.url}: {error.reason}") from None

    def workspace(self, given: str | None) -> str:
        workspace = given or self.demo_workspace
        if not workspace:
            raise CliError("--workspace is required")
        return workspace

    def delete(self, path: str) -> None:
        _, headers, _ = self.call("GET", path)
        self.call("DELETE", path, headers={"If-Match": headers.get("ETag", "")})


def _field_errors(detail: dict) -> str:
    rows = (detail.get("details") or {}).get("errors") or []
    return "".join(f"\n  {row.get('field')}: {row.get('reason')}" for row in rows)


def _table(title: str, rows: list[dict], columns: list[str]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*[_cell(row.get(c)) for c in columns])
    out.print(table)


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return "" if value is None else str(value)


def _show(item: dict) -> None:
    out.print_json(json.dumps(item))


def _tags(values: list[str] | None) -> dict[str, str]:
    tags = {}
    for value in values or []:
        key, sep, val = value.partition("=")
        if not sep:
            raise CliError(f"--tag must be key=value, got '{value}'")
        tags[key] = val
    return tags


# --- workspaces ----------------------------------------------------------------------------------

@workspace_app.command("list")
def workspace_list(api_url: ApiUrl = None, token: Token = None, state_dir: StateDir = DEFAULT_STATE) -> None:
    _, _, body = Api(api_url, token, state_dir).call("GET", "/workspaces")
    _table("Workspaces", body["items"], ["id", "name", "role", "fleet_count", "version"])


@workspace_app.command("create")
def workspace_create(name: str, description: str = "", api_url: ApiUrl = None, token: Token = None,
                     state_dir: StateDir = DEFAULT_STATE) -> None:
    _, _, body = Api(api_url, token, state_dir).call("POST", "/workspaces", {"name": name, "description": description})
    _show(body)


@workspace_app.command("get")
def workspace_get(workspace_id: str, api_url: ApiUrl = None, token: Token = None,
                  state_dir: StateDir = DEFAULT_STATE) -> None:
    _show(Api(api_url, token, state_dir).call("GET", f"/workspaces/{workspace_id}")[2])


@workspace_app.command("delete")
def workspace_delete(workspace_id: str, api_url: ApiUrl = None, token: Token = None,
                     state_dir: StateDir = DEFAULT_STATE) -> None:
    Api(api_url, token, state_dir).delete(f"/workspaces/{workspace_id}")
    out.print(f"deleted workspace {workspace_id}")


# --- fleets --------------------------------------------------------------------------------------

@fleet_app.command("list")
def fleet_list(workspace: Workspace = None, api_url: ApiUrl = None, token: Token = None,
               state_dir: StateDir = DEFAULT_STATE) -> None:
    api = Api(api_url, token, state_dir)
    _, _, body = api.call("GET", f"/workspaces/{api.workspace(workspace)}/fleets", query={"limit": 100})
    _table("Fleets", body["items"], ["id", "name", "environment", "bot_count", "tags", "version"])


@fleet_app.command("create")
def fleet_create(name: str, environment: str = "dev", description: str = "",
                 tag: Annotated[list[str] | None, typer.Option(help="key=value, repeatable")] = None,
                 workspace: Workspace = None, api_url: ApiUrl = None, token: Token = None,
                 state_dir: StateDir = DEFAULT_STATE) -> None:
    api = Api(api_url, token, state_dir)
    body = {"name": name, "environment": environment, "description": description, "tags": _tags(tag)}
    _show(api.call("POST", f"/workspaces/{api.workspace(workspace)}/fleets", body)[2])


@fleet_app.command("get")
def fleet_get(fleet_id: str, workspace: Workspace = None, api_url: ApiUrl = None, token: Token = None,
              state_dir: StateDir = DEFAULT_STATE) -> None:
    api = Api(api_url, token, state_dir)
    _show(api.call("GET", f"/workspaces/{api.workspace(workspace)}/fleets/{fleet_id}")[2])


@fleet_app.command("delete")
def fleet_delete(fleet_id: str, workspace: Workspace = None, api_url: ApiUrl = None, token: Token = None,
                 state_dir: StateDir = DEFAULT_STATE) -> None:
    api = Api(api_url, token, state_dir)
    api.delete(f"/workspaces/{api.workspace(workspace)}/fleets/{fleet_id}")
    out.print(f"deleted fleet {fleet_id}")


# --- bots ----------------------------------------------------------------------------------------

@bot_app.command("list")
def bot_list(fleet: Annotated[str, typer.Option("--fleet", "-f")], status: str | None = None,
             tag: Annotated[list[str] | None, typer.Option(help="key or key=value, repeatable")] = None,
             workspace: Workspace = None, api_url: ApiUrl = None, token: Token = None,
             state_dir: StateDir = DEFAULT_STATE) -> None:
    api = Api(api_url, token, state_dir)
    query = {"status": status, "tag": tag or None, "limit": 100}
    _, _, body = api.call("GET", f"/workspaces/{api.workspace(workspace)}/fleets/{fleet}/bots", query=query)
    _table("Bots", body["items"], ["id", "name", "status", "template_id", "tags", "version"])


@bot_app.command("create")
def bot_create(name: str, fleet: Annotated[str, typer.Option("--fleet", "-f")],
               template: Annotated[str | None, typer.Option(help="Built-in template id")] = None,
               config: Annotated[Path | None, typer.Option(help="OpenClaw config JSON file")] = None,
               tag: Annotated[list[str] | None, typer.Option(help="key=value, repeatable")] = None,
               workspace: Workspace = None, api_url: ApiUrl = None, token: Token = None,
               state_dir: StateDir = DEFAULT_STATE) -> None:
    api = Api(api_url, token, state_dir)
    body: dict[str, Any] = {"name": name, "tags": _tags(tag)}
    if template:
        body["template_id"] = template
    if config:
        body["config"] = json.loads(config.read_text())
    _show(api.call("POST", f"/workspaces/{api.workspace(workspace)}/fleets/{fleet}/bots", body)[2])


@bot_app.command("get")
def bot_get(bot_id: str, workspace: Workspace = None, api_url: ApiUrl = None, token: Token = None,
            state_dir: StateDir = DEFAULT_STATE) -> None:
    api = Api(api_url, token, state_dir)
    _show(api.call("GET", f"/workspaces/{api.workspace(workspace)}/bots/{bot_id}")[2])


@bot_app.command("delete")
def bot_delete(bot_id: str, workspace: Workspace = None, api_url: ApiUrl = None, token: Token = None,
               state_dir: StateDir = DEFAULT_STATE) -> None:
    api = Api(api_url, token, state_dir)
    api.delete(f"/workspaces/{api.workspace(workspace)}/bots/{bot_id}")
    out.print(f"deleted bot {bot_id}")


# --- audit ---------------------------------------------------------------------------------------

@audit_app.command("list")
def audit_list(actor: str | None = None, target: str | None = None, action: str | None = None,
               since: str | None = None, until: str | None = None, limit: int = 50,
               workspace: Workspace = None, api_url: ApiUrl = None, token: Token = None,
               state_dir: StateDir = DEFAULT_STATE) -> None:
    api = Api(api_url, token, state_dir)
    query = {"actor": actor, "target": target, "action": action, "since": since, "until": until, "limit": limit}
    _, _, body = api.call("GET", f"/workspaces/{api.workspace(workspace)}/audit", query=query)
    _table("Audit trail", body["items"], ["at", "actor", "role", "action", "outcome", "target", "reason"])


def main() -> None:
    try:
        app()
    except CliError as error:
        err.print(f"[red]error:[/red] {error}")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
