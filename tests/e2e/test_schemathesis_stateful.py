"""Schemathesis's stateful phase as OWNER: it chains the OpenAPI links (functions/api/openapi_doc.py)
create -> read -> update -> delete for workspaces, fleets and bots, with every check (use_after_free
and ensure_resource_availability need exactly these chains). No ids are pinned: the links supply
them (a pinned id would override them)."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_schemathesis import run_schemathesis

STATEFUL_EXAMPLES = 100  # scenarios; each is a chain of several requests


@pytest.mark.slow
def test_owner_stateful_links_chain_create_read_update_delete(stack, team, tmp_path):
    output, _ = run_schemathesis(stack, team, "OWNER", tmp_path, examples=STATEFUL_EXAMPLES, phases="stateful",
                                 pin=False)
    # The phase ran (not skipped for want of links), passed, and followed links from one response to
    # the next request (measured 2026-11-26: 12 scenarios, 7 links covered).
    assert re.search(r"✅\s+Stateful", output), output[-3000:]
    covered = re.search(r"API Links:\s+(\d+) covered", output)
    assert covered and int(covered[1]) >= 3, output[-3000:]
