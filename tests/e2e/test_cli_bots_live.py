"""`clawster bot ...` on real local gateways, as a user runs it against the dev stack: create follows the
provision live (the stream API) to RUNNING, the lifecycle commands wait for their workflow, `status`
shows the steps, `logs` the gateway's own lines, and a workflow that ends in ERROR is exit 9.

The CLI runs as a subprocess without a terminal, so its progress is plain lines on stderr and stdout holds
only the result. Waits are the CLI's own (it ends when the workflow does), with generous ceilings."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.cli_runner import clawster, fails, ok

pytestmark = pytest.mark.slow

CEILING_S = 900  # a gateway starts in 7-14 s alone; on 2 busy cores with others starting, minutes
PROVISION_STEPS = ["begin", "create", "ready", "verify", "finish"]
WAITING = {"create", "restart", "pause", "resume", "stop", "start", "delete"}  # commands that follow a workflow


@pytest.fixture
def cli(stack, tmp_path, team):
    """cli(*args) runs the CLI against the test stack as the team's OWNER, in the team's workspace. The
    stack is the one its state folder names: the CLI treats it as the dev stack (default target local)."""
    token = stack.issuer.issue(team.users["OWNER"])

    def run(*args: str, check: bool = True):
        env = {"CLAWSTER_API_URL": stack.api_url, "CLAWSTER_STATE_DIR": str(stack.state_dir),
               "CLAWSTER_TOKEN": token, "CLAWSTER_WORKSPACE": team.workspace_id}
        waits = "--no-wait" not in args and bool(WAITING & set(args))
        extra = ("--timeout", str(CEILING_S)) if waits else ()
        result = clawster(*args, *extra, home=tmp_path / "home", env=env, timeout=CEILING_S + 60 if waits else 120)
        return ok(result) if check else result

    return run


def steps_in(stderr: str) -> list[tuple[str, str]]:
    """(step, status) of each progress line `  12.3s  step <name> <STATUS> ...`, in order."""
    found = []
    for line in stderr.splitlines():
        words = line.split()
        if len(words) >= 4 and words[1] == "step":
            found.append((words[2], words[3]))
    return found


def statuses_in(stderr: str) -> list[str]:
    return [line.split()[2] for line in stderr.splitlines() if len(line.split()) == 3 and line.split()[1] == "bot"]


def first_seen_order(steps: list[tuple[str, str]]) -> list[str]:
    return list(dict.fromkeys(name for name, _ in steps))


def wait_until_gone(team, bot_path: str) -> None:
    deadline = time.monotonic() + CEILING_S
    while team.owner.get(bot_path).status != 404:
        assert time.monotonic() < deadline, team.owner.get(bot_path).body
        time.sleep(0.5)  # a poll interval; the ceiling bounds the wait


def test_a_bot_created_from_the_cli_runs_live_and_every_lifecycle_command_waits_for_its_workflow(cli, stack, team):
    fleet = team.owner.post(f"{team.ws}/fleets", {"name": "live"}).ok(201).body["id"]

    # --no-wait: back at once, while the provision has only begun (the bot is CREATING).
    quick = json.loads(cli("-o", "json", "bot", "create", "quick", "--fleet", fleet, "--template", "minimal",
                           "--no-wait").stdout)
    assert quick["status"] == "CREATING" and quick["target"] == "local" and quick["intent"]["action"] == "provision"

    # The default: the dev stack's target (local), followed live from the stream until RUNNING.
    run = cli("-o", "json", "bot", "create", "live", "--fleet", fleet, "--template", "minimal")
    bot = json.loads(run.stdout)
    assert bot["status"] == "RUNNING" and bot["target"] == "local" and bot["intent"] is None, run.stderr
    assert "polling instead" not in run.stderr, run.stderr  # the progress came from the stream API
    steps = steps_in(run.stderr)
    assert first_seen_order(steps) == PROVISION_STEPS, run.stderr
    assert all((name, "SUCCEEDED") in steps for name in PROVISION_STEPS), run.stderr
    assert statuses_in(run.stderr)[-1] == "RUNNING", run.stderr
    lines = run.stderr.splitlines()  # live: the steps before RUNNING were shown as they happened, not after it
    assert next(i for i, line in enumerate(lines) if line.split()[1:4] == ["step", "verify", "SUCCEEDED"]) \
        < next(i for i, line in enumerate(lines) if line.split()[1:] == ["bot", "RUNNING"]), run.stderr
    bot_path = f"{team.ws}/bots/{bot['id']}"

    shown = cli("bot", "status", bot["id"]).stdout
    assert "RUNNING" in shown and "provision" in shown
    assert [line.split()[0] for line in shown.splitlines()[-len(PROVISION_STEPS):]] == PROVISION_STEPS, shown
    as_json = json.loads(cli("-o", "json", "bot", "status", bot["id"]).stdout)
    assert [s["step"] for s in as_json["provisioning"]["steps"]] == PROVISION_STEPS
    assert as_json["bot"]["id"] == bot["id"] and not as_json["provisioning"]["running"]

    lines = cli("bot", "logs", bot["id"], "--lines", "20").stdout.splitlines()
    assert 0 < len(lines) <= 20 and all(isinstance(json.loads(line), dict) for line in lines), lines
    page = json.loads(cli("-o", "json", "bot", "logs", bot["id"], "--lines", "5").stdout)
    assert len(page["lines"]) <= 5 and page["cursor"] > 0

    restarted = cli("-o", "json", "bot", "restart", bot["id"])
    assert json.loads(restarted.stdout)["status"] == "RUNNING"
    assert json.loads(restarted.stdout)["last_workflow"]["action"] == "restart"
    assert steps_in(restarted.stderr) and statuses_in(restarted.stderr)[-1] == "RUNNING", restarted.stderr

    stopped = json.loads(cli("-o", "json", "bot", "stop", bot["id"]).stdout)
    assert stopped["status"] == "STOPPED" and stopped["intent"] is None
    assert cli("bot", "logs", bot["id"], "--lines", "3").stdout.strip()  # a stopped gateway keeps its log
    started = json.loads(cli("-o", "json", "bot", "start", bot["id"]).stdout)
    assert started["status"] == "RUNNING" and started["last_workflow"]["action"] == "start"

    deleted = cli("bot", "delete", bot["id"])
    assert deleted.stdout.strip() == f"deleted bot {bot['id']}", deleted.stderr
    assert team.owner.get(bot_path).status == 404
    fails(cli("bot", "logs", bot["id"], check=False), 4, "404")

    # The quick one: deleted without waiting (the 202's intent), then gone.
    while team.owner.get(f"{team.ws}/bots/{quick['id']}").ok(200).body["intent"] is not None:
        time.sleep(0.5)  # its provision must end before a delete is accepted; the CLI's ceiling bounds it
    accepted = json.loads(cli("-o", "json", "bot", "delete", quick["id"], "--no-wait").stdout)
    assert accepted["intent"]["action"] == "delete"
    wait_until_gone(team, f"{team.ws}/bots/{quick['id']}")


def test_a_provision_that_ends_in_error_is_exit_9_with_the_reason(cli, stack, team, tmp_path):
    fleet = team.owner.post(f"{team.ws}/fleets", {"name": "failing"}).ok(201).body["id"]
    # No gateway is healthy within 1 s of its launch: the provision's deadline passes (a config openclaw
    # refuses would do too, but the API now refuses every config the gateway's schema refuses).
    run = fails(cli("-o", "json", "bot", "create", "late", "--fleet", fleet, "--template", "minimal",
                    "--ready-timeout", "1", check=False), 9, "is ERROR:")
    bot = json.loads(run.stdout)
    assert bot["status"] == "ERROR" and bot["status_reason"] in run.stderr
    steps = steps_in(run.stderr)
    assert ("create", "SUCCEEDED") in steps and "failed" in first_seen_order(steps), run.stderr  # the failure path ran
    assert cli("bot", "delete", bot["id"]).stdout.strip() == f"deleted bot {bot['id']}"


def test_a_bot_without_a_gateway_has_no_log_and_its_status_says_so(cli, team):
    team.with_bot()  # created through the API without a target: PENDING
    fails(cli("bot", "logs", team.bot_id, check=False), 5, "PENDING")
    shown = cli("bot", "status", team.bot_id).stdout
    assert "PENDING" in shown and "none yet" in shown
