"""Drift, without a gateway: the class of each path, the comparison of a live config with the applied revision
(secrets, the gateway's own bookkeeping, provider-enforced keys), policies, and adoption. The expectations
are written by hand from the product's rules (an oracle), not read from the code's rule table."""

from __future__ import annotations

import json

import pytest

from clawster.domain import drift
from clawster.domain.drift import DriftAction, DriftClass, Plan
from clawster.domain.errors import ValidationFailed

# path -> the class an operator expects it in.
CLASSES = {
    "channels.telegram.allowFrom": "pairing",
    "channels.slack.accounts.work.allowFrom": "pairing",
    "channels.telegram.groups.g1.allowFrom": "pairing",
    "channels.matrix.dm.allowFrom": "pairing",
    "channels.discord.groupAllowFrom": "pairing",
    "channels.telegram.dmPolicy": "security",  # opening DMs to anyone is not a pairing
    "channels.slack.accounts.work.groupPolicy": "security",
    "channels.telegram.botToken": "security",  # a secret path
    "channels.telegram.enabled": "other",
    "agents.defaults.timeoutSeconds": "agent",
    "agents.defaults.model.primary": "agent",
    "agents.entries.helper.identity.name": "agent",
    "agents.defaults.sandbox.mode": "security",
    "agents.entries.helper.sandbox.mode": "security",
    "agents.entries.helper.tools.allow": "security",
    "agents.defaults.elevatedDefault": "security",
    "skills.entries.weather.enabled": "agent",
    "memory.backend": "agent",
    "cron.enabled": "agent",
    "gateway.bind": "security",
    "gateway.auth.mode": "security",
    "tools.profile": "security",
    "tools.exec.security": "security",
    "auth.profiles.main.provider": "security",
    "plugins.entries.github.enabled": "security",
    "hooks.enabled": "security",
    "update.checkOnStart": "security",
    "logging.redactPatterns": "security",
    "logging.level": "other",
    "models.providers.mock.apiKey": "security",  # a secret path
    "models.providers.mock.baseUrl": "other",
    "ui.seamColor": "other",
    "messages.ackReactionScope": "other",
}


@pytest.mark.parametrize(("path", "expected"), sorted(CLASSES.items()))
def test_each_path_has_the_class_an_operator_expects(path, expected):
    assert drift.classify(tuple(path.split("."))).value == expected


DEFAULTS = drift.effective_policy(None, None)
APPLIED = {
    "gateway": {"mode": "local"},
    "agents": {"defaults": {"model": {"primary": "mock/mock-1"}}},
    "models": {"providers": {"mock": {"apiKey": {"$secretRef": "clawster/mock-key"}, "baseUrl": "http://x"}}},
    "channels": {"telegram": {"enabled": True, "dmPolicy": "pairing", "allowFrom": ["111"],
                              "botToken": {"$secretRef": "clawster/tg"}}},
}
ENFORCED = {"gateway": {"port": 30000, "bind": "loopback", "auth": {"mode": "token", "token": drift.REDACTED}},
            "logging": {"file": "/x/gateway.log"}}


def _live(**changes) -> dict:
    """The live config as the gateway shows it for APPLIED (secrets redacted, its own bookkeeping added)."""
    live = json.loads(json.dumps(drift.expected_config(APPLIED, ENFORCED)))
    live["meta"] = {"lastTouchedVersion": "2026.9.6"}
    live["agents"]["entries"] = {"main": {}}  # the gateway adds its default agent as an empty object
    for dotted, value in changes.items():
        node = live
        *parents, last = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(last)
        else:
            node[last] = value
    return live


def _rows(findings) -> list[tuple[str, str, str, str]]:
    return [(f.dotted, f.op, f.drift_class.value, f.action.value) for f in findings]


def test_a_live_config_as_applied_is_no_drift_whatever_the_gateway_adds_for_itself():
    assert drift.compare(APPLIED, _live(), ENFORCED, DEFAULTS) == []


# live changes -> the findings expected with the default policy: (path, op, class, action)
COMPARISONS = [
    ({"agents__defaults__timeoutSeconds": 99}, [("agents.defaults.timeoutSeconds", "added", "agent", "adopt")]),
    ({"tools": {"profile": "full"}}, [("tools.profile", "added", "security", "revert")]),
    ({"gateway__bind": "lan"}, [("gateway.bind", "changed", "security", "revert")]),
    ({"channels__telegram__allowFrom": ["111", "222"]},
     [("channels.telegram.allowFrom", "changed", "pairing", "adopt")]),
    ({"channels__telegram__dmPolicy": "open"}, [("channels.telegram.dmPolicy", "changed", "security", "revert")]),
    ({"ui": {"seamColor": "#000000"}}, [("ui.seamColor", "added", "other", "alert")]),
    ({"models__providers__mock__baseUrl": None}, [("models.providers.mock.baseUrl", "removed", "other", "alert")]),
    # The gateway shows secrets redacted: a reference in the revision and a redacted value agree; a plain
    # value where the revision has a reference is a change of a secret.
    ({"models__providers__mock__apiKey": "plain-value"},
     [("models.providers.mock.apiKey", "changed", "security", "revert")]),
    ({"ui": {}, "agents__entries__main": {}}, []),  # empty objects set nothing
]


