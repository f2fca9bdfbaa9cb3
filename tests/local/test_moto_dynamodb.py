"""The patched moto DynamoDB (clawster.local.moto_dynamodb) under the loads that broke the stock one:
no memory growth per transaction, a failed transaction undoes only its own items, and a concurrent
writer's acknowledged item survives it. Every request goes through a real moto server over HTTP."""

from __future__ import annotations

import gc
import json
import sys
import threading
from pathlib import Path

import boto3
import moto
import pytest
from botocore.exceptions import ClientError

from clawster.local import moto_dynamodb

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dynamodb():
    from moto.server import ThreadedMotoServer

    moto_dynamodb.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{server.get_host_and_port()[1]}",
                          region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    yield client
    server.stop()


def _table(client, name: str) -> str:
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "sk", "AttributeType": "S"}])
    return name


def _key(pk: str, sk: str = "x") -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def test_the_patch_is_for_the_pinned_moto():
    """The patch replaces moto internals of one release: moving the pin must send someone to re-check it."""
    pins = (ROOT / "requirements" / "dev.txt").read_text()
    assert moto.__version__ == moto_dynamodb.PATCHED_FOR
    assert f"=={moto_dynamodb.PATCHED_FOR}" in next(line for line in pins.splitlines() if line.startswith("moto"))


def test_memory_stays_flat_over_a_thousand_transactions(dynamodb):
    table = _table(dynamodb, "flat")
    padding = "p" * 1000
    for n in range(200):  # a table worth copying: ~200 kB
        dynamodb.put_item(TableName=table, Item={**_key(f"item-{n}"), "count": {"N": "0"}, "pad": {"S": padding}})

    def transaction(n: int) -> None:
        """Two counter updates, and every tenth one fails its condition (so moto rolls it back)."""
        items = [{"Update": {"TableName": table, "Key": _key(f"item-{(n + i) % 200}"), "UpdateExpression": "ADD #c :one",
                             "ExpressionAttributeNames": {"#c": "count"}, "ExpressionAttributeValues": {":one": {"N": "1"}}}}
                 for i in range(2)]
        if n % 10 == 0:
            items.append({"ConditionCheck": {"TableName": table, "Key": _key("missing"),
                                             "ConditionExpression": "attribute_exists(pk)"}})
        try:
            dynamodb.transact_write_items(TransactItems=items)
        except ClientError as error:
            assert error.response["Error"]["Code"] == "TransactionCanceledException"

    for n in range(50):  # warm up: caches, connection pool
        transaction(n)
    gc.collect()
    before = sys.getallocatedblocks()  # every live Python object, on every thread (the server's too)
    for n in range(1000):
        transaction(n)
    gc.collect()
    grown = sys.getallocatedblocks() - before
    # One leaked copy of this table alone is ~2,000 objects; a thousand copies would be millions.
    assert grown < 20_000, f"{grown} more objects alive after 1,000 transactions"
    from moto.dynamodb.models.dynamo_type import Item

    assert len(Item.instances_tracked) == 0


