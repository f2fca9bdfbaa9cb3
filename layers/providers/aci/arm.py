"""Azure Resource Manager for the ACI adapter: the official client, its errors as the provider's typed errors, the
container group a bot's gateway runs as, and its Azure Files share.

Credentials: DefaultAzureCredential (managed identity, workload identity, environment), never from Clawster's
database. Only when CLAWSTER_AZURE_ENDPOINT is set (the local stack) is the client pointed there, with a static
token and the stand-in's CA (CLAWSTER_AZURE_CA_BUNDLE): the same HTTPS and bearer-token path as production.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ..cloud.common import ENV_CONFIG, ENV_TOKEN, GATEWAY_PORT, STATE_MOUNT, image
from ..errors import GatewayNotFound, InvalidSpec, ProviderBusy, ProviderFailed, Throttled
from .settings import Settings

ENDPOINT_ENV = "CLAWSTER_AZURE_ENDPOINT"
CA_BUNDLE_ENV = "CLAWSTER_AZURE_CA_BUNDLE"
STORAGE_API = "2023-01-01"  # Microsoft.Storage file shares
SHARE_QUOTA_GB = 10  # a gateway's state is megabytes; sessions and media grow it slowly
POLL_S = 1.0  # between polls of a deletion the adapter waits on (ARM's default, 30 s, outlasts the wait)
CONTAINER = "gateway"
VOLUME = "state"
TAG_BOT, TAG_CONFIG = "clawster-bot", "clawster-config"  # the config digest the group was given (not the config)
T = TypeVar("T")


class _LocalToken:
    """The local stack's ARM takes any bearer token; real Azure never sees this one."""

    def get_token(self, *scopes: str, **kwargs: Any):
        from azure.core.credentials import AccessToken

        return AccessToken("clawster-local", int(time.time()) + 3600)


def client(settings: Settings) -> Any:
    """The container instance client. No SDK retries (retry_total=0): Step Functions owns retrying, with the
    Retry-After a 429 gives, inside each task's timeout."""
    from azure.mgmt.containerinstance import ContainerInstanceManagementClient

    options: dict[str, Any] = {"retry_total": 0, "polling_interval": POLL_S}
    local = os.environ.get(ENDPOINT_ENV)
    if local:
        options["base_url"] = local
        if os.environ.get(CA_BUNDLE_ENV):
            options["connection_verify"] = os.environ[CA_BUNDLE_ENV]
        return ContainerInstanceManagementClient(_LocalToken(), settings.subscription_id, **options)
    from azure.identity import DefaultAzureCredential

    return ContainerInstanceManagementClient(DefaultAzureCredential(), settings.subscription_id, **options)


