"""The OWNER's run (200 examples per operation, fewer for the expensive few) over the fleet, bot, lifecycle,
revision, overlay and rollout operations (the rest are in test_schemathesis.py): a file of its own, so
`--dist loadfile` can run the two halves on different workers."""

from __future__ import annotations

import pytest

from tests.e2e.test_schemathesis import OWNER_EXAMPLES, SECOND_HALF, run_schemathesis


@pytest.mark.slow
def test_owner_every_check_fleets_bots_overlays_rollouts(stack, team, tmp_path):
    team.with_bot()
    run_schemathesis(stack, team, "OWNER", tmp_path, examples=OWNER_EXAMPLES, only=("--include-path-regex", SECOND_HALF))
