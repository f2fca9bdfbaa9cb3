"""Which controls a rollout takes in each status, against a table written here by hand (docs/decisions.md,
2026-11-26: pause holds before the next wave, resume a paused one, approve the wave awaiting it, abort anything
not already rolling back or ended, promote ends a running wave's bake). The API shows them on every rollout
(`allowed_actions`, what the console enables) and a 409 names them."""

from __future__ import annotations

import pytest

from clawster.domain import rollouts

ALLOWED = {
    "RUNNING": ["pause", "abort", "promote"],
    "PAUSED": ["resume", "abort"],
    "AWAITING_APPROVAL": ["pause", "approve", "abort"],
    "ABORTING": [],
    "ROLLING_BACK": [],
    "SUCCEEDED": [],
    "ROLLED_BACK": [],
    "FAILED": [],
}


def test_the_table_covers_every_status():
    assert set(ALLOWED) == {status.value for status in rollouts.RolloutStatus}


@pytest.mark.parametrize("status", sorted(ALLOWED))
def test_each_status_takes_the_tables_controls_in_order(status):
    assert rollouts.allowed_actions(status) == ALLOWED[status]
