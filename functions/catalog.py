"""The one list of Lambda functions. CDK, the local stack and the tests all loop over it.

A function has a name, a handler ("module.attr"), its triggers, its size and the AWS actions it
needs. Paths use API Gateway syntax ({param}); every REST route names the permission action
(clawster.domain.roles.PERMISSIONS) the authorization middleware enforces for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RestRoute:
    method: str
    path: str
    action: str

    @property
    def public(self) -> bool:
        from clawster.domain.roles import PERMISSIONS, PUBLIC

        return PERMISSIONS[self.action] == PUBLIC


@dataclass(frozen=True)
class WebSocketRoute:
    """A route of the stream API ($connect, $disconnect, $default or an `action` of the message body).
    `replies`: the function's result body goes back on the socket (a route response)."""

    route_key: str
    replies: bool = False


@dataclass(frozen=True)
class WebSocketAuthorizer:
    """The Lambda REQUEST authorizer of the stream API's $connect route."""


@dataclass(frozen=True)
class Schedule:
    """Run the function on a timer: EventBridge Scheduler on AWS, clawster.local.scheduler in the local stack.
    AWS syntax: rate(1 minute) / rate(N minutes|hours|days), or cron(min hour day-of-month month day-of-week
    year) in UTC (the local scheduler's subset is documented there)."""

    expression: str


@dataclass(frozen=True)
class StepFunctionsTask:
    """A task of the workflows (statemachines/*.asl.json), which name the function `${substitution}`."""

    substitution: str
    state_machines: tuple[str, ...]


DRIFT_SCHEDULE = "rate(1 minute)"  # the drift job's default; docs/deploy.md: `-c drift_schedule=...` on AWS

Trigger = RestRoute | WebSocketRoute | WebSocketAuthorizer | Schedule | StepFunctionsTask

# IAM actions, grouped by the resource they apply to (never "*").
TABLE_READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem")
TABLE_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
SECRET_READ = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")
SECRET_STAGES = ("secretsmanager:UpdateSecretVersionStage",)
SECRET_WRITE = ("secretsmanager:CreateSecret", "secretsmanager:TagResource", "secretsmanager:PutSecretValue",
                "secretsmanager:DeleteSecret")
SECRETS_PREFIX = "clawster/"  # the secrets these actions apply to: arn:...:secret:clawster/*


@dataclass(frozen=True)
class Function:
    name: str
    handler: str
    triggers: tuple[Trigger, ...]
    memory_mb: int = 512
    timeout_s: int = 10
    table_actions: tuple[str, ...] = ()
    description: str = ""
    posts_to_connections: bool = False  # publishes to the stream API (clawster.services.stream)
    starts_workflows: bool = False  # starts executions of the state machines (clawster.services.executions)
    stops_workflows: bool = False  # stops executions of the state machines (the stuck-work sweeper)
    answers_workflow_tasks: tuple[str, ...] = ()  # machines whose callback steps it answers (SendTaskSuccess)
    secret_actions: tuple[str, ...] = ()  # Secrets Manager actions, on the connectors' secrets (clawster/*) only
    alarm_actions: tuple[str, ...] = ()  # CloudWatch actions, on the account's alarms (a rollout's alarm gate)
    extra: dict = field(default_factory=dict)

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def rest_routes(self) -> tuple[RestRoute, ...]:
        return tuple(t for t in self.triggers if isinstance(t, RestRoute))

    @property
    def websocket_routes(self) -> tuple[WebSocketRoute, ...]:
        return tuple(t for t in self.triggers if isinstance(t, WebSocketRoute))


def _routes(*rows: tuple[str, str, str]) -> tuple[RestRoute, ...]:
    return tuple(RestRoute(method, path, action) for method, path, action in rows)


WS = "/workspaces/{workspace_id}"