def test_a_failed_transaction_undoes_only_its_own_items(dynamodb):
    table = _table(dynamodb, "scope")
    dynamodb.put_item(TableName=table, Item={**_key("updated"), "v": {"N": "1"}})
    dynamodb.put_item(TableName=table, Item={**_key("deleted"), "v": {"N": "1"}})
    dynamodb.put_item(TableName=table, Item={**_key("bystander"), "v": {"N": "1"}})
    with pytest.raises(ClientError) as failed:
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {**_key("created"), "v": {"N": "1"}}}},
            {"Update": {"TableName": table, "Key": _key("updated"), "UpdateExpression": "SET v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}}}},
            {"Delete": {"TableName": table, "Key": _key("deleted")}},
            {"ConditionCheck": {"TableName": table, "Key": _key("missing"), "ConditionExpression": "attribute_exists(pk)"}},
        ])
    reasons = [r["Code"] for r in failed.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    items = {i["pk"]["S"]: i["v"]["N"] for i in _all(dynamodb, table)}
    assert items == {"updated": "1", "deleted": "1", "bystander": "1"}


def test_an_acknowledged_write_survives_a_concurrent_failed_transaction(dynamodb):
    """Stock moto restores its whole-table copy when a transaction fails, undoing a write another client
    made (and was answered for) while the transaction ran. Pause the transaction in the middle, let a
    second client write, then let the transaction fail."""
    from moto.dynamodb.models import DynamoDBBackend

    table = _table(dynamodb, "race")
    dynamodb.put_item(TableName=table, Item={**_key("counter"), "n": {"N": "0"}})
    inside, release = threading.Event(), threading.Event()
    original_get_item = DynamoDBBackend.get_item

    def pausing_get_item(self, table_name, key, *args, **kwargs):
        if table_name == table and key == _key("missing") and not inside.is_set():
            inside.set()  # the transaction has written the counter and is checking its last condition
            release.wait(30)
        return original_get_item(self, table_name, key, *args, **kwargs)

    DynamoDBBackend.get_item = pausing_get_item
    failures: list[BaseException] = []

    def failing_transaction() -> None:
        try:
            dynamodb.transact_write_items(TransactItems=[
                {"Update": {"TableName": table, "Key": _key("counter"), "UpdateExpression": "SET n = :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}}}},
                {"ConditionCheck": {"TableName": table, "Key": _key("missing"), "ConditionExpression": "attribute_exists(pk)"}},
            ])
        except BaseException as error:  # noqa: B036 - collected and asserted below
            failures.append(error)

    writer_done = threading.Event()

    def concurrent_writer() -> None:
        dynamodb.put_item(TableName=table, Item={**_key("acknowledged"), "n": {"N": "7"}})
        writer_done.set()

    try:
        transaction = threading.Thread(target=failing_transaction)
        transaction.start()
        assert inside.wait(60), "the transaction never reached its condition check"
        writer = threading.Thread(target=concurrent_writer)
        writer.start()
        # Stock moto answers the writer while the transaction is paused; the patched one makes it wait
        # for the transaction. Either way, give the write a moment to be acknowledged before going on.
        writer_done.wait(2)
        release.set()
        transaction.join(60)
        writer.join(60)
    finally:
        DynamoDBBackend.get_item = original_get_item
        release.set()
    assert writer_done.is_set()
    assert len(failures) == 1 and "TransactionCanceledException" in str(failures[0])
    items = {i["pk"]["S"]: i["n"]["N"] for i in _all(dynamodb, table)}
    assert items == {"counter": "0", "acknowledged": "7"}


def test_observers_see_each_committed_change_in_commit_order(dynamodb):
    table = _table(dynamodb, "observed")
    seen: list[tuple[str, str | None]] = []

    def observe(changes):
        seen.extend((key["pk"]["S"], item["v"]["N"] if item else None)
                    for arn, key, item in changes if arn.endswith("/observed"))

    unregister = moto_dynamodb.on_change(observe)
    try:
        dynamodb.put_item(TableName=table, Item={**_key("a"), "v": {"N": "1"}})
        dynamodb.update_item(TableName=table, Key=_key("a"), UpdateExpression="SET v = :v",
                             ExpressionAttributeValues={":v": {"N": "2"}})
        with pytest.raises(ClientError):  # a failed conditional write changes nothing
            dynamodb.put_item(TableName=table, Item={**_key("a"), "v": {"N": "9"}},
                              ConditionExpression="attribute_not_exists(pk)")
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {**_key("b"), "v": {"N": "3"}}}},
            {"Delete": {"TableName": table, "Key": _key("a")}},
        ])
        dynamodb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {**_key("c"), "v": {"N": "4"}}}}]})
    finally:
        unregister()
    dynamodb.put_item(TableName=table, Item={**_key("d"), "v": {"N": "5"}})  # not observed any more
    # the failed conditional put (a=9) changed nothing; the put of d came after unregistering
    assert seen == [("a", "1"), ("a", "2"), ("b", "3"), ("a", None), ("c", "4")]


def _all(client, table: str) -> list[dict]:
    from clawster.local import scan_guard

    with scan_guard.allowed():
        return client.scan(TableName=table, ConsistentRead=True)["Items"]


