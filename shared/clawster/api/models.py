"""Request and response bodies of the REST API (validated by Powertools, published in OpenAPI)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from clawster.domain.bots import BotStatus, Target, Workflow, allowed_actions
from clawster.domain.roles import Role

# Every listing's next_cursor: set only when another page holds items (clawster.store.cursor.page).
NextCursor = Annotated[str | None, Field(description="Pass back as `cursor` for the next page; null on the last page")]

Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
Description = Annotated[str, StringConstraints(max_length=1000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:/+@-]+$")]
TagValue = Annotated[str, StringConstraints(max_length=256, pattern=r"^[^\x00-\x1f\x7f]*$")]
Tags = Annotated[dict[TagKey, TagValue], Field(max_length=50)]
Environment = Literal["dev", "staging", "prod"]
OpenClawVersion = Annotated[str, StringConstraints(pattern=r"^\d{1,4}\.\d{1,4}\.\d{1,4}(-[0-9A-Za-z.-]{1,32})?$")]
TemplateId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class Health(BaseModel):
    status: Literal["ok"]


# --- workspaces and members -------------------------------------------------------------------

class WorkspaceCreate(Strict):
    name: Name
    description: Description = ""


class WorkspaceUpdate(Strict):
    name: Name | None = None
    description: Description | None = None

    @model_validator(mode="after")
    def _something(self) -> WorkspaceUpdate:
        if self.name is None and self.description is None:
            raise ValueError("give at least one of name, description")
        return self


class WorkspaceOut(BaseModel):
    id: str
    name: str
    description: str
    created_by: str
    fleet_count: int
    version: int
    created_at: datetime
    updated_at: datetime


class WorkspaceSummary(WorkspaceOut):
    role: Role


class WorkspaceList(BaseModel):
    items: list[WorkspaceSummary]
    next_cursor: NextCursor = None


class MemberPut(Strict):
    role: Role


class MemberOut(BaseModel):
    workspace_id: str
    user_id: str
    role: Role
    added_by: str
    version: int
    created_at: datetime
    updated_at: datetime


class MemberList(BaseModel):
    items: list[MemberOut]


# --- fleets ------------------------------------------------------------------------------------

TargetSettings = dict[str, Any]
TARGET_SETTINGS_DOC = ("Settings of the target, checked against its schema in GET /targets (e.g. region, subnets, "
                       "project, resource group, size); the deployment's defaults fill the rest")


class FleetCreate(Strict):
    name: Name
    environment: Environment = "dev"
    description: Description = ""
    tags: Tags = {}
    target: Target | None = Field(None, description="Where its bots run when they name no target of their own")
    target_settings: dict[Target, TargetSettings] | None = Field(
        None, description="Per target, the defaults of its bots' " + TARGET_SETTINGS_DOC[0].lower() + TARGET_SETTINGS_DOC[1:])


class FleetUpdate(Strict):
    name: Name | None = None
    environment: Environment | None = None
    description: Description | None = None
    tags: Tags | None = None
    target: Target | None = None
    target_settings: dict[Target, TargetSettings] | None = Field(None, description="Replaces the fleet's; bots "
                                                                 "deployed already keep the settings they run with")

    @model_validator(mode="after")
    def _something(self) -> FleetUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        return self


class BotStatusCounts(BaseModel):
    """How many bots are in each status (GET .../bots?status= lists them)."""

    PENDING: int
    CREATING: int
    RECONCILING: int
    RUNNING: int
    DEGRADED: int
    PAUSED: int
    STOPPED: int
    ERROR: int
    DELETING: int


class BotHealthCounts(BaseModel):
    """How many bots are in each health: healthy (RUNNING), unhealthy (DEGRADED, ERROR), in_progress (a workflow
    owns them: CREATING, RECONCILING, DELETING), inactive (PENDING, PAUSED, STOPPED)."""

    healthy: int
    unhealthy: int
    in_progress: int
    inactive: int


class FleetBotSummary(BaseModel):
    """The fleet's bots by status and by health, counted when the fleet is read (the index lags writes by
    moments on AWS, so `total` may briefly differ from `bot_count`)."""

    total: int
    by_status: BotStatusCounts
    by_health: BotHealthCounts


class FleetOut(BaseModel):
    id: str
    workspace_id: str
    name: str
    environment: Environment
    description: str
    tags: dict[str, str]
    bot_count: int
    bot_summary: FleetBotSummary
    target: str | None = None
    target_settings: dict[str, TargetSettings] | None = None
    version: int
    created_at: datetime
    updated_at: datetime


class FleetPage(BaseModel):
    items: list[FleetOut]
    next_cursor: NextCursor = None


# --- bots and revisions ------------------------------------------------------------------------

class BotCreate(Strict):
    name: Name
    template_id: TemplateId | None = Field(None, description="A built-in template (GET /templates) or one of the "
                                                             "workspace's (GET /workspaces/{workspace_id}/templates)")
    config: dict[str, Any] | None = Field(
        None, description="The bot's own config layer: merged over its template, its fleet's profiles and the "
                          "overlays that select it (null deletes a key). Secrets only as "
                          '{"$secretRef": "<Secrets Manager name or ARN>"}.'
    )
    tags: Tags = {}
    target: Target | None = Field(None, description="Where to run its gateway; given, the bot is provisioned at once "
                                                    "(status CREATING, then RUNNING or ERROR)")
    target_settings: TargetSettings | None = Field(None, description=TARGET_SETTINGS_DOC + " and the fleet's")
    ready_timeout_s: int | None = Field(None, ge=1, le=3600, description="How long its gateway may take to become "
                                        "healthy each time a workflow starts it, before that workflow fails "
                                        "(default 900 s)")
    openclaw_version: OpenClawVersion | None = Field(None, description="The OpenClaw version to provision, one "
                                                     "the target offers (default: its newest); without a target, "
                                                     "kept for the bot's provision")

    @model_validator(mode="after")
    def _source(self) -> BotCreate:
        if self.template_id is None and self.config is None:
            raise ValueError("give template_id, config, or both")
        return self


class BotUpdate(Strict):
    name: Name | None = None
    tags: Tags | None = None
    config: dict[str, Any] | None = Field(None, description="The bot's whole new config layer (its override); "
                                                            "creates a new revision")
    template_id: TemplateId | None = Field(None, description="Another template; creates a new revision")
    ready_timeout_s: int | None = Field(None, ge=1, le=3600, description="Its bound on a gateway start")

    @model_validator(mode="after")
    def _something(self) -> BotUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        return self


class BotUpgrade(Strict):
    openclaw_version: OpenClawVersion = Field(description="The OpenClaw version to run; one the bot's target "
                                                          "offers. Rolled back automatically if it fails its checks")


class Intent(BaseModel):
    """The request that owns the bot while its workflow runs."""

    id: str
    action: Workflow
    requested_by: str
    requested_at: datetime
    execution_arn: str | None = None  # the Step Functions execution running it
    deadline_at: datetime | None = None  # past it, the stuck-work sweeper ends the workflow (bot in ERROR)
    openclaw_version: str | None = None  # the version an upgrade (or a provision that names one) goes to


class LastWorkflow(Intent):
    """The last workflow that ended on the bot, and how."""

    status: BotStatus  # the status it left the bot in
    reason: str | None = None
    ended_at: datetime


class TierOut(BaseModel):
    name: str
    vcpu: float
    memory_mb: int
    description: str = ""
    hourly_usd: float | None = None  # list price, from the target's price table


class TargetOut(BaseModel):
    name: str
    description: str
    available: bool  # this deployment serves it
    unavailable_reason: str | None = None
    settings_schema: dict[str, Any] | None = None  # JSON Schema of its target_settings (None: it takes none)
    size_tiers: list[TierOut] = []
    openclaw_versions: list[str] = []
    prices: dict[str, str] | None = None  # the price table's source, date, currency, region and note


class TargetList(BaseModel):
    items: list[TargetOut]


class CostEstimate(BaseModel):
    hourly_usd: float
    size: str
    source: str  # the price table's source and date (layers/providers/cloud/prices/)
    as_of: str


class BotOut(BaseModel):
    id: str
    workspace_id: str
    fleet_id: str
    name: str
    status: BotStatus
    tags: dict[str, str]
    template_id: str | None = None
    desired_revision_id: str
    applied_revision_id: str | None = None
    applied_config_hash: str | None = None  # the gateway's own hash of the config it runs
    target: str | None = None  # where its gateway runs; None until deployed
    target_settings: dict[str, Any] | None = None  # the target's settings it was deployed with
    cost_estimate: CostEstimate | None = None  # what its gateway's size costs an hour on its target
    openclaw_version: str | None = None
    status_reason: str | None = None  # why it is in ERROR, or why it was rolled back
    ready_timeout_s: int | None = None  # its bound on a gateway start (None: the default, 900 s)
    intent: Intent | None = None
    last_workflow: LastWorkflow | None = None
    version: int
    created_at: datetime
    updated_at: datetime
    policy_warnings: list[dict[str, Any]] | None = None  # on a deploy (a create with a target, a config
    #                                                     applied live): the WARNING findings of the packs
    allowed_actions: list[Workflow] = Field([], description="The workflows its status takes now (the lifecycle "
                                            "actions, upgrade, apply by a config change, delete); a refusal's 409 "
                                            "names the same. Empty while a workflow owns it")

    @model_validator(mode="after")
    def _allowed(self) -> BotOut:
        self.allowed_actions = [Workflow(action) for action in allowed_actions(self.status)]  # from its status
        return self


class BotDetail(BotOut):
    """One bot as GET and PATCH answer it: with its own config layer, which a PATCH `config` replaces whole
    (so an editor starts from this and sends it back with the bot's ETag). Lists leave it out: a page of
    bots would carry up to 64 KiB per bot."""

    config: dict[str, Any] = Field(description="The bot's own config layer (its override), merged over its template, "
                                               "its fleet's profiles and the overlays that select it; the config it "
                                               "runs is its desired revision's")


class BotPage(BaseModel):
    items: list[BotOut]
    next_cursor: NextCursor = None


class WorkflowStep(BaseModel):
    step: str
    status: Literal["RUNNING", "SUCCEEDED", "FAILED"]
    attempts: int
    started_at: datetime | None = None
    ended_at: datetime | None = None
    detail: str | None = None  # the latest observation (e.g. the gateway still STARTING)
    error: str | None = None


class Provisioning(BaseModel):
    """The steps of the bot's running workflow, or of its last one."""

    bot_id: str
    status: BotStatus
    workflow: Intent | None = None  # None: no workflow ever ran on this bot
    running: bool
    steps: list[WorkflowStep]


class IntentAccepted(BaseModel):
    bot_id: str
    intent: Intent


class GatewayLogs(BaseModel):
    """Lines of the bot's gateway log, oldest first: the gateway's own JSON log lines (it redacts secrets)."""

    bot_id: str
    status: BotStatus
    lines: list[str]
    cursor: int = Field(description="Pass back as `cursor` to get the lines written after these")


class RevisionSummary(BaseModel):
    id: str
    bot_id: str
    number: int
    config_hash: str
    source: str
    template_id: str | None = None
    openclaw_version: str | None = None  # the version its config was checked against
    target: str | None = None  # where the bot ran or was to run
    created_by: str
    created_at: datetime


class LayerRef(BaseModel):
    kind: Literal["template", "profile", "overlay"]
    id: str
    version: int


class RevisionOut(RevisionSummary):
    config: dict[str, Any]
    provenance: dict[str, str] = Field({}, description='Which layer set each path: "<kind>:<id>", kind template, '
                                                       'profile, overlay, override or secure-default')
    layers: list[LayerRef] = Field([], description="The workspace's own layers it was resolved from")

    @classmethod
    def from_public(cls, data: dict[str, Any]) -> RevisionOut:
        return cls.model_validate({**data, "config": json.loads(data["config"]),
                                   "provenance": json.loads(data.get("provenance") or "{}"),
                                   "layers": json.loads(data.get("layers") or "[]")})


class EffectiveConfig(BaseModel):
    """What the bot's layers resolve to now; `up_to_date` false: a refresh would make a new revision."""

    bot_id: str
    config: dict[str, Any]
    provenance: dict[str, str]
    layers: list[LayerRef]
    desired_revision_id: str
    up_to_date: bool


class Refreshed(BaseModel):
    bot: BotOut
    changed: bool = Field(description="False: the layers resolve to the desired revision already")


class ConfigChange(BaseModel):
    path: str  # dot-joined, as OpenClaw names config paths
    op: Literal["added", "removed", "changed"]
    from_: Any = Field(None, alias="from")  # secrets appear as their references only, as stored
    to: Any = None

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class RevisionDiff(BaseModel):
    bot_id: str
    from_revision_id: str | None = Field(description="The base (default: the applied revision; none: an empty config)")
    to_revision_id: str
    changes: list[ConfigChange]


class BotRollback(Strict):
    revision_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z]+$",
                             description="One of the bot's revisions: becomes the desired one again")


