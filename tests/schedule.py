"""The order in which `make test` hands files to its two xdist workers: longest first.

`--dist loadfile` makes each file one unit of work, and `--no-loadscope-reorder` hands the units out
in collection order, each to the first worker with room. xdist's own order (files with the most tests
first) put the single-test schemathesis files last, where one worker ran them back to back while
the other sat idle. Longest first (LPT scheduling) leaves the short files for the end, where they
fill in whichever worker frees up first. Measured seconds (2026-11-26, 2 cores, with other suites
running beside): docs/decisions.md. A file not listed keeps its place after these.
"""

from __future__ import annotations

LONGEST_FIRST = [
    "tests/e2e/test_schemathesis.py",
    "tests/e2e/test_schemathesis_bots.py",
    "tests/workflows/test_rollouts_at_scale.py",  # 5 rollouts over 40 fake gateways: minutes
    "tests/workflows/test_rollouts_live.py",  # three rollouts on real gateways
    "tests/contract/test_local_provider.py",
    "tests/contract/test_provider_contract.py",  # every target; the local one on real gateways
    "tests/workflows/test_cloud_targets.py",  # a real gateway through each cloud adapter and its stand-in
    "tests/console/test_bot_flow.py",  # the console's main flow in a browser, on a real gateway: ~4 min
    "tests/e2e/test_schemathesis_roles.py",
    "tests/local/test_snapshot.py",
    "tests/infra/test_cdk.py",
    "tests/contract/test_gateway_contract.py",
    "tests/e2e/test_schemathesis_stateful.py",
]


def longest_first(items: list) -> None:
    """Sort the collected items in place: the listed files first, in the list's order; each file's own
    tests keep their order (a stable sort), as do the files not listed."""
    rank = {path: index for index, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
