"""The scheduled jobs on AWS: one EventBridge Scheduler schedule per catalog Schedule trigger, the same
expression the local scheduler (clawster.local.scheduler) fires, invoking the function with the catalog's
schedule input (`functions.catalog.schedule_input`: Scheduler fills in its <aws.scheduler.*> attributes).

Each schedule has a role of its own that may invoke that one function and nothing else (not its versions),
trusted only by this account's Scheduler. The flexible time window is off (a job runs on the minute), and
the retry policy is short: a job's run is worth little after its next one is due, and every job is
idempotent, so a retried or duplicated run changes nothing more."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from functions.catalog import Function, Schedule, schedule_input, schedule_name

from .lambdas import construct_id

RETRY_ATTEMPTS = 2
MAX_EVENT_AGE_S = 60  # Scheduler's minimum; the next run is due a minute later anyway


def make_schedule(scope: Construct, spec: Function, index: int, trigger: Schedule,
                  fn: lambda_.Function) -> scheduler.CfnSchedule:
    cid = f"{construct_id(spec.name)}Schedule{index}"
    account = cdk.Stack.of(scope).account
    role = iam.Role(
        scope, f"{cid}Role",
        assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com", conditions={
            "StringEquals": {"aws:SourceAccount": account}}),
        description=f"EventBridge Scheduler: invoke clawster-{spec.name} on {trigger.expression}, nothing else",
    )
    role.add_to_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[fn.function_arn]))
    return scheduler.CfnSchedule(
        scope, cid,
        name=schedule_name(spec, index),
        description=f"{spec.name}: {spec.description}"[:512],
        schedule_expression=trigger.expression,
        schedule_expression_timezone="UTC",
        flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
        state="ENABLED",
        target=scheduler.CfnSchedule.TargetProperty(
            arn=fn.function_arn,
            role_arn=role.role_arn,
            input=json.dumps(schedule_input(spec, index)),
            retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                maximum_retry_attempts=RETRY_ATTEMPTS, maximum_event_age_in_seconds=MAX_EVENT_AGE_S),
        ),
    )
