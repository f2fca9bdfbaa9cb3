"""`clawster login` against Cognito (moto's cognito-idp, in the test stack's moto server): first
sign-in with a new password and MFA set-up, then password + MFA code, a wrong password, and the
refresh of an expired token. The token saved is a real Cognito ID token, checked with the pool's keys."""

from __future__ import annotations

import time
import tomllib
import uuid

import boto3
import jwt
import pytest

from tests.e2e.cli_runner import clawster, fails, ok

TEMPORARY, PASSWORD = "Temp-Passw0rd!", "N3w-Passw0rd!x"


@pytest.fixture
def pool(stack):
    """A user pool like the deployed one (MFA required, TOTP) with the CLI's app client and one
    invited user; (pool id, client id, user name)."""
    idp = boto3.client("cognito-idp", endpoint_url=stack.moto_url, region_name="us-east-1")
    pool_id = idp.create_user_pool(PoolName=f"clawster-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, SoftwareTokenMfaConfiguration={"Enabled": True},
                                 MfaConfiguration="ON")
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="cli", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="alice", TemporaryPassword=TEMPORARY)
    return pool_id, client_id, "alice"


def _login(stack, tmp_path, client_id, answers, *extra):
    config = tmp_path / "config.toml"
    return clawster("--config", str(config), "--profile", "aws", "login", "--api-url", stack.api_url,
                    "--cognito-client-id", client_id, "--region", "us-east-1", "--username", "alice",
                    "--password-stdin", *extra, home=tmp_path, stdin="".join(a + "\n" for a in answers),
                    env={"AWS_ENDPOINT_URL": stack.moto_url}), config


def _verified(stack, pool_id, client_id, token):
    keys = jwt.PyJWKClient(f"{stack.moto_url}/{pool_id}/.well-known/jwks.json")
    return jwt.decode(token, keys.get_signing_key_from_jwt(token).key, algorithms=["RS256"], audience=client_id,
                      issuer=f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}")


def test_first_login_sets_a_password_and_mfa_then_saves_the_id_token_privately(stack, tmp_path, pool):
    pool_id, client_id, user = pool
    run, config = _login(stack, tmp_path, client_id, [TEMPORARY, PASSWORD, "123456"])
    ok(run)
    assert "MFA is required" in run.stderr and "otpauth://totp/Clawster:alice?secret=" in run.stderr
    assert PASSWORD not in run.stdout + run.stderr
    assert config.stat().st_mode & 0o777 == 0o600
    profile = tomllib.loads(config.read_text())["profiles"]["aws"]
    assert profile["cognito_client_id"] == client_id and profile["region"] == "us-east-1"
    assert profile["username"] == user and profile["api_url"] == stack.api_url and profile["refresh_token"]
    claims = _verified(stack, pool_id, client_id, profile["token"])
    assert claims["token_use"] == "id" and claims["cognito:username"] == user

    # Next time: password and MFA code, nothing else.
    again, _ = _login(stack, tmp_path, client_id, [PASSWORD, "654321"])
    ok(again)
    assert "MFA is required" not in again.stderr
    fails(_login(stack, tmp_path, client_id, ["Wrong-Passw0rd!"])[0], 3, "NotAuthorizedException")
    fails(_login(stack, tmp_path, "nosuchclient", [PASSWORD])[0], 8, "app client id")
    fails(_login(stack, tmp_path, client_id, [])[0], 2, "stdin ended before the password")


def test_an_expired_token_is_refreshed_with_the_saved_refresh_token(stack, tmp_path, pool):
    pool_id, client_id, _ = pool
    ok(_login(stack, tmp_path, client_id, [TEMPORARY, PASSWORD, "123456"])[0])
    config = tmp_path / "config.toml"
    expired = jwt.encode({"sub": "alice", "exp": int(time.time()) - 600}, "k" * 32, algorithm="HS256")
    text = config.read_text()
    old = tomllib.loads(text)["profiles"]["aws"]["token"]
    config.write_text(text.replace(old, expired))

    # The local API does not accept Cognito tokens (401 -> exit 3); the refresh happened before that.
    run = clawster("--config", str(config), "whoami", home=tmp_path, env={"AWS_ENDPOINT_URL": stack.moto_url})
    fails(run, 3, "401")
    fresh = tomllib.loads(config.read_text())["profiles"]["aws"]["token"]
    assert fresh != expired
    assert _verified(stack, pool_id, client_id, fresh)["exp"] > time.time()
