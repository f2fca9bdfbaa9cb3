"""The connector entities: metadata only. A connector's value lives in Secrets Manager; these items
hold where it is (name, ARN), which version is current, and the progress of its rotations.

Key layout (docs/access-patterns.md):
  Connector  pk=WS#<ws>   sk=CONNECTOR#<connector>
  Rotation   pk=WS#<ws>   sk=ROTATION#<connector>#<rotation>
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from clawster.ids import new_id
from clawster.store.entities import Mutable, ws_pk


class Connector(Mutable):
    ENTITY = "Connector"
    id = UnicodeAttribute()
    workspace_id = UnicodeAttribute()
    name = UnicodeAttribute()
    kind = UnicodeAttribute()
    secret_name = UnicodeAttribute()
    secret_arn = UnicodeAttribute()
    current_version_id = UnicodeAttribute()  # the Secrets Manager version labelled AWSCURRENT
    created_by = UnicodeAttribute()
    rotated_at = UTCDateTimeAttribute(null=True)
    rotation_id = UnicodeAttribute(null=True)  # the rotation in progress (one at a time)
    last_rotation = MapAttribute(null=True)  # {id, status, reason, ended_at}
    last_test = MapAttribute(null=True)  # {result, checks, reason, at}: never the value

    @classmethod
    def new(cls, *, workspace_id: str, **fields: Any) -> Connector:
        item = cls(id=new_id(), workspace_id=workspace_id, **fields)
        item.stamp()
        return item

    @staticmethod
    def key(workspace_id: str, connector_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"CONNECTOR#{connector_id}"

    @staticmethod
    def sk_prefix() -> str:
        return "CONNECTOR#"

    def derive_keys(self) -> None:
        self.pk, self.sk = self.key(self.workspace_id, self.id)

    def references(self) -> set[str]:
        """What a config may hold in {"$secretRef": ...} to mean this connector."""
        return {self.secret_name, self.secret_arn}


class Rotation(Mutable):
    """One rotation of a connector's value: the versions involved, its batches and each bot's progress
    ({bot_id: {batch, status, detail, applied_revision_id}}), written by the rotate workflow."""

    ENTITY = "Rotation"
    id = UnicodeAttribute()
    workspace_id = UnicodeAttribute()
    connector_id = UnicodeAttribute()
    status = UnicodeAttribute()  # RUNNING | SUCCEEDED | FAILED
    reason = UnicodeAttribute(null=True)
    old_version_id = UnicodeAttribute()
    new_version_id = UnicodeAttribute()
    batch_size = NumberAttribute()
    batch_count = NumberAttribute(default=0)
    batches_done = NumberAttribute(default=0)
    bots = MapAttribute(default=dict)
    skipped = MapAttribute(default=dict)  # {bot_id: why it is not updated (not running, no gateway)}
    requested_by = UnicodeAttribute()
    execution_arn = UnicodeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)

    @classmethod
    def new(cls, *, workspace_id: str, connector_id: str, **fields: Any) -> Rotation:
        item = cls(id=new_id(), workspace_id=workspace_id, connector_id=connector_id, **fields)
        item.stamp()
        return item

    @staticmethod
    def key(workspace_id: str, connector_id: str, rotation_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"ROTATION#{connector_id}#{rotation_id}"

    def derive_keys(self) -> None:
        self.pk, self.sk = self.key(self.workspace_id, self.connector_id, self.id)