FUNCTIONS: tuple[Function, ...] = (
    Function(
        name="api-meta",
        handler="functions.api.meta.handler",
        description="Health, OpenAPI document, Swagger UI and the built-in bot templates",
        memory_mb=256,
        triggers=_routes(
            ("GET", "/health", "health.read"),
            ("GET", "/openapi.json", "openapi.read"),
            ("GET", "/swagger", "openapi.read"),
            ("GET", "/templates", "template.list"),
            ("GET", "/targets", "target.list"),
        ),
    ),
    Function(
        name="api-workspaces",
        handler="functions.api.workspaces.handler",
        description="Workspaces, members and roles",
        table_actions=TABLE_READ + TABLE_WRITE,
        triggers=_routes(
            ("POST", "/workspaces", "workspace.create"),
            ("GET", "/workspaces", "workspace.list"),
            ("GET", WS, "workspace.read"),
            ("PATCH", WS, "workspace.update"),
            ("DELETE", WS, "workspace.delete"),
            ("GET", WS + "/members", "member.list"),
            ("PUT", WS + "/members/{user_id}", "member.put"),
            ("DELETE", WS + "/members/{user_id}", "member.delete"),
        ),
    ),
    Function(
        name="api-fleets",
        handler="functions.api.fleets.handler",
        description="Fleets of bots",
        table_actions=TABLE_READ + TABLE_WRITE,
        triggers=_routes(
            ("POST", WS + "/fleets", "fleet.create"),
            ("GET", WS + "/fleets", "fleet.list"),
            ("GET", WS + "/fleets/{fleet_id}", "fleet.read"),
            ("PATCH", WS + "/fleets/{fleet_id}", "fleet.update"),
            ("DELETE", WS + "/fleets/{fleet_id}", "fleet.delete"),
        ),
    ),
    Function(
        name="api-bots",
        handler="functions.api.bots.handler",
        description="Bots, lifecycle intents and revisions",
        table_actions=TABLE_READ + TABLE_WRITE + ("dynamodb:BatchWriteItem",),  # a deleted bot's revisions
        starts_workflows=True,
        posts_to_connections=True,  # a workflow's start, live on the stream API
        triggers=_routes(
            ("POST", WS + "/fleets/{fleet_id}/bots", "bot.create"),
            ("GET", WS + "/fleets/{fleet_id}/bots", "bot.list"),
            ("GET", WS + "/bots/{bot_id}", "bot.read"),
            ("PATCH", WS + "/bots/{bot_id}", "bot.update"),
            ("DELETE", WS + "/bots/{bot_id}", "bot.delete"),
            ("POST", WS + "/bots/{bot_id}/upgrade", "bot.upgrade"),
            ("POST", WS + "/bots/{bot_id}/rollback", "bot.update"),
            ("POST", WS + "/bots/{bot_id}/refresh", "bot.update"),
            ("GET", WS + "/bots/{bot_id}/effective-config", "bot.read"),
            ("POST", WS + "/bots/{bot_id}/{action}", "bot.lifecycle"),
            ("GET", WS + "/bots/{bot_id}/provisioning", "bot.read"),
            ("GET", WS + "/bots/{bot_id}/logs", "bot.read"),
            ("GET", WS + "/bots/{bot_id}/revisions", "revision.list"),
            ("GET", WS + "/bots/{bot_id}/revisions/{revision_id}", "revision.read"),
            ("GET", WS + "/bots/{bot_id}/revisions/{revision_id}/diff", "revision.read"),
        ),
    ),
    Function(
        name="api-drift",
        handler="functions.api.drift.handler",
        description="Drift reports (a bot's, a workspace's) and the drift policies of fleets and bots",
        table_actions=TABLE_READ + TABLE_WRITE,
        triggers=_routes(
            ("GET", WS + "/drift", "drift.list"),
            ("GET", WS + "/bots/{bot_id}/drift", "drift.read"),
            ("PUT", WS + "/bots/{bot_id}/drift-policy", "drift.policy.update"),
            ("PUT", WS + "/fleets/{fleet_id}/drift-policy", "drift.policy.update"),
        ),
    ),
    Function(
        name="api-pairing",
        handler="functions.api.pairing.handler",
        description="Pairing approvals through desired state: a new revision, applied by the apply workflow",
        table_actions=TABLE_READ + TABLE_WRITE,
        starts_workflows=True,  # the new revision, onto a running gateway
        posts_to_connections=True,  # the workflow's start, live on the stream API
        triggers=_routes(("POST", WS + "/bots/{bot_id}/pairing/approve", "bot.pairing.approve")),
    ),
    Function(
        name="api-rollouts",
        handler="functions.api.rollouts.handler",
        description="Fleet rollouts: create (waves planned, bots claimed, the rollout workflow started), list, "
                    "get with per-wave and per-bot state, and pause / resume / approve / abort / promote",
        # Claims (one per bot) and the rollout in transactions; the bots' progress items in batches.
        table_actions=TABLE_READ + TABLE_WRITE + ("dynamodb:BatchWriteItem",),
        starts_workflows=True,  # the rollout workflow
        answers_workflow_tasks=("rollout",),  # approve / abort / pause answer the rollout's approval step
        posts_to_connections=True,  # rollout.status, live on the stream API
        triggers=_routes(
            ("POST", WS + "/rollouts", "rollout.create"),
            ("GET", WS + "/rollouts", "rollout.list"),
            ("GET", WS + "/rollouts/{rollout_id}", "rollout.read"),
            ("POST", WS + "/rollouts/{rollout_id}/{action}", "rollout.control"),
        ),
    ),
    Function(
        name="api-audit",
        handler="functions.api.audit.handler",
        description="The workspace audit trail (read only)",
        table_actions=TABLE_READ + ("dynamodb:PutItem", "dynamodb:UpdateItem"),  # refusals (services/audit.py)
        triggers=_routes(("GET", WS + "/audit", "audit.list")),
    ),
    Function(
        name="api-layers",
        handler="functions.api.layers.handler",
        description="Config layers: a workspace's templates, profiles and overlays, and a change's blast radius",
        table_actions=TABLE_READ + TABLE_WRITE,
        triggers=_routes(
            *((method, WS + f"/{kind}s" + tail, action)
              for kind, write in (("template", "template.write"), ("profile", "profile.write"),
                                  ("overlay", "overlay.write"))
              for method, tail, action in (("POST", "", write), ("GET", "", "layer.list"),
                                           ("GET", "/{layer_id}", "layer.read"), ("PATCH", "/{layer_id}", write),
                                           ("DELETE", "/{layer_id}", write))),
            ("POST", WS + "/config-preview", "layer.preview"),
        ),
    ),
    Function(
        name="api-policies",
        handler="functions.api.policies.handler",
        description="Policy packs: the built-in ones, a workspace's own, and a dry-run evaluation",
        table_actions=TABLE_READ + TABLE_WRITE,
        triggers=_routes(
            ("GET", "/policy-packs/builtin", "policy.builtin"),
            ("POST", WS + "/policy-packs", "policy.create"),
            ("GET", WS + "/policy-packs", "policy.list"),
            ("POST", WS + "/policy-packs/evaluate", "policy.evaluate"),
            ("GET", WS + "/policy-packs/{pack_id}", "policy.read"),
            ("PATCH", WS + "/policy-packs/{pack_id}", "policy.update"),
            ("DELETE", WS + "/policy-packs/{pack_id}", "policy.delete"),
        ),
    ),
    Function(
        name="api-connectors",
        handler="functions.api.connectors.handler",
        description="Connectors (LLM keys, channel tokens in Secrets Manager): metadata, offline tests, rotations",
        table_actions=TABLE_READ + TABLE_WRITE,
        secret_actions=SECRET_READ + SECRET_WRITE + SECRET_STAGES,  # a failed create/rotate undoes its write
        starts_workflows=True,  # the rotate workflow
        posts_to_connections=True,  # a rotation's start, live on the stream API
        triggers=_routes(
            ("POST", WS + "/connectors", "connector.create"),
            ("GET", WS + "/connectors", "connector.list"),
            ("GET", WS + "/connectors/{connector_id}", "connector.read"),
            ("PATCH", WS + "/connectors/{connector_id}", "connector.update"),
            ("DELETE", WS + "/connectors/{connector_id}", "connector.delete"),
            ("POST", WS + "/connectors/{connector_id}/test", "connector.test"),
            ("POST", WS + "/connectors/{connector_id}/rotate", "connector.rotate"),
            ("GET", WS + "/connectors/{connector_id}/rotations/{rotation_id}", "connector.read"),
        ),
    ),
)

