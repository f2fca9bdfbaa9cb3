"""The local stack's Secrets Manager survives a restart, even a SIGKILL: a connector made through the API,
a version put beside it with its own stage, a retired version and a tag are all back, under the same
version ids and stages, when `clawster dev` starts again on the same state folder."""

from __future__ import annotations

import json
import signal
import stat

import boto3

from tests.helpers import Client
from tests.local.test_snapshot import _start, _stop, _token

VALUE, PENDING, RETIRED = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", "pending-value", "retired-value"


def _secrets(stack: dict):
    return boto3.client("secretsmanager", endpoint_url=stack["moto_url"], region_name="us-east-1",
                        aws_access_key_id="local", aws_secret_access_key="local")


def test_secrets_survive_a_sigkill_and_a_restart(tmp_path):
    state = tmp_path / "dev"
    first = _start(state)
    stack = json.loads((state / "stack.json").read_text())
    admin = Client(stack["api_url"], _token(state))
    workspace = stack["demo_workspace_id"]
    connector = admin.post(f"/workspaces/{workspace}/connectors",
                           {"name": "openai", "kind": "openai", "value": VALUE}).ok(201).body
    name = connector["secret_name"]
    client = _secrets(stack)
    client.put_secret_value(SecretId=name, SecretString=RETIRED, ClientRequestToken="v-retired" + "0" * 23,
                            VersionStages=["OLD"])
    client.update_secret_version_stage(SecretId=name, VersionStage="OLD", RemoveFromVersionId="v-retired" + "0" * 23)
    client.put_secret_value(SecretId=name, SecretString=PENDING, ClientRequestToken="v-pending" + "0" * 23,
                            VersionStages=["AWSPENDING"])
    client.tag_resource(SecretId=name, Tags=[{"Key": "kept", "Value": "yes"}])
    before = client.describe_secret(SecretId=name)
    assert stat.S_IMODE((state / "secrets.json").stat().st_mode) == 0o600

    first.send_signal(signal.SIGKILL)  # no stop(): only what was written through survives
    first.communicate(timeout=120)

    second = _start(state)
    try:
        again = json.loads((state / "stack.json").read_text())
        client = _secrets(again)
        after = client.describe_secret(SecretId=name)
        assert after["VersionIdsToStages"] == before["VersionIdsToStages"]
        assert {(t["Key"], t["Value"]) for t in after["Tags"]} == {(t["Key"], t["Value"]) for t in before["Tags"]}
        assert client.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")["SecretString"] == VALUE
        assert client.get_secret_value(SecretId=name, VersionStage="AWSPENDING")["SecretString"] == PENDING
        assert client.get_secret_value(SecretId=name, VersionId="v-retired" + "0" * 23)["SecretString"] == RETIRED
        # The connector still works through the API: its test reads the value back.
        admin = Client(again["api_url"], _token(state))
        checked = admin.post(f"/workspaces/{workspace}/connectors/{connector['id']}/test").ok(200).body
        assert checked["result"] == "untested", checked  # the shape passed; liveness needs the provider
    finally:
        _stop(second, signal.SIGTERM)
