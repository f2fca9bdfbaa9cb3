"""Where a pairing approval goes in a bot's config (the OpenClaw schema of its version), written by hand."""

from __future__ import annotations

import pytest

from clawster.domain import pairing
from clawster.domain.errors import ValidationFailed


@pytest.mark.parametrize(("channel", "account", "path"), [
    ("telegram", None, ("channels", "telegram", "allowFrom")),
    ("slack", None, ("channels", "slack", "allowFrom")),
    ("matrix", None, ("channels", "matrix", "dm", "allowFrom")),  # matrix keeps DM senders under dm
    ("telegram", "work", ("channels", "telegram", "accounts", "work", "allowFrom")),
])
def test_the_allow_list_of_each_channel_is_where_openclaw_keeps_it(channel, account, path):
    assert pairing.allow_from_path(channel, account, None) == path


@pytest.mark.parametrize(("channel", "account", "field"), [
    ("telegramm", None, "channel"),  # no such channel
    ("defaults", None, "channel"),
    ("msteams", "work", "account"),  # msteams has no accounts
])
def test_a_channel_or_account_openclaw_does_not_have_is_refused_by_name(channel, account, field):
    with pytest.raises(ValidationFailed) as refused:
        pairing.allow_from_path(channel, account, None)
    assert refused.value.details["errors"][0]["field"] == field


def test_a_sender_joins_the_list_once_and_the_config_read_is_not_changed():
    config = {"channels": {"telegram": {"enabled": False, "allowFrom": ["111"]}}}
    path = ("channels", "telegram", "allowFrom")
    added = pairing.with_sender(config, path, "222")
    assert added == {"channels": {"telegram": {"enabled": False, "allowFrom": ["111", "222"]}}}
    assert config["channels"]["telegram"]["allowFrom"] == ["111"]
    assert pairing.with_sender(added, path, "222") is None  # allowed already: nothing to change
    assert pairing.with_sender({"channels": {"telegram": {"allowFrom": [111]}}}, path, "111") is None  # a number
    fresh = pairing.with_sender({"channels": {"telegram": {}}}, path, "9")
    assert fresh == {"channels": {"telegram": {"allowFrom": ["9"]}}}


def test_a_channel_the_bot_does_not_have_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        pairing.with_sender({"gateway": {"mode": "local"}}, ("channels", "slack", "allowFrom"), "U1")
    assert refused.value.details["errors"][0]["field"] == "channel"
