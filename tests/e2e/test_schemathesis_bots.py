"""The OWNER's 200-examples-per-operation run over the fleet, bot, lifecycle and revision operations (the
rest are in test_schemathesis.py): a file of its own, so `--dist loadfile` can run the two halves
on different workers."""

from __future__ import annotations

import pytest

from tests.e2e.test_schemathesis import FLEETS_AND_BOTS, OWNER_EXAMPLES, run_schemathesis


@pytest.mark.slow
def test_owner_every_check_200_examples_fleets_bots_lifecycle_revisions(stack, team, tmp_path):
    team.with_bot()
    run_schemathesis(stack, team, "OWNER", tmp_path, examples=OWNER_EXAMPLES, only=("--include-path-regex", FLEETS_AND_BOTS))