FUNCTIONS += (
    # The stream API (WebSocket): who may connect, connections, and topic subscriptions.
    Function(
        name="ws-authorizer",
        handler="functions.ws.authorizer.handler",
        description="Stream API $connect authorizer: verifies the caller's ID token (query string or subprotocol)",
        memory_mb=256,
        triggers=(WebSocketAuthorizer(),),
    ),
    Function(
        name="ws-connect",
        handler="functions.ws.connect.handler",
        description="Stream API $connect: records the connection",
        memory_mb=256,
        table_actions=("dynamodb:PutItem",),
        triggers=(WebSocketRoute("$connect"),),
    ),
    Function(
        name="ws-disconnect",
        handler="functions.ws.disconnect.handler",
        description="Stream API $disconnect: removes the connection and its subscriptions",
        memory_mb=256,
        table_actions=("dynamodb:GetItem", "dynamodb:DeleteItem"),
        triggers=(WebSocketRoute("$disconnect"),),
    ),
    Function(
        name="ws-messages",
        handler="functions.ws.messages.handler",
        description="Stream API messages: subscribe / unsubscribe to a workspace, fleet or bot topic",
        memory_mb=256,
        # Membership reads, the connection's topics, subscriptions, and outsiders' refusals (services/audit.py).
        table_actions=TABLE_READ + TABLE_WRITE,
        triggers=(WebSocketRoute("subscribe", replies=True), WebSocketRoute("unsubscribe", replies=True),
                  WebSocketRoute("$default", replies=True)),
    ),
)

