"""The Secret Manager (v1) half of the GCP stand-in (gcp.py): global secrets (automatic or user-managed
replication), their versions, access to `latest` or a number, delete. Names come back with the project's number, as
Google's do; a request may name the project by id or number."""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field

from google.cloud import secretmanager_v1

from .gcp_rules import SECRET_ID
from .gcp_shape import Answer, now, shape_errors


@dataclass
class _Secret:
    name: str  # projects/<number>/secrets/<id>
    body: dict
    versions: list[bytes] = field(default_factory=list)


class SecretManagerApi:
    """Mixed into the stand-in: its routes call these with the path's parts, the query and the JSON body."""

    _secrets: dict[str, _Secret]
    _numbers: dict[str, str]

    def _secret_name(self, project: str, secret_id: str) -> str:
        if not project.isdigit():
            project = self._numbers.setdefault(project, str(int(hashlib.sha256(project.encode()).hexdigest(), 16))[:12])
        return f"projects/{project}/secrets/{secret_id}"

    def _create_secret(self, project: str, *, query: dict, body: dict | None) -> dict:
        secret_id = query.get("secretId", "")
        if not SECRET_ID.match(secret_id):
            raise Answer(400, "secret_id must be 1-255 letters, digits, '-' or '_'", [("secret_id", "invalid")])
        body = body if body is not None else {}
        problems = shape_errors(body, secretmanager_v1.Secret.pb(secretmanager_v1.Secret()).DESCRIPTOR, "secret")
        if not problems and not body.get("replication"):
            problems = [("secret.replication", "Secret.replication is required.")]
        if problems:
            raise Answer(400, problems[0][1] if "Invalid" in problems[0][1] else f"{problems[0][0]}: {problems[0][1]}",
                         problems)
        name = self._secret_name(project, secret_id)
        if name in self._secrets:
            raise Answer(409, f"Secret [{name}] already exists.")
        self._secrets[name] = _Secret(name, {**body, "name": name, "createTime": now(), "etag": f'"{uuid.uuid4().hex}"'})
        return self._secrets[name].body

    def _secret(self, project: str, secret_id: str) -> _Secret:
        name = self._secret_name(project, secret_id)
        if name not in self._secrets:
            raise Answer(404, f"Secret [{name}] not found or has no versions.")
        return self._secrets[name]

    def _get_secret(self, project: str, secret_id: str, *, query: dict, body: dict | None) -> dict:
        return self._secret(project, secret_id).body

    def _delete_secret(self, project: str, secret_id: str, *, query: dict, body: dict | None) -> dict:
        del self._secrets[self._secret(project, secret_id).name]
        return {}

    def _add_version(self, project: str, secret_id: str, *, query: dict, body: dict | None) -> dict:
        secret = self._secret(project, secret_id)
        body = body if body is not None else {}
        descriptor = secretmanager_v1.AddSecretVersionRequest.pb(secretmanager_v1.AddSecretVersionRequest()).DESCRIPTOR
        problems = shape_errors(body, descriptor, "request")
        if not problems and "data" not in (body.get("payload") or {}):
            problems = [("payload.data", "The payload data is required.")]
        if problems:
            raise Answer(400, problems[0][1] if "Invalid" in problems[0][1] else f"{problems[0][0]}: {problems[0][1]}",
                         problems)
        data = base64.b64decode(body["payload"]["data"])
        if len(data) > 64 * 1024:
            raise Answer(400, "Secret payload data must be at most 65536 bytes.", [("payload.data", "too large")])
        secret.versions.append(data)
        return {"name": f"{secret.name}/versions/{len(secret.versions)}", "createTime": now(), "state": 1}

    def _access(self, project: str, secret_id: str, version: str, *, query: dict, body: dict | None) -> dict:
        name, data = self._version(project, secret_id, version)
        return {"name": name, "payload": {"data": base64.b64encode(data).decode()}}

    def _version(self, project: str, secret_id: str, version: str, why: str = "") -> tuple[str, bytes]:
        secret = self._secret(project, secret_id)
        number = len(secret.versions) if version == "latest" else int(version) if version.isdigit() else 0
        if not 1 <= number <= len(secret.versions):
            raise Answer(404, f"Secret Version [{secret.name}/versions/{version}] not found{why}.")
        return f"{secret.name}/versions/{number}", secret.versions[number - 1]
