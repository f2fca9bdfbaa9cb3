"""The ECS target (`-c ecs_target=true`): where the bots' gateways run on AWS and how the control plane reaches them.

The network (a VPC with private subnets, or one taken by context), the Fargate cluster, the EFS file system for the
gateways' state, the ECR repository their image is pushed to, and three security groups: the Lambdas that talk to
gateways -> the gateways on 18789 only -> EFS on 2049 only. The functions whose catalog entry reaches gateways run in
those private subnets with that group, and get the IAM actions layers/providers/ecs.py needs: read (find a
gateway, read its token, tail its logs) or manage (also create, change and remove a bot's service, task
definitions, access point, role, log group and secrets), each on the gateways' own names only. Every function
gets the target's environment (which targets the deployment serves, and the ECS settings' defaults).

The adapter creates one role per bot (`clawster-gw-<bot>`, under GATEWAY_ROLE_PATH). A function that may create
roles and put policies on them could hand a task any permission, so it may only create and change roles that carry
the gateway permissions boundary (CLAWSTER_ECS_ROLE_BOUNDARY): whatever policy the adapter writes, a gateway can at
most read the gateways' secrets, write its logs, mount the file system and pull the image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from .nag import acknowledge

GATEWAY_PORT = 18789  # = layers.providers.cloud.common GATEWAY_PORT, the image's PORT
NFS_PORT = 2049
GATEWAY_PREFIX = "clawster-gw-"  # the adapter's name for a bot's service, task family and role
GATEWAY_ROLE_PATH = "/clawster/gateways/"
GATEWAY_SECRETS = "clawster/gateways/"  # BotSecrets' names: clawster/gateways/<bot>/token|config
GATEWAY_LOGS = "/clawster/gateways/"  # a bot's log group: /clawster/gateways/<bot>
REPOSITORY_NAME = "clawster-gateway"  # = layers.providers.cloud.common DEFAULT_IMAGE_REPOSITORY
READ, MANAGE = "read", "manage"  # functions.catalog Function.gateway_access


class GatewayOptionInvalid(ValueError):
    """A context value of the ECS target is malformed or lacks its companion: synthesis stops naming it."""


# context key -> (what it must look like, the key it needs beside it)
_PATTERNS = {
    "vpc_id": (r"vpc-[0-9a-f]{8,17}", "subnet_ids"),
    "subnet_ids": (r"subnet-[0-9a-f]{8,17}(,subnet-[0-9a-f]{8,17})+", "vpc_id"),
    "ecs_cluster": (r"[A-Za-z0-9_-]{1,255}", None),
    "efs_id": (r"fs-[0-9a-f]{8,17}", "efs_security_group_id"),
    "efs_security_group_id": (r"sg-[0-9a-f]{8,17}", "efs_id"),
}


@dataclass(frozen=True)
class GatewayOptions:
    """What the ECS target takes instead of creating it (docs/deploy-targets.md): empty = create it."""

    vpc_id: str = ""  # with subnet_ids: at least two private subnets with egress, in two AZs
    subnet_ids: str = ""
    ecs_cluster: str = ""  # a cluster's name
    efs_id: str = ""  # a file system in that VPC, with efs_security_group_id: its mount targets' group
    efs_security_group_id: str = ""

    @classmethod
    def from_context(cls, scope: Construct) -> GatewayOptions:
        values = {f.name: str(scope.node.try_get_context(f.name) or "").strip() for f in fields(cls)}
        for key, value in values.items():
            pattern, companion = _PATTERNS[key]
            if value and not re.fullmatch(pattern, value):
                raise GatewayOptionInvalid(f"context value {key}={value!r}: expected {pattern}")
            if value and companion and not values[companion]:
                raise GatewayOptionInvalid(f"context value {key} needs {companion} beside it")
        if values["efs_id"] and not values["vpc_id"]:
            raise GatewayOptionInvalid("context value efs_id needs vpc_id: the file system's mount targets are in it")
        return cls(**values)


@dataclass
class GatewayInfra:
    vpc: ec2.IVpc
    subnets: list[ec2.ISubnet]
    lambda_group: ec2.SecurityGroup  # the functions that reach gateways
    gateway_group: ec2.SecurityGroup  # the gateways' tasks
    cluster: ecs.ICluster
    file_system: efs.IFileSystem
    repository: ecr.Repository
    boundary: iam.ManagedPolicy  # every gateway role's permissions boundary


def make_gateway_infra(scope: Construct, options: GatewayOptions) -> GatewayInfra:
    vpc, subnets = _network(scope, options)
    lambda_group = ec2.SecurityGroup(scope, "GatewayClientsSecurityGroup", vpc=vpc, allow_all_outbound=False,
                                     description="Clawster functions that reach gateways")
    gateway_group = ec2.SecurityGroup(scope, "GatewaysSecurityGroup", vpc=vpc, allow_all_outbound=True,
                                      description="Clawster gateways: the control plane on 18789, nothing else in")
    gateway_group.add_ingress_rule(lambda_group, ec2.Port.tcp(GATEWAY_PORT), "the control plane's functions")
    # Out of the functions: the gateways, and AWS APIs and the other targets over TLS (through the NAT).
    lambda_group.add_egress_rule(gateway_group, ec2.Port.tcp(GATEWAY_PORT), "the gateways' admin RPC")
    lambda_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "AWS APIs, Cloud Run and ARM over TLS")
    file_system = _file_system(scope, options, vpc, subnets, gateway_group)
    if options.ecs_cluster:
        cluster = ecs.Cluster.from_cluster_attributes(scope, "GatewayCluster", cluster_name=options.ecs_cluster, vpc=vpc)
    else:
        cluster = ecs.Cluster(scope, "GatewayCluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)
    repository = ecr.Repository(
        scope, "GatewayRepository", repository_name=REPOSITORY_NAME, image_scan_on_push=True,
        # A tag is an openclaw version the bots pin: it must never move, and never expire while a bot may relaunch it.
        image_tag_mutability=ecr.TagMutability.IMMUTABLE,
        lifecycle_rules=[ecr.LifecycleRule(tag_status=ecr.TagStatus.UNTAGGED, max_image_age=cdk.Duration.days(14))],
        removal_policy=cdk.RemovalPolicy.RETAIN)
    boundary = _gateway_boundary(scope, file_system, repository)
    cdk.CfnOutput(scope, "GatewayRepositoryUri", value=repository.repository_uri)
    cdk.CfnOutput(scope, "GatewayClusterName", value=cluster.cluster_name)
    return GatewayInfra(vpc, subnets, lambda_group, gateway_group, cluster, file_system, repository, boundary)


def _network(scope: Construct, options: GatewayOptions) -> tuple[ec2.IVpc, list[ec2.ISubnet]]:
    if options.vpc_id:
        subnets = [ec2.Subnet.from_subnet_id(scope, f"GatewaySubnet{i}", subnet_id)
                   for i, subnet_id in enumerate(options.subnet_ids.split(","))]
        # No lookup (synthesis stays offline): only the VPC id and the named subnets are used, never its AZ list.
        vpc = ec2.Vpc.from_vpc_attributes(scope, "GatewayVpc", vpc_id=options.vpc_id, availability_zones=cdk.Fn.get_azs())
        return vpc, subnets
    flow_logs = logs.LogGroup(scope, "GatewayVpcFlowLogs", retention=logs.RetentionDays.ONE_MONTH,
                              removal_policy=cdk.RemovalPolicy.RETAIN)
    vpc = ec2.Vpc(
        scope, "GatewayVpc", max_azs=2,
        nat_gateways=2,  # one per AZ: a gateway's egress (models, channels) survives the loss of the other AZ
        subnet_configuration=[
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
            ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20),
        ],
        # Free endpoints: table traffic and image layers (ECR keeps them in S3) skip the NAT.
        gateway_endpoints={"DynamoDb": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB),
                           "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
        flow_logs={"All": ec2.FlowLogOptions(destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                                             traffic_type=ec2.FlowLogTrafficType.ALL)},
    )
    return vpc, list(vpc.private_subnets)


def _file_system(scope: Construct, options: GatewayOptions, vpc: ec2.IVpc, subnets: list[ec2.ISubnet],
                 gateway_group: ec2.SecurityGroup) -> efs.IFileSystem:
    if options.efs_id:
        group = ec2.SecurityGroup.from_security_group_id(scope, "GatewayStateSecurityGroup",
                                                         options.efs_security_group_id, mutable=True)
        group.add_ingress_rule(gateway_group, ec2.Port.tcp(NFS_PORT), "the Clawster gateways' NFS mounts")
        return efs.FileSystem.from_file_system_attributes(scope, "GatewayState", file_system_id=options.efs_id,
                                                          security_group=group)
    group = ec2.SecurityGroup(scope, "GatewayStateSecurityGroup", vpc=vpc, allow_all_outbound=False,
                              description="Clawster gateway state (EFS mount targets): NFS from the gateways only")
    group.add_ingress_rule(gateway_group, ec2.Port.tcp(NFS_PORT), "the Clawster gateways' NFS mounts")
    key = kms.Key(scope, "GatewayStateKey", enable_key_rotation=True, removal_policy=cdk.RemovalPolicy.RETAIN,
                  description="Clawster gateway state (EFS) at rest")
    # Mounts only over TLS; who may mount is each bot's role (ClientMount/ClientWrite, the task's IAM authorization).
    policy = iam.PolicyDocument(statements=[iam.PolicyStatement(
        effect=iam.Effect.DENY, principals=[iam.AnyPrincipal()], actions=["*"], resources=["*"],
        conditions={"Bool": {"aws:SecureTransport": "false"}})])
    return efs.FileSystem(
        scope, "GatewayState", vpc=vpc, vpc_subnets=ec2.SubnetSelection(subnets=subnets), security_group=group,
        encrypted=True, kms_key=key, enable_automatic_backups=True, file_system_policy=policy,
        lifecycle_policy=efs.LifecyclePolicy.AFTER_30_DAYS,
        out_of_infrequent_access_policy=efs.OutOfInfrequentAccessPolicy.AFTER_1_ACCESS,
        throughput_mode=efs.ThroughputMode.ELASTIC, performance_mode=efs.PerformanceMode.GENERAL_PURPOSE,
        removal_policy=cdk.RemovalPolicy.RETAIN)  # the bots' state outlives the stack, as the table does


def _arn(scope: Construct, service: str, resource: str, name: str, sep: cdk.ArnFormat = cdk.ArnFormat.SLASH_RESOURCE_NAME,
         region: str | None = None) -> str:
    return cdk.Stack.of(scope).format_arn(service=service, resource=resource, resource_name=name, arn_format=sep,
                                          region=region)


def _gateway_boundary(scope: Construct, file_system: efs.IFileSystem, repository: ecr.Repository) -> iam.ManagedPolicy:
    """The most a gateway's role may ever allow: each role's own policy (the adapter's) narrows it to its bot."""
    policy = iam.ManagedPolicy(scope, "GatewayRoleBoundary", description="Clawster gateways: permissions boundary",
                               statements=[
        iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[
            _arn(scope, "secretsmanager", "secret", f"{GATEWAY_SECRETS}*", cdk.ArnFormat.COLON_RESOURCE_NAME)]),
        iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[
            _arn(scope, "logs", "log-group", f"{GATEWAY_LOGS}*", cdk.ArnFormat.COLON_RESOURCE_NAME)]),
        iam.PolicyStatement(actions=["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                            resources=[file_system.file_system_arn]),
        iam.PolicyStatement(actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                                     "ecr:BatchCheckLayerAvailability"], resources=[repository.repository_arn]),
        iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
    ])
    acknowledge(policy, "AwsSolutions-IAM5[Resource::*]",
                "ecr:GetAuthorizationToken has no resource-level permissions; the image pull itself is on the "
                "gateway repository only")
    acknowledge(policy, "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:"
                        f"<AWS::AccountId>:secret:{GATEWAY_SECRETS}*]",
                "a bound, not a grant: each gateway role's own policy names its bot's two secrets")
    acknowledge(policy, "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:"
                        f"log-group:{GATEWAY_LOGS}*]",
                "a bound, not a grant: each gateway role's own policy names its bot's log group")
    return policy


