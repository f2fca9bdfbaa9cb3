"""Options several commands share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

Workspace = Annotated[str | None, typer.Option(
    "--workspace", "-w", envvar="CLAWSTER_WORKSPACE",
    help="Workspace id. Default: the profile's, else the local stack's demo workspace.")]
IfMatch = Annotated[str | None, typer.Option(
    "--if-match", help="The version you read (its ETag). Default: the current one, read just before the change.")]
Limit = Annotated[int | None, typer.Option(min=1, max=100, help="Page size (at most 100).")]
Cursor = Annotated[str | None, typer.Option(help="Continue a listing from the cursor a previous page printed.")]
All = Annotated[bool, typer.Option("--all", help="Follow the cursor through every page.")]
Tags = Annotated[list[str] | None, typer.Option("--tag", help="key=value; repeat for several.")]
ConfigFile = Annotated[Path | None, typer.Option(
    "--config-file", exists=True, dir_okay=False, help="An OpenClaw config, as a JSON file.")]


def tags(values: list[str] | None) -> dict[str, str]:
    parsed = {}
    for value in values or []:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"must be key=value, got '{value}'", param_hint="--tag")
        parsed[key] = val
    return parsed


TargetSettings = Annotated[list[str] | None, typer.Option(
    "--target-setting", help="key=value of the target's settings (GET /targets lists them); a JSON value is read as "
                             "JSON (e.g. subnets='[\"subnet-0abc...\"]', size=medium); repeat for several.")]


def target_settings(values: list[str] | None) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for key, raw in tags(values).items():
        try:
            parsed[key] = json.loads(raw)
        except ValueError:
            parsed[key] = raw  # a plain string (a region, a project id)
    return parsed


def json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise typer.BadParameter(f"{path} is not readable JSON: {error}", param_hint="--config-file") from None


def changes(options: str, **fields: Any) -> dict[str, Any]:
    """The fields the user gave (None means not given); at least one of `options`."""
    given = {name: value for name, value in fields.items() if value is not None}
    if not given:
        raise typer.BadParameter(f"give at least one of {options}")
    return given
