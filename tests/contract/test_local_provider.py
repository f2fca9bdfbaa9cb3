"""The local provider against real openclaw 2026.9.6 gateways (slow: each start takes 7-20 s).

One bot is shared by the module (tests leave it running); the config-error and port cases use a
second, short-lived one: at most two gateways at once in this process. Nothing waits a fixed time:
each wait is on an observed state, with generous ceilings (a loaded CI machine is slow). The
cross-process cases are in test_local_provider_processes.py.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from clawster.errors import PermanentError
from clawster.gateway import ConfigConflict
from clawster.secrets import resolve
from layers.providers.base import Failure, GatewaySpec, GatewayState, GatewayUpdate, Provider
from layers.providers.errors import ConfigRejected, GatewayExists, GatewayNotFound, UnsupportedChange
from layers.providers.local import LocalProvider
from tests.contract.test_local_provider_processes import gateway_launches

pytestmark = pytest.mark.slow
BOT = "bot-1"
SPEC = GatewaySpec(BOT, config={"ui": {"seamColor": "#101010"}})


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("local-provider")


@pytest.fixture(scope="module")
def created(root):
    """The module's provider and what its create() returned (before anything waited)."""
    provider = LocalProvider(root, base_port=32000, supervise_interval_s=0.5)
    status = provider.create(SPEC)
    yield provider, status
    for bot_id in provider.bot_ids():
        provider.delete(bot_id)
    provider.close()


@pytest.fixture(scope="module")
def provider(created):
    provider, _ = created
    provider.wait_ready(BOT)
    return provider


