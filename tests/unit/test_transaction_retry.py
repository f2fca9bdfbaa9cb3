"""A transaction cancelled by a concurrent one (TransactionConflict) is sent again with a jittered
backoff, and only after the attempts run out is it a 503. The conflicts are DynamoDB's own error
shape (pynamodb's TransactWriteError around a TransactionCanceledException with a TransactionConflict
reason) raised by the connection for the first sends; the later sends reach the local stack's moto."""

from __future__ import annotations

import pytest
from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

from clawster.domain.errors import Conflict, Unavailable
from clawster.domain.roles import Role
from clawster.services import fleets, workspaces
from clawster.services.context import Access, Caller
from clawster.store import transaction
from clawster.store.entities import Fleet
from functions.errors import http_status


def transaction_conflict(items: int) -> TransactWriteError:
    reasons = [CancellationReason(code="None")] * (items - 1) + [
        CancellationReason(code="TransactionConflict", message="Transaction is ongoing for the item")
    ]
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}},
        "TransactWriteItems", cancellation_reasons=reasons,
    )
    return TransactWriteError("Failed to write transaction items", cause=cause)


@pytest.fixture
def owner(stack, new_user) -> Access:
    caller = Caller(new_user("owner"), "test-transaction-retry")
    workspace, _ = workspaces.create(caller, name="retries", description="")
    return Access(caller, workspace.id, Role.OWNER, "test")


@pytest.fixture
def conflicts(monkeypatch):
    """`conflicts(n)`: the next n transactions sent are cancelled by a TransactionConflict.
    Returns the list of sends (True: it reached DynamoDB)."""
    connection = transaction._connection()
    send = connection.transact_write_items
    sends: list[bool] = []
    sleeps: list[float] = []
    monkeypatch.setattr(transaction.time, "sleep", sleeps.append)

    def arm(failures: int) -> list[bool]:
        def flaky(**kwargs):
            if len(sends) < failures:
                sends.append(False)
                items = sum(len(kwargs[k]) for k in kwargs if k.endswith("_items"))
                raise transaction_conflict(items)
            sends.append(True)
            return send(**kwargs)

        monkeypatch.setattr(connection, "transact_write_items", flaky)
        return sends

    arm.sleeps = sleeps
    return arm


def stored_fleets(access: Access) -> list[Fleet]:
    partition = Fleet.key(access.workspace_id, "")[0]
    return list(Fleet.query(partition, Fleet.sk.startswith(Fleet.sk_prefix()), consistent_read=True))


def test_a_transaction_conflict_is_retried_until_it_goes_through(owner, conflicts):
    sends = conflicts(transaction.ATTEMPTS - 1)
    fleet = fleets.create(owner, name="retried", environment="dev", description="", tags={})
    assert sends == [False] * (transaction.ATTEMPTS - 1) + [True]
    assert [f.id for f in stored_fleets(owner)] == [fleet.id]
    # full jitter: each wait is somewhere between 0 and its growing ceiling
    assert len(conflicts.sleeps) == transaction.ATTEMPTS - 1
    for attempt, delay in enumerate(conflicts.sleeps):
        assert 0 <= delay <= min(transaction.BACKOFF_CAP, transaction.BACKOFF_BASE * 2**attempt)


def test_after_the_last_attempt_a_transaction_conflict_is_a_503(owner, conflicts):
    sends = conflicts(transaction.ATTEMPTS)
    with pytest.raises(Unavailable) as refused:
        fleets.create(owner, name="given-up", environment="dev", description="", tags={})
    assert http_status(refused.value) == 503 and refused.value.retryable
    assert sends == [False] * transaction.ATTEMPTS
    assert stored_fleets(owner) == []


def test_a_failed_condition_is_not_retried(owner, conflicts):
    """A 404/409 is an answer, not a conflict: one send, no wait."""
    sends = conflicts(0)
    fleet = fleets.create(owner, name="once", environment="dev", description="", tags={})
    sends.clear()
    fleet.description = "from a stale read"
    change = transaction.Change().edit(fleet, ["description"], expected_version=fleet.version + 1,
                                       stale_error=lambda: Conflict("stale"))
    with pytest.raises(Conflict):
        change.commit()
    assert sends == [True]
    assert conflicts.sleeps == []
