"""Schemathesis as each lower role (ADMIN, OPERATOR, VIEWER), with that role's own token in a
workspace where it holds the role: every check, positive and negative data. A refusal by role is a
403 the route documents (functions/api/_resolver.py ROLE); any undocumented status fails.

Fewer examples than the OWNER run (200 per operation, with the coverage phase, in
test_schemathesis.py and test_schemathesis_bots.py), and no coverage phase: that run alone takes
about 20 minutes of a worker, and at 50 examples with coverage each lower role took 7 to 8 more
(measured 2026-11-26 on 2 cores). The lower roles reach the same handlers or stop at the gate with a
403, which a few generated requests per operation show; docs/decisions.md (2026-11-26)."""

from __future__ import annotations

import pytest

from tests.e2e.test_schemathesis import run_schemathesis

ROLE_EXAMPLES = 15
ROLE_PHASES = "examples,fuzzing"


@pytest.mark.slow
@pytest.mark.parametrize("role", ["ADMIN", "OPERATOR", "VIEWER"])
def test_lower_role_fuzzing_every_check(stack, team, tmp_path, role):
    team.with_bot()
    run_schemathesis(stack, team, role, tmp_path, examples=ROLE_EXAMPLES, phases=ROLE_PHASES)
