"""Secret references: one format (parsed the same by the config policy and the resolver) and a resolver
that reads Secrets Manager (moto) and the local file store, with typed, value-free errors."""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from clawster.domain import config_policy
from clawster.domain.errors import ValidationFailed
from clawster.domain.secret_refs import SecretRef
from clawster.errors import PermanentError, RetryableError
from clawster.secrets import SecretAccessDenied, SecretNotFound, SecretResolver, SecretStoreUnavailable

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:clawster/acme/openai-AbCdEf"

# Hand-written: (reference text, store it names or None when refused, allowed only internally).
FORMS = [
    ("clawster/acme/openai", "secretsmanager", False),
    ("openai_key+v2=@.-", "secretsmanager", False),
    (ARN, "secretsmanager", False),
    ("arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x", "secretsmanager", False),
    ("file:/var/lib/clawster/bots/b1/token", "file", True),
    ("", None, False),
    ("a" * 513, None, False),
    ("has space", None, False),
    ("arn:aws:s3:::bucket/key", None, False),  # an ARN, but not a secret's
    ("arn:aws:secretsmanager:us-east-1:12345:secret:x", None, False),  # account ids have 12 digits
    ("file:relative/path", None, True),
    ("https://vault.example/secret", None, False),
]


@pytest.mark.parametrize(("text", "store", "internal"), FORMS)
def test_the_one_format_is_read_the_same_by_the_parser_and_the_config_policy(text, store, internal):
    config = {"models": {"providers": {"openai": {"apiKey": {"$secretRef": text}}}}}
    if store is None:
        with pytest.raises(ValidationFailed):
            SecretRef.parse(text, allow_file=True)
    else:
        assert SecretRef.parse(text, allow_file=True) == SecretRef(store, text.removeprefix("file:"))
        assert str(SecretRef.parse(text, allow_file=True)) == text
    accepted_in_config = store is not None and not internal
    if accepted_in_config:
        config_policy.check_config(config, field="config")
    else:
        with pytest.raises(ValidationFailed) as refused:
            config_policy.check_config(config, field="config")
        assert refused.value.details["errors"][0]["field"] == "config.models.providers.openai.apiKey"
        assert text not in refused.value.message or text == ""  # names the path, never echoes the value


@pytest.fixture
def secretsmanager(stack):
    """The local stack's Secrets Manager (moto), not moto's decorator mode: its backends are global to the process,
    and leaving a moto decorator-mode block resets them, the stack's table included."""
    return stack._client("secretsmanager")


@pytest.fixture
def name() -> str:
    return f"clawster/test-secrets/{uuid.uuid4().hex}"


def test_secrets_manager_references_resolve_by_name_and_by_arn(secretsmanager, name):
    created = secretsmanager.create_secret(Name=name, SecretString="sk-value-1")
    resolver = SecretResolver(secretsmanager)
    assert resolver.resolve(name) == "sk-value-1"
    assert resolver.resolve(created["ARN"]) == "sk-value-1"
    secretsmanager.put_secret_value(SecretId=name, SecretString="sk-value-2")
    assert resolver.resolve(SecretRef.from_config({"$secretRef": name})) == "sk-value-2"


def test_a_binary_secret_resolves_to_its_text(secretsmanager, name):
    secretsmanager.create_secret(Name=name, SecretBinary=b"token-bytes")
    assert SecretResolver(secretsmanager).resolve(name) == "token-bytes"


def test_a_missing_secret_is_a_permanent_not_found_naming_the_reference(secretsmanager, name):
    with pytest.raises(SecretNotFound) as missing:
        SecretResolver(secretsmanager).resolve(name)
    assert isinstance(missing.value, PermanentError)
    assert missing.value.details["ref"] == name


def test_throttling_is_retryable_and_denial_is_permanent():
    client = boto3.client("secretsmanager", region_name="us-east-1")
    with Stubber(client) as stub:
        current = {"SecretId": "s", "VersionStage": "AWSCURRENT"}
        stub.add_client_error("get_secret_value", "ThrottlingException", expected_params=current)
        stub.add_client_error("get_secret_value", "AccessDeniedException", expected_params=current)
        with pytest.raises(SecretStoreUnavailable) as throttled:
            SecretResolver(client).resolve("s")
        assert isinstance(throttled.value, RetryableError)
        with pytest.raises(SecretAccessDenied) as denied:
            SecretResolver(client).resolve("s")
        assert isinstance(denied.value, PermanentError)


def test_an_unreachable_store_is_retryable():
    client = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=2))  # port 9: nothing listens
    with pytest.raises(SecretStoreUnavailable):
        SecretResolver(client).resolve("s")


def test_file_references_resolve_and_a_missing_file_is_not_found(tmp_path):
    token = tmp_path / "token"
    token.write_text("gateway-token\n")
    resolver = SecretResolver(secretsmanager=object())  # a file reference never touches Secrets Manager
    assert resolver.resolve(f"file:{token}") == "gateway-token"
    with pytest.raises(SecretNotFound):
        resolver.resolve(f"file:{tmp_path / 'absent'}")
