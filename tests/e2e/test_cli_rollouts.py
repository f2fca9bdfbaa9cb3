"""`clawster rollout` against the running local stack: create (a canary rollout), get, list, pause, resume,
abort, and `watch` / `create --watch` following it live from the stream to its end (exit 9: it was rolled back);
the live table's renderer, on a hand-written rollout view."""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import threading
import time

from clawster.cli.rollout_view import Screen, apply, follow, render
from tests.e2e.cli_runner import CLAWSTER, clawster, fails, ok
from tests.workflows.test_rollouts import stopped_bot, wait_for


def test_cli_creates_controls_and_watches_a_rollout(stack, team, tmp_path):
    team.fleet_id = team.owner.post(f"{team.ws}/fleets", {"name": "cli-fleet"}).ok(201).body["id"]
    a, b = stopped_bot(team, "cli-a"), stopped_bot(team, "cli-b")
    env = {"CLAWSTER_API_URL": stack.api_url, "CLAWSTER_STATE_DIR": str(stack.state_dir),
           "CLAWSTER_TOKEN": stack.issuer.issue(team.users["OPERATOR"]), "CLAWSTER_WORKSPACE": team.workspace_id}

    def cli(*args: str):
        return clawster(*args, home=tmp_path / "home", env=env)

    created = json.loads(ok(cli("-o", "json", "rollout", "create", "--bot", a, "--bot", b, "--strategy", "canary",
                                "--canary", a, "--patch", '{"ui": {"seamColor": "#777777"}}')).stdout)
    assert created["status"] == "RUNNING" and created["wave_count"] == 2
    fails(cli("rollout", "create", "--bot", a, "--refresh"), 5, "active rollout")  # one active rollout per bot
    fails(cli("rollout", "create", "--bot", a, "--refresh", "--strategy", "PERCENTAGE"), 6, "strategy.steps")
    wait_for(team, created["id"], lambda r: r["status"] == "PAUSED", "paused after the canary")
    table = ok(cli("rollout", "get", created["id"])).stdout
    assert "PAUSED" in table and a in table and b in table and "NO_DATA" in table  # waves: verdict and reason
    assert created["id"] in ok(cli("rollout", "list")).stdout
    ok(cli("rollout", "abort", created["id"]))
    watched = fails(cli("rollout", "watch", created["id"]), 9, "ROLLED_BACK")
    assert "ROLLED_BACK" in watched.stdout and a in watched.stdout


