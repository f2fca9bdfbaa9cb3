"""The local stack's Secrets Manager survives a restart of `clawster dev`, as its table does.

moto keeps secrets in memory only, so a restart lost every connector's value while the table still named
it. Here every successful write to moto's Secrets Manager (create, put a version, move a stage, tag,
delete, restore) rewrites `<state>/secrets.json` (0600, written to a temporary file, fsync'd and renamed,
before the response is sent), and the next start puts the secrets back through the API: each version
under its own id with its stages, so AWSCURRENT, AWSPENDING and AWSPREVIOUS are where they were.

The values are on the local disk in plain text, in the state folder only, as the local provider keeps
each gateway's token in a 0600 file: this is the development stack, never AWS. A dev stack holds a few
secrets, so the whole file is rewritten on each write.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger("local.secrets")

FILE = "secrets.json"
_MUTATIONS = ("create_secret", "put_secret_value", "update_secret", "update_secret_version_stage",
              "delete_secret", "restore_secret", "tag_resource", "untag_resource")
_RETIRED = "clawster-restoring"  # a stage a version without stages is put back under, then taken off
_lock = threading.Lock()
_files: set[Path] = set()  # the running stacks' files (tests may run several stacks in one process)
_restoring = threading.local()


def install() -> None:
    """Wrap moto's Secrets Manager write handlers once per process: after one succeeds, save."""
    from moto.secretsmanager.responses import SecretsManagerResponse

    for name in _MUTATIONS:
        handler = getattr(SecretsManagerResponse, name)
        if getattr(handler, "_clawster_durable", False):
            continue

        def saving(self: Any, _handler: Any = handler) -> Any:
            result = _handler(self)
            if not getattr(_restoring, "active", False):
                save_all()
            return result

        saving._clawster_durable = True  # type: ignore[attr-defined]
        setattr(SecretsManagerResponse, name, saving)


def attach(state_dir: Path, client: Any) -> int:
    """Restore the secrets saved in `state_dir` through `client` (moto's API), then save there on every
    write; returns how many secrets were restored."""
    path = state_dir / FILE
    restored = _restore(path, client)
    with _lock:
        _files.add(path)
    save_all()
    return restored


def detach(state_dir: Path) -> None:
    save_all()
    with _lock:
        _files.discard(state_dir / FILE)


def save_all() -> None:
    with _lock:
        if not _files:
            return
        text = json.dumps(_snapshot(), indent=1, sort_keys=True)
        for path in _files:
            _write(path, text)


def _snapshot() -> list[dict[str, Any]]:
    from moto.secretsmanager.models import secretsmanager_backends

    secrets = []
    for account, regions in list(secretsmanager_backends.items()):
        for region, backend in list(regions.items()):
            for secret in list(backend.secrets.values()):
                secrets.append({
                    "account": account, "region": region, "name": secret.name, "description": secret.description,
                    "tags": secret.tags or [], "deleted": secret.deleted_date is not None,
                    "versions": [{"id": version_id, "string": version.get("secret_string"),
                                  "binary": _text(version.get("secret_binary")),
                                  "stages": list(version.get("version_stages") or []),
                                  "created": version.get("createdate")}
                                 for version_id, version in secret.versions.items()],
                })
    return secrets


def _text(binary: Any) -> str | None:
    if binary is None or isinstance(binary, str):
        return binary
    return base64.b64encode(binary).decode()


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _restore(path: Path, client: Any) -> int:
    try:
        secrets = json.loads(path.read_text())
    except FileNotFoundError:
        return 0
    _restoring.active = True
    try:
        return sum(_restore_one(client, secret) for secret in secrets)
    finally:
        _restoring.active = False


def _restore_one(client: Any, secret: dict[str, Any]) -> int:
    """One secret back, its versions oldest first (the current one first of all). A secret moto has
    already (a second stack in the same test process) is left as it is."""
    versions = sorted(secret["versions"], key=lambda v: ("AWSCURRENT" not in v["stages"], v.get("created") or 0))
    if not versions:
        return 0
    first, rest = versions[0], versions[1:]
    extra = {"Description": secret["description"]} if secret.get("description") else {}
    try:
        client.create_secret(Name=secret["name"], ClientRequestToken=first["id"], Tags=secret["tags"],
                             **extra, **_value(first))
    except client.exceptions.ResourceExistsException:
        return 0
    for version in rest:
        stages = version["stages"] or [_RETIRED]
        client.put_secret_value(SecretId=secret["name"], ClientRequestToken=version["id"], VersionStages=stages,
                                **_value(version))
        if not version["stages"]:
            client.update_secret_version_stage(SecretId=secret["name"], VersionStage=_RETIRED,
                                               RemoveFromVersionId=version["id"])
    if "AWSCURRENT" not in first["stages"]:  # no version was current: take the stage off again
        client.update_secret_version_stage(SecretId=secret["name"], VersionStage="AWSCURRENT",
                                           RemoveFromVersionId=first["id"])
    if secret.get("deleted"):
        client.delete_secret(SecretId=secret["name"], RecoveryWindowInDays=7)
    return 1


def _value(version: dict[str, Any]) -> dict[str, Any]:
    if version.get("string") is not None:
        return {"SecretString": version["string"]}
    return {"SecretBinary": base64.b64decode(version["binary"])}
