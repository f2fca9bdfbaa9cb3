"""The diff between two configs, against hand-written expectations."""

from __future__ import annotations

from clawster.domain.diff import config_diff

REF_A, REF_B = {"$secretRef": "bots/a"}, {"$secretRef": "bots/b"}


def test_equal_configs_have_no_changes():
    config = {"gateway": {"mode": "local", "auth": {"token": REF_A}}, "plugins": {"allow": ["x"]}}
    assert config_diff(config, dict(config)) == []


def test_changes_are_leaves_in_path_order_with_their_values():
    before = {"gateway": {"mode": "local", "port": 1}, "ui": {"seamColor": "#000000"}, "old": {"a": 1, "b": {"c": 2}}}
    after = {"gateway": {"mode": "remote", "port": 1}, "ui": {"seamColor": "#000000", "assistant": {"name": "x"}},
             "new": {}}
    assert config_diff(before, after) == [
        {"path": "gateway.mode", "op": "changed", "from": "local", "to": "remote"},
        {"path": "new", "op": "added", "to": {}},
        {"path": "old.a", "op": "removed", "from": 1},
        {"path": "old.b.c", "op": "removed", "from": 2},
        {"path": "ui.assistant.name", "op": "added", "to": "x"},
    ]


def test_a_list_and_a_secret_reference_are_single_values():
    before = {"plugins": {"allow": ["a", "b"]}, "gateway": {"auth": {"token": REF_A}}}
    after = {"plugins": {"allow": ["a", "c"]}, "gateway": {"auth": {"token": REF_B}}}
    assert config_diff(before, after) == [
        {"path": "gateway.auth.token", "op": "changed", "from": REF_A, "to": REF_B},
        {"path": "plugins.allow", "op": "changed", "from": ["a", "b"], "to": ["a", "c"]},
    ]
    # A reference replacing an object (or the other way) is one change, not a walk into "$secretRef".
    assert config_diff({"k": {"x": 1}}, {"k": REF_A}) == [{"path": "k", "op": "changed", "from": {"x": 1}, "to": REF_A}]
    assert config_diff({}, {"k": REF_A}) == [{"path": "k", "op": "added", "to": REF_A}]


def test_a_value_replaced_by_an_object_is_one_change():
    assert config_diff({"a": 1}, {"a": {"b": 2}}) == [{"path": "a", "op": "changed", "from": 1, "to": {"b": 2}}]