FUNCTIONS += (
    Function(
        name="task-bot-workflow",
        handler="functions.tasks.bot_workflow.handler",
        description="Each step of the bot workflows: provision, lifecycle, upgrade, deprovision, apply, rotate",
        timeout_s=60,  # a step starts work and returns; the state machine does the waiting
        table_actions=TABLE_READ + TABLE_WRITE + ("dynamodb:BatchWriteItem",),
        # Configs' references resolved for the gateways; a rotation's versions read and their stages moved.
        secret_actions=SECRET_READ + SECRET_STAGES,
        posts_to_connections=True,  # status and step progress, live on the stream API
        triggers=(StepFunctionsTask("BotWorkflowTask", ("provision", "lifecycle", "upgrade", "deprovision", "apply",
                                                        "rotate")),),
    ),
)

FUNCTIONS += (
    Function(
        name="task-rollout-workflow",
        handler="functions.tasks.rollout_workflow.handler",
        description="Each step of the rollout workflow: next wave, each bot's change and its end, bake, gates, "
                    "rollback",
        # A step starts work or reads it, or runs one bot's config apply inline (functions/tasks/inline_apply.py:
        # at most its READY_BUDGET_S, then the durable apply workflow takes over).
        timeout_s=60,
        memory_mb=1024,
        table_actions=TABLE_READ + TABLE_WRITE,
        secret_actions=SECRET_READ,  # an inline apply resolves the config's references, as the bot workflow does
        posts_to_connections=True,  # rollout.wave / rollout.bot / rollout.status, and the bots' own
        starts_workflows=True,  # an upgrade's workflow, and the apply workflow an inline apply hands over to
        alarm_actions=("cloudwatch:DescribeAlarms",),  # the cloudwatch_alarm gate reads the alarms a rollout names
        answers_workflow_tasks=("rollout",),  # the approval step answers itself when a control came first
        # Locally, a wave's Map runs as many bots at once as a rollout's max_concurrency allows (on AWS the
        # account's Lambda concurrency is the bound), not the local runtime's default pool of 10.
        extra={"local_concurrency": 100},  # = domain.rollouts.MAX_CONCURRENCY
        triggers=(StepFunctionsTask("RolloutWorkflowTask", ("rollout", "rollout-wave")),),
    ),
)