class RevisionPage(BaseModel):
    items: list[RevisionSummary]
    next_cursor: NextCursor = None


# --- audit and templates -------------------------------------------------------------------------

class AuditEventOut(BaseModel):
    id: str
    workspace_id: str
    actor: str
    role: Role | None = None
    action: str
    outcome: Literal["ALLOWED", "DENIED"]
    target: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    diff: dict[str, Any] | None = None
    reason: str | None = None
    request_id: str
    at: datetime


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: NextCursor = None


class TemplateOut(BaseModel):
    id: str
    name: str
    description: str
    config: dict[str, Any]


class TemplateList(BaseModel):
    items: list[TemplateOut]


# --- config layers: a workspace's templates, profiles and overlays ---------------------------------------

DotPath = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^.\s]+(\.[^.\s]+)*$")]
Priority = Annotated[int, Field(ge=-1000, le=1000, strict=True)]  # strict: true/false are not numbers here
LayerConfig = Annotated[dict[str, Any], Field(description="An OpenClaw config fragment merged as `config patch` "
                                                          "does (null deletes a key); secrets only by reference")]
FleetIds = Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=64)]], Field(max_length=50)]


class Selector(Strict):
    """Every criterion given must hold (by any of its values; tags: every pair). Empty: every bot."""

    bot_ids: FleetIds = []
    fleet_ids: FleetIds = []
    environments: list[Environment] = []
    tags: Tags = {}


