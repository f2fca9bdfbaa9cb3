"""The shape every cloud target gives a gateway, and what its adapter does the same way on each.

One image (deploy/gateway/Dockerfile), tagged with the openclaw version. The container listens on PORT
(GATEWAY_PORT), keeps its state under STATE_MOUNT (the target's persistent volume), runs as RUN_AS, and takes its
token (ENV_TOKEN) and the bot's config (ENV_CONFIG) from the target's secret store, never as plain values. The
control plane keeps its own copy of both in Secrets Manager (BotSecrets): the token is what its Endpoint's
token_ref names, and the config is what a relaunch starts from.
"""

from __future__ import annotations

import contextlib
import json
import secrets as random
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..base import Endpoint, LiveConfig, LogChunk
from ..errors import ConfigRejected, GatewayNotFound, ProviderBusy, ProviderFailed, Throttled

GATEWAY_PORT = 18789
STATE_MOUNT = "/var/lib/openclaw"  # the volume; the image's OPENCLAW_STATE_DIR is STATE_MOUNT + "/state"
RUN_AS = (10001, 10001)  # uid, gid of the image's user (deploy/gateway/Dockerfile)
ENV_TOKEN = "OPENCLAW_GATEWAY_TOKEN"
ENV_CONFIG = "CLAWSTER_GATEWAY_CONFIG"
IMAGE_ENV = "CLAWSTER_GATEWAY_IMAGE"  # the image repository; the tag is the openclaw version
DEFAULT_IMAGE_REPOSITORY = "clawster-gateway"
OPENCLAW_VERSIONS = ("2026.9.6", "2026.9.5")  # the versions the image is built and tested for; the default first
SECRET_PREFIX = "clawster/gateways"
APPLY_WAIT_S = 40.0  # a live config write waits out the gateway's write limit this long, inside a task's timeout
_THROTTLING = {"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "LimitExceededException",
               "Throttling", "ServiceUnavailable", "InternalServiceError", "ServiceUnavailableException"}


def image(version: str, repository: str | None = None) -> str:
    return f"{repository or DEFAULT_IMAGE_REPOSITORY}:{version}"


def ws_url(http_url: str) -> str:
    return "ws" + http_url[len("http"):] if http_url.startswith("http") else http_url


@dataclass(frozen=True)
class StoredSecret:
    name: str
    arn: str


class BotSecrets:
    """Each bot's gateway token and config in the control plane's Secrets Manager (SECRET_PREFIX/<bot>/token|config).
    Every call is idempotent: the token is made once, the config gets a new version only when it changed."""

    def __init__(self, client: Any = None):
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("secretsmanager")
        return self._client

    @staticmethod
    def name(bot_id: str, what: str) -> str:
        return f"{SECRET_PREFIX}/{bot_id}/{what}"

    def token(self, bot_id: str) -> StoredSecret:
        return self._ensure(bot_id, "token", lambda: random.token_urlsafe(32))

    def config(self, bot_id: str, config: dict) -> StoredSecret:
        text = json.dumps(config, sort_keys=True, separators=(",", ":"))
        stored = self._ensure(bot_id, "config", lambda: text)
        if self.value(stored) != text:
            _aws(lambda: self.client.put_secret_value(SecretId=stored.arn, SecretString=text), stored.name)
        return stored

    def value(self, stored: StoredSecret) -> str:
        answer = _aws(lambda: self.client.get_secret_value(SecretId=stored.arn, VersionStage="AWSCURRENT"), stored.name)
        return answer["SecretString"]

    def find(self, bot_id: str, what: str) -> StoredSecret | None:
        name = self.name(bot_id, what)
        try:
            return StoredSecret(name, _aws(lambda: self.client.describe_secret(SecretId=name), name)["ARN"])
        except GatewayNotFound:
            return None

    def delete(self, bot_id: str) -> None:
        for what in ("token", "config"):
            name = self.name(bot_id, what)
            with contextlib.suppress(GatewayNotFound):  # gone already: a retried delete
                _aws(lambda name=name: self.client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True), name)

    def _ensure(self, bot_id: str, what: str, make) -> StoredSecret:
        found = self.find(bot_id, what)
        if found:
            return found
        name = self.name(bot_id, what)
        try:
            answer = self.client.create_secret(Name=name, SecretString=make(),
                                               Tags=[{"Key": "clawster:bot", "Value": bot_id}])
            return StoredSecret(name, answer["ARN"])
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceExistsException":  # a concurrent retry made it first
                return self.find(bot_id, what) or _raise(aws_error(error, name))
            raise aws_error(error, name) from error


def _raise(error: Exception):
    raise error


def _aws(call, what: str):
    try:
        return call()
    except ClientError as error:
        raise aws_error(error, what) from error
    except BotoCoreError as error:
        raise Throttled(f"AWS did not answer about {what}: {error}") from error


def aws_error(error: ClientError, what: str) -> Exception:
    """A boto3 error as the provider's typed error: throttling and AWS's own trouble retryable, missing things
    GatewayNotFound, anything else a permanent failure naming what was asked."""
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    if code in _THROTTLING:
        return Throttled(f"AWS throttled a request about {what}: {code}")
    if code in ("ResourceNotFoundException", "NoSuchEntity", "ServiceNotFoundException", "AccessPointNotFound"):
        return GatewayNotFound(f"{what} does not exist", {"code": code})
    return ProviderFailed(f"AWS refused a request about {what}: {code}: {message}", {"code": code})


