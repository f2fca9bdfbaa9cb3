"""Request and response bodies of the drift routes (functions/api/drift.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from clawster.api.models import NextCursor, Strict

DriftClassName = Literal["pairing", "agent", "security", "other"]
DriftActionName = Literal["adopt", "revert", "alert"]


class DriftFinding(BaseModel):
    path: str
    op: Literal["added", "removed", "changed"]
    drift_class: DriftClassName
    action: DriftActionName
    masked: bool = Field(description="A secret (or a value shaped like one): its value is never kept or shown")
    value: Any = Field(None, description="The live value (absent when removed, masked, or over 512 bytes)")
    outcome: str | None = None
    note: str | None = None


class PolicyEntry(BaseModel):
    action: DriftActionName
    source: Literal["default", "fleet", "bot"]


class DriftReportOut(BaseModel):
    bot_id: str
    fleet_id: str
    state: Literal["IN_SYNC", "DRIFTED", "NOT_CHECKED"]
    checked_at: datetime | None
    applied_revision_id: str | None
    live_hash: str | None
    adopted_revision_id: str | None
    revert_request_id: str | None
    detail: str | None
    finding_count: int
    findings: list[DriftFinding]


class BotDrift(DriftReportOut):
    policy: dict[DriftClassName, PolicyEntry] = Field(description="What is done with each class, and who says so")


class DriftPage(BaseModel):
    items: list[DriftReportOut]
    next_cursor: NextCursor = None


class DriftPolicySet(Strict):
    rules: dict[DriftClassName, DriftActionName] = Field(
        max_length=4, description="class -> action; a class left out follows the fleet (for a bot) or the default")


class DriftPolicyOut(BaseModel):
    scope: Literal["fleet", "bot"]
    id: str
    rules: dict[DriftClassName, DriftActionName]
    effective: dict[DriftClassName, PolicyEntry]


class PairingApproval(Strict):
    channel: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9-]+$", description="e.g. telegram, slack")
    sender: str = Field(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$",
                        description="The sender's id on that channel, as the gateway's pairing request names it")
    account: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                description="One of the channel's accounts (default: the channel itself)")
