"""Single-table entities. Each class derives its own keys from ids: callers never build key strings.

Key layout (docs/access-patterns.md lists every pattern):
  Workspace   pk=WS#<ws>               sk=WS
  Member      pk=WS#<ws>               sk=MEMBER#<user>           gsi1: USER#<user> / WS#<ws>
  Fleet       pk=WS#<ws>               sk=FLEET#<fleet>
  Bot         pk=WS#<ws>               sk=BOT#<bot>               gsi1: FLEET#<fleet> / <status>#<bot>
                                                                  gsi2: BOTS#<status>#<shard> / <ws>#<bot>
  Revision    pk=WS#<ws>               sk=REV#<bot>#<revision>
  PolicyPack  pk=WS#<ws>               sk=POLICYPACK#<pack>
  ConfigLayer pk=WS#<ws>               sk=LAYER#<kind>#<layer>    (a custom template, a profile, an overlay)
  StepRecord  pk=WS#<ws>               sk=STEP#<bot>#<execution>#<step>   (a workflow step's progress)
  DriftPolicy pk=WS#<ws>               sk=DRIFTPOLICY#FLEET#<fleet> | DRIFTPOLICY#BOT#<bot>
  DriftReport pk=WS#<ws>               sk=DRIFT#<bot>             (the last drift check of a bot)
  Rollout     pk=WS#<ws>               sk=ROLLOUT#<rollout>       gsi2: ROLLOUTS#ACTIVE / <ws>#<rollout> (active only)
  RolloutBot  pk=WS#<ws>               sk=ROLLOUTBOT#<rollout>#<bot>  (one bot's progress in a rollout)
  RolloutClaim pk=WS#<ws>              sk=ROLLOUTCLAIM#<bot>      (the bot is in this active rollout)
  HealthProbes pk=PROBES#<ws>#<bot>    sk=HOUR#<epoch hour>       TTL expires_at (the health job's probes of a bot)
  NameClaim   pk=WS#<ws>               sk=NAME#FLEET#<name key> | NAME#BOT#<fleet>#<name key>
  AuditEvent  pk=AUDIT#<ws>            sk=<event ulid>            gsi1: by actor, gsi2: by target
  SecurityEvent pk=SECURITY#<user>     sk=EVENT#<event ulid>      TTL expires_at (non-members' refusals)
  SecurityRate  pk=SECURITY#<user>     sk=RATE#<minute>           TTL expires_at (their rate limit)
  Connection    pk=CONN#<connection>   sk=CONN                    TTL expires_at (a WebSocket client)
  Subscription  pk=TOPIC#<topic>       sk=CONN#<connection>       TTL expires_at (a publisher's Query)
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, ClassVar

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from clawster import settings
from clawster.ids import new_id
from clawster.store import session

_SETTINGS = settings.load()
MAX_TARGET_KEY_BYTES = 512  # of a target inside an index key (the whole key may hold 2,048 bytes)
session.install()


def now() -> datetime:
    return datetime.now(timezone.utc)


class Gsi1(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class Gsi2(GlobalSecondaryIndex):
    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class Entity(Model):
    """Base of every item: keys, entity name, timestamps."""

    class Meta:
        table_name = _SETTINGS.table_name
        region = _SETTINGS.region

    ENTITY: ClassVar[str] = ""
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    entity = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()

    @classmethod
    def _get_connection(cls):
        """Each entity class its own connection. pynamodb caches the connection on the class that asked
        first and subclasses inherit it, with that class's meta table: once Entity itself had one, an
        entity asking later got Entity's meta table (no indexes) and its index queries failed with
        "Table ... has no index: gsi2" (seen in the test suite, depending on test order)."""
        if "_connection" not in cls.__dict__:
            cls._connection = None
        return super()._get_connection()

    def stamp(self) -> None:
        """Refresh the derived keys and the timestamps before a write."""
        self.entity = self.ENTITY
        moment = now()
        if self.created_at is None:
            self.created_at = moment
        self.updated_at = moment
        self.derive_keys()  # defined by each entity: its own key layout

    def public(self) -> dict[str, Any]:
        """The item as the API shows it (no key attributes)."""
        data = self.to_simple_dict()
        for key in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "entity"):
            data.pop(key, None)
        return data


class Mutable(Entity):
    """An item that changes: every write is conditioned on `version` (optimistic concurrency)."""

    version = NumberAttribute(default=1)


def ws_pk(workspace_id: str) -> str:
    return f"WS#{workspace_id}"


class Workspace(Mutable):
    ENTITY = "Workspace"
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    created_by = UnicodeAttribute()
    fleet_count = NumberAttribute(default=0)
    # Owners among the members, changed in the transaction of each owner grant, demotion or removal
    # (the last-owner invariant is its condition). Workspaces written before it existed lack it:
    # services.workspaces backfills it from the members on the first owner change.
    owner_count = NumberAttribute(null=True)

    @classmethod
    def new(cls, *, name: str, description: str, created_by: str) -> Workspace:
        item = cls(id=new_id(), name=name, description=description, created_by=created_by)
        item.stamp()
        return item

    @staticmethod
    def key(workspace_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), "WS"

    def derive_keys(self) -> None:
        self.pk, self.sk = self.key(self.id)


class Member(Mutable):
    ENTITY = "Member"
    by_user = Gsi1()
    workspace_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    role = UnicodeAttribute()
    added_by = UnicodeAttribute()
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()

    @classmethod
    def new(cls, *, workspace_id: str, user_id: str, role: str, added_by: str) -> Member:
        item = cls(workspace_id=workspace_id, user_id=user_id, role=role, added_by=added_by)
        item.stamp()
        return item

    @staticmethod
    def key(workspace_id: str, user_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"MEMBER#{user_id}"

    @staticmethod
    def user_partition(user_id: str) -> str:
        return f"USER#{user_id}"

    @staticmethod
    def sk_prefix() -> str:
        return "MEMBER#"

    def derive_keys(self) -> None:
        self.pk, self.sk = self.key(self.workspace_id, self.user_id)
        self.gsi1pk, self.gsi1sk = self.user_partition(self.user_id), ws_pk(self.workspace_id)


class Fleet(Mutable):
    ENTITY = "Fleet"
    id = UnicodeAttribute()
    workspace_id = UnicodeAttribute()
    name = UnicodeAttribute()
    environment = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    tags = MapAttribute(default=dict)
    bot_count = NumberAttribute(default=0)
    target = UnicodeAttribute(null=True)  # where its bots run when they name no target of their own
    target_settings = MapAttribute(null=True)  # {target: settings}: its bots' defaults per target (no secrets: references)

    @classmethod
    def new(cls, *, workspace_id: str, **fields: Any) -> Fleet:
        item = cls(id=new_id(), workspace_id=workspace_id, **fields)
        item.stamp()
        return item

    @staticmethod
    def key(workspace_id: str, fleet_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"FLEET#{fleet_id}"

    @staticmethod
    def sk_prefix() -> str:
        return "FLEET#"

    def derive_keys(self) -> None:
        self.pk, self.sk = self.key(self.workspace_id, self.id)


class Bot(Mutable):
    ENTITY = "Bot"
    STATUS_SHARDS = 16  # bots of one status across all workspaces, spread so no index partition runs hot
    by_fleet = Gsi1()
    by_status = Gsi2()
    id = UnicodeAttribute()
    workspace_id = UnicodeAttribute()
    fleet_id = UnicodeAttribute()
    name = UnicodeAttribute()
    status = UnicodeAttribute()
    tags = MapAttribute(default=dict)
    template_id = UnicodeAttribute(null=True)
    desired_revision_id = UnicodeAttribute()
    applied_revision_id = UnicodeAttribute(null=True)
    revision_count = NumberAttribute(default=1)
    intent = MapAttribute(null=True)  # the request that owns the bot while its workflow runs
    target = UnicodeAttribute(null=True)  # where its gateway runs ("local", "ecs", "cloudrun", "aci"); None: not deployed
    target_settings = MapAttribute(null=True)  # the target's settings, pinned when it was deployed (where it runs)
    status_reason = UnicodeAttribute(null=True)  # why it is in ERROR (or was rolled back)
    applied_config_hash = UnicodeAttribute(null=True)  # the gateway's own hash of the config it runs
    openclaw_version = UnicodeAttribute(null=True)  # what the gateway runs, as its provider reports (before a
    #                                                 first provision: the version asked for at create, if any)
    last_workflow = MapAttribute(null=True)  # the last finished intent, with its outcome
    ready_timeout_s = NumberAttribute(null=True)  # how long its gateway may take to start (None: the default)
    override = UnicodeAttribute(null=True)  # JSON: the bot's own config layer (None: read the first revision's)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi2pk = UnicodeAttribute(null=True)  # null only on items written before the index existed
    gsi2sk = UnicodeAttribute(null=True)

    @classmethod
    def new(cls, *, workspace_id: str, fleet_id: str, **fields: Any) -> Bot:
        item = cls(id=new_id(), workspace_id=workspace_id, fleet_id=fleet_id, **fields)
        item.stamp()
        return item

    @staticmethod
    def key(workspace_id: str, bot_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"BOT#{bot_id}"

    @staticmethod
    def fleet_partition(fleet_id: str) -> str:
        return f"FLEET#{fleet_id}"

    @staticmethod
    def status_prefix(status: str) -> str:
        return f"{status}#"

    @classmethod
    def status_partition(cls, status: str, shard: int) -> str:
        return f"BOTS#{status}#{shard:02d}"

    @classmethod
    def in_status(cls, status: str, *, page_size: int = 100) -> Iterator[Bot]:
        """Every bot in `status`, in every workspace: one Query per shard, paged (jobs never Scan).
        GSIs are eventually consistent on AWS: callers re-read an item before acting on it."""
        for shard in range(cls.STATUS_SHARDS):
            yield from cls.by_status.query(cls.status_partition(status, shard), page_size=page_size)

    def derive_keys(self) -> None:
        self.pk, self.sk = self.key(self.workspace_id, self.id)
        self.gsi1pk, self.gsi1sk = self.fleet_partition(self.fleet_id), f"{self.status}#{self.id}"
        shard = zlib.crc32(self.id.encode()) % self.STATUS_SHARDS
        self.gsi2pk, self.gsi2sk = self.status_partition(self.status, shard), f"{self.workspace_id}#{self.id}"


class NameClaim(Entity):
    """A fleet's name in its workspace, or a bot's in its fleet: one item per name, created with
    attribute_not_exists in the transaction that creates or renames the entity, deleted with it.
    Names are compared case-insensitively (`name_key`): "Prod" and "prod" are the same name."""

    ENTITY = "NameClaim"
    workspace_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # "FLEET" | "BOT"
    scope = UnicodeAttribute()  # "" for a fleet, the fleet id for a bot
    name = UnicodeAttribute()  # as the entity spells it
    owner_id = UnicodeAttribute()  # the fleet or bot holding the name

    @classmethod
    def of_fleet(cls, fleet: Fleet) -> NameClaim:
        return cls._new(fleet.workspace_id, "FLEET", "", fleet.name, fleet.id)

    @classmethod
    def of_bot(cls, bot: Bot) -> NameClaim:
        return cls._new(bot.workspace_id, "BOT", bot.fleet_id, bot.name, bot.id)

    @classmethod
    def _new(cls, workspace_id: str, kind: str, scope: str, name: str, owner_id: str) -> NameClaim:
        item = cls(workspace_id=workspace_id, kind=kind, scope=scope, name=name, owner_id=owner_id)
        item.derive_keys()
        return item

    @staticmethod
    def name_key(name: str) -> str:
        return name.casefold()

    def derive_keys(self) -> None:
        scope = f"{self.scope}#" if self.scope else ""
        self.pk, self.sk = ws_pk(self.workspace_id), f"NAME#{self.kind}#{scope}{self.name_key(self.name)}"


class PolicyPack(Mutable):
    """A workspace's own policy pack (clawster.domain.policy); its rules are kept as JSON."""

    ENTITY = "PolicyPack"
    id = UnicodeAttribute()
    workspace_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    environments = UnicodeAttribute(default="[]")  # JSON list; empty: every environment
    rules = UnicodeAttribute()  # JSON list of rules

    @classmethod
    def new(cls, *, workspace_id: str, **fields: Any) -> PolicyPack:
        item = cls(id=new_id(), workspace_id=workspace_id, **fields)
        item.stamp()
        return item

    @staticmethod
    def key(workspace_id: str, pack_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"POLICYPACK#{pack_id}"

    @staticmethod
    def sk_prefix() -> str:
        return "POLICYPACK#"

    def derive_keys(self) -> None:
        self.pk, self.sk = self.key(self.workspace_id, self.id)


class ConfigLayer(Mutable):
    """A layer of bots' configs (clawster.domain.resolver): a workspace's own template, a profile, or an
    overlay. Fields a kind does not use stay null."""

    ENTITY = "ConfigLayer"
    KINDS = ("template", "profile", "overlay")
    id = UnicodeAttribute()
    workspace_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    config = UnicodeAttribute()  # canonical JSON; secrets only as references
    priority = NumberAttribute(null=True)  # profile, overlay
    locked_paths = UnicodeAttribute(null=True)  # profile: JSON list of dot paths
    fleet_ids = UnicodeAttribute(null=True)  # profile: JSON list of the fleets it gives defaults to ([]: all)
    selector = UnicodeAttribute(null=True)  # overlay: JSON {bot_ids, fleet_ids, environments, tags}
    window = UnicodeAttribute(null=True)  # overlay: JSON {start, end} (ISO 8601), or null: always

    @classmethod
    def new(cls, *, workspace_id: str, kind: str, **fields: Any) -> ConfigLayer:
        item = cls(id=new_id(), workspace_id=workspace_id, kind=kind, **fields)
        item.stamp()
        return item

    @staticmethod
    def key(workspace_id: str, kind: str, layer_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"LAYER#{kind}#{layer_id}"

    @staticmethod
    def sk_prefix(kind: str) -> str:
        return f"LAYER#{kind}#"

    def derive_keys(self) -> None:
        self.pk, self.sk = self.key(self.workspace_id, self.kind, self.id)


class Revision(Entity):
    """Immutable snapshot of a bot's resolved config; written once with attribute_not_exists."""

    ENTITY = "Revision"
    id = UnicodeAttribute()
    workspace_id = UnicodeAttribute()
    bot_id = UnicodeAttribute()
    number = NumberAttribute()
    config = UnicodeAttribute()  # canonical JSON; secrets appear only as references
    config_hash = UnicodeAttribute()
    source = UnicodeAttribute()  # "template" | "raw" | "update" | "refresh" (and later sources)
    template_id = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    openclaw_version = UnicodeAttribute(null=True)  # the version the config was checked against
    target = UnicodeAttribute(null=True)  # where the bot ran or was to run when it was made
    provenance = UnicodeAttribute(null=True)  # JSON {path: "<kind>:<id>"}: which layer set each leaf
    layers = UnicodeAttribute(null=True)  # JSON [{kind, id, version}]: the layers it was resolved from
    override = UnicodeAttribute(null=True)  # JSON: the bot's own layer it was resolved with (a rollback restores it)

    @classmethod
    def new(cls, *, workspace_id: str, bot_id: str, **fields: Any) -> Revision:
        item = cls(id=new_id(), workspace_id=workspace_id, bot_id=bot_id, **fields)
        item.stamp()
        return item

    @staticmethod
    def key(workspace_id: str, bot_id: str, revision_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"REV#{bot_id}#{revision_id}"

    @staticmethod
    def sk_prefix(bot_id: str) -> str:
        return f"REV#{bot_id}#"

    def derive_keys(self) -> None:
        self.pk, self.sk = self.key(self.workspace_id, self.bot_id, self.id)


class StepRecord(Entity):
    """One step of one workflow execution on a bot: its status, times, attempts, error and output
    (a side-effecting step that SUCCEEDED is not run again: services/workflow.py)."""

    ENTITY = "StepRecord"
    workspace_id = UnicodeAttribute()
    bot_id = UnicodeAttribute()
    execution = UnicodeAttribute()
    step = UnicodeAttribute()
    status = UnicodeAttribute(default="RUNNING")  # RUNNING | SUCCEEDED | FAILED
    attempts = NumberAttribute(default=0)
    started_at = UTCDateTimeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)
    detail = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    output = UnicodeAttribute(null=True)  # JSON

    @staticmethod
    def prefix(workspace_id: str, bot_id: str, execution: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"STEP#{bot_id}#{execution}#"

    def derive_keys(self) -> None:
        partition, prefix = self.prefix(self.workspace_id, self.bot_id, self.execution)
        self.pk, self.sk = partition, prefix + self.step

    def save(self, *args: Any, **kwargs: Any) -> Any:
        self.stamp()
        return super().save(*args, **kwargs)


class AuditEvent(Entity):
    """Append-only. Written with attribute_not_exists; the API has no route that changes one."""

    ENTITY = "AuditEvent"
    by_actor = Gsi1()
    by_target = Gsi2()
    id = UnicodeAttribute()
    workspace_id = UnicodeAttribute()
    actor = UnicodeAttribute()
    role = UnicodeAttribute(null=True)
    action = UnicodeAttribute()
    outcome = UnicodeAttribute()  # ALLOWED | DENIED
    target = UnicodeAttribute()
    before = MapAttribute(null=True)
    after = MapAttribute(null=True)
    diff = MapAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi2pk = UnicodeAttribute()
    gsi2sk = UnicodeAttribute()

    @classmethod
    def new(cls, *, workspace_id: str, **fields: Any) -> AuditEvent:
        item = cls(id=new_id(), workspace_id=workspace_id, at=now(), **fields)
        item.stamp()
        return item

    @staticmethod
    def partition(workspace_id: str) -> str:
        return f"AUDIT#{workspace_id}"

    @staticmethod
    def actor_partition(workspace_id: str, actor: str) -> str:
        return f"AUDIT#{workspace_id}#ACTOR#{actor}"

    @staticmethod
    def target_partition(workspace_id: str, target: str) -> str:
        # A key attribute holds at most 2,048 bytes, and a refused request's target is its path, as long
        # as the caller made it: a long one is cut and made unique again by its digest.
        if len(target.encode()) > MAX_TARGET_KEY_BYTES:
            digest = hashlib.sha256(target.encode()).hexdigest()[:32]
            target = target.encode()[:MAX_TARGET_KEY_BYTES - 40].decode(errors="ignore") + "#" + digest
        return f"AUDIT#{workspace_id}#TARGET#{target}"

    def derive_keys(self) -> None:
        self.pk, self.sk = self.partition(self.workspace_id), self.id
        self.gsi1pk, self.gsi1sk = self.actor_partition(self.workspace_id, self.actor), self.id
        self.gsi2pk, self.gsi2sk = self.target_partition(self.workspace_id, self.target), self.id


def security_pk(user_id: str) -> str:
    return f"SECURITY#{user_id}"


class SecurityEvent(Entity):
    """A refusal of a caller who is not a member of the workspace they addressed (it may not even
    exist). Kept in the caller's own partition, not the tenant's audit trail, and expires (TTL)."""

    ENTITY = "SecurityEvent"
    id = UnicodeAttribute()
    actor = UnicodeAttribute()
    workspace_id = UnicodeAttribute()
    action = UnicodeAttribute()
    target = UnicodeAttribute()
    reason = UnicodeAttribute()
    request_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    expires_at = NumberAttribute()  # epoch seconds: the table's TTL attribute (store/schema.py)

    @classmethod
    def new(cls, *, actor: str, **fields: Any) -> SecurityEvent:
        item = cls(id=new_id(), actor=actor, at=now(), **fields)
        item.stamp()
        return item

    @staticmethod
    def partition(user_id: str) -> str:
        return security_pk(user_id)

    @staticmethod
    def sk_prefix() -> str:
        return "EVENT#"

    def derive_keys(self) -> None:
        self.pk, self.sk = self.partition(self.actor), f"EVENT#{self.id}"


class SecurityRate(Entity):
    """How many SecurityEvents a caller has written in one minute (the rate limit's counter)."""

    ENTITY = "SecurityRate"
    count = NumberAttribute(default=0)
    expires_at = NumberAttribute()

    @staticmethod
    def key(user_id: str, minute: str) -> tuple[str, str]:
        return security_pk(user_id), f"RATE#{minute}"


class Connection(Entity):
    """An open WebSocket connection of the stream API: who opened it and the topics it follows.

    Written by $connect, deleted by $disconnect or by a publisher that got 410 Gone for it; the TTL
    removes what both missed (API Gateway closes every connection after 2 hours)."""

    ENTITY = "Connection"
    connection_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    topics = UnicodeSetAttribute(null=True)  # the topic names it subscribed to (bounded by services/stream.py)
    expires_at = NumberAttribute()

    @staticmethod
    def key(connection_id: str) -> tuple[str, str]:
        return f"CONN#{connection_id}", "CONN"

    def derive_keys(self) -> None:
        self.pk, self.sk = self.key(self.connection_id)


class Subscription(Entity):
    """A connection following a topic: one item in the topic's partition, so a publisher finds every
    subscriber of a topic with one Query. Expires with its connection."""

    ENTITY = "Subscription"
    topic = UnicodeAttribute()
    connection_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    expires_at = NumberAttribute()

    @staticmethod
    def partition(topic: str) -> str:
        return f"TOPIC#{topic}"

    @staticmethod
    def key(topic: str, connection_id: str) -> tuple[str, str]:
        return Subscription.partition(topic), f"CONN#{connection_id}"

    @staticmethod
    def sk_prefix() -> str:
        return "CONN#"

    def derive_keys(self) -> None:
        self.pk, self.sk = self.key(self.topic, self.connection_id)


class DriftPolicy(Mutable):
    """What drift detection does with each class of changed path (clawster.domain.drift), set on a fleet or
    on a bot (a bot's rule overrides its fleet's, which overrides the default). Rules are JSON {class: action}."""

    ENTITY = "DriftPolicy"
    workspace_id = UnicodeAttribute()
    scope = UnicodeAttribute()  # "FLEET" | "BOT"
    owner_id = UnicodeAttribute()  # the fleet's or the bot's id
    rules = UnicodeAttribute(default="{}")
    updated_by = UnicodeAttribute(null=True)

    @staticmethod
    def key(workspace_id: str, scope: str, owner_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"DRIFTPOLICY#{scope}#{owner_id}"

    def derive_keys(self) -> None:
        self.pk, self.sk = self.key(self.workspace_id, self.scope, self.owner_id)


class DriftReport(Entity):
    """The last drift check of a bot: when, against which revision, the gateway's hash, and the findings
    ([{path, op, drift_class, action, masked, value?, outcome}], JSON: no secret values). Written by the drift
    job only, whole, each time what it found changes (and at least every REPORT_REFRESH)."""

    ENTITY = "DriftReport"
    workspace_id = UnicodeAttribute()
    bot_id = UnicodeAttribute()
    fleet_id = UnicodeAttribute()
    checked_at = UTCDateTimeAttribute()
    applied_revision_id = UnicodeAttribute(null=True)  # the revision compared against
    live_hash = UnicodeAttribute(null=True)
    state = UnicodeAttribute()  # IN_SYNC | DRIFTED | UNREACHABLE
    findings = UnicodeAttribute(default="[]")
    adopted_revision_id = UnicodeAttribute(null=True)  # the revision this check adopted drift into
    revert_request_id = UnicodeAttribute(null=True)  # the apply workflow this check started to revert
    detail = UnicodeAttribute(null=True)

    @staticmethod
    def key(workspace_id: str, bot_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"DRIFT#{bot_id}"

    @staticmethod
    def sk_prefix() -> str:
        return "DRIFT#"

    def derive_keys(self) -> None:
        self.pk, self.sk = self.key(self.workspace_id, self.bot_id)


class Rollout(Mutable):
    """A fleet rollout (clawster.domain.rollouts): its spec and plan as JSON, its status, and each wave's state
    ([{number, status, verdict, reason, readings, bake_until}]). Its bots' progress are RolloutBot items."""

    ENTITY = "Rollout"
    ACTIVE_PARTITION = "ROLLOUTS#ACTIVE"  # sparse: only active rollouts have gsi2 keys (a restart resumes them)
    by_status = Gsi2()
    id = UnicodeAttribute()
    workspace_id = UnicodeAttribute()
    status = UnicodeAttribute()
    status_reason = UnicodeAttribute(null=True)
    spec = UnicodeAttribute()  # JSON: the request as accepted
    waves = UnicodeAttribute()  # JSON list of wave states, each with its bot ids
    current_wave = NumberAttribute(default=0)  # the wave being run (from 1); 0: none yet
    bot_count = NumberAttribute(default=0)
    created_by = UnicodeAttribute()
    execution_arn = UnicodeAttribute(null=True)
    promoted_wave = NumberAttribute(null=True)  # `promote`: this wave's bake ends now
    approved_wave = NumberAttribute(null=True)  # the last wave an approval let start
    # The callback token of the workflow's approval step while it waits (waitForTaskToken). Secret-grade: whoever
    # holds it moves the rollout on, so it is never in an API answer, an audit event or a log line.
    approval_token = UnicodeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)

    @staticmethod
    def key(workspace_id: str, rollout_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"ROLLOUT#{rollout_id}"

    @classmethod
    def active(cls) -> Iterator[Rollout]:
        """Every active rollout, in every workspace (GSIs are eventually consistent on AWS: re-read before acting)."""
        yield from cls.by_status.query(cls.ACTIVE_PARTITION)

    @staticmethod
    def sk_prefix() -> str:
        return "ROLLOUT#"

    def derive_keys(self) -> None:
        from clawster.domain.rollouts import ACTIVE

        self.pk, self.sk = self.key(self.workspace_id, self.id)
        active = self.status in ACTIVE
        self.gsi2pk = self.ACTIVE_PARTITION if active else None
        self.gsi2sk = f"{self.workspace_id}#{self.id}" if active else None


class RolloutBot(Entity):
    """One bot's progress in a rollout: which wave, its state, the revision (or version) it had before (what a
    rollback returns it to) and the one the rollout gave it, and the apply request that changed it."""

    ENTITY = "RolloutBot"
    workspace_id = UnicodeAttribute()
    rollout_id = UnicodeAttribute()
    bot_id = UnicodeAttribute()
    wave = NumberAttribute()
    state = UnicodeAttribute(default="PENDING")
    previous_revision_id = UnicodeAttribute(null=True)
    new_revision_id = UnicodeAttribute(null=True)
    previous_version = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute(null=True)  # the bot workflow the rollout started on it (apply, or rollback)
    health = UnicodeAttribute(null=True)  # the last gate reading of this bot: PASS | FAIL | NO_DATA
    detail = UnicodeAttribute(null=True)
    verify_by = NumberAttribute(null=True)  # epoch s: a rollback with nothing to apply waits this long for health

    @staticmethod
    def key(workspace_id: str, rollout_id: str, bot_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"ROLLOUTBOT#{rollout_id}#{bot_id}"

    @staticmethod
    def sk_prefix(rollout_id: str) -> str:
        return f"ROLLOUTBOT#{rollout_id}#"

    def derive_keys(self) -> None:
        self.pk, self.sk = self.key(self.workspace_id, self.rollout_id, self.bot_id)

    def save_progress(self) -> None:
        """Progress, as a StepRecord's: written by the rollout workflow alone, one step at a time per bot."""
        self.stamp()
        self.save()


class RolloutClaim(Entity):
    """A bot taken by an active rollout: created with attribute_not_exists in the rollout's create transaction
    (so of two rollouts naming one bot, one is a 409), removed when that rollout ends."""

    ENTITY = "RolloutClaim"
    workspace_id = UnicodeAttribute()
    bot_id = UnicodeAttribute()
    rollout_id = UnicodeAttribute()

    @classmethod
    def of(cls, workspace_id: str, bot_id: str, rollout_id: str) -> RolloutClaim:
        item = cls(workspace_id=workspace_id, bot_id=bot_id, rollout_id=rollout_id)
        item.derive_keys()
        return item

    @staticmethod
    def key(workspace_id: str, bot_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"ROLLOUTCLAIM#{bot_id}"

    def derive_keys(self) -> None:
        self.pk, self.sk = self.key(self.workspace_id, self.bot_id)


class HealthProbes(Entity):
    """The health job's probes of one bot in one hour (the SLO gate reads a bake window's hours): compact signed
    epoch seconds, +t healthy at t, -t unhealthy. Appended atomically (list_append: concurrent runs lose none),
    so an item holds at most one hour (~60 at the 1-minute schedule); it expires a day after (TTL). A partition
    per bot: a large workspace's probes do not all land on one partition."""

    ENTITY = "HealthProbes"
    TTL_S = 25 * 3600  # past the longest bake (24 h)
    workspace_id = UnicodeAttribute()
    bot_id = UnicodeAttribute()
    hour = NumberAttribute()  # epoch seconds // 3600
    probes = ListAttribute(of=NumberAttribute, default=list)
    expires_at = NumberAttribute()

    @staticmethod
    def partition(workspace_id: str, bot_id: str) -> str:
        return f"PROBES#{workspace_id}#{bot_id}"

    @classmethod
    def key(cls, workspace_id: str, bot_id: str, hour: int) -> tuple[str, str]:
        return cls.partition(workspace_id, bot_id), f"HOUR#{hour:010d}"

    def derive_keys(self) -> None:
        self.pk, self.sk = self.key(self.workspace_id, self.bot_id, int(self.hour))
