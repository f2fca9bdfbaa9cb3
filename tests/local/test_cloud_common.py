"""What the cloud adapters share, against the stack's Secrets Manager (moto): the control plane's copy of each bot's
token and config, and an upgrade's backups. Expectations are written out here from the contract the adapters rely
on: made once, a new version only when the value changed, the five newest backups kept, all gone on delete."""

from __future__ import annotations

import itertools

import pytest

from layers.providers.cloud.common import BotSecrets, ConfigBackups
from layers.providers.errors import GatewayNotFound

_bots = itertools.count()


@pytest.fixture
def secrets(stack):
    return BotSecrets(stack._client("secretsmanager"))


def versions(secrets: BotSecrets, arn: str) -> int:
    return len(secrets.client.list_secret_version_ids(SecretId=arn)["Versions"])


def test_the_token_is_made_once_and_the_config_gets_a_version_only_when_it_changes(secrets):
    bot = f"common-{next(_bots)}"
    token = secrets.token(bot)
    assert token.name == f"clawster/gateways/{bot}/token"
    value = secrets.value(token)
    assert len(value) >= 40 and secrets.token(bot) == token and secrets.value(token) == value  # a retry: same token
    config = secrets.config(bot, {"ui": {"seamColor": "#111111"}})
    secrets.config(bot, {"ui": {"seamColor": "#111111"}})
    assert versions(secrets, config.arn) == 1
    secrets.config(bot, {"ui": {"seamColor": "#222222"}})
    assert versions(secrets, config.arn) == 2 and '"#222222"' in secrets.value(config)
    secrets.delete(bot)
    secrets.delete(bot)  # again: nothing left, no error
    assert secrets.find(bot, "token") is None and secrets.find(bot, "config") is None


def test_backups_keep_the_five_newest_and_a_key_taken_stands(secrets):
    bot = f"common-{next(_bots)}"
    backups = ConfigBackups(secrets)
    for n in range(7):
        backups.keep(bot, f"exec-{n}", f"2026.9.{n}", {"n": n})
    backups.keep(bot, "exec-6", "9999.1.1", {"n": "overwritten?"})  # a retried backup step
    assert backups.read(bot, "exec-6") == ("2026.9.6", {"n": 6})
    assert backups.read(bot, "exec-2") == ("2026.9.2", {"n": 2})
    for gone in ("exec-0", "exec-1"):
        with pytest.raises(GatewayNotFound):
            backups.read(bot, gone)
    backups.delete_all(bot)
    backups.delete_all(bot)
    with pytest.raises(GatewayNotFound):
        backups.read(bot, "exec-6")
