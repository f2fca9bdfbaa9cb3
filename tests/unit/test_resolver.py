"""The config resolver against a hand-written oracle: for each scenario the effective config and the table
of which layer set each path are written out here in full, as a reviewer would work them out from the
precedence rules (template < profiles < overlays < override < secure defaults), not computed by the resolver.

The last tests hold the secure defaults to OpenClaw 2026.9.6 itself: every key they write or remove is in
the schema its CLI prints, and every built-in template, resolved for dev and for prod, is a config
`openclaw config validate` accepts.
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from clawster.domain import openclaw_config_schema
from clawster.domain.errors import Conflict, ValidationFailed
from clawster.domain.resolver import (
    BotContext,
    LayerRef,
    LockViolation,
    Overlay,
    Override,
    Profile,
    Selector,
    Window,
    resolve,
)
from clawster.domain.templates import TEMPLATES, Template
from functions.errors import http_status
from layers.providers.local import OpenClawRuntime

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TOKEN_REF = "clawster/acme/bot-1/gateway-token"
GATEWAY_TOKEN = {"$secretRef": TOKEN_REF}
BOT = BotContext("bot-1", "fleet-a", "dev", {"team": "support", "tier": "gold"})

T = LayerRef("template", "t1")
AUTH = LayerRef("secure-default", "gateway.auth")
BIND = LayerRef("secure-default", "gateway.bind")
REDACTION = LayerRef("secure-default", "logging.redaction")
SANDBOX = LayerRef("secure-default", "prod.sandbox")
TOOLS = LayerRef("secure-default", "prod.tools")
OVERRIDE = LayerRef("override", "bot-1")
# What the secure defaults add to any dev config whose layers say nothing about the gateway's auth or bind.
SECURE_GATEWAY = {"bind": "loopback", "auth": {"mode": "token", "token": GATEWAY_TOKEN}}
SECURE_PROVENANCE = {"gateway.auth.mode": AUTH, "gateway.auth.token": AUTH, "gateway.bind": BIND}

TEMPLATE = Template("t1", "T", "", {
    "gateway": {"mode": "local", "port": 18789},
    "agents": {"defaults": {"model": {"primary": "a/m1", "fallbacks": ["a/m2", "a/m3"]}}},
    "messages": {"responsePrefix": "[template]"},
})


def profile(id: str, priority: int, config: dict[str, Any], locked: tuple[str, ...] = ()) -> Profile:
    return Profile(id, id.upper(), priority, config, locked)


def overlay(id: str, priority: int, config: dict[str, Any], selector: Selector | None = None,
            window: Window | None = None) -> Overlay:
    return Overlay(id, id.upper(), priority, selector or Selector(), config, window)


def run(template=TEMPLATE, profiles=(), overlays=(), override=None, bot=BOT, now=NOW, **kwargs):
    resolved = resolve(template, profiles, overlays, Override(override) if override is not None else None, bot, now,
                       gateway_token_ref=TOKEN_REF, **kwargs)
    assert set(resolved.provenance) == leaf_paths(resolved.config), "provenance must cover exactly the leaves"
    return resolved


def leaf_paths(config: dict[str, Any], prefix: str = "") -> set[str]:
    """Written independently of the resolver: every value that is not a non-empty object (a reference is a value)."""
    paths = set()
    for key, value in config.items():
        path = prefix + (json.dumps(key) if "." in key else key)
        nested = isinstance(value, dict) and value and "$secretRef" not in value
        paths |= leaf_paths(value, path + ".") if nested else {path}
    return paths


# ---- 1. precedence: every layer sets messages.responsePrefix; each also sets paths of its own -------------

def test_each_layer_overrides_the_ones_below_it_and_lists_are_replaced_whole():
    resolved = run(
        profiles=[profile("p1", 0, {"messages": {"responsePrefix": "[profile]"}, "logging": {"level": "info"},
                                    "agents": {"defaults": {"model": {"primary": "a/p"}}}})],
        overlays=[overlay("o1", 0, {"messages": {"responsePrefix": "[overlay]"}, "logging": {"level": "warn"},
                                    "agents": {"defaults": {"model": {"fallbacks": ["a/m9"]}}}})],
        override={"messages": {"responsePrefix": "[bot]"}, "ui": {"seamColor": "#abcdef"}},
    )
    assert resolved.config == {
        "gateway": {"mode": "local", "port": 18789, **SECURE_GATEWAY},
        "agents": {"defaults": {"model": {"primary": "a/p", "fallbacks": ["a/m9"]}}},
        "messages": {"responsePrefix": "[bot]"},
        "logging": {"level": "warn"},
        "ui": {"seamColor": "#abcdef"},
    }
    assert resolved.provenance == {
        "gateway.mode": T,
        "gateway.port": T,
        **SECURE_PROVENANCE,
        "agents.defaults.model.primary": ("profile", "p1"),
        "agents.defaults.model.fallbacks": ("overlay", "o1"),  # the template's two fallbacks are gone
        "messages.responsePrefix": OVERRIDE,
        "logging.level": ("overlay", "o1"),
        "ui.seamColor": OVERRIDE,
    }
    assert resolved.applied_overlays == ("o1",)
    assert resolved.removed == {}


def test_null_deletes_a_key_and_an_object_replaces_a_value():
    resolved = run(template=Template("t1", "T", "", {"agents": {"defaults": {"model": "a/m1"}}, "ui": {"seamColor": "#000000"}}),
                   override={"agents": {"defaults": {"model": {"primary": "a/b"}}}, "ui": {"seamColor": None}})
    assert resolved.config == {"agents": {"defaults": {"model": {"primary": "a/b"}}}, "ui": {}, "gateway": SECURE_GATEWAY}
    assert resolved.provenance == {"agents.defaults.model.primary": OVERRIDE, "ui": OVERRIDE, **SECURE_PROVENANCE}


# ---- 2. priorities and ties -------------------------------------------------------------------------------

def test_higher_priority_wins_ties_break_by_id_and_any_overlay_beats_any_profile():
    resolved = run(
        profiles=[  # given out of order on purpose: applied p-c (5), p-a (10), p-b (10)
            profile("p-b", 10, {"logging": {"level": "warn"}}),
            profile("p-c", 5, {"logging": {"level": "debug", "consoleLevel": "debug"}}),
            profile("p-a", 10, {"logging": {"level": "info"}, "messages": {"responsePrefix": "[p-a]"}}),
            profile("p-top", 1000, {"ui": {"seamColor": "#111111"}}),
        ],
        overlays=[  # applied o-1 (1), o-2 (1), o-0 (7)
            overlay("o-0", 7, {"tools": {"profile": "messaging"}}),
            overlay("o-2", 1, {"tools": {"profile": "coding"}, "ui": {"seamColor": "#222222"}}),
            overlay("o-1", 1, {"tools": {"profile": "minimal"}, "messages": {"responsePrefix": "[o-1]"}}),
        ],
    )
    assert resolved.applied_overlays == ("o-1", "o-2", "o-0")
    assert resolved.config == {
        "gateway": {"mode": "local", "port": 18789, **SECURE_GATEWAY},
        "agents": {"defaults": {"model": {"primary": "a/m1", "fallbacks": ["a/m2", "a/m3"]}}},
        "messages": {"responsePrefix": "[o-1]"},
        "logging": {"level": "warn", "consoleLevel": "debug"},
        "ui": {"seamColor": "#222222"},  # an overlay of priority 1 over a profile of priority 1000
        "tools": {"profile": "messaging"},
    }
    assert resolved.provenance == {
        "gateway.mode": T, "gateway.port": T, **SECURE_PROVENANCE,
        "agents.defaults.model.primary": T,
        "agents.defaults.model.fallbacks": T,
        "messages.responsePrefix": ("overlay", "o-1"),
        "logging.level": ("profile", "p-b"),
        "logging.consoleLevel": ("profile", "p-c"),
        "ui.seamColor": ("overlay", "o-2"),
        "tools.profile": ("overlay", "o-0"),
    }


# ---- 3. overlay selectors -------------------------------------------------------------------------------

def test_an_overlay_applies_when_every_criterion_of_its_selector_holds():
    bot = BotContext("bot-1", "fleet-a", "staging", {"team": "support", "tier": "gold"})
    cases = {  # overlay id -> (selector, applies to bot-1 in fleet-a, staging, team=support, tier=gold)
        "by-bot": (Selector(bot_ids=frozenset({"bot-1"})), True),
        "other-bot": (Selector(bot_ids=frozenset({"bot-2"})), False),
        "by-fleet": (Selector(fleet_ids=frozenset({"fleet-z", "fleet-a"})), True),
        "other-fleet": (Selector(fleet_ids=frozenset({"fleet-b"})), False),
        "by-env": (Selector(environments=frozenset({"staging"})), True),
        "prod-only": (Selector(environments=frozenset({"prod"})), False),
        "by-tag": (Selector(tags={"team": "support"}), True),
        "tag-other-value": (Selector(tags={"team": "sales"}), False),
        "tag-absent": (Selector(tags={"region": "eu"}), False),
        "both-tags": (Selector(tags={"team": "support", "tier": "gold"}), True),
        "one-tag-wrong": (Selector(tags={"team": "support", "tier": "silver"}), False),
        "bot-but-not-env": (Selector(bot_ids=frozenset({"bot-1"}), environments=frozenset({"prod"})), False),
        "fleet-and-tag": (Selector(fleet_ids=frozenset({"fleet-a"}), tags={"tier": "gold"}), True),
        "everyone": (Selector(), True),
    }
    overlays = [overlay(id, 0, {"env": {"vars": {id.upper().replace("-", "_"): "1"}}}, selector)
                for id, (selector, _) in cases.items()]
    resolved = run(template=None, overlays=overlays, bot=bot)
    assert resolved.applied_overlays == ("both-tags", "by-bot", "by-env", "by-fleet", "by-tag", "everyone", "fleet-and-tag")
    assert resolved.config == {
        "env": {"vars": {"BOTH_TAGS": "1", "BY_BOT": "1", "BY_ENV": "1", "BY_FLEET": "1", "BY_TAG": "1",
                         "EVERYONE": "1", "FLEET_AND_TAG": "1"}},
        "gateway": SECURE_GATEWAY,
    }
    assert resolved.provenance == {
        "env.vars.BOTH_TAGS": ("overlay", "both-tags"), "env.vars.BY_BOT": ("overlay", "by-bot"),
        "env.vars.BY_ENV": ("overlay", "by-env"), "env.vars.BY_FLEET": ("overlay", "by-fleet"),
        "env.vars.BY_TAG": ("overlay", "by-tag"), "env.vars.EVERYONE": ("overlay", "everyone"),
        "env.vars.FLEET_AND_TAG": ("overlay", "fleet-and-tag"), **SECURE_PROVENANCE,
    }
    assert sorted(resolved.applied_overlays) == sorted(id for id, (_, applies) in cases.items() if applies)


# ---- 4. time windows --------------------------------------------------------------------------------------

FREEZE = Window(datetime(2026, 12, 20, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC))


@pytest.mark.parametrize(("now", "applies"), [
    (datetime(2026, 12, 19, 23, 59, 59, tzinfo=UTC), False),  # before
    (datetime(2026, 12, 20, tzinfo=UTC), True),  # the start is inside
    (datetime(2026, 12, 25, 8, tzinfo=UTC), True),
    (datetime(2027, 1, 1, 23, 59, 59, tzinfo=UTC), True),
    (datetime(2027, 1, 2, tzinfo=UTC), False),  # the end is outside
    (datetime(2027, 3, 1, tzinfo=UTC), False),  # after
])
def test_a_windowed_overlay_applies_only_inside_its_window(now, applies):
    resolved = run(overlays=[overlay("freeze", 0, {"tools": {"profile": "minimal"}}, window=FREEZE)], now=now)
    assert resolved.applied_overlays == (("freeze",) if applies else ())
    assert resolved.config.get("tools") == ({"profile": "minimal"} if applies else None)
    assert resolved.provenance.get("tools.profile") == (("overlay", "freeze") if applies else None)


def test_open_ended_windows_and_bad_windows():
    since = overlay("since", 0, {"ui": {"seamColor": "#333333"}}, window=Window(start=NOW))
    until = overlay("until", 0, {"tools": {"profile": "minimal"}}, window=Window(end=NOW))
    assert run(overlays=[since, until]).applied_overlays == ("since",)
    assert run(overlays=[since, until], now=NOW - timedelta(seconds=1)).applied_overlays == ("until",)
    with pytest.raises(ValidationFailed):
        Window(NOW, NOW)
    with pytest.raises(ValidationFailed):
        Window(datetime(2026, 12, 20), datetime(2027, 1, 2))  # no time zone


# ---- 5. locks -----------------------------------------------------------------------------------------------

MODEL_LOCK = profile("sec", 10, {"agents": {"defaults": {"model": {"primary": "a/approved"}}}}, ("agents.defaults.model",))


def _violation(**layers) -> LockViolation:
    with pytest.raises(LockViolation) as raised:
        run(**layers)
    return raised.value


def test_an_overlay_changing_a_locked_path_is_refused_with_409_naming_the_path_and_the_owner():
    error = _violation(profiles=[MODEL_LOCK],
                       overlays=[overlay("o1", 0, {"agents": {"defaults": {"model": {"primary": "a/cheap"}}}})])
    assert isinstance(error, Conflict) and http_status(error) == 409
    assert error.code == "LOCKED_PATH"
    assert error.details == {"path": "agents.defaults.model.primary", "locked_by": "sec",
                             "lock": "agents.defaults.model", "layer": {"kind": "overlay", "id": "o1"}}
    assert "agents.defaults.model.primary" in error.message and "sec" in error.message


@pytest.mark.parametrize(("layers", "path", "layer"), [
    # a path under the lock that the locking profile itself never set (the template's fallbacks)
    ({"override": {"agents": {"defaults": {"model": {"fallbacks": []}}}}}, "agents.defaults.model.fallbacks", OVERRIDE),
    # the locked object replaced by a value at the lock (OpenClaw accepts a model as a string)
    ({"override": {"agents": {"defaults": {"model": "a/cheap"}}}}, "agents.defaults.model", OVERRIDE),
    # an ancestor of the lock replaced
    ({"override": {"agents": "none"}}, "agents.defaults.model", OVERRIDE),
    # deleted
    ({"override": {"agents": {"defaults": {"model": None}}}}, "agents.defaults.model", OVERRIDE),
    # a profile applied after the locking one (a higher priority) is bound too
    ({"profiles": [MODEL_LOCK, profile("team", 20, {"agents": {"defaults": {"model": {"primary": "a/x"}}}})]},
     "agents.defaults.model.primary", LayerRef("profile", "team")),
])
def test_a_lock_covers_everything_under_its_path(layers, path, layer):
    error = _violation(**{"profiles": [MODEL_LOCK], **layers})
    assert (error.details["path"], error.details["locked_by"], error.details["layer"]) == (path, "sec", layer._asdict())


def test_what_a_lock_allows():
    resolved = run(
        profiles=[profile("early", 5, {"agents": {"defaults": {"model": {"primary": "a/early"}}}}), MODEL_LOCK],
        overlays=[overlay("o1", 0, {"agents": {"defaults": {"workspace": "/srv/w"}}})],  # a sibling of the lock
        override={"agents": {"defaults": {"model": {"primary": "a/approved"}}}},  # the same value: no change
    )
    assert resolved.config["agents"] == {"defaults": {"model": {"primary": "a/approved", "fallbacks": ["a/m2", "a/m3"]},
                                                      "workspace": "/srv/w"}}
    assert resolved.provenance["agents.defaults.model.primary"] == OVERRIDE  # it set it, to the locked value
    assert resolved.provenance["agents.defaults.model.fallbacks"] == T
    assert resolved.provenance["agents.defaults.workspace"] == ("overlay", "o1")


def test_a_lock_on_a_path_no_layer_has_set_holds_it_absent():
    """Found by schemathesis (a 502): the "absent" marker was deep-copied, so an absent locked path compared
    as changed and failed to serialize. Absent before and after is no change; setting it is one."""
    lock = profile("lock", 5, {}, ("nothing.here",))
    resolved = run(profiles=[lock], overlays=[overlay("o1", 0, {"ui": {"seamColor": "#010101"}})])
    assert resolved.config["ui"] == {"seamColor": "#010101"}
    with pytest.raises(LockViolation) as refused:
        run(profiles=[lock], override={"nothing": {"here": 1}})
    assert (refused.value.details["path"], refused.value.details["locked_by"]) == ("nothing.here", "lock")


def test_secure_defaults_are_not_bound_by_locks_and_a_lock_path_must_be_a_dot_path():
    locked_bind = profile("open", 0, {"gateway": {"bind": "lan"}}, ("gateway",))
    resolved = run(profiles=[locked_bind])
    assert resolved.config["gateway"]["bind"] == "loopback"
    assert resolved.provenance["gateway.bind"] == BIND
    for bad in ("", "gateway..auth", ".gateway", "gateway auth"):
        with pytest.raises(ValidationFailed):
            profile("bad", 0, {}, (bad,))


# ---- 6. secure defaults --------------------------------------------------------------------------------

OPEN_GATEWAY = {
    "gateway": {"mode": "local", "bind": "custom", "customBindHost": "0.0.0.0", "auth": {"mode": "none"}},
    "logging": {"redactPatterns": ["only-this"]},
}


def test_secure_defaults_override_an_attempt_to_bind_every_interface_and_say_so():
    resolved = run(template=None, override=OPEN_GATEWAY)
    assert resolved.config == {"gateway": {"mode": "local", "bind": "loopback",
                                           "auth": {"mode": "token", "token": GATEWAY_TOKEN}},
                               "logging": {}}
    assert resolved.provenance == {"gateway.mode": OVERRIDE, "gateway.bind": BIND,
                                   "gateway.auth.mode": AUTH, "gateway.auth.token": AUTH,
                                   "logging": REDACTION}
    assert resolved.removed == {"gateway.customBindHost": BIND, "logging.redactPatterns": REDACTION}


def test_a_private_target_binds_lan_and_a_token_reference_of_the_bot_is_kept():
    own = {"$secretRef": "clawster/acme/own-token"}
    resolved = run(template=None, override={"gateway": {"bind": "loopback", "auth": {"token": own}}}, private_network=True)
    assert resolved.config == {"gateway": {"bind": "lan", "auth": {"mode": "token", "token": own}}}
    assert resolved.provenance == {"gateway.bind": BIND, "gateway.auth.mode": AUTH, "gateway.auth.token": OVERRIDE}


def test_a_token_that_is_not_a_reference_is_replaced_by_the_bots():
    resolved = run(template=None, override={"gateway": {"auth": {"mode": "password", "token": "plain-text"}}})
    assert resolved.config == {"gateway": {"bind": "loopback", "auth": {"mode": "token", "token": GATEWAY_TOKEN}}}
    assert resolved.provenance == SECURE_PROVENANCE


# ---- 7. prod and dev -------------------------------------------------------------------------------------

LAX = {
    "agents": {"ownership": "explicit",  # OpenClaw requires it of a roster of several agents
               "defaults": {"sandbox": {"mode": "off"}},
               "entries": {"main": {"sandbox": {"mode": "off"}, "tools": {"elevated": {"enabled": True},
                                                                          "fs": {"workspaceOnly": False}}},
                           "helper": {"name": "Helper"}}},
    "tools": {"elevated": {"enabled": True}, "profile": "coding"},
}


def test_in_dev_sandbox_and_tools_are_left_as_configured():
    resolved = run(template=None, override=LAX)
    assert resolved.config == {**LAX, "gateway": SECURE_GATEWAY}
    assert resolved.provenance == {
        "agents.defaults.sandbox.mode": OVERRIDE, "agents.entries.main.sandbox.mode": OVERRIDE,
        "agents.entries.main.tools.elevated.enabled": OVERRIDE, "agents.entries.main.tools.fs.workspaceOnly": OVERRIDE,
        "agents.entries.helper.name": OVERRIDE, "tools.elevated.enabled": OVERRIDE, "tools.profile": OVERRIDE,
        "agents.ownership": OVERRIDE, **SECURE_PROVENANCE,
    }


def test_in_prod_every_agent_is_sandboxed_and_elevated_and_host_wide_file_tools_are_off():
    resolved = run(template=None, override=LAX, bot=BotContext("bot-1", "fleet-p", "prod"))
    assert resolved.config == {
        "agents": {"ownership": "explicit", "defaults": {"sandbox": {"mode": "all"}},
                   "entries": {"main": {"sandbox": {"mode": "all"}, "tools": {"elevated": {"enabled": False},
                                                                              "fs": {"workspaceOnly": True}}},
                               "helper": {"name": "Helper"}}},
        "tools": {"elevated": {"enabled": False}, "profile": "coding", "fs": {"workspaceOnly": True}},
        "gateway": SECURE_GATEWAY,
    }
    assert resolved.provenance == {
        "agents.defaults.sandbox.mode": SANDBOX, "agents.entries.main.sandbox.mode": SANDBOX,
        "agents.entries.main.tools.elevated.enabled": TOOLS, "agents.entries.main.tools.fs.workspaceOnly": TOOLS,
        "agents.entries.helper.name": OVERRIDE, "tools.elevated.enabled": TOOLS, "tools.profile": OVERRIDE,
        "tools.fs.workspaceOnly": TOOLS, "agents.ownership": OVERRIDE, **SECURE_PROVENANCE,
    }


def test_in_prod_a_non_main_sandbox_is_kept():
    resolved = run(template=None, override={"agents": {"defaults": {"sandbox": {"mode": "non-main"}}}},
                   bot=BotContext("bot-1", "fleet-p", "prod"))
    assert resolved.config["agents"] == {"defaults": {"sandbox": {"mode": "non-main"}}}
    assert resolved.provenance["agents.defaults.sandbox.mode"] == OVERRIDE


def test_a_key_holding_a_dot_is_quoted_in_its_path():
    resolved = run(template=None, override={"agents": {"defaults": {"models": {"openai/gpt-5.1": {"alias": "g"}}}}})
    assert resolved.provenance['agents.defaults.models."openai/gpt-5.1".alias'] == OVERRIDE


# ---- the secure defaults against OpenClaw 2026.9.6 itself -----------------------------------------------------

PROD = BotContext("bot-1", "fleet-p", "prod")


def _plain(config: Any) -> Any:
    """Secret references as the gateway receives them: resolved to strings."""
    if isinstance(config, dict):
        if set(config) == {"$secretRef"}:
            return "resolved-" + config["$secretRef"].replace("/", "-")
        return {key: _plain(value) for key, value in config.items()}
    return config


def _resolved_configs() -> dict[str, dict[str, Any]]:
    configs = {}
    for template in TEMPLATES.values():
        for bot in (BOT, PROD):
            configs[f"{template.id}/{bot.environment}"] = run(template=template, bot=bot).config
    configs["lax/prod"] = run(template=TEMPLATES["minimal"], override=LAX, bot=PROD).config
    configs["open/prod/private"] = run(template=TEMPLATES["minimal"], override=OPEN_GATEWAY, bot=PROD,
                                       private_network=True).config
    return configs


def test_every_built_in_template_resolves_to_a_config_the_stored_openclaw_schema_accepts():
    assert {"minimal", "slack", "telegram", "discord", "webhook"} <= set(TEMPLATES)
    for name, config in _resolved_configs().items():
        assert openclaw_config_schema.validate(_plain(config), "2026.9.6") == [], name


def _schema_at(schema: dict[str, Any], path: list[str]) -> dict[str, Any]:
    for key in path:
        properties = schema.get("properties", {})
        if key in properties:
            schema = properties[key]
        else:
            assert isinstance(schema.get("additionalProperties"), dict), f"{key} of {path} is not in the schema"
            schema = schema["additionalProperties"]
    return schema


def _openclaw(runtime: OpenClawRuntime, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**runtime.env(), "HOME": str(home), "XDG_CONFIG_HOME": str(home), "OPENCLAW_STATE_DIR": str(home / "state"),
           "OPENCLAW_CONFIG_PATH": str(home / "openclaw.json")}
    return subprocess.run(runtime.command(*args), capture_output=True, text=True, timeout=120, env=env, cwd=home)


@pytest.mark.slow
def test_every_key_the_secure_defaults_write_or_remove_is_in_the_schema_openclaw_prints(tmp_path):
    """From `openclaw config schema` (2026.9.6, about 5 s): each enforced path exists and takes its value."""
    runtime = OpenClawRuntime.default()  # RuntimeMissing fails the test: `make test` installs the runtime
    assert runtime.version == "2026.9.6"
    out = _openclaw(runtime, tmp_path, "config", "schema")
    assert out.returncode == 0, out.stderr[-2000:]
    schema = json.loads(out.stdout)
    resolved = run(template=TEMPLATES["minimal"], override={**LAX, **OPEN_GATEWAY}, bot=PROD)
    enforced = {path: ref for path, ref in resolved.provenance.items() if ref.kind == "secure-default"}
    assert set(enforced) == {"gateway.auth.mode", "gateway.auth.token", "gateway.bind", "logging",
                             "agents.defaults.sandbox.mode", "agents.entries.main.sandbox.mode",
                             "agents.entries.main.tools.elevated.enabled", "agents.entries.main.tools.fs.workspaceOnly",
                             "tools.elevated.enabled", "tools.fs.workspaceOnly"}
    for path in enforced:
        value: Any = resolved.config
        for key in path.split("."):
            value = value[key]
        jsonschema.validate(_plain(value), _schema_at(schema, path.split(".")))
    for path in resolved.removed:
        _schema_at(schema, path.split("."))  # a key OpenClaw knows: removing it is a choice, not a typo
    assert "redactSensitive" not in _schema_at(schema, ["logging"])["properties"]  # the original product's key is gone


@pytest.mark.slow
def test_every_built_in_template_resolves_to_a_config_openclaw_validates(tmp_path):
    """`openclaw config validate --json` on each resolved config (about 3 s each, run side by side)."""
    runtime = OpenClawRuntime.default()
    assert runtime.version == "2026.9.6"

    def validate(item: tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        name, config = item
        home = tmp_path / name.replace("/", "-")
        home.mkdir()
        (home / "openclaw.json").write_text(json.dumps(_plain(config)))
        out = _openclaw(runtime, home, "config", "validate", "--json")
        return name, json.loads(out.stdout or "{}")

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        results = dict(pool.map(validate, _resolved_configs().items()))
    for name, result in results.items():
        assert result.get("valid") is True, (name, result)
