"""The stream API's $connect authorizer (Lambda, REQUEST): the caller's ID token, from the query string
or Sec-WebSocket-Protocol, verified against the user pool's keys. Allowed, the caller's identity
travels in the authorizer context to every route of the connection; refused, API Gateway answers the
handshake 401 (the function raises "Unauthorized")."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from clawster.services import tokens

logger = Logger(service="clawster")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    token = tokens.token_of(event.get("queryStringParameters"), event.get("headers"))
    try:
        claims = tokens.verify(token)
    except tokens.InvalidToken as error:
        logger.info("connect refused", extra={"reason": str(error)[:200]})
        raise Exception("Unauthorized") from None  # noqa: TRY002  # the exact text API Gateway maps to 401
    return {
        "principalId": claims["sub"],
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}]},
        "context": {"sub": claims["sub"], "email": str(claims.get("email") or "")},
    }
