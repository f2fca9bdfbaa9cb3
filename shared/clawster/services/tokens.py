"""Verify the operators' ID tokens where no API Gateway authorizer did it for us: the stream API's
$connect (a Lambda REQUEST authorizer). On AWS the keys are the Cognito user pool's JWKS; locally the
local issuer's, served by the local stack. Only RS256, with issuer, audience, expiry and
`token_use = id` checked: the same tokens the REST API's Cognito authorizer accepts.

Configured from the environment (the CDK app and the local stack set it): TOKEN_ISSUER, TOKEN_AUDIENCE,
JWKS_URL. TOKEN_AUDIENCE is a comma-separated list: a Cognito ID token's `aud` is the app client that signed
the user in, and the CLI and the web console are two clients of one pool.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import jwt

JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
SUBPROTOCOL = "clawster"  # what a client offers beside its token in Sec-WebSocket-Protocol, and the server selects


class InvalidToken(Exception):
    """Missing, malformed, expired, or not signed by the configured issuer."""


@dataclass(frozen=True)
class TokenSettings:
    issuer: str
    audiences: tuple[str, ...]  # a token naming any one of them is accepted
    jwks_url: str


def settings() -> TokenSettings:
    names = ("TOKEN_ISSUER", "TOKEN_AUDIENCE", "JWKS_URL")
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} not set: the authorizer was deployed without its user pool")
    audiences = tuple(a.strip() for a in os.environ["TOKEN_AUDIENCE"].split(",") if a.strip())
    if not audiences:
        raise RuntimeError("TOKEN_AUDIENCE names no app client")
    return TokenSettings(os.environ["TOKEN_ISSUER"], audiences, os.environ["JWKS_URL"])


def token_of(query: dict[str, Any] | None, headers: dict[str, Any] | None) -> str | None:
    """The token of a WebSocket handshake: `?token=<jwt>`, else the JWT among the Sec-WebSocket-Protocol
    values (browsers can set no other header: the client offers "clawster, <jwt>")."""
    if query and query.get("token"):
        return str(query["token"])
    lowered = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    offered = [p.strip() for p in lowered.get("sec-websocket-protocol", "").split(",")]
    return next((p for p in offered if JWT_SHAPE.match(p)), None)


def offers_subprotocol(headers: dict[str, Any] | None) -> bool:
    lowered = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    return SUBPROTOCOL in [p.strip() for p in lowered.get("sec-websocket-protocol", "").split(",")]


def verify(token: str | None) -> dict[str, Any]:
    """The token's claims, or InvalidToken."""
    if not token:
        raise InvalidToken("no token: send ?token=<ID token> or Sec-WebSocket-Protocol: clawster, <ID token>")
    config = settings()
    try:
        key = _jwks(config.jwks_url).get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=list(config.audiences), issuer=config.issuer,
                            options={"require": ["sub", "exp", "iat"]}, leeway=30)
    except (jwt.PyJWTError, jwt.PyJWKClientError) as error:
        raise InvalidToken(str(error)) from None
    if claims.get("token_use") != "id":
        raise InvalidToken("not an ID token")
    return claims


@cache
def _jwks(url: str) -> jwt.PyJWKClient:
    # Keys are cached for the life of the instance and refetched on an unknown kid (key rotation).
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)
