"""`clawster dev` killed (SIGKILL) while a rollout bakes its canary on real gateways, then started again on the
same state folder: the rollout resumes under its own name from its recorded progress, the canary is not
changed a second time, and the rollout goes on to the other bot and succeeds."""

from __future__ import annotations

import json
import signal

import pytest

from layers.providers.local import LocalProvider
from tests.helpers import Client
from tests.local.test_snapshot import _start, _stop, _token
from tests.workflows.test_restart_mid_provision import _poll
from tests.workflows.test_rollouts import bots_by_id

pytestmark = pytest.mark.slow


def test_a_rollout_interrupted_by_a_restart_resumes_without_repeating_its_canary(tmp_path):
    state = tmp_path / "dev"
    first = _start(state)
    try:
        stack = json.loads((state / "stack.json").read_text())
        admin, ws = Client(stack["api_url"], _token(state)), f"/workspaces/{stack['demo_workspace_id']}"
        fleet = admin.post(f"{ws}/fleets", {"name": "rolled"}).ok(201).body["id"]
        bots = [admin.post(f"{ws}/fleets/{fleet}/bots", {"name": n, "template_id": "minimal", "target": "local"})
                .ok(201).body["id"] for n in ("canary", "other")]

        def running() -> bool:
            return all(admin.get(f"{ws}/bots/{b}").ok(200).body["status"] == "RUNNING" for b in bots)

        _poll("both bots to run", running)
        body = {"targets": {"bot_ids": bots}, "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": "#5a5a5a"}}},
                "strategy": {"kind": "CANARY", "canary_bot_ids": [bots[0]]}, "bake_s": 3600}
        rollout = admin.post(f"{ws}/rollouts", body).ok(201).body
        path = f"{ws}/rollouts/{rollout['id']}"
        baking = _poll("the canary to bake", lambda: (lambda r: r if r["waves"][0]["status"] == "BAKING" else None)(
            admin.get(path).ok(200).body))
        canary_before = bots_by_id(baking)[bots[0]]
        revisions_before = len(admin.get(f"{ws}/bots/{bots[0]}/revisions").ok(200).body["items"])
    except BaseException:
        _stop(first, signal.SIGINT)
        LocalProvider(state / "gateways", supervise=False).stop_all()
        raise
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=60)

    second = _start(state)
    try:
        again = json.loads((state / "stack.json").read_text())
        admin = Client(again["api_url"], _token(state))
        admin.post(f"{path}/promote").ok(200)  # the bake resumed where it was: end it
        # Wave 2 bakes an hour too: promote it once it bakes, then wait for the end.
        _poll("the other bot's wave to bake", lambda: admin.get(path).ok(200).body["waves"][1].get("status") == "BAKING")
        admin.post(f"{path}/promote").ok(200)
        ended = _poll("the rollout to end", lambda: (lambda r: r if r["status"] in ("SUCCEEDED", "ROLLED_BACK", "FAILED")
                                                     else None)(admin.get(path).ok(200).body))
        assert ended["status"] == "SUCCEEDED", ended
        canary_after = bots_by_id(ended)[bots[0]]
        assert canary_after["health"] == "PASS"  # read once its bake ended, in the new run
        assert {**canary_after, "health": None} == canary_before  # not started again: same revision, same request
        assert len(admin.get(f"{ws}/bots/{bots[0]}/revisions").ok(200).body["items"]) == revisions_before
        for bot_id in bots:
            with LocalProvider(state / "gateways", supervise=False).client(bot_id) as client:
                assert client.config_get().config["ui"]["seamColor"] == "#5a5a5a"
        for bot_id in bots:
            etag = admin.get(f"{ws}/bots/{bot_id}").ok(200).etag
            admin.delete(f"{ws}/bots/{bot_id}", etag=etag).ok(202)
        for bot_id in bots:
            _poll("the bot to be deleted", lambda b=bot_id: admin.get(f"{ws}/bots/{b}").status == 404)
    finally:
        _stop(second, signal.SIGINT)
        LocalProvider(state / "gateways", supervise=False).stop_all()  # `clawster dev` keeps them: none left over
