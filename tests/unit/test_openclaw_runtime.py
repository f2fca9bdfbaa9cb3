"""The local provider refuses a missing or wrong runtime with a message saying how to fix it
(on node 20, npm quietly installs openclaw 0.0.1, a placeholder: reference G1)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from layers.providers.errors import RuntimeMissing
from layers.providers.local import OpenClawRuntime


def fake_runtime(root: Path, node_version: str, openclaw_output: str) -> OpenClawRuntime:
    runtime = OpenClawRuntime(root)
    runtime.node_bin.mkdir(parents=True)
    runtime.node.write_text(
        f'#!/bin/sh\nif [ "$1" = "--version" ]; then echo {node_version}; else echo "{openclaw_output}"; fi\n'
    )
    runtime.node.chmod(runtime.node.stat().st_mode | stat.S_IEXEC)
    runtime.entry.parent.mkdir(parents=True)
    runtime.entry.write_text("// placeholder\n")
    return runtime


def test_a_missing_runtime_names_the_install_script(tmp_path):
    with pytest.raises(RuntimeMissing, match="install_openclaw.sh"):
        _ = OpenClawRuntime(tmp_path / "nothing").version


def test_node_20_is_refused(tmp_path):
    with pytest.raises(RuntimeMissing, match=r"needs node >= 24\.16, found v20\.20\.2"):
        _ = fake_runtime(tmp_path, "v20.20.2", "OpenClaw 2026.9.6 (eb377ac)").version


def test_the_placeholder_package_is_refused(tmp_path):
    with pytest.raises(RuntimeMissing, match="expected openclaw 2026.9.6, found '0.0.1'"):
        _ = fake_runtime(tmp_path, "v24.21.0", "0.0.1").version


def test_the_right_versions_are_accepted(tmp_path):
    assert fake_runtime(tmp_path, "v24.21.0", "OpenClaw 2026.9.6 (eb377ac)").version == "2026.9.6"


def test_the_installed_runtime_is_the_pinned_one():
    assert OpenClawRuntime.default().version == "2026.9.6"
