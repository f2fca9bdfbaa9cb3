"""Upgrades on real gateways: the upgrade workflow backs up the gateway's state, runs the new openclaw
version, waits for its health, and restores the backup (state and version) when the version fails.

The versions are real npm packages, installed by scripts/install_openclaw_version.sh for this stack's
gateways only: openclaw 2026.9.5, and 0.0.1, the "empty placeholder package" npm gives on node 20
(reference G1). Two real ways a version fails its health check, seen on these gateways:
- 2026.9.6 → 2026.9.5: the older build refuses the state the newer one wrote ("database schema 18; this
  build supports 17", exit 78): a refusal, so the rollback starts at once;
- → 0.0.1: there is no gateway to start (exit 1, again and again): START_FAILED, then rolled back, by whichever
  comes first: the ASL's retries of FAILED looks running out, or the supervisor's third relaunch during the wait
  (a crash loop, tests/unit/test_crash_loop.py). Without the latter, a look at each relaunch's STARTING reset the
  retries, and on a busy machine the wait ran to its 900 s deadline.
The gateway's own state is checked through the gateway: a cron job added before the upgrade is still
listed by it afterwards.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from layers.providers.local import LocalProvider
from tests.workflows.test_failures import delete, provision, settle, steps_of

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DEFAULT, OLDER, PLACEHOLDER = "2026.9.6", "2026.9.5", "0.0.1"
JOB = {"name": "kept-through-upgrades", "schedule": {"kind": "every", "everyMs": 86_400_000},
       "sessionTarget": "main", "wakeMode": "next-heartbeat", "payload": {"kind": "systemEvent", "text": "still here"}}


@pytest.fixture(scope="module")
def versions(stack):
    """Both versions installed for this stack's gateways only (a developer's `make dev` never offers them)."""
    folder = stack.state_dir / "gateways" / ".versions"
    for version in (OLDER, PLACEHOLDER):
        subprocess.run([str(ROOT / "scripts/install_openclaw_version.sh"), version, str(folder)], check=True,
                       capture_output=True, timeout=900)
    return folder


def gateway(stack, bot_id: str):
    return LocalProvider(stack.state_dir / "gateways", supervise=False).client(bot_id)


def cron_jobs(stack, bot_id: str) -> set[str]:
    with gateway(stack, bot_id) as client:
        return {job["name"] for job in client.cron_list()["jobs"]}


def test_upgrades_to_versions_that_fail_their_health_check_are_rolled_back_with_the_state(stack, team, versions):
    team.with_bot()
    created, bot_path = provision(team, "rolled-back")
    assert settle(team, bot_path)["status"] == "RUNNING"
    with gateway(stack, created["id"]) as client:
        client.cron_add(JOB)
    before = team.owner.get(bot_path).ok(200).body

    for version, why in ((OLDER, "refused its state"), (PLACEHOLDER, "START_FAILED")):
        accepted = team.owner.post(f"{bot_path}/upgrade", {"openclaw_version": version}).ok(202).body
        assert accepted["intent"]["action"] == "upgrade" and accepted["intent"]["openclaw_version"] == version
        assert accepted["intent"]["deadline_at"]
        ended = settle(team, bot_path)

        # Back on the old version, RUNNING, saying why; the revision it runs is the one it ran.
        assert ended["status"] == "RUNNING", ended["status_reason"]
        assert ended["openclaw_version"] == DEFAULT
        assert f"upgrade to {version} failed and was rolled back" in ended["status_reason"], ended["status_reason"]
        assert why in ended["status_reason"], ended["status_reason"]
        assert ended["applied_revision_id"] == before["applied_revision_id"]
        steps = steps_of(team, bot_path)
        assert steps["backup"]["status"] == "SUCCEEDED" and steps["upgrade"]["status"] == "SUCCEEDED"
        assert steps["ready"]["status"] == "FAILED"  # the new version's wait, ended with the workflow's reason
        assert steps["rollback"]["status"] == "SUCCEEDED" and steps["rollback_ready"]["status"] == "SUCCEEDED"
        assert "rolled_back" in steps and not [s for s in steps.values() if s["status"] == "RUNNING"]
        # The gateway itself: the old version, serving the state it had.
        with gateway(stack, created["id"]) as client:
            assert client.status()["runtimeVersion"] == DEFAULT
        assert JOB["name"] in cron_jobs(stack, created["id"])
    delete(team, bot_path)


def test_an_upgrade_to_a_working_version_runs_it_on_the_same_state(stack, team, versions):
    team.with_bot()
    created, bot_path = provision(team, "upgraded", openclaw_version=OLDER)
    assert created["intent"]["openclaw_version"] == OLDER
    assert settle(team, bot_path)["openclaw_version"] == OLDER
    with gateway(stack, created["id"]) as client:
        assert client.status()["runtimeVersion"] == OLDER
        client.cron_add(JOB)

    team.owner.post(f"{bot_path}/upgrade", {"openclaw_version": DEFAULT}).ok(202)
    ended = settle(team, bot_path)
    assert ended["status"] == "RUNNING" and ended["status_reason"] is None, ended["status_reason"]
    assert ended["openclaw_version"] == DEFAULT and ended["last_workflow"]["action"] == "upgrade"
    with gateway(stack, created["id"]) as client:
        assert client.status()["runtimeVersion"] == DEFAULT
    assert JOB["name"] in cron_jobs(stack, created["id"])
    assert "rollback" not in steps_of(team, bot_path)
    delete(team, bot_path)


def test_an_upgrade_the_bot_cannot_take_is_refused_naming_the_field(stack, team, versions):
    team.with_bot()  # bot-a: no target, so no gateway
    refused = team.owner.post(f"{team.ws}/bots/{team.bot_id}/upgrade", {"openclaw_version": OLDER}).ok(409)
    assert "no gateway" in refused.body["message"]

    # Its config has a key only 2026.9.6 knows: 2026.9.5 would refuse it (exit 78) after the backup.
    created, bot_path = provision(team, "refusing", config={"session": {"notifyOnCreate": True}})
    assert settle(team, bot_path)["status"] == "RUNNING"
    body = team.owner.post(f"{bot_path}/upgrade", {"openclaw_version": OLDER}).ok(422).body
    assert body["details"]["errors"][0]["field"] == "config.session", body
    assert 'Unrecognized key: "notifyOnCreate"' in body["details"]["errors"][0]["reason"], body
    for version, reason in (("1999.1.1", "does not offer openclaw 1999.1.1"), (DEFAULT, "runs openclaw")):
        body = team.owner.post(f"{bot_path}/upgrade", {"openclaw_version": version}).ok(422).body
        assert body["details"]["errors"][0]["field"] == "openclaw_version" and reason in body["message"], body
    create = f"{team.ws}/fleets/{team.fleet_id}/bots"
    body = team.owner.post(create, {"name": "x", "template_id": "minimal", "target": "local",
                                    "openclaw_version": "1999.1.1"}).ok(422).body
    assert body["details"]["errors"][0]["field"] == "openclaw_version", body
    # Without a target nothing is provisioned: the version is only recorded with the bot.
    kept = team.owner.post(create, {"name": "later", "template_id": "minimal", "openclaw_version": OLDER}).ok(201).body
    assert kept["status"] == "PENDING" and kept["openclaw_version"] == OLDER and kept["intent"] is None
    for bad in ({"openclaw_version": "latest"}, {}, {"openclaw_version": DEFAULT, "extra": 1}):
        body = team.owner.post(f"{bot_path}/upgrade", bad).ok(422).body
        assert body["code"] == "VALIDATION_FAILED", body
    viewer = team.clients["VIEWER"].post(f"{bot_path}/upgrade", {"openclaw_version": OLDER})
    assert viewer.status == 403
    assert team.owner.get(bot_path).ok(200).body["intent"] is None  # nothing was started by any of these
    names = {b["name"] for b in team.owner.get(create).ok(200).body["items"]}
    assert "x" not in names  # nor created
    delete(team, bot_path)
