"""The local stack's stand-in for Cognito: RS256 ID tokens signed with a key kept in the state
directory (mode 0600), carrying the claims a Cognito user pool authorizer hands to a function."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "clawster-local"
AUDIENCE = "clawster-local"
KEY_FILE = "issuer-key.pem"


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not signed by this issuer."""


class Issuer:
    def __init__(self, state_dir: Path | str):
        self.state_dir = Path(state_dir)
        self._private = _load_or_create_key(self.state_dir / KEY_FILE)
        self._public = self._private.public_key()
        self.kid = _thumbprint(self._public_jwk())

    def issue(self, user: str, ttl_s: int = 3600, email: str | None = None) -> str:
        now = int(time.time())
        claims = {
            "sub": user,
            "cognito:username": user,
            "email": email or f"{user}@local.invalid",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "token_use": "id",
            "iat": now,
            "exp": now + ttl_s,
        }
        return jwt.encode(claims, self._private, algorithm="RS256", headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        """The public key as a JWK Set, as Cognito publishes its pool's keys (the stream API's authorizer reads it)."""
        return {"keys": [{**self._public_jwk(), "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def _public_jwk(self) -> dict[str, Any]:
        return json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._public))

    def verify(self, token: str | None) -> dict[str, Any]:
        """The token's claims, or InvalidToken. Only RS256 is accepted (never "none" or HMAC)."""
        if not token:
            raise InvalidToken("no bearer token")
        try:
            return jwt.decode(token, self._public, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER,
                              options={"require": ["sub", "exp", "iat"]})
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from None


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: the key id is the SHA-256 of the key's required members, base64url."""
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).decode().rstrip("=")


def _load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        # Write privately, then link into place: two processes racing (the stack and `clawster token`)
        # both end up with the key that won, never a half-written file.
        temp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
        finally:
            temp.unlink()
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key