def test_a_query_reads_its_partition_or_its_index_and_never_sorts_the_whole_table(dynamodb, monkeypatch):
    """The patched Query answers as DynamoDB does (hand-written expectations: key conditions, order, pages, an
    index) without moto's whole-table `all_items()` sort: it is made to fail here, and nothing calls it."""
    from moto.dynamodb.models.table import Table

    table = "partitions"
    dynamodb.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "g")],
        GlobalSecondaryIndexes=[{"IndexName": "byg", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                               {"AttributeName": "sk", "KeyType": "RANGE"}]}])
    for pk in ("WS#a", "WS#b"):
        for sk in ("BOT#2", "BOT#1", "REV#1", "BOT#3"):
            dynamodb.put_item(TableName=table, Item={**_key(pk, sk), "g": {"S": f"G#{sk[:3]}"}})

    def whole_table_sort(self):
        raise AssertionError("a Query sorted the whole table")

    monkeypatch.setattr(Table, "all_items", whole_table_sort)

    def sks(**query) -> list[str]:
        return [i["sk"]["S"] for i in dynamodb.query(TableName=table, **query)["Items"]]

    bots = {"KeyConditionExpression": "pk = :p AND begins_with(sk, :b)",
            "ExpressionAttributeValues": {":p": {"S": "WS#a"}, ":b": {"S": "BOT#"}}}
    assert sks(**bots) == ["BOT#1", "BOT#2", "BOT#3"]
    assert sks(**bots, ScanIndexForward=False) == ["BOT#3", "BOT#2", "BOT#1"]
    first = dynamodb.query(TableName=table, Limit=2, **bots)
    assert [i["sk"]["S"] for i in first["Items"]] == ["BOT#1", "BOT#2"]
    assert sks(**bots, ExclusiveStartKey=first["LastEvaluatedKey"]) == ["BOT#3"]
    assert sks(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "WS#b"}}) == [
        "BOT#1", "BOT#2", "BOT#3", "REV#1"]
    assert sks(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "WS#none"}}) == []
    by_index = dynamodb.query(TableName=table, IndexName="byg", KeyConditionExpression="g = :g",
                              ExpressionAttributeValues={":g": {"S": "G#BOT"}})["Items"]
    assert [(i["pk"]["S"], i["sk"]["S"]) for i in by_index] == [
        ("WS#a", "BOT#1"), ("WS#b", "BOT#1"), ("WS#a", "BOT#2"), ("WS#b", "BOT#2"), ("WS#a", "BOT#3"), ("WS#b", "BOT#3")]
    assert sks(KeyConditionExpression="pk = :p AND sk BETWEEN :x AND :y",
               ExpressionAttributeValues={":p": {"S": "WS#a"}, ":x": {"S": "BOT#2"}, ":y": {"S": "BOT#9"}}) == [
        "BOT#2", "BOT#3"]
    assert sks(KeyConditionExpression="pk = :p AND sk > :x",
               ExpressionAttributeValues={":p": {"S": "WS#a"}, ":x": {"S": "BOT#3"}}) == ["REV#1"]