def call(what: str, action: Callable[[], T]) -> T:
    """`action` with ARM's refusals as typed errors: 404 GatewayNotFound, 400 InvalidSpec (naming ARM's target),
    429 Throttled with Retry-After, 409 ProviderBusy (another operation holds the resource), 5xx and no answer
    retryable, anything else permanent."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    try:
        return action()
    except ResourceNotFoundError as error:
        raise GatewayNotFound(f"{what}: not found", _details(error)) from error
    except ClientAuthenticationError as error:
        raise ProviderFailed(f"{what}: Azure refused the control plane's credentials", _details(error)) from error
    except HttpResponseError as error:
        raise _typed(what, error) from error
    except (ServiceRequestError, ServiceResponseError) as error:
        raise Throttled(f"{what}: Azure Resource Manager did not answer: {type(error).__name__}") from error


def _typed(what: str, error: Any) -> Exception:
    status, details = error.status_code, _details(error)
    if status == 429:
        return Throttled(f"{what}: throttled by Azure", details, retry_after_ms=_retry_after_ms(error.response))
    if status == 400:
        return InvalidSpec(f"{what}: Azure refused it: {details.get('message', '')}", details)
    if status == 409:
        return ProviderBusy(f"{what}: another operation is in progress on it", details)
    if status is not None and status >= 500:
        return Throttled(f"{what}: Azure failed ({status})", details)
    return ProviderFailed(f"{what}: Azure answered {status}: {details.get('message', '')}", details)


def _details(error: Any) -> dict:
    inner = getattr(error, "error", None)  # ODataV4Format: ARM's {"error": {code, message, target}}
    return {"status": getattr(error, "status_code", None), "code": getattr(inner, "code", None) or "",
            "target": getattr(inner, "target", None) or "", "message": getattr(inner, "message", None) or str(error)}


def _retry_after_ms(response: Any) -> int | None:
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return int(float(value) * 1000) if value is not None else None
    except ValueError:
        return None  # an HTTP date: let the workflow's backoff decide


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def group_model(settings: Settings, *, bot_id: str, name: str, version: str, vcpu: float, memory_mb: int,
                token: str, config_text: str, storage_key: str) -> Any:
    """The bot's container group: the gateway image, its token and config as secure values (ARM never shows them
    back), its state on the bot's own share, restart policy Always, private in the VNet or public with a DNS label."""
    from azure.mgmt.containerinstance import models as m

    env = [m.EnvironmentVariable(name=ENV_TOKEN, secure_value=token),
           m.EnvironmentVariable(name=ENV_CONFIG, secure_value=config_text)]
    container = m.Container(
        name=CONTAINER, image=image(version, settings.image_repository),
        resources=m.ResourceRequirements(requests=m.ResourceRequests(cpu=vcpu, memory_in_gb=round(memory_mb / 1024, 1))),
        ports=[m.ContainerPort(port=GATEWAY_PORT, protocol="TCP")], environment_variables=env,
        volume_mounts=[m.VolumeMount(name=VOLUME, mount_path=STATE_MOUNT)])
    share = m.AzureFileVolume(share_name=name, storage_account_name=settings.storage_account,
                              storage_account_key=storage_key)
    if settings.subnet_id:  # private: reached over the VNet only
        address = m.IpAddress(type="Private", ports=[m.Port(port=GATEWAY_PORT, protocol="TCP")])
        subnets = [m.ContainerGroupSubnetId(id=settings.subnet_id)]
    else:
        # TenantReuse: a deleted bot's DNS name cannot be taken over by another tenant (ARM's default is Unsecure).
        address = m.IpAddress(type="Public", ports=[m.Port(port=GATEWAY_PORT, protocol="TCP")],
                              dns_name_label=f"{settings.dns_name_label_prefix or 'clawster'}-{bot_id.lower()}",
                              auto_generated_domain_name_label_scope="TenantReuse")
        subnets = None
    return m.ContainerGroup(location=settings.location, os_type="Linux", restart_policy="Always",
                            containers=[container], volumes=[m.Volume(name=VOLUME, azure_file=share)],
                            ip_address=address, subnet_ids=subnets,
                            tags={TAG_BOT: bot_id, TAG_CONFIG: digest(config_text)})


class Shares:
    """The bot's Azure Files share, through ARM (Microsoft.Storage) on the container client's own pipeline: one
    share per bot, so no gateway can read another's state, and deleting a bot deletes its state."""

    def __init__(self, settings: Settings, aci: Any):
        self.settings, self.aci = settings, aci

    def _url(self, share: str) -> str:
        s = self.settings
        return (f"/subscriptions/{s.subscription_id}/resourceGroups/{s.resource_group}/providers/Microsoft.Storage/"
                f"storageAccounts/{s.storage_account}/fileServices/default/shares/{share}")

    def ensure(self, share: str) -> None:
        body = {"properties": {"shareQuota": SHARE_QUOTA_GB, "enabledProtocols": "SMB"}}
        self._send("PUT", share, body, ok=(200, 201))

    def delete(self, share: str) -> None:
        self._send("DELETE", share, None, ok=(200, 202, 204, 404))

    def _send(self, method: str, share: str, body: dict | None, ok: tuple[int, ...]) -> None:
        from azure.core.exceptions import HttpResponseError
        from azure.core.rest import HttpRequest
        from azure.mgmt.core.exceptions import ARMErrorFormat

        request = HttpRequest(method, self._url(share), params={"api-version": STORAGE_API}, json=body)

        def send() -> None:
            response = self.aci._send_request(request)
            if response.status_code not in ok:
                raise HttpResponseError(response=response, error_format=ARMErrorFormat)

        call(f"Azure Files share {share}", send)