def placement(infra: GatewayInfra) -> dict:
    """lambda_.Function props for a function that reaches gateways: the private subnets, the clients' group."""
    return {"vpc": infra.vpc, "vpc_subnets": ec2.SubnetSelection(subnets=infra.subnets),
            "security_groups": [infra.lambda_group]}


def environment(infra: GatewayInfra) -> dict[str, str]:
    """The deployment's ECS target as every function sees it: the registry (which targets are served, GET
    /targets), the settings' defaults (layers/providers/cloud/targets.py) and the adapter read these."""
    return {
        "CLAWSTER_TARGETS": "ecs",
        "CLAWSTER_ECS_CLUSTER": infra.cluster.cluster_name,
        "CLAWSTER_ECS_SUBNETS": cdk.Fn.join(",", [s.subnet_id for s in infra.subnets]),
        "CLAWSTER_ECS_SECURITY_GROUP": infra.gateway_group.security_group_id,
        "CLAWSTER_EFS_ID": infra.file_system.file_system_id,
        "CLAWSTER_GATEWAY_IMAGE": infra.repository.repository_uri,  # tags are openclaw versions
        "CLAWSTER_ECS_ROLE_BOUNDARY": infra.boundary.managed_policy_arn,
    }


def reach_gateways(fn: lambda_.Function, access: str, infra: GatewayInfra) -> None:
    """The IAM actions of a function that reaches gateways (`access`: READ or MANAGE)."""
    if access not in (READ, MANAGE):
        raise GatewayOptionInvalid(f"{fn.node.id}: gateway_access {access!r} is neither {READ!r} nor {MANAGE!r}")
    role = fn.role
    assert role is not None  # catalog_function always passes its own role
    for statement in _statements(fn, access, infra):
        role.add_to_principal_policy(statement)
    _acknowledge(role, access, infra)