class Window(Strict):
    start: datetime | None = None
    end: datetime | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):  # pydantic would take a number as epoch seconds
            raise ValueError("an ISO 8601 date-time with a zone, as a string")
        return value


class TemplateCreate(Strict):
    name: Name
    description: Description = ""
    config: LayerConfig


class _LayerUpdate(Strict):
    @model_validator(mode="after")
    def _something(self) -> _LayerUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        return self


class TemplateUpdate(_LayerUpdate):
    name: Name | None = None
    description: Description | None = None
    config: LayerConfig | None = None


class ProfileCreate(Strict):
    name: Name
    description: Description = ""
    priority: Priority = 0
    config: LayerConfig
    locked_paths: list[DotPath] = Field([], max_length=100, description="Paths (and everything under them) the "
                                        "layers applied after this profile may not change")
    fleet_ids: FleetIds = Field([], description="The fleets it gives defaults to; empty: every fleet")


class ProfileUpdate(_LayerUpdate):
    name: Name | None = None
    description: Description | None = None
    priority: Priority | None = None
    config: LayerConfig | None = None
    locked_paths: list[DotPath] | None = Field(None, max_length=100)
    fleet_ids: FleetIds | None = None


class OverlayCreate(Strict):
    name: Name
    description: Description = ""
    priority: Priority = 0
    config: LayerConfig
    selector: Selector = Selector()
    window: Window | None = Field(None, description="Active from start (included) to end (excluded); none: always")