@pytest.mark.parametrize(("changes", "expected"), COMPARISONS)
def test_each_changed_path_is_found_classified_and_given_its_policys_action(changes, expected):
    assert _rows(drift.compare(APPLIED, _live(**changes), ENFORCED, DEFAULTS)) == expected


def test_a_secret_is_never_shown_nor_adopted():
    adopt_all = drift.effective_policy({c.value: "adopt" for c in DriftClass}, None)
    live = _live(models__providers__mock__apiKey="sk-live-value-that-leaked",
                 channels__telegram__botToken=drift.REDACTED, hooks={"token": "plain-hook-token"},
                 ui={"note": "Bearer abcdefghijklmnop1234"})
    findings = drift.compare(APPLIED, live, ENFORCED, adopt_all)
    rows = {f.dotted: f.record() for f in findings}
    # A redacted value where the revision has a reference: not drift.
    assert "channels.telegram.botToken" not in rows
    for path in ("models.providers.mock.apiKey", "hooks.token", "ui.note"):
        assert rows[path]["masked"] is True and "value" not in rows[path], rows[path]
        assert rows[path]["action"] == "alert" and "never adopted" in rows[path]["note"]
    text = json.dumps(rows)
    assert "sk-live" not in text and "plain-hook" not in text and "abcdefghijklmnop" not in text


def test_a_large_value_is_left_out_of_the_finding():
    live = _live(agents__defaults__systemPrompt="x" * 2000)
    [finding] = drift.compare(APPLIED, live, ENFORCED, DEFAULTS)
    assert "value" not in finding.record() and finding.record()["masked"] is False


def test_the_bot_overrides_the_fleet_which_overrides_the_defaults():
    policy = drift.effective_policy({"security": "alert", "agent": "revert"}, {"agent": "alert"})
    assert policy == {"pairing": {"action": "adopt", "source": "default"},
                      "agent": {"action": "alert", "source": "bot"},
                      "security": {"action": "alert", "source": "fleet"},
                      "other": {"action": "alert", "source": "default"}}
    live = _live(tools={"profile": "full"}, agents__defaults__timeoutSeconds=5)
    assert _rows(drift.compare(APPLIED, live, ENFORCED, policy)) == [
        ("agents.defaults.timeoutSeconds", "added", "agent", "alert"), ("tools.profile", "added", "security", "alert")]


@pytest.mark.parametrize(("rules", "field"), [
    ({"securty": "revert"}, "rules.securty"),
    ({"security": "ignore"}, "rules.security"),
    ({"agent": ["adopt"]}, "rules.agent"),
    ([], "rules"),
])
def test_an_unknown_class_or_action_is_refused_naming_the_field(rules, field):
    with pytest.raises(ValidationFailed) as refused:
        drift.validate_rules(rules)
    assert refused.value.details["errors"][0]["field"] == field


def test_adoption_takes_the_live_value_of_adopted_paths_only_and_keeps_references():
    live = _live(agents__defaults__timeoutSeconds=99, channels__telegram__allowFrom=["111", "222"],
                 tools={"profile": "full"}, models__providers__mock__baseUrl=None)
    policy = drift.effective_policy({"other": "adopt"}, None)
    findings = drift.compare(APPLIED, live, ENFORCED, policy)
    plan = Plan.of(findings)
    assert [f.dotted for f in plan.revert] == ["tools.profile"] and plan.alert == []
    adopted = drift.adopted_config(APPLIED, findings)
    assert adopted["agents"]["defaults"] == {"model": {"primary": "mock/mock-1"}, "timeoutSeconds": 99}
    assert adopted["channels"]["telegram"]["allowFrom"] == ["111", "222"]
    assert adopted["channels"]["telegram"]["botToken"] == {"$secretRef": "clawster/tg"}
    assert adopted["models"]["providers"]["mock"] == {"apiKey": {"$secretRef": "clawster/mock-key"}}
    assert "tools" not in adopted  # reverted, not adopted
    assert "gateway" in adopted and "port" not in adopted["gateway"]  # provider-enforced keys stay the provider's
    assert APPLIED["agents"]["defaults"] == {"model": {"primary": "mock/mock-1"}}  # the revision is not changed


def test_removing_the_last_key_of_an_object_removes_the_object():
    findings = [drift.Finding(("ui", "seamColor"), "removed", DriftClass.OTHER, DriftAction.ADOPT)]
    assert drift.adopted_config({"ui": {"seamColor": "#fff"}, "x": 1}, findings) == {"x": 1}
