"""The offline checks of a connection test, against a hand-written table of good and bad values per kind.
Liveness needs the provider's network: a value of the right shape is "untested", never "passed".
Values are assembled from parts, so no secret scanner takes this file for a leak."""

from __future__ import annotations

import base64
import json

import pytest

from clawster.domain.connectors import FAILED, UNTESTED, offline_test

DISCORD_ID = base64.urlsafe_b64encode(b"112233445566778899").decode().rstrip("=")  # a snowflake, 18 digits
GOOD = [
    ("openai", "sk-" + "proj-" + "A1b2" * 10),
    ("anthropic", "sk-" + "ant-" + "api03-" + "Zz9" * 10),
    ("slack-bot", "xox" + "b-" + "1234567890-" + "9876543210-" + "AbCdEfGhIjKlMnOpQrStUvWx"),
    ("slack-app", "xap" + "p-1-" + "A0123ABCD-" + "1234567890123-" + "0f" * 32),
    ("telegram", "123456789:" + "AAH" + "x" * 32),
    ("discord", DISCORD_ID + "." + "GhIjKl" + "." + "M" * 38),
    ("webhook", "https://hooks.example.com/services/T000/B000"),
    ("generic", "anything at all"),
]
BAD = [
    ("openai", "pk-" + "A1b2" * 10, "prefix"),
    ("openai", "sk-short", "prefix"),
    ("anthropic", "sk-" + "proj-" + "A1b2" * 10, "prefix"),  # an OpenAI key given as an Anthropic one
    ("slack-bot", "xox" + "p-" + "1234567890-9876543210-AbCdEfGhIjKlMnOpQrStUvWx", "prefix"),  # a user token
    ("slack-app", "xox" + "b-" + "1234567890-9876543210-AbCdEfGhIjKlMnOpQrStUvWx", "prefix"),
    ("telegram", "123456789:" + "short", "shape"),
    ("telegram", "bot123456789:" + "AAH" + "x" * 32, "shape"),
    ("discord", "not.a.token", "shape"),
    ("discord", base64.urlsafe_b64encode(b"not-a-user-id-at-all").decode().rstrip("=")[:24] + ".GhIjKl." + "M" * 38,
     "user-id"),
    ("webhook", "http://hooks.example.com/x", "url"),
    ("webhook", "https://user:pw@hooks.example.com/x", "url"),
    ("webhook", "not a url", "url"),
    ("generic", " padded ", "whitespace"),
    ("openai", "sk-" + "proj-" + "A1b2" * 10 + "\n", "whitespace"),
]


@pytest.mark.parametrize(("kind", "value"), GOOD, ids=[k for k, _ in GOOD])
def test_a_well_formed_value_is_untested_not_passed(kind, value):
    result = offline_test(kind, value)
    assert result.result == UNTESTED, result
    assert result.checks[-1].name == "live" and result.checks[-1].status == UNTESTED
    assert all(c.status == "passed" for c in result.checks[:-1]), result
    assert value not in json.dumps(result.as_dict())


@pytest.mark.parametrize(("kind", "value", "check"), BAD, ids=[f"{k}-{c}-{i}" for i, (k, _, c) in enumerate(BAD)])
def test_a_malformed_value_fails_naming_the_check_never_the_value(kind, value, check):
    result = offline_test(kind, value)
    assert result.result == FAILED, result
    assert check in [c.name for c in result.checks if c.status == FAILED], result
    assert "live" not in [c.name for c in result.checks]  # nothing is said about liveness of a malformed value
    assert value.strip() not in json.dumps(result.as_dict())
