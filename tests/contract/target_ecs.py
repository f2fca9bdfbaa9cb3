"""The ECS target for the contract suite and the ECS tests: moto (in this process) with a VPC of private subnets
(DNS hostnames on, as EFS needs), a security group, a cluster and an encrypted EFS file system, the ECS agent
stand-in running their tasks on a ContainerHost, and an EcsProvider whose settings name them."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from clawster.local.cloud import moto_ecs
from clawster.local.cloud.container_host import ContainerHost
from clawster.local.cloud.ecs_agent import EcsAgent
from clawster.local.moto_server import MotoServer
from layers.providers.ecs import EcsProvider, Settings
from layers.providers.ecs.provider import client_config

REGION = "us-east-1"


@dataclass
class EcsWorld:
    url: str
    settings: Settings
    agent: EcsAgent
    provider: EcsProvider

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=REGION)


def world_settings(client, **overrides: Any) -> Settings:
    """A cluster, network and file system of its own in moto, as the CDK app makes them."""
    ec2, ecs, efs = client("ec2"), client("ecs"), client("efs")
    suffix = uuid.uuid4().hex[:8]
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{n}.0/24")["Subnet"]["SubnetId"] for n in (1, 2)]
    group = ec2.create_security_group(GroupName=f"gw-{suffix}", Description="gateways", VpcId=vpc)["GroupId"]
    cluster = ecs.create_cluster(clusterName=f"clawster-{suffix}")["cluster"]["clusterName"]
    file_system = efs.create_file_system(CreationToken=f"clawster-{suffix}", Encrypted=True)["FileSystemId"]
    return Settings.model_validate({"region": REGION, "cluster": cluster, "subnets": subnets, "security_groups": [group],
                                    "file_system_id": file_system, "image_repository": "clawster-gateway", **overrides})


@contextlib.contextmanager
def ecs_world(tmp_path, host: ContainerHost, *, interval_s: float = 0.2) -> Iterator[EcsWorld]:
    from clawster import secrets

    server = MotoServer()
    server.start()
    url = f"http://127.0.0.1:{server.port}"

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=url, region_name=REGION, config=client_config())

    settings = world_settings(client)
    agent = EcsAgent(host, clusters={settings.cluster}, interval_s=interval_s)
    provider = EcsProvider(settings, ecs=client("ecs"), efs=client("efs"), iam=client("iam"), logs=client("logs"),
                           secretsmanager=client("secretsmanager"))
    with pytest.MonkeyPatch.context() as patch:
        # GatewayOps resolves the endpoint's token_ref with the process's resolver: point it at this moto
        patch.setattr(secrets, "_default", secrets.SecretResolver(client("secretsmanager")))
        agent.start()
        try:
            yield EcsWorld(url, settings, agent, provider)
        finally:
            agent.close()
            server.stop()


@contextlib.contextmanager
def running(tmp_path, host: ContainerHost) -> Iterator[tuple[EcsProvider, Callable[[str], None]]]:
    """The contract suite's hook: a configured ECS provider over moto and the ECS agent, and how to make ECS refuse
    the next create: "throttle" (ThrottlingException on every attempt the SDK makes) or "invalid"."""

    def fail_next(kind: str) -> None:
        if kind == "throttle":
            moto_ecs.inject_fault("DescribeServices", "ThrottlingException", "Rate exceeded", times=3)
        else:
            moto_ecs.inject_fault("CreateService", "InvalidParameterException", "subnets can not be empty.")

    with ecs_world(tmp_path, host) as world:
        try:
            yield world.provider, fail_next
        finally:
            moto_ecs.clear_faults()
