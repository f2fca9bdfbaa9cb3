"""The Scan guard refuses Scan and every PartiQL operation (a SELECT without a key condition is a
Scan) on a real boto3 client talking to a real moto server, and lets the snapshot writer through."""

from __future__ import annotations

import boto3
import pytest
from moto.server import ThreadedMotoServer

from clawster.local import scan_guard
from clawster.local.scan_guard import ScanForbidden

TABLE = "scan-guard-test"
ITEM = {"pk": {"S": "P#1"}, "sk": {"S": "S#1"}, "name": {"S": "kept"}}


@pytest.fixture(scope="module")
def dynamodb():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client("dynamodb", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local")
    client.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "sk", "AttributeType": "S"}])
    client.put_item(TableName=TABLE, Item=ITEM)
    scan_guard.install()
    yield client
    server.stop()


# (operation, call) pairs: every way to read or write the table through PartiQL, and a plain Scan.
CALLS = {
    "Scan": lambda c: c.scan(TableName=TABLE),
    "ExecuteStatement": lambda c: c.execute_statement(Statement=f'SELECT * FROM "{TABLE}"'),
    "BatchExecuteStatement": lambda c: c.batch_execute_statement(
        Statements=[{"Statement": f"SELECT * FROM \"{TABLE}\" WHERE pk = 'P#1' AND sk = 'S#1'"}]),
    "ExecuteTransaction": lambda c: c.execute_transaction(
        TransactStatements=[{"Statement": f"UPDATE \"{TABLE}\" SET name = 'changed' WHERE pk = 'P#1' AND sk = 'S#1'"}]),
}


@pytest.mark.parametrize("operation", sorted(CALLS))
def test_scan_and_partiql_are_refused_outside_allowed(dynamodb, operation):
    with pytest.raises(ScanForbidden, match=operation):
        CALLS[operation](dynamodb)
    # the refused transaction never reached moto
    assert dynamodb.get_item(TableName=TABLE, Key={"pk": ITEM["pk"], "sk": ITEM["sk"]})["Item"] == ITEM


def test_the_snapshot_writer_may_scan_inside_allowed(dynamodb):
    with scan_guard.allowed():
        assert dynamodb.scan(TableName=TABLE)["Items"] == [ITEM]
        assert dynamodb.execute_statement(Statement=f'SELECT * FROM "{TABLE}"')["Items"] == [ITEM]
    with pytest.raises(ScanForbidden):
        dynamodb.execute_statement(Statement=f'SELECT * FROM "{TABLE}"')  # allowed() ends with its block


def test_key_reads_pass_the_guard(dynamodb):
    assert dynamodb.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                          ExpressionAttributeValues={":p": ITEM["pk"]})["Items"] == [ITEM]
