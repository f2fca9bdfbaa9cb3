"""`clawster template list`, `clawster health`, `clawster openapi`."""

from __future__ import annotations

import json
import sys

import typer

from clawster.cli import yaml_out
from clawster.cli.output import col, show_item, show_page
from clawster.cli.session import connect, output

template_app = typer.Typer(help="Built-in bot templates", no_args_is_help=True)
TEMPLATE = [col("ID"), col("NAME"), col("DESCRIPTION")]
target_app = typer.Typer(help="Where bots can run", no_args_is_help=True)
TARGET = [col("NAME"), col("AVAILABLE"), col("SIZES", "sizes"), col("VERSIONS", "versions"), col("DESCRIPTION")]


@target_app.command("list")
def target_list() -> None:
    """The compute targets: which this deployment serves, their size tiers with an hourly estimate, their OpenClaw
    versions (-o json shows each one's settings schema and price table)."""
    page = connect().api.get("/targets")
    if output() == "table":
        for item in page["items"]:
            item["sizes"] = ", ".join(f"{t['name']} ${t['hourly_usd']}/h" if t.get("hourly_usd") is not None
                                      else t["name"] for t in item.get("size_tiers") or [])
            item["versions"] = ", ".join(item.get("openclaw_versions") or [])
            if not item["available"]:
                item["available"] = f"no: {item['unavailable_reason']}"
    show_page(page, output(), TARGET, "targets")


@template_app.command("list")
def template_list() -> None:
    """The templates `bot create --template` accepts (-o json shows their configs)."""
    show_page(connect().api.get("/templates"), output(), TEMPLATE, "templates")


def health() -> None:
    """Is the API up? (No token needed.)"""
    conn = connect(auth=False)
    body = conn.api.get("/health")
    show_item({"api_url": conn.api.url, **body}, output(), [col("API", "api_url"), col("STATUS")])


def openapi() -> None:
    """The API's OpenAPI document, as JSON (or YAML with -o yaml)."""
    document = connect().api.get("/openapi.json")
    if output() == "yaml":
        sys.stdout.write(yaml_out.dumps(document))
    else:
        print(json.dumps(document, indent=2))


def register(app: typer.Typer) -> None:
    app.command("health")(health)
    app.command("openapi")(openapi)
