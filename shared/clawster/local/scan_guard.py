"""Make DynamoDB Scan fail loudly. Every request path must be served by a key or index query
(docs/access-patterns.md); a Scan would work on a small test table and time out in production.
PartiQL is refused too: a SELECT without a key condition is a Scan under another name.
Only the local stack's snapshot writer may scan, inside `allowed()`."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from botocore.client import BaseClient


class ScanForbidden(AssertionError):
    """A DynamoDB Scan (or PartiQL statement) was attempted on a request path."""


PARTIQL = frozenset({"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"})


_state = threading.local()
_original = BaseClient._make_api_call
_installed = False


def _guarded(self: BaseClient, operation_name: str, api_params: dict):
    if self.meta.service_model.service_name == "dynamodb" and not getattr(_state, "allowed", False):
        if operation_name == "Scan":
            raise ScanForbidden(f"DynamoDB Scan on {api_params.get('TableName')!r}: serve this access pattern with a "
                                "Query on the table or an index (docs/access-patterns.md)")
        if operation_name in PARTIQL:
            raise ScanForbidden(f"DynamoDB {operation_name} (PartiQL) can scan a whole table: use Query, GetItem or "
                                "TransactWriteItems with explicit keys (docs/access-patterns.md)")
    return _original(self, operation_name, api_params)


def install() -> None:
    """Patch every botocore client (boto3 and pynamodb both go through _make_api_call)."""
    global _installed
    if not _installed:
        BaseClient._make_api_call = _guarded
        _installed = True


@contextlib.contextmanager
def allowed() -> Iterator[None]:
    """Let this thread scan (whole-table snapshot of the local stack only)."""
    previous = getattr(_state, "allowed", False)
    _state.allowed = True
    try:
        yield
    finally:
        _state.allowed = previous