class GatewayOps:
    """What an adapter asks a running gateway itself (its admin HTTP RPC, with the token from token_ref)."""

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint

    def _client(self):
        from clawster.gateway.client import GatewayClient
        from clawster.gateway.http_rpc import AdminRpcTransport
        from clawster.secrets import resolve

        return GatewayClient(AdminRpcTransport(self.endpoint.http_url, resolve(self.endpoint.token_ref)))

    def apply(self, config: dict, *, note: str = "clawster: provider update") -> None:
        """The bot's config as the whole config (config.apply on the base hash), keeping what the image owns as the
        gateway runs it (where it listens, its token, the admin RPC): those are the container's, not the bot's."""
        from clawster.gateway.errors import ConfigConflict, InvalidConfig

        with self._client() as client:
            running = client.config_get().source
            try:
                client.apply_config(owned_kept(config, running), note=note, deadline_s=APPLY_WAIT_S)
            except InvalidConfig as error:
                raise ConfigRejected(error.message, error.issues) from error
            except ConfigConflict as conflict:
                raise ProviderBusy(f"the gateway's config kept changing under us: {conflict}") from conflict

    def live_config(self) -> LiveConfig:
        with self._client() as client:
            snapshot = client.config_get()
        return LiveConfig(snapshot.source, snapshot.hash, owned_kept({}, snapshot.source))

    def logs(self, cursor: int | None = None, limit: int = 200) -> LogChunk:
        with self._client() as client:
            tail = client.logs_tail(cursor, limit)
        return LogChunk([str(line) for line in tail.get("lines") or []], int(tail.get("cursor") or 0))


def owned_kept(config: dict, running: dict) -> dict:
    """`config` with the paths the image owns (deploy/gateway/entrypoint.mjs) taken from the running config."""
    from clawster.gateway.client import REDACTED

    live_gateway = running.get("gateway") or {}
    gateway = {**(config.get("gateway") or {}), "mode": "local",
               "auth": {"mode": "token", "token": REDACTED}}  # redacted: the gateway keeps its stored token
    for key in ("port", "bind"):
        if key in live_gateway:
            gateway[key] = live_gateway[key]
    gateway.pop("customBindHost", None)
    plugins = dict(config.get("plugins") or {})
    plugins["entries"] = {**(plugins.get("entries") or {}), "admin-http-rpc": {"enabled": True}}
    out = {**config, "gateway": gateway, "plugins": plugins,
           "update": {**(config.get("update") or {}), "checkOnStart": False}}
    if "file" in (running.get("logging") or {}):
        out["logging"] = {**(config.get("logging") or {}), "file": running["logging"]["file"]}
    return out


class ConfigBackups:
    """An upgrade's backup on a cloud target: the OpenClaw version and the config the gateway ran, kept in one secret
    per bot (SECRET_PREFIX/<bot>/backups: the config may hold resolved secrets), the KEEP most recent by key. The state
    files stay on the target's volume, which the target backs up itself (EFS: AWS Backup; Cloud Storage: object
    versioning; Azure Files: share snapshots). One secret, so deleting a bot needs no account-wide ListSecrets."""

    KEEP = 5

    def __init__(self, bot_secrets: BotSecrets):
        self.secrets = bot_secrets

    def keep(self, bot_id: str, key: str, version: str, config: dict) -> str:
        kept = self._all(bot_id)
        if key in kept:
            return key  # the backup taken stands
        order = 1 + max((entry["at"] for entry in kept.values()), default=0)  # newest last
        kept[key] = {"openclaw_version": version, "config": config, "at": order}
        newest = dict(sorted(kept.items(), key=lambda item: item[1]["at"])[-self.KEEP:])
        text = json.dumps(newest, sort_keys=True)
        name = BotSecrets.name(bot_id, "backups")
        client = self.secrets.client
        try:
            client.create_secret(Name=name, SecretString=text, Tags=[{"Key": "clawster:bot", "Value": bot_id}])
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceExistsException":
                raise aws_error(error, name) from error
            _aws(lambda: client.put_secret_value(SecretId=name, SecretString=text), name)
        return key

    def read(self, bot_id: str, key: str) -> tuple[str, dict]:
        kept = self._all(bot_id).get(key)
        if kept is None:
            raise GatewayNotFound(f"no backup {key} of bot {bot_id}", {"bot_id": bot_id, "backup": key})
        return kept["openclaw_version"], kept["config"]

    def delete_all(self, bot_id: str) -> None:
        name = BotSecrets.name(bot_id, "backups")
        with contextlib.suppress(GatewayNotFound):  # none taken, or gone already
            _aws(lambda: self.secrets.client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True), name)

    def _all(self, bot_id: str) -> dict[str, dict]:
        name = BotSecrets.name(bot_id, "backups")
        try:
            answer = _aws(lambda: self.secrets.client.get_secret_value(SecretId=name, VersionStage="AWSCURRENT"), name)
        except GatewayNotFound:
            return {}
        return json.loads(answer["SecretString"])
