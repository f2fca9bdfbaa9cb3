"""Schemathesis against the running local stack, as the highest role (OWNER): every check, positive
and negative data, 200 examples per operation (25 for the few expensive ones, EXPENSIVE_OPERATIONS). Here
the workspace, member, template, profile, policy-pack, connector, audit and meta operations;
test_schemathesis_bots.py the fleet, bot, lifecycle, revision, overlay and rollout ones (files of their own,
so `--dist loadfile` can run them on both workers); test_schemathesis_stateful.py the stateful phase over
the OpenAPI links; test_schemathesis_roles.py ADMIN, OPERATOR and VIEWER with fewer examples.

The runs pin path ids to a real workspace, fleet, bot and revision in which the caller holds the
role, so generated requests reach the handlers and the table instead of stopping at a 404.
Budget and split: docs/decisions.md (2026-11-26).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

SEED = "20261126"
# Every check schemathesis has. None is excluded: each applies to this API (the stateful ones,
# use_after_free and ensure_resource_availability, run in the stateful phase; ignored_auth sends
# requests without the bearer token).
CHECKS = "all"
# missing_required_header: a request without If-Match is refused with 428 Precondition Required
# (RFC 6585: the status for exactly this), not one of the 400/401/403/406/415/422 it expects by default.
# positive_data_acceptance: a listing's cursor is opaque (any string up to 2048 characters in the
# schema), so a generated one is not a cursor the listing issued: 400, by design. That is the only
# 4xx a schema-valid request may get beyond the defaults (401, 403, 404, 409, 429), but for /audit.
POSITIVE = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
CONFIG_CHECKS = f"""
[checks.missing_required_header]
expected-statuses = ["400", "401", "403", "406", "415", "422", "428"]

