"""Global options and what they resolve to: which API, which token, which output format.

Precedence, highest first: an option on the command, the same option before the command or its
environment variable, the selected profile of the config file, then the running local stack. A
token is minted for the local admin only when the API is the recorded, running local stack, and a
profile's token goes only to that profile's API: any other API needs --token or CLAWSTER_TOKEN.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from clawster.cli import config as config_file
from clawster.cli.client import Api
from clawster.cli.exits import CliError, ExitCode
from clawster.local import discovery


class Output(StrEnum):
    TABLE = "table"
    JSON = "json"
    YAML = "yaml"


@dataclass
class Globals:
    api_url: str | None = None
    token: str | None = None
    output: str | None = None
    profile: str | None = None
    config: Path | None = None
    state_dir: Path | None = None


PANEL = "Global options (also before the command)"
# name -> (type, flags, environment variable, help)
GLOBAL_OPTIONS: dict[str, tuple[Any, tuple[str, ...], str, str]] = {
    "api_url": (str, ("--api-url",), "CLAWSTER_API_URL",
                "API base URL. Default: the profile's, else the running local stack."),
    "token": (str, ("--token",), "CLAWSTER_TOKEN",
              "Bearer token. Default: the profile's; on the local stack, one minted for admin."),
    "output": (Output, ("--output", "-o"), "CLAWSTER_OUTPUT", "Output format. Default: the profile's, else table."),
    "profile": (str, ("--profile",), "CLAWSTER_PROFILE",
                "Profile of the config file. Default: its default_profile, else 'default'."),
    "config": (Path, ("--config",), "CLAWSTER_CONFIG", "Config file. Default: ~/.config/clawster/config.toml."),
    "state_dir": (Path, ("--state-dir",), "CLAWSTER_STATE_DIR",
                  "Local stack state folder. Default: the one `clawster dev` recorded, else ./.clawster/dev."),
}

_chosen = Globals()
_profile: Profile | None = None


def globals_() -> Globals:
    return _chosen


def reset() -> None:
    """Forget what a previous invocation chose (main() runs once per process; tests may run it more)."""
    global _chosen, _profile
    _chosen, _profile = Globals(), None


def root_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Give the root callback every global option, with its environment variable."""
    return _with_options(function, with_envvar=True)


def command_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command every global option too (`clawster fleet list -o json`); there it wins."""
    return _with_options(function, with_envvar=False)


def _with_options(function: Callable[..., Any], with_envvar: bool) -> Callable[..., Any]:
    signature = inspect.signature(function, eval_str=True)
    extra = []
    for name, (kind, flags, envvar, help_text) in GLOBAL_OPTIONS.items():
        option = typer.Option(*flags, envvar=envvar if with_envvar else None, show_envvar=with_envvar,
                              help=help_text, rich_help_panel=PANEL)
        extra.append(inspect.Parameter(f"global_{name}", inspect.Parameter.KEYWORD_ONLY, default=None,
                                       annotation=Annotated[kind | None, option]))

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for name in GLOBAL_OPTIONS:
            value = kwargs.pop(f"global_{name}")
            if value is not None:
                setattr(_chosen, name, value.value if isinstance(value, Output) else value)
        return function(*args, **kwargs)

    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), *extra])
    return wrapper


# --- what the options resolve to ------------------------------------------------------------------

@dataclass
class Profile:
    config: config_file.Config
    name: str
    values: dict[str, str]

    def save(self, **changes: str | None) -> None:
        """Merge `changes` into this profile (None removes a key) and write the file."""
        merged = {**self.values, **changes}
        self.values = {k: v for k, v in merged.items() if v is not None}
        self.config.profiles[self.name] = self.values
        if not self.config.default_profile:
            self.config.default_profile = self.name
        config_file.save(self.config)


def profile(create: bool = False) -> Profile:
    """The selected profile; with `create` (login) a profile or config file named but absent is new."""
    global _profile
    if _profile is None:
        config = config_file.load(_chosen.config, creating=create)
        name, values = config.select(_chosen.profile, create)
        _profile = Profile(config, name, dict(values))
    return _profile


def output() -> str:
    return globals_().output or profile().values.get("output") or "table"


@dataclass
class Connection:
    api: Api
    local: discovery.RecordedStack | None  # the local stack, when the API is it
    default_workspace: str | None
    ws_url: str | None = None  # the stream API (WebSocket): the local stack's, else the profile's `ws_url`

    def workspace(self, given: str | None) -> str:
        workspace = given or self.default_workspace
        if not workspace:
            raise CliError(ExitCode.USAGE, "--workspace is required (or CLAWSTER_WORKSPACE, or `workspace` in the profile)")
        return workspace


def connect(auth: bool = True) -> Connection:
    chosen, prof = globals_(), profile()
    api_url = chosen.api_url or prof.values.get("api_url")
    recorded = discovery.locate(chosen.state_dir)
    if api_url is None:
        if recorded is None:
            raise CliError(ExitCode.UNREACHABLE, "no local stack found: start one with `make dev`, "
                                                 "or give an API with --api-url (or a profile)")
        if not recorded.running:
            raise CliError(ExitCode.UNREACHABLE, recorded.why_not_running() + ": start it with `make dev`")
        api_url = recorded.api_url
    local = recorded if recorded and same_url(recorded.api_url, api_url) else None
    if local and not local.running:
        raise CliError(ExitCode.UNREACHABLE, local.why_not_running() + ": start it with `make dev`")
    # A profile's token goes only to the profile's API, never to another --api-url.
    profile_api = prof.values.get("api_url")
    from_profile = profile_api is None or same_url(profile_api, api_url)
    token = (chosen.token or (_profile_token(prof) if from_profile else None)) if auth else None
    if auth and token is None:
        if local is None:
            raise CliError(ExitCode.AUTH, f"no token for {api_url}: pass --token, set CLAWSTER_TOKEN, "
                                          "or run `clawster login`")
        from clawster.local.issuer import Issuer

        token = Issuer(local.state_dir).issue("admin")
    workspace = prof.values.get("workspace") or ((local.info or {}).get("demo_workspace_id") if local else None)
    assert api_url is not None
    ws_url = local.ws_url if local else (prof.values.get("ws_url") if from_profile else None)
    return Connection(Api(api_url, token), local, workspace, ws_url)


def same_url(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.rstrip("/") == b.rstrip("/")


def _profile_token(prof: Profile) -> str | None:
    """The profile's token; an expired Cognito one is refreshed first when the profile can."""
    token = prof.values.get("token")
    if token and prof.values.get("refresh_token") and prof.values.get("cognito_client_id") and _expired(token):
        from clawster.cli import cognito

        token = cognito.refresh(prof.values["cognito_client_id"], prof.values.get("region"),
                                prof.values["refresh_token"])
        prof.save(token=token)
    return token


def _expired(token: str, margin_s: int = 60) -> bool:
    claims = token_claims(token)
    return isinstance(claims.get("exp"), int | float) and claims["exp"] < time.time() + margin_s


def token_claims(token: str) -> dict[str, Any]:
    """What the token says, unverified (the API verifies it; the CLI only reads who and until when)."""
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}
