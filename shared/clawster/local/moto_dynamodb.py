"""Make moto's DynamoDB safe for a long-running, multi-threaded local stack (written for moto 5.2.5).

What moto does, and what goes wrong in a stack that serves many requests at once:
- `transact_write_items` deep-copies every table it writes as its rollback point, and restores that
  copy when the transaction fails. A failed transaction then also undoes every write other requests
  committed meanwhile (an acknowledged create vanishes), and each copy costs the table's size.
- every model instance is appended to `BaseModel.instances_tracked`, a list that only feeds moto's
  dashboard and is never emptied: each write, each query result and each table copy stays in memory.
- requests run on server threads with no isolation, so a transaction can interleave with other writes.

A Query, last, read its candidates from `all_items()`, which sorts the whole table at every call: a Query's cost
grew with the table (the local stack's slowest path once a workspace held thousands of items). It now reads the
partition (or, on an index, every item unsorted), and only the items its sort key condition matches, as
DynamoDB's own cost grows with the answer (a workspace's partition holds its bots, revisions and steps: a
begins_with Query on it sorted thousands of items to answer a few).

The fix, kept small: every DynamoDB request runs under one lock (DynamoDB is linearizable per item and
transactions are serializable; in memory the lock costs microseconds), a transaction copies only the
items it names and restores only those, and DynamoDB models are not tracked. After a request that
changed items, the observers registered with `on_change` get each changed item's current image, still
under the lock, so they see changes in commit order (the local stack's journal is one).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

PATCHED_FOR = "5.2.5"  # tests/local/test_moto_dynamodb.py fails when the pin moves: re-check the patch

# (table ARN, key attributes in DynamoDB JSON, the item in DynamoDB JSON or None once deleted)
Change = tuple[str, dict[str, Any], dict[str, Any] | None]
Observer = Callable[[list[Change]], None]

LOCK = threading.RLock()
_observers: list[Observer] = []
_touched = threading.local()
_installed = False


def on_change(observer: Observer) -> Callable[[], None]:
    """Call `observer` after each request that changed items; returns a function that unregisters it."""
    with LOCK:
        _observers.append(observer)
    return lambda: _remove(observer)


def _remove(observer: Observer) -> None:
    with LOCK:
        if observer in _observers:
            _observers.remove(observer)


class _NotTracked(list):
    """A tracking list that keeps nothing (moto's dashboard is the only reader)."""

    def append(self, _: Any) -> None:
        pass


class _TableCopiesAreFree:
    """Stands in for the `copy` module inside moto's DynamoDB backend: a table "copy" is the table
    itself, so transact_write_items' whole-table rollback point costs nothing and restores nothing;
    the items the transaction touched are restored by `_transact_write_items` instead."""

    def __init__(self, table_type: type):
        self._table_type = table_type

    def deepcopy(self, value: Any, memo: dict | None = None) -> Any:
        return value if isinstance(value, self._table_type) else copy.deepcopy(value, memo)


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb import models as backend_module
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    _untrack()
    backend_module.copy = _TableCopiesAreFree(Table)

    original_transact = DynamoDBBackend.transact_write_items
    original_update = DynamoDBBackend.update_item
    original_put, original_delete = Table.put_item, Table.delete_item

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        before = _items_named(self, transact_items)
        try:
            return original_transact(self, transact_items)
        except BaseException:
            _restore(before)
            raise

    def update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        item = original_update(self, table_name, *args, **kwargs)
        _touch(self.get_table(table_name), item.hash_key, item.range_key)
        return item

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = original_put(self, *args, **kwargs)
        _touch(self, item.hash_key, item.range_key)
        return item

    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        item = original_delete(self, hash_key, range_key)
        _touch(self, hash_key, range_key)
        return item

    original_query = Table.query

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        """A Query reads its candidates as DynamoDB does: a base-table one its partition only, an index one every
        item unsorted (moto's own sort of the results is a total order). moto's `all_items()` sorts the whole
        table by DynamoType comparisons for every Query: its cost grew with the table, not with the answer."""
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name is None and self.range_key_attr:
            candidates = list(self.items[hash_key].values()) if hash_key in self.items else []
            range_comparison, range_objs = (args[0], args[1]) if len(args) > 1 else (None, None)
            if range_comparison:  # moto's own key condition, before its sort: a query sorts what it answers
                candidates = [item for item in candidates if item.range_key.compare(range_comparison, range_objs)]
        else:
            candidates = [item for hash_set in self.items.values()
                          for item in (hash_set.values() if self.range_key_attr else [hash_set])]
        self.all_items = lambda: candidates  # one request at a time (the lock): this call's view only
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    DynamoDBBackend.transact_write_items = transact_write_items
    DynamoDBBackend.update_item = update_item
    Table.put_item, Table.delete_item, Table.query = put_item, delete_item, query
    _size_items_once()
    _serialize_item_answers_as_json()
    DynamoHandler.call_action = _one_request_at_a_time(DynamoHandler.call_action)
    _installed = True


def _size_items_once() -> None:
    """moto's Item checks the 400 KB limit as it sets each attribute, by re-measuring every attribute set before
    it: an item of n attributes cost n² nested size walks (the stack process's hottest code). The same check, once
    per item: the total of its attributes' sizes against moto's own limit. Later single-attribute sets (update
    expressions) still go through moto's checking dict."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    def init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key, self.range_key = hash_key, range_key
        converted = {key: DynamoType(value) for key, value in attrs.items()}
        if sum(bytesize(key) + value.size() for key, value in converted.items()) > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        self.attrs = LimitedSizeDict(converted)  # dict.update: no per-attribute re-measuring

    Item.__init__ = init


ITEM_SIZE_LIMIT = 405000  # moto's LimitedSizeDict limit (DynamoDB's 400 KB, as moto measured it)
JSON_ANSWERS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchGetItem", "BatchWriteItem",
                "TransactGetItems", "TransactWriteItems"}


def _serialize_item_answers_as_json() -> None:
    """An item operation's answer is DynamoDB JSON already; moto's generic serializer walks it against the
    botocore shapes attribute by attribute (40% of a DynamoDB request's time in the local stack). Those answers
    are written with json.dumps instead: the same JSON (tests/local/test_moto_dynamodb.py compares the two). An
    answer json cannot write as is (binary values, which moto's serializer base64-encodes) still goes to moto's."""
    import json

    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name in JSON_ANSWERS:
            try:
                body = json.dumps(self.result)
            except TypeError:
                pass
            else:
                return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return original(self, context)

    DynamoResult.execute_result = execute_result


def _untrack() -> None:
    """Give DynamoDB's models a tracking list that keeps nothing (again after a moto reset, which
    sets fresh lists)."""
    from moto.core.model_instances import model_data

    for model in model_data["dynamodb"].values():
        if not isinstance(model.instances_tracked, _NotTracked):
            model.instances_tracked = _NotTracked()


def _one_request_at_a_time(call_action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Serve each DynamoDB request under the lock, then tell the observers what it changed."""

    def serialized(self: Any) -> Any:
        with LOCK:
            _untrack()
            _touched.items = {}
            try:
                return call_action(self)
            finally:
                touched, _touched.items = _touched.items, None
                if touched and _observers:
                    changes = [_image(table, h, r) for table, h, r in touched.values()]
                    for observer in list(_observers):
                        observer(changes)

    return serialized


def _touch(table: Any, hash_key: Any, range_key: Any) -> None:
    touched = getattr(_touched, "items", None)
    if touched is not None:  # None: a write outside a request (e.g. moto's own restore from backup)
        touched[(table.name, hash_key, range_key)] = (table, hash_key, range_key)


def _image(table: Any, hash_key: Any, range_key: Any) -> Change:
    key = {table.hash_key_attr: hash_key.to_json()}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = range_key.to_json()
    item = table.get_item(hash_key, range_key)
    return table.table_arn, key, item.to_json()["Attributes"] if item is not None else None


def _backend_and_name(table_arn: str) -> tuple[Any, str]:
    from moto.dynamodb.models import dynamodb_backends

    _, _, _, region, account, resource = table_arn.split(":", 5)
    return dynamodb_backends[account][region], resource.removeprefix("table/")


def items_of(table_arn: str) -> list[dict[str, Any]]:
    """Every item of the table in DynamoDB JSON, read in one step under the lock (a consistent cut)."""
    backend, name = _backend_and_name(table_arn)
    with LOCK:
        table = backend.get_table(name)
        rows = table.items.values()
        items = [item for row in rows for item in (row.values() if table.has_range_key else [row])]
        return [item.to_json()["Attributes"] for item in items]


def _items_named(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
    """(table, hash, range, a copy of the item or None) for every item the transaction names."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    before = []
    for entry in transact_items:
        op = next(iter(entry.values()), None)
        if not isinstance(op, dict) or op.get("TableName") not in backend.tables:
            continue  # moto rejects it before writing anything
        table = backend.tables[op["TableName"]]
        key = op.get("Key") or op.get("Item") or {}
        if table.hash_key_attr not in key or (table.has_range_key and table.range_key_attr not in key):
            continue
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.has_range_key else None
        item = table.get_item(hash_key, range_key)
        before.append((table, hash_key, range_key, copy.deepcopy(item) if item is not None else None))
    return before


def _restore(before: list[tuple[Any, Any, Any, Any]]) -> None:
    """Put back exactly the items a failed transaction named, and nothing else."""
    for table, hash_key, range_key, item in reversed(before):
        if table.has_range_key:
            if item is None:
                table.items[hash_key].pop(range_key, None)
            else:
                table.items[hash_key][range_key] = item
        elif item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item


def put_items(table_arn: str, items: list[dict[str, Any]]) -> None:
    """Load items (DynamoDB JSON) straight into the table, unobserved: restoring what is already on disk."""
    backend, name = _backend_and_name(table_arn)
    with LOCK:
        for item in items:
            backend.put_item(name, item)
