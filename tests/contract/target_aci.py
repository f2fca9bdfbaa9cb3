"""The ACI target for the provider contract suite: the adapter through azure-mgmt-containerinstance against the local
ARM stand-in (TLS, its own CA), Secrets Manager from the session's moto, containers on the given ContainerHost."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

from clawster.local.cloud.azure import AzureStandin
from clawster.local.cloud.container_host import ContainerHost
from layers.providers.aci import AciProvider, Settings, provider

ACCOUNT = "clawsterlocal"
RESOURCE_GROUP = "clawster-test"
FAILURES = {"throttle": dict(status=429, retry_after_s=2), "invalid": dict(status=400, code="InvalidRequestContent")}


def secretsmanager():
    import boto3

    return boto3.client("secretsmanager", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"), region_name="us-east-1")


@contextlib.contextmanager
def standin(host: ContainerHost, **options) -> Iterator[AzureStandin]:
    arm = AzureStandin(host, **options)
    arm.start()
    arm.add_storage_account(ACCOUNT, f"key-{uuid.uuid4().hex}")
    try:
        yield arm
    finally:
        arm.close()


@contextlib.contextmanager
def adapter(arm: AzureStandin, **settings) -> Iterator[AciProvider]:
    """An AciProvider built as the registry builds it, from env defaults that point it at the stand-in."""
    key_ref = f"clawster/test-aci/{uuid.uuid4().hex}/storage-key"
    secretsmanager().create_secret(Name=key_ref, SecretString=arm.storage_accounts[ACCOUNT])
    env = {**arm.environment(), "CLAWSTER_AZURE_SUBSCRIPTION": str(uuid.uuid4()),
           "CLAWSTER_AZURE_RESOURCE_GROUP": RESOURCE_GROUP, "CLAWSTER_AZURE_LOCATION": "westeurope",
           "CLAWSTER_AZURE_STORAGE_ACCOUNT": ACCOUNT, "CLAWSTER_AZURE_STORAGE_KEY_REF": key_ref}
    with mock.patch.dict(os.environ, env):
        built = provider(Settings.model_validate(settings))
    try:
        yield built
    finally:
        secretsmanager().delete_secret(SecretId=key_ref, ForceDeleteWithoutRecovery=True)


@contextlib.contextmanager
def running(tmp_path: Path, host: ContainerHost):
    """(provider, fail_next): fail_next("throttle" | "invalid") makes ARM refuse the adapter's next request."""
    with standin(host) as arm, adapter(arm) as aci:
        yield aci, lambda kind: arm.fail_next(**FAILURES[kind])
