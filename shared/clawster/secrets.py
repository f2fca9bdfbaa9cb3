"""Resolving secret references (clawster.domain.secret_refs, the one format) to their values, at
the last moment and only where a value is needed (a provider injecting a gateway's token; never the
API, which stores and serves references only). Secrets Manager is moto in the local stack and the
tests; `file:` is the local provider's 0600 store. Values are never logged: errors name the
reference, not what it holds.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from clawster.domain.secret_refs import FILE, SecretRef
from clawster.errors import PermanentError, Unavailable


class SecretNotFound(PermanentError):
    code = "SECRET_NOT_FOUND"


class SecretAccessDenied(PermanentError):
    code = "SECRET_ACCESS_DENIED"


class SecretStoreUnavailable(Unavailable):
    code = "SECRET_STORE_UNAVAILABLE"


# Secrets Manager's answers that trying again can fix; any other error code is permanent.
_RETRYABLE_CODES = {"ThrottlingException", "InternalServiceError", "ServiceUnavailable", "RequestTimeout",
                    "RequestTimeoutException", "TooManyRequestsException"}
_NOT_FOUND_CODES = {"ResourceNotFoundException"}


class SecretResolver:
    """Resolves references. `secretsmanager` is a boto3 client, made on first use when not given
    (region and endpoint from the environment, so moto's server when AWS_ENDPOINT_URL points at it)."""

    def __init__(self, secretsmanager: Any = None):
        self._client = secretsmanager
        self._lock = threading.Lock()

    def resolve(self, ref: str | SecretRef) -> str:
        parsed = ref if isinstance(ref, SecretRef) else SecretRef.parse(ref, allow_file=True)
        if parsed.store == FILE:
            return _read_file(parsed)
        return self._from_secrets_manager(parsed)

    def _from_secrets_manager(self, ref: SecretRef) -> str:
        import botocore.exceptions

        try:
            # The stage named, though AWS defaults to it: moto answers an unnamed read with the version that
            # was current at the last PutSecretValue, not the one a rotation moved AWSCURRENT to.
            answer = self._secretsmanager().get_secret_value(SecretId=ref.id, VersionStage="AWSCURRENT")
        except botocore.exceptions.ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            raise _classified(code, ref) from None
        except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError,
                botocore.exceptions.ReadTimeoutError, botocore.exceptions.ConnectTimeoutError) as error:
            raise SecretStoreUnavailable(f"Secrets Manager unreachable for {ref}: {type(error).__name__}",
                                         {"ref": str(ref)}) from None
        if "SecretString" in answer:
            return answer["SecretString"]
        return answer["SecretBinary"].decode()

    def _secretsmanager(self) -> Any:
        with self._lock:
            if self._client is None:
                import boto3

                self._client = boto3.client("secretsmanager")
            return self._client


def _classified(code: str, ref: SecretRef) -> Exception:
    details = {"ref": str(ref), "aws_code": code}
    if code in _NOT_FOUND_CODES:
        return SecretNotFound(f"no secret {ref}", details)
    if code in _RETRYABLE_CODES:
        return SecretStoreUnavailable(f"Secrets Manager did not answer for {ref} ({code}); retry", details)
    return SecretAccessDenied(f"Secrets Manager refused {ref} ({code})", details)  # denied, deleted, KMS...


def _read_file(ref: SecretRef) -> str:
    try:
        return Path(ref.id).read_text().strip()
    except FileNotFoundError:
        raise SecretNotFound(f"no secret {ref}", {"ref": str(ref)}) from None
    except PermissionError:
        raise SecretAccessDenied(f"may not read {ref}", {"ref": str(ref)}) from None


_default = SecretResolver()


def resolve(ref: str | SecretRef) -> str:
    """The value behind `ref`, with the process's shared resolver."""
    return _default.resolve(ref)
