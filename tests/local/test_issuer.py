"""The local issuer: Cognito-shaped claims, a private key that persists, and strict verification."""

from __future__ import annotations

import stat

import jwt
import pytest

from clawster.local.issuer import KEY_FILE, InvalidToken, Issuer


def test_tokens_carry_cognito_claims_and_verify(tmp_path):
    issuer = Issuer(tmp_path)
    claims = issuer.verify(issuer.issue("alice", ttl_s=60))
    assert claims["sub"] == "alice" and claims["cognito:username"] == "alice"
    assert claims["token_use"] == "id" and claims["exp"] - claims["iat"] == 60
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600


def test_the_key_survives_a_restart(tmp_path):
    token = Issuer(tmp_path).issue("bob")
    assert Issuer(tmp_path).verify(token)["sub"] == "bob"


@pytest.mark.parametrize("forge", ["expired", "other-key", "none-alg", "hmac-with-public-key", "garbage", "empty"])
def test_bad_tokens_are_refused(tmp_path, forge):
    issuer = Issuer(tmp_path)
    good = issuer.issue("carol")
    claims = jwt.decode(good, options={"verify_signature": False})
    token = {
        "expired": issuer.issue("carol", ttl_s=-5),
        "other-key": Issuer(tmp_path / "elsewhere").issue("carol"),
        "none-alg": jwt.encode(claims, key=None, algorithm="none"),
        "hmac-with-public-key": jwt.encode(claims, "not the private key at all, just some HMAC secret",
                                           algorithm="HS256"),
        "garbage": "a.b.c",
        "empty": "",
    }[forge]
    with pytest.raises(InvalidToken):
        issuer.verify(token)