def _statements(scope: Construct, access: str, infra: GatewayInfra) -> list[iam.PolicyStatement]:
    cluster = infra.cluster.cluster_name
    services = _arn(scope, "ecs", "service", f"{cluster}/{GATEWAY_PREFIX}*")
    tasks = _arn(scope, "ecs", "task", f"{cluster}/*")
    secrets = _arn(scope, "secretsmanager", "secret", f"{GATEWAY_SECRETS}*", cdk.ArnFormat.COLON_RESOURCE_NAME)
    groups = _arn(scope, "logs", "log-group", f"{GATEWAY_LOGS}*", cdk.ArnFormat.COLON_RESOURCE_NAME)
    # Lambda creates the function's network interfaces with its role; EC2 scopes none of these by resource.
    statements = [
        iam.PolicyStatement(actions=["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
                                     "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
                                     "ec2:UnassignPrivateIpAddresses"], resources=["*"]),
        iam.PolicyStatement(actions=["ecs:DescribeServices"], resources=[services]),
        iam.PolicyStatement(actions=["ecs:DescribeTasks"], resources=[tasks]),
        # ListTasks is scoped by container instance (Fargate has none): the cluster condition is its scope.
        iam.PolicyStatement(actions=["ecs:ListTasks"], resources=["*"],
                            conditions={"ArnEquals": {"ecs:cluster": infra.cluster.cluster_arn}}),
        iam.PolicyStatement(actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                            resources=[secrets]),
        iam.PolicyStatement(actions=["logs:GetLogEvents"], resources=[f"{groups}:log-stream:*"]),
    ]
    if access == READ:
        return statements
    roles = _arn(scope, "iam", "role", f"{GATEWAY_ROLE_PATH.strip('/')}/{GATEWAY_PREFIX}*", region="")
    bounded = {"StringEquals": {"iam:PermissionsBoundary": infra.boundary.managed_policy_arn}}
    return statements + [
        iam.PolicyStatement(actions=["ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService",
                                     "ecs:TagResource"], resources=[services]),
        iam.PolicyStatement(actions=["ecs:TagResource"], resources=[
            _arn(scope, "ecs", "task-definition", f"{GATEWAY_PREFIX}*:*")]),
        # Task definitions take no resource in IAM for these: the family is the adapter's (clawster-gw-<bot>).
        iam.PolicyStatement(actions=["ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition",
                                     "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"], resources=["*"]),
        iam.PolicyStatement(actions=["iam:CreateRole", "iam:PutRolePolicy"], resources=[roles], conditions=bounded),
        iam.PolicyStatement(actions=["iam:GetRole", "iam:TagRole", "iam:DeleteRole", "iam:DeleteRolePolicy"],
                            resources=[roles]),
        iam.PolicyStatement(actions=["iam:PassRole"], resources=[roles],
                            conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}),
        iam.PolicyStatement(actions=["elasticfilesystem:CreateAccessPoint", "elasticfilesystem:DescribeAccessPoints"],
                            resources=[infra.file_system.file_system_arn]),
        iam.PolicyStatement(actions=["elasticfilesystem:DeleteAccessPoint", "elasticfilesystem:DescribeAccessPoints",
                                     "elasticfilesystem:TagResource"],
                            resources=[_arn(scope, "elasticfilesystem", "access-point", "*")]),
        iam.PolicyStatement(actions=["logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy",
                                     "logs:TagResource", "logs:TagLogGroup"], resources=[groups]),
        # The adapter finds its group's ARN by name prefix: listing is account-wide in IAM, names only.
        iam.PolicyStatement(actions=["logs:DescribeLogGroups"], resources=[
            _arn(scope, "logs", "log-group", "*", cdk.ArnFormat.COLON_RESOURCE_NAME)]),
        iam.PolicyStatement(actions=["secretsmanager:CreateSecret", "secretsmanager:PutSecretValue",
                                     "secretsmanager:DeleteSecret", "secretsmanager:TagResource"], resources=[secrets]),
    ]


