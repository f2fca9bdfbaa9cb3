"""GCP Cloud Run: one service per bot, through the official client (google-cloud-run, REST transport).

The service `clawster-<bot>` runs the gateway image (deploy/gateway/Dockerfile, tag = openclaw version) with
exactly one instance (manual scaling, revision min = max = 1) and CPU always allocated. The token and the bot's
config reach the container by Secret Manager reference (two per-bot secrets, copied from the control plane's own
copies in AWS Secrets Manager: BotSecrets), the state lives in a Cloud Storage volume (`bots/<bot>` of the
settings' bucket, mounted with gcsfuse as the image's user), ingress is internal, and the endpoint is the service's
URL (the gateway checks its own token on every request, so Cloud Run's invoker IAM check is off).

Nothing waits on Cloud Run: create/update/restart return once the request is accepted (the long-running operation
is left to run) and describe() reads the service's Ready condition. stop = manual scaling to 0 (the state stays),
start = back to 1; restart = a new revision (template annotation clawster.dev/restart = the request id).

Credentials: Application Default Credentials. With CLAWSTER_GCP_ENDPOINT set (the local stack's stand-in,
clawster.local.cloud.gcp), the clients talk to it with a fixed bearer token instead: it needs one, as Google does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from .base import (
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
)
from .cloud.common import (
    ENV_CONFIG,
    ENV_TOKEN,
    GATEWAY_PORT,
    OPENCLAW_VERSIONS,
    RUN_AS,
    STATE_MOUNT,
    BotSecrets,
    ConfigBackups,
    GatewayOps,
    image,
    ws_url,
)
from .cloud.targets import CloudRunSettings, size_tiers
from .errors import (
    GatewayExists,
    GatewayNotFound,
    InvalidSpec,
    ProviderBusy,
    ProviderFailed,
    Throttled,
    UnsupportedChange,
)

TARGET = "cloudrun"
ENDPOINT_ENV = "CLAWSTER_GCP_ENDPOINT"  # the local stand-in's URL; unset on a real deployment
LOCAL_TOKEN = "clawster-local-stand-in"  # what the clients send the stand-in as a bearer: not a secret
SPEC = "clawster.dev/spec"  # service annotation: the fingerprint of the spec the service was created from
BOT = "clawster.dev/bot-id"
RESTART = "clawster.dev/restart"  # template annotation: the request that made the current revision
INGRESS = {"internal": 2, "internal-and-cloud-load-balancing": 3}  # run_v2.IngressTraffic values
CALL_TIMEOUT_S = 30.0
DELETE_WAIT_S = 120.0  # a service's deletion takes seconds; a task Lambda's timeout is minutes
STORAGE_API = "https://storage.googleapis.com"

Settings = CloudRunSettings
T = TypeVar("T")


def configured() -> str | None:
    """None when this deployment can reach Cloud Run: the local stand-in, or ADC from a credentials file
    (workload identity federation from AWS); a metadata server is not probed (it would cost a network timeout)."""
    if os.environ.get(ENDPOINT_ENV) or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        return None
    return f"neither {ENDPOINT_ENV} nor GOOGLE_APPLICATION_CREDENTIALS is set"


def provider(settings: Settings) -> CloudRunProvider:
    return CloudRunProvider(settings)


def service_id(bot_id: str) -> str:
    """Cloud Run's name rules: lowercase letters, digits and '-', a letter first, 49 characters at most. A ULID (the
    bot ids Clawster makes: case does not matter in them) or an id that is a valid name already is used as it is;
    any other gets a digest of itself, so two bots never share a name."""
    from clawster.ids import is_id

    plain = re.sub(r"[^a-z0-9-]", "-", bot_id.lower()).strip("-")
    name = f"clawster-{plain}"
    if (plain != bot_id and not is_id(bot_id)) or len(name) > 49:
        name = f"clawster-{plain[:30].strip('-')}-{hashlib.sha256(bot_id.encode()).hexdigest()[:8]}"
    return name


class CloudRunProvider:
    name = TARGET

    def __init__(self, settings: Settings, *, services: Any = None, secrets: Any = None,
                 bot_secrets: BotSecrets | None = None, gateway_ops: Callable[[Endpoint], GatewayOps] = GatewayOps):
        self.settings = settings
        self._services, self._secrets = services, secrets
        self.bot_secrets = bot_secrets or BotSecrets()
        self.backups = ConfigBackups(self.bot_secrets)
        self._ops = gateway_ops

    # -- clients ----------------------------------------------------------------------------------------------------
    def _options(self) -> dict:
        from google.api_core.client_options import ClientOptions

        endpoint = os.environ.get(ENDPOINT_ENV)
        if not endpoint:
            import google.auth

            try:
                credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
            except google.auth.exceptions.DefaultCredentialsError as error:
                raise ProviderFailed(f"no Google credentials (Application Default Credentials): {error}") from error
            return {"transport": "rest", "credentials": credentials}
        from google.oauth2.credentials import Credentials

        return {"transport": "rest", "credentials": Credentials(LOCAL_TOKEN),
                "client_options": ClientOptions(api_endpoint=endpoint)}

    @property
    def services(self):
        if self._services is None:
            from google.cloud import run_v2

            self._services = run_v2.ServicesClient(**self._options())
        return self._services

    @property
    def secrets(self):
        if self._secrets is None:
            from google.cloud import secretmanager_v1

            self._secrets = secretmanager_v1.SecretManagerServiceClient(**self._options())
        return self._secrets

    # -- names ------------------------------------------------------------------------------------------------------
    def _parent(self) -> str:
        return f"projects/{self.settings.project}/locations/{self.settings.region}"

    def _service_name(self, bot_id: str) -> str:
        return f"{self._parent()}/services/{service_id(bot_id)}"

    def _secret_id(self, bot_id: str, what: str) -> str:
        return f"{service_id(bot_id)}-{what}"

    # -- the contract -----------------------------------------------------------------------------------------------
    def capabilities(self) -> Capabilities:
        return Capabilities(persistent_storage=True, sandbox=False, tls_endpoint=not os.environ.get(ENDPOINT_ENV),
                            log_streaming=True, size_tiers=size_tiers(TARGET), openclaw_versions=OPENCLAW_VERSIONS)

    def provisioning_steps(self, spec: GatewaySpec) -> list[ProvisioningStep]:
        return [ProvisioningStep("secrets", "the bot's token and config into Secret Manager", 2.0),
                ProvisioningStep("service", "the Cloud Run service and its first revision, with the state volume", 20.0),
                ProvisioningStep("ready", "the gateway's instance starts and answers /readyz", 30.0)]

    def create(self, spec: GatewaySpec) -> GatewayStatus:
        self._offered(spec.openclaw_version, spec.size)
        fingerprint = _fingerprint(spec)
        found = self._get(spec.bot_id)
        if found is None:
            self._put_secrets(spec.bot_id, spec.config)
            service = self._service(spec.bot_id, spec.openclaw_version, spec.size)
            service.annotations[SPEC] = fingerprint
            try:
                self._call(lambda: self.services.create_service(
                    parent=self._parent(), service=service, service_id=service_id(spec.bot_id), timeout=CALL_TIMEOUT_S),
                    f"creating the service of bot {spec.bot_id}")
            except _Conflict:  # a concurrent retry created it first: judged below like any existing one
                pass
            found = self._require(spec.bot_id)
        if found.annotations.get(SPEC) != fingerprint:
            raise GatewayExists(f"bot {spec.bot_id} already has a Cloud Run service, created from another spec",
                                {"service": found.name})
        return self._status(spec.bot_id, found)

    def describe(self, bot_id: str) -> GatewayStatus:
        return self._status(bot_id, self._require(bot_id))

    def start(self, bot_id: str) -> GatewayStatus:
        service = self._require(bot_id)
        status = self._status(bot_id, service)
        if status.state is GatewayState.STOPPED:
            service.scaling.manual_instance_count = 1
            return self._update(bot_id, service)
        if status.state is GatewayState.FAILED:  # launched again: a new revision
            service.template.annotations[RESTART] = f"start-{uuid.uuid4()}"
            return self._update(bot_id, service)
        return status

    def stop(self, bot_id: str) -> GatewayStatus:
        service = self._require(bot_id)
        if _stopped(service):
            return self._status(bot_id, service)
        service.scaling.manual_instance_count = 0
        return self._update(bot_id, service)

    def restart(self, bot_id: str, *, request_id: str | None = None) -> GatewayStatus:
        service = self._require(bot_id)
        request = request_id or str(uuid.uuid4())
        if service.template.annotations.get(RESTART) == request:  # this request's revision exists already
            return self._status(bot_id, service)
        service.template.annotations[RESTART] = request
        service.scaling.manual_instance_count = 1
        return self._update(bot_id, service)

    def update(self, bot_id: str, change: GatewayUpdate) -> GatewayStatus:
        service = self._require(bot_id)
        version = change.openclaw_version or _version(service)
        size = change.size or _size(service)
        self._offered(version, size)
        changed = (version, size) != (_version(service), _size(service))
        if change.config is not None:
            status = self._status(bot_id, service)
            if status.state is GatewayState.RUNNING and status.endpoint:  # live first: a refused config changes nothing
                self._ops(status.endpoint).apply(change.config)
            self._put_secrets(bot_id, change.config)  # what the next instance starts from
            if status.state in (GatewayState.STARTING, GatewayState.FAILED):  # its instance may have read the old one
                request = f"config-{_digest(change.config)}"
                changed |= service.template.annotations.get(RESTART) != request
                service.template.annotations[RESTART] = request
        if not changed:
            return self._status(bot_id, service)
        wanted = self._service(bot_id, version, size).template.containers[0]
        service.template.containers[0].image = wanted.image
        service.template.containers[0].resources = wanted.resources
        return self._update(bot_id, service)

    def backup(self, bot_id: str, key: str) -> str:
        service = self._require(bot_id)
        stored = self.bot_secrets.find(bot_id, "config")
        config = json.loads(self.bot_secrets.value(stored)) if stored else {}
        return self.backups.keep(bot_id, key, _version(service), config)

    def restore(self, bot_id: str, key: str, *, request_id: str | None = None) -> GatewayStatus:
        service = self._require(bot_id)
        version, config = self.backups.read(bot_id, key)
        request = f"restore-{request_id or key}"
        if service.template.annotations.get(RESTART) == request:
            return self._status(bot_id, service)
        self._put_secrets(bot_id, config)
        service.template.containers[0].image = image(version, self.settings.image_repository)
        service.template.annotations[RESTART] = request  # a new revision, even when the version is the same
        service.scaling.manual_instance_count = 1
        return self._update(bot_id, service)

    def delete(self, bot_id: str) -> None:
        """The service (waited for: its instance must be gone before its files go), the volume's folder, the secrets."""
        try:
            deleting = self._call(lambda: self.services.delete_service(name=self._service_name(bot_id),
                                                                       timeout=CALL_TIMEOUT_S),
                                  f"deleting the service of bot {bot_id}")
            self._call(lambda: deleting.result(timeout=DELETE_WAIT_S), f"the deletion of bot {bot_id}'s service")
        except GatewayNotFound:
            pass  # gone already: a retried delete
        except TimeoutError as slow:  # concurrent.futures' (the operation's poll): a retry finds it gone or going
            raise ProviderBusy(f"the service of bot {bot_id} is still being deleted") from slow
        self._delete_state(bot_id)
        for what in ("token", "config"):
            name = f"projects/{self.settings.project}/secrets/{self._secret_id(bot_id, what)}"
            try:
                self._call(lambda name=name: self.secrets.delete_secret(name=name, timeout=CALL_TIMEOUT_S), name)
            except GatewayNotFound:
                pass
        self.backups.delete_all(bot_id)
        self.bot_secrets.delete(bot_id)

    def live_config(self, bot_id: str) -> LiveConfig:
        return self._ops(self.endpoint(bot_id)).live_config()

    def logs(self, bot_id: str, cursor: int | None = None, limit: int = 200) -> LogChunk:
        return self._ops(self.endpoint(bot_id)).logs(cursor, limit)

    def endpoint(self, bot_id: str) -> Endpoint:
        found = self._status(bot_id, self._require(bot_id)).endpoint
        if found is None:
            raise ProviderBusy(f"the Cloud Run service of bot {bot_id} has no URL yet")
        return found

    def _delete_state(self, bot_id: str) -> None:
        """Every object under the bot's folder of the bucket, through Cloud Storage's JSON API (google-auth's session
        with the same credentials: the project has no Cloud Storage client among its dependencies)."""
        from urllib.parse import quote

        from google.auth.transport.requests import AuthorizedSession

        session = AuthorizedSession(self._options()["credentials"])
        base = f"{os.environ.get(ENDPOINT_ENV) or STORAGE_API}/storage/v1/b/{self.settings.bucket}/o"
        params = {"prefix": f"bots/{bot_id}/"}
        while True:
            listing = _storage(lambda: session.get(base, params=params, timeout=CALL_TIMEOUT_S), "listing state")
            for item in listing.get("items", []):
                try:
                    _storage(lambda item=item: session.delete(f"{base}/{quote(item['name'], safe='')}",
                                                              timeout=CALL_TIMEOUT_S), f"state object {item['name']}")
                except GatewayNotFound:
                    pass  # deleted by an earlier try
            if not listing.get("nextPageToken"):
                return
            params["pageToken"] = listing["nextPageToken"]

    # -- inside -----------------------------------------------------------------------------------------------------
    def _offered(self, version: str, size: str) -> None:
        if version not in OPENCLAW_VERSIONS:
            raise UnsupportedChange(f"OpenClaw {version} is not offered on Cloud Run (offered: "
                                    f"{', '.join(OPENCLAW_VERSIONS)})", {"openclaw_version": version})
        if size not in {tier.name for tier in size_tiers(TARGET)}:
            raise UnsupportedChange(f"size {size!r} is not offered on Cloud Run", {"size": size})

    def _service(self, bot_id: str, version: str, size: str):
        """The service a bot's gateway runs as (scaled to one instance)."""
        from google.cloud import run_v2

        tier = next(t for t in size_tiers(TARGET) if t.name == size)
        secret = lambda env, what: run_v2.EnvVar(name=env, value_source=run_v2.EnvVarSource(  # noqa: E731
            secret_key_ref=run_v2.SecretKeySelector(secret=self._secret_id(bot_id, what), version="latest")))
        container = run_v2.Container(
            name="gateway", image=image(version, self.settings.image_repository),
            ports=[run_v2.ContainerPort(name="http1", container_port=GATEWAY_PORT)],
            env=[secret(ENV_TOKEN, "token"), secret(ENV_CONFIG, "config")],  # PORT is Cloud Run's: it sets 18789
            resources=run_v2.ResourceRequirements(limits={"cpu": f"{tier.vcpu:g}", "memory": f"{tier.memory_mb}Mi"},
                                                  cpu_idle=False, startup_cpu_boost=True),
            volume_mounts=[run_v2.VolumeMount(name="state", mount_path=STATE_MOUNT)],
            startup_probe=run_v2.Probe(http_get=run_v2.HTTPGetAction(path="/readyz", port=GATEWAY_PORT),
                                       period_seconds=5, timeout_seconds=3, failure_threshold=36))
        volume = run_v2.Volume(name="state", gcs=run_v2.GCSVolumeSource(bucket=self.settings.bucket, mount_options=[
            f"only-dir=bots/{bot_id}", f"uid={RUN_AS[0]}", f"gid={RUN_AS[1]}", "file-mode=600", "dir-mode=700"]))
        template = run_v2.RevisionTemplate(
            containers=[container], volumes=[volume], timeout="3600s",  # the longest a WebSocket to it may stay
            scaling=run_v2.RevisionScaling(min_instance_count=1, max_instance_count=1),  # never two on one state
            execution_environment=run_v2.ExecutionEnvironment.EXECUTION_ENVIRONMENT_GEN2,
            labels=_labels(bot_id))
        if self.settings.service_account:  # else the project's default compute account: give each deployment its own
            template.service_account = self.settings.service_account
        return run_v2.Service(
            template=template, labels=_labels(bot_id), annotations={BOT: bot_id},
            ingress=INGRESS[self.settings.ingress], invoker_iam_disabled=True,
            scaling=run_v2.ServiceScaling(scaling_mode=run_v2.ServiceScaling.ScalingMode.MANUAL, manual_instance_count=1))

    def _put_secrets(self, bot_id: str, config: dict) -> None:
        """The control plane's copies (BotSecrets) first, then theirs in Secret Manager, version by version only
        when the value changed: a retried create or update writes nothing twice."""
        token = self.bot_secrets.value(self.bot_secrets.token(bot_id))
        text = self.bot_secrets.value(self.bot_secrets.config(bot_id, config))
        for what, value in (("token", token), ("config", text)):
            self._put_secret(bot_id, what, value)

    def _put_secret(self, bot_id: str, what: str, value: str) -> None:
        from google.cloud import secretmanager_v1 as sm

        parent = f"projects/{self.settings.project}"
        secret = sm.Secret(replication=sm.Replication(automatic=sm.Replication.Automatic()), labels=_labels(bot_id))
        try:
            self._call(lambda: self.secrets.create_secret(parent=parent, secret_id=self._secret_id(bot_id, what),
                                                          secret=secret, timeout=CALL_TIMEOUT_S), f"secret {what}")
        except _Conflict:
            pass  # made by an earlier try
        name = f"{parent}/secrets/{self._secret_id(bot_id, what)}"
        try:
            latest = self._call(lambda: self.secrets.access_secret_version(name=f"{name}/versions/latest",
                                                                           timeout=CALL_TIMEOUT_S), name)
            if latest.payload.data == value.encode():
                return
        except GatewayNotFound:
            pass  # no version yet
        self._call(lambda: self.secrets.add_secret_version(parent=name, payload=sm.SecretPayload(data=value.encode()),
                                                           timeout=CALL_TIMEOUT_S), name)

    def _get(self, bot_id: str):
        try:
            return self._call(lambda: self.services.get_service(name=self._service_name(bot_id), timeout=CALL_TIMEOUT_S),
                              f"the service of bot {bot_id}")
        except GatewayNotFound:
            return None

    def _require(self, bot_id: str):
        found = self._get(bot_id)
        if found is None:
            raise GatewayNotFound(f"bot {bot_id} has no Cloud Run service", {"bot_id": bot_id})
        return found

    def _update(self, bot_id: str, service) -> GatewayStatus:
        """Send the whole service back with the etag it was read at (a concurrent change is ABORTED: retryable)."""
        try:
            self._call(lambda: self.services.update_service(service=service, timeout=CALL_TIMEOUT_S),
                       f"updating the service of bot {bot_id}")
        except _Conflict as conflict:
            raise ProviderBusy(f"the service of bot {bot_id} changed while being updated: {conflict}") from conflict
        return self.describe(bot_id)

    def _status(self, bot_id: str, service) -> GatewayStatus:
        from google.cloud import run_v2

        state = run_v2.Condition.State
        condition = service.terminal_condition
        endpoint = Endpoint(service.uri, ws_url(service.uri), BotSecrets.name(bot_id, "token")) if service.uri else None
        version = _version(service)
        if _stopped(service):
            return GatewayStatus(bot_id, GatewayState.STOPPED, version, endpoint, detail="scaled to zero instances")
        if condition.state == state.CONDITION_FAILED:
            return GatewayStatus(bot_id, GatewayState.FAILED, version, endpoint, detail=condition.message,
                                 failure=Failure.START_FAILED)  # the condition has no exit code: retryable
        if condition.state == state.CONDITION_SUCCEEDED and not service.reconciling:
            return GatewayStatus(bot_id, GatewayState.RUNNING, version, endpoint)
        return GatewayStatus(bot_id, GatewayState.STARTING, version, endpoint,
                             detail=condition.message or "Cloud Run is deploying the revision")

    def _call(self, call: Callable[[], T], what: str) -> T:
        return call_google(call, what)


