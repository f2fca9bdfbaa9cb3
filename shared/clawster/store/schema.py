"""The single DynamoDB table: one description read by the local stack, the CDK app and the tests."""

from __future__ import annotations

HASH, RANGE = "pk", "sk"
TTL_ATTRIBUTE = "expires_at"

# index name -> (partition key attribute, sort key attribute, projection)
INDEXES: dict[str, tuple[str, str, str]] = {
    "gsi1": ("gsi1pk", "gsi1sk", "ALL"),
    "gsi2": ("gsi2pk", "gsi2sk", "ALL"),
}


def create_table_kwargs(table_name: str) -> dict:
    """boto3 create_table arguments (used by the local stack and the tests)."""
    attrs = [HASH, RANGE] + [a for pk, sk, _ in INDEXES.values() for a in (pk, sk)]
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in attrs],
        "KeySchema": [{"AttributeName": HASH, "KeyType": "HASH"}, {"AttributeName": RANGE, "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": name,
                "KeySchema": [{"AttributeName": pk, "KeyType": "HASH"}, {"AttributeName": sk, "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": projection},
            }
            for name, (pk, sk, projection) in INDEXES.items()
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }


def create_table(client, table_name: str) -> None:
    """Create the table with TTL and point-in-time recovery, as the CDK app does on AWS."""
    client.create_table(**create_table_kwargs(table_name))
    client.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )
    client.update_continuous_backups(
        TableName=table_name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
