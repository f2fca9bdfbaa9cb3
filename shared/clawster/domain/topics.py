"""Stream topics: what a WebSocket client subscribes to, spelled like the REST paths of the thing.

    workspaces/<workspace id>                     everything in the workspace
    workspaces/<workspace id>/fleets/<fleet id>   a fleet and its bots
    workspaces/<workspace id>/bots/<bot id>       one bot

Every topic names its workspace, so a subscription is authorized by membership of that workspace
with the read permission of what it names (a VIEWER may watch; an outsider may not, and cannot tell
a workspace that exists from one that does not). A change of a bot is published to its own topic,
its fleet's and its workspace's (`bot_topics`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from clawster import ids
from clawster.domain.errors import ValidationFailed

MAX_TOPIC_LENGTH = 200
KINDS = {"fleets": "fleet.read", "bots": "bot.read"}  # kind -> the permission a subscriber needs


@dataclass(frozen=True)
class Topic:
    workspace_id: str
    kind: str = "workspace"  # "workspace" | "fleets" | "bots"
    id: str = ""

    @property
    def name(self) -> str:
        base = f"workspaces/{self.workspace_id}"
        return base if self.kind == "workspace" else f"{base}/{self.kind}/{self.id}"

    @property
    def action(self) -> str:
        """The permission (clawster.domain.roles.PERMISSIONS) a subscriber needs."""
        return KINDS.get(self.kind, "workspace.read")

    def __str__(self) -> str:
        return self.name


def parse(text: Any) -> Topic:
    """A topic from what a client sent; ValidationFailed (naming the field "topic") otherwise."""
    if not isinstance(text, str) or not text:
        raise ValidationFailed("topic", "send a topic such as workspaces/<id>, workspaces/<id>/fleets/<id> "
                               "or workspaces/<id>/bots/<id>")
    parts = text[:MAX_TOPIC_LENGTH + 1].split("/")
    if len(text) > MAX_TOPIC_LENGTH or parts[0] != "workspaces" or len(parts) not in (2, 4):
        raise ValidationFailed("topic", "not a topic: expected workspaces/<id>[/fleets/<id> | /bots/<id>]")
    if not all(ids.is_id(part) for part in parts[1::2]):
        raise ValidationFailed("topic", "ids in a topic are ULIDs (26 characters)")
    if len(parts) == 2:
        return Topic(parts[1])
    if parts[2] not in KINDS:
        raise ValidationFailed("topic", f"unknown topic kind {parts[2][:20]!r}: expected fleets or bots")
    return Topic(parts[1], parts[2], parts[3])


def workspace_topic(workspace_id: str) -> Topic:
    return Topic(workspace_id)


def fleet_topic(workspace_id: str, fleet_id: str) -> Topic:
    return Topic(workspace_id, "fleets", fleet_id)


def bot_topic(workspace_id: str, bot_id: str) -> Topic:
    return Topic(workspace_id, "bots", bot_id)


def bot_topics(workspace_id: str, fleet_id: str, bot_id: str) -> tuple[Topic, ...]:
    """Where a change of a bot goes: the bot's topic, its fleet's and its workspace's."""
    return bot_topic(workspace_id, bot_id), fleet_topic(workspace_id, fleet_id), workspace_topic(workspace_id)


def envelope(topic: Topic | str, event_type: str, data: dict[str, Any] | None = None,
             at: datetime | None = None) -> dict[str, Any]:
    """Every message a client receives: {topic, type, data, at} (at: UTC, ISO 8601 with milliseconds)."""
    moment = (at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return {"topic": str(topic) if topic else None, "type": event_type, "data": data or {},
            "at": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
