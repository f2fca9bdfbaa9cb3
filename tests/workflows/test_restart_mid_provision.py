"""`clawster dev` killed (SIGKILL) in the middle of provisioning a real gateway, then started again on the
same state folder: the unfinished workflow resumes under its own name, finished steps are not run
again, and the bot ends RUNNING or ERROR, never stuck, with never more than one gateway."""

from __future__ import annotations

import json
import signal
import time

import pytest

from layers.providers.local.instance import InstanceFiles
from tests.contract.test_local_provider_processes import gateway_launches
from tests.helpers import Client
from tests.local.test_snapshot import _start, _stop, _token

pytestmark = pytest.mark.slow

CEILING_S = 900  # gateway starts on 2 busy cores


def _poll(what: str, probe, ceiling_s: float = CEILING_S):
    deadline = time.monotonic() + ceiling_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)  # polling interval only: the ceiling bounds the wait
    pytest.fail(f"gave up waiting for {what}")


def test_a_provision_interrupted_by_sigkill_resumes_and_ends_with_one_gateway(tmp_path):
    state = tmp_path / "dev"
    first = _start(state)
    stack = json.loads((state / "stack.json").read_text())
    admin, workspace = Client(stack["api_url"], _token(state)), stack["demo_workspace_id"]
    fleet = admin.post(f"/workspaces/{workspace}/fleets", {"name": "resumed"}).ok(201).body["id"]
    bot = admin.post(f"/workspaces/{workspace}/fleets/{fleet}/bots",
                     {"name": "interrupted", "template_id": "minimal", "target": "local"}).ok(201).body
    bot_path = f"/workspaces/{workspace}/bots/{bot['id']}"

    def created_step() -> dict | None:
        steps = admin.get(f"{bot_path}/provisioning").ok(200).body["steps"]
        return next((s for s in steps if s["step"] == "create" and s["status"] == "SUCCEEDED"), None)

    _poll("the gateway to be launched", created_step)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=60)
    files = InstanceFiles(state / "gateways", bot["id"])

    second = _start(state)
    try:
        again = json.loads((state / "stack.json").read_text())
        admin = Client(again["api_url"], _token(state))
        assert len(gateway_launches(files.state_dir)) <= 1

        def settled() -> dict | None:
            body = admin.get(bot_path).ok(200).body
            return body if body["status"] in ("RUNNING", "ERROR") and body["intent"] is None else None

        ended = _poll("the resumed workflow to end", settled)
        assert ended["status"] == "RUNNING", ended["status_reason"]
        steps = admin.get(f"{bot_path}/provisioning").ok(200).body
        assert steps["workflow"]["id"] == bot["intent"]["id"]  # the same request, resumed
        create = next(s for s in steps["steps"] if s["step"] == "create")
        assert create["attempts"] == 1  # recorded as done before the kill: not run again
        assert len(gateway_launches(files.state_dir)) == 1

        etag = admin.get(bot_path).ok(200).etag
        admin.delete(bot_path, etag=etag).ok(202)
        _poll("the bot to be deleted", lambda: admin.get(bot_path).status == 404)
        assert not gateway_launches(files.state_dir)
    finally:
        _stop(second, signal.SIGINT)
