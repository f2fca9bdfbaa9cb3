"""The ECS target's settings (defaults from the deployment's environment, each wrong field named) and how AWS's
error codes become the provider's typed errors (a table written here from the AWS API references)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from pydantic import ValidationError

from layers.providers.ecs import SIZE_TIERS, Settings, configured
from layers.providers.ecs.aws import call
from layers.providers.errors import GatewayNotFound, InvalidSpec, ProviderFailed, Throttled

ENV = {"AWS_REGION": "eu-west-1", "CLAWSTER_ECS_CLUSTER": "clawster", "CLAWSTER_ECS_SUBNETS": "subnet-0a1b2c3d, subnet-0e0f1a2b",
       "CLAWSTER_ECS_SECURITY_GROUP": "sg-0123abcd", "CLAWSTER_EFS_ID": "fs-0123abcd",
       "CLAWSTER_GATEWAY_IMAGE": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/clawster-gateway"}


@pytest.fixture
def deployment(monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def test_settings_default_to_the_deployments_environment(deployment):
    # Given the environment the CDK app sets; When a fleet gives no settings of its own
    settings = Settings.model_validate({})
    # Then they are the deployment's
    assert (settings.region, settings.cluster, settings.subnets, settings.security_groups, settings.file_system_id) == (
        None, "clawster", ["subnet-0a1b2c3d", "subnet-0e0f1a2b"], ["sg-0123abcd"], "fs-0123abcd")
    assert settings.image_repository == ENV["CLAWSTER_GATEWAY_IMAGE"]
    assert settings.assign_public_ip is False and settings.log_retention_days == 30
    # and a fleet's own override them
    assert Settings.model_validate({"subnets": ["subnet-99999999"]}).subnets == ["subnet-99999999"]
    assert configured() is None


@pytest.mark.parametrize(("override", "field"), [
    ({"region": "Europe"}, "region"),
    ({"subnets": ["vpc-12345678"]}, "subnets"),
    ({"subnets": []}, "subnets"),
    ({"security_groups": ["sg-XYZ"]}, "security_groups"),
    ({"file_system_id": "fsap-12345678"}, "file_system_id"),
    ({"log_retention_days": 10}, "log_retention_days"),
    ({"assign_public_ip": True}, "assign_public_ip"),
    ({"cluster": "has space"}, "cluster"),
    ({"vpc": "vpc-1"}, "vpc"),
])
def test_a_wrong_setting_is_refused_naming_the_field(deployment, override, field):
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate(override)
    assert field in str(refused.value)


def test_configured_names_what_the_deployment_lacks(monkeypatch):
    for name in ("CLAWSTER_ECS_CLUSTER", "CLAWSTER_ECS_SUBNETS", "CLAWSTER_ECS_SECURITY_GROUP", "CLAWSTER_EFS_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLAWSTER_ECS_CLUSTER", "c")
    assert configured() == "CLAWSTER_ECS_SUBNETS, CLAWSTER_ECS_SECURITY_GROUP, CLAWSTER_EFS_ID are not set"


def test_size_tiers_are_fargate_sizes_with_prices_from_the_table():
    # Fargate pairs (1 vCPU: 2-8 GB, 2 vCPU: 4-16 GB, 4 vCPU: 8-30 GB); price = vCPU x 0.04048 + GB x 0.004445
    assert [(t.name, t.vcpu, t.memory_mb) for t in SIZE_TIERS] == [("small", 1, 2048), ("medium", 2, 4096),
                                                                    ("large", 4, 8192)]
    assert [t.hourly_usd for t in SIZE_TIERS] == [0.0494, 0.0987, 0.1975]


def _refusal(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "Op")


@pytest.mark.parametrize(("code", "kind"), [
    ("ThrottlingException", Throttled), ("TooManyRequestsException", Throttled), ("LimitExceededException", Throttled),
    ("RequestLimitExceeded", Throttled), ("ServerException", Throttled),
    ("ClientException", InvalidSpec), ("InvalidParameterException", InvalidSpec), ("MalformedPolicyDocument", InvalidSpec),
    ("ValidationException", InvalidSpec), ("ClusterNotFoundException", InvalidSpec), ("FileSystemNotFound", InvalidSpec),
    ("ServiceNotFoundException", GatewayNotFound), ("ServiceNotActiveException", GatewayNotFound),
    ("NoSuchEntity", GatewayNotFound), ("AccessPointNotFound", GatewayNotFound),
    ("AccessDeniedException", ProviderFailed),
])
def test_aws_error_codes_become_typed_errors(code, kind):
    def refused():
        raise _refusal(code)

    with pytest.raises(kind):
        call("thing", refused)
    assert call("thing", refused, ok=(code,)) is None  # an expected answer ("already exists") is no error


def test_no_answer_from_aws_is_retryable():
    def unreachable():
        raise EndpointConnectionError(endpoint_url="https://ecs.eu-west-1.amazonaws.com")

    with pytest.raises(Throttled):
        call("thing", unreachable)


def test_idempotency_tokens_are_one_per_gateway_generation():
    from layers.providers.ecs.shapes import client_token

    # A retried create (same token secret ARN) sends the same tokens; a later gateway of the bot (its token secret
    # made again, with another ARN suffix) sends other ones, so AWS never hands back what a deleted gateway had.
    first = "arn:aws:secretsmanager:us-east-1:123456789012:secret:clawster/gateways/B1/token-AbCdEf"
    later = "arn:aws:secretsmanager:us-east-1:123456789012:secret:clawster/gateways/B1/token-GhIjKl"
    assert client_token("service", first, "spec") == client_token("service", first, "spec")
    assert client_token("service", first, "spec") != client_token("service", later, "spec")
    assert len(client_token("access-point", first, size=64)) == 64 and len(client_token("service", first)) == 36
