"""`clawster login` on AWS: Cognito's USER_PASSWORD_AUTH flow from the CLI's app client, with the
challenges the deployed user pool raises (a new password on first sign-in, TOTP MFA set-up, then an
MFA code on every sign-in). The result is Cognito's ID token (what the API's authorizer reads) and a
refresh token. These calls are unsigned: no AWS credentials are needed, only the app client id."""

from __future__ import annotations

import sys
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from clawster.cli.exits import CliError, ExitCode

Ask = Callable[[str, bool], str]  # (prompt, secret) -> answer
MAX_CHALLENGES = 5


def _client(region: str | None) -> Any:
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    if not region:
        raise CliError(ExitCode.CONFIG, "Cognito login needs --region (or `region` in the profile)")
    return boto3.client("cognito-idp", region_name=region, config=Config(signature_version=UNSIGNED))


def login(client_id: str, region: str | None, username: str, ask: Ask) -> dict[str, str]:
    """{"id_token", "refresh_token"} for this user, answering each challenge through `ask`."""
    client = _client(region)
    with _cognito_errors():
        reply = client.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                     AuthParameters={"USERNAME": username, "PASSWORD": ask("Password", True)})
        for _ in range(MAX_CHALLENGES):
            if "AuthenticationResult" in reply:
                result = reply["AuthenticationResult"]
                return {"id_token": result["IdToken"], "refresh_token": result.get("RefreshToken", "")}
            reply = _answer(client, client_id, username, reply, ask)
    raise CliError(ExitCode.AUTH, "Cognito kept asking for more challenges; giving up")


def refresh(client_id: str, region: str | None, refresh_token: str) -> str:
    """A new ID token from the refresh token `login` stored."""
    with _cognito_errors():
        reply = _client(region).initiate_auth(ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                                              AuthParameters={"REFRESH_TOKEN": refresh_token})
    return reply["AuthenticationResult"]["IdToken"]


def _answer(client: Any, client_id: str, username: str, reply: dict, ask: Ask) -> dict:
    challenge, session = reply["ChallengeName"], reply["Session"]
    parameters = reply.get("ChallengeParameters") or {}
    # With e-mail sign-in, Cognito names the user by its internal id in the challenge.
    user = parameters.get("USER_ID_FOR_SRP") or parameters.get("USERNAME") or username
    responses = {"USERNAME": user}
    if challenge == "NEW_PASSWORD_REQUIRED":
        responses["NEW_PASSWORD"] = ask("New password (first sign-in)", True)
    elif challenge == "SOFTWARE_TOKEN_MFA":
        responses["SOFTWARE_TOKEN_MFA_CODE"] = ask("MFA code", False)
    elif challenge == "MFA_SETUP":
        secret = client.associate_software_token(Session=session)
        uri = f"otpauth://totp/Clawster:{urllib.parse.quote(username)}?secret={secret['SecretCode']}&issuer=Clawster"
        print(f"MFA is required: add this key to an authenticator app, then enter its code.\n"
              f"  key: {secret['SecretCode']}\n  uri: {uri}", file=sys.stderr)
        verified = client.verify_software_token(Session=secret["Session"], UserCode=ask("MFA code", False),
                                                FriendlyDeviceName="clawster-cli")
        session = verified["Session"]
    else:
        raise CliError(ExitCode.AUTH, f"Cognito asks for {challenge}, which `clawster login` does not handle")
    return client.respond_to_auth_challenge(ClientId=client_id, ChallengeName=challenge, Session=session,
                                            ChallengeResponses=responses)


EXIT_BY_CODE = {
    "NotAuthorizedException": ExitCode.AUTH, "UserNotFoundException": ExitCode.AUTH,
    "CodeMismatchException": ExitCode.AUTH, "ExpiredCodeException": ExitCode.AUTH,
    "EnableSoftwareTokenMFAException": ExitCode.AUTH, "UserNotConfirmedException": ExitCode.AUTH,
    "PasswordResetRequiredException": ExitCode.AUTH,
    "InvalidPasswordException": ExitCode.VALIDATION, "InvalidParameterException": ExitCode.VALIDATION,
    "ResourceNotFoundException": ExitCode.CONFIG,
}


@contextmanager
def _cognito_errors() -> Iterator[None]:
    """Cognito's and the network's failures as one-line CliErrors."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if code == "ResourceNotFoundException":
            message += " (is the app client id right?)"
        raise CliError(EXIT_BY_CODE.get(code, ExitCode.FAILURE), f"Cognito: {code}: {message}") from None
    except EndpointConnectionError as error:
        raise CliError(ExitCode.UNREACHABLE, f"cannot reach Cognito: {error}") from None
    except BotoCoreError as error:
        raise CliError(ExitCode.FAILURE, f"Cognito: {error}") from None
