"""Azure Container Instances: one container group per bot (`clawster-<bot>`), the gateway image with its token and
config as secure values, its state on the bot's own Azure Files share (`clawster-<bot>`), restart policy Always.

Non-blocking as the Provider contract wants: a PUT, start or restart is sent and not waited on (polling=False: ARM's
long-running operation goes on, with no poller thread left behind in the Lambda); describe() reads the group's
provisioningState and instance view, and probes the gateway. ACI restarts a group's containers on any PUT, even an
identical one, so a call that would change nothing sends none. ACI cannot change CPU or memory in place: a size
change deletes the group (the share stays) and creates it again. What the group cannot hold is kept in Secrets
Manager beside the bot's token and config (`Record`).
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any

from ..base import (
    Capabilities,
    Endpoint,
    Failure,
    GatewaySpec,
    GatewayState,
    GatewayStatus,
    GatewayUpdate,
    LiveConfig,
    LogChunk,
    ProvisioningStep,
    SizeTier,
)
from ..cloud.common import OPENCLAW_VERSIONS, BotSecrets, ConfigBackups, GatewayOps, StoredSecret, aws_error, ws_url
from ..cloud.prices import hourly_usd
from ..errors import GatewayExists, GatewayNotFound, InvalidSpec, ProviderBusy, UnsupportedChange
from . import arm
from .settings import Settings

TARGET = "aci"
CONFIG_ERROR_EXIT = 78  # the entrypoint's and openclaw's exit code for a config they refuse
PROBE_TIMEOUT_S = 3.0
DELETE_WAIT_S = 20.0  # how long a delete (or a size change) waits for the group's deletion: ARM takes seconds
_NAME = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")  # both a container group's and a share's rule
_SETTLING = {"Pending", "Creating", "Updating", "Repairing", "Deleting"}
TIERS = tuple(SizeTier(name, vcpu, memory_mb, description, hourly_usd(TARGET, vcpu, memory_mb)) for
              name, vcpu, memory_mb, description in (
                  ("small", 1.0, 2048, "1 vCPU, 2 GB: one gateway with a few channels"),
                  ("medium", 2.0, 4096, "2 vCPU, 4 GB: busy channels, sandboxed tools"),
                  ("large", 4.0, 8192, "4 vCPU, 8 GB: ACI's largest Linux group in most regions")))


@dataclass
class Record:
    """What the group cannot hold: the spec the gateway was created from (a create again compares it), the
    desired version and size (a size change survives the group's deletion), the last restart/restore request."""

    spec: str
    openclaw_version: str
    size: str
    recreate: bool = False
    restart_request: str | None = None
    restore_request: str | None = None


class Records:
    def __init__(self, bot_secrets: BotSecrets):
        self.secrets = bot_secrets

    def get(self, bot_id: str) -> Record | None:
        found = self.secrets.find(bot_id, "aci")
        return Record(**json.loads(self.secrets.value(found))) if found else None

    def put(self, bot_id: str, record: Record) -> None:
        text = json.dumps(asdict(record), sort_keys=True)
        found = self.secrets.find(bot_id, "aci")
        client = self.secrets.client
        try:
            if found:
                client.put_secret_value(SecretId=found.arn, SecretString=text)
            else:
                client.create_secret(Name=BotSecrets.name(bot_id, "aci"), SecretString=text,
                                     Tags=[{"Key": "clawster:bot", "Value": bot_id}])
        except Exception as error:  # noqa: BLE001 - botocore's ClientError, typed by the shared mapping
            raise _aws(error, bot_id) from error

    def delete(self, bot_id: str) -> None:
        try:
            self.secrets.client.delete_secret(SecretId=BotSecrets.name(bot_id, "aci"), ForceDeleteWithoutRecovery=True)
        except Exception as error:  # noqa: BLE001
            typed = _aws(error, bot_id)
            if not isinstance(typed, GatewayNotFound):
                raise typed from error


def _aws(error: Exception, bot_id: str) -> Exception:
    from botocore.exceptions import ClientError

    return aws_error(error, f"the ACI record of bot {bot_id}") if isinstance(error, ClientError) else error


class AciProvider:
    name = TARGET

    def __init__(self, settings: Settings, *, aci: Any = None, bot_secrets: BotSecrets | None = None,
                 resolve: Any = None):
        self.settings = settings
        self.aci = aci if aci is not None else arm.client(settings)
        self.secrets = bot_secrets or BotSecrets()
        self.records = Records(self.secrets)
        self.backups = ConfigBackups(self.secrets)
        self.shares = arm.Shares(settings, self.aci)
        if resolve is None:
            from clawster.secrets import resolve
        self._resolve = resolve  # the storage key, from its reference, at each PUT

    # -- what it offers -----------------------------------------------------------------------------
    def capabilities(self) -> Capabilities:
        return Capabilities(persistent_storage=True, sandbox=False, tls_endpoint=False, log_streaming=False,
                            size_tiers=TIERS, openclaw_versions=OPENCLAW_VERSIONS)

    def provisioning_steps(self, spec: GatewaySpec) -> list[ProvisioningStep]:
        return [ProvisioningStep("secrets", "the gateway's token and config in Secrets Manager", 1.0),
                ProvisioningStep("share", "the bot's Azure Files share for its state", 2.0),
                ProvisioningStep("group", "the container group (ARM deployment, image pull)", 45.0),
                ProvisioningStep("ready", "the gateway answers /readyz with our token", 15.0)]

    # -- lifecycle ------------------------------------------------------------------------------------
    def create(self, spec: GatewaySpec) -> GatewayStatus:
        name = _name(spec.bot_id)
        _tier(spec.size), _version(spec.openclaw_version)
        wanted = arm.digest(json.dumps([spec.openclaw_version, spec.size, spec.config], sort_keys=True))
        record, group = self.records.get(spec.bot_id), self._group_or_none(spec.bot_id)
        if record is not None and record.spec != wanted:
            raise GatewayExists(f"bot {spec.bot_id} already has an ACI gateway created from another spec",
                                {"group": name})
        if group is not None and group.provisioning_state == "Deleting":
            raise ProviderBusy(f"the container group of bot {spec.bot_id} is still being deleted")
        if record is not None and group is not None:
            return self.describe(spec.bot_id)  # a PUT would restart it: ACI redeploys on any PUT
        self.secrets.token(spec.bot_id)
        self.secrets.config(spec.bot_id, spec.config)
        self.records.put(spec.bot_id, Record(wanted, spec.openclaw_version, spec.size))
        self._deploy(spec.bot_id, spec.openclaw_version, spec.size)
        return self._status(spec.bot_id, GatewayState.STARTING, spec.openclaw_version, "container group deploying")

    def describe(self, bot_id: str) -> GatewayStatus:
        group = self._group_or_none(bot_id)
        if group is None or group.provisioning_state == "Deleting":
            record = self.records.get(bot_id)
            if record is not None and record.recreate:  # a size change between its delete and its create
                return self._status(bot_id, GatewayState.STARTING, record.openclaw_version, "recreating for a new size")
            raise GatewayNotFound(f"no ACI container group for bot {bot_id}", {"group": _name(bot_id)})
        return self._read(bot_id, group)

    def start(self, bot_id: str) -> GatewayStatus:
        group = self._group(bot_id)
        if not _stopped(group):
            return self._read(bot_id, group)
        record = self._record(bot_id)
        if (group.tags or {}).get(arm.TAG_CONFIG) != self._config_digest(bot_id) or \
                _version_of(group) != record.openclaw_version:
            self._deploy(bot_id, record.openclaw_version, record.size)  # a change made while stopped: redeploy
        else:
            arm.call(f"start of {_name(bot_id)}", lambda: self.aci.container_groups.begin_start(
                self.settings.resource_group, _name(bot_id), polling=False))
        return self._status(bot_id, GatewayState.STARTING, _version_of(group), "starting")

    def stop(self, bot_id: str) -> GatewayStatus:
        group = self._group(bot_id)
        if not _stopped(group):
            arm.call(f"stop of {_name(bot_id)}",
                     lambda: self.aci.container_groups.stop(self.settings.resource_group, _name(bot_id)))
        return self._status(bot_id, GatewayState.STOPPED, _version_of(group), "stopped; its share keeps the state")

    def restart(self, bot_id: str, *, request_id: str | None = None) -> GatewayStatus:
        group, record = self._group(bot_id), self._record(bot_id)
        if request_id is not None and record.restart_request == request_id:
            return self._read(bot_id, group)
        verb = "begin_start" if _stopped(group) else "begin_restart"
        arm.call(f"restart of {_name(bot_id)}", lambda: getattr(self.aci.container_groups, verb)(
            self.settings.resource_group, _name(bot_id), polling=False))
        if request_id is not None:
            record.restart_request = request_id
            self.records.put(bot_id, record)
        return self._status(bot_id, GatewayState.STARTING, _version_of(group), "restarting")

    def update(self, bot_id: str, change: GatewayUpdate) -> GatewayStatus:
        record = self._record(bot_id)
        version = _version(change.openclaw_version or record.openclaw_version)
        size = change.size or record.size
        _tier(size)
        group = self._group_or_none(bot_id)
        if group is None and not record.recreate:
            raise GatewayNotFound(f"no ACI container group for bot {bot_id}", {"group": _name(bot_id)})
        live = group is not None and self._read(bot_id, group).state is GatewayState.RUNNING
        if change.config is not None and live:
            GatewayOps(self.endpoint(bot_id)).apply(change.config)  # ConfigRejected before anything is kept
        if change.config is not None:
            self.secrets.config(bot_id, change.config)
        record.openclaw_version, record.size = version, size
        if group is not None and _size_of(group) != _tier(size)[:2]:
            record.recreate = True
            self.records.put(bot_id, record)
            return self._recreate(bot_id, record)
        self.records.put(bot_id, record)
        if group is None:
            return self._recreate(bot_id, record)
        config_stale = (group.tags or {}).get(arm.TAG_CONFIG) != self._config_digest(bot_id)
        if _version_of(group) != version or (config_stale and not live and not _stopped(group)):
            self._deploy(bot_id, version, size)  # ACI restarts the container on the new image or config
            return self._status(bot_id, GatewayState.STARTING, version, "redeploying")
        return self._read(bot_id, group)  # a config applied live, or kept for the next start of a stopped one

    def delete(self, bot_id: str) -> None:
        name = _name(bot_id)
        try:
            poller = arm.call(f"delete of {name}", lambda: self.aci.container_groups.begin_delete(
                self.settings.resource_group, name))
            # Waited on a little, so a create of the same bot right after finds the name free (else: ProviderBusy).
            arm.call(f"delete of {name}", lambda: poller.wait(timeout=DELETE_WAIT_S))
        except GatewayNotFound:
            pass
        self.shares.delete(name)  # the state goes with the bot
        self.backups.delete_all(bot_id)
        self.records.delete(bot_id)
        self.secrets.delete(bot_id)

    # -- backups ----------------------------------------------------------------------------------
    def backup(self, bot_id: str, key: str) -> str:
        group = self._group(bot_id)
        config = json.loads(self.secrets.value(self._config_secret(bot_id)))
        return self.backups.keep(bot_id, key, _version_of(group), config)

    def restore(self, bot_id: str, key: str, *, request_id: str | None = None) -> GatewayStatus:
        self._group(bot_id)
        record = self._record(bot_id)
        if request_id is not None and record.restore_request == request_id:
            return self.describe(bot_id)
        version, config = self.backups.read(bot_id, key)
        self.secrets.config(bot_id, config)
        record.openclaw_version, record.restore_request = version, request_id
        self.records.put(bot_id, record)
        self._deploy(bot_id, version, record.size)
        return self._status(bot_id, GatewayState.STARTING, version, f"restoring backup {key}")

    # -- the running gateway ------------------------------------------------------------------------
    def live_config(self, bot_id: str) -> LiveConfig:
        return GatewayOps(self.endpoint(bot_id)).live_config()

    def logs(self, bot_id: str, cursor: int | None = None, limit: int = 200) -> LogChunk:
        group = self._group(bot_id)
        if self._read(bot_id, group).state is GatewayState.RUNNING:
            return GatewayOps(self.endpoint(bot_id)).logs(cursor, limit)
        # Not serving (crashing, stopped): the container's own output, as ACI keeps it, says why.
        answer = arm.call(f"logs of {_name(bot_id)}", lambda: self.aci.containers.list_logs(
            self.settings.resource_group, _name(bot_id), arm.CONTAINER))
        lines = (answer.content or "").splitlines()
        start = min(cursor or 0, len(lines))
        return LogChunk(lines[start:start + limit], min(start + limit, len(lines)))

    def endpoint(self, bot_id: str) -> Endpoint:
        endpoint = self._endpoint(bot_id, self._group(bot_id))
        if endpoint is None:
            raise ProviderBusy(f"the container group of bot {bot_id} has no address yet (deploying or stopped)")
        return endpoint

    # -- inside -----------------------------------------------------------------------------------
    def _deploy(self, bot_id: str, version: str, size: str) -> None:
        """PUT the group from what is desired now (not waited on: describe() follows the deployment)."""
        name = _name(bot_id)
        vcpu, memory_mb, _ = _tier(size)
        if not self.settings.storage_key_ref:
            raise InvalidSpec("the ACI target needs storage_key_ref: the Secrets Manager reference to the storage "
                              "account key its file shares are mounted with", {"field": "storage_key_ref"})
        self.shares.ensure(name)
        storage_key = self._resolve(self.settings.storage_key_ref)
        model = arm.group_model(self.settings, bot_id=bot_id, name=name, version=version, vcpu=vcpu,
                                memory_mb=memory_mb, token=self.secrets.value(self.secrets.token(bot_id)),
                                config_text=self.secrets.value(self._config_secret(bot_id)), storage_key=storage_key)
        arm.call(f"deployment of {name}", lambda: self.aci.container_groups.begin_create_or_update(
            self.settings.resource_group, name, model, polling=False))

    def _recreate(self, bot_id: str, record: Record) -> GatewayStatus:
        """A size change: the old group deleted (its share stays), then created with the new size. The deletion is
        waited on a little; a retry after ProviderBusy finds it done and creates the group."""
        name = _name(bot_id)
        if self._group_or_none(bot_id) is not None:
            poller = arm.call(f"delete of {name}", lambda: self.aci.container_groups.begin_delete(
                self.settings.resource_group, name))
            arm.call(f"delete of {name}", lambda: poller.wait(timeout=DELETE_WAIT_S))
            if self._group_or_none(bot_id) is not None:
                raise ProviderBusy(f"the container group of bot {bot_id} is still being deleted for its new size")
        self._deploy(bot_id, record.openclaw_version, record.size)
        record.recreate = False
        self.records.put(bot_id, record)
        return self._status(bot_id, GatewayState.STARTING, record.openclaw_version, f"recreated as {record.size}")

    def _read(self, bot_id: str, group: Any) -> GatewayStatus:
        version, provisioning = _version_of(group), group.provisioning_state or ""
        view = group.containers[0].instance_view
        restarts = (view.restart_count or 0) if view else 0
        if provisioning == "Failed":
            return self._failed(bot_id, group, Failure.START_FAILED, _events(group) or "deployment failed", None)
        if _stopped(group):
            return self._status(bot_id, GatewayState.STOPPED, version, "stopped", restarts=restarts)
        if provisioning in _SETTLING or view is None or view.current_state is None:
            return self._status(bot_id, GatewayState.STARTING, version, f"container group {provisioning or 'pending'}")
        current, previous = view.current_state, view.previous_state
        if current.state == "Running":
            endpoint = self._endpoint(bot_id, group)
            if endpoint is not None and self._serving(endpoint):
                return self._status(bot_id, GatewayState.RUNNING, version, "", endpoint, restarts)
            return self._status(bot_id, GatewayState.STARTING, version, "waiting for /readyz and the token check",
                                endpoint, restarts)
        code = previous.exit_code if previous is not None else current.exit_code
        if restarts == 0 and code is None and current.detail_status not in ("ErrImagePull", "ImagePullBackOff"):
            return self._status(bot_id, GatewayState.STARTING, version, current.detail_status or current.state or "")
        kind = Failure.CONFIG_REJECTED if code == CONFIG_ERROR_EXIT else Failure.START_FAILED
        detail = f"{current.detail_status or current.state} (exit code {code})" if code is not None else \
            (current.detail_status or "") + (f": {_events(group)}" if _events(group) else "")
        return self._failed(bot_id, group, kind, detail, code, restarts)

    def _failed(self, bot_id: str, group: Any, kind: Failure, detail: str, code: int | None,
                restarts: int = 0) -> GatewayStatus:
        issues = ({"path": "<root>", "message": f"openclaw refused the config (exit {code}); see the bot's logs"},) \
            if kind is Failure.CONFIG_REJECTED else ()
        return GatewayStatus(bot_id, GatewayState.FAILED, _version_of(group), self._endpoint(bot_id, group), detail,
                             restarts, kind, issues, code)

    def _status(self, bot_id: str, state: GatewayState, version: str, detail: str, endpoint: Endpoint | None = None,
                restarts: int = 0) -> GatewayStatus:
        return GatewayStatus(bot_id, state, version, endpoint, detail, restarts)

    def _endpoint(self, bot_id: str, group: Any) -> Endpoint | None:
        """The group's address: its IP (private in the VNet, or public), else its DNS name; and its port."""
        address = group.ip_address
        host = address and (address.ip or address.fqdn)
        if not host or _stopped(group):
            return None
        port = address.ports[0].port if address.ports else arm.GATEWAY_PORT
        url = f"http://{host}:{port}"
        return Endpoint(url, ws_url(url), BotSecrets.name(bot_id, "token"))

    def _serving(self, endpoint: Endpoint) -> bool:
        """/readyz answers 200 and the gateway takes our token (its admin RPC answers health): it is ours, up."""
        try:
            with urllib.request.urlopen(endpoint.http_url + "/readyz", timeout=PROBE_TIMEOUT_S) as answer:
                if answer.status != 200:
                    return False
            token = self._resolve(endpoint.token_ref)
            request = urllib.request.Request(endpoint.http_url + "/api/v1/admin/rpc", method="POST",
                                             data=json.dumps({"id": "probe", "method": "health"}).encode(),
                                             headers={"Authorization": f"Bearer {token}",
                                                      "Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_S) as answer:
                return answer.status == 200
        except (urllib.error.URLError, OSError, http.client.HTTPException):  # HTTPException: a garbled answer
            return False

    def _group_or_none(self, bot_id: str) -> Any:
        try:
            return self._group(bot_id)
        except GatewayNotFound:
            return None

    def _group(self, bot_id: str) -> Any:
        name = _name(bot_id)
        return arm.call(f"container group {name}",
                        lambda: self.aci.container_groups.get(self.settings.resource_group, name))

    def _record(self, bot_id: str) -> Record:
        record = self.records.get(bot_id)
        if record is None:
            raise GatewayNotFound(f"bot {bot_id} has no ACI gateway made by this control plane")
        return record

    def _config_secret(self, bot_id: str) -> StoredSecret:
        found = self.secrets.find(bot_id, "config")
        if found is None:
            raise GatewayNotFound(f"bot {bot_id} has no gateway config in Secrets Manager")
        return found

    def _config_digest(self, bot_id: str) -> str:
        return arm.digest(self.secrets.value(self._config_secret(bot_id)))


def _name(bot_id: str) -> str:
    name = f"clawster-{bot_id.lower()}"
    if not _NAME.match(name):
        raise InvalidSpec(f"bot id {bot_id!r} cannot name an ACI container group and share ({name!r}: 3-63 lowercase "
                          "letters, digits and single hyphens)", {"field": "bot_id"})
    return name


def _tier(size: str) -> tuple[float, int, str]:
    for tier in TIERS:
        if tier.name == size:
            return tier.vcpu, tier.memory_mb, tier.name
    raise UnsupportedChange(f"size {size!r} is not an ACI size tier ({', '.join(t.name for t in TIERS)})",
                            {"field": "size"})


def _version(version: str) -> str:
    if version not in OPENCLAW_VERSIONS:
        raise UnsupportedChange(f"openclaw {version} has no gateway image ({', '.join(OPENCLAW_VERSIONS)})",
                                {"field": "openclaw_version"})
    return version


def _version_of(group: Any) -> str:
    return group.containers[0].image.rpartition(":")[2]


def _size_of(group: Any) -> tuple[float, int]:
    requests = group.containers[0].resources.requests
    return float(requests.cpu), int(round(requests.memory_in_gb * 1024))


def _stopped(group: Any) -> bool:
    return bool(group.instance_view and group.instance_view.state == "Stopped")


def _events(group: Any) -> str:
    events = list((group.instance_view.events if group.instance_view else None) or [])
    view = group.containers[0].instance_view
    events += list((view.events if view else None) or [])
    return "; ".join(e.message for e in events if e.message)