def wait_for(predicate, timeout_s: float = 120.0):
    """Poll until `predicate()`; the ceilings are generous because a loaded CI machine is slow, and a
    passing wait returns as soon as the state is observed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_create_returns_starting_at_once_and_describe_then_reaches_running(created):
    provider, status = created
    assert status.state is GatewayState.STARTING, "create() must not wait for the gateway to start"
    assert status.endpoint is not None and status.failure is None
    assert wait_for(lambda: provider.describe(BOT).state is GatewayState.RUNNING, 300)


def test_create_retried_with_the_same_spec_returns_the_same_gateway(provider, root):
    before = provider._files(BOT).load()
    again = provider.create(SPEC)
    after = provider._files(BOT).load()
    assert again.state is GatewayState.RUNNING and again.endpoint == provider.endpoint(BOT)
    assert (after.pid, after.pid_started, after.port) == (before.pid, before.pid_started, before.port)
    assert gateway_launches(root / BOT / "state") == {before.pid}, "one gateway launched for the bot"
    with pytest.raises(GatewayExists):  # a different spec for an existing bot is a conflict (permanent)
        provider.create(GatewaySpec(BOT, config={"ui": {"seamColor": "#999999"}}))


def test_start_on_a_running_gateway_changes_nothing(provider):
    before = provider._files(BOT).load()
    assert provider.start(BOT).state is GatewayState.RUNNING
    assert provider._files(BOT).load() == before


def test_the_provider_implements_the_interface(provider):
    assert isinstance(provider, Provider)
    capabilities = provider.capabilities()
    assert capabilities.openclaw_versions == ("2026.9.6",) and capabilities.persistent_storage
    assert [s.key for s in provider.provisioning_steps(GatewaySpec("x"))] == ["prepare", "launch", "ready"]


def test_a_created_bot_answers_health_config_get_and_patch_with_base_hash(provider, root):
    status = provider.describe(BOT)
    assert status.state is GatewayState.RUNNING
    with provider.client(BOT) as client:
        assert client.health()["ok"] is True
        snapshot = client.config_get()
        assert snapshot.config["ui"]["seamColor"] == "#101010"
        assert snapshot.config["gateway"]["bind"] == "loopback" and snapshot.config["gateway"]["mode"] == "local"
        write = client.config_patch({"ui": {"seamColor": "#202020"}}, base_hash=snapshot.hash)
        with pytest.raises(ConfigConflict):
            client.config_patch({"ui": {"seamColor": "#303030"}}, base_hash=snapshot.hash)
        assert client.config_get().hash == write.hash


def test_the_token_is_kept_only_in_its_0600_file(provider, root):
    endpoint = provider.endpoint(BOT)
    token = resolve(endpoint.token_ref)
    assert endpoint.token_ref.startswith("file:") and token not in endpoint.token_ref
    assert (os.stat(root / BOT / "token").st_mode & 0o777) == 0o600
    assert token not in (root / BOT / "instance.json").read_text()


def test_each_gateway_has_its_own_state_log_file_and_egress_switches(provider, root):
    config = json.loads((root / BOT / "openclaw.json").read_text())
    assert config["logging"]["file"] == str(root / BOT / "logs" / "gateway.log")
    assert config["update"]["checkOnStart"] is False and config["models"]["catalogRefresh"]["enabled"] is False
    assert (root / BOT / "state").is_dir() and (root / BOT / "logs" / "gateway.log").exists()
    chunk = provider.logs(BOT, limit=5)
    assert 0 < len(chunk.lines) <= 5
    with provider.client(BOT) as client:
        client.update_config({"ui": {"seamColor": "#404040"}})
    assert wait_for(lambda: provider.logs(BOT, cursor=chunk.cursor).lines, 120)


def test_the_gateway_keeps_running_and_is_readopted_across_a_control_plane_restart(provider, root):
    pid = provider._files(BOT).load().pid
    provider.close()  # the control plane goes away; the gateway must not
    again = LocalProvider(root, base_port=32000, supervise=False)
    assert again.adopted == [BOT]
    assert again.describe(BOT).state is GatewayState.RUNNING
    assert again._files(BOT).load().pid == pid
    with again.client(BOT) as client:
        assert client.health()["ok"] is True
    provider.supervise()  # the module's provider resumes for the tests that follow


def test_stop_keeps_the_state_and_start_brings_the_same_config_back(provider, root):
    with provider.client(BOT) as client:
        client.update_config({"ui": {"seamColor": "#505050"}})
    pid = provider._files(BOT).load().pid
    assert provider.stop(BOT).state is GatewayState.STOPPED
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert (root / BOT / "state").is_dir()
    stopped = provider._files(BOT).load()
    assert provider.stop(BOT).state is GatewayState.STOPPED and provider._files(BOT).load() == stopped
    passes = provider.supervisor_passes
    assert wait_for(lambda: provider.supervisor_passes >= passes + 2, 60)
    assert provider.describe(BOT).state is GatewayState.STOPPED, "the supervisor restarted a bot stopped on purpose"
    assert provider.start(BOT).state is GatewayState.STARTING
    assert provider.wait_ready(BOT).state is GatewayState.RUNNING
    with provider.client(BOT) as client:
        assert client.config_get().config["ui"]["seamColor"] == "#505050"


def test_restart_returns_at_once_and_a_retried_restart_does_not_restart_again(provider):
    pid = provider._files(BOT).load().pid
    assert provider.restart(BOT, request_id="exec-1/restart").state is GatewayState.STARTING
    relaunched = provider._files(BOT).load().pid
    assert relaunched != pid
    provider.restart(BOT, request_id="exec-1/restart")  # the same request, retried after a timeout
    assert provider._files(BOT).load().pid == relaunched
    assert provider.wait_ready(BOT).state is GatewayState.RUNNING


def test_a_stopped_bot_takes_a_validated_config_and_refuses_a_bad_one(provider, root):
    provider.stop(BOT)
    with pytest.raises(ConfigRejected) as caught:
        provider.update(BOT, GatewayUpdate(config={"ui": {"seamColor": "not-a-color"}}))
    assert [i["path"] for i in caught.value.issues] == ["ui.seamColor"]
    assert json.loads((root / BOT / "openclaw.json").read_text())["ui"]["seamColor"] != "not-a-color"
    provider.update(BOT, GatewayUpdate(config={"ui": {"seamColor": "#515151"}}))
    provider.start(BOT)
    assert provider.wait_ready(BOT).state is GatewayState.RUNNING
    with provider.client(BOT) as client:
        assert client.config_get().config["ui"]["seamColor"] == "#515151"


def test_the_supervisor_restarts_a_gateway_that_died(provider):
    pid = provider._files(BOT).load().pid
    os.killpg(pid, signal.SIGKILL)
    assert wait_for(lambda: provider.describe(BOT).state is GatewayState.RUNNING and provider._files(BOT).load().pid != pid, 600)
    assert provider.describe(BOT).restarts >= 1


def test_updates_apply_live_and_a_refused_config_changes_nothing(provider):
    provider.update(BOT, GatewayUpdate(config={"ui": {"seamColor": "#606060"}}))
    with provider.client(BOT) as client:
        before = client.config_get()
        assert before.config["ui"]["seamColor"] == "#606060"
        with pytest.raises(ConfigRejected) as caught:
            provider.update(BOT, GatewayUpdate(config={"ui": {"seamColor": "not-a-color"}}))
        assert [i["path"] for i in caught.value.issues] == ["ui.seamColor"]
        assert client.config_get().hash == before.hash
    with pytest.raises(UnsupportedChange):
        provider.update(BOT, GatewayUpdate(openclaw_version="2026.1.1"))


def test_a_gateway_restarting_for_a_restart_class_change_is_starting_until_its_boot_changes(provider):
    """After a write the gateway answers with requiresRestart (a restart-class change), update() records the
    bootId it had; describe() is STARTING, naming the change, until the gateway restarted in place (a new
    bootId, same pid). In 2026.9.6 the restart-class paths that do restart (port, bind, mode, auth) are the
    target's own, so the write is recorded as update() records it, and the restart is the gateway's own
    in-process one (SIGUSR2: same pid, a new bootId; openclaw-gateway.md §7)."""
    from layers.providers.local import process

    files = provider._files(BOT)
    record = files.load()
    port, token, launched = record.port, files.token(), record.pid
    with provider.client(BOT) as client:
        pid = client._call("status", {})["pid"]  # the gateway itself (record.pid is its launch, a recorder)
    boot = process.boot_id(port, token)
    assert boot
    record.restart_boot, record.restart_paths = boot, ["gateway.port"]
    files.save(record)
    status = provider.describe(BOT)
    assert status.state is GatewayState.STARTING and "restart-class" in status.detail and "gateway.port" in status.detail

    os.kill(pid, signal.SIGUSR2)
    assert wait_for(lambda: provider.describe(BOT).state is GatewayState.RUNNING, 600)
    assert process.boot_id(port, token) not in (None, boot) and files.load().pid == launched
    with provider.client(BOT) as client:
        assert client._call("status", {})["pid"] == pid  # in place: the same process
    assert files.load().restart_boot is None  # checked once: no more bootId handshakes on describe()


def test_a_config_openclaw_refuses_at_startup_is_reported_with_its_issues(provider, root):
    bad = GatewaySpec("bad-config", config={"bogusTopLevelKey": 1})
    assert provider.create(bad).state is GatewayState.STARTING  # the refusal comes from the gateway, later
    assert wait_for(lambda: provider.describe("bad-config").state is GatewayState.FAILED, 300)
    status = provider.describe("bad-config")
    assert status.failure is Failure.CONFIG_REJECTED and status.exit_code == 78
    assert any("bogusTopLevelKey" in issue["message"] for issue in status.issues)
    assert "78" in status.detail and "bogusTopLevelKey" in status.detail
    error = status.error()
    assert isinstance(error, ConfigRejected) and isinstance(error, PermanentError) and error.issues == list(status.issues)
    with pytest.raises(ConfigRejected):
        provider.wait_ready("bad-config")
    assert provider.create(bad).failure is Failure.CONFIG_REJECTED, "a retried create reports it, launches nothing"
    passes = provider.supervisor_passes
    assert wait_for(lambda: provider.supervisor_passes >= passes + 2, 60)
    assert provider.describe("bad-config").restarts == 0, "the supervisor does not relaunch a refused config"
    provider.delete("bad-config")
    provider.delete("bad-config")  # a retried deprovision succeeds
    assert not (root / "bad-config").exists()
    with pytest.raises(GatewayNotFound):
        provider.describe("bad-config")


def test_a_port_taken_after_the_check_is_detected_and_another_is_used(provider, root, monkeypatch):
    """Another gateway answering /readyz on the chosen port must not pass for ours (token check)."""
    from layers.providers.local import provider as provider_module
    from tests.fakes.fake_gateway import FakeGateway

    with FakeGateway("someone-elses-token") as squatter:
        monkeypatch.setattr(provider_module, "_port_free", lambda port: True)  # lose the race on purpose
        monkeypatch.setattr(provider, "base_port", squatter.port)
        assert provider.create(GatewaySpec("port-race")).endpoint.http_url == squatter.http_url
        # The gateway cannot bind, exits; the supervisor relaunches it on another port.
        status = provider.wait_ready("port-race", through_restarts=True)
        assert status.endpoint.http_url != squatter.http_url and status.restarts >= 1
        with provider.client("port-race") as client:
            assert client.health()["ok"] is True
    provider.delete("port-race")


def test_create_refuses_a_duplicate_and_delete_removes_everything(provider, root):
    with pytest.raises(GatewayExists):
        provider.create(GatewaySpec(BOT))
    pid = provider._files(BOT).load().pid
    provider.delete(BOT)
    assert not (root / BOT).exists()
    provider.delete(BOT)  # deleting what is gone succeeds, so a deprovision can be retried
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 120)
    with pytest.raises(GatewayNotFound):
        provider.describe(BOT)