class OverlayUpdate(_LayerUpdate):
    name: Name | None = None
    description: Description | None = None
    priority: Priority | None = None
    config: LayerConfig | None = None
    selector: Selector | None = None
    window: Window | None = None


class LayerOut(BaseModel):
    id: str
    workspace_id: str
    kind: Literal["template", "profile", "overlay"]
    name: str
    description: str
    config: dict[str, Any]
    priority: int | None = None
    locked_paths: list[str] | None = None
    fleet_ids: list[str] | None = None
    selector: dict[str, Any] | None = None
    window: dict[str, Any] | None = None
    version: int
    created_at: datetime
    updated_at: datetime


class LayerPage(BaseModel):
    items: list[LayerOut]
    next_cursor: NextCursor = None


class LayerPreview(Strict):
    """A proposed change of a layer: a new one (no layer_id), an edit (layer_id and change), or a removal
    (layer_id and remove)."""

    kind: Literal["template", "profile", "overlay"]
    layer_id: str | None = Field(None, max_length=64)
    change: dict[str, Any] | None = Field(None, description="The create body (new layer) or the update body")
    remove: bool = False


class BotBlast(BaseModel):
    bot_id: str
    name: str
    fleet_id: str
    environment: Environment
    changes: list[ConfigChange]
    findings: list[dict[str, Any]]
    error: ErrorBody | None = Field(None, description="Why this bot could not take the change (it would be refused)")