[checks.positive_data_acceptance]
expected-statuses = {json.dumps(POSITIVE)}
"""
# Operations where a schema-valid request may also be a 422, by a rule the schema cannot state; each
# such refusal is tested with hand-written cases in the file named. One filter per row: schemathesis ORs the
# filters of an [[operations]] block, so include-path with include-method named every operation of the method.
ALSO_422: list[tuple[str, dict[str, str]]] = [
    # since after until (tests/e2e/test_audit.py): a rule between two parameters
    ("audit", {"include-path": "/workspaces/{workspace_id}/audit"}),
    # A bot's config is checked against the OpenClaw config schema of its version (shared/clawster/domain/
    # openclaw_schemas/, ~1 MB each, with JavaScript regexes), which the OpenAPI document does not carry
    # (tests/unit/test_openclaw_config_schema.py, tests/e2e/test_config_schema_refusals.py).
    ("bot create", {"include-name": "POST /workspaces/{workspace_id}/fleets/{fleet_id}/bots"}),
    ("bot update", {"include-name": "PATCH /workspaces/{workspace_id}/bots/{bot_id}"}),
    ("rollback", {"include-name": "POST /workspaces/{workspace_id}/bots/{bot_id}/rollback"}),
    # the channel must be one the bot's config has, with an allowFrom list in its version's schema
    # (tests/unit/test_pairing.py, tests/workflows/test_drift.py)
    ("pairing", {"include-name": "POST /workspaces/{workspace_id}/bots/{bot_id}/pairing/approve"}),
    # a rule's settings per its type, evaluate's pack_ids against the workspace (tests/e2e/test_policy_packs.py;
    # a schema per rule type would state them: docs/decisions.md)
    ("policy packs", {"include-path-regex": "/policy-packs"}),
    # a layer against every bot it reaches (their versions' schemas), its fleets against the workspace, a
    # window's start against its end, a preview's `change` against its kind's body (tests/e2e/test_config_layers.py)
    ("config layers", {"include-path-regex": "/(templates|profiles|overlays|config-preview|refresh|effective-config)"}),
    # a value must have the shape of its kind's credential, a rotation's differ from the current one
    # (tests/unit/test_connector_checks.py, tests/e2e/test_connectors.py)
    ("connectors", {"include-path-regex": "/connectors"}),
    # rules between a rollout's fields (bot ids or a selector, each change kind's own fields, canaries among the
    # targets, approval waves within the plan: clawster.domain.rollouts.parse) and a target without a gateway
    # (tests/unit/test_rollout_planning.py, tests/workflows/test_rollouts.py)
    ("rollout create", {"include-name": "POST /workspaces/{workspace_id}/rollouts"}),
]
CONFIG_CHECKS += "".join(
    f"\n# {name}\n[[operations]]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in selector.items())
    + f"checks.positive_data_acceptance.expected-statuses = {json.dumps(sorted(POSITIVE + ['422']))}\n"
    for name, selector in ALSO_422)
FUZZ_PHASES = "examples,coverage,fuzzing"
OWNER_EXAMPLES = 200  # per operation (issue 8): the highest role; the lower roles run fewer
# Operations where one request costs the local stack 0.4-1.9 s, against 0.05-0.15 s for the others (measured
# 2026-11-26 on 2 cores, per operation, by an after_call hook): a layer create or preview resolves and
# schema-checks every bot it reaches (and the fuzzer keeps adding bots), a bot create checks its config
# against the 1 MB OpenClaw schema, the audit and policy-pack listings read a growing partition. At 200
# examples these few took half of the OWNER run; they run fewer fuzzing examples, with the whole coverage
# phase still, and their bodies are tested by hand with hostile input (test_hostile_input.py,
# test_config_layers.py, test_config_schema_refusals.py, test_audit.py, test_policy_packs.py).
# docs/decisions.md (2026-11-26, "Test time").
EXPENSIVE_EXAMPLES = 25
EXPENSIVE_OPERATIONS = [
    ("POST", "/workspaces/{workspace_id}/templates"),
    ("POST", "/workspaces/{workspace_id}/profiles"),
    ("POST", "/workspaces/{workspace_id}/overlays"),
    ("POST", "/workspaces/{workspace_id}/config-preview"),
    ("POST", "/workspaces/{workspace_id}/fleets/{fleet_id}/bots"),
    ("GET", "/workspaces/{workspace_id}/audit"),
    ("GET", "/workspaces/{workspace_id}/policy-packs"),
]


def _fewer_examples(examples: int) -> str:
    """Config blocks capping the expensive operations at EXPENSIVE_EXAMPLES (never raising a smaller run)."""
    if examples <= EXPENSIVE_EXAMPLES:
        return ""
    return "".join(f'\n[[operations]]\ninclude-name = "{method} {path}"\n'
                   f"generation.max-examples = {EXPENSIVE_EXAMPLES}\n" for method, path in EXPENSIVE_OPERATIONS)


# A key reused with another body is a 422 by design (the IETF Idempotency-Key draft), and a key reused
# with the same body replays the first answer, even when the resource it created has been deleted since
# (as Stripe does). The generator reuses short keys ("0") across calls, and hypothesis replays whole
# stateful scenarios, so a replayed create answered 201 with the id of a workspace that scenario had
# deleted, and the next link found nothing (ST302). Each call is a new logical request here, so a valid
# key gets a unique suffix. Keys that are not valid are left as generated (negative data).
# Reuse and replay are tested in test_idempotency.py.
# A bot created with a target ("local", or a cloud target on its stand-in) provisions a real openclaw gateway
# (~1.5 GB, 10-40 s of CPU), and so does a provision of a bot whose fleet names one: hundreds of generated
# requests would start hundreds. The hook sends such a body with "target": null (as valid, so a positive case
# stays positive and a negative one stays negative; a positive case's openclaw_version, which needs a target, goes
# too); the workflows are tested for real in tests/workflows. A positive case's target_settings become {}: which
# settings are valid depends on the target (each one's schema is in GET /targets; tests/e2e/test_targets.py).
HOOKS = """
import re, uuid
import schemathesis

VALID = re.compile(r"^[!-~]{1,255}$")


