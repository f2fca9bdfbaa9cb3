"""One Lambda per catalog entry, each with its own role holding exactly the catalog's actions."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from functions.catalog import SECRETS_PREFIX, Function

from .nag import acknowledge
from .storage import index_arns

RUNTIME = lambda_.Runtime.PYTHON_3_11


def construct_id(name: str) -> str:
    """"api-bots" -> "ApiBots" (stable logical ids: renaming one would replace the resource)."""
    return "".join(part.capitalize() for part in name.split("-"))


def catalog_function(
    scope: Construct,
    spec: Function,
    *,
    table: dynamodb.TableV2,
    code: lambda_.Code,
    layer: lambda_.ILayerVersion,
    tracing: bool,
    placement: dict | None = None,
) -> lambda_.Function:
    """`placement`: VPC props (clawster_infra.gateways.placement) for a function that reaches gateways."""
    cid = construct_id(spec.name)
    log_group = logs.LogGroup(
        scope, f"{cid}Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=cdk.RemovalPolicy.RETAIN
    )
    # An explicit role instead of the AWSLambdaBasicExecutionRole managed policy: logs go to this
    # function's own group only.
    role = iam.Role(
        scope,
        f"{cid}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"Clawster {spec.name}: its log group and the table actions in functions/catalog.py",
    )
    role.add_to_policy(
        iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn])
    )
    if spec.table_actions:
        role.add_to_policy(
            iam.PolicyStatement(actions=list(spec.table_actions), resources=[table.table_arn, *index_arns(table)])
        )
    if spec.secret_actions:
        stack = cdk.Stack.of(scope)
        role.add_to_policy(iam.PolicyStatement(actions=list(spec.secret_actions), resources=[stack.format_arn(
            service="secretsmanager", resource="secret", resource_name=f"{SECRETS_PREFIX}*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)]))
        acknowledge(role, "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:"
                          f"<AWS::AccountId>:secret:{SECRETS_PREFIX}*]",
                    "connector secrets are created at run time, named clawster/<workspace>/<connector>: the "
                    "function may touch those only")
    if spec.alarm_actions:
        stack = cdk.Stack.of(scope)
        role.add_to_policy(iam.PolicyStatement(actions=list(spec.alarm_actions), resources=[stack.format_arn(
            service="cloudwatch", resource="alarm", resource_name="*", arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)]))
        acknowledge(role, "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:<AWS::Region>:"
                          "<AWS::AccountId>:alarm:*]",
                    "a rollout's alarm gate reads the alarms its creator names, any alarm of the account: read only")
    fn = lambda_.Function(
        scope,
        cid,
        function_name=f"clawster-{spec.name}",
        description=spec.description or spec.name,
        runtime=RUNTIME,
        architecture=lambda_.Architecture.ARM_64,
        handler=spec.handler,
        code=code,
        layers=[layer],
        memory_size=spec.memory_mb,
        timeout=cdk.Duration.seconds(spec.timeout_s),
        role=role,
        log_group=log_group,
        # X-Ray only where the stage opts in: the handlers' Powertools Tracer reads the same switch.
        tracing=lambda_.Tracing.ACTIVE if tracing else lambda_.Tracing.DISABLED,
        environment={
            "TABLE_NAME": table.table_name,
            "POWERTOOLS_SERVICE_NAME": "clawster",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true",
            "FUNCTION_CATALOG_NAME": spec.name,
        },
        **(placement or {}),
    )
    if tracing:
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions",
        )
    acknowledge(fn, "AwsSolutions-L1", "python3.11 is pinned: the dependency layer is built and tested for this runtime")
    return fn
