"""The single DynamoDB table, described once in clawster.store.schema."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from clawster.store import schema

_S = dynamodb.AttributeType.STRING


def make_table(scope: Construct) -> dynamodb.TableV2:
    return dynamodb.TableV2(
        scope,
        "Table",
        partition_key=dynamodb.Attribute(name=schema.HASH, type=_S),
        sort_key=dynamodb.Attribute(name=schema.RANGE, type=_S),
        global_secondary_indexes=[
            dynamodb.GlobalSecondaryIndexPropsV2(
                index_name=name,
                partition_key=dynamodb.Attribute(name=pk, type=_S),
                sort_key=dynamodb.Attribute(name=sk, type=_S),
                projection_type=dynamodb.ProjectionType(projection),
            )
            for name, (pk, sk, projection) in schema.INDEXES.items()
        ],
        billing=dynamodb.Billing.on_demand(),
        time_to_live_attribute=schema.TTL_ATTRIBUTE,
        dynamo_stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=True,
        # The fleet's records outlive any one deployment of the stack.
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )


def index_arns(table: dynamodb.TableV2) -> list[str]:
    """Each index ARN by name: IAM statements never need a wildcard for the indexes."""
    return [f"{table.table_arn}/index/{name}" for name in schema.INDEXES]
