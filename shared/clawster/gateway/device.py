"""Ed25519 device identity for the WebSocket handshake (protocol v4, signature payload v3)."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class DeviceIdentity:
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> DeviceIdentity:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> DeviceIdentity:
        """The same identity across restarts, so the gateway's pairing record stays valid."""
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            assert isinstance(key, Ed25519PrivateKey), f"{path} is not an Ed25519 key"
            return cls(key)
        identity = cls.generate()
        pem = identity.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        return identity

    @property
    def public_key_raw(self) -> bytes:
        return self.private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def device_id(self) -> str:
        return hashlib.sha256(self.public_key_raw).hexdigest()

    def connect_block(
        self, *, client: dict, role: str, scopes: list[str], auth_secret: str, nonce: str, signed_at_ms: int
    ) -> dict:
        """The `device` object of connect params, signed over the documented v3 string."""
        payload = "|".join(
            [
                "v3",
                self.device_id,
                client["id"],
                client["mode"],
                role,
                ",".join(scopes),
                str(signed_at_ms),
                auth_secret,
                nonce,
                client.get("platform", "").lower(),
                client.get("deviceFamily", "").lower(),
            ]
        )
        return {
            "id": self.device_id,
            "publicKey": b64url(self.public_key_raw),
            "signature": b64url(self.private_key.sign(payload.encode())),
            "signedAt": signed_at_ms,
            "nonce": nonce,
        }