def test_cli_create_watch_follows_the_stream_as_plain_lines_to_the_end(stack, team, tmp_path):
    """Not a terminal: one plain line per stream message on stderr (waves with their gate readings and verdicts,
    bots, statuses), the rollout on stdout at its end, exit 0 when it succeeded."""
    team.fleet_id = team.owner.post(f"{team.ws}/fleets", {"name": "cli-watch"}).ok(201).body["id"]
    a, b = stopped_bot(team, "watch-a"), stopped_bot(team, "watch-b")
    env = {"CLAWSTER_API_URL": stack.api_url, "CLAWSTER_STATE_DIR": str(stack.state_dir),
           "CLAWSTER_TOKEN": stack.issuer.issue(team.users["OPERATOR"]), "CLAWSTER_WORKSPACE": team.workspace_id,
           "CLAWSTER_HOME": str(tmp_path / "home")}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CLAWSTER_")}
    args = [CLAWSTER, "rollout", "create", "--bot", a, "--bot", b, "--strategy", "canary", "--canary", a,
            "--patch", '{"ui": {"seamColor": "#787878"}}', "--watch"]
    watcher = subprocess.Popen(args, env={**clean, **env, "COLUMNS": "200"}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        # Each wave pauses on no data (stopped bots): resume it, twice, as a person would.
        for wave in (1, 2):
            rollout = _one_rollout(team)
            paused = wait_for(team, rollout, lambda r, n=wave: r["status"] == "PAUSED" and r["current_wave"] == n,
                              f"paused after wave {wave}")
            team.clients["OPERATOR"].post(f"{team.ws}/rollouts/{paused['id']}/resume").ok(200)
        stdout, stderr = watcher.communicate(timeout=120)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.communicate()
    assert watcher.returncode == 0, (stdout, stderr)
    assert "\x1b[" not in stderr  # no cursor movement off a terminal
    lines = stderr.splitlines()
    for expected in (f"bot {a} (wave 1): DONE - recorded; the bot is STOPPED", f"bot {b} (wave 2): DONE - recorded; "
                     "the bot is STOPPED", "rollout: PAUSED (no data or inconclusive: gateway_health NO_DATA)",
                     "wave 1: DONE PAUSE: no data or inconclusive: gateway_health NO_DATA [gateway_health=NO_DATA]",
                     "wave 2: RUNNING", "rollout: SUCCEEDED"):
        assert expected in lines, (expected, stderr)
    assert lines.index("wave 2: RUNNING") > lines.index(f"bot {a} (wave 1): DONE - recorded; the bot is STOPPED")
    assert "SUCCEEDED" in stdout and a in stdout and b in stdout


def _one_rollout(team) -> str:
    """The id of the workspace's only rollout, once it exists."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        items = team.clients["VIEWER"].get(f"{team.ws}/rollouts").ok(200).body["items"]
        if items:
            return items[0]["id"]
        time.sleep(0.2)  # polling interval only
    raise AssertionError("no rollout was created")


VIEW = {"id": "R1", "status": "ROLLING_BACK", "status_reason": "abort threshold reached: 1 of 2 bots failed",
        "current_wave": 1, "wave_count": 2, "bot_count": 3,
        "waves": [{"number": 1, "status": "FAILED", "verdict": "ROLLBACK", "reason": "abort threshold reached",
                   "readings": {"gateway_health": "PASS"},
                   "bots": [{"bot_id": "b1", "wave": 1, "state": "ROLLING_BACK", "health": "PASS", "detail": "ok"},
                            {"bot_id": "b2", "wave": 1, "state": "FAILED", "health": "FAIL",
                             "detail": "the gateway health gate failed after the bake"}]},
                  {"number": 2, "status": "PENDING",
                   "bots": [{"bot_id": "b3", "wave": 2, "state": "PENDING", "health": None, "detail": None}]}]}


def test_the_live_table_renders_waves_gates_and_bots():
    assert render(copy.deepcopy(VIEW)) == [
        "rollout R1  ROLLING_BACK  wave 1/2  3 bots",
        "  abort threshold reached: 1 of 2 bots failed",
        "",
        "WAVE  STATUS   DONE  FAILED  GATES                VERDICT   REASON",
        "1     FAILED   2/2   1       gateway_health=PASS  ROLLBACK  abort threshold reached",
        "2     PENDING  0/1   0",
        "",
        "BOT  WAVE  STATE         HEALTH  DETAIL",
        "b1   1     ROLLING_BACK  PASS    ok",
        "b2   1     FAILED        FAIL    the gateway health gate failed after the bake",
        "b3   2     PENDING",
    ]


def test_the_live_table_fits_the_terminal_keeping_the_bots_in_trouble():
    cut = render(copy.deepcopy(VIEW), width=30, height=10)
    assert cut == [
        "rollout R1  ROLLING_BACK  wave",
        "  abort threshold reached: 1 o",
        "",
        "WAVE  STATUS   DONE  FAILED  G",
        "1     FAILED   2/2   1       g",
        "2     PENDING  0/1   0",
        "",
        "BOT  WAVE  STATE   HEALTH  DET",
        "b2   1     FAILED  FAIL    the",
        "... 2 more bots: 1 ROLLING_BAC",
    ]
    assert render(copy.deepcopy(VIEW), height=10)[-1] == "... 2 more bots: 1 ROLLING_BACK, 1 PENDING"


def test_stream_messages_fold_into_the_view():
    view = copy.deepcopy(VIEW)
    assert not apply(view, {"type": "rollout.status", "data": {"rollout_id": "OTHER", "status": "FAILED"}})
    assert view == VIEW
    assert apply(view, {"type": "rollout.bot", "data": {"rollout_id": "R1", "bot_id": "b3", "wave": 2,
                                                        "state": "APPLYING", "detail": None}})
    assert apply(view, {"type": "rollout.wave", "data": {"rollout_id": "R1", "wave": 2, "status": "RUNNING"}})
    assert apply(view, {"type": "rollout.status", "data": {"rollout_id": "R1", "status": "ROLLED_BACK",
                                                           "reason": "abort threshold reached"}})
    assert view["waves"][1]["bots"] == [{"bot_id": "b3", "wave": 2, "state": "APPLYING", "health": None,
                                         "detail": None}]
    assert (view["waves"][1]["status"], view["current_wave"]) == ("RUNNING", 2)
    assert (view["status"], view["status_reason"]) == ("ROLLED_BACK", "abort threshold reached")


def test_the_screen_redraws_in_place():
    out = io.StringIO()
    screen = Screen(out)
    screen.draw(["a", "b", "c"])
    screen.draw(["d"])
    assert out.getvalue() == "\x1b[Ja\nb\nc\n" + "\x1b[3F\x1b[Jd\n"


class _Api:
    """The API as the live view reads it: each GET the next of these views (the last one again at the end)."""

    def __init__(self, *views: dict):
        self.views = [copy.deepcopy(v) for v in views]

    def get(self, path: str) -> dict:
        return copy.deepcopy(self.views.pop(0) if len(self.views) > 1 else self.views[0])


class _Stream:
    def __init__(self, *messages: dict):
        self.messages, self.closed = list(messages), threading.Event()

    def next(self, timeout_s: float) -> dict | None:
        return self.messages.pop(0) if self.messages else None

    def close(self) -> None:
        self.closed.set()


RUNNING = {"id": "R2", "status": "RUNNING", "status_reason": None, "current_wave": 1, "wave_count": 1, "bot_count": 1,
           "waves": [{"number": 1, "status": "RUNNING", "bots": [{"bot_id": "b1", "wave": 1, "state": "PENDING"}]}]}
SUCCEEDED = {**RUNNING, "status": "SUCCEEDED",
             "waves": [{"number": 1, "status": "DONE", "verdict": "CONTINUE", "reason": "every gate passed",
                        "readings": {"gateway_health": "PASS"},
                        "bots": [{"bot_id": "b1", "wave": 1, "state": "DONE", "health": "PASS", "detail": "ok"}]}]}
MESSAGES = ({"type": "rollout.bot", "data": {"rollout_id": "R2", "bot_id": "b1", "wave": 1, "state": "DONE",
                                             "detail": "ok"}},
            {"type": "rollout.status", "data": {"rollout_id": "R2", "status": "SUCCEEDED"}})


def test_the_live_view_redraws_in_place_on_a_terminal_and_ends_on_the_final_rollout(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("LINES", "30")
    out = io.StringIO()
    final = follow(_Api(RUNNING, SUCCEEDED), "/r", _Stream(*MESSAGES), ceiling_s=60, live=True, out=out)
    assert final["status"] == "SUCCEEDED"
    frames = out.getvalue().split("\x1b[J")
    assert frames[0] == "" and len(frames) >= 2
    assert frames[-1] == "".join(f"{line}\n" for line in render(SUCCEEDED, width=99, height=29))
    previous = frames[-2]
    assert previous.endswith(f"\x1b[{previous.count(chr(10))}F")  # back up over the whole last frame


def test_the_live_view_off_a_terminal_is_plain_lines():
    out = io.StringIO()
    follow(_Api(RUNNING, SUCCEEDED), "/r", _Stream(*MESSAGES), ceiling_s=60, live=False, out=out)
    assert out.getvalue().splitlines() == ["rollout: RUNNING", "bot b1 (wave 1): DONE - ok", "rollout: SUCCEEDED"]


def test_cli_gates_are_names_or_json_objects(stack, team, tmp_path):
    team.fleet_id = team.owner.post(f"{team.ws}/fleets", {"name": "cli-gates"}).ok(201).body["id"]
    a = stopped_bot(team, "cli-gates-a")
    env = {"CLAWSTER_API_URL": stack.api_url, "CLAWSTER_STATE_DIR": str(stack.state_dir),
           "CLAWSTER_TOKEN": stack.issuer.issue(team.users["OPERATOR"]), "CLAWSTER_WORKSPACE": team.workspace_id}

    def cli(*args: str):
        return clawster(*args, home=tmp_path / "home", env=env)

    fails(cli("rollout", "create", "--bot", a, "--refresh", "--gate", '{"gate": "slo", "target": 1}'), 6, "gates")
    fails(cli("rollout", "create", "--bot", a, "--refresh", "--gate", "{not json"), 2, "not a JSON object")
    created = json.loads(ok(cli("-o", "json", "rollout", "create", "--bot", a, "--refresh", "--gate", "gateway_health",
                                "--gate", '{"gate": "error_rate", "max": 0.1}')).stdout)
    assert created["spec"]["gates"] == ["gateway_health", {"gate": "error_rate", "max": 0.1, "min_samples": 20}]
    ok(cli("rollout", "abort", created["id"]))
    wait_for(team, created["id"], lambda r: r["status"] in ("ROLLED_BACK", "FAILED"), "ended after the abort")
