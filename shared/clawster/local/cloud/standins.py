"""The cloud targets in the local stack: what each cloud would be, on this machine, behind the real SDKs.

    cloud = CloudStandIns(state_dir / "cloud", client)   # client(service) -> a boto3 client for the stack's moto
    env = cloud.start()      # the task workers' environment: endpoints, the deployment's defaults, CLAWSTER_TARGETS
    ...
    cloud.close()            # every container stops; their state stays on disk

- ECS: moto's ECS, EFS, IAM and Logs, with the Fargate scheduler and agent moto lacks (ecs_agent.py), in this
  process (the agent works on moto's own models); a VPC, cluster and file system made as the CDK app makes them.
- Cloud Run: the Cloud Run v2 and Secret Manager stand-in (gcp.py), plain HTTP, a bearer token required.
- ACI: the Azure Resource Manager stand-in (azure.py) over TLS with a CA of its own, a storage account whose key
  is in Secrets Manager and named by reference, as an operator would keep it.
All three run their containers on one ContainerHost: the gateway image's entrypoint on node 24 and openclaw.

What a cloud keeps (services, groups, tasks) lives as long as the stack: a restarted stack starts with empty
clouds, so bots deployed to them before answer "not found" and can be provisioned again.
"""

from __future__ import annotations

import secrets as random
from pathlib import Path
from typing import Any

from .container_host import ContainerHost, Launcher

STORAGE_ACCOUNT = "clawsterlocal"
STORAGE_KEY_SECRET = "clawster/local/azure-storage-key"
TARGETS = "ecs,cloudrun,aci"


class CloudStandIns:
    def __init__(self, root: Path | str, client: Any, launcher: Launcher | None = None):
        self.root = Path(root)
        self.client = client
        self.launcher = launcher
        self.host: ContainerHost | None = None
        self.ecs: Any = None
        self.gcp: Any = None
        self.azure: Any = None

    def start(self) -> dict[str, str]:
        from .azure import AzureStandin
        from .ecs_agent import EcsAgent, local_target
        from .gcp import GcpStandIn

        self.host = ContainerHost(self.root / "containers", self.launcher)
        env = {"CLAWSTER_TARGETS": TARGETS}
        env |= local_target(self.client)
        self.ecs = EcsAgent(self.host, clusters={env["CLAWSTER_ECS_CLUSTER"]})
        self.ecs.start()
        self.gcp = GcpStandIn(self.host)
        env["CLAWSTER_GCP_ENDPOINT"] = self.gcp.start()
        self.azure = AzureStandin(self.host)
        self.azure.start()
        env |= self.azure.environment()
        env |= self._storage_account()
        return env

    def _storage_account(self) -> dict[str, str]:
        """The account the ACI gateways' shares live in; its key only in Secrets Manager (kept across restarts by
        the stack's durable secrets), named by reference in the deployment's defaults."""
        secrets = self.client("secretsmanager")
        try:
            key = secrets.get_secret_value(SecretId=STORAGE_KEY_SECRET)["SecretString"]
        except secrets.exceptions.ResourceNotFoundException:
            key = random.token_urlsafe(48)
            secrets.create_secret(Name=STORAGE_KEY_SECRET, SecretString=key)
        self.azure.add_storage_account(STORAGE_ACCOUNT, key)
        return {"CLAWSTER_AZURE_STORAGE_ACCOUNT": STORAGE_ACCOUNT, "CLAWSTER_AZURE_STORAGE_KEY_REF": STORAGE_KEY_SECRET}

    def close(self) -> None:
        for part in (self.ecs, self.gcp, self.azure):
            if part is not None:
                part.close()
        if self.host is not None:
            self.host.close()
