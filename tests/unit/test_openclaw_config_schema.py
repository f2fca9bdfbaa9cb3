"""Bot configs against the OpenClaw config schema of their version: a hand-written table of configs, the
verdict and the path each refusal names.

The table is the oracle, written from how the real gateway answers (docs/reference: `openclaw config
validate --json` prints `gateway.mode: Invalid input (allowed: "local", "remote")`, `<root>: Unrecognized
key: "bogusTopLevelKey"`, `gateway.port: Invalid input: expected number, received string`), not read from
the schema files. tests/contract/test_openclaw_schema_current.py runs such cases through the real CLI too.
"""

from __future__ import annotations

import re

import pytest

from clawster.domain import config_policy, openclaw_config_schema
from clawster.domain.errors import ValidationFailed
from clawster.domain.templates import TEMPLATES

REF = {"$secretRef": "clawster/bot/token"}
LAUNCH_RECIPE = {  # openclaw-gateway.md §2, the verified launch recipe
    "gateway": {"mode": "local", "port": 28889, "bind": "loopback", "auth": {"mode": "token", "token": "tok-gw2-abcdef"}},
    "update": {"checkOnStart": False},
    "models": {"catalogRefresh": {"enabled": False}},
    "logging": {"file": "/tmp/state/gw2/logs/gateway.log"},
}

# (config, None when accepted else (the path OpenClaw names, words the reason holds))
CASES = [
    ({}, None),
    ({"gateway": {"mode": "local"}}, None),
    (LAUNCH_RECIPE, None),
    ({"gateway": {"mode": "remote"}}, None),
    ({"agents": {"defaults": {"model": {"primary": "openai/gpt-6-astra"}}}}, None),
    ({"agents": {"entries": {"main": {"name": "Task manager"}}}}, None),
    # a property with a default may be left out (the gateway fills it): telegram's dmPolicy and groupPolicy
    ({"channels": {"telegram": {"tokenFile": "/run/secrets/telegram"}}}, None),
    ({"gateway": {"mode": "banana"}}, ("gateway.mode", ["local", "remote"])),
    ({"bogusTopLevelKey": True}, ("<root>", ["Unrecognized key", "bogusTopLevelKey"])),
    ({"gateway": {"mode": "local", "colour": "red"}}, ("gateway", ["Unrecognized key", "colour"])),
    ({"gateway": {"port": "18789"}}, ("gateway.port", ["expected", "received string"])),
    ({"gateway": {"port": 18789.5}}, ("gateway.port", ["integer"])),
    ({"gateway": {"auth": {"mode": "kerberos"}}}, ("gateway.auth.mode", ["token", "password"])),
    ({"update": {"checkOnStart": "no"}}, ("update.checkOnStart", ["boolean", "received string"])),
    ({"gateway": "local"}, ("gateway", ["expected object", "received string"])),
    ({"gateway": {"auth": {"token": None}}}, ("gateway.auth.token", ["Invalid input"])),
    ({"agents": {"entries": {"main": {"name": "x", "mood": "calm"}}}}, ("agents.entries.main", ["mood"])),
    ({"models": {"providers": {"mock": {"baseUrl": "http://127.0.0.1:1/v1", "api": "carrier-pigeon",
                                        "models": [{"id": "m", "name": "M"}]}}}},
     ("models.providers.mock.api", ["openai-completions"])),
]


def _id(case):
    config, verdict = case
    return (verdict[0] if verdict else "accepted") + ":" + str(config)[:50]


@pytest.mark.parametrize("config,verdict", CASES, ids=[_id(c) for c in CASES])
def test_the_schema_judges_like_the_gateway(config, verdict):
    issues = openclaw_config_schema.validate(config, "2026.9.6")
    if verdict is None:
        assert issues == []
        return
    path, words = verdict
    assert issues, f"{config} was accepted"
    named = [issue for issue in issues if issue["path"] == path]
    assert named, f"no issue at {path}: {issues}"
    for word in words:
        assert any(word in issue["reason"] for issue in named), f"{word!r} not in {named}"


def test_the_api_names_the_field_under_config_and_the_reason():
    with pytest.raises(ValidationFailed) as refused:
        config_policy.check_config({"gateway": {"mode": "banana"}, "bogusTopLevelKey": 1})
    errors = refused.value.details["errors"]
    assert {e["field"] for e in errors} == {"config", "config.gateway.mode"}
    by_field = {e["field"]: e["reason"] for e in errors}
    assert "bogusTopLevelKey" in by_field["config"]
    assert '"local"' in by_field["config.gateway.mode"] and "2026.9.6" in by_field["config.gateway.mode"]


def test_a_secret_reference_stands_for_a_string():
    # at a secret path that takes a string: accepted
    config_policy.check_config({"gateway": {"mode": "local", "auth": {"mode": "token", "token": REF}}})
    config_policy.check_config({"channels": {"telegram": {"botToken": REF}}})
    # where a number is wanted: a secret's value is a string, so refused
    with pytest.raises(ValidationFailed) as refused:
        config_policy.check_config({"gateway": {"port": REF}})
    assert [e["field"] for e in refused.value.details["errors"]] == ["config.gateway.port"]


def test_each_version_has_its_own_schema():
    added_in_9_6 = {"session": {"notifyOnCreate": True}}
    assert openclaw_config_schema.validate(added_in_9_6, "2026.9.6") == []
    assert openclaw_config_schema.validate(added_in_9_6, "2026.9.5") == [
        {"path": "session", "reason": 'Unrecognized key: "notifyOnCreate"'}]
    with pytest.raises(ValidationFailed):
        config_policy.check_config(added_in_9_6, openclaw_version="2026.9.5")
    config_policy.check_config(added_in_9_6, openclaw_version="2026.9.6")


def test_an_unknown_version_is_checked_against_the_default_version():
    assert openclaw_config_schema.schema_version("2099.1.1") == openclaw_config_schema.DEFAULT_VERSION
    assert openclaw_config_schema.schema_version(None) == openclaw_config_schema.DEFAULT_VERSION
    config = {"gateway": {"mode": "banana"}}
    assert openclaw_config_schema.validate(config, "2099.1.1") == openclaw_config_schema.validate(config, "2026.9.6") != []


@pytest.mark.parametrize("version", openclaw_config_schema.SUPPORTED_VERSIONS)
@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
def test_every_template_passes_every_supported_version(template_id, version):
    config_policy.check_config(TEMPLATES[template_id].config, openclaw_version=version)


def test_every_supported_version_has_its_schema_file():
    for version in openclaw_config_schema.SUPPORTED_VERSIONS:
        text = openclaw_config_schema.schema_file(version).read_text()
        assert text == openclaw_config_schema.canonical(openclaw_config_schema.load_schema(version)) + "\n"


def test_ecmascript_patterns_keep_their_meaning_in_python():
    # `$` is the end of the input, not "before a final newline"; \p{Cs} is a lone surrogate, \p{Cc} a control
    name = re.compile(openclaw_config_schema.js_pattern(r"^(?!\s)[^\p{Cc}\p{Cs}/]{1,8}$"))
    assert name.search("sticker")
    assert not name.search("sticker\n")
    assert not name.search("a\x07b")
    assert not name.search("a\ud800b")
    assert not name.search("a/b")
    assert re.search(openclaw_config_schema.js_pattern(r"^[$a]+$"), "a$a")  # a `$` in a class stays a character
