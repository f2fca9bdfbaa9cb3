"""Request and response bodies of the rollout routes (functions/api/rollouts.py). The schema says the shapes;
the rules between fields (clawster.domain.rollouts.parse) answer 422 naming the field."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from clawster.api.models import Environment, NextCursor, OpenClawVersion, Strict, TagKey, TagValue

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z]+$")]


class RolloutTargets(Strict):
    bot_ids: list[Id] = Field([], max_length=1000, description="Explicit bots; or leave empty and use a selector")
    fleet_ids: list[Id] = Field([], max_length=100)
    environments: list[Environment] = Field([], max_length=3)
    tags: dict[TagKey, TagValue] = Field({}, max_length=50, description="Every tag must match")


class RolloutChange(Strict):
    kind: Literal["config_patch", "refresh", "version", "promote_fleet"]
    patch: dict[str, Any] | None = Field(None, description="config_patch: a JSON merge patch onto each bot's own "
                                                           "config (null removes a key)")
    openclaw_version: OpenClawVersion | None = None
    source_fleet_id: Id | None = Field(None, description="promote_fleet: the fleet whose bots' shared own config "
                                                         "each target bot gets (read when the rollout is created)")


class RolloutStrategy(Strict):
    kind: Literal["ALL", "PERCENTAGE", "CANARY", "LINEAR", "EXPONENTIAL"] = "ALL"
    steps: list[Annotated[float, Field(gt=0, le=100)]] = Field(
        [], max_length=100, description="PERCENTAGE (and CANARY after its canaries): cumulative percentages")
    canary_bot_ids: list[Id] = Field([], max_length=100)
    step_percent: float = Field(0, ge=0, le=100, description="LINEAR: each wave adds this share")
    initial_percent: float = Field(0, ge=0, le=100, description="EXPONENTIAL: the first wave's share")
    growth_factor: float = Field(2.0, gt=1, le=100, description="EXPONENTIAL: each next wave's share multiplier")


class RolloutAbort(Strict):
    failed_percent: float = Field(0, ge=0, lt=100, description="Roll back when more than this share of the bots "
                                                               "done failed...")
    min_done: int = Field(1, ge=1, le=1000, description="...once at least this many bots are done")


GateName = Literal["gateway_health", "channel_health", "error_rate", "slo", "cloudwatch_alarm"]
AlarmName = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class ErrorRateGate(Strict):
    gate: Literal["error_rate"]
    max: float = Field(0.05, ge=0, lt=1, strict=True, description="The highest share of ERROR/FATAL events in the gateways' "
                                                     "logs over the bake window that passes")
    min_samples: int = Field(20, ge=1, le=100_000, strict=True,
                             description="Fewer log events than this in the window is no data (the rollout pauses)")


class SloGate(Strict):
    gate: Literal["slo"]
    target: float = Field(0.99, gt=0, lt=1, strict=True, description="The share of healthy health probes aimed at")
    max_burn: float = Field(1.0, gt=0, le=1000, strict=True, description="Fail above this burn rate: the failed share of the "
                                                            "bake window's probes / (1 - target)")
    min_probes: int = Field(5, ge=1, le=10_000, strict=True,
                            description="Fewer health probes than this in the window is no data (the rollout pauses)")


class CloudWatchAlarmGate(Strict):
    gate: Literal["cloudwatch_alarm"]
    alarms: list[AlarmName] = Field(min_length=1, max_length=100, description="ALARM fails; OK passes; "
                                                                              "INSUFFICIENT_DATA or a missing alarm pauses")


class NamedGate(Strict):
    gate: Literal["gateway_health", "channel_health"]


GateSpec = Annotated[ErrorRateGate | SloGate | CloudWatchAlarmGate | NamedGate, Field(discriminator="gate")]


class RolloutCreate(Strict):
    targets: RolloutTargets
    change: RolloutChange
    strategy: RolloutStrategy = RolloutStrategy()
    max_concurrency: int = Field(10, ge=1, le=100, description="Bots changed at once inside a wave")
    bake_s: int = Field(0, ge=0, le=86400, description="Seconds after each wave before its gates are read")
    abort: RolloutAbort = RolloutAbort()
    gates: list[GateName | GateSpec] = Field(
        ["gateway_health"], max_length=5, description="Each gate kind at most once: a name (its defaults), or an "
                                                      "object {gate, ...thresholds}")
    approval_before_waves: list[Annotated[int, Field(ge=1, le=100)]] = Field(
        [], max_length=100, description="Wave numbers (from 1) that wait for POST .../approve")


Control = Literal["pause", "resume", "approve", "abort", "promote"]  # clawster.domain.rollouts.CONTROLS


class RolloutBotOut(BaseModel):
    bot_id: str
    wave: int
    state: str
    health: str | None
    previous_revision_id: str | None
    new_revision_id: str | None
    request_id: str | None
    detail: str | None


class RolloutWaveOut(BaseModel):
    number: int
    status: str
    verdict: str | None = None
    reason: str | None = None
    readings: dict[str, str] | None = None
    gate_details: dict[str, str] | None = None  # what each measured gate saw (error share, burn rate, alarm states)
    done: int | None = None
    failed: int | None = None
    bots: list[RolloutBotOut]


class RolloutOut(BaseModel):
    id: str
    workspace_id: str
    status: str
    status_reason: str | None
    spec: dict[str, Any]
    bot_count: int
    wave_count: int
    current_wave: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    version: int
    allowed_actions: list[Control] = Field(
        description="The controls (POST .../rollouts/{id}/{action}) its status takes now; the caller's role may "
                    "still refuse them (rollout.control: OPERATOR)")


class RolloutDetail(RolloutOut):
    waves: list[RolloutWaveOut]


class RolloutPage(BaseModel):
    items: list[RolloutOut]
    next_cursor: NextCursor = None
