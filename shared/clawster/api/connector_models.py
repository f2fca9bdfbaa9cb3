"""Bodies of the connector routes. A value is write-only: it is in the requests (create, rotate) and in
no response model."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from clawster.api.models import Name, NextCursor, Strict
from clawster.domain.connectors import MAX_VALUE_BYTES

Kind = Literal["openai", "anthropic", "slack-bot", "slack-app", "telegram", "discord", "webhook", "generic"]
Value = Annotated[str, StringConstraints(min_length=1, max_length=MAX_VALUE_BYTES),
                  Field(description="The secret (write-only: stored in Secrets Manager, never returned)",
                        json_schema_extra={"writeOnly": True})]


class ConnectorCreate(Strict):
    name: Name
    kind: Kind
    value: Value


class ConnectorUpdate(Strict):
    name: Name


class ConnectorRotate(Strict):
    value: Value
    batch_size: int | None = Field(None, ge=1, le=100, description="Bots updated together (default 5)")


class ConnectorCheck(BaseModel):
    name: str
    status: Literal["passed", "failed", "untested"]
    detail: str


class ConnectorTest(BaseModel):
    """Offline checks of the current value; liveness at the provider is reported untested."""

    result: Literal["passed", "failed", "untested"]
    checks: list[ConnectorCheck]
    reason: str
    tested_at: datetime | None = None
    version_id: str | None = None


class ConnectorOut(BaseModel):
    id: str
    workspace_id: str
    name: str
    kind: Kind
    secret_name: str
    secret_arn: str
    reference: dict[str, str] = Field(description='Paste into a bot config: {"$secretRef": "<secret name>"}')
    current_version_id: str
    created_by: str
    version: int
    created_at: datetime
    updated_at: datetime
    rotated_at: datetime | None = None
    rotation_id: str | None = None
    last_rotation: dict[str, Any] | None = None
    last_test: ConnectorTest | None = None


class ConnectorPage(BaseModel):
    items: list[ConnectorOut]
    next_cursor: NextCursor = None


class RotationOut(BaseModel):
    id: str
    workspace_id: str
    connector_id: str
    status: Literal["RUNNING", "SUCCEEDED", "FAILED"]
    reason: str | None = None
    old_version_id: str
    new_version_id: str
    batch_size: int
    batch_count: int
    batches_done: int
    bots: dict[str, dict[str, Any]] = Field(description="bot id -> {batch, status, at, detail?}")
    skipped: dict[str, str] = Field(description="bot id -> why it is not updated by this rotation")
    requested_by: str
    execution_arn: str | None = None
    version: int
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None