def test_a_query_sorts_only_the_items_its_sort_key_condition_matches(dynamodb, monkeypatch):
    """A workspace's partition holds thousands of items: a begins_with Query sorts what it answers, not them all."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = _table_with_sort_key(dynamodb, "sorted-answers")
    for sk in ("REV#2", "BOT#2", "REV#1", "BOT#1", "STEP#1"):
        dynamodb.put_item(TableName=table, Item=_key("WS#a", sk))
    compared: set[str] = set()
    less_than = DynamoType.__lt__

    def recording(self, other):
        compared.update((self.value, other.value))
        return less_than(self, other)

    monkeypatch.setattr(DynamoType, "__lt__", recording)
    items = dynamodb.query(TableName=table, KeyConditionExpression="pk = :p AND begins_with(sk, :b)",
                           ExpressionAttributeValues={":p": {"S": "WS#a"}, ":b": {"S": "BOT#"}})["Items"]
    assert [i["sk"]["S"] for i in items] == ["BOT#1", "BOT#2"]
    assert compared == {"BOT#1", "BOT#2"}, compared


def _table_with_sort_key(dynamodb, table: str) -> str:
    dynamodb.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk")])
    return table


def test_item_answers_written_as_json_are_what_motos_serializer_writes(dynamodb, monkeypatch):
    """The JSON fast path (item operations' answers by json.dumps) against moto's own shape serializer, the
    oracle: every request here is answered by both and parsed by botocore, and the answers must be equal."""
    nested = {"m": {"M": {"n": {"N": "1.5"}, "l": {"L": [{"S": "x"}, {"NULL": True}, {"BOOL": False}]}}},
              "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}, "e": {"S": ""}}
    binary = {"b": {"B": b"\x00\xff"}, "bs": {"BS": [b"\x01"]}}  # json cannot write these: moto's serializer does
    capacity = {"ReturnConsumedCapacity": "TOTAL"}

    def requests(table: str) -> list[tuple[str, dict]]:
        return [
            ("put_item", {"TableName": table, "Item": {**_key("p", "1"), **nested}, "ReturnValues": "ALL_OLD", **capacity}),
            ("put_item", {"TableName": table, "Item": {**_key("p", "2"), **binary}}),
            ("get_item", {"TableName": table, "Key": _key("p", "1"), "ConsistentRead": True, **capacity}),
            ("get_item", {"TableName": table, "Key": _key("p", "2")}),
            ("get_item", {"TableName": table, "Key": _key("p", "none")}),
            ("get_item", {"TableName": table, "Key": _key("p", "1"), "ProjectionExpression": "m.l[0], ss"}),
            ("update_item", {"TableName": table, "Key": _key("p", "1"), "UpdateExpression": "SET v = :v ADD c :one",
                             "ExpressionAttributeValues": {":v": {"S": "new"}, ":one": {"N": "1"}},
                             "ReturnValues": "ALL_NEW", **capacity}),
            ("update_item", {"TableName": table, "Key": _key("p", "1"), "UpdateExpression": "SET v = :v",
                             "ExpressionAttributeValues": {":v": {"S": "newer"}}, "ReturnValues": "UPDATED_OLD"}),
            ("query", {"TableName": table, "KeyConditionExpression": "pk = :p", "Limit": 1,
                       "ExpressionAttributeValues": {":p": {"S": "p"}}, **capacity}),
            ("query", {"TableName": table, "KeyConditionExpression": "pk = :p", "Select": "COUNT",
                       "ExpressionAttributeValues": {":p": {"S": "p"}}}),
            ("query", {"TableName": table, "KeyConditionExpression": "pk = :p", "FilterExpression": "v = :v",
                       "ExpressionAttributeValues": {":p": {"S": "p"}, ":v": {"S": "newer"}}}),
            ("batch_get_item", {"RequestItems": {table: {"Keys": [_key("p", "1"), _key("p", "none")]}}, **capacity}),
            ("batch_write_item", {"RequestItems": {table: [{"PutRequest": {"Item": _key("q", "1")}}]}, **capacity}),
            ("transact_get_items", {"TransactItems": [{"Get": {"TableName": table, "Key": _key("p", "1")}},
                                                      {"Get": {"TableName": table, "Key": _key("p", "none")}}]}),
            ("transact_write_items", {"TransactItems": [{"Put": {"TableName": table, "Item": _key("q", "2")}}], **capacity}),
            ("delete_item", {"TableName": table, "Key": _key("q", "2"), "ReturnValues": "ALL_OLD"}),
            ("delete_item", {"TableName": table, "Key": _key("q", "1"), **capacity}),
        ]

    def answers(fast: bool) -> list[dict]:
        """The requests on a new table: both runs start from nothing."""
        monkeypatch.setattr(moto_dynamodb, "JSON_ANSWERS", moto_dynamodb.JSON_ANSWERS if fast else set())
        table = _table_with_sort_key(dynamodb, f"answers-{'fast' if fast else 'moto'}")
        found = []
        for operation, request in requests(table):
            answer = getattr(dynamodb, operation)(**request)
            answer.pop("ResponseMetadata")
            found.append(json.loads(json.dumps(answer, default=repr, sort_keys=True).replace(table, "T")))
        return found

    fast, oracle = answers(True), answers(False)
    for (operation, _), mine, moto_s in zip(requests("t"), fast, oracle, strict=True):
        assert mine == moto_s, operation
    assert fast[2]["Item"]["m"] == nested["m"] and fast[3]["Item"]["b"] == {"B": repr(b"\x00\xff")}  # items came back


def test_an_item_over_the_size_limit_is_refused_and_one_under_it_kept(dynamodb):
    table = _table_with_sort_key(dynamodb, "sizes")
    with pytest.raises(ClientError, match="Item size has exceeded the maximum allowed size"):
        dynamodb.put_item(TableName=table, Item={**_key("big"), "a": {"S": "x" * 300_000}, "b": {"S": "y" * 110_000}})
    dynamodb.put_item(TableName=table, Item={**_key("fits"), "a": {"S": "x" * 300_000}, "b": {"S": "y" * 90_000}})
    assert "Item" not in dynamodb.get_item(TableName=table, Key=_key("big"))
    assert len(dynamodb.get_item(TableName=table, Key=_key("fits"))["Item"]["b"]["S"]) == 90_000
