"""Schemathesis as each lower role (ADMIN, OPERATOR, VIEWER), with that role's own token in a
workspace where it holds the role: every check, positive and negative data. A refusal by role is a
403 the route documents (functions/api/_resolver.py ROLE); any undocumented status fails.

Fewer examples than the OWNER run (test_schemathesis.py, 200 per operation plus the stateful
phase): ROLE_EXAMPLES keeps the whole slow suite well under its budget (docs/decisions.md,
2026-11-26); the lower roles mostly reach the same handlers, or stop at the gate with a 403."""

from __future__ import annotations

import pytest

from tests.e2e.test_schemathesis import run_schemathesis

ROLE_EXAMPLES = 50


@pytest.mark.slow
@pytest.mark.parametrize("role", ["ADMIN", "OPERATOR", "VIEWER"])
def test_lower_role_fuzzing_every_check(stack, team, tmp_path, role):
    team.with_bot()
    run_schemathesis(stack, team, role, tmp_path, examples=ROLE_EXAMPLES)