# Scheduled jobs (functions/jobs): each pages through bots by the status index, within its timeout.
FUNCTIONS += (
    Function(
        name="job-sweeper",
        handler="functions.jobs.sweeper.handler",
        description="Stuck-work sweeper: a bot whose workflow is past its deadline is stopped and ends in ERROR",
        timeout_s=60,
        table_actions=TABLE_READ + ("dynamodb:PutItem", "dynamodb:UpdateItem"),  # settle: bot + audit event
        posts_to_connections=True,  # the ERROR, live on the stream API
        stops_workflows=True,
        triggers=(Schedule("rate(1 minute)"),),
    ),
    Function(
        name="job-health",
        handler="functions.jobs.health.handler",
        description="Health poller: each RUNNING or DEGRADED bot's gateway health -> DEGRADED / RUNNING",
        memory_mb=1024,  # its checks run on a thread pool (clawster.services.health)
        timeout_s=60,
        table_actions=TABLE_READ + ("dynamodb:PutItem", "dynamodb:UpdateItem"),  # a transition + its audit event
        posts_to_connections=True,  # DEGRADED / RUNNING, live on the stream API
        triggers=(Schedule("rate(1 minute)"),),
    ),
    Function(
        name="job-drift",
        handler="functions.jobs.drift.handler",
        description="Drift reconciliation: each running bot's live gateway config against its applied revision; "
                    "drift adopted into a new revision, reverted by the apply workflow, or alerted, per policy",
        memory_mb=1024,  # its checks run on a thread pool (clawster.services.drift)
        timeout_s=60,
        # A report per bot; an adoption (revision + bot + audit event) or a revert (bot + audit event).
        table_actions=TABLE_READ + ("dynamodb:PutItem", "dynamodb:UpdateItem"),
        posts_to_connections=True,  # bot.drift (and a revert's bot.status), live on the stream API
        starts_workflows=True,  # a revert is the apply workflow
        triggers=(Schedule(DRIFT_SCHEDULE),),  # on AWS the `drift_schedule` context value replaces it
    ),
)

BY_NAME = {f.name: f for f in FUNCTIONS}


def schedule_name(function: Function, index: int) -> str:
    """The name of the function's `index`-th Schedule trigger (an EventBridge Scheduler schedule on AWS)."""
    return f"clawster-{function.name}" + (f"-{index}" if index else "")


def schedules() -> list[tuple[Function, int, Schedule]]:
    return [(f, i, t) for f in FUNCTIONS for i, t in enumerate(f.triggers) if isinstance(t, Schedule)]


def schedule_input(function: Function, index: int) -> dict[str, str]:
    """The event a scheduled run gets: the schedule's Input on AWS (`<aws.scheduler.*>` are Scheduler's
    context attributes, filled in at each run); the local scheduler sends the same keys with the values."""
    trigger = function.triggers[index]
    assert isinstance(trigger, Schedule)
    return {"source": "clawster.scheduler", "schedule": schedule_name(function, index), "expression": trigger.expression,
            "scheduled_time": "<aws.scheduler.scheduled-time>", "execution_id": "<aws.scheduler.execution-id>",
            "attempt": "<aws.scheduler.attempt-number>"}


def websocket_routes() -> list[tuple[Function, WebSocketRoute]]:
    return [(f, r) for f in FUNCTIONS for r in f.websocket_routes]


def websocket_authorizer() -> Function | None:
    found = [f for f in FUNCTIONS if any(isinstance(t, WebSocketAuthorizer) for t in f.triggers)]
    return found[0] if found else None


def rest_routes() -> list[tuple[Function, RestRoute]]:
    return [(f, r) for f in FUNCTIONS for r in f.rest_routes]