def _acknowledge(role: iam.IRole, access: str, infra: GatewayInfra) -> None:
    stack = cdk.Stack.of(role)
    cluster = stack.resolve(infra.cluster.cluster_name)
    cluster_part = f"<{cluster['Ref']}>" if isinstance(cluster, dict) else cluster
    account = "arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:"
    reasons = {
        "Resource::*": "Lambda's VPC network interfaces (ec2:*NetworkInterface*) and ECS task definitions "
                       "(Register/Deregister/Describe/ListTaskDefinitions) take no resource in IAM; ListTasks is held to "
                       "the gateway cluster by its ecs:cluster condition",
        f"Resource::{account.format(service='ecs')}service/{cluster_part}/{GATEWAY_PREFIX}*":
            "a gateway's service is named clawster-gw-<bot> at run time: the gateway services of this cluster only",
        f"Resource::{account.format(service='ecs')}task/{cluster_part}/*":
            "task ids are assigned by ECS at run time: the tasks of the gateway cluster only",
        f"Resource::{account.format(service='secretsmanager')}secret:{GATEWAY_SECRETS}*":
            "each bot's token and config secrets are created at run time under clawster/gateways/<bot>/",
        f"Resource::{account.format(service='logs')}log-group:{GATEWAY_LOGS}*:log-stream:*":
            "each bot's log group (/clawster/gateways/<bot>) and its streams (one per task) are made at run time",
    }
    if access == MANAGE:
        reasons |= {
            f"Resource::{account.format(service='ecs')}task-definition/{GATEWAY_PREFIX}*:*":
                "each bot's task definition family (clawster-gw-<bot>) and its revisions are made at run time",
            f"Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role{GATEWAY_ROLE_PATH}{GATEWAY_PREFIX}*":
                "each bot's role is made at run time under /clawster/gateways/, created and changed only with the "
                "gateway permissions boundary and passed only to ECS tasks",
            f"Resource::{account.format(service='logs')}log-group:{GATEWAY_LOGS}*":
                "each bot's log group is created at run time as /clawster/gateways/<bot>",
            f"Resource::{account.format(service='logs')}log-group:*":
                "DescribeLogGroups lists by name prefix and IAM scopes it to the account only: names, no events",
            f"Resource::{account.format(service='elasticfilesystem')}access-point/*":
                "access point ids are assigned by EFS at run time; they are created on the gateway file system only",
        }
    for finding, reason in reasons.items():
        acknowledge(role, f"AwsSolutions-IAM5[{finding}]", reason)