class _Conflict(ProviderBusy):
    """409 from Google: ALREADY_EXISTS on a create, ABORTED on a stale etag; each caller says what it means."""


def call_google(call: Callable[[], T], what: str) -> T:
    """A Google API call with its errors as the provider's typed ones: throttling, quota and Google's own trouble
    retryable; missing things GatewayNotFound; a refused request InvalidSpec naming the fields Google named."""
    from google.api_core import exceptions as google
    from google.auth import exceptions as auth
    from requests import exceptions as http

    try:
        return call()
    except google.NotFound as error:
        raise GatewayNotFound(f"{what}: {error.message}") from error
    except (google.TooManyRequests, google.ResourceExhausted) as error:
        raise Throttled(f"Google throttled {what}: {error.message}") from error
    except (google.ServiceUnavailable, google.InternalServerError, google.GatewayTimeout, google.DeadlineExceeded,
            google.RetryError) as error:
        raise Throttled(f"Google did not answer about {what}: {error}") from error
    except google.Conflict as error:
        raise _Conflict(f"{what}: {error.message}") from error
    except (google.BadRequest, google.InvalidArgument, google.FailedPrecondition) as error:
        raise InvalidSpec(f"Google refused {what}: {error.message}", {"violations": _violations(error)}) from error
    except google.GoogleAPICallError as error:  # 401, 403 and the rest: not fixed by retrying
        raise ProviderFailed(f"Google refused {what}: {error.code} {error.message}") from error
    except (http.ConnectionError, http.Timeout, auth.TransportError) as error:
        raise Throttled(f"Google's API was unreachable for {what}: {error}") from error
    except auth.GoogleAuthError as error:  # no or refused credentials; a refresh Google says may work later is retried
        kind = Throttled if getattr(error, "retryable", False) else ProviderFailed
        raise kind(f"Google credentials failed for {what}: {error}") from error


