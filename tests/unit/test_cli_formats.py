"""The CLI's own writers, checked against independent readers: its YAML against PyYAML, its TOML
config against tomllib; and the local stack pointer `clawster dev` records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib

import pytest
import yaml

from clawster.cli import config as config_file
from clawster.cli.yaml_out import dumps
from clawster.local import discovery

# Strings a careless emitter would let a YAML reader turn into something else, or make unreadable.
TRICKY_STRINGS = [
    "", " ", "yes", "No", "ON", "off", "y", "n", "null", "Null", "~", "true", "False",
    "1", "-1", "+1", "012", "0x1F", "0o17", "0b101", "1_000", "1e5", "1E5", "1.5", ".5", ".inf", "-.inf", ".nan",
    "1:20", "2026-11-26", "2026-11-26T10:00:00Z", "12:30:00",
    "a: b", "a #b", "#x", "- x", "-x", "? x", ": x", "@x", "`x`", "!tag", "&anchor", "*alias", "|", ">", "%x", "[a]",
    "{a}", "a,b", "'single'", '"double"', "back\\slash", " lead", "trail ", "two  spaces",
    "multi\nline", "tab\tinside", "cr\rinside", "\x00nul", "\x7fdel", "\x85nel", "\u2028sep", "\ufeffbom",
    "é ü ß", "日本語", "emoji 😀", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "01234E5678", "demo-dev", "team=core",
    "/workspaces/01ARZ3NDEKTSV4RRFFQ69G5FAV/fleets", "Demo fleet", "fleet.create",
]


@pytest.mark.parametrize("text", TRICKY_STRINGS)
def test_yaml_strings_read_back_as_the_same_string(text):
    assert yaml.safe_load(dumps({"value": text})) == {"value": text}
    assert yaml.safe_load(dumps([text])) == [text]
    assert yaml.safe_load(dumps({text: 1})) == {text: 1}


def test_yaml_reads_back_nested_json_shaped_data():
    data = {
        "items": [
            {"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "tags": {"team": "core", "tier:gold": ""}, "bot_count": 0,
             "intent": None, "ratio": 0.25, "big": 1e20, "tiny": 1e-05, "neg": -3, "ok": True, "no": False},
            {"empty_map": {}, "empty_list": [], "nested": [[1, 2], [], [{"a": [{"b": None}]}]]},
        ],
        "next_cursor": None,
        "config": {"agents": {"defaults": {"model": {"primary": "mock/model"}}}, "list": ["a", {"b": "c"}]},
    }
    assert yaml.safe_load(dumps(data)) == data


def test_yaml_is_block_style_and_plain_where_safe():
    text = dumps({"name": "demo-dev", "tags": {"team": "demo"}, "items": [{"id": "a1", "count": 1}], "y": "n"})
    assert text == 'name: demo-dev\ntags:\n  team: demo\nitems:\n  - id: a1\n    count: 1\n"y": "n"\n'


@pytest.mark.parametrize("value", ["plain", "https://x.example/prod?a=1", 'q"uote', "back\\slash", "tab\t",
                                   "line\nbreak", "\x7f", "\x01", "é 日本 😀", ""])
def test_config_strings_read_back_with_tomllib(tmp_path, value):
    config = config_file.Config(tmp_path / "config.toml", "odd name.x",
                                {"odd name.x": {"token": value}, "prod": {"api_url": value, "output": "json"}})
    config_file.save(config)
    data = tomllib.loads(config.path.read_text())
    assert data == {"default_profile": "odd name.x",
                    "profiles": {"odd name.x": {"token": value}, "prod": {"api_url": value, "output": "json"}}}
    assert config_file.load(config.path).profiles["odd name.x"]["token"] == value


def test_config_is_written_private_even_over_a_readable_file(tmp_path):
    path = tmp_path / "cfg" / "config.toml"
    path.parent.mkdir()
    path.write_text("")
    os.chmod(path, 0o644)
    config_file.save(config_file.Config(path, None, {"p": {"token": "secret"}}))
    assert path.stat().st_mode & 0o777 == 0o600


def test_the_stack_pointer_names_this_process_and_only_it_removes_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CLAWSTER_HOME", str(tmp_path / "home"))
    state = tmp_path / "state"
    state.mkdir()
    discovery.record(state)
    found = discovery.locate()
    assert found is not None and found.state_dir == state.resolve()
    assert found.info is None and not found.running  # no stack.json: recorded, but not running
    # A newer `clawster dev` (another pid) took the pointer over: ours must not remove it.
    newer = {"state_dir": str(tmp_path / "other"), "pid": os.getpid() + 1}
    discovery.pointer_path().write_text(json.dumps(newer))
    discovery.forget()
    assert discovery.pointer_path().exists()
    discovery.record(state)
    discovery.forget()
    assert not discovery.pointer_path().exists()


def test_an_exited_pid_is_not_alive_reaped_or_not():
    assert discovery.pid_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped yet: a zombie
    assert not discovery.pid_alive(child.pid)
    assert child.wait(timeout=60) == 0  # reaped: the pid is gone
    assert not discovery.pid_alive(child.pid)
