"""Deployment choices read from CDK context (`cdk deploy -c tracing=true`, or cdk.context.json).

Every value the app reads is listed here with its default; docs/deploy.md documents each one.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from constructs import Construct

from functions.catalog import DRIFT_SCHEDULE, Function, Schedule

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


@dataclass(frozen=True)
class StackOptions:
    # X-Ray: active tracing on every function and the API stage, and Powertools' Tracer switched on
    # (POWERTOOLS_TRACE_DISABLED=false). Off by default: the tracer costs ~90 ms of cold start.
    tracing: bool = False
    # Cognito threat protection (adaptive authentication, compromised-credential checks). It needs the
    # paid Plus feature plan, so it is opt-in; the default pool uses the Essentials plan.
    threat_protection: bool = False
    # How often the drift job (job-drift) compares each running bot's gateway with its revision: an EventBridge
    # Scheduler expression, rate(...) or cron(...) (AWS syntax, UTC). Locally it runs every minute.
    drift_schedule: str = DRIFT_SCHEDULE
    # The ECS target: a VPC, a Fargate cluster, EFS and an ECR repository for the gateways, and the functions that
    # reach gateways in that VPC (clawster_infra.gateways; docs/deploy-targets.md). Off, the stack has no VPC.
    ecs_target: bool = False

    @classmethod
    def from_context(cls, scope: Construct) -> StackOptions:
        values = {}
        for option in fields(cls):
            raw = scope.node.try_get_context(option.name)
            parse = parse_flag if isinstance(option.default, bool) else parse_schedule
            values[option.name] = option.default if raw is None else parse(option.name, raw)
        return cls(**values)

    def schedule(self, spec: Function, trigger: Schedule) -> Schedule:
        """The trigger as deployed: a job whose schedule is a context value gets that value."""
        option = SCHEDULE_OPTIONS.get(spec.name)
        return Schedule(getattr(self, option)) if option else trigger


SCHEDULE_OPTIONS = {"job-drift": "drift_schedule"}  # job -> the context value that sets its schedule


def parse_flag(key: str, raw: object) -> bool:
    """`-c key=true` arrives as a string, cdk.json values as JSON: accept both, refuse anything else."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"context value {key}={raw!r}: expected true or false")


def parse_schedule(key: str, raw: object) -> str:
    """A schedule expression, checked as the local scheduler reads AWS syntax (a typo stops synthesis)."""
    from clawster.local.scheduler import parse

    text = str(raw).strip()
    try:
        parse(text)
    except ValueError as error:
        raise ValueError(f"context value {key}={raw!r}: {error}") from None
    return text