def _storage(request: Callable[[], Any], what: str) -> dict:
    """A Cloud Storage JSON API request, its failure raised as the client libraries raise it, then typed."""
    from google.api_core import exceptions as google

    def call() -> dict:
        response = request()
        if response.status_code >= 400:
            raise google.from_http_response(response)
        return response.json() if response.content else {}

    return call_google(call, what)


def _violations(error) -> list[dict]:
    out = []
    for detail in error.details or []:
        violations = detail.get("fieldViolations") if isinstance(detail, dict) else getattr(detail, "field_violations", [])
        for violation in violations or []:
            get = violation.get if isinstance(violation, dict) else lambda key, v=violation: getattr(v, key)
            out.append({"field": get("field"), "message": get("description")})
    return out


def _fingerprint(spec: GatewaySpec) -> str:
    return _digest([spec.openclaw_version, spec.size, spec.config])


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _labels(bot_id: str) -> dict[str, str]:
    return {"managed-by": "clawster", "clawster-bot": re.sub(r"[^a-z0-9_-]", "-", bot_id.lower())[:63]}


def _stopped(service) -> bool:
    return "manual_instance_count" in service.scaling and service.scaling.manual_instance_count == 0


def _version(service) -> str:
    return service.template.containers[0].image.rpartition(":")[2]


def _size(service) -> str:
    limits = service.template.containers[0].resources.limits
    for tier in size_tiers(TARGET):
        if limits.get("cpu") == f"{tier.vcpu:g}" and limits.get("memory") == f"{tier.memory_mb}Mi":
            return tier.name
    return "custom"
