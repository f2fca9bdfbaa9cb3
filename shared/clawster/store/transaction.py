"""One TransactWriteItems per change: the change and its audit event land together or not at all.

Each operation says which typed error its failed condition means, so a cancelled transaction
becomes a precise 404/409 rather than a generic failure. A transaction cancelled only because a
concurrent one touched the same items (TransactionConflict, throttling) wrote nothing, so it is sent
again after a jittered backoff; only when the attempts run out is it a 503.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition

from clawster.domain.errors import ClawsterError, Conflict, Unavailable
from clawster.store.entities import AuditEvent, Entity, Mutable

ErrorFactory = Callable[[], ClawsterError]

_KINDS = ("check", "delete", "put", "update")  # the order pynamodb sends them in
_DERIVED = ("gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")  # index keys derived from the item's fields
_RETRYABLE = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
ATTEMPTS = 4  # sends of one transaction before a retryable cancellation is a 503
BACKOFF_BASE = 0.02  # seconds; attempt n waits uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**n)) ("full jitter")
BACKOFF_CAP = 0.5


@cache
def _connection() -> Connection:
    # Not Entity._get_connection(): pynamodb caches that on the class, and every entity subclass
    # would then inherit the base's index-less table description.
    return Connection(region=Entity.Meta.region)


class Change:
    """The writes of one mutation; `commit()` sends them in one transaction."""

    def __init__(self) -> None:
        self._ops: dict[str, list[tuple[dict[str, Any], ErrorFactory]]] = {kind: [] for kind in _KINDS}

    def create(self, item: Entity, *, exists_error: ErrorFactory) -> Change:
        """Put a new item; fails when the key exists."""
        item.stamp()
        if isinstance(item, Mutable):
            item.version = 1
        cond = type(item).pk.does_not_exist()
        return self._add("put", item.get_save_kwargs_from_instance(condition=cond), exists_error)

    def edit(self, item: Mutable, fields: Iterable[str], *, expected_version: int,
             condition: Condition | None = None, stale_error: ErrorFactory) -> Change:
        """Write the named fields of an item whose stored version is `expected_version` (+1 after).

        An UpdateItem of those fields only, never a full-item Put: counters changed with `adjust`
        since the item was read are not written back. Derived keys are rewritten with the fields."""
        item.stamp()
        model = type(item)
        attributes = model.get_attributes()
        names = dict.fromkeys([*fields, "updated_at", *(n for n in _DERIVED if n in attributes)])
        actions = []
        for name in names:
            value = getattr(item, name)
            actions.append(attributes[name].remove() if value is None else attributes[name].set(value))
        actions.append(model.version.set(model.version + 1))
        cond = model.pk.exists() & (model.version == expected_version)
        if condition is not None:
            cond = cond & condition
        kwargs = item.get_update_kwargs_from_instance(actions=actions, condition=cond, add_version_condition=False)
        item.version = expected_version + 1
        return self._add("update", kwargs, stale_error)

    def delete(self, item: Mutable, *, expected_version: int, condition: Condition | None = None,
               stale_error: ErrorFactory) -> Change:
        cond = type(item).version == expected_version
        if condition is not None:
            cond = cond & condition
        kwargs = item.get_delete_kwargs_from_instance(condition=cond, add_version_condition=False)
        return self._add("delete", kwargs, stale_error)

    def remove(self, item: Entity, *, condition: Condition, error: ErrorFactory) -> Change:
        """Delete an item that has no version (e.g. a NameClaim) under `condition`."""
        kwargs = item.get_delete_kwargs_from_instance(condition=condition, add_version_condition=False)
        return self._add("delete", kwargs, error)

    def adjust(self, item: Mutable, attr: Any, delta: int, *, condition: Condition | None = None,
               error: ErrorFactory) -> Change:
        """Add `delta` to a counter of an existing item. Counters are not edits: no version bump."""
        cond = type(item).pk.exists()
        if condition is not None:
            cond = cond & condition
        kwargs = item.get_update_kwargs_from_instance(actions=[attr.add(delta)], condition=cond,
                                                      add_version_condition=False)
        return self._add("update", kwargs, error)

    def check(self, model: type[Entity], key: tuple[str, str], condition: Condition, *, error: ErrorFactory) -> Change:
        kwargs = model._get_connection().get_operation_kwargs(*key, condition=condition)
        return self._add("check", kwargs, error)

    def audit(self, event: AuditEvent) -> Change:
        return self.create(event, exists_error=lambda: Conflict("audit event id collision"))

    def _add(self, kind: str, kwargs: dict[str, Any], error: ErrorFactory) -> Change:
        self._ops[kind].append((kwargs, error))
        return self

    def commit(self) -> None:
        """Send the transaction; a retryable cancellation is sent again, up to ATTEMPTS times."""
        lists = {kind: [kwargs for kwargs, _ in ops] for kind, ops in self._ops.items()}
        for attempt in range(ATTEMPTS):
            try:
                _connection().transact_write_items(
                    condition_check_items=lists["check"], delete_items=lists["delete"],
                    put_items=lists["put"], update_items=lists["update"],
                )
                return
            except TransactWriteError as exc:
                error = self._translate(exc)
                if not isinstance(error, Unavailable) or attempt == ATTEMPTS - 1:
                    raise error from exc
            time.sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)))  # full jitter

    def _translate(self, exc: TransactWriteError) -> ClawsterError:
        errors = [error for kind in _KINDS for _, error in self._ops[kind]]
        codes = [getattr(reason, "code", None) for reason in exc.cancellation_reasons]
        for code, error in zip(codes, errors, strict=False):
            if code == "ConditionalCheckFailed":
                return error()
        if _RETRYABLE.intersection(c for c in codes if c) or exc.cause_response_code in _RETRYABLE:
            return Unavailable("a concurrent change touched the same items; retry the request", {"retry": True})
        raise exc