class BlastRadius(BaseModel):
    kind: str
    layer_id: str | None
    bots: list[BotBlast] = Field(description="Each bot whose effective config the change would change")
    evaluated: int
    truncated: bool


# --- policy packs --------------------------------------------------------------------------------

RuleId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Severity = Literal["ERROR", "WARNING", "INFO"]


class PolicyRuleIn(Strict):
    id: RuleId
    type: str = Field(max_length=64, description="An OpenClaw rule type (GET /policy-packs/builtin shows them in use), "
                                                 "or \"path\"")
    severity: Severity = "ERROR"
    environments: list[Environment] = Field([], max_length=3, description="Empty: every environment")
    config: dict[str, Any] = Field({}, description="The type's settings, e.g. {\"allowed\": [...]}")
    enabled: bool = True
    path: str | None = Field(None, max_length=300, description="type path: a dot path (\"*\": any key)")
    op: str | None = Field(None, description="type path: equals | not_equals | in | not_in | exists | absent")
    value: Any = Field(None, description="type path: the value (a list for in / not_in)")


class PolicyPackCreate(Strict):
    name: Name
    description: Description = ""
    environments: list[Environment] = Field([], max_length=3, description="Empty: every environment")
    rules: list[PolicyRuleIn] = Field(max_length=100)


class PolicyPackUpdate(Strict):
    name: Name | None = None
    description: Description | None = None
    environments: list[Environment] | None = Field(None, max_length=3)
    rules: list[PolicyRuleIn] | None = Field(None, max_length=100)

    @model_validator(mode="after")
    def _something(self) -> PolicyPackUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        return self


class PolicyPackOut(BaseModel):
    id: str
    name: str
    builtin: bool
    environments: list[str]
    rules: list[dict[str, Any]]
    workspace_id: str | None = None  # None: a built-in pack
    description: str = ""
    version: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class PolicyPackPage(BaseModel):
    items: list[PolicyPackOut]
    next_cursor: NextCursor = None


class PolicyEvaluate(Strict):
    config: dict[str, Any]
    environment: Environment = "dev"
    pack_ids: list[str] | None = Field(None, max_length=100, description="Only these packs (default: the built-in "
                                                                           "packs and every pack of the workspace)")


class PolicyFinding(BaseModel):
    rule_id: str
    pack_id: str
    severity: Severity
    path: str
    message: str


class PolicyEvaluation(BaseModel):
    """A dry run: nothing is stored. valid: no ERROR finding (a deploy would not be refused)."""

    valid: bool
    errors: list[PolicyFinding]
    warnings: list[PolicyFinding]
    infos: list[PolicyFinding] = []
