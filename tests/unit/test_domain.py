"""Pure domain rules: permissions, config policy, bot intents, diff, ids."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from clawster import ids
from clawster.domain import config_policy
from clawster.domain.diff import diff
from clawster.domain.errors import ValidationFailed
from clawster.domain.roles import Role, allows
from clawster.domain.templates import TEMPLATES, deep_merge


def test_roles_are_ordered_and_the_table_is_monotonic():
    assert allows(Role.OWNER, "workspace.delete") and not allows(Role.ADMIN, "workspace.delete")
    assert allows(Role.OPERATOR, "bot.lifecycle") and not allows(Role.VIEWER, "bot.lifecycle")
    assert not allows(None, "fleet.read") and allows(None, "workspace.create")
    for action in ("fleet.create", "bot.delete", "audit.list", "member.put"):
        granted = [r for r in Role if allows(r, action)]
        assert granted == [r for r in Role if r.rank >= min(g.rank for g in granted)]


@pytest.mark.parametrize("config,field", [
    ({"gateway": {"auth": {"token": "abc"}}}, "config.gateway.auth.token"),
    ({"models": {"providers": {"x": {"apiKey": "sk"}}}}, "config.models.providers.x.apiKey"),
    ({"channels": [{"password": "p"}]}, "config.channels[0].password"),
    ({"a": {"$secretRef": 42}}, "config.a"),
])
def test_plaintext_secrets_are_refused_with_their_path(config, field):
    with pytest.raises(ValidationFailed) as refused:
        config_policy.check_config(config)
    assert refused.value.details["errors"][0]["field"] == field


def test_secret_references_and_non_secret_settings_pass():
    config = {"gateway": {"auth": {"token": {"$secretRef": "clawster/bot/token"}}},
              "models": {"providers": {"mock": {"baseUrl": "http://127.0.0.1:29999/v1",
                                                "models": [{"id": "m", "name": "M", "maxTokens": 1024}]}}}}
    canonical = config_policy.check_config(config)
    assert config_policy.config_hash(canonical) == config_policy.config_hash(config_policy.canonical_json(config))
    for template in TEMPLATES.values():
        config_policy.check_config(template.config)


def test_oversized_config_is_refused():
    with pytest.raises(ValidationFailed):
        config_policy.check_config({"blob": "x" * (config_policy.MAX_CONFIG_BYTES + 1)})


def test_diff_and_merge():
    assert diff({"a": 1, "b": 2, "version": 1}, {"a": 1, "b": 3, "version": 2}) == {"b": {"from": 2, "to": 3}}
    assert diff(None, {"a": 1}) == {"a": {"from": None, "to": 1}}
    assert deep_merge({"x": {"y": 1, "z": 2}}, {"x": {"y": 5}, "w": [1]}) == {"x": {"y": 5, "z": 2}, "w": [1]}


def test_ulid_time_bounds():
    moment = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)
    assert ids.id_floor(moment) < ids.id_ceiling(moment)
    assert ids.id_floor(datetime(2026, 11, 24, 12)) == ids.id_floor(moment)  # naive means UTC
    assert ids.id_floor(datetime(1, 1, 1, tzinfo=timezone.utc)) == "0" * 26
    assert ids.is_id(ids.new_id()) and not ids.is_id("../etc")