@schemathesis.hook
def before_call(context, case, kwargs):
    positive = case.meta is not None and case.meta.generation.mode.name == "POSITIVE"
    if isinstance(case.body, dict) and case.body.get("target") in ("local", "ecs", "cloudrun", "aci"):
        case.body["target"] = None
        if positive:
            case.body.pop("openclaw_version", None)  # needs a target: without one, a positive case stays positive
    if isinstance(case.body, dict) and positive and case.body.get("target_settings"):
        case.body["target_settings"] = {}  # each target's settings have a schema of their own (GET /targets)
    for name, value in list((case.headers or {}).items()):
        if name.lower() == "idempotency-key" and isinstance(value, str) and VALID.match(value):
            case.headers[name] = value[:222] + "-" + uuid.uuid4().hex  # 255 at most
"""


def run_schemathesis(stack, team, role: str, tmp_path: Path, *, examples: int, phases: str = FUZZ_PHASES,
                     pin: bool = True, only: tuple[str, ...] = (), timeout: int = 1800) -> tuple[str, float]:
    """Run the schemathesis CLI as `role`'s member of `team`; fail the test on any finding.
    Returns the output and the seconds it took."""
    config = tmp_path / f"schemathesis-{role}-{phases.replace(',', '-')}.toml"
    pinned = (
        "[parameters]\n"
        f'"path.workspace_id" = "{team.workspace_id}"\n'
        f'"path.fleet_id" = "{team.fleet_id}"\n'
        f'"path.bot_id" = "{team.bot_id}"\n'
        f'"path.revision_id" = "{team.revision_id}"\n'
    ) if pin else ""
    token = stack.issuer.issue(team.users[role])
    # The token through the security scheme, not as a plain header: then ignored_auth and
    # missing_required_header can take it away.
    config.write_text(pinned + CONFIG_CHECKS + _fewer_examples(examples)
                      + f'\n[auth.openapi.bearerAuth]\nbearer = "{token}"\n')
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config), "--no-color",
        "run", f"{stack.api_url}/openapi.json", "--url", stack.api_url,
        "--checks", CHECKS, "--mode", "all",
        "--max-examples", str(examples), "--seed", SEED, "--workers", "1", "--request-timeout", "20",
        "--phases", phases, "--suppress-health-check", "all", "--generation-database", "none",
        *only,  # e.g. ("--include-path-regex", "/bots"): a share of the operations
    ]
    (tmp_path / "clawster_schemathesis_hooks.py").write_text(HOOKS)
    env = os.environ | {"SCHEMATHESIS_HOOKS": "clawster_schemathesis_hooks", "PYTHONPATH": str(tmp_path)}
    started = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=tmp_path, env=env)
    seconds = time.monotonic() - started
    report = f"[{role}, {phases}, {examples} examples, {seconds:.0f} s]\n" + _failures(run.stdout) \
        + run.stdout[-4000:] + run.stderr[-2000:]
    (tmp_path / "schemathesis-output.txt").write_text(run.stdout)
    assert run.returncode == 0, report
    # A lower role's 403s give schemathesis's "only 401/403" warning: expected, not a finding. Every
    # generated case must still have passed.
    assert "No issues found" in run.stdout or re.search(r"(\d+) generated, \1 passed", run.stdout), report
    return run.stdout, seconds


def _failures(output: str) -> str:
    """The lines that say what failed, shortened (generated bodies can be kilobytes long)."""
    keep = ("____", "ST1", "Received", "Documented", "curl -X", "Expected", "- ")
    return "\n".join(line.strip()[:240] for line in output.splitlines() if any(k in line for k in keep))[:6000] + "\n"


# The fleet, bot (lifecycle, revisions), overlay and rollout operations: test_schemathesis_bots.py runs
# them, this file the rest. Per-operation timings put the halves at about the same time (measured
# 2026-11-26: 1076 s and 1110 s of a busy core), so `--dist loadfile` gives one to each worker.
SECOND_HALF = "/(fleets|bots|overlays|rollouts)"


@pytest.mark.slow
def test_owner_every_check_workspaces_members_layers_connectors_audit_meta(stack, team, tmp_path):
    team.with_bot()
    run_schemathesis(stack, team, "OWNER", tmp_path, examples=OWNER_EXAMPLES,
                     only=("--exclude-path-regex", SECOND_HALF))
