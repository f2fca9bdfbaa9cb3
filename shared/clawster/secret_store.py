"""Writing connector values to Secrets Manager and moving their version stages (the adapter of
services/connectors.py and of the rotation). Reading a value for a gateway stays in clawster.secrets.

Stages follow Secrets Manager's own rotation protocol: a new value is put as AWSPENDING beside the
AWSCURRENT one; promoting moves AWSCURRENT onto it (Secrets Manager then labels the old version
AWSPREVIOUS), and retiring takes AWSPREVIOUS off the old one, so nothing resolves it by stage any more.
A stopped rotation only takes AWSPENDING off the new version: AWSCURRENT never moved.
Errors name the secret, never a value; values are never logged.
"""

from __future__ import annotations

import threading
from typing import Any

from clawster.errors import PermanentError, Unavailable

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"
_RETRYABLE = {"ThrottlingException", "InternalServiceError", "ServiceUnavailable", "RequestTimeout",
              "RequestTimeoutException", "TooManyRequestsException"}

_client: Any = None
_lock = threading.Lock()


class SecretStoreFailed(PermanentError):
    code = "SECRET_STORE_FAILED"


class SecretStoreBusy(Unavailable):
    code = "SECRET_STORE_UNAVAILABLE"


def _secretsmanager() -> Any:
    global _client
    with _lock:
        if _client is None:
            import boto3

            _client = boto3.client("secretsmanager")
        return _client


def _call(what: str, secret: str, operation: str, **kwargs: Any) -> dict[str, Any]:
    import botocore.exceptions

    try:
        return getattr(_secretsmanager(), operation)(**kwargs)
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in _RETRYABLE:
            raise SecretStoreBusy(f"Secrets Manager did not answer ({what} {secret}, {code}); retry",
                                  {"secret": secret}) from None
        raise SecretStoreFailed(f"Secrets Manager refused to {what} {secret} ({code})",
                                {"secret": secret, "aws_code": code}) from None
    except botocore.exceptions.BotoCoreError as error:
        raise SecretStoreBusy(f"Secrets Manager unreachable ({what} {secret}): {type(error).__name__}",
                              {"secret": secret}) from None


def create(name: str, value: str, *, description: str, tags: dict[str, str]) -> tuple[str, str]:
    """A new secret holding `value`; returns its ARN and the version id (AWSCURRENT)."""
    answer = _call("create", name, "create_secret", Name=name, SecretString=value, Description=description,
                   Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    return answer["ARN"], answer["VersionId"]


def put_pending(name: str, value: str, token: str) -> str:
    """`value` as a new version labelled AWSPENDING (AWSCURRENT stays where it is); returns its id.
    `token` (the rotation's id) makes a repeated call the same version."""
    answer = _call("put a new version of", name, "put_secret_value", SecretId=name, SecretString=value,
                   ClientRequestToken=token, VersionStages=[PENDING])
    return answer["VersionId"]


def value(name: str, version_id: str) -> str:
    answer = _call("read", name, "get_secret_value", SecretId=name, VersionId=version_id)
    return answer["SecretString"]


def current_value(name: str) -> str:
    # The stage named: moto's unnamed read ignores a stage moved by UpdateSecretVersionStage (clawster.secrets).
    return _call("read", name, "get_secret_value", SecretId=name, VersionStage=CURRENT)["SecretString"]


def stages(name: str) -> dict[str, list[str]]:
    """{version id: its stage labels}."""
    return dict(_call("describe", name, "describe_secret", SecretId=name).get("VersionIdsToStages") or {})


def promote(name: str, new_version: str, old_version: str) -> None:
    """AWSCURRENT onto the new version (the old one becomes AWSPREVIOUS); its AWSPENDING label goes."""
    if CURRENT not in stages(name).get(new_version, []):
        _call("promote", name, "update_secret_version_stage", SecretId=name, VersionStage=CURRENT,
              MoveToVersionId=new_version, RemoveFromVersionId=old_version)
    discard_pending(name, new_version)


def retire(name: str, old_version: str) -> None:
    """The old version keeps no stage: nothing resolves it any more (Secrets Manager deletes unlabelled
    versions in time)."""
    for label in stages(name).get(old_version, []):
        if label == CURRENT:
            raise SecretStoreFailed(f"will not retire the current version of {name}", {"secret": name})
        _call("retire", name, "update_secret_version_stage", SecretId=name, VersionStage=label,
              RemoveFromVersionId=old_version)


def discard_pending(name: str, version: str) -> None:
    if PENDING in stages(name).get(version, []):
        _call("discard the pending version of", name, "update_secret_version_stage", SecretId=name,
              VersionStage=PENDING, RemoveFromVersionId=version)


def delete(name: str) -> None:
    """Scheduled for deletion after Secrets Manager's shortest recovery window (7 days)."""
    try:
        _call("delete", name, "delete_secret", SecretId=name, RecoveryWindowInDays=7)
    except SecretStoreFailed as error:
        if error.details.get("aws_code") != "ResourceNotFoundException":
            raise
