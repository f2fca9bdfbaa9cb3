"""Backups and versions of the local provider (the contract an upgrade relies on), on the stdlib stand-in
gateway of test_local_provider_adoption.py so they run in seconds; the real gateway's side of upgrades is
tests/workflows/test_upgrade.py.

- backup() copies state, home, config and version aside under a key, while the gateway serves on (frozen
  for the copy, continued after); the same key again keeps the first copy; three are kept per bot.
- update(openclaw_version=) relaunches on another installed version, refuses one that is not installed
  and changes nothing then.
- restore() puts a backup back (state and version) and relaunches, once per request id."""

from __future__ import annotations

import json

import pytest

from layers.providers.base import GatewayState, GatewayUpdate
from layers.providers.errors import GatewayNotFound, UnsupportedChange
from layers.providers.local.instance import InstanceFiles
from layers.providers.local.process import is_our_gateway
from layers.providers.local.runtime import COMPLETE, OPENCLAW_VERSION
from tests.contract.test_local_provider_adoption import SPEC, provider, wait_for

OTHER = "2026.9.5"


@pytest.fixture
def local(tmp_path):
    root = tmp_path / "gateways"
    installed = root / ".versions" / OTHER
    installed.mkdir(parents=True)
    (installed / COMPLETE).touch()
    (root / ".versions" / "2026.9.4").mkdir()  # no COMPLETE: a partial install is never offered
    gateways = provider(root)
    yield gateways
    gateways.stop_all()


def running(local) -> int:
    assert wait_for(lambda: local.describe(SPEC.bot_id).state is GatewayState.RUNNING)
    return InstanceFiles(local.root, SPEC.bot_id).load().pid


def test_versions_offered_are_the_default_first_then_the_complete_installs(local):
    assert local.capabilities().openclaw_versions == (OPENCLAW_VERSION, OTHER)


def test_a_backup_is_a_copy_taken_while_the_gateway_serves_on_and_kept_under_its_key(local):
    files = InstanceFiles(local.root, SPEC.bot_id)
    local.create(SPEC)
    pid = running(local)
    (files.state_dir / "memory.txt").write_text("before")
    assert local.backup(SPEC.bot_id, "exec-1") == "exec-1"
    copy = files.backup_dir("exec-1")
    assert (copy / "state" / "memory.txt").read_text() == "before"
    assert json.loads((copy / "manifest.json").read_text())["openclaw_version"] == OPENCLAW_VERSION
    assert json.loads((copy / "openclaw.json").read_text()) == files.read_config()
    # Frozen for the copy, then continued: the same process, serving.
    record = files.load()
    assert record.pid == pid and is_our_gateway(pid, record.pid_started, files)
    assert local.describe(SPEC.bot_id).state is GatewayState.RUNNING

    (files.state_dir / "memory.txt").write_text("after")
    local.backup(SPEC.bot_id, "exec-1")  # a retried backup: the first copy stands
    assert (copy / "state" / "memory.txt").read_text() == "before"

    for n in range(2, 6):
        local.backup(SPEC.bot_id, f"exec-{n}")
    assert [p.name for p in files.backups()] == ["exec-3", "exec-4", "exec-5"]


def test_another_version_relaunches_on_the_same_state_and_a_restore_puts_the_backup_back_once(local):
    files = InstanceFiles(local.root, SPEC.bot_id)
    local.create(SPEC)
    first = running(local)
    (files.state_dir / "memory.txt").write_text("v1")
    local.backup(SPEC.bot_id, "exec-1")

    with pytest.raises(UnsupportedChange, match="2026.9.4 is not installed"):
        local.update(SPEC.bot_id, GatewayUpdate(openclaw_version="2026.9.4"))
    assert files.load().openclaw_version == OPENCLAW_VERSION and files.load().pid == first  # nothing changed

    upgraded = local.update(SPEC.bot_id, GatewayUpdate(openclaw_version=OTHER))
    assert upgraded.openclaw_version == OTHER
    second = running(local)
    assert second != first and not is_our_gateway(first, None, files)
    assert local.update(SPEC.bot_id, GatewayUpdate(openclaw_version=OTHER)).openclaw_version == OTHER
    assert files.load().pid == second  # the same change again: nothing more
    (files.state_dir / "memory.txt").write_text("v2")
    (files.state_dir / "new.txt").write_text("written by the new version")

    restored = local.restore(SPEC.bot_id, "exec-1", request_id="rollback-1")
    assert restored.openclaw_version == OPENCLAW_VERSION
    third = running(local)
    assert third != second
    assert (files.state_dir / "memory.txt").read_text() == "v1" and not (files.state_dir / "new.txt").exists()
    local.restore(SPEC.bot_id, "exec-1", request_id="rollback-1")  # a retried restore
    assert files.load().pid == third

    with pytest.raises(GatewayNotFound, match="no backup"):
        local.restore(SPEC.bot_id, "never-taken")
